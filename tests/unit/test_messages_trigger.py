"""POST /api/messages as the Functions host calls it: Bot Framework tokens checked against a
loopback OpenID metadata endpoint with real RS256 JWTs; card actions answered with cards."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func
import pytest

from functions.messages import messages
from intake import bootstrap, workflow
from intake.adapters.teams_bot import NEUTRAL_ANSWER
from intake.config import Settings
from tests.conftest import SAMPLE
from tests.e2e.client import LOCAL_SERVICE_URL, invoke_activity
from tests.fakes import FakeWorld
from tests.openid_double import OpenIdDouble, bot_token, new_key

APP_ID = "6f1c8a2e-0000-4000-8000-00000000b07a"
TENANT = "72f988bf-0000-4000-8000-000000000001"
ALEX = {"name": "Alex Support", "teams_id": "29:1-alex-local", "aad_object_id": "a1e5"}
KEY = new_key()
OTHER_KEY = new_key()
handler = messages.build().get_user_function()


@pytest.fixture
def openid():
    with OpenIdDouble.serving(KEY) as double:
        yield double


def bot_world(tmp_path, metadata_url: str = "", **overrides: Any) -> FakeWorld:
    settings = Settings(
        data_dir=tmp_path / "data",
        bot_app_id=APP_ID if metadata_url else "",
        bot_app_secret="not-a-placeholder-secret" if metadata_url else "",
        bot_tenant_id=TENANT if metadata_url else "",
        teams_channel_id="19:support@thread.tacv2" if metadata_url else "",
        bot_openid_metadata_url=metadata_url or Settings().bot_openid_metadata_url,
        **overrides,
    )
    world = FakeWorld(settings)
    services = world.services
    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    workflow.run_steps(receipt.request_id, services)
    world.request_id = receipt.request_id  # type: ignore[attr-defined]
    bootstrap.override(services)
    return world


@pytest.fixture(autouse=True)
def _forget_services():
    yield
    bootstrap.override(None)


def vote_activity(world: FakeWorld, tenant: str = TENANT) -> dict[str, Any]:
    (activity_id,) = world.channel.threads
    thread = {
        "activity_id": activity_id,
        "conversation_id": world.channel.threads[activity_id]["conversation_id"],
    }
    data = {"requestId": world.request_id, "vote": "proceed"}  # type: ignore[attr-defined]
    return invoke_activity(thread, ALEX, "vote", data, tenant_id=tenant)


def post(activity: dict[str, Any], authorization: str | None = None) -> func.HttpResponse:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    request = func.HttpRequest(
        method="POST",
        url="http://localhost/api/messages",
        headers=headers,
        body=json.dumps(activity).encode(),
    )
    return asyncio.run(handler(request))


def nothing_done(world: FakeWorld) -> bool:
    (thread,) = world.channel.threads.values()
    return world.store.votes(world.request_id) == [] and thread["updates"] == 0  # type: ignore[attr-defined]


def test_a_valid_token_is_accepted_and_the_vote_answered_with_the_card(tmp_path, openid):
    world = bot_world(tmp_path, openid.metadata_url)
    token = bot_token(KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL)
    answer = post(vote_activity(world), f"Bearer {token}")
    assert answer.status_code == 200, answer.get_body()
    body = json.loads(answer.get_body())
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert body["value"]["type"] == "AdaptiveCard"
    assert [v.voter_name for v in world.store.votes(world.request_id)] == ["Alex Support"]
    assert openid.requests == ["/v1/.well-known/openidconfiguration", "/v1/.well-known/keys"]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda: None, id="no-token"),
        pytest.param(lambda: "Basic dXNlcjpwYXNz", id="not-bearer"),
        pytest.param(lambda: "Bearer not.a.jwt", id="garbage"),
        pytest.param(
            lambda: bot_token(KEY, audience="someone-else", service_url=LOCAL_SERVICE_URL),
            id="wrong-audience",
        ),
        pytest.param(
            lambda: bot_token(
                KEY,
                audience=APP_ID,
                service_url=LOCAL_SERVICE_URL,
                issuer="https://sts.windows.net/evil/",
            ),
            id="wrong-issuer",
        ),
        pytest.param(
            lambda: bot_token(OTHER_KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL),
            id="bad-signature",
        ),
        pytest.param(
            lambda: bot_token(
                KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL, expires_in=-301 - 60
            ),
            id="expired",
        ),
        pytest.param(
            lambda: bot_token(KEY, audience=APP_ID, service_url="https://evil.example/"),
            id="other-service-url",
        ),
        pytest.param(
            lambda: bot_token(KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL, kid="nope"),
            id="unknown-key",
        ),
        pytest.param(
            lambda: bot_token(
                KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL, algorithm="HS256"
            ),
            id="symmetric-alg",
        ),
    ],
)
def test_a_bad_token_is_refused_with_401_and_nothing_is_done(tmp_path, openid, forge):
    world = bot_world(tmp_path, openid.metadata_url)
    token = forge()
    authorization = token if token is None or " " in token else f"Bearer {token}"
    answer = post(vote_activity(world), authorization)
    assert answer.status_code == 401
    assert "Traceback" not in answer.get_body().decode()
    assert nothing_done(world)


def test_an_activity_from_another_tenant_is_refused(tmp_path, openid):
    world = bot_world(tmp_path, openid.metadata_url)
    token = bot_token(KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL)
    answer = post(vote_activity(world, tenant="another-tenant"), f"Bearer {token}")
    assert answer.status_code == 401
    assert nothing_done(world)


def test_a_key_not_endorsed_for_teams_is_refused(tmp_path):
    with OpenIdDouble.serving(KEY, endorsements=["webchat"]) as double:
        world = bot_world(tmp_path, double.metadata_url)
        token = bot_token(KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL)
        answer = post(vote_activity(world), f"Bearer {token}")
    assert answer.status_code == 401
    assert nothing_done(world)


def test_without_a_bot_app_id_local_activities_need_no_token(tmp_path):
    world = bot_world(tmp_path)
    answer = post(vote_activity(world, tenant="local-tenant"))
    assert answer.status_code == 200
    assert len(world.store.votes(world.request_id)) == 1  # type: ignore[attr-defined]


def test_a_vote_is_answered_before_the_card_is_updated_for_everyone(tmp_path):
    """The clicker's card is in the answer; the channel's update is queued, not awaited (one
    Connector round trip less before Teams hears back), and the queue sends it."""
    from functions.steps import run_steps as steps_trigger
    from tests.unit.test_triage import channel_card

    world = bot_world(tmp_path)
    world.queue.messages.clear()
    answer = post(vote_activity(world, tenant="local-tenant"))
    assert "Proceed 1" in json.dumps(json.loads(answer.get_body())["value"])
    (thread,) = world.channel.threads.values()
    assert thread["updates"] == 0  # nobody else's card has changed yet
    kinds = [m["kind"] for m in world.queue.messages]
    assert kinds == ["copy_vote", "publish_card"]

    run = steps_trigger.build().get_user_function()
    for message in world.queue.messages:
        body = json.dumps(message).encode()
        run(func.QueueMessage(id="1", body=body))  # type: ignore[no-untyped-call]
    assert thread["updates"] == 1
    assert "Votes: Not our problem 0 · Bug / Feature request 0 · Proceed 1" in json.dumps(
        channel_card(world), ensure_ascii=False
    )


def test_a_vote_whose_update_cannot_be_queued_updates_the_card_before_answering(tmp_path):
    from intake.errors import ExternalUnavailable

    world = bot_world(tmp_path)
    world.faults.add("queue_send", ExternalUnavailable("queue down"), times=99)
    answer = post(vote_activity(world, tenant="local-tenant"))
    assert answer.status_code == 200
    (thread,) = world.channel.threads.values()
    assert thread["updates"] == 1


def test_an_unexpected_error_answers_a_neutral_sentence_not_the_exception(tmp_path):
    world = bot_world(tmp_path)

    def broken(request_id: str) -> list[Any]:
        raise RuntimeError("secret internals at /srv/app")

    world.store.votes = broken  # type: ignore[method-assign]
    answer = post(vote_activity(world, tenant="local-tenant"))
    body = answer.get_body().decode()
    assert answer.status_code == 200
    assert json.loads(body)["value"] == NEUTRAL_ANSWER
    assert "secret internals" not in body


def test_an_unknown_request_gets_an_error_answer(tmp_path):
    world = bot_world(tmp_path)
    activity = vote_activity(world, tenant="local-tenant")
    activity["value"]["action"]["data"]["requestId"] = "no-such-request"
    body = json.loads(post(activity).get_body())
    assert body["statusCode"] == 400
    assert body["type"] == "application/vnd.microsoft.error"


def test_a_body_that_is_not_json_is_a_400(tmp_path):
    bot_world(tmp_path)
    request = func.HttpRequest(
        method="POST", url="http://localhost/api/messages", headers={}, body=b"{nope"
    )
    assert asyncio.run(handler(request)).status_code == 400


def test_only_the_bot_endpoint_and_the_api_description_are_anonymous():
    from function_app import app
    from intake.dev.host import FunctionTable

    levels = {f.name: f.auth_level.upper() for f in FunctionTable(app).http}
    assert levels.pop("messages") == "ANONYMOUS"
    levels.pop("openapi_document", None)  # see tests/unit/test_auth_levels.py
    # DevOps service hooks: a basic-auth shared secret checked in code (test_auth_levels.py).
    assert levels.pop("devops_hooks") == "ANONYMOUS"
    assert set(levels.values()) == {"FUNCTION"}
