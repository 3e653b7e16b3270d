"""TeamsChannel at the HTTP edge. The Agents SDK talks to the Bot Connector over aiohttp, so the
connector double runs as a real HTTP server on 127.0.0.1 (``LoopbackServer``): nothing in aiohttp
or the SDK is patched, and the timeouts, headers and bodies are the ones that go on the wire.
The bot's token comes through msal (requests), served by requests-mock. Every connector request
is checked against the pinned Bot Framework Connector specs (botframework-channel.v3.1.json and
the older ConnectorAPI.json the SDKs were generated from): the path and method exist, and the
body fits its definition with no property the spec lacks; each entity of an activity fits the
definition of its type (a ``mention`` its ``Mention``), with no property that one lacks.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import pytest

from intake import bootstrap, workflow
from intake.adapters import retry
from intake.adapters.teams_channel import TeamsChannel, doctor_checks, teams_message
from intake.config import Settings
from intake.doctor import run_checks
from intake.errors import ExternalRejected, ExternalUnavailable
from intake.models import Mention, Thread
from tests.adaptive_cards import SCHEMA as CARD_SCHEMA
from tests.adaptive_cards import card_errors
from tests.conftest import SAMPLE
from tests.contract.doubles_graph_teams import (
    Call,
    ConnectorDouble,
    LoopbackServer,
    TokenDouble,
    mount,
)
from tests.specs import load_spec, needs_specs

SPEC = "botframework/botframework-channel.v3.1.json"
SPECS = (SPEC, "botframework/ConnectorAPI.json")
# Base definitions the spec extends by type (an entity is a Mention, a Place, ...): left
# open here, and each instance checked against its own type's definition.
POLYMORPHIC = {"Entity"}
ENTITY_TYPES = {"mention": "Mention"}
# The connector double checks every call against the spec when a test ends (its fixture's
# teardown): without the spec the test is skipped before it starts, never after it passed.
pytestmark = [pytest.mark.contract, needs_specs(*SPECS, CARD_SCHEMA)]

LOGIN = "https://login.test"
TENANT = "33333333-3333-3333-3333-333333333333"
APP = "44444444-4444-4444-4444-444444444444"
SECRET = "bot-secret-value"
CHANNEL = "19:support0123456789@thread.tacv2"


def strict(definitions: dict[str, Any]) -> dict[str, Any]:
    """The spec's definitions with ``additionalProperties: false`` wherever properties are
    listed, so a misspelt or invented field fails; free-form objects (channelData, an
    attachment's content) stay free-form, as the spec has them."""
    definitions = copy.deepcopy(definitions)
    for name, definition in definitions.items():
        if "properties" in definition and name not in POLYMORPHIC:
            definition.setdefault("additionalProperties", False)
    return definitions


def assert_entities_fit(activity: Any, spec: dict[str, Any]) -> None:
    """Each entity of ``activity`` against its own type's definition, strictly."""
    for entity in (activity or {}).get("entities") or []:
        definition = ENTITY_TYPES.get(entity.get("type"))
        assert definition is not None, f"an entity of a type Intake does not send: {entity}"
        schema = {"$ref": f"#/definitions/{definition}", "definitions": strict(spec["definitions"])}
        jsonschema.Draft4Validator(schema).validate(entity)


def assert_connector_allows(call: Call, prefix: str, spec_name: str = SPEC) -> None:
    spec = load_spec(spec_name)
    path = call.path.removeprefix(prefix)
    for template, operations in spec["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if not re.fullmatch(pattern, path):
            continue
        operation = operations.get(call.method.lower())
        assert operation is not None, f"the spec has no {call.method} {template}"
        content_type = call.headers.get("Content-Type", "").split(";")[0]
        body = [p for p in operation.get("parameters", []) if p["in"] == "body"]
        if body:
            assert content_type in operation["consumes"], content_type
            schema = {**body[0]["schema"], "definitions": strict(spec["definitions"])}
            jsonschema.Draft4Validator(schema).validate(call.body)
            assert_entities_fit(call.body.get("activity", call.body), spec)
        else:
            assert call.body is None
        assert call.bearer, "every connector call carries the bot's bearer token"
        return
    pytest.fail(f"the Connector spec has no path {path}")


@pytest.fixture
def doubles(requests_mock: Any) -> Any:
    tokens = TokenDouble(LOGIN)
    tokens.register(TENANT, APP, SECRET)
    mount(requests_mock, tokens, LOGIN)
    connector = ConnectorDouble(tokens, "/teams/")
    with LoopbackServer.running(connector) as server:
        yield tokens, connector, server
    assert tokens.unexpected == [] and connector.unexpected == []
    for call in connector.calls:
        for spec_name in SPECS:
            assert_connector_allows(call, "/teams", spec_name)
    for call in tokens.calls:
        assert call.method == "GET" or call.body["scope"] == "https://api.botframework.com/.default"


@pytest.fixture
def bot_settings(tmp_path: Any, doubles: Any) -> Settings:
    _, _, server = doubles
    return Settings(
        data_dir=tmp_path / "data",
        login_authority=LOGIN,
        bot_app_id=APP,
        bot_app_secret=SECRET,
        bot_tenant_id=TENANT,
        teams_channel_id=CHANNEL,
        teams_service_url=f"{server.url}/teams/",
    )


CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Urgent: ticket #42", "wrap": True}],
}


def test_a_full_intake_run_posts_the_triage_card_as_a_new_channel_thread(bot_settings, doubles):
    _, connector, _ = doubles
    services = bootstrap.build(bot_settings)
    assert isinstance(services.channel, TeamsChannel)
    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    record = workflow.run_steps(receipt.request_id, services)
    assert record.status.value == "done", record.last_error

    (conversation_id,) = connector.threads
    result = record.steps["post_triage_card"]
    assert result == {
        "conversation_id": conversation_id,
        "activity_id": connector.threads[conversation_id]["activity_id"],
    }
    card = connector.card(conversation_id)
    # The card as it reached the connector, not as we built it.
    assert card["version"] == "1.5" and card_errors(card) == []
    assert card["body"][0]["text"].startswith("Urgent: can someone please have a look")

    thread = Thread(result["conversation_id"], result["activity_id"])
    services.channel.update_card(thread, {**card, "body": card["body"][:1]})
    assert connector.threads[conversation_id]["updates"] == 1
    assert connector.card(conversation_id)["body"] == card["body"][:1]


def test_a_new_thread_is_created_in_the_configured_channel_of_the_tenant(bot_settings, doubles):
    _, connector, server = doubles
    thread = TeamsChannel(bot_settings).post_card(CARD, key="intake-r1-post_triage_card")
    (post,) = [c for c in connector.calls if c.method == "POST"]
    assert post.url == f"{server.url}/teams/v3/conversations"
    assert post.body["isGroup"] is True
    assert post.body["bot"] == {"id": f"28:{APP}"}
    assert post.body["tenantId"] == TENANT
    assert post.body["channelData"] == {"channel": {"id": CHANNEL}, "tenant": {"id": TENANT}}
    assert post.body["activity"]["type"] == "message"
    assert post.body["activity"]["attachments"] == [
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}
    ]
    assert thread.conversation_id == f"{CHANNEL};messageid={thread.activity_id}"


