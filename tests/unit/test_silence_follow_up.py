"""On Hold relaunches and weekly updates (intake/silence_follow_up.py) over fake ports: each at
its instant, once, in business hours; the item's next due instant shared with the SLA's; faults
and crashes at the email, the comment and the thread note lose nothing and repeat nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake import follow_up, silence_follow_up
from intake.due_instants import SLA, with_due
from intake.errors import ExternalError
from tests.faults.matrix import WorkerCrash
from tests.follow_up_scene import FAULTS, RequestAfterIntake

OURS = ("relaunch:", "weekly:")


class Scene(RequestAfterIntake):
    """The request, with the fake mailer on the test's clock too."""

    def __init__(self, world: Any, **settings: Any) -> None:
        world.mailer.clock = lambda: self.now.timestamp()
        super().__init__(world, **settings)

    def at(self, when: datetime) -> list[str]:
        """Run the timer at ``when``; the relaunch and weekly keys it said."""
        self.now = when
        said = follow_up.run_follow_up(self.services).said
        return [key for key in said if key.startswith(OURS)]

    def news(self) -> list[str]:
        return [e.subject for e in self.to_client()[self.sent_by_intake :]]

    def notes(self) -> list[dict[str, Any]]:
        return [p for p in self.world.channel.posts if p["key"].startswith(OURS)]

    def comments(self) -> list[Any]:
        return [c for c in self.world.work_items.comments.get(1, []) if "#client" in c.html]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def scene(world):
    return Scene(world)


def test_a_request_on_hold_is_relaunched_after_21_days_once_then_every_21_days(scene):
    scene.at(utc("2026-12-09T10:00"))  # Wed
    scene.person_moves("On Hold")
    scene.at(utc("2026-12-09T10:10"))
    assert scene.news() == ["Your request is now: Waiting for information [#1]"]
    assert scene.follow_ups.item(1).next_due_at <= utc("2026-12-30T10:00")
    assert scene.at(utc("2026-12-30T09:59")) == []
    said = scene.at(utc("2026-12-30T10:00"))
    assert said == [f"relaunch:1:3:1:{part}" for part in ("comment", "email", "note")]
    assert scene.news()[1:] == ["We are waiting for your information [#1]"]
    (comment,) = scene.comments()
    assert comment.html.startswith("<p>#client We are still waiting")
    assert "Wednesday 9 December 2026" in comment.html
    (note,) = scene.notes()
    assert note["reply_to"] is not None  # in the triage thread
    assert [m.name for m in note["mentions"]] == ["Casey Coordinator"]
    assert "relaunch 1 of 3 sent to the client" in note["text"]
    assert scene.at(utc("2026-12-30T10:05")) == []  # a second run adds nothing
    record = scene.services.store.get_request(scene.request_id)
    assert record.steps["relaunch:1:3:1:email"]["client_email"]["subject"].startswith("We are")
    assert scene.follow_ups.item(1).next_due_at == utc("2027-01-20T10:00")
    assert scene.at(utc("2027-01-20T10:00"))[-1] == "relaunch:1:3:2:note"
    assert len(scene.news()) == 3 and len(scene.comments()) == 2 and len(scene.notes()) == 2


def test_past_the_last_relaunch_only_the_coordinator_is_told(world):
    scene = Scene(world, max_relaunches=1)
    scene.at(utc("2026-12-09T10:00"))
    scene.person_moves("On Hold")
    scene.at(utc("2026-12-30T10:00"))
    assert scene.at(utc("2027-01-20T10:00")) == ["relaunch:1:3:2:note"]
    assert len(scene.comments()) == 1 and scene.news()[-1].startswith("We are waiting")
    assert "never closed" in scene.notes()[-1]["text"]
    assert scene.state == "On Hold"  # never closes


def test_a_relaunch_due_on_a_saturday_goes_out_at_monday_s_opening(scene):
    scene.at(utc("2026-12-12T11:00"))  # Sat: relaunch Sat 2 Jan -> Mon 4 Jan 09:00
    scene.person_moves("On Hold")
    scene.at(utc("2026-12-12T11:10"))
    assert scene.at(utc("2027-01-02T11:00")) == []
    assert scene.at(utc("2027-01-04T09:00"))[-1] == "relaunch:1:3:1:note"


