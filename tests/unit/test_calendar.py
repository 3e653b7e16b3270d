"""The business calendar by example: the issue's due dates, edges, days, and the one-line errors
of ``INTAKE_CALENDAR``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.calendar import BusinessCalendar, CalendarError

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def paris(holidays: list[str] | None = None, **week: list[list[str]]) -> BusinessCalendar:
    days = week or {d: [["09:00", "18:00"]] for d in WEEKDAYS}
    return BusinessCalendar.from_dict(
        {"timezone": "Europe/Paris", "week": days, "holidays": holidays or []}
    )


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS)


def test_two_business_days_from_friday_afternoon_skip_the_weekend_and_the_holiday():
    calendar = paris(["2026-12-07"])
    due = calendar.add(at(2026, 12, 4, 16, 30), calendar.business_days(2))
    assert calendar.local(due) == at(2026, 12, 9, 16, 30)
    assert calendar.local(due).tzname() == "CET"
    assert due.tzinfo is UTC


def test_a_clock_started_on_saturday_starts_tuesday_and_is_due_wednesday_at_closing():
    calendar = paris(["2026-12-07"])
    due = calendar.add(at(2026, 12, 5, 10, 0), calendar.business_days(2))
    assert calendar.local(due) == at(2026, 12, 9, 18, 0)  # Wed 18:00, not Thu 09:00
    assert calendar.next_opening(at(2026, 12, 5, 10, 0)) == at(2026, 12, 8, 9, 0)


def test_between_counts_only_window_time_and_is_zero_backwards():
    calendar = paris(["2026-12-07"])
    assert calendar.between(at(2026, 12, 4, 16, 30), at(2026, 12, 9, 16, 30)) == 1080
    assert calendar.between(at(2026, 12, 4, 17, 0), at(2026, 12, 5, 12, 0)) == 60
    assert calendar.between(at(2026, 12, 9, 10, 0), at(2026, 12, 8, 10, 0)) == 0


def test_a_lunch_break_is_not_business_time():
    calendar = paris(**{d: [["09:00", "12:30"], ["13:30", "18:00"]] for d in WEEKDAYS})
    assert calendar.day_minutes == 480
    assert calendar.local(calendar.add(at(2026, 12, 1, 12, 0), 60)) == at(2026, 12, 1, 14, 0)
    assert calendar.local(calendar.add(at(2026, 12, 1, 12, 0), 30)) == at(2026, 12, 1, 12, 30)
    assert not calendar.is_open(at(2026, 12, 1, 13, 0))
    assert calendar.next_opening(at(2026, 12, 1, 13, 0)) == at(2026, 12, 1, 13, 30)


def test_windows_are_half_open():
    calendar = paris()
    assert calendar.is_open(at(2026, 12, 1, 9, 0))
    assert not calendar.is_open(at(2026, 12, 1, 18, 0))
    assert calendar.next_opening(at(2026, 12, 1, 18, 0)) == at(2026, 12, 2, 9, 0)


def test_adding_nothing_returns_the_start_and_negative_amounts_are_refused():
    calendar = paris()
    night = at(2026, 12, 1, 22, 0)
    assert calendar.add(night, 0) == night
    with pytest.raises(ValueError):
        calendar.add(night, -1)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        paris().add(datetime(2026, 12, 1, 10, 0), 10)


def test_fractions_of_a_minute_round_trip_to_the_microsecond():
    calendar = paris()
    start = at(2026, 12, 1, 17, 59, 59, 999_999)
    due = calendar.add(start, 1 / 3)
    assert calendar.time_between(start, due) == timedelta(seconds=20)
    assert calendar.between(start, due) == 1 / 3


def test_a_business_day_is_the_most_common_day_length():
    week = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu")}
    assert paris(**week, fri=[["09:00", "16:00"]]).day_minutes == 540
    assert paris(mon=[["09:00", "12:00"]], tue=[["09:00", "18:00"]]).day_minutes == 540
    assert paris().business_days(2) == 1080


def test_business_days_skip_weekends_and_holidays():
    calendar = paris(["2026-12-25", "2027-01-01"])
    assert calendar.is_business_day(date(2026, 12, 24))
    assert not calendar.is_business_day(date(2026, 12, 25))
    assert not calendar.is_business_day(date(2026, 12, 26))
    assert calendar.add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    assert calendar.add_business_days(date(2026, 12, 26), 1) == date(2026, 12, 28)
    assert calendar.add_business_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert calendar.add_business_days(date(2027, 1, 4), -1) == date(2026, 12, 31)
    assert calendar.add_business_days(date(2026, 12, 24), 0) == date(2026, 12, 24)
    assert calendar.add_business_days(date(2026, 12, 1), 10) == date(2026, 12, 15)


def test_far_apart_instants_are_counted_without_walking_the_days():
    calendar = paris()
    start, end = at(2026, 1, 5, 9, 0), at(2036, 1, 9, 9, 0)  # Mon to Wed, ten years on
    weeks = (end.date() - start.date()).days // 7
    assert calendar.between(start, end) == weeks * 5 * 540 + 2 * 540
    assert calendar.add(start, weeks * 5 * 540 + 2 * 540) == at(2036, 1, 8, 18, 0)


def test_a_window_through_the_night_of_the_dst_change_is_as_long_as_the_clock_says():
    calendar = BusinessCalendar.from_dict(
        {"timezone": "Europe/Paris", "week": {"sun": [["00:00", "24:00"]]}}
    )
    assert calendar.day_minutes == 1440
    spring, autumn = at(2027, 3, 28, 0, 0), at(2027, 10, 31, 0, 0)
    assert calendar.time_between(spring, spring + timedelta(days=1)) == timedelta(hours=23)
    assert calendar.time_between(autumn, autumn + timedelta(days=1)) == timedelta(hours=25)


def test_a_window_edge_inside_the_spring_gap_is_the_instant_the_clock_jumps():
    calendar = BusinessCalendar.from_dict(
        {"timezone": "Europe/Paris", "week": {"sun": [["02:30", "04:00"]]}}
    )
    opening = calendar.next_opening(at(2027, 3, 27, 12, 0))
    assert opening == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 02:00 CET = 03:00 CEST
    assert calendar.local(calendar.add(opening, 60)) == at(2027, 3, 28, 4, 0)


def test_the_default_is_utc_weekdays_nine_to_six():
    calendar = BusinessCalendar.default()
    assert calendar == BusinessCalendar.from_dict({})
    assert calendar.timezone.key == "UTC"
    assert calendar.to_dict() == {
        "timezone": "UTC",
        "week": {d: [["09:00", "18:00"]] for d in WEEKDAYS},
        "holidays": [],
    }
    assert calendar.day_minutes == 540


def test_the_json_form_round_trips():
    text = (
        '{"timezone": "Europe/Paris", "week": {"mon": [["09:00","12:00"],["14:00","18:00"]],'
        ' "sat": [["10:00","24:00"]]}, "holidays": ["2027-01-01", "2026-12-25"]}'
    )
    calendar = BusinessCalendar.from_json(text)
    assert BusinessCalendar.from_dict(calendar.to_dict()) == calendar
    assert calendar.to_dict()["holidays"] == ["2026-12-25", "2027-01-01"]
    assert hash(calendar) == hash(BusinessCalendar.from_dict(calendar.to_dict()))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON: Expecting property name enclosed in double quotes at character 1"),
        ("[]", "must be a JSON object with timezone, week and holidays"),
        ('{"timezone": "Europe/Pariss"}', "unknown time zone 'Europe/Pariss' (use an IANA name)"),
        ('{"timezone": "+01:00"}', "unknown time zone '+01:00' (use an IANA name)"),
        ('{"zone": "UTC"}', "unknown key 'zone' (use timezone, week, holidays)"),
        (
            '{"week": {"monday": [["09:00","18:00"]]}}',
            "unknown day 'monday' in week (use mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            '{"week": {"mon": [["9:00","18:00"]]}}',
            "week.mon window 1: '9:00' is not a time (HH:MM, 00:00-24:00)",
        ),
        (
            '{"week": {"mon": [["09:00","24:30"]]}}',
            "week.mon window 1: '24:30' is not a time (HH:MM, 00:00-24:00)",
        ),
        (
            '{"week": {"tue": [["18:00","09:00"]]}}',
            "week.tue window 1: end 09:00 is not after start 18:00",
        ),
        (
            '{"week": {"tue": [["09:00","09:00"]]}}',
            "week.tue window 1: end 09:00 is not after start 09:00",
        ),
        (
            '{"week": {"wed": [["09:00","13:00"],["12:00","18:00"]]}}',
            "week.wed window 2 starts at 12:00, before the previous window ends (13:00): "
            "windows must be sorted and must not overlap",
        ),
        (
            '{"week": {"wed": [["14:00","18:00"],["09:00","12:00"]]}}',
            "week.wed window 2 starts at 09:00, before the previous window ends (18:00): "
            "windows must be sorted and must not overlap",
        ),
        ('{"week": {"thu": [["09:00"]]}}', 'week.thu window 1 must be ["HH:MM", "HH:MM"]'),
        ('{"week": {}}', "week has no business hours: every day is closed"),
        (
            '{"holidays": ["2026-12-25", "2026-13-01"]}',
            "holidays[1]: '2026-13-01' is not a date (YYYY-MM-DD)",
        ),
        ('{"holidays": "2026-12-25"}', 'holidays must be a list of dates like ["2026-12-25"]'),
    ],
)
def test_a_bad_calendar_is_refused_with_one_line_naming_the_problem(text: str, message: str):
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.from_json(text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
