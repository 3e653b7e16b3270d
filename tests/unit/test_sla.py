"""The SLA rules, table-tested from DevOps-shaped update histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.calendar import BusinessCalendar
from intake.clock_view import ClockState
from intake.sla import IntakeRecords, SlaPolicy, clock_json, clocks, revisions

PARIS = BusinessCalendar.from_dict(
    {
        "timezone": "Europe/Paris",
        "week": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-12-25", "2027-01-01"],
    }
)
POLICY = SlaPolicy(
    targets={"Critical": 2, "High": 3, "Medium": 10, "Low": None},
    running_states=frozenset({"New", "In Planning"}),
    reset_states=frozenset({"New"}),
    pause_states=frozenset(),
    priority_severity={1: "Critical", 2: "High", 3: "Medium", 4: "Low"},
)
INTAKE = {"id": "intake-id", "displayName": "Intake", "uniqueName": "intake@contoso.example"}
MORGAN = {"id": "morgan-id", "displayName": "Morgan", "uniqueName": "morgan@contoso.example"}


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS.timezone).astimezone(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class History:
    """Builds a work item's updates the way DevOps serves them."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.state: str | None = None

    def add(
        self,
        at: str,
        *,
        state: str | None = None,
        by: dict[str, str] = INTAKE,
        severity: str | None = None,
        comment: str | None = None,
        **extra: Any,
    ) -> History:
        rev = len(self.updates) + 1
        moment = paris(at)
        previous = self.updates[-1]["fields"]["System.ChangedDate"]["newValue"] if rev > 1 else None
        fields: dict[str, Any] = {
            "System.Rev": {"oldValue": rev - 1, "newValue": rev} if rev > 1 else {"newValue": 1},
            "System.ChangedDate": {"oldValue": previous, "newValue": stamp(moment)},
            "System.ChangedBy": {"newValue": by},
            **extra,
        }
        if state is not None:
            fields["System.State"] = {"oldValue": self.state, "newValue": state}
            self.state = state
        if severity is not None:
            fields["Microsoft.VSTS.Common.Severity"] = {"newValue": severity}
        if comment is not None:
            fields["System.History"] = {"newValue": comment}
        if self.updates:
            self.updates[-1]["revisedDate"] = stamp(moment)
        self.updates.append(
            {
                "id": rev,
                "workItemId": 7,
                "rev": rev,
                "revisedBy": by,
                "revisedDate": "9999-01-01T00:00:00Z",
                "fields": fields,
            }
        )
        return self


def critical_example() -> History:
    return (
        History()
        .add("2026-12-14 10:00", state="New", severity="1 - Critical")
        .add("2026-12-14 10:00", state="In Planning")
    )


def at(history: History, now: str, records: IntakeRecords | None = None, cal=PARIS):
    return clocks(history.updates, records or IntakeRecords(), cal, POLICY, paris(now))


def test_the_issue_example_cycle_one_due_wednesday_then_met_on_hold():
    history = critical_example()
    running = at(history, "2026-12-14 11:00").sla
    assert running.state is ClockState.RUNNING and running.cycle == 1
    assert running.due_at == paris("2026-12-16 10:00")
    assert running.target_label == "2 business days"

    history.add("2026-12-15 12:00", state="On Hold", by=MORGAN)
    met = at(history, "2026-12-18 12:00").sla
    assert met.state is ClockState.MET and met.stopped_at == paris("2026-12-15 12:00")
    assert met.breached_at is None


def test_the_issue_example_back_to_new_starts_cycle_two_with_the_full_target():
    history = critical_example().add("2026-12-15 12:00", state="On Hold", by=MORGAN)
    history.add("2026-12-21 14:00", state="New", by=MORGAN)
    cycle_two = at(history, "2026-12-21 15:00").sla
    assert cycle_two.cycle == 2 and cycle_two.state is ClockState.RUNNING
    assert cycle_two.due_at == datetime(2026, 12, 23, 13, 0, tzinfo=UTC)
    assert clock_json(cycle_two) == {
        "state": "running",
        "dueAt": "2026-12-23T13:00:00Z",
        "cycle": 2,
        "breachedAt": None,
        "target": "2 business days",
    }


