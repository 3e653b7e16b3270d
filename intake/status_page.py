"""The client's status page (``GET /api/status/{token}``) and the links to it.

The token is the only key (the route is anonymous at the host), so every refusal looks the
same: a bad signature, an unknown request and a revoked link all get the one not-found page;
only a genuine link past its expiry says so (410), with how to get a new one.

The route keeps the Functions host's ``/api/`` prefix (host.json ``routePrefix``): removing the
prefix would move every route, the bot's messaging endpoint and the form's URL included.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files

from intake import emails, status_token
from intake.client_status import ClientView, client_view, last_recorded_state
from intake.errors import ExternalError, RequestNotFound
from intake.models import RequestRecord, TrackedItem
from intake.ports import Services

log = logging.getLogger(__name__)

ROUTE = "status/{token}"
PATH = "/api/status/"


@dataclass(frozen=True)
class PageAnswer:
    status: int
    html: str
    headers: dict[str, str]


def status_link(record: RequestRecord, services: Services) -> str:
    """A fresh link to the request's page, valid for ``INTAKE_STATUS_TTL_DAYS``."""
    settings = services.settings
    token = status_token.issue(
        services.status_keys,
        record.request.id,
        record.status_nonce,
        now=services.clock(),
        ttl=timedelta(days=settings.status_ttl_days),
    )
    return f"{settings.base_url}{PATH}{token}"


def answer(token: str, services: Services) -> PageAnswer:
    """The page a token opens, or the one not-found page, or the expired page."""
    now = services.clock()
    try:
        claim = status_token.read(services.status_keys, token, now=now)
        record = services.store.get_request(claim.request_id)
    except (status_token.InvalidToken, RequestNotFound):
        return not_found()
    if not status_token.nonce_matches(claim, record.status_nonce):
        return not_found()  # revoked: as if it never existed
    if claim.is_expired(now):
        return _page(410, "status_expired.html")
    return _page(200, "status_page.html", view=view_of(record, services))


def not_found() -> PageAnswer:
    return _page(404, "status_not_found.html")


def view_of(record: RequestRecord, services: Services) -> ClientView:
    """The request as the client sees it, its state read from DevOps (whoever changed it);
    when DevOps cannot answer, the last state Intake set."""
    state = last_recorded_state(record, services.settings)
    item = None
    if record.work_item_id is not None:
        try:
            state = services.work_items.get(record.work_item_id).state
        except ExternalError as exc:
            log.warning("status page of %s: state not read (%s)", record.request.id, exc.title)
        if services.follow_ups is not None:
            item = services.follow_ups.item(record.work_item_id)
    return client_view(
        record,
        state,
        services.settings,
        history=item.updates if item is not None else (),
        due_at=client_due_at(item) if services.settings.show_sla_to_client else None,
    )


def client_due_at(item: TrackedItem | None) -> datetime | None:
    """The SLA due date the page shows (with ``INTAKE_SHOW_SLA_TO_CLIENT``): the one the SLA
    clock keeps in the follow-up cache (``summary["sla"]``, see intake/sla_follow_up.py)
    while it runs or is paused; none once met, breached, cancelled or without a target (a
    date in the past tells the client nothing they can act on)."""
    clock = item.summary.get("sla") if item is not None else None
    if not isinstance(clock, dict) or clock.get("state") not in ("running", "paused"):
        return None
    value = clock.get("dueAt")
    if not isinstance(value, str):
        return None
    try:
        due = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return due if due.tzinfo else None


@cache
def stylesheet() -> str:
    return (files("intake") / "templates" / "status_page.css").read_text(encoding="utf-8")


def security_headers() -> dict[str, str]:
    """No script at all, the one stylesheet by its hash, no framing, no referrer, never
    cached by a shared cache or indexed: the page holds one client's request."""
    digest = base64.b64encode(hashlib.sha256(stylesheet().encode()).digest()).decode()
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow",
        "Cache-Control": "private, no-store",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def _page(status: int, template: str, **context: object) -> PageAnswer:
    from markupsafe import Markup

    html = emails.render_page(template, css=Markup(stylesheet()), **context)
    return PageAnswer(status, html, security_headers())