def test_an_update_replaces_the_card_of_that_message(bot_settings, doubles):
    _, connector, server = doubles
    channel = TeamsChannel(bot_settings)
    thread = channel.post_card(CARD, key="k")
    new_card = {**CARD, "body": [{"type": "TextBlock", "text": "Votes: 1"}]}
    channel.update_card(thread, new_card)
    (put,) = [c for c in connector.calls if c.method == "PUT"]
    assert put.path == (
        f"/teams/v3/conversations/{thread.conversation_id}/activities/{thread.activity_id}"
    )
    assert put.body["id"] == thread.activity_id
    assert "replyToId" not in put.body
    assert connector.card(thread.conversation_id) == new_card


def test_throttling_is_retried_after_the_time_the_connector_asks_for(
    bot_settings, doubles, monkeypatch
):
    _, connector, _ = doubles
    waits: list[float] = []
    monkeypatch.setattr(retry, "sleep", waits.append)
    connector.fail("POST", "/v3/conversations", 429, times=1, headers={"Retry-After": "3"})
    TeamsChannel(bot_settings).post_card(CARD, key="k")
    assert waits == [3.0]
    assert len(connector.threads) == 1


def test_an_unavailable_connector_is_retried_a_bounded_number_of_times(bot_settings, doubles):
    _, connector, _ = doubles
    channel = TeamsChannel(bot_settings)
    thread = channel.post_card(CARD, key="k")
    connector.fail("PUT", "/activities/", 503, times=99)
    with pytest.raises(ExternalUnavailable) as caught:
        channel.update_card(thread, CARD)
    assert caught.value.remote_status == 503
    assert [c.method for c in connector.calls].count("PUT") == retry.MAX_ATTEMPTS


