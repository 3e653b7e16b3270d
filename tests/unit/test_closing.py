"""Closing the loop (issue 15) on the fakes: the rules over DevOps histories, the sprints the
card offers, the resolutions, the done item's offer and close, each once, also under faults."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake import iteration_choices, replay, triage, workflow
from intake.adapters.local_follow_ups import SqliteFollowUps
from intake.adapters.sqlite_db import Database
from intake.closing_rules import created_of, iteration_label, resolution_to_clear
from intake.config import Settings
from intake.errors import ExternalRejected, ExternalUnavailable, InvalidDecision
from intake.follow_up import run_follow_up
from intake.messages import Kind
from intake.models import DecisionKind, Iteration
from intake.triage_rules import Clicker, TriageStep, decision_from
from tests.adaptive_cards import elements, texts, verbs
from tests.conftest import SAMPLE
from tests.fakes import FakeWorld
from tests.people import ALEX, MORGAN

CASEY = Clicker("29:1-casey-local", "Casey Coordinator", "00000000-0000-0000-0000-00000000ca5e")
FIELD = "Microsoft.VSTS.Common.ResolvedReason"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def rev(n: int, **fields: Any) -> dict[str, Any]:
    return {"rev": n, "fields": {k: {"newValue": v} for k, v in fields.items()}}


def state(n: int, old: str, new: str, **fields: Any) -> dict[str, Any]:
    update = rev(n, **fields)
    update["fields"]["System.State"] = {"oldValue": old, "newValue": new}
    return update


# --- the rules ---------------------------------------------------------------------------------
KEY = "Custom.IntakeRequestId"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("00000000000000aa/pbi", ("00000000000000aa", "pbi")),
        ("00000000000000aa/bug", ("00000000000000aa", "bug")),
        ("00000000000000aa/feature", ("00000000000000aa", "feature")),
        ("00000000000000aa/task-0", None),  # Tasks are the PBI's
        ("00000000000000aa", None),  # the request's own item
        ("nonsense/pbi", None),
    ],
)
def test_created_of_knows_what_triage_made(key, expected):
    updates = [
        rev(1, **{KEY: key, "System.WorkItemType": "Bug", "System.State": "New"}),
        state(2, "New", "Done", **{"System.IterationPath": "Intake\\Sprint 3"}),
    ]
    found = created_of(updates, KEY)
    assert (found and (found.request_id, found.kind)) == expected
    if found:
        assert (found.state, found.state_rev, found.iteration_path) == (
            "Done",
            2,
            "Intake\\Sprint 3",
        )


@pytest.mark.parametrize(
    ("path", "label"),
    [("Intake\\Sprint 3", "Sprint 3"), ("Intake\\2026\\Q1 S2", "Q1 S2"), ("Intake", ""), ("", "")],
)
def test_an_iteration_is_said_by_its_last_part_and_the_root_is_no_sprint(path, label):
    assert iteration_label(path) == label


@pytest.mark.parametrize(
    ("updates", "clear"),
    [
        # Closed with a resolution, still closed: kept.
        ([rev(1, **{FIELD: "Done"}), state(2, "Active", "Closed")], False),
        # Reopened after the close: cleared.
        (
            [rev(1, **{FIELD: "Done"}), state(2, "Active", "Closed"), state(3, "Closed", "New")],
            True,
        ),
        # Reopened, then already cleared: nothing more.
        (
            [
                state(1, "Active", "Closed", **{FIELD: "Won't Do"}),
                state(2, "Closed", "New"),
                rev(3, **{FIELD: ""}),
            ],
            False,
        ),
        # Reopened, then closed again with a new resolution (written after the reopen): kept.
        (
            [
                state(1, "Active", "Closed", **{FIELD: "Won't Do"}),
                state(2, "Closed", "New"),
                rev(3, **{FIELD: "Done"}),
                state(4, "New", "Closed"),
            ],
            False,
        ),
        # Never closed: a resolution typed on an open item is left alone.
        ([rev(1, **{FIELD: "Duplicate"})], False),
    ],
)
def test_reopening_clears_the_resolution_written_before_it(updates, clear):
    assert resolution_to_clear(updates, FIELD, "Closed") is clear


# --- resolutions and iterations in the decision --------------------------------------------
def test_not_our_problem_defaults_to_wont_do_and_refuses_a_code_not_listed():
    decided = decision_from(DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "DNS"}, MORGAN, "t")
    assert decided.resolution == "Won't Do"
    chosen = {"rootCause": "DNS", "resolution": "Duplicate"}
    assert decision_from(DecisionKind.NOT_OUR_PROBLEM, chosen, MORGAN, "t").resolution == (
        "Duplicate"
    )
    with pytest.raises(InvalidDecision, match="resolution"):
        forged = {"rootCause": "DNS", "resolution": "Fixed by magic"}
        decision_from(DecisionKind.NOT_OUR_PROBLEM, forged, MORGAN, "t")
    with pytest.raises(InvalidDecision):
        decision_from(
            DecisionKind.NOT_OUR_PROBLEM, chosen, MORGAN, "t", resolution_codes=["Won't Do"]
        )


def test_create_pbi_takes_only_an_iteration_the_card_offered():
    def pbi(iteration: str) -> str:
        data = {"iteration": iteration}
        offered = ["Intake\\Sprint 8"]
        return decision_from(
            DecisionKind.CREATE_PBI, data, MORGAN, "t", iterations=offered
        ).iteration

    assert pbi("@current") == "@current" and pbi("@backlog") == "@backlog"
    assert pbi("Intake\\Sprint 8") == "Intake\\Sprint 8"
    assert decision_from(DecisionKind.CREATE_PBI, {}, MORGAN, "t").iteration == ""  # old card
    with pytest.raises(InvalidDecision, match="no longer offered"):
        pbi("Intake\\Sprint 99")


# --- a world with a PBI ------------------------------------------------------------------------
class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def make_world(tmp_path, **settings: Any) -> tuple[FakeWorld, Any, Clock, str]:
    clock = Clock(T0)
    world = FakeWorld(Settings(data_dir=tmp_path / "data", **settings), clock=clock)
    follow_ups = SqliteFollowUps(Database(tmp_path / "follow.db"), clock=clock)
    services = replace(world.services, follow_ups=follow_ups)
    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    workflow.run_steps(receipt.request_id, services)
    world.queue.messages.clear()
    return world, services, clock, receipt.request_id


def deliver(world: FakeWorld, services: Any) -> None:
    """What the steps trigger does with each queued message (a failure is delivered again)."""
    while world.queue.messages:
        message = world.queue.messages[0]
        if message.get("kind") == Kind.RUN_DECISION:
            triage.run_decision(message["request_id"], services)
        elif message.get("kind", Kind.RUN_STEPS) == Kind.RUN_STEPS:
            workflow.run_steps(message["request_id"], services)
        world.queue.messages.pop(0)


def redeliver(world: FakeWorld, services: Any) -> None:
    """The queue delivers a failed message again, up to five times."""
    for _ in range(5):
        try:
            deliver(world, services)
            return
        except ExternalUnavailable:
            continue
    world.queue.messages.clear()  # poisoned: the timer resumes the request


def with_a_pbi(tmp_path, **settings: Any) -> tuple[FakeWorld, Any, Clock, str, int]:
    world, services, clock, request_id = make_world(tmp_path, **settings)
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {"iteration": "@current"}, services)
    deliver(world, services)
    triage.decide(request_id, MORGAN, DecisionKind.HANDLE_IN_SPRINT, {}, services)
    deliver(world, services)
    pbi = world.store.records[request_id].steps[TriageStep.CREATE_PBI.value]
    return world, services, clock, request_id, int(pbi["id"])


def pbi_done(world: FakeWorld, request_id: str, pbi_id: int, clock: Clock) -> None:
    """A person sets the PBI to Done in DevOps: its history, and the sweep finds it."""
    item = world.work_items.items[pbi_id]
    item["state"] = "Done"
    world.work_items.history[pbi_id] = [
        rev(
            1,
            **{
                KEY: f"{request_id}/pbi",
                "System.WorkItemType": "Product Backlog Item",
                "System.Title": item["draft"].title,
                "System.State": "New",
                "System.IterationPath": item["fields"].get("System.IterationPath")
                or item["draft"].iteration_path,
            },
        ),
        state(2, "New", "Done"),
    ]
    world.work_items.changed_at[pbi_id] = clock.at


def offers(world: FakeWorld) -> list[dict[str, Any]]:
    return [p for p in world.channel.posts if p["key"].startswith("done:")]


def done_emails(world: FakeWorld) -> list[Any]:
    return [e for e in world.mailer.sent if e.key.endswith("closing.email_client")]


def close_comments(world: FakeWorld, request_id: str) -> list[str]:
    item = world.store.records[request_id].work_item_id
    return [c.html for c in world.work_items.comments[item] if c.key.endswith("closing.comment")]


def test_create_pbi_puts_the_pbi_in_the_chosen_sprint_and_tells_the_coordinator(tmp_path):
    world, services, clock, request_id, pbi_id = with_a_pbi(tmp_path)
    assert world.work_items.items[pbi_id]["draft"].iteration_path == "Intake\\Sprint 7"
    request_item = world.store.records[request_id].work_item_id
    (proceed,) = [c.html for c in world.work_items.comments[request_item] if "proceed" in c.html]
    assert "Fix version: Sprint 7." in proceed


def test_backlog_chosen_explicitly_leaves_the_pbi_without_a_version(tmp_path):
    world, services, clock, request_id = make_world(tmp_path)
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {"iteration": "@backlog"}, services)
    deliver(world, services)
    record = world.store.records[request_id]
    pbi = record.steps[TriageStep.CREATE_PBI.value]
    assert world.work_items.items[pbi["id"]]["draft"].iteration_path == ""
    comments = world.work_items.comments[record.work_item_id]
    assert any("Fix version: none yet (Backlog)." in c.html for c in comments)


def test_the_card_offers_the_kept_sprints_and_a_click_never_calls_devops(tmp_path):
    world, services, clock, request_id = make_world(tmp_path)
    card = triage.view(request_id, MORGAN, services)
    (choice,) = [i for i in elements(card) if i.get("id") == "iteration"]
    assert [c["value"] for c in choice["choices"]] == ["@current", "@backlog"]  # nothing kept
    assert iteration_choices.refresh(services, T0)
    assert not iteration_choices.refresh(services, T0 + timedelta(minutes=10))  # still fresh
    world.faults.add("current_iteration", ExternalUnavailable("DevOps is down"), times=5)
    card = triage.view(request_id, MORGAN, services)
    (choice,) = [i for i in elements(card) if i.get("id") == "iteration"]
    assert choice["choices"] == [
        {"title": "Sprint 7 (current sprint)", "value": "Intake\\Sprint 7"},
        {"title": "Sprint 8", "value": "Intake\\Sprint 8"},
        {"title": "Backlog (no version yet)", "value": "@backlog"},
    ]
    assert choice["value"] == "Intake\\Sprint 7"
    # An old read is read again; a failed read keeps what was kept.
    assert not iteration_choices.refresh(services, T0 + timedelta(hours=1))
    assert iteration_choices.choices(services).current == Iteration(
        "it-7", "Sprint 7", "Intake\\Sprint 7"
    )
    calls = world.faults.calls["current_iteration"]
    triage.decide(
        request_id, MORGAN, DecisionKind.CREATE_PBI, {"iteration": "Intake\\Sprint 8"}, services
    )
    assert world.faults.calls["current_iteration"] == calls  # the click read the store only


def test_not_our_problem_writes_its_resolution_and_says_it_in_the_email(tmp_path):
    world, services, clock, request_id = make_world(tmp_path)
    data = {"rootCause": "Their proxy", "resolution": "Configuration Issue"}
    triage.decide(request_id, MORGAN, DecisionKind.NOT_OUR_PROBLEM, data, services)
    deliver(world, services)
    item = world.work_items.items[world.store.records[request_id].work_item_id]
    assert item["state"] == "Closed" and item["fields"][FIELD] == "Configuration Issue"
    (email,) = [e for e in world.mailer.sent if e.key.endswith("decision.email_client")]
    assert "Resolution: Configuration Issue" in email.text


def test_an_empty_resolution_field_writes_nothing(tmp_path):
    world, services, clock, request_id = make_world(tmp_path, resolution_field="")
    triage.decide(request_id, MORGAN, DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "x"}, services)
    deliver(world, services)
    item = world.work_items.items[world.store.records[request_id].work_item_id]
    assert item["state"] == "Closed" and FIELD not in item["fields"]


def test_a_done_pbi_is_offered_once_and_the_coordinator_closes_with_done(tmp_path):
    world, services, clock, request_id, pbi_id = with_a_pbi(tmp_path)
    assert triage.decide(request_id, CASEY, DecisionKind.CLOSE_DONE, {}, services) and (
        TriageStep.CLOSING.value not in world.store.records[request_id].steps
    )  # nothing is done yet: refused
    pbi_done(world, request_id, pbi_id, clock)
    clock.at = T0 + timedelta(minutes=5)
    run = run_follow_up(services)
    (offer,) = offers(world)
    assert run.said.count(offer["key"]) == 1 and offer["key"] == f"done:{pbi_id}:2"
    assert f"Product Backlog Item #{pbi_id}" in offer["text"]
    assert "is Done in Sprint 7" in offer["text"]
    assert "Casey Coordinator" in [m.name for m in offer["mentions"]]
    (thread,) = world.channel.threads.values()
    assert verbs(thread["card"]) == ["close_done"]
    said = f"Product Backlog Item #{pbi_id} is Done (Sprint 7)."
    assert said in texts(thread["card"])
    world.work_items.changed_at[pbi_id] = clock.at = T0 + timedelta(minutes=10)
    assert run_follow_up(services).said == [] and len(offers(world)) == 1  # swept again

    refused = triage.decide(request_id, ALEX, DecisionKind.CLOSE_DONE, {}, services)
    assert triage.NOT_COORDINATOR in texts(refused) and world.queue.messages == []
    triage.decide(request_id, CASEY, DecisionKind.CLOSE_DONE, {}, services)
    deliver(world, services)
    record = world.store.records[request_id]
    item = world.work_items.items[record.work_item_id]
    assert item["state"] == "Closed" and item["fields"][FIELD] == "Done"
    (email,) = done_emails(world)
    assert f"Product Backlog Item #{pbi_id}" in email.text and "in Sprint 7" in email.text
    # The work item, the single source of truth, says the close too.
    (comment,) = close_comments(world, request_id)
    assert f"Closed: done — Product Backlog Item #{pbi_id} in Sprint 7" in comment
    assert "the client was told" in comment and "Resolution <b>Done</b>" in comment
    assert "Casey Coordinator" in comment
    assert record.status == "done"
    again = triage.decide(request_id, MORGAN, DecisionKind.CLOSE_DONE, {}, services)
    assert "Already closed by Casey Coordinator." in texts(again)
    deliver(world, services)
    assert len(done_emails(world)) == 1 and len(close_comments(world, request_id)) == 1


def test_auto_close_on_done_closes_at_once_without_asking(tmp_path):
    world, services, clock, request_id, pbi_id = with_a_pbi(tmp_path, auto_close_on_done=True)
    pbi_done(world, request_id, pbi_id, clock)
    clock.at = T0 + timedelta(minutes=5)
    run_follow_up(services)
    deliver(world, services)
    (offer,) = offers(world)
    assert "Intake closes the request" in offer["text"]
    item = world.work_items.items[world.store.records[request_id].work_item_id]
    assert item["state"] == "Closed" and item["fields"][FIELD] == "Done"
    assert len(done_emails(world)) == 1
    world.work_items.changed_at[pbi_id] = clock.at = T0 + timedelta(minutes=10)
    run_follow_up(services)
    deliver(world, services)
    assert len(offers(world)) == 1 and len(done_emails(world)) == 1


SATURDAY_NIGHT = datetime(2026, 12, 12, 22, 0, tzinfo=UTC)  # the default calendar: UTC
MONDAY_OPENING = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)  # Mon-Fri 09:00-18:00


@pytest.mark.parametrize("auto", [False, True])
def test_a_done_seen_outside_business_hours_is_said_at_the_next_opening_once(tmp_path, auto):
    world, services, clock, request_id, pbi_id = with_a_pbi(tmp_path, auto_close_on_done=auto)
    request_item = world.store.records[request_id].work_item_id
    world.work_items.history[request_item] = [rev(1, **{KEY: request_id, "System.State": "New"})]
    pbi_done(world, request_id, pbi_id, clock)
    for night in (SATURDAY_NIGHT, SATURDAY_NIGHT + timedelta(hours=12)):
        clock.at = world.work_items.changed_at[pbi_id] = night  # swept again on Sunday
        run_follow_up(services)
        deliver(world, services)
        assert offers(world) == [] and done_emails(world) == []
        assert world.work_items.items[request_item]["state"] != "Closed"
        # The request's item stays due: the timer wakes at the opening.
        assert services.follow_ups.item(request_item).next_due_at == MONDAY_OPENING
    for _ in range(2):  # a second run at the same instant adds nothing
        clock.at = MONDAY_OPENING
        run_follow_up(services)
        deliver(world, services)
        (offer,) = offers(world)
        assert ("Intake closes the request" in offer["text"]) is auto
        assert len(done_emails(world)) == int(auto)
        closed = world.work_items.items[request_item]["state"] == "Closed"
        assert closed is auto
    item = services.follow_ups.item(request_item)
    assert "done" not in item.summary and "done" not in item.summary["dueBy"]
    if not auto:
        triage.decide(request_id, CASEY, DecisionKind.CLOSE_DONE, {}, services)
        deliver(world, services)
        assert len(done_emails(world)) == 1 and len(close_comments(world, request_id)) == 1


def test_a_done_at_night_whose_request_item_cannot_be_followed_is_said_rather_than_lost(
    tmp_path,
):
    world, services, clock, request_id, pbi_id = with_a_pbi(tmp_path)
    pbi_done(world, request_id, pbi_id, clock)  # the request item's history names no request
    clock.at = SATURDAY_NIGHT
    run_follow_up(services)
    assert len(offers(world)) == 1
    clock.at = MONDAY_OPENING
    run_follow_up(services)
    assert len(offers(world)) == 1


def test_a_pbi_not_done_or_not_ours_offers_nothing(tmp_path):
    world, services, clock, request_id, pbi_id = with_a_pbi(tmp_path)
    pbi_done(world, request_id, pbi_id, clock)
    world.work_items.history[pbi_id][-1] = state(2, "New", "Committed")  # in progress
    clock.at = T0 + timedelta(minutes=5)
    run_follow_up(services)
    assert offers(world) == []
    # Done, but its key names another request's PBI: not this decision's item.
    world.work_items.history[pbi_id] = [
        rev(1, **{KEY: "0123456789abcdef/pbi", "System.WorkItemType": "Product Backlog Item"}),
        state(2, "New", "Done"),
    ]
    world.work_items.changed_at[pbi_id] = clock.at = T0 + timedelta(minutes=10)
    run_follow_up(services)
    assert offers(world) == []


def test_reopening_a_closed_request_clears_its_resolution(tmp_path):
    world, services, clock, request_id = make_world(tmp_path)
    request_item = world.store.records[request_id].work_item_id
    world.work_items.history[request_item] = [
        rev(1, **{KEY: request_id, "System.State": "New"}),
        state(2, "New", "Closed", **{FIELD: "Won't Do"}),
        state(3, "Closed", "In Planning"),  # the client replied
    ]
    world.work_items.items[request_item]["fields"][FIELD] = "Won't Do"
    world.work_items.changed_at[request_item] = clock.at = T0 + timedelta(minutes=5)
    run_follow_up(services)
    assert world.work_items.items[request_item]["fields"][FIELD] == ""


# --- faults: the new effects, once each ------------------------------------------------------
OPERATIONS = [
    "state_categories",
    "record_step.closing.offer",
    "reply",
    "update_card",
    "claim.closing",
    "record_step.closing",
    "queue_send",
    "update",
    "set_state",
    "send",
    "record_step.closing.close",
    "record_step.closing.email_client",
    "add_comment",
    "record_step.closing.comment",
]


# The fake store's claim fails before its write only (the claim is one atomic write).
FAULTS = [
    pytest.param(operation, after, id=f"{operation}-{'after' if after else 'before'}")
    for operation in OPERATIONS
    for after in (False, True)
    if not (after and operation.startswith("claim."))
]


@pytest.mark.parametrize("night", [False, True], ids=["day", "night"])
@pytest.mark.parametrize(("operation", "after"), FAULTS)
def test_auto_close_under_a_fault_loses_nothing_and_says_nothing_twice(
    tmp_path, operation, after, night
):
    world, services, clock, request_id, pbi_id = with_a_pbi(tmp_path, auto_close_on_done=True)
    request_item = world.store.records[request_id].work_item_id
    world.work_items.history[request_item] = [rev(1, **{KEY: request_id, "System.State": "New"})]
    pbi_done(world, request_id, pbi_id, clock)
    error = ExternalUnavailable("down") if operation != "update" else ExternalRejected("no")
    world.faults.add(operation, error, after=after)
    # The timer runs every five minutes; the queue delivers again; the timer resumes. At
    # night: seen on Saturday, said (closed, emailed) from Monday's opening.
    start = MONDAY_OPENING if night else T0
    for minutes in (-2 * 24 * 60, 5, 10, 15, 30) if night else (5, 10, 15, 30):
        clock.at = start + timedelta(minutes=minutes)
        try:
            run_follow_up(services)
        except ExternalUnavailable:
            pass  # the run fails; the next one starts from the same watermark
        redeliver(world, services)
        workflow.resume_stalled_requests(services, quiet_for=0)
        redeliver(world, services)
    if world.store.records[request_id].status == "failed":  # a refusal: shown, then replayed
        assert operation == "update", operation
        replay.replay(request_id, services)
        redeliver(world, services)
    assert world.faults.injected == 1, operation
    item = world.work_items.items[world.store.records[request_id].work_item_id]
    assert (item["state"], item["fields"].get(FIELD)) == ("Closed", "Done"), operation
    assert len(done_emails(world)) == 1, operation
    assert len(close_comments(world, request_id)) == 1, operation
    assert len(offers(world)) == 1, operation
    assert world.store.records[request_id].status == "done", operation
