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
from intake.bot.endpoint import NEUTRAL_ANSWER
from intake.config import Settings
from tests.conftest import SAMPLE
from tests.e2e.client import LOCAL_SERVICE_URL, invoke_activity
from tests.fakes import FakeWorld
from tests.openid_double import OpenIdDouble, bot_token, new_key
from tests.problem_shape import assert_problem

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
    assert kinds == ["publish_card"]  # no comment per vote (issue 12): kept for the decision

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


def test_only_the_bot_endpoint_the_api_description_and_the_status_page_are_anonymous():
    from function_app import app
    from intake.dev.host import FunctionTable

    levels = {f.name: f.auth_level.upper() for f in FunctionTable(app).http}
    assert levels.pop("messages") == "ANONYMOUS"
    levels.pop("openapi_document", None)  # see tests/unit/test_auth_levels.py
    levels.pop("status_page", None)  # the signed token is the key (same file)
    # DevOps service hooks: a basic-auth shared secret checked in code (test_auth_levels.py).
    assert levels.pop("devops_hooks") == "ANONYMOUS"
    # Health probes send no key; the answer has no secret (test_auth_levels.py).
    assert levels.pop("health") == "ANONYMOUS"
    assert set(levels.values()) == {"FUNCTION"}


# --- malformed activities, other requests' cards, keys and channels (issue 11: 6, 7, 8) -----


def raw_post(body: bytes, authorization: str | None = None) -> func.HttpResponse:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    request = func.HttpRequest(
        method="POST", url="http://localhost/api/messages", headers=headers, body=body
    )
    return asyncio.run(handler(request))


def assert_refused(answer: func.HttpResponse, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_body()[:300]
    return assert_problem(status, {"Content-Type": answer.mimetype}, answer.get_body())


def changed(activity: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps({**activity, **changes}).encode()


def without_key(activity: dict[str, Any], key: str) -> bytes:
    return json.dumps({k: v for k, v in activity.items() if k != key}).encode()


# Each: (id, body from the valid vote activity, status). The first three the Agents SDK's
# model refuses (they were 500s); the last three the SDK routes nowhere (they were empty 501s).
MALFORMED_ACTIVITIES = [
    ("type-nan", lambda a: b'{"type": NaN}', 400),
    ("type-nan-in-activity", lambda a: changed(a).replace(b'"invoke"', b"NaN", 1), 400),
    ("empty-from-id", lambda a: changed(a, **{"from": {"id": "", "name": "x"}}), 400),
    ("no-type", lambda a: without_key(a, "type"), 400),
    ("object-with-no-type", lambda a: b'{"id": "x"}', 400),
    ("conversation-a-string", lambda a: changed(a, conversation="19:x"), 400),
    ("no-conversation-id", lambda a: changed(a, conversation={"isGroup": True}), 400),
    ("unknown-invoke-name", lambda a: changed(a, name="task/fetch"), 422),
    (
        "unknown-verb",
        lambda a: changed(a, value={"action": {"type": "Action.Execute", "verb": "zap"}}),
        422,
    ),
    ("value-a-string", lambda a: changed(a, value="x"), 422),
]


@pytest.mark.parametrize(
    ("make", "status"),
    [pytest.param(make, status, id=name) for name, make, status in MALFORMED_ACTIVITIES],
)
def test_a_malformed_activity_gets_a_4xx_problem_and_nothing_is_done(tmp_path, make, status):
    world = bot_world(tmp_path)
    assert_refused(raw_post(make(vote_activity(world, tenant="local-tenant"))), status)
    assert nothing_done(world)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda a: changed(a, conversation="19:x"), id="conversation-a-string"),
        pytest.param(
            lambda a: changed(
                a,
                conversation={k: v for k, v in a["conversation"].items() if k != "tenantId"},
                channelData=[1, 2],
            ),
            id="channel-data-a-list",
        ),
        pytest.param(
            lambda a: changed(
                a,
                conversation={k: v for k, v in a["conversation"].items() if k != "tenantId"},
                channelData={"tenant": "not-an-object"},
            ),
            id="channel-data-tenant-a-string",
        ),
        pytest.param(lambda a: b'{"type": NaN}', id="type-nan"),
    ],
)
def test_a_malformed_activity_with_a_valid_token_gets_a_4xx_problem(tmp_path, openid, make):
    world = bot_world(tmp_path, openid.metadata_url)
    token = bot_token(KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL)
    answer = raw_post(make(vote_activity(world)), f"Bearer {token}")
    assert 400 <= answer.status_code < 500
    assert_refused(answer, answer.status_code)
    assert nothing_done(world)


def test_the_bot_refuses_in_the_one_problem_shape(tmp_path, openid):
    world = bot_world(tmp_path, openid.metadata_url)
    assert_refused(post(vote_activity(world)), 401)  # no token
    assert_refused(raw_post(b"{nope"), 400)
    assert_refused(raw_post(b"[" * 100 + b"]" * 100), 400)
    assert_refused(raw_post(b'{"a": "' + b"x" * 70_000 + b'"}'), 413)


def second_request(world: FakeWorld) -> str:
    body = {**SAMPLE, "responseId": "second-response"}
    receipt = workflow.submit_request(json.dumps(body).encode(), "application/json", world.services)
    workflow.run_steps(receipt.request_id, world.services)
    return receipt.request_id


def test_a_click_on_one_requests_card_cannot_vote_on_another_request(tmp_path):
    world = bot_world(tmp_path)
    other = second_request(world)
    threads = world.channel.threads
    first_card = next(
        a
        for a, t in threads.items()
        if t["card"]["refresh"]["action"]["data"]["requestId"] != other
    )
    thread = {"activity_id": first_card, "conversation_id": threads[first_card]["conversation_id"]}
    data = {"requestId": other, "vote": "proceed"}
    body = json.loads(
        post(invoke_activity(thread, ALEX, "vote", data, tenant_id="local-tenant")).get_body()
    )
    assert body["statusCode"] == 400 and body["type"] == "application/vnd.microsoft.error"
    assert world.store.votes(other) == [] and world.store.votes(world.request_id) == []  # type: ignore[attr-defined]


def test_a_click_from_another_conversation_or_message_is_refused(tmp_path):
    world = bot_world(tmp_path)
    for change in (
        {"conversation_id": "19:elsewhere@thread.tacv2;messageid=1"},
        {"activity_id": "1"},
    ):
        activity = vote_activity(world, tenant="local-tenant")
        if "conversation_id" in change:
            activity["conversation"]["id"] = change["conversation_id"]
        else:
            activity["replyToId"] = change["activity_id"]
        body = json.loads(post(activity).get_body())
        assert body["statusCode"] == 400, body
    assert nothing_done(world)


def test_a_key_with_no_endorsements_is_refused(tmp_path):
    with OpenIdDouble.serving(KEY, endorsements=[]) as double:
        double.endorsements = None  # the key document then has "endorsements": null
        world = bot_world(tmp_path, double.metadata_url)
        token = bot_token(KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL)
        answer = post(vote_activity(world), f"Bearer {token}")
    assert_refused(answer, 401)
    assert nothing_done(world)


def test_an_activity_from_another_channel_is_refused_even_with_an_endorsed_key(tmp_path):
    with OpenIdDouble.serving(KEY, endorsements=["msteams", "webchat"]) as double:
        world = bot_world(tmp_path, double.metadata_url)
        token = bot_token(KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL)
        for channel in ("webchat", None):
            activity = vote_activity(world)
            activity["channelId"] = channel
            assert_refused(post(activity, f"Bearer {token}"), 401)
    assert nothing_done(world)
