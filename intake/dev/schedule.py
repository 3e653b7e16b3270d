"""NCRONTAB schedules (the six-field cron of Azure Functions timers), for the local host."""

from __future__ import annotations

from datetime import datetime

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