def test_a_refusal_is_rejected_with_status_and_reason_but_never_the_token(bot_settings, doubles):
    tokens, connector, _ = doubles
    connector.fail(
        "POST",
        "/v3/conversations",
        403,
        body={"error": {"code": "BotNotInConversationRoster", "message": "not installed"}},
    )
    with pytest.raises(ExternalRejected) as caught:
        TeamsChannel(bot_settings).post_card(CARD, key="k")
    message = str(caught.value)
    assert caught.value.remote_status == 403 and "403" in message
    assert tokens.issued and not any(token in message for token in tokens.issued)
    assert SECRET not in message
    assert connector.threads == {}


def test_updating_a_message_the_connector_does_not_know_is_rejected(bot_settings, doubles):
    with pytest.raises(ExternalRejected) as caught:
        TeamsChannel(bot_settings).update_card(Thread(f"{CHANNEL};messageid=1", "1"), CARD)
    assert caught.value.remote_status == 404
    assert "ActivityNotFoundInConversation" in str(caught.value)


def test_an_unreachable_connector_is_unavailable(bot_settings, doubles):
    closed = bot_settings.model_copy(update={"teams_service_url": "http://127.0.0.1:9/teams/"})
    with pytest.raises(ExternalUnavailable):
        TeamsChannel(closed).post_card(CARD, key="k")


def test_the_sync_channel_refuses_to_block_an_event_loop(bot_settings, doubles):
    import asyncio

    async def from_a_loop() -> None:
        TeamsChannel(bot_settings).post_card(CARD, key="k")

    with pytest.raises(RuntimeError, match="not an event loop"):
        asyncio.run(from_a_loop())


def token_requests(tokens: TokenDouble) -> int:
    return sum(1 for call in tokens.calls if call.method == "POST")


def test_one_adapter_keeps_one_connection_and_one_token_for_all_its_calls(bot_settings, doubles):
    tokens, connector, server = doubles
    channel = TeamsChannel(bot_settings)
    try:
        thread = channel.post_card(CARD, key="k1")
        for votes in range(3):
            channel.update_card(
                thread, {**CARD, "body": [{"type": "TextBlock", "text": f"{votes}"}]}
            )
        channel.post_card(CARD, key="k2")
    finally:
        channel.close()
    assert [c.method for c in connector.calls] == ["POST", "PUT", "PUT", "PUT", "POST"]
    assert server.connections == 1
    assert token_requests(tokens) == 1


def test_calls_from_several_threads_at_once_share_the_adapter(bot_settings, doubles):
    from concurrent.futures import ThreadPoolExecutor

    _, connector, server = doubles
    channel = TeamsChannel(bot_settings)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            threads = list(pool.map(lambda n: channel.post_card(CARD, key=f"k{n}"), range(8)))
    finally:
        channel.close()
    assert len({t.activity_id for t in threads}) == 8 and len(connector.threads) == 8
    assert server.connections <= 4  # a pool of kept-alive connections, never one per call


def test_a_failed_call_leaves_no_session_open(bot_settings, doubles):
    import gc
    import warnings

    _, connector, _ = doubles
    connector.fail("POST", "/v3/conversations", 403, times=1)
    channel = TeamsChannel(bot_settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ExternalRejected):
            channel.post_card(CARD, key="k")
        channel.close()
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_closed_adapter_starts_afresh_on_its_next_call(bot_settings, doubles):
    _, connector, server = doubles
    channel = TeamsChannel(bot_settings)
    channel.post_card(CARD, key="k1")
    channel.close()
    channel.close()  # twice is harmless
    try:
        channel.post_card(CARD, key="k2")
    finally:
        channel.close()
    assert len(connector.threads) == 2
    assert server.connections == 2  # the first session's connection went with it


