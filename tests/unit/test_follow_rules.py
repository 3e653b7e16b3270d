"""Table tests of the follow-up rules (issue 15) over business calendars: the non-responsive
cadence, the On Hold relaunch and the weekly update, with holidays, weekends, DST changes, and
waits started at night, on a Saturday, before opening and in a lunch break."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.calendar import BusinessCalendar
from intake.follow_rules import (
    cadence,
    cadence_due,
    cadence_start,
    next_cadence_step,
    next_relaunch,
    relaunch,
    relaunches_due,
    weekly_update_at,
)

PARIS = ZoneInfo("Europe/Paris")
OFFICE = [["09:00", "18:00"]]
WEEK = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), OFFICE)
# The issue's calendar: Europe/Paris, Monday to Friday 09:00-18:00, holiday Monday 7 December.
CAL = BusinessCalendar.from_dict(
    {"timezone": "Europe/Paris", "week": WEEK, "holidays": ["2026-12-07"]}
)
CHRISTMAS = BusinessCalendar.from_dict(
    {
        "timezone": "Europe/Paris",
        "week": WEEK,
        "holidays": ["2026-12-07", "2026-12-25", "2027-01-01"],
    }
)
LUNCH = BusinessCalendar.from_dict(
    {
        "timezone": "Europe/Paris",
        "week": {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in WEEK},
    }
)
SHORT_FRIDAY = BusinessCalendar.from_dict(
    {"timezone": "Europe/Paris", "week": {**WEEK, "fri": [["09:00", "16:00"]]}}
)


def paris(text: str) -> datetime:
    """A local Paris wall-clock time, e.g. "2026-12-01 11:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def shown(t: datetime) -> str:
    """A UTC result as Paris local time with its offset, to compare with the issue's words."""
    return t.astimezone(PARIS).strftime("%a %Y-%m-%d %H:%M %z")


# --- the cadence ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "started", "expected"),
    [
        # The issue's example: waiting from Tue 1 Dec 11:00, holiday Mon 7 Dec.
        (
            CAL,
            "2026-12-01 11:00",
            [
                "Tue 2026-12-08 11:00 +0100",
                "Mon 2026-12-14 11:00 +0100",
                "Tue 2026-12-15 11:00 +0100",
            ],
        ),
        # Started on a Saturday: Day 1 is Tuesday (Monday is the holiday) at the opening.
        (
            CAL,
            "2026-12-05 10:00",
            [
                "Mon 2026-12-14 09:00 +0100",
                "Fri 2026-12-18 09:00 +0100",
                "Mon 2026-12-21 09:00 +0100",
            ],
        ),
        # Started at night: Day 1 is the next morning at the opening.
        (
            CAL,
            "2026-12-03 20:00",
            [
                "Fri 2026-12-11 09:00 +0100",
                "Thu 2026-12-17 09:00 +0100",
                "Fri 2026-12-18 09:00 +0100",
            ],
        ),
        # Started before the opening of a business day: that day, at the opening.
        (
            CAL,
            "2026-12-01 07:30",
            [
                "Tue 2026-12-08 09:00 +0100",
                "Mon 2026-12-14 09:00 +0100",
                "Tue 2026-12-15 09:00 +0100",
            ],
        ),
        # Started exactly at closing time: outside hours (windows are half-open).
        (
            CAL,
            "2026-12-01 18:00",
            [
                "Wed 2026-12-09 09:00 +0100",
                "Tue 2026-12-15 09:00 +0100",
                "Wed 2026-12-16 09:00 +0100",
            ],
        ),
        # Across Christmas and New Year's Day.
        (
            CHRISTMAS,
            "2026-12-21 14:15",
            [
                "Mon 2026-12-28 14:15 +0100",
                "Mon 2027-01-04 14:15 +0100",
                "Tue 2027-01-05 14:15 +0100",
            ],
        ),
        # DST starts Sun 28 Mar 2027: the local time is kept, the UTC offset moves.
        (
            CAL,
            "2027-03-24 11:00",
            [
                "Tue 2027-03-30 11:00 +0200",
                "Mon 2027-04-05 11:00 +0200",
                "Tue 2027-04-06 11:00 +0200",
            ],
        ),
        # DST ends Sun 25 Oct 2026.
        (
            CAL,
            "2026-10-21 16:45",
            [
                "Tue 2026-10-27 16:45 +0100",
                "Mon 2026-11-02 16:45 +0100",
                "Tue 2026-11-03 16:45 +0100",
            ],
        ),
        # In the lunch break: Day 1 starts when the office opens again, at 13:00.
        (
            LUNCH,
            "2026-12-01 12:30",
            [
                "Mon 2026-12-07 13:00 +0100",
                "Fri 2026-12-11 13:00 +0100",
                "Mon 2026-12-14 13:00 +0100",
            ],
        ),
    ],
)
def test_the_cadence_days(calendar, started, expected):
    steps = cadence(calendar, paris(started))
    assert [shown(s.at) for s in steps] == expected
    assert [s.day for s in steps] == [5, 9, 10]
    assert [s.closes for s in steps] == [False, False, True]
    assert all(s.at.tzinfo == UTC for s in steps)


