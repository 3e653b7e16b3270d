"""The one helper that asserts the one error shape: RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PROBLEM_JSON = "application/problem+json"


def assert_problem(status: int, headers: Mapping[str, Any], body: bytes | str) -> dict[str, Any]:
    """A 4xx/5xx answer is a problem+json with type, title, status (the HTTP one) and detail;
    ``errors``, when present, names each bad field. Returns the parsed problem."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if isinstance(content_type, list):  # some clients give every header as a list
        content_type = content_type[0] if content_type else ""
    assert content_type.split(";")[0].strip() == PROBLEM_JSON, content_type
    problem = json.loads(body)
    assert isinstance(problem, dict), problem
    assert isinstance(problem.get("type"), str) and problem["type"], problem
    assert isinstance(problem.get("title"), str) and problem["title"], problem
    assert problem.get("status") == status, problem
    assert isinstance(problem.get("detail"), str) and problem["detail"], problem
    for error in problem.get("errors", []):
        assert isinstance(error.get("field"), str) and error["field"], error
        assert isinstance(error.get("message"), str) and error["message"], error
    assert "Traceback" not in problem["detail"]
    return problem


def assert_problem_response(response: Any, status: int) -> dict[str, Any]:
    """``assert_problem`` for a ``requests.Response``-like answer, its status checked too."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    return assert_problem(status, response.headers, response.text)
