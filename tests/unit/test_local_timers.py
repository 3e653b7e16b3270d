"""The local host runs timers on their NCRONTAB schedule, as the Functions host does."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from intake import bootstrap
from intake.dev.host import LocalHost
from intake.dev.schedule import Schedule


@pytest.mark.parametrize(
    ("expression", "moment", "due"),
    [
        ("0 */5 * * * *", datetime(2026, 11, 25, 10, 35, 0, tzinfo=UTC), True),
        ("0 */5 * * * *", datetime(2026, 11, 25, 10, 36, 0, tzinfo=UTC), False),
        ("0 */5 * * * *", datetime(2026, 11, 25, 10, 35, 1, tzinfo=UTC), False),
        ("30 0 9 * * 1-5", datetime(2026, 11, 27, 9, 0, 30, tzinfo=UTC), True),  # a Friday
        ("30 0 9 * * 1-5", datetime(2026, 11, 29, 9, 0, 30, tzinfo=UTC), False),  # a Sunday
        ("0 0 8,17 1 * *", datetime(2026, 12, 1, 17, 0, 0, tzinfo=UTC), True),
    ],
)
def test_schedules_match_like_ncrontab(expression, moment, due):
    assert Schedule(expression).matches(moment) is due


def test_a_schedule_without_six_fields_is_refused():
    with pytest.raises(ValueError, match="six fields"):
        Schedule("*/5 * * * *")


def test_the_stalled_request_timer_runs_on_the_local_host(settings, caplog, tmp_path):
    from function_app import app

    host = LocalHost(app, bootstrap.build(settings))
    try:
        with caplog.at_level(logging.ERROR):
            host.fire_due_timers(datetime(2026, 11, 25, 10, 35, 0, tzinfo=UTC))
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        bootstrap.override(None)


@pytest.mark.parametrize(
    ("expression", "after", "until", "due"),
    [
        ("0 */5 * * * *", "2026-12-04T10:31:10", "2026-12-04T10:35:00", "2026-12-04T10:35:00"),
        ("0 */5 * * * *", "2026-12-04T10:35:00", "2026-12-04T10:39:59", None),  # after: open
        ("0 */5 * * * *", "2026-12-04T23:58:00", "2026-12-07T09:00:00", "2026-12-05T00:00:00"),
        ("30 0 9 * * 1-5", "2026-12-04T09:00:30", "2026-12-31T00:00:00", "2026-12-07T09:00:30"),
        ("0 0 8 1 * *", "2026-12-01T08:00:00", "2027-02-01T08:00:00", "2027-01-01T08:00:00"),
    ],
)
def test_the_next_due_instant_is_found_without_stepping_every_second(expression, after, until, due):
    from intake.dev.schedule import next_due

    def at(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    found = next_due(Schedule(expression), at(after), at(until))
    assert found == (at(due) if due else None)
