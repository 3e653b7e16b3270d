"""Limits of what is typed into the triage card, and who may decide: each refusal is a line on
the clicker's card, and nothing is done (no decision claimed, nothing queued, the channel's
card and the request's status untouched)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func
import pytest

from intake import bootstrap, triage
from intake.bot.endpoint import MAX_ACTIVITY_BYTES
from intake.models import DecisionKind, RequestStatus
from intake.triage_card import load_card
from intake.triage_rules import (
    MAX_ROOT_CAUSE,
    MAX_TASK_TITLE,
    MAX_TASKS,
    MAX_TASKS_TEXT,
    Clicker,
)
from tests.adaptive_cards import assert_valid_card, inputs, texts
from tests.e2e.client import invoke_activity
from tests.people import MORGAN


def nothing_done(world, request_id: str) -> bool:
    (thread,) = world.channel.threads.values()
    return (
        not [name for _, name in world.store.claims if name.startswith("decision")]
        and world.queue.messages == []
        and thread["updates"] == 0
        and world.store.records[request_id].status == RequestStatus.DONE
    )


def titles(count: int, length: int) -> str:
    return "\n".join(f"{i:03d}".ljust(length, "x") for i in range(count))


# (kind, data at the limit, data one over it, the refusal's words)
LIMITS = [
    pytest.param(
        DecisionKind.CREATE_PBI,
        {"tasks": titles(1, MAX_TASK_TITLE)},
        {"tasks": titles(1, MAX_TASK_TITLE + 1)},
        f"Task 1 is 256 characters long; a Task title takes at most {MAX_TASK_TITLE}.",
        id="task-title",
    ),
    pytest.param(
        DecisionKind.CREATE_PBI,
        {"tasks": titles(MAX_TASKS, 10)},
        {"tasks": titles(MAX_TASKS + 1, 10)},
        f"At most {MAX_TASKS} Tasks (21 typed).",
        id="number-of-tasks",
    ),
    pytest.param(
        DecisionKind.CREATE_PBI,
        # 19 lines of 199 characters and one of 200, 19 line breaks: 4,000 characters.
        {"tasks": titles(MAX_TASKS - 1, 199) + "\n" + "y" * 200},
        {"tasks": titles(MAX_TASKS - 1, 199) + "\n" + "y" * 201},
        f"The Tasks box takes at most {MAX_TASKS_TEXT:,} characters (4,001 typed).",
        id="tasks-box",
    ),
    pytest.param(
        DecisionKind.NOT_OUR_PROBLEM,
        {"rootCause": "r" * MAX_ROOT_CAUSE},
        {"rootCause": "r" * (MAX_ROOT_CAUSE + 1)},
        f"The root cause takes at most {MAX_ROOT_CAUSE:,} characters (2,001 typed).",
        id="root-cause",
    ),
    pytest.param(
        DecisionKind.BUG_OR_FEATURE,
        {"bugOrFeature": "feature"},
        {"bugOrFeature": "feature" + "s"},
        "Choose Bug or Feature request first.",
        id="bug-or-feature",
    ),
]


@pytest.mark.parametrize(("kind", "at_limit", "over", "refusal"), LIMITS)
def test_a_card_input_over_its_limit_is_refused_on_the_card_and_nothing_is_done(
    world, request_id, kind, at_limit, over, refusal
):
    card = triage.decide(request_id, MORGAN, kind, over, world.services)
    assert refusal in [t.replace("\\", "") for t in texts(card)]
    assert_valid_card(card)
    assert nothing_done(world, request_id)
    # At the limit it is taken, and done in full (no Task cut or dropped).
    triage.decide(request_id, MORGAN, kind, at_limit, world.services)
    assert world.store.records[request_id].steps["decision"]["kind"] == kind.value
    while world.queue.messages:
        triage.run_decision(world.queue.messages.pop(0)["request_id"], world.services)
    record = world.store.records[request_id]
    assert record.status == RequestStatus.DONE
    typed = [t for t in str(at_limit.get("tasks", "")).splitlines() if t]
    made = [i["draft"].title for i in world.work_items.items.values() if i["draft"].type == "Task"]
    assert made == typed


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (DecisionKind.CREATE_PBI, {"tasks": ["a", "b"]}),
        (DecisionKind.NOT_OUR_PROBLEM, {"rootCause": {"text": "x"}}),
        (DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": 1}),
    ],
)
def test_a_card_input_that_is_not_text_is_refused(world, request_id, kind, data):
    card = triage.decide(request_id, MORGAN, kind, data, world.services)
    assert any("must be text" in t for t in texts(card))
    assert nothing_done(world, request_id)


def test_the_card_inputs_carry_the_limits_the_server_checks():
    fragment = load_card("scrum_master_decide")
    by_id = {node["id"]: node for node in inputs(fragment)}
    assert by_id["tasks"]["maxLength"] == MAX_TASKS_TEXT
    assert by_id["rootCause"]["maxLength"] == MAX_ROOT_CAUSE
    assert {c["value"] for c in by_id["bugOrFeature"]["choices"]} == {"bug", "feature"}


# --- who may decide --------------------------------------------------------------------------

# Everyone who is not a scrum master, as a click can claim to be: staff by their own ids, a
# scrum master's name with a staff id, a scrum master's Teams id with a staff object id, no ids.
STAFF = "00000000-0000-0000-0000-00000000a1e5"
NOT_SCRUM_MASTERS = [
    pytest.param(Clicker("29:1-alex-local", "Alex Support", STAFF), id="staff"),
    pytest.param(Clicker("29:1-sam-local", "Morgan Scrum", STAFF), id="staff-named-as-sm"),
    pytest.param(Clicker("29:1-casey-local", "Casey", "ca5e"), id="coordinator"),
    pytest.param(Clicker("29:1-morgan-local-x", "Morgan Scrum", ""), id="forged-name-no-oid"),
    pytest.param(Clicker("29:unknown", "Someone", ""), id="unknown"),
]
DECISION_DATA = {
    DecisionKind.CREATE_PBI: {"tasks": "Fix"},
    DecisionKind.NOT_OUR_PROBLEM: {"rootCause": "DNS"},
    DecisionKind.BUG_OR_FEATURE: {"bugOrFeature": "bug"},
    DecisionKind.SPRINT_URGENT: {},
    DecisionKind.HANDLE_IN_SPRINT: {},
}


# Close and tell the client is the coordinator's too: tests/unit/test_closing.py.
@pytest.mark.parametrize("kind", [k for k in DecisionKind if k is not DecisionKind.CLOSE_DONE])
@pytest.mark.parametrize("clicker", NOT_SCRUM_MASTERS)
def test_anyone_but_a_scrum_master_invoking_a_scrum_master_verb_is_refused(
    world, request_id, clicker, kind
):
    if kind in (DecisionKind.SPRINT_URGENT, DecisionKind.HANDLE_IN_SPRINT):
        # The second decision exists once a PBI does: refused then too, and nothing changes.
        triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
        while world.queue.messages:
            triage.run_decision(world.queue.messages.pop(0)["request_id"], world.services)
    before = world.store.records[request_id].model_copy(deep=True)
    claims, updates = dict(world.store.claims), world.channel.threads.copy()
    card = triage.decide(request_id, clicker, kind, DECISION_DATA[kind], world.services)
    assert triage.NOT_SCRUM_MASTER in texts(card)
    assert world.store.records[request_id] == before
    assert world.store.claims == claims and world.queue.messages == []
    assert [t["updates"] for t in world.channel.threads.values()] == [
        t["updates"] for t in updates.values()
    ]
    assert "decision.plan" not in world.store.records[request_id].steps


# --- the bot endpoint's body --------------------------------------------------------------


@pytest.fixture
def bot(world, request_id):
    bootstrap.override(world.services)
    yield world
    bootstrap.override(None)


def post_activity(body: bytes) -> func.HttpResponse:
    from functions.messages import messages

    handler = messages.build().get_user_function()
    request = func.HttpRequest(
        method="POST",
        url="http://localhost/api/messages",
        headers={"Content-Type": "application/json"},
        body=body,
    )
    return asyncio.run(handler(request))


def decide_activity(world, request_id: str, data: dict[str, Any]) -> dict[str, Any]:
    (activity_id,) = world.channel.threads
    thread = {
        "activity_id": activity_id,
        "conversation_id": world.channel.threads[activity_id]["conversation_id"],
    }
    morgan = {
        "name": MORGAN.name,
        "teams_id": MORGAN.teams_id,
        "aad_object_id": MORGAN.aad_object_id,
    }
    return invoke_activity(
        thread, morgan, "close_not_our_problem", {"requestId": request_id, **data}
    )


def test_a_bot_activity_over_64_kib_is_refused_with_413_and_nothing_is_done(bot, request_id):
    activity = decide_activity(bot, request_id, {"rootCause": "DNS", "pad": ""})
    size = len(json.dumps(activity).encode())
    activity["value"]["action"]["data"]["pad"] = "p" * (MAX_ACTIVITY_BYTES - size)
    assert len(json.dumps(activity).encode()) == MAX_ACTIVITY_BYTES
    activity["value"]["action"]["data"]["pad"] += "p"
    answer = post_activity(json.dumps(activity).encode())
    assert answer.status_code == 413
    assert nothing_done(bot, request_id)
    activity["value"]["action"]["data"]["pad"] = "p" * (MAX_ACTIVITY_BYTES - size)
    answer = post_activity(json.dumps(activity).encode())
    assert answer.status_code == 200, answer.get_body()
    assert bot.store.records[request_id].steps["decision"]["root_cause"] == "DNS"


def test_a_deeply_nested_bot_activity_is_refused_before_parsing(bot, request_id):
    answer = post_activity(b"[" * 10_000 + b"]" * 10_000)
    assert answer.status_code == 400
    assert nothing_done(bot, request_id)