def test_doctor_reports_the_bot_token(bot_settings, doubles):
    (result,) = run_checks(doctor_checks(bot_settings))
    assert result.ok, result.line()
    assert APP in result.detail


def test_doctor_shows_a_refused_bot_token_without_the_secret(bot_settings, doubles):
    from pydantic import SecretStr

    wrong = bot_settings.model_copy(update={"bot_app_secret": SecretStr("wrong-secret")})
    (result,) = run_checks(doctor_checks(wrong))
    assert not result.ok and "invalid_client" in result.detail
    assert "wrong-secret" not in result.line()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/teams/v3/conversations", {"isgroup": True}),  # a property the spec lacks
        ("POST", "/teams/v3/conversations", {"isGroup": "yes"}),  # the wrong type
        ("PATCH", "/teams/v3/conversations/c/activities/a", {"type": "message"}),  # no such op
        ("POST", "/teams/v3/threads", {}),  # no such path
        (  # a mention entity with a property Mention lacks
            "POST",
            "/teams/v3/conversations/c;messageid=1/activities",
            {
                "type": "message",
                "entities": [
                    {"type": "mention", "mentioned": {"id": "29:1"}, "text": "x", "userId": "1"}
                ],
            },
        ),
        (  # a mentioned account with a property ChannelAccount lacks
            "POST",
            "/teams/v3/conversations/c;messageid=1/activities",
            {"type": "message", "entities": [{"type": "mention", "mentioned": {"upn": "a"}}]},
        ),
    ],
)
def test_the_spec_check_refuses_what_the_connector_spec_does_not_allow(method, path, body):
    call = Call(
        method,
        f"http://127.0.0.1{path}",
        {"Content-Type": "application/json", "Authorization": "Bearer t"},
        body,
    )
    with pytest.raises((AssertionError, jsonschema.ValidationError, pytest.fail.Exception)):
        assert_connector_allows(call, "/teams")


# --- replies and posts (the follow-up engine's messages) ----------------------------------------


