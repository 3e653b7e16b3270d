"""NCRONTAB schedules (the six-field cron of Azure Functions timers), for the local host."""

from __future__ import annotations

from datetime import datetime, timedelta

RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


class Schedule:
    """``{second} {minute} {hour} {day} {month} {day-of-week}``: ``*``, ``*/n``, ``a-b``, lists."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != 6:
            raise ValueError(f"an NCRONTAB schedule has six fields: {expression!r}")
        self.expression = expression
        self.allowed = [
            _values(text, low, high) for text, (low, high) in zip(fields, RANGES, strict=True)
        ]

    def matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7  # cron counts Sunday as 0
        values = (moment.second, moment.minute, moment.hour, moment.day, moment.month, weekday)
        return all(value in allowed for value, allowed in zip(values, self.allowed, strict=True))


def _values(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(x) for x in base.split("-", 1))
        else:
            start = end = int(base)
            if step_text:
                end = high
        values.update(range(start, end + 1, step))
    return values


def next_due(schedule: Schedule, after: datetime, until: datetime) -> datetime | None:
    """The first instant in (``after``, ``until``] the schedule matches, or None.

    Skips whole months, days, hours and minutes that cannot match, so a jump of the local
    clock by weeks costs a few hundred steps, not one per second.
    """
    seconds, minutes, hours, days, months, weekdays = schedule.allowed
    moment = after.replace(microsecond=0) + timedelta(seconds=1)
    while moment <= until:
        weekday = (moment.weekday() + 1) % 7
        if moment.month not in months:
            year, month = divmod(moment.month, 12)  # the first of the next month
            moment = moment.replace(
                year=moment.year + year, month=month + 1, day=1, hour=0, minute=0, second=0
            )
        elif moment.day not in days or weekday not in weekdays:
            moment = moment.replace(hour=0, minute=0, second=0) + timedelta(days=1)
        elif moment.hour not in hours:
            moment = moment.replace(minute=0, second=0) + timedelta(hours=1)
        elif moment.minute not in minutes:
            moment = moment.replace(second=0) + timedelta(minutes=1)
        elif moment.second not in seconds:
            moment += timedelta(seconds=1)
        else:
            return moment
    return None
