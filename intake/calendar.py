"""The business calendar: when the team works, and business time between two instants.

Pure (no I/O, no clock). A calendar is a time zone, weekly windows of local wall-clock time
(several a day: a lunch break) and holidays (whole local dates). Business time is the real
time that passes inside the windows; a *business day* is a length of business time (see
``day_minutes``), so "2 business days" from Friday 16:30 is Tuesday 16:30 after a holiday Monday.

Conventions, the same in every method:
- Every datetime in and out is aware. Results are in **UTC**; ``local()`` renders one in the
  calendar's zone. Naive datetimes are refused (a ``ValueError``), never guessed.
- Windows are half-open ``[start, end)``: at 18:00 the office is closed, but a due instant that
  lands exactly on 18:00 *is* 18:00 (``add`` returns the earliest instant that reaches the
  amount, so a closing edge rather than the next opening).
- Local times go through ``zoneinfo``: across a DST change the wall-clock time of a window is
  kept and its UTC offset moves. A window boundary that does not exist (inside a spring-forward
  gap) is the instant the clock jumps; an ambiguous one (a fall-back fold) is its first
  occurrence.
- Exact arithmetic: internally business time is an integer number of microseconds (datetime's
  own resolution), so ``time_between(s, add_time(s, d)) == d`` and
  ``add_time(add_time(s, a), b) == add_time(s, a + b)`` hold exactly. ``add``/``between`` take
  and give minutes as floats for convenience; they round to the microsecond once, at the edge.

Speed: the windows of a span of local dates are laid out once as UTC intervals with prefix sums
(rebuilt, wider, when a query falls outside), so ``between`` and ``add`` are two binary searches
whatever the distance: whole weeks are skipped by arithmetic, never stepped through.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)
_ONE_US = timedelta(microseconds=1)
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# How far a timeline may grow from where it was first built: a bound on memory for absurd
# amounts (a typo of 10**9 business days), far beyond any SLA or follow-up cadence.
_HORIZON_DAYS = 366 * 200

Window = tuple[int, int]  # minutes from local midnight: [start, end), end may be 1440 ("24:00")


class CalendarError(ValueError):
    """Raised when a calendar definition is invalid; the message is one line naming the problem."""


@dataclass(frozen=True)
class BusinessCalendar:
    """When the team works. Build one with ``from_json``/``from_dict`` or ``default()``."""

    timezone: ZoneInfo
    # Windows of each weekday, Monday first (index = date.weekday()), sorted, not overlapping.
    week: tuple[tuple[Window, ...], ...]
    holidays: frozenset[date] = frozenset()
    _timeline: _TimelineHolder = field(
        default_factory=lambda: _TimelineHolder(), init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError("week must have 7 days, Monday first")
        for name, windows in zip(DAY_NAMES, self.week, strict=True):
            _check_windows(name, windows)
        if not any(self.week):
            raise CalendarError("week has no business hours: every day is closed")

    # --- building ---------------------------------------------------------------------------
    @classmethod
    def default(cls) -> BusinessCalendar:
        """UTC, Monday to Friday 09:00-18:00, no holidays."""
        office = ((9 * 60, 18 * 60),)
        return cls(ZoneInfo("UTC"), (office,) * 5 + ((), ()))

    @classmethod
    def from_json(cls, text: str) -> BusinessCalendar:
        """Parse ``INTAKE_CALENDAR``; a ``CalendarError`` (one line) says what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CalendarError(f"not JSON: {exc.msg} at character {exc.pos}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> BusinessCalendar:
        """``{"timezone": "Europe/Paris", "week": {"mon": [["09:00","18:00"]], ...},
        "holidays": ["2026-12-25"]}``; days missing from ``week`` are closed."""
        if not isinstance(data, dict):
            raise CalendarError("must be a JSON object with timezone, week and holidays")
        unknown = sorted(set(data) - {"timezone", "week", "holidays"})
        if unknown:
            raise CalendarError(f"unknown key {unknown[0]!r} (use timezone, week, holidays)")
        zone = _parse_zone(data.get("timezone", "UTC"))
        week_data = data.get("week", _WEEKDAYS_9_TO_6)
        if not isinstance(week_data, dict):
            raise CalendarError('week must be an object like {"mon": [["09:00", "18:00"]]}')
        week: list[tuple[Window, ...]] = [() for _ in DAY_NAMES]
        for name, windows in week_data.items():
            if name not in DAY_NAMES:
                raise CalendarError(f"unknown day {name!r} in week (use {', '.join(DAY_NAMES)})")
            week[DAY_NAMES.index(name)] = _parse_windows(name, windows)
        holidays_data = data.get("holidays", [])
        if not isinstance(holidays_data, list):
            raise CalendarError('holidays must be a list of dates like ["2026-12-25"]')
        holidays = frozenset(_parse_date(i, value) for i, value in enumerate(holidays_data))
        return cls(zone, tuple(week), holidays)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``from_dict`` reads (holidays sorted): for settings dumps and doctor."""
        return {
            "timezone": self.timezone.key,
            "week": {
                name: [[_format_minute(s), _format_minute(e)] for s, e in windows]
                for name, windows in zip(DAY_NAMES, self.week, strict=True)
                if windows
            },
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
        }

    def with_holidays(self, extra: frozenset[date]) -> BusinessCalendar:
        """The same calendar with more holidays (e.g. read from an iCalendar feed)."""
        return BusinessCalendar(self.timezone, self.week, self.holidays | extra)

    # --- days -------------------------------------------------------------------------------
    @cached_property  # read for every clock (the digest computes thousands): computed once
    def day_minutes(self) -> int:
        """Minutes of business time in one business day: the length of the calendar's full
        working day (540 for 09:00-18:00).

        When open days differ in length (Friday 09:00-16:00), a business day is the *most
        common* day length among open weekdays, the longest among equally common ones: a
        "typical" working day that stays a whole number of minutes and does not change when
        one short day is added. (An average would make "2 business days" a fraction of a
        minute; the longest day would overstate every target on a calendar with one long day.)
        """
        lengths = Counter(sum(e - s for s, e in windows) for windows in self.week if windows)
        return max(lengths, key=lambda length: (lengths[length], length))

    def business_days(self, n: float) -> float:
        """Business minutes in ``n`` business days (``n * day_minutes``)."""
        return n * self.day_minutes

    def business_days_time(self, n: float) -> timedelta:
        """``business_days(n)`` as an exact business-time amount."""
        return timedelta(minutes=self.day_minutes) * n

    def is_business_day(self, day: date) -> bool:
        """True when ``day`` (a local date) has windows and is not a holiday."""
        return bool(self.week[day.weekday()]) and day not in self.holidays

    def add_business_days(self, day: date, n: int) -> date:
        """The ``n``-th business day after ``day`` (before it for a negative ``n``); ``day``
        itself for 0. ``day`` need not be a business day."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        current = day
        while remaining:
            current += timedelta(days=step)
            if (current - day).days * step > _HORIZON_DAYS:
                raise CalendarError("no business day within the calendar's horizon")
            if self.is_business_day(current):
                remaining -= 1
        return current

    def business_dates(self, start: date, end: date) -> list[date]:
        """Business days from ``start`` to ``end`` inclusive, in order."""
        days = (start + timedelta(days=i) for i in range((end - start).days + 1))
        return [d for d in days if self.is_business_day(d)]

    # --- instants ---------------------------------------------------------------------------
    def local(self, t: datetime) -> datetime:
        """``t`` in the calendar's zone, for rendering ("due Wed 9 Dec 16:30 CET")."""
        return _aware(t).astimezone(self.timezone)

    def local_today(self, t: datetime) -> date:
        """The local date of the instant ``t``."""
        return self.local(t).date()

    def at_local(self, day: date, minute: int) -> datetime:
        """The UTC instant of local ``day`` at ``minute`` past midnight (DST rules above)."""
        return _from_us(_local_to_us(self.timezone, day, minute))

    def is_open(self, t: datetime) -> bool:
        """True when ``t`` is inside a window (a closing instant is outside)."""
        us = _to_us(t)
        line = self._covering(us, us)
        i = bisect_right(line.starts, us) - 1
        return i >= 0 and us < line.ends[i]

    def next_opening(self, t: datetime) -> datetime:
        """``t`` itself when open, else the start of the next window (UTC)."""
        us = _to_us(t)
        line = self._covering(us, us)
        while True:
            i = bisect_right(line.starts, us) - 1
            if i >= 0 and us < line.ends[i]:
                return _from_us(us)
            if i + 1 < len(line.starts):
                return _from_us(line.starts[i + 1])
            line = self._extended(line, forward=True)

    def between(self, start: datetime, end: datetime) -> float:
        """Business minutes from ``start`` to ``end`` (0 when ``end <= start``)."""
        return self.time_between(start, end) / timedelta(minutes=1)

    def time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end``, exact (zero when ``end <= start``)."""
        s, e = _to_us(start), _to_us(end)
        if e <= s:
            return timedelta(0)
        line = self._covering(s, e)
        return timedelta(microseconds=line.business(e) - line.business(s))

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` business minutes after ``start`` (UTC); see ``add_time``."""
        if minutes < 0:
            raise ValueError("business minutes to add must not be negative")
        return self.add_time(start, timedelta(microseconds=round(minutes * _US_PER_MINUTE)))

    def add_time(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant at which ``amount`` of business time has passed since ``start``
        (UTC). ``start`` itself for a zero amount; otherwise inside a window or exactly on its
        closing edge (a due at 18:00 is 18:00, not 09:00 the next day)."""
        if amount < timedelta(0):
            raise ValueError("business time to add must not be negative")
        s = _to_us(start)
        if not amount:
            return _from_us(s)
        line = self._covering(s, s)
        goal = line.business(s) + amount // _ONE_US
        while goal > line.total:
            line = self._extended(line, forward=True)
            goal = line.business(s) + amount // _ONE_US
        i = bisect_left(line.cum_ends, goal)
        return _from_us(line.starts[i] + goal - line.cum_starts[i])

    # --- the timeline -----------------------------------------------------------------------
    def _covering(self, first_us: int, last_us: int) -> _Timeline:
        line = self._timeline.line
        while line is None or first_us < line.lo_us or last_us >= line.hi_us:
            line = self._build_covering(line, first_us, last_us)
        return line

    def _build_covering(self, line: _Timeline | None, first_us: int, last_us: int) -> _Timeline:
        first = _from_us(first_us).astimezone(self.timezone).date() - timedelta(days=1)
        last = _from_us(last_us).astimezone(self.timezone).date() + timedelta(days=2)
        if line is None:
            lo, hi = first - timedelta(days=35), last + timedelta(days=70)
        else:
            # Grow by at least the current span on the side that is short: amortised doubling.
            span = timedelta(days=max((line.hi - line.lo).days, 7))
            lo = min(line.lo, first - span) if first < line.lo else line.lo
            hi = max(line.hi, last + span) if last >= line.hi else line.hi
        return self._build(lo, hi, line)

    def _extended(self, line: _Timeline, forward: bool) -> _Timeline:
        span = max((line.hi - line.lo).days, 7)
        if forward:
            return self._build(line.lo, line.hi + timedelta(days=span), line)
        return self._build(line.lo - timedelta(days=span), line.hi, line)

    def _build(self, lo: date, hi: date, previous: _Timeline | None) -> _Timeline:
        origin = previous.origin if previous else lo
        if abs((lo - origin).days) > _HORIZON_DAYS or abs((hi - origin).days) > _HORIZON_DAYS:
            raise CalendarError("business time beyond the calendar's horizon (200 years)")
        starts: list[int] = []
        ends: list[int] = []
        zone = self.timezone
        next_offset = _offset_us(zone, lo)
        for offset in range((hi - lo).days):
            day = lo + timedelta(days=offset)
            day_offset, next_offset = next_offset, _offset_us(zone, day + timedelta(days=1))
            windows = () if day in self.holidays else self.week[day.weekday()]
            midnight_us = (day - _EPOCH_DATE).days * _US_PER_DAY - day_offset
            for s, e in windows:
                if day_offset == next_offset:  # no DST change today: one offset for the day
                    s_us = midnight_us + s * _US_PER_MINUTE
                    e_us = midnight_us + e * _US_PER_MINUTE
                else:
                    s_us, e_us = _local_to_us(zone, day, s), _local_to_us(zone, day, e)
                if ends:  # windows never overlap, whatever a DST change does to their edges
                    s_us = max(s_us, ends[-1])
                if e_us > s_us:  # a window wholly inside a DST gap has no length
                    starts.append(s_us)
                    ends.append(e_us)
        line = _Timeline(
            origin=origin,
            lo=lo,
            hi=hi,
            lo_us=_local_to_us(self.timezone, lo, 0),
            hi_us=_local_to_us(self.timezone, hi, 0),
            starts=starts,
            ends=ends,
        )
        self._timeline.line = line
        return line


_WEEKDAYS_9_TO_6: dict[str, list[list[str]]] = {
    name: [["09:00", "18:00"]] for name in DAY_NAMES[:5]
}


class _TimelineHolder:
    """The one mutable part of a calendar: its cached timeline (swapped whole, never edited, so
    threads sharing a calendar always read a consistent one)."""

    __slots__ = ("line",)

    def __init__(self) -> None:
        self.line: _Timeline | None = None


class _Timeline:
    """Windows of local dates ``[lo, hi)`` as UTC microsecond intervals, with the business time
    before each window's start and after its end (prefix sums)."""

    __slots__ = (
        "origin",
        "lo",
        "hi",
        "lo_us",
        "hi_us",
        "starts",
        "ends",
        "cum_starts",
        "cum_ends",
        "total",
    )

    def __init__(
        self,
        *,
        origin: date,
        lo: date,
        hi: date,
        lo_us: int,
        hi_us: int,
        starts: list[int],
        ends: list[int],
    ) -> None:
        self.origin, self.lo, self.hi, self.lo_us, self.hi_us = origin, lo, hi, lo_us, hi_us
        self.starts, self.ends = starts, ends
        self.cum_starts: list[int] = []
        self.cum_ends: list[int] = []
        total = 0
        for s, e in zip(starts, ends, strict=True):
            self.cum_starts.append(total)
            total += e - s
            self.cum_ends.append(total)
        self.total = total

    def business(self, us: int) -> int:
        """Business microseconds from the timeline's start to ``us`` (inside the timeline)."""
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        return self.cum_starts[i] + min(us, self.ends[i]) - self.starts[i]


# --- parsing ---------------------------------------------------------------------------------
def _parse_zone(value: Any) -> ZoneInfo:
    if not isinstance(value, str) or not value:
        raise CalendarError('timezone must be an IANA zone name like "Europe/Paris"')
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown time zone {value!r} (use an IANA name)") from None


def _parse_windows(name: str, value: Any) -> tuple[Window, ...]:
    if not isinstance(value, list):
        raise CalendarError(f'week.{name} must be a list of windows like [["09:00", "18:00"]]')
    windows: list[Window] = []
    for i, pair in enumerate(value, start=1):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise CalendarError(f'week.{name} window {i} must be ["HH:MM", "HH:MM"]')
        windows.append((_parse_time(name, i, pair[0]), _parse_time(name, i, pair[1])))
    result = tuple(windows)
    _check_windows(name, result)
    return result


def _parse_time(name: str, i: int, value: Any) -> int:
    match = _TIME.match(value) if isinstance(value, str) else None
    minute = int(match[1]) * 60 + int(match[2]) if match else -1
    if not match or minute > MINUTES_PER_DAY:
        raise CalendarError(f"week.{name} window {i}: {value!r} is not a time (HH:MM, 00:00-24:00)")
    return minute


def _check_windows(name: str, windows: tuple[Window, ...]) -> None:
    previous_end = 0
    for i, (start, end) in enumerate(windows, start=1):
        if not 0 <= start < MINUTES_PER_DAY or not 0 < end <= MINUTES_PER_DAY:
            raise CalendarError(f"week.{name} window {i} is outside the day (00:00-24:00)")
        if end <= start:
            raise CalendarError(
                f"week.{name} window {i}: end {_format_minute(end)} is not after "
                f"start {_format_minute(start)}"
            )
        if i > 1 and start < previous_end:
            raise CalendarError(
                f"week.{name} window {i} starts at {_format_minute(start)}, before the previous "
                f"window ends ({_format_minute(previous_end)}): windows must be sorted and "
                "must not overlap"
            )
        previous_end = end


def _parse_date(i: int, value: Any) -> date:
    try:
        if not (isinstance(value, str) and _DATE.match(value)):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise CalendarError(f"holidays[{i}]: {value!r} is not a date (YYYY-MM-DD)") from None


def _format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# --- instants as integers --------------------------------------------------------------------
def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t.isoformat()}: business time needs an aware one")
    return t


def _to_us(t: datetime) -> int:
    if t.tzinfo is None:
        _aware(t)
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _offset_us(zone: tzinfo, day: date) -> int:
    """The zone's UTC offset at local midnight starting ``day``, in microseconds."""
    offset = zone.utcoffset(datetime.combine(day, time()))
    return 0 if offset is None else offset // _ONE_US


def _local_to_us(zone: tzinfo, day: date, minute: int) -> int:
    """Local wall-clock ``minute`` of ``day`` -> UTC microseconds. Ambiguous (fold): the first
    occurrence. Nonexistent (gap): the instant the clock jumps, found by bisection between the
    two readings zoneinfo offers (gaps are rare: a few window edges a year at most)."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = naive.replace(tzinfo=zone, fold=0)
    us = _to_us(first)
    if _from_us(us).astimezone(zone).replace(tzinfo=None) == naive:
        return us
    # In a gap: fold=0 reads it with the offset before the jump (too late an instant), fold=1
    # with the offset after it (too early). The jump lies between; find it to the microsecond.
    early, late = sorted((_to_us(naive.replace(tzinfo=zone, fold=1)), us))
    before = _from_us(early).astimezone(zone).utcoffset()
    while late - early > 1:
        middle = (early + late) // 2
        if _from_us(middle).astimezone(zone).utcoffset() == before:
            early = middle
        else:
            late = middle
    return late
