"""Fuzz POST /api/messages in process: whatever the body, the answer is the SDK's (an invoke
answer, or an empty 2xx for an activity nobody handles) or a 4xx problem+json, never a 5xx.

Bodies are the valid vote activity with fields replaced or dropped (with a valid token too:
the token check reads the activity before the SDK does), any JSON and any bytes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from intake import bootstrap, workflow
from intake.config import Settings
from tests.conftest import SAMPLE
from tests.e2e.client import LOCAL_SERVICE_URL, invoke_activity
from tests.fakes import FakeWorld
from tests.fuzz.conftest import CASES, examples
from tests.openid_double import OpenIdDouble, bot_token, new_key
from tests.problem_shape import assert_problem

APP_ID = "6f1c8a2e-0000-4000-8000-00000000f022"
TENANT = "72f988bf-0000-4000-8000-00000000f022"
ALEX = {"name": "Alex Support", "teams_id": "29:1-alex-local", "aad_object_id": "a1e5"}
KEY = new_key()
FIELDS = [
    "type",
    "name",
    "id",
    "from",
    "conversation",
    "channelData",
    "channelId",
    "serviceUrl",
    "replyToId",
    "value",
    "recipient",
    "entities",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# The activities of issue 11 (item 6) that reached a 500 or an empty 501: always tried.
BAD_ACTIVITIES: list[tuple[dict[str, Any], set[str]]] = [
    ({"type": float("nan")}, set()),
    ({"from": {"id": ""}}, set()),
    ({}, {"type"}),
    ({"conversation": "19:a-string"}, set()),
    ({"channelData": [1, 2]}, set()),
    ({"name": "task/fetch"}, set()),
    ({"value": {"action": {"type": "Action.Execute", "verb": "no-such-verb"}}}, set()),
]


class Bot:
    """The messages trigger over fake ports, one request with its card posted."""

    def __init__(self, settings: Settings, token: str | None) -> None:
        from function_app import app
        from intake.dev.host import FunctionTable

        self.world = FakeWorld(settings)
        services = self.world.services
        receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
        workflow.run_steps(receipt.request_id, services)
        (activity_id,) = self.world.channel.threads
        thread = {
            "activity_id": activity_id,
            "conversation_id": self.world.channel.threads[activity_id]["conversation_id"],
        }
        data = {"requestId": receipt.request_id, "vote": "proceed"}
        tenant = TENANT if token else "local-tenant"
        self.activity = invoke_activity(thread, ALEX, "vote", data, tenant_id=tenant)
        self.token = token
        self.handler = {f.name: f.handler for f in FunctionTable(app).http}["messages"]

    def post(self, body: bytes) -> None:
        bootstrap.override(self.world.services)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = func.HttpRequest(method="POST", url="/api/messages", headers=headers, body=body)
        response: func.HttpResponse = asyncio.run(self.handler(request))
        status = response.status_code
        assert status < 500, (status, response.get_body()[:300])
        if status >= 400:
            assert_problem(status, {"Content-Type": response.mimetype}, response.get_body())
        elif response.get_body():
            answer = json.loads(response.get_body())
            assert isinstance(answer.get("statusCode"), int), answer  # an invoke answer

    def mutated(self, changes: dict[str, Any], drop: set[str]) -> bytes:
        activity = {k: v for k, v in self.activity.items() if k not in drop}
        return json.dumps({**activity, **changes}).encode()  # NaN stays NaN, as a client sends


@pytest.fixture(scope="module")
def local_bot(tmp_path_factory):
    yield Bot(Settings(data_dir=tmp_path_factory.mktemp("fuzz-bot")), None)
    bootstrap.override(None)


@pytest.fixture(scope="module")
def authenticated_bot(tmp_path_factory):
    with OpenIdDouble.serving(KEY) as double:
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("fuzz-bot-auth"),
            bot_app_id=APP_ID,
            bot_app_secret="not-a-placeholder-secret",
            bot_tenant_id=TENANT,
            teams_channel_id="19:support@thread.tacv2",
            bot_openid_metadata_url=double.metadata_url,
        )
        token = bot_token(KEY, audience=APP_ID, service_url=LOCAL_SERVICE_URL)
        yield Bot(settings, token)
    bootstrap.override(None)


@pytest.mark.parametrize(("changes", "drop"), BAD_ACTIVITIES)
def test_the_known_bad_activities_get_a_problem(local_bot, authenticated_bot, changes, drop):
    for bot in (local_bot, authenticated_bot):
        CASES["hypothesis activities (explicit)"] += 1
        bot.post(bot.mutated(changes, drop))


activity_changes = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3)
dropped = st.sets(st.sampled_from(FIELDS), max_size=2)


@settings(max_examples=examples(150))
@example(changes={"type": float("nan")}, drop=set())
@example(changes={"conversation": "x"}, drop=set())
@example(changes={"channelId": " "}, drop=set())  # the SDK raises TypeError, not a ValidationError
@given(changes=activity_changes, drop=dropped)
def test_a_mutated_activity_gets_an_answer_or_a_problem_never_a_crash(local_bot, changes, drop):
    CASES["hypothesis activities"] += 1
    local_bot.post(local_bot.mutated(changes, drop))


@settings(max_examples=examples(60))
@example(changes={"conversation": "x"}, drop=set())
@example(changes={"channelData": []}, drop={"conversation"})
@given(changes=activity_changes, drop=dropped)
def test_a_mutated_activity_with_a_valid_token_never_crashes(authenticated_bot, changes, drop):
    CASES["hypothesis activities (token)"] += 1
    authenticated_bot.post(authenticated_bot.mutated(changes, drop))


@settings(max_examples=examples(100))
@example(body=b'{"type": NaN}')
@example(body=b"[]")
@given(body=st.one_of(st.binary(max_size=500), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_body_gets_an_answer_or_a_problem(local_bot, body):
    CASES["hypothesis activity bytes"] += 1
    local_bot.post(body)