def test_the_issue_example_in_utc():
    day5, day9, day10 = cadence(CAL, paris("2026-12-01 11:00"))
    assert day5.at == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert day9.at == datetime(2026, 12, 14, 10, 0, tzinfo=UTC)
    assert day10.at == datetime(2026, 12, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("started", "day_one"),
    [
        ("2026-12-01 11:00", "Tue 2026-12-01 11:00 +0100"),  # open: the instant itself
        ("2026-12-04 18:30", "Tue 2026-12-08 09:00 +0100"),  # Friday evening, holiday Monday
        ("2026-12-06 23:59", "Tue 2026-12-08 09:00 +0100"),  # Sunday night
        ("2026-12-07 10:00", "Tue 2026-12-08 09:00 +0100"),  # on the holiday itself
    ],
)
def test_day_one(started, day_one):
    assert shown(cadence_start(CAL, paris(started))) == day_one


def test_the_days_are_configurable():
    steps = cadence(CAL, paris("2026-12-01 11:00"), days=[1, 3, 6])
    assert [(s.day, shown(s.at)) for s in steps] == [
        (1, "Tue 2026-12-01 11:00 +0100"),  # Day 1 is the start itself
        (3, "Thu 2026-12-03 11:00 +0100"),
        (6, "Wed 2026-12-09 11:00 +0100"),
    ]


def test_a_day_landing_after_a_short_day_closes_goes_out_at_the_next_opening():
    # Thursday 17:00; Friday closes at 16:00: Day 2 at 17:00 would be after hours.
    (day2,) = cadence(SHORT_FRIDAY, paris("2026-12-03 17:00"), days=[2])
    assert shown(day2.at) == "Mon 2026-12-07 09:00 +0100"


@pytest.mark.parametrize("days", [[], [0, 5], [5, 5], [9, 5], [1.5]])
def test_nonsense_days_are_refused(days):
    with pytest.raises(ValueError):
        cadence(CAL, paris("2026-12-01 11:00"), days=days)


def test_what_is_due_and_what_comes_next():
    started = paris("2026-12-01 11:00")
    before_day5 = paris("2026-12-08 10:59")
    assert cadence_due(CAL, started, before_day5) == ()
    assert next_cadence_step(CAL, started, before_day5).day == 5
    at_day5 = paris("2026-12-08 11:00")
    assert [s.day for s in cadence_due(CAL, started, at_day5)] == [5]  # due exactly then
    assert next_cadence_step(CAL, started, at_day5).day == 9
    later = paris("2027-01-10 00:00")
    assert [s.day for s in cadence_due(CAL, started, later)] == [5, 9, 10]
    assert next_cadence_step(CAL, started, later) is None


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        cadence(CAL, datetime(2026, 12, 1, 11, 0))


# --- On Hold relaunches ---------------------------------------------------------------------


def test_the_issue_example_of_relaunches():
    since = paris("2026-12-02 10:00")
    steps = [relaunch(CAL, since, n) for n in range(1, 6)]
    assert [shown(s.at) for s in steps] == [
        "Wed 2026-12-23 10:00 +0100",
        "Wed 2027-01-13 10:00 +0100",
        "Wed 2027-02-03 10:00 +0100",
        "Wed 2027-02-24 10:00 +0100",
        "Wed 2027-03-17 10:00 +0100",
    ]
    # Three to the client, then the coordinator only.
    assert [s.to_client for s in steps] == [True, True, True, False, False]


