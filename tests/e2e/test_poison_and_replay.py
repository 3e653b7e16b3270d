"""A request whose work item cannot be created: five deliveries, the poison queue, /dev/ shows
it, and a replay once DevOps is back finishes it, exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from intake.__main__ import main
from intake.adapters.local_board import SqliteBoard
from intake.adapters.sqlite_db import Database
from intake.bootstrap import local_identities
from intake.errors import ExternalUnavailable
from tests.conftest import SAMPLE
from tests.e2e.client import LocalHostClient

pytestmark = pytest.mark.e2e


class DownBoard:
    """The local board while DevOps answers 503 to every create (until ``down`` is False)."""

    def __init__(self, board: SqliteBoard) -> None:
        self.board = board
        self.down = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.board, name)

    def create(self, draft: Any, *, key: str) -> Any:
        if self.down:
            raise ExternalUnavailable("DevOps answered 503", system="devops", remote_status=503)
        return self.board.create(draft, key=key)


def test_a_poisoned_request_is_shown_and_replayed_once_the_fault_clears(tmp_path, capsys):
    boards: list[DownBoard] = []

    def ports(settings):
        db = Database(settings.database_path)
        boards.append(
            DownBoard(
                SqliteBoard(db, base_url=settings.base_url, people=local_identities(settings))
            )
        )
        return {"work_items": boards[0]}

    with LocalHostClient.started(tmp_path / "host", ports=ports) as host:
        request_id = host.submit(SAMPLE).json()["requestId"]
        wait_for(lambda: host.get("/dev/api/queue")["poison"], "the message to be poisoned")
        (poisoned,) = host.get("/dev/api/queue")["poison"]
        assert poisoned["dequeue_count"] == 5
        assert request_id in poisoned["body"]
        assert host.get("/dev/api/queue")["queue"] == []
        (stuck,) = host.get("/dev/api/stuck")
        assert stuck["request_id"] == request_id
        assert stuck["poison_message_ids"] == [poisoned["id"]]
        assert "503" in stuck["last_error"]
        page = host.page("/dev/")
        assert f"python -m intake replay {request_id}" in page
        assert main(["replay"]) == 0
        assert request_id in capsys.readouterr().out

        boards[0].down = False
        assert main(["replay", request_id]) == 0
        assert "moved back to the queue" in capsys.readouterr().out
        assert host.wait_until_done(request_id)["status"] == "done"
        host.wait_until_idle()

        assert host.get("/dev/api/queue") == {"queue": [], "poison": []}
        assert host.get("/dev/api/stuck") == []
        assert len(host.work_items()) == 1
        assert len(host.outbox()) == 2
        assert len(host.threads()) == 1
        assert main(["replay"]) == 0
        assert "Nothing is stuck" in capsys.readouterr().out


def wait_for(condition, what: str, timeout: float = 15.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
