"""The one place errors become HTTP answers: RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import json
import logging
from typing import Any

import azure.functions as func

from intake.errors import ConfigurationError, IntakeError, Throttled

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers=headers
    )


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> func.HttpResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype=PROBLEM_JSON, headers=headers
    )


def problem_response(exc: Exception) -> func.HttpResponse:
    """Map any exception to a problem: ours keep their status; anything else is a bare 500
    whose trace goes to the log only, never to the caller."""
    if isinstance(exc, ConfigurationError):  # the settings' names go to the log, not the caller
        log.error("configuration is invalid:\n%s", exc.problems)
    if isinstance(exc, IntakeError):
        headers = None
        if isinstance(exc, Throttled):
            headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        return problem(exc.status, exc.slug, exc.title, exc.detail, exc.errors, headers)
    log.exception("unexpected error")
    return problem(
        500,
        "internal-error",
        "Internal error",
        "Something went wrong on our side; the request was not processed.",
    )
