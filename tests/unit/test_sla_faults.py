"""The fault matrix for the follow-up's operations: the updates read, the thread reply, the
escalation email and the digest post fail before or after the remote side acted; the runs
that follow lose nothing and say nothing twice (where the channel can tell, see docs/sla.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from intake.adapters.local_follow_ups import SqliteFollowUps
from intake.adapters.sqlite_db import Database
from intake.config import Settings
from intake.errors import ExternalUnavailable
from intake.follow_up import run_follow_up
from intake.models import Request, RequestRecord, Step, WorkItemDraft, WorkItemRef
from intake.sla_follow_up import INTENT_GRACE
from tests.fakes import FakeWorld
from tests.unit.test_sla import MORGAN, History, paris
from tests.unit.test_sla_ladder import PARIS as CALENDAR

PARIS_JSON = (
    '{"timezone": "Europe/Paris", "holidays": ["2026-12-25"], "week": {'
    + ", ".join(f'"{d}": [["09:00", "18:00"]]' for d in ("mon", "tue", "wed", "thu", "fri"))
    + "}}"
)
# A Critical request created Mon 14 Dec 10:00 Paris: warning Tue 14:30, breach Wed 10:00,
# escalation Thu 10:00; the digest at 09:30, 13:30 and 17:00.
WARN, BREACH, ESCALATE = "2026-12-15 14:30", "2026-12-16 10:00", "2026-12-17 10:00"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def a_request_after_its_intake(
    world: FakeWorld, received_at: datetime, *, title: str, severity: str
) -> WorkItemRef:
    """Request 00000000000000aa recorded with its work item and its triage card posted."""
    ref = world.work_items.create(WorkItemDraft("Issue", title, ""), key="00000000000000aa")
    thread = world.channel.post_card({}, key="card")
    request = Request(
        id="00000000000000aa",
        form_id="f",
        response_id="1",
        title=title,
        severity=severity,
        client_name="Jordan",
        client_email="jordan@fabrikam.example",
        received_at=received_at,
    )
    steps = {
        Step.CREATE_WORK_ITEM.value: {"work_item_id": ref.id, "url": ref.url},
        Step.POST_TRIAGE_CARD.value: {
            "conversation_id": thread.conversation_id,
            "activity_id": thread.activity_id,
        },
    }
    world.store.add_request(RequestRecord(request=request, steps=steps))
    return ref


def world_with_a_request(tmp_path, *, keyed: bool = True):
    clock = Clock(paris("2026-12-14 10:00"))
    settings = Settings(
        data_dir=tmp_path / "data",
        calendar=PARIS_JSON,
        escalation_emails=["boss@contoso.example"],
        sla_digest_times=["09:30"],
    )
    world = FakeWorld(settings, clock=clock)
    world.channel.keyed = keyed
    ref = a_request_after_its_intake(world, clock.at, title="Down", severity="Critical")
    history = History().add(
        "2026-12-14 10:00",
        state="New",
        severity="Critical",
        **{"System.Tags": {"newValue": "intake; intake-00000000000000aa"}},
    )
    history.add("2026-12-14 10:05", by=MORGAN, comment="seen")  # the first response
    world.work_items.history[ref.id] = history.updates
    world.work_items.changed_at[ref.id] = clock.at
    follow_ups = SqliteFollowUps(Database(tmp_path / "follow.db"), clock=clock)
    services = replace(world.services, follow_ups=follow_ups)
    return world, services, clock


def run_at(services, clock: Clock, when: datetime, *, fails: bool = False) -> None:
    clock.at = when
    if fails:
        with pytest.raises(ExternalUnavailable):
            run_follow_up(services)
    else:
        run_follow_up(services)


def said(world) -> list[str]:
    keys = [p["key"] for p in world.channel.posts] + [e.key for e in world.mailer.sent]
    return sorted(k for k in keys if not k.startswith("digest:"))


def test_an_updates_read_that_fails_is_read_again_by_the_next_run(tmp_path):
    world, services, clock = world_with_a_request(tmp_path)
    world.faults.add("updates", ExternalUnavailable("DevOps is down"))
    run_at(services, clock, paris("2026-12-14 10:10"), fails=True)
    run_at(services, clock, paris("2026-12-14 10:15"))
    assert services.follow_ups.item(1) is not None
    run_at(services, clock, paris(WARN))
    assert said(world) == ["sla:1:1:warn"]


@pytest.mark.parametrize("after", [False, True], ids=["before-accepted", "after-accepted"])
@pytest.mark.parametrize(
    ("operation", "at", "key"),
    [
        ("reply", WARN, "sla:1:1:warn"),
        ("reply", BREACH, "sla:1:1:breach"),
        ("send", ESCALATE, "sla:1:1:escalate"),
    ],
)
def test_a_message_that_fails_is_said_once_by_a_later_run(tmp_path, operation, at, key, after):
    world, services, clock = world_with_a_request(tmp_path)
    run_at(services, clock, paris("2026-12-14 10:10"))  # cached
    previous = said(world)
    world.faults.add(operation, ExternalUnavailable("flaky"), after=after)
    moment = paris(at)
    # The failing run records the intent; the item stays due.
    clock.at = moment
    run_follow_up(services)  # the item's failure is logged, the run goes on
    # Within the grace the intent belongs to the run that claimed it: nothing is said.
    run_at(services, clock, moment + timedelta(minutes=5))
    assert [k for k in said(world) if k not in previous] == ([key] if after else [])
    run_at(services, clock, moment + INTENT_GRACE + timedelta(minutes=5))
    assert [k for k in said(world) if k not in previous] == [key]
    run_at(services, clock, moment + INTENT_GRACE + timedelta(minutes=10))
    assert said(world).count(key) == 1


def test_the_bot_connector_cannot_tell_a_reply_went_so_that_crash_can_say_it_twice(tmp_path):
    # The Teams adapter's channel has no key to look up: a crash after Teams accepted the
    # reply and before "#done" was recorded shows the reply twice (docs/sla.md measures the
    # window: one store write).
    world, services, clock = world_with_a_request(tmp_path, keyed=False)
    run_at(services, clock, paris("2026-12-14 10:10"))
    world.faults.add("reply", ExternalUnavailable("crash"), after=True)
    run_at(services, clock, paris(WARN))
    run_at(services, clock, paris(WARN) + INTENT_GRACE + timedelta(minutes=5))
    assert said(world) == ["sla:1:1:warn", "sla:1:1:warn"]


@pytest.mark.parametrize("after", [False, True], ids=["before-accepted", "after-accepted"])
def test_a_digest_post_that_fails_is_posted_once(tmp_path, after):
    world, services, clock = world_with_a_request(tmp_path)
    run_at(services, clock, paris("2026-12-14 10:10"))
    world.faults.add("post", ExternalUnavailable("flaky"), after=after)
    run_at(services, clock, paris("2026-12-15 09:30"))
    run_at(services, clock, paris("2026-12-15 09:45"))
    run_at(services, clock, paris("2026-12-15 09:50"))
    digests = [p["key"] for p in world.channel.posts if p["key"].startswith("digest:")]
    # Monday's 09:30 slot went out late at 10:10 (the first run), once; Tuesday's once.
    assert digests == ["digest:2026-12-14:09:30", "digest:2026-12-15:09:30"]
    assert CALENDAR.is_business_day(paris("2026-12-15 09:30").date())