def test_a_running_clock_past_its_due_instant_is_breached_and_still_ticking():
    view = at(critical_example(), "2026-12-16 10:30").sla
    assert view.state is ClockState.BREACHED and view.ticking
    assert view.breached_at == paris("2026-12-16 10:00") and view.left_minutes == -30


@pytest.mark.parametrize(
    ("then", "state", "breached_at"),
    [
        ("2026-12-16 10:00", ClockState.MET, None),  # exactly the target: met
        ("2026-12-16 11:00", ClockState.BREACHED, "2026-12-16 10:00"),
    ],
)
def test_a_stop_is_met_up_to_the_target_and_breached_after(then, state, breached_at):
    history = critical_example().add(then, state="Accepted", by=MORGAN)
    view = at(history, "2026-12-20 10:00").sla
    assert view.state is state and not view.ticking
    assert view.breached_at == (paris(breached_at) if breached_at else None)


def test_the_triage_decision_stops_the_clock_while_the_state_stays_running():
    records = IntakeRecords(decided_at=paris("2026-12-14 16:00"))
    view = at(critical_example(), "2026-12-17 10:00", records).sla
    assert view.state is ClockState.MET and view.stopped_at == paris("2026-12-14 16:00")


def test_intakes_own_new_to_in_planning_keeps_the_cycle():
    view = at(critical_example(), "2026-12-14 12:00").sla
    assert view.cycle == 1 and view.started_at == paris("2026-12-14 10:00")


def test_a_pause_state_freezes_the_elapsed_time():
    policy = SlaPolicy(**{**POLICY.__dict__, "pause_states": frozenset({"Waiting"})})
    history = critical_example().add("2026-12-14 12:00", state="Waiting", by=MORGAN)
    paused = clocks(history.updates, IntakeRecords(), PARIS, policy, paris("2026-12-15 12:00"))
    assert paused.sla.state is ClockState.PAUSED and paused.sla.elapsed_minutes == 120
    history.add("2026-12-15 09:00", state="In Planning", by=MORGAN)
    resumed = clocks(history.updates, IntakeRecords(), PARIS, policy, paris("2026-12-15 10:00"))
    assert resumed.sla.state is ClockState.RUNNING and resumed.sla.cycle == 1
    # 2 h before the pause, 1,080 min in all: due 16:00 Wednesday.
    assert resumed.sla.due_at == paris("2026-12-16 16:00")


def test_a_severity_change_recomputes_the_target_from_the_same_cycle_start():
    history = critical_example().add("2026-12-14 15:00", by=MORGAN, severity="2 - High")
    view = at(history, "2026-12-14 16:00").sla
    assert view.started_at == paris("2026-12-14 10:00")
    assert view.due_at == paris("2026-12-17 10:00") and view.target_label == "3 business days"


def test_a_change_to_a_severity_without_a_target_cancels_the_cycle():
    history = critical_example().add("2026-12-14 15:00", by=MORGAN, severity="4 - Low")
    view = at(history, "2026-12-18 16:00").sla
    assert view.state is ClockState.CANCELLED and view.stopped_at == paris("2026-12-14 15:00")
    assert not view.ticking


def test_a_low_request_has_no_sla_and_the_form_severity_is_used_without_a_field():
    history = History().add("2026-12-14 10:00", state="New")
    assert at(history, "2026-12-20 10:00", IntakeRecords(severity="Low")).sla.state is (
        ClockState.NONE
    )
    high = at(history, "2026-12-14 11:00", IntakeRecords(severity="high")).sla
    assert high.due_at == paris("2026-12-17 10:00")


def test_the_priority_field_gives_the_severity_when_there_is_no_severity_field():
    history = History().add(
        "2026-12-14 10:00", state="New", **{"Microsoft.VSTS.Common.Priority": {"newValue": 1}}
    )
    assert at(history, "2026-12-14 11:00").sla.due_at == paris("2026-12-16 10:00")


def test_created_in_a_non_running_state_has_no_cycle_until_it_enters_one():
    history = History().add("2026-12-14 10:00", state="On Hold", severity="Critical")
    assert at(history, "2026-12-14 11:00").sla.state is ClockState.NONE
    history.add("2026-12-14 14:00", state="In Planning", by=MORGAN)
    view = at(history, "2026-12-14 15:00").sla
    assert view.cycle == 1 and view.started_at == paris("2026-12-14 14:00")


