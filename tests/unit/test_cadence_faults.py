"""The fault matrix of the no-response cadence and of Ask the client: each remote call (the
email, the comment, the thread note, the resolution, the state change) fails before or after
the remote side acted, or the worker crashes after it; the timer runs again: every message
said once, every change made once (0 lost, 0 duplicates)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from intake import ask_client
from intake.adapters.local_follow_ups import SqliteFollowUps
from intake.adapters.sqlite_db import Database
from intake.config import Settings
from intake.errors import ExternalUnavailable, RequestBusy
from intake.follow_rules import cadence
from intake.follow_up import run_follow_up
from intake.triage_rules import Clicker
from tests.fakes import FakeWorld
from tests.unit.test_sla import History, paris
from tests.unit.test_sla_faults import PARIS_JSON, Clock, a_request_after_its_intake
from tests.unit.test_sla_ladder import PARIS as CALENDAR

CASEY = Clicker("29:1-casey-local", "Casey Coordinator", "00000000-0000-0000-0000-00000000ca5e")
ASKED, DAY_5, DAY_9, DAY_10 = (
    "2026-12-15 11:00",
    "2026-12-21 11:00",  # Day 1 is Tue 15 Dec, 11:00 Paris
    "2026-12-28 11:00",  # Fri 25 Dec is a holiday in PARIS_JSON
    "2026-12-29 11:00",
)
WAITING, CLOSED = "Waiting on Client", "Closed"


class Board:
    """The fake board, with each state change written into its history as DevOps does."""

    def __init__(self, world: FakeWorld, clock: Clock, history: History, work_item_id: int):
        self.world, self.clock, self.history, self.id = world, clock, history, work_item_id
        fake = world.work_items
        original = fake.set_state

        def set_state(work_item_id: int, state: str) -> None:
            before = fake.items[work_item_id]["state"]
            try:
                original(work_item_id, state)
            finally:  # a call that fails after DevOps made the change leaves it made
                if fake.items[work_item_id]["state"] != before:
                    self.history.add(self.local_now(), state=state)
                    fake.history[work_item_id] = self.history.updates
                    fake.changed_at[work_item_id] = self.clock.at

        fake.set_state = set_state  # type: ignore[method-assign]

    def local_now(self) -> str:
        return self.clock.at.astimezone(CALENDAR.timezone).strftime("%Y-%m-%d %H:%M")


def a_request_and_its_board(tmp_path, **settings: Any) -> tuple[FakeWorld, Any, Clock, Board]:
    clock = Clock(paris("2026-12-14 10:00"))
    world = FakeWorld(
        Settings(data_dir=tmp_path / "data", calendar=PARIS_JSON, **settings), clock=clock
    )
    ref = a_request_after_its_intake(world, clock.at, title="Blank page", severity="Medium")
    history = History().add(
        "2026-12-14 10:00",
        state="New",
        **{"System.Tags": {"newValue": "intake; intake-00000000000000aa"}},
    )
    history.add("2026-12-14 10:00", state="In Planning")
    world.work_items.items[ref.id]["state"] = "In Planning"
    world.work_items.history[ref.id] = history.updates
    world.work_items.changed_at[ref.id] = clock.at
    follow_ups = SqliteFollowUps(Database(tmp_path / "follow.db"), clock=clock)
    services = replace(world.services, follow_ups=follow_ups)
    return world, services, clock, Board(world, clock, history, ref.id)


def ask(world: FakeWorld, services: Any, clock: Clock) -> None:
    clock.at = paris(ASKED)
    ask_client.ask(world_request(world), CASEY, {"question": "Which browser?"}, services)
    assert world.queue.messages[-1] == {"kind": "ask_client", "request_id": world_request(world)}


def world_request(world: FakeWorld) -> str:
    return "00000000000000aa"


def run(services: Any, clock: Clock, when: str, minutes: float = 0) -> None:
    clock.at = paris(when) + timedelta(minutes=minutes)
    try:
        run_follow_up(services)
    except (RuntimeError, ExternalUnavailable):
        pass  # a crash of this run: the next one finds what it left


def outcome(world: FakeWorld, board: Board) -> dict[str, Any]:
    emails = Counter(e.key.split("-", 2)[-1] for e in world.mailer.sent)
    comments = Counter(c.key.split("-", 2)[-1] for c in world.work_items.comments[board.id])
    notes = Counter(p["key"] for p in world.channel.posts if "cadence" in p["key"])
    states = [u["fields"]["System.State"]["newValue"] for u in board.history.updates[2:]]
    item = world.work_items.items[board.id]
    return {
        "emails": emails,
        "comments": comments,
        "notes": sorted(notes.values()),
        "states": states,
        "resolution": item["fields"].get("Microsoft.VSTS.Common.ResolvedReason"),
    }


EXPECTED_EMAILS = {"ask:1:email": 1, "cadence:1:3:5": 1, "cadence:1:3:9": 1}
EXPECTED_EMAILS["cadence:1:3:10:email"] = 1


def the_whole_cadence(world: FakeWorld, services: Any, clock: Clock, board: Board) -> None:
    for day in (DAY_5, DAY_9, DAY_10):
        for minutes in (0, 0, 5, 10, 20):  # a second run at the same instant, then retries
            run(services, clock, day, minutes)


def assert_said_once(world: FakeWorld, board: Board) -> None:
    found = outcome(world, board)
    assert found["emails"] == EXPECTED_EMAILS
    assert found["comments"] == {"ask:1:comment": 1, "cadence:1:3:10:comment": 1}
    assert found["notes"] == [1]
    assert found["states"] == [WAITING, CLOSED]
    assert found["resolution"] == "No response"


def test_without_faults_each_message_and_change_happens_once(tmp_path):
    world, services, clock, board = a_request_and_its_board(tmp_path)
    ask(world, services, clock)
    ask_client.run_asks(world_request(world), services)
    run(services, clock, ASKED, 1)
    the_whole_cadence(world, services, clock, board)
    assert_said_once(world, board)


@pytest.mark.parametrize("field", ["Custom.Resolution", ""])
def test_the_no_response_close_writes_the_resolution_as_every_close_does(tmp_path, field):
    """INTAKE_RESOLUTION_FIELD is where it goes; empty: not written (decision_steps)."""
    world, services, clock, board = a_request_and_its_board(tmp_path, resolution_field=field)
    ask(world, services, clock)
    ask_client.run_asks(world_request(world), services)
    run(services, clock, ASKED, 1)
    the_whole_cadence(world, services, clock, board)
    fields = world.work_items.items[board.id]["fields"]
    assert outcome(world, board)["states"] == [WAITING, CLOSED]
    assert "Microsoft.VSTS.Common.ResolvedReason" not in fields
    assert fields.get(field) == ("No response" if field else None)
    record = world.store.records[world_request(world)]
    assert record.steps["cadence:1:3:10"]["resolution"] == "No response"


@pytest.mark.parametrize(
    "fault",
    [
        "before-accepted",
        "after-accepted",
        "crash-after",
    ],
)
@pytest.mark.parametrize(
    ("operation", "when"),
    [
        ("send", DAY_5),
        ("send", DAY_9),
        ("send", DAY_10),
        ("add_comment", DAY_10),
        ("reply", DAY_10),
        ("update", DAY_10),
        ("set_state", DAY_10),
    ],
)
def test_a_cadence_call_that_fails_is_done_once_by_a_later_run(tmp_path, operation, when, fault):
    world, services, clock, board = a_request_and_its_board(tmp_path)
    ask(world, services, clock)
    ask_client.run_asks(world_request(world), services)
    run(services, clock, ASKED, 1)
    error: BaseException = (
        RuntimeError("the worker died") if fault == "crash-after" else ExternalUnavailable("down")
    )
    for day in (DAY_5, DAY_9, DAY_10):
        if day == when:
            world.faults.add(operation, error, after=fault != "before-accepted")
        for minutes in (0, 0, 5, 10, 20):
            run(services, clock, day, minutes)
    assert world.faults.injected == 1
    assert_said_once(world, board)


@pytest.mark.parametrize("after", [False, True], ids=["before-accepted", "after-accepted"])
@pytest.mark.parametrize("operation", ["add_comment", "send", "set_state", "queue_send"])
def test_an_ask_whose_call_fails_is_finished_once_by_the_queue_or_the_timer(
    tmp_path, operation, after
):
    world, services, clock, board = a_request_and_its_board(tmp_path)
    world.faults.add(operation, ExternalUnavailable("down"), after=after)
    clock.at = paris(ASKED)
    ask_client.ask(world_request(world), CASEY, {"question": "Which browser?"}, services)
    try:
        if world.queue.messages:
            ask_client.run_asks(world_request(world), services)  # the queued run
    except (ExternalUnavailable, RequestBusy):
        pass  # the queue delivers it again later; the timer is the safety net
    for minutes in (1, 5, 10):
        run(services, clock, ASKED, minutes)
    assert world.faults.injected == 1
    found = outcome(world, board)
    assert found["emails"] == {"ask:1:email": 1}
    assert found["comments"] == {"ask:1:comment": 1}
    assert found["states"] == [WAITING]
    record = world.store.get_request(world_request(world))
    assert ask_client.is_sent(record, 1)


def test_the_timer_wakes_at_the_next_cadence_step_and_the_sla_keeps_its_summary(tmp_path):
    world, services, clock, board = a_request_and_its_board(tmp_path)
    ask(world, services, clock)
    ask_client.run_asks(world_request(world), services)
    run(services, clock, ASKED, 1)
    item = services.follow_ups.item(board.id)
    assert item.next_due_at == paris(DAY_5)
    assert item.summary["cadence"] == {
        "rev": 3,
        "since": paris(ASKED).isoformat(),
        "next": paris(DAY_5).isoformat(),
    }
    assert "sla" in item.summary and "said" in item.summary  # the SLA's own keys, untouched
    assert [i.work_item_id for i in services.follow_ups.due(paris(DAY_5))] == [board.id]
    run(services, clock, DAY_5)
    assert services.follow_ups.item(board.id).next_due_at == paris(DAY_9)
    run(services, clock, DAY_10)
    assert services.follow_ups.item(board.id).summary["cadence"]["next"] is None  # all said
    run(services, clock, DAY_10, 5)  # the closing's change swept: no wait any more
    closed = services.follow_ups.item(board.id)
    assert closed.summary["cadence"] is None
    assert closed.next_due_at is None or closed.next_due_at > paris(DAY_10)


def test_a_new_question_during_the_wait_starts_the_cadence_over_from_it(tmp_path):
    world, services, clock, board = a_request_and_its_board(tmp_path)
    ask(world, services, clock)
    ask_client.run_asks(world_request(world), services)
    run(services, clock, ASKED, 1)
    again = "2026-12-18 15:00"  # Day 4 of the first wait: a new question
    clock.at = paris(again)
    ask_client.ask(world_request(world), CASEY, {"question": "And which version?"}, services)
    ask_client.run_asks(world_request(world), services)
    run(services, clock, again, 1)
    steps = cadence(world.settings.business_calendar, paris(again), (5, 9, 10))
    item = services.follow_ups.item(board.id)
    assert item.next_due_at == steps[0].at > paris(DAY_5)
    assert item.summary["cadence"]["since"] == paris(again).isoformat()
    run(services, clock, DAY_5)  # the first wait's Day 5: nothing now
    assert [e.key for e in world.mailer.sent if "cadence" in e.key] == []
    for step in steps:
        for minutes in (0, 0, 5):
            clock.at = step.at + timedelta(minutes=minutes)
            run_follow_up(services)
    found = outcome(world, board)
    assert found["emails"] == {
        "ask:1:email": 1,
        "ask:2:email": 1,
        "cadence:1:3.2:5": 1,
        "cadence:1:3.2:9": 1,
        "cadence:1:3.2:10:email": 1,
    }
    assert found["states"] == [WAITING, CLOSED] and found["resolution"] == "No response"
    (day_5,) = [e for e in world.mailer.sent if e.key.endswith("cadence:1:3.2:5")]
    assert "And which version?" in day_5.text and "Which browser?" not in day_5.text