def test_a_timer_down_for_weeks_says_only_the_latest_relaunch(scene):
    scene.at(utc("2026-12-09T10:00"))
    scene.person_moves("On Hold")
    assert scene.at(utc("2027-01-21T10:00"))[-1] == "relaunch:1:3:2:note"
    assert len(scene.notes()) == 1


def test_leaving_on_hold_stops_the_relaunches_and_entering_again_starts_over(scene):
    scene.at(utc("2026-12-09T10:00"))
    scene.person_moves("On Hold")
    scene.at(utc("2026-12-20T10:00"))
    scene.person_moves("Active")
    scene.at(utc("2026-12-21T10:00"))
    scene.person_moves("On Hold")
    assert scene.at(utc("2026-12-30T10:00")) == []
    assert scene.at(utc("2027-01-11T10:00"))[-1] == "relaunch:1:5:1:note"


def test_the_weekly_update_after_seven_days_of_silence_once(scene):
    # The last message: "being triaged", Mon 7 Dec 09:00.
    assert scene.at(utc("2026-12-14T08:59")) == []
    said = scene.at(utc("2026-12-14T09:00"))
    assert "weekly:1:20261207T090000Z" in said
    (update,) = scene.to_client()[scene.sent_by_intake :]
    assert update.subject == "No news yet on your request: Being triaged [#1]"
    assert "#1" in update.text and "nothing new to report yet" in update.text
    assert "/status/" in update.text
    assert scene.at(utc("2026-12-14T09:05")) == []
    assert scene.follow_ups.item(1).next_due_at <= utc("2026-12-21T09:00")
    scene.at(utc("2026-12-21T09:00"))
    assert scene.news() == ["No news yet on your request: Being triaged [#1]"] * 2


def test_a_message_to_the_client_restarts_the_week(scene):
    scene.at(utc("2026-12-10T10:00"))
    scene.person_moves("Active")  # emailed after the merge window: the new last message
    scene.at(utc("2026-12-10T10:10"))
    assert scene.at(utc("2026-12-14T09:00")) == []
    assert scene.at(utc("2026-12-17T10:10")) == ["weekly:1:20261210T101000Z"]
    assert scene.news()[-1] == "No news yet on your request: In progress [#1]"


@pytest.mark.parametrize("state", ["On Hold", "Waiting on Client", "Closed", "Done"])
def test_no_weekly_update_while_the_client_owes_us_or_the_request_is_over(scene, state):
    scene.at(utc("2026-12-08T10:00"))
    scene.person_moves(state)
    scene.at(utc("2026-12-08T10:10"))
    for day in range(9, 29):
        scene.at(utc(f"2026-12-{day:02d}T17:00"))
    assert [n for n in scene.news() if n.startswith("No news")] == []


def test_remind_asks_the_coordinator_each_week_instead(world):
    scene = Scene(world, weekly_update="remind")
    assert scene.at(utc("2026-12-14T09:00"))[-1] == "weekly:1:20261207T090000Z"
    assert scene.at(utc("2026-12-15T09:00")) == []
    assert scene.at(utc("2026-12-21T09:00"))[-1] == "weekly:1:20261207T090000Z:2"
    assert [n["mentions"][0].name for n in scene.notes()] == ["Casey Coordinator"] * 2
    assert "please write them an update" in scene.notes()[0]["text"]
    assert scene.news() == []


def test_off_says_nothing(world):
    scene = Scene(world, weekly_update="off")
    scene.at(utc("2026-12-14T09:00"))
    scene.at(utc("2026-12-21T09:00"))
    assert scene.news() == [] and scene.notes() == []


