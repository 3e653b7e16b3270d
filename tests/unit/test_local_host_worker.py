"""The local host's queue workers outlive any error of the queue itself (issue 11, item 10):
the SQLite file locked past its busy timeout while a message is due used to kill them one by
one, and submissions then got 202 and never ran until a restart."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from intake import bootstrap, workflow
from intake.adapters.local_queue import SqliteQueue
from intake.config import Settings
from intake.dev.host import LocalHost, WorkerBackoff
from tests.conftest import SAMPLE


def test_a_worker_survives_a_locked_database_and_runs_the_message_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from function_app import app

    services = bootstrap.build(Settings(data_dir=tmp_path / "data"))
    receive = SqliteQueue.receive
    locked = {"left": 4}

    def flaky_receive(self: SqliteQueue, visibility_timeout: float = 30.0) -> Any:
        if locked["left"] > 0:
            locked["left"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return receive(self, visibility_timeout)

    monkeypatch.setattr(SqliteQueue, "receive", flaky_receive)
    host = LocalHost(app, services, queue_workers=1, worker_backoff=0.01)
    host.start("127.0.0.1", 0)
    try:
        with caplog.at_level(logging.WARNING, logger="intake.dev.host"):
            receipt = workflow.submit_request(
                json.dumps(SAMPLE).encode(), "application/json", services
            )
            assert host.settle(timeout=20), "the message never ran: the worker died"
        assert services.store.get_request(receipt.request_id).status.value == "done"
        assert locked["left"] == 0
        workers = [t for t in host.threads if t.name.startswith("queue-")]
        assert workers and all(t.is_alive() for t in workers)
    finally:
        host.stop()
    troubles = [r for r in caplog.records if "retrying with back-off" in r.getMessage()]
    assert len(troubles) == 1  # logged once, not once per retry
    assert "OperationalError" in troubles[0].getMessage()
    assert any("works again after 4 errors" in r.getMessage() for r in caplog.records)


def test_the_back_off_doubles_up_to_its_cap_and_starts_again_after_a_success() -> None:
    backoff = WorkerBackoff("steps", first=0.1, cap=1.0)
    waits = [backoff.failed(OSError("locked")) for _ in range(6)]
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    for _ in range(5000):  # a long outage never overflows the doubling
        assert backoff.failed(OSError("locked")) == 1.0
    backoff.recovered()
    assert backoff.failed(OSError("locked")) == 0.1


def test_the_timers_thread_survives_a_clock_it_cannot_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The local clock is read from the SQLite file: locked, it raised out of the timers'
    loop and the timers stopped for good."""
    import threading
    from datetime import UTC, datetime

    from function_app import app

    reads = {"count": 0}
    read_again = threading.Event()

    def flaky_clock() -> datetime:
        reads["count"] += 1
        if reads["count"] in (2, 3):  # the first read is the host's own, at start
            raise sqlite3.OperationalError("database is locked")
        if reads["count"] > 3:
            read_again.set()
        return datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    services = bootstrap.build(Settings(data_dir=tmp_path / "data"), clock=flaky_clock)
    host = LocalHost(app, services, queue_workers=0, worker_backoff=0.01)
    host.start("127.0.0.1", 0)
    try:
        with caplog.at_level(logging.WARNING, logger="intake.dev.host"):
            assert read_again.wait(timeout=15), "the timers stopped reading the clock"
        (timers,) = [t for t in host.threads if t.name == "timers"]
        assert timers.is_alive()
    finally:
        host.stop()
    assert sum("retrying with back-off" in r.getMessage() for r in caplog.records) == 1
