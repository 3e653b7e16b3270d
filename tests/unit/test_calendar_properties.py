"""Properties of the business calendar (hypothesis): business time is exact arithmetic.

Calendars are drawn too: random zones with DST, random windows (lunch breaks, night shifts up
to 24:00), random holidays. Amounts are whole microseconds (``add_time``) or whole minutes
(``add``), so every equality is exact: no drift is tolerated.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from intake.calendar import BusinessCalendar

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
ONE_US = timedelta(microseconds=1)
PARIS = ZoneInfo("Europe/Paris")


@st.composite
def windows(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    edges = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))
    if len(edges) % 2:
        edges = edges[:-1]
    return tuple((edges[i] * 30, edges[i + 1] * 30) for i in range(0, len(edges), 2))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    week = tuple(draw(windows()) for _ in range(7))
    if not any(week):
        week = (((9 * 60, 18 * 60),),) + week[1:]
    holidays = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2028, 12, 31)), max_size=15))
    return BusinessCalendar(ZoneInfo(draw(st.sampled_from(ZONES))), week, holidays)


instants = st.datetimes(datetime(2026, 1, 1), datetime(2028, 6, 30), timezones=st.just(UTC))


@st.composite
def cases(draw: st.DrawFn, amount_count: int = 1, positive: bool = False) -> tuple:
    """A calendar, a start instant and amounts of business time of up to 20 of its business
    days, in whole microseconds (so a sparse calendar does not draw decades of time)."""
    calendar = draw(calendars())
    most = 20 * calendar.day_minutes * 60_000_000
    amounts = [
        timedelta(microseconds=draw(st.integers(1 if positive else 0, most)))
        for _ in range(amount_count)
    ]
    return (calendar, draw(instants), *amounts)


def on_a_window_or_its_closing_edge(calendar: BusinessCalendar, t: datetime) -> bool:
    return calendar.is_open(t) or calendar.is_open(t - ONE_US)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_between_undoes_add(case: tuple) -> None:
    calendar, start, amount = case
    assert calendar.time_between(start, calendar.add_time(start, amount)) == amount


@settings(max_examples=120, deadline=None)
@given(calendars(), instants, st.integers(0, 20 * 60))
def test_between_undoes_add_in_minutes(calendar: BusinessCalendar, start: datetime, minutes: int):
    assert calendar.between(start, calendar.add(start, minutes)) == minutes


@settings(max_examples=150, deadline=None)
@given(cases(2))
def test_add_is_monotonic(case: tuple) -> None:
    calendar, start, a, b = case
    low, high = sorted((a, b))
    assert calendar.add_time(start, low) <= calendar.add_time(start, high)


@settings(max_examples=150, deadline=None)
@given(cases(2))
def test_adding_twice_is_adding_the_sum(case: tuple) -> None:
    calendar, start, a, b = case
    assert calendar.add_time(calendar.add_time(start, a), b) == calendar.add_time(start, a + b)


@settings(max_examples=150, deadline=None)
@given(cases(positive=True))
def test_a_result_lies_in_a_window_or_on_its_closing_edge(case: tuple) -> None:
    calendar, start, amount = case
    due = calendar.add_time(start, amount)
    assert due > start
    assert on_a_window_or_its_closing_edge(calendar, due)


@settings(max_examples=120, deadline=None)
@given(calendars(), instants, instants, instants)
def test_between_adds_up_over_a_middle_instant(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
):
    first, middle, last = sorted((a, b, c))
    assert calendar.time_between(first, last) == calendar.time_between(
        first, middle
    ) + calendar.time_between(middle, last)
    assert calendar.time_between(last, first) == timedelta(0)


@settings(max_examples=120, deadline=None)
@given(calendars(), instants)
def test_next_opening_is_open_and_nothing_is_open_before_it(
    calendar: BusinessCalendar, t: datetime
):
    opening = calendar.next_opening(t)
    assert calendar.is_open(opening)
    assert opening == t if calendar.is_open(t) else opening > t
    assert calendar.time_between(t, opening) == timedelta(0)


@settings(max_examples=120, deadline=None)
@given(cases())
def test_results_are_utc_and_business_time_is_never_longer_than_real_time(case: tuple) -> None:
    calendar, start, amount = case
    due = calendar.add_time(start, amount)
    assert due.utcoffset() == timedelta(0)
    assert due - start >= amount


# --- across DST: the local time is kept and the offset moves ----------------------------------
OFFICE = BusinessCalendar.from_dict(
    {
        "timezone": "Europe/Paris",
        "week": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    }
)
NEW_YORK = BusinessCalendar.from_dict(
    {
        "timezone": "America/New_York",
        "week": {
            d: [["08:00", "12:00"], ["13:00", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")
        },
    }
)
# Weeks around the 2027 and 2028 changes, both directions, on both sides of the Atlantic.
DST_DAYS = st.sampled_from(
    [date(2027, 3, 22), date(2027, 3, 8), date(2027, 10, 25), date(2027, 10, 29), date(2028, 3, 24)]
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([OFFICE, NEW_YORK]),
    DST_DAYS,
    st.integers(0, 9),
    st.integers(1, 8 * 60 + 29),
    st.integers(1, 12),
)
def test_across_dst_the_local_time_is_kept_and_the_offset_moves(
    calendar: BusinessCalendar, week_of: date, day_offset: int, minute: int, days: int
):
    day = week_of + timedelta(days=day_offset)
    start = calendar.add(calendar.next_opening(calendar.at_local(day, 0)), minute)
    if not (calendar.is_open(start) and calendar.is_open(start - ONE_US)):
        return  # at an opening edge (after New York's lunch break) a due ends the day before
    due = calendar.add(start, calendar.business_days(days))

    local_start, local_due = calendar.local(start), calendar.local(due)
    assert local_due.time() == local_start.time()
    assert local_due.date() == calendar.add_business_days(local_start.date(), days)
    assert local_due.utcoffset() == calendar.timezone.utcoffset(local_due.replace(tzinfo=None))


def test_a_clock_across_the_spring_change_keeps_local_time_and_moves_the_offset():
    start = datetime(2027, 3, 26, 16, 30, tzinfo=PARIS)  # Friday, CET (+01:00)
    due = OFFICE.local(OFFICE.add(start, OFFICE.business_days(2)))
    assert due == datetime(2027, 3, 30, 16, 30, tzinfo=PARIS)
    assert due.utcoffset() == timedelta(hours=2)  # CEST
    assert OFFICE.add(start, OFFICE.business_days(2)) - start == timedelta(days=4, hours=-1)