def test_the_sla_s_next_instant_is_kept_and_this_module_s_added(scene):
    scene.at(utc("2026-12-07T09:10"))
    item = scene.follow_ups.item(1)
    sla_next = utc("2026-12-08T12:00")
    scene.follow_ups.save_item(with_due(item, SLA, sla_next))  # as the SLA writes it
    silence_follow_up.schedule(scene.follow_ups, 1, utc("2026-12-14T09:00"))
    assert scene.follow_ups.item(1).next_due_at == sla_next
    silence_follow_up.schedule(scene.follow_ups, 1, utc("2026-12-08T09:00"))
    assert scene.follow_ups.item(1).next_due_at == utc("2026-12-08T09:00")
    silence_follow_up.schedule(scene.follow_ups, 1, utc("2026-12-15T09:00"))
    assert scene.follow_ups.item(1).next_due_at == sla_next
    scene.follow_ups.save_item(with_due(scene.follow_ups.item(1), SLA, None))  # SLA: nothing
    assert scene.follow_ups.item(1).next_due_at == utc("2026-12-15T09:00")
    silence_follow_up.schedule(scene.follow_ups, 1, None)
    assert scene.follow_ups.item(1).next_due_at is None


def test_a_change_stays_due_until_the_run_s_follow_ups_have_all_looked_at_it(scene):
    scene.at(utc("2026-12-09T10:00"))
    scene.person_moves("On Hold")
    follow_up.refresh(1, scene.services, utc("2026-12-09T10:01"))  # a run that then died
    assert scene.follow_ups.item(1).next_due_at == utc("2026-12-09T10:01")
    scene.follow_ups.forget_changed(scene.follow_ups.changed())  # ... after forgetting it
    scene.at(utc("2026-12-09T10:05"))  # the next run looks again
    assert scene.follow_ups.item(1).next_due_at == utc("2026-12-30T10:00")


# --- faults: 0 lost, 0 duplicates ------------------------------------------------------------
CASES = [
    (operation, kind)
    for operation in ("send", "add_comment", "reply", "find_sent")
    for kind in sorted(FAULTS)
    if operation != "find_sent" or not FAULTS[kind][1]
]


def run_timers(scene: Scene, start: datetime, runs: int) -> None:
    """The timer every 5 minutes; a run that fails or dies is followed by the next one."""
    for index in range(runs):
        try:
            scene.at(start + timedelta(minutes=5 * index))
        except (WorkerCrash, ExternalError):
            pass


@pytest.mark.parametrize(("operation", "kind"), CASES)
def test_faults_at_the_relaunch_lose_and_repeat_nothing(world, operation, kind):
    scene = Scene(world)
    scene.at(utc("2026-12-09T10:00"))
    scene.person_moves("On Hold")
    scene.at(utc("2026-12-09T10:10"))
    make, after = FAULTS[kind]
    world.faults.add(operation, make(), after=after)
    run_timers(scene, utc("2026-12-30T10:00"), 8)  # past the 10-minute intent grace
    assert world.faults.injected == 1, (operation, kind)
    assert scene.news()[1:] == ["We are waiting for your information [#1]"], (operation, kind)
    assert len(scene.comments()) == 1 and len(scene.notes()) == 1, (operation, kind)
    assert all(
        scene.follow_ups.effect(f"relaunch:1:3:1:{part}#done")
        for part in ("comment", "email", "note")
    )


@pytest.mark.parametrize(("operation", "kind"), [c for c in CASES if c[0] != "add_comment"])
def test_faults_at_the_weekly_update_lose_and_repeat_nothing(world, operation, kind):
    scene = Scene(world, weekly_update="remind" if operation == "reply" else "email")
    make, after = FAULTS[kind]
    world.faults.add(operation, make(), after=after)
    run_timers(scene, utc("2026-12-14T09:00"), 8)
    assert world.faults.injected == 1, (operation, kind)
    if operation == "reply":
        assert [n["key"] for n in scene.notes()] == ["weekly:1:20261207T090000Z"]
    else:
        assert scene.news() == ["No news yet on your request: Being triaged [#1]"]


def test_an_item_cached_before_due_by_keeps_the_sla_s_instant():
    from intake.models import TrackedItem

    old = TrackedItem(1, "r", next_due_at=utc("2026-12-08T12:00"))  # only the SLA wrote it
    item = with_due(old, "silence", utc("2026-12-20T09:00"))
    assert item.next_due_at == utc("2026-12-08T12:00")
    assert with_due(item, SLA, None).next_due_at == utc("2026-12-20T09:00")
    assert with_due(with_due(item, SLA, None), "silence", None).next_due_at is None
