"""Forged callers: every function's auth level as registered on ``function_app.app``."""

from __future__ import annotations

from function_app import app
from intake.dev.host import FunctionTable

# Intake and the status URL need the function key in Azure. The OpenAPI document is anonymous:
# it describes the API, holds no data or key, and every operation it lists still needs the
# key. The bot endpoint (when present) is anonymous at the host and checks the Bot Framework
# JWT in code, as Teams cannot send a function key. The client's status page is anonymous:
# clients have no key; the signed token in its path is the key.
EXPECTED = {
    "status_page": "ANONYMOUS",
    "intake": "FUNCTION",
    "request_status": "FUNCTION",
    "openapi_document": "ANONYMOUS",
    "messages": "ANONYMOUS",
    # DevOps service hooks send a shared secret by basic auth (checked in code), not a key.
    "devops_hooks": "ANONYMOUS",
    # Health probes (App Service's health check, load balancers) send no key; the answer has
    # no secret and no personal data (a version, system names, outcomes, times).
    "health": "ANONYMOUS",
}


def test_every_http_function_has_its_expected_auth_level():
    levels = {f.name: f.auth_level.upper() for f in FunctionTable(app).http}
    assert {"intake", "request_status", "openapi_document"} <= set(levels)
    unexpected = set(levels) - set(EXPECTED)
    assert not unexpected, f"add the auth level of {unexpected} to this test, with its reason"
    for name, level in levels.items():
        assert level == EXPECTED[name], name


def test_the_app_default_is_the_function_key():
    assert str(getattr(app.auth_level, "value", app.auth_level)).upper() == "FUNCTION"
