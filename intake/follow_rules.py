"""When the follow-ups of issue 15 fall due: the non-responsive cadence, the On Hold relaunch
and the weekly update. Pure: no I/O, no clock; every instant in and out is aware (results in
UTC) and every day count goes through the business calendar (``intake.calendar``).

- **Cadence** (Banno, "waiting on client"): Day 1 is the business day the wait starts, at the
  instant it starts; a wait that starts outside business hours starts at the next opening
  (a night, a weekend, a holiday, the lunch break). Day k is the (k-1)-th business day after
  Day 1 at the same local wall-clock time (DST moves the UTC offset, not the time). Days are
  configurable (default 5: a second request, 9: the last one, 10: closed).
- **On Hold relaunch** (Talend): every ``every_days`` calendar days (default 21) on the local
  wall clock from when the item went On Hold; the first ``max_relaunches`` (default 3) ask
  the client, later ones tell the coordinator only. Counted from the start, not from the
  previous relaunch, so a relaunch delayed by a weekend does not delay the next one.
- **Weekly update** (Banno): ``every_days`` calendar days (default 7) on the local wall clock
  after the last message the client received.

Whatever is said goes out in business hours: an instant outside them moves to the next
opening (a Day k landing on a short Friday afternoon, a relaunch on a Saturday).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from intake.calendar import BusinessCalendar

DEFAULT_CADENCE_DAYS = (5, 9, 10)
ON_HOLD_RELAUNCH_DAYS = 21
MAX_RELAUNCHES = 3
WEEKLY_UPDATE_DAYS = 7


@dataclass(frozen=True)
class CadenceStep:
    """Day ``day`` of a wait on the client, due ``at`` (UTC); ``closes``: the last day, when
    the request is closed for no response."""

    day: int
    at: datetime
    closes: bool


@dataclass(frozen=True)
class Relaunch:
    """The ``number``-th relaunch of an On Hold request, due ``at`` (UTC); ``to_client``:
    within the allowed relaunches (else the coordinator only is told)."""

    number: int
    at: datetime
    to_client: bool


# --- the non-responsive cadence ----------------------------------------------------------


def cadence_start(calendar: BusinessCalendar, started: datetime) -> datetime:
    """Day 1's instant (UTC): ``started`` when the office is open, else the next opening."""
    return calendar.next_opening(started)


def cadence(
    calendar: BusinessCalendar,
    started: datetime,
    days: Sequence[int] = DEFAULT_CADENCE_DAYS,
) -> tuple[CadenceStep, ...]:
    """Every step of the cadence of a wait that started at ``started``, in order."""
    _check_days(days)
    day_one = calendar.local(cadence_start(calendar, started))
    return tuple(
        CadenceStep(
            day=day,
            at=_in_hours(calendar, _same_wall_time(calendar, day_one, day - 1)),
            closes=day == days[-1],
        )
        for day in days
    )


def cadence_due(
    calendar: BusinessCalendar,
    started: datetime,
    now: datetime,
    days: Sequence[int] = DEFAULT_CADENCE_DAYS,
) -> tuple[CadenceStep, ...]:
    """The steps due at ``now`` or before (each to be said once: the caller's effect key)."""
    return tuple(step for step in cadence(calendar, started, days) if step.at <= now)


def next_cadence_step(
    calendar: BusinessCalendar,
    started: datetime,
    now: datetime,
    days: Sequence[int] = DEFAULT_CADENCE_DAYS,
) -> CadenceStep | None:
    """The first step after ``now``, or None when the cadence is over."""
    return next((s for s in cadence(calendar, started, days) if s.at > now), None)


# --- On Hold relaunches --------------------------------------------------------------------


def relaunch(
    calendar: BusinessCalendar,
    on_hold_since: datetime,
    number: int,
    *,
    every_days: int = ON_HOLD_RELAUNCH_DAYS,
    max_relaunches: int = MAX_RELAUNCHES,
) -> Relaunch:
    """The ``number``-th relaunch (1 first) of a request On Hold since ``on_hold_since``."""
    if number < 1:
        raise ValueError("relaunches are numbered from 1")
    if every_days < 1:
        raise ValueError("relaunches must be at least one day apart")
    if max_relaunches < 0:
        raise ValueError("the number of relaunches to the client cannot be negative")
    wall = _wall_clock_plus(calendar, on_hold_since, every_days * number)
    return Relaunch(number, _in_hours(calendar, wall), to_client=number <= max_relaunches)


def relaunches_due(
    calendar: BusinessCalendar,
    on_hold_since: datetime,
    now: datetime,
    *,
    every_days: int = ON_HOLD_RELAUNCH_DAYS,
    max_relaunches: int = MAX_RELAUNCHES,
) -> tuple[Relaunch, ...]:
    """Every relaunch due at ``now`` or before, first first."""
    due: list[Relaunch] = []
    while True:
        step = relaunch(
            calendar,
            on_hold_since,
            len(due) + 1,
            every_days=every_days,
            max_relaunches=max_relaunches,
        )
        if step.at > now:
            return tuple(due)
        due.append(step)


def next_relaunch(
    calendar: BusinessCalendar,
    on_hold_since: datetime,
    now: datetime,
    *,
    every_days: int = ON_HOLD_RELAUNCH_DAYS,
    max_relaunches: int = MAX_RELAUNCHES,
) -> Relaunch:
    """The first relaunch after ``now`` (there is always one: On Hold never closes)."""
    done = relaunches_due(
        calendar, on_hold_since, now, every_days=every_days, max_relaunches=max_relaunches
    )
    return relaunch(
        calendar,
        on_hold_since,
        len(done) + 1,
        every_days=every_days,
        max_relaunches=max_relaunches,
    )


# --- the weekly update ---------------------------------------------------------------------


def weekly_update_at(
    calendar: BusinessCalendar, last_client_message: datetime, *, every_days: int = 7
) -> datetime:
    """When the client is owed an update: ``every_days`` calendar days on the local wall
    clock after the last message they received, moved into business hours."""
    if every_days < 1:
        raise ValueError("the update interval must be at least one day")
    return _in_hours(calendar, _wall_clock_plus(calendar, last_client_message, every_days))


# --- helpers ------------------------------------------------------------------------------


def _check_days(days: Sequence[int]) -> None:
    if not days:
        raise ValueError("the cadence needs at least one day")
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in days):
        raise ValueError("cadence days are whole numbers from 1")
    if list(days) != sorted(set(days)):
        raise ValueError("cadence days must increase")


def _same_wall_time(calendar: BusinessCalendar, local: datetime, business_days: int) -> datetime:
    """The local wall-clock time of ``local`` on the ``business_days``-th business day after
    its date (UTC)."""
    day = calendar.add_business_days(local.date(), business_days)
    return _at_wall_time(calendar, day, local)


def _wall_clock_plus(calendar: BusinessCalendar, t: datetime, days: int) -> datetime:
    """``t`` plus ``days`` calendar days on the calendar's local wall clock (UTC)."""
    local = calendar.local(t)
    return _at_wall_time(calendar, local.date() + timedelta(days=days), local)


def _at_wall_time(calendar: BusinessCalendar, day: date, local: datetime) -> datetime:
    """Local ``day`` at ``local``'s wall-clock time (UTC; DST as the calendar's ``at_local``)."""
    minute = local.hour * 60 + local.minute
    rest = timedelta(seconds=local.second, microseconds=local.microsecond)
    return calendar.at_local(day, minute) + rest


def _in_hours(calendar: BusinessCalendar, t: datetime) -> datetime:
    return calendar.next_opening(t)