def test_changes_after_now_are_not_seen():
    history = critical_example().add("2026-12-15 12:00", state="On Hold", by=MORGAN)
    assert at(history, "2026-12-15 11:00").sla.state is ClockState.RUNNING


# --- first response -------------------------------------------------------------------------
def test_first_response_runs_in_business_hours_until_a_person_acts():
    history = critical_example().add("2026-12-14 12:00", comment="Intake's own note")
    running = at(history, "2026-12-14 17:00").first_response
    assert running.state is ClockState.RUNNING and running.target_label == "8 business hours"
    assert running.due_at == paris("2026-12-14 18:00")  # 8 h from Mon 10:00: the closing edge
    history.add("2026-12-14 17:30", by=MORGAN, comment="Looking")
    met = at(history, "2026-12-16 10:00").first_response
    assert met.state is ClockState.MET and met.stopped_at == paris("2026-12-14 17:30")


def test_a_vote_is_a_first_response_and_a_late_one_is_a_breach():
    records = IntakeRecords(vote_times=(paris("2026-12-15 10:00"),))
    late = at(critical_example(), "2026-12-16 10:00", records).first_response
    assert late.state is ClockState.BREACHED and late.breached_at == paris("2026-12-14 18:00")
    assert late.stopped_at == paris("2026-12-15 10:00")


def test_intakes_identity_from_the_records_never_counts():
    bot = {"id": "other-bot", "uniqueName": "bot@contoso.example"}
    history = critical_example().add("2026-12-14 11:00", by=bot, state="In Planning")
    history.add("2026-12-14 11:30", by=bot, comment="automatic")
    records = IntakeRecords(intake_identities=frozenset({"BOT@contoso.example"}))
    assert at(history, "2026-12-14 12:00", records).first_response.state is ClockState.RUNNING


# --- paging ---------------------------------------------------------------------------------
def test_the_same_updates_served_in_two_pages_give_the_same_answer():
    history = critical_example().add("2026-12-15 12:00", state="On Hold", by=MORGAN)
    history.add("2026-12-21 14:00", state="New", by=MORGAN)
    whole = at(history, "2026-12-22 10:00")
    first, second = history.updates[:2], history.updates[2:]
    for pages in (first + second, first + history.updates[1:], second + first):
        assert clocks(pages, IntakeRecords(), PARIS, POLICY, paris("2026-12-22 10:00")) == whole


def test_the_last_revisions_revised_date_is_never_read_as_its_instant():
    history = critical_example()
    assert history.updates[-1]["revisedDate"] == "9999-01-01T00:00:00Z"
    assert revisions(history.updates, POLICY)[-1].at == paris("2026-12-14 10:00")


@settings(max_examples=60, deadline=None)
@given(
    moves=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=6 * 24 * 60),
            st.sampled_from(["New", "In Planning", "On Hold", "Accepted"]),
        ),
        max_size=8,
    ),
    split=st.integers(min_value=0, max_value=9),
    later=st.integers(min_value=0, max_value=20 * 24 * 60),
)
def test_any_history_any_paging_same_clock_and_a_due_instant_inside_business_hours(
    moves, split, later
):
    history = History().add("2026-12-14 10:00", state="New", severity="Critical")
    moment = paris("2026-12-14 10:00")
    for minutes, state in sorted(moves):
        when = paris("2026-12-14 10:00") + timedelta(minutes=minutes)
        moment = max(moment, when)
        history.add(moment.astimezone(PARIS.timezone).strftime("%Y-%m-%d %H:%M"), state=state)
    now = moment + timedelta(minutes=later)
    whole = clocks(history.updates, IntakeRecords(), PARIS, POLICY, now)
    paged = history.updates[split:] + history.updates[: split + 1]
    assert clocks(paged, IntakeRecords(), PARIS, POLICY, now) == whole
    view = whole.sla
    assert view.cycle >= 1
    if view.due_at is not None and view.ticking:
        local = PARIS.local(view.due_at)
        assert PARIS.is_open(view.due_at) or local.strftime("%H:%M") == "18:00"
        assert (view.state is ClockState.BREACHED) == (view.due_at <= now)
