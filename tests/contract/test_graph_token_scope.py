"""The Graph app's token scope has its own setting (issue 11, item 15): by default derived from
INTAKE_GRAPH_ENDPOINT, as before; set, it is the scope asked of Entra whatever URL Graph is
reached at (a proxy in front of Graph takes tokens for Graph's own audience)."""

from __future__ import annotations

from typing import Any

import pytest

from intake import health
from intake.adapters.graph_mail import GraphMailer
from intake.config import Settings
from intake.errors import ExternalRejected
from intake.models import Email
from tests.contract.doubles_graph_teams import GraphDouble, mount
from tests.contract.graph_app import SENDER, graph_settings_for, token_double

pytestmark = pytest.mark.contract

PROXY = "https://graph-proxy.test"
AUDIENCE = "https://graph.microsoft.us/.default"


def settings(tmp_path: Any, **more: Any) -> Settings:
    return graph_settings_for(tmp_path, graph_endpoint=PROXY, **more)


@pytest.fixture
def doubles(requests_mock: Any) -> Any:
    tokens = token_double(requests_mock)
    graph = GraphDouble(tokens, PROXY, [SENDER])
    graph.scope = AUDIENCE  # the proxy takes tokens for Graph's own audience only
    mount(requests_mock, graph, PROXY)
    return tokens, graph


def email() -> Email:
    return Email(
        key="intake-r1-email_client",
        to=("jordan.rivera@fabrikam.example",),
        subject="We received your request",
        html="<p>Thanks</p>",
        text="Thanks",
    )


def test_the_default_scope_is_derived_from_the_endpoint(tmp_path: Any) -> None:
    assert settings(tmp_path).graph_scope == f"{PROXY}/.default"
    assert Settings(data_dir=tmp_path).graph_scope == "https://graph.microsoft.com/.default"


def test_the_token_is_asked_for_the_configured_scope(tmp_path: Any, doubles: Any) -> None:
    tokens, graph = doubles
    mailer = GraphMailer(settings(tmp_path, graph_token_scope=AUDIENCE))

    assert mailer.send(email()).startswith("<intake.")  # the internet message id it set

    (token_call,) = [c for c in tokens.calls if c.method == "POST"]
    assert token_call.body["scope"] == AUDIENCE
    assert len(graph.messages(SENDER)) == 1
    last = health.calls.last("graph")  # what GET /api/health reports
    assert last is not None and last.ok


def test_without_the_setting_the_proxy_refuses_the_derived_scope(
    tmp_path: Any, doubles: Any
) -> None:
    with pytest.raises(ExternalRejected):
        GraphMailer(settings(tmp_path)).send(email())
    tokens, graph = doubles
    (token_call,) = [c for c in tokens.calls if c.method == "POST"]
    assert token_call.body["scope"] == f"{PROXY}/.default"
    assert graph.messages(SENDER) == []
    last = health.calls.last("graph")
    assert last is not None and (last.ok, last.problem) == (False, "credentials refused")