@pytest.mark.parametrize(
    ("calendar", "since", "expected"),
    [
        # Falls on Christmas Day: the next opening; the next one is counted from the start.
        (
            CHRISTMAS,
            "2026-12-04 10:00",
            ["Mon 2026-12-28 09:00 +0100", "Fri 2027-01-15 10:00 +0100"],
        ),
        # On Hold on a Saturday: three weeks later is a Saturday too.
        (CAL, "2026-12-05 11:00", ["Mon 2026-12-28 09:00 +0100", "Mon 2027-01-18 09:00 +0100"]),
        # At night: the same night three weeks later, then the next opening.
        (CAL, "2026-12-02 22:00", ["Thu 2026-12-24 09:00 +0100", "Thu 2027-01-14 09:00 +0100"]),
        # Across the start of DST: 10:00 on the wall clock both times.
        (CAL, "2027-03-10 10:00", ["Wed 2027-03-31 10:00 +0200", "Wed 2027-04-21 10:00 +0200"]),
        # Across its end.
        (CAL, "2026-10-14 09:30", ["Wed 2026-11-04 09:30 +0100", "Wed 2026-11-25 09:30 +0100"]),
    ],
)
def test_relaunch_instants(calendar, since, expected):
    steps = [relaunch(calendar, paris(since), n) for n in (1, 2)]
    assert [shown(s.at) for s in steps] == expected


def test_relaunch_interval_and_count_are_configurable():
    since = paris("2026-12-02 10:00")
    first, second = (relaunch(CAL, since, n, every_days=14, max_relaunches=1) for n in (1, 2))
    assert shown(first.at) == "Wed 2026-12-16 10:00 +0100" and first.to_client
    assert shown(second.at) == "Wed 2026-12-30 10:00 +0100" and not second.to_client


def test_relaunches_due_and_the_next_one():
    since = paris("2026-12-02 10:00")
    assert relaunches_due(CAL, since, paris("2026-12-23 09:59")) == ()
    assert [r.number for r in relaunches_due(CAL, since, paris("2027-01-13 10:00"))] == [1, 2]
    upcoming = next_relaunch(CAL, since, paris("2027-01-13 10:00"))
    assert upcoming.number == 3 and shown(upcoming.at) == "Wed 2027-02-03 10:00 +0100"
    assert next_relaunch(CAL, since, paris("2027-06-01 00:00")).to_client is False


@pytest.mark.parametrize(
    ("number", "options"), [(0, {}), (1, {"every_days": 0}), (1, {"max_relaunches": -1})]
)
def test_nonsense_relaunches_are_refused(number, options):
    with pytest.raises(ValueError):
        relaunch(CAL, paris("2026-12-02 10:00"), number, **options)


# --- the weekly update ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        ("2026-12-01 15:00", "Tue 2026-12-08 15:00 +0100"),
        ("2026-12-11 20:00", "Mon 2026-12-21 09:00 +0100"),  # a Friday evening: Monday
        ("2026-11-30 10:00", "Tue 2026-12-08 09:00 +0100"),  # lands on the holiday
        ("2026-12-05 10:00", "Mon 2026-12-14 09:00 +0100"),  # a Saturday: the Monday after
        ("2026-10-20 10:00", "Tue 2026-10-27 10:00 +0100"),  # across the end of DST
        ("2027-03-23 17:59", "Tue 2027-03-30 17:59 +0200"),  # across its start
    ],
)
def test_the_weekly_update(last, expected):
    assert shown(weekly_update_at(CAL, paris(last))) == expected


def test_the_weekly_interval_is_configurable_and_positive():
    assert shown(weekly_update_at(CAL, paris("2026-12-01 15:00"), every_days=3)) == (
        "Fri 2026-12-04 15:00 +0100"
    )
    with pytest.raises(ValueError):
        weekly_update_at(CAL, paris("2026-12-01 15:00"), every_days=0)


# --- properties -----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@given(started=instants)
def test_every_instant_is_in_business_hours_and_in_order(started):
    steps = cadence(CAL, started)
    assert all(CAL.is_open(s.at) for s in steps)
    assert [s.at for s in steps] == sorted({s.at for s in steps})
    assert steps[0].at > started
    relaunches = [relaunch(CAL, started, n) for n in (1, 2, 3)]
    assert all(CAL.is_open(r.at) for r in relaunches)
    assert relaunches[0].at >= started + timedelta(days=20)
    assert CAL.is_open(weekly_update_at(CAL, started))


@given(started=instants)
def test_a_wait_started_in_hours_keeps_its_wall_clock_time(started):
    if not CAL.is_open(started):
        started = CAL.next_opening(started)
    day5 = cadence(CAL, started)[0]
    assert CAL.local(day5.at).time() == CAL.local(started).time()
    # Four business days in between (Day 1 is the first).
    first, fifth = CAL.local(started).date(), CAL.local(day5.at).date()
    assert len(CAL.business_dates(first, fifth)) == 5
