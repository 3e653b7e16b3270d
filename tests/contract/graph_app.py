"""The Graph app the Graph contract tests sign in as: its ids, its Settings, and Entra ID's
token double that knows it, served on requests-mock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intake.config import Settings
from tests.contract.doubles_graph_teams import Call, TokenDouble, mount

GRAPH = "https://graph.test"
LOGIN = "https://login.test"
TENANT = "11111111-1111-1111-1111-111111111111"
CLIENT = "22222222-2222-2222-2222-222222222222"
SECRET = "graph-secret-value"
SENDER = "intake@contoso.example"


def graph_settings_for(tmp_path: Path, **more: Any) -> Settings:
    """Settings of the Graph app on ``GRAPH`` with ``SENDER``'s mailbox; ``more`` adds to or
    replaces them (another endpoint, the scrum masters' group)."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "graph_endpoint": GRAPH,
        "login_authority": LOGIN,
        "graph_tenant_id": TENANT,
        "graph_client_id": CLIENT,
        "graph_client_secret": SECRET,
        "mail_sender": SENDER,
        **more,
    }
    return Settings(**values)


def token_double(requests_mock: Any) -> TokenDouble:
    """Entra ID on ``LOGIN``, knowing the Graph app, served on ``requests_mock``."""
    tokens = TokenDouble(LOGIN)
    tokens.register(TENANT, CLIENT, SECRET)
    mount(requests_mock, tokens, LOGIN)
    return tokens


def assert_token_request_allowed(call: Call) -> None:
    """bot-framework-rest-connector-authentication / Entra v2 client credentials grant."""
    if call.method == "GET":
        assert call.path == f"/{TENANT}/v2.0/.well-known/openid-configuration"
        return
    assert (call.method, call.path) == ("POST", f"/{TENANT}/oauth2/v2.0/token")
    assert call.body["grant_type"] == "client_credentials"
    assert call.body["client_id"] == CLIENT
    assert call.body["scope"] == f"{GRAPH}/.default"