class Journal:
    """A write-once effect journal like ``FollowUps.claim_effect``; ``crash_on`` makes the
    claim of a key starting with it fail once (a crash between two writes)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.crash_on = ""

    def __call__(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        if self.crash_on and key.startswith(self.crash_on):
            self.crash_on = ""
            raise ConnectionError("the store went away")
        return self.entries.setdefault(key, value)


def test_a_reply_goes_into_the_thread_of_the_card(bot_settings, doubles):
    _, connector, server = doubles
    channel = TeamsChannel(bot_settings, journal=Journal())
    thread = channel.post_card(CARD, key="card")
    reply_id = channel.reply(thread, "SLA: due **Wed 9 Dec 16:30 CET**", key="sla:1:1:warn")
    (post,) = [c for c in connector.calls if c.method == "POST" and "/activities" in c.path]
    assert post.url == (
        f"{server.url}/teams/v3/conversations/{CHANNEL};messageid={thread.activity_id}/activities"
    )
    assert post.body == {
        "type": "message",
        "textFormat": "markdown",
        "text": "SLA: due **Wed 9 Dec 16:30 CET**",
    }
    assert connector.replies == [
        {"conversation_id": thread.conversation_id, "id": reply_id, "activity": post.body}
    ]


def test_a_known_person_is_a_real_mention_and_anyone_else_a_bold_name(bot_settings, doubles):
    _, connector, _ = doubles
    channel = TeamsChannel(bot_settings, journal=Journal())
    thread = channel.post_card(CARD, key="card")
    mentions = [Mention("Ann Lee", "29:1ann"), Mention("Bob *the* <b>builder</b>")]
    channel.reply(
        thread,
        "<at>Ann Lee</at>, <at>Bob *the* <b>builder</b></at>: breached",
        key="k",
        mentions=mentions,
    )
    (reply,) = connector.replies
    activity = reply["activity"]
    assert activity["text"] == r"<at>Ann Lee</at>, **Bob \*the\* \<b\>builder\</b\>**: breached"
    assert activity["entities"] == [
        {
            "type": "mention",
            "mentioned": {"id": "29:1ann", "name": "Ann Lee"},
            "text": "<at>Ann Lee</at>",
        }
    ]


@pytest.mark.parametrize(
    ("text", "mentions", "expected_text", "entity_texts"),
    [
        # A name with markup inside <at>: HTML-escaped, and the entity's text the same tag.
        (
            "hi <at>A<b>&</at>",
            [Mention("A<b>&", "29:a")],
            "hi <at>A&lt;b&gt;&amp;</at>",
            ["<at>A&lt;b&gt;&amp;</at>"],
        ),
        # A mention missing from the text goes in front of it, never silently dropped.
        ("breached", [Mention("Ann", "29:a")], "<at>Ann</at> breached", ["<at>Ann</at>"]),
        ("breached", [Mention("Bob")], "**Bob** breached", []),
        # The same person twice: one entity.
        (
            "<at>Ann</at> and <at>Ann</at>",
            [Mention("Ann", "29:a")] * 2,
            "<at>Ann</at> and <at>Ann</at>",
            ["<at>Ann</at>"],
        ),
        ("no one", [], "no one", []),
    ],
)
def test_the_message_text_and_its_mention_entities(text, mentions, expected_text, entity_texts):
    message = teams_message(text, mentions)
    assert message["text"] == expected_text
    assert [e["text"] for e in message["entities"]] == entity_texts
    for entity in message["entities"]:
        assert entity["text"] in message["text"]  # Teams matches the entity to the text


def test_a_post_starts_a_new_thread_in_the_channel(bot_settings, doubles):
    _, connector, server = doubles
    channel = TeamsChannel(bot_settings, journal=Journal())
    thread = channel.post(
        "Digest: <at>Ann</at>", key="digest:2026-12-08:09:30", mentions=[Mention("Ann", "29:a")]
    )
    (post,) = [c for c in connector.calls if c.method == "POST"]
    assert post.url == f"{server.url}/teams/v3/conversations"
    assert post.body["isGroup"] is True
    assert post.body["channelData"] == {"channel": {"id": CHANNEL}, "tenant": {"id": TENANT}}
    assert post.body["activity"] == {
        "type": "message",
        "textFormat": "markdown",
        "text": "Digest: <at>Ann</at>",
        "entities": [
            {"type": "mention", "mentioned": {"id": "29:a", "name": "Ann"}, "text": "<at>Ann</at>"}
        ],
    }
    assert thread.conversation_id == f"{CHANNEL};messageid={thread.activity_id}"
    assert connector.threads[thread.conversation_id]["activity_id"] == thread.activity_id


def test_the_same_key_twice_sends_once_and_returns_the_first_id(bot_settings, doubles):
    _, connector, _ = doubles
    journal = Journal()
    channel = TeamsChannel(bot_settings, journal=journal)
    thread = channel.post_card(CARD, key="card")
    first = channel.reply(thread, "breached", key="sla:7:1:breach")
    assert channel.reply(thread, "breached", key="sla:7:1:breach") == first
    # A second adapter over the same journal (another instance, a replay) knows it too.
    assert (
        TeamsChannel(bot_settings, journal=journal).reply(thread, "x", key="sla:7:1:breach")
        == first
    )
    posted = channel.post("digest", key="digest:d:1")
    assert channel.post("digest", key="digest:d:1") == posted
    assert len(connector.replies) == 1 and len(connector.threads) == 2
    assert journal.entries["teams:sla:7:1:breach:outcome:1"] == {"sent": first}


def test_a_refused_reply_is_recorded_as_not_sent_and_the_next_attempt_sends(bot_settings, doubles):
    _, connector, _ = doubles
    journal = Journal()
    channel = TeamsChannel(bot_settings, journal=journal)
    thread = channel.post_card(CARD, key="card")
    connector.fail("POST", "/activities", 403, times=1)
    with pytest.raises(ExternalRejected):
        channel.reply(thread, "breached", key="k")
    assert journal.entries["teams:k:outcome:1"] == {"failed": 403}
    channel.reply(thread, "breached", key="k")
    assert len(connector.replies) == 1


def test_a_crash_after_the_connector_took_a_reply_sends_it_again_the_window_left(
    bot_settings, doubles, caplog
):
    """The Connector cannot be asked what it has: an attempt whose outcome was not recorded
    is unknown, and the next one sends again, with a warning (docs/reliability.md)."""
    _, connector, _ = doubles
    journal = Journal()
    channel = TeamsChannel(bot_settings, journal=journal)
    thread = channel.post_card(CARD, key="card")
    journal.crash_on = "teams:k:outcome:1"
    with pytest.raises(ConnectionError):
        channel.reply(thread, "breached", key="k")
    second = channel.reply(thread, "breached", key="k")
    assert len(connector.replies) == 2  # the one duplicate the Connector allows
    assert "may have sent it" in caplog.text
    assert journal.entries["teams:k:outcome:1"] == {"unknown": True}
    assert channel.reply(thread, "breached", key="k") == second  # and never a third
    assert len(connector.replies) == 2


def test_a_reply_is_throttled_and_retried_after_the_time_asked_for(
    bot_settings, doubles, monkeypatch
):
    _, connector, _ = doubles
    waits: list[float] = []
    monkeypatch.setattr(retry, "sleep", waits.append)
    channel = TeamsChannel(bot_settings, journal=Journal())
    thread = channel.post_card(CARD, key="card")
    connector.fail("POST", "/activities", 429, times=1, headers={"Retry-After": "2"})
    connector.fail("POST", "/activities", 503, times=1, headers={"Retry-After": "1"})
    channel.reply(thread, "breached", key="k")
    assert waits == [2.0, 1.0]
    assert len(connector.replies) == 1


def test_a_reply_to_a_thread_the_connector_does_not_know_is_rejected(bot_settings, doubles):
    with pytest.raises(ExternalRejected) as caught:
        TeamsChannel(bot_settings).reply(Thread(f"{CHANNEL};messageid=9", "9"), "x", key="k")
    assert caught.value.remote_status == 404


def test_the_composed_channel_keeps_its_keys_in_the_follow_ups_journal(bot_settings, doubles):
    _, connector, _ = doubles
    services = bootstrap.build(bot_settings)
    assert services.follow_ups is not None
    thread = services.channel.post_card(CARD, key="card")
    first = services.channel.reply(thread, "breached", key="sla:3:1:breach")
    again = bootstrap.build(bot_settings).channel.reply(thread, "x", key="sla:3:1:breach")
    assert again == first and len(connector.replies) == 1
    assert services.follow_ups.claim_effect("teams:sla:3:1:breach:outcome:1", {}) == {"sent": first}


def test_a_journal_that_cannot_record_the_attempt_stops_the_message(bot_settings, doubles):
    """No record before the call, no call: retries during a store outage cannot pile up
    replies that nothing remembers."""
    _, connector, _ = doubles
    journal = Journal()
    channel = TeamsChannel(bot_settings, journal=journal)
    thread = channel.post_card(CARD, key="card")
    journal.crash_on = "teams:k:attempt:1"
    with pytest.raises(ConnectionError):
        channel.reply(thread, "breached", key="k")
    assert connector.replies == []
    channel.reply(thread, "breached", key="k")  # the store is back: sent once
    assert len(connector.replies) == 1


def test_a_reply_the_connector_took_before_failing_is_sent_twice_the_window_left(
    bot_settings, doubles
):
    """A 503 after the Connector posted the reply (a gateway losing its answer) looks like one
    that did nothing; the retry posts it again. Measured here: one duplicate, and the key
    then holds the second id, so a later call sends nothing (docs/reliability.md)."""
    _, connector, _ = doubles
    journal = Journal()
    channel = TeamsChannel(bot_settings, journal=journal)
    thread = channel.post_card(CARD, key="card")
    connector.fail("POST", "/activities", 503, after=True)
    reply_id = channel.reply(thread, "breached", key="k")
    assert len(connector.replies) == 2 and connector.replies[1]["id"] == reply_id
    assert channel.reply(thread, "breached", key="k") == reply_id
    assert len(connector.replies) == 2
