"""The local SQLite file's writers take turns on a lock of ours, not in SQLite's busy handler
(which sleeps 1 to 25 ms between tries, on every side-by-side write of the steps).

The databases here wait for SQLite's lock not at all (``busy_timeout=0``): any write that meets
SQLite's lock held by another writer of this process fails with "database is locked", so a
clean run proves the writers never met there.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from intake.adapters.local_queue import SqliteQueue
from intake.adapters.local_store import SqliteStore
from intake.adapters.sqlite_db import Database
from intake.messages import RunSteps
from intake.models import RequestStatus
from tests.contract.test_store_contract import all_at_once, new_record


def test_side_by_side_writers_in_one_process_never_meet_sqlites_lock(tmp_path: Path) -> None:
    db = Database(tmp_path / "intake.db", busy_timeout=0)
    store, queue = SqliteStore(db), SqliteQueue(db, "intake-steps")
    record, _ = store.add_request(new_record())
    request_id = record.request.id

    def write(index: int) -> None:
        for round_ in range(10):
            with db.transaction() as tx:  # a long transaction, so the others come by meanwhile
                for n in range(100):
                    tx.execute(
                        "INSERT INTO claims (request_id, name, value, claimed_at)"
                        " VALUES (?, ?, '{}', '')",
                        (request_id, f"bulk-{index}-{round_}-{n}"),
                    )
            store.record_step(request_id, f"step-{index}-{round_}", {"n": round_})
            store.set_status(request_id, RequestStatus.IN_PROGRESS.value)
            queue.send(RunSteps(request_id))

    all_at_once(6, write)
    assert len(store.get_request(request_id).steps) == 6 * 10
    assert len(queue.peek()) == 6 * 10


def test_two_database_objects_on_one_file_share_the_writers_turn(tmp_path: Path) -> None:
    first = Database(tmp_path / "intake.db", busy_timeout=0)
    second = Database(tmp_path / "intake.db", busy_timeout=0)
    record, _ = SqliteStore(first).add_request(new_record())

    def write(index: int) -> None:
        db = first if index % 2 else second
        for round_ in range(10):
            with db.transaction() as tx:
                for n in range(100):
                    tx.execute(
                        "INSERT INTO claims (request_id, name, value, claimed_at)"
                        " VALUES (?, ?, '{}', '')",
                        (record.request.id, f"bulk-{index}-{round_}-{n}"),
                    )

    all_at_once(6, write)
    with first.connect() as db:
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 6 * 10 * 100


def test_an_idle_queue_poll_does_not_ask_for_the_write_lock(tmp_path: Path) -> None:
    """Idle workers poll all the time: a poll that finds nothing must not queue up behind a
    writer (here another process's, which holds SQLite's write lock)."""
    db = Database(tmp_path / "intake.db")
    queue = SqliteQueue(db, "intake-steps")
    other_process = sqlite3.connect(db.path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    try:
        assert queue.receive() is None
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    queue.send(RunSteps("r1"))
    message = queue.receive()
    assert message is not None and message.dequeue_count == 1


def test_a_writer_nested_in_a_transaction_of_the_same_thread_does_not_deadlock(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "intake.db")
    done = threading.Event()

    def nested() -> None:
        with db.transaction() as tx:
            tx.execute("SELECT 1")
            # The turn is re-entrant; SQLite is not asked twice, only the lock.
            assert db._writer.acquire(blocking=False)
            db._writer.release()
        done.set()

    worker = threading.Thread(target=nested)
    worker.start()
    worker.join(timeout=10)
    assert done.is_set()


def test_a_thread_keeps_one_connection_and_threads_do_not_share_one(tmp_path: Path) -> None:
    """Opening a connection per call cost more than the call (the file opened and the schema
    parsed again each time)."""
    db = Database(tmp_path / "intake.db")
    with db.connect() as first, db.connect() as again:
        assert first is again
    seen: list[sqlite3.Connection] = []

    def other() -> None:
        with db.connect() as connection:
            seen.append(connection)

    worker = threading.Thread(target=other)
    worker.start()
    worker.join(timeout=10)
    with db.connect() as mine:
        assert seen and seen[0] is not mine


def test_a_failed_transaction_leaves_the_threads_connection_ready(tmp_path: Path) -> None:
    db = Database(tmp_path / "intake.db", busy_timeout=0)
    store = SqliteStore(db)
    record, _ = store.add_request(new_record())
    try:
        with db.transaction() as tx:
            tx.execute(
                "INSERT INTO claims (request_id, name, value, claimed_at)"
                " VALUES (?, 'x', '{}', '')",
                (record.request.id,),
            )
            raise RuntimeError("the step broke half way")
    except RuntimeError:
        pass
    with db.connect() as connection:
        assert not connection.in_transaction
    assert store.claim(record.request.id, "x", {"mine": True}) == {"mine": True}
