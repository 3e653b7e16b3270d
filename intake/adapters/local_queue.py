"""Queue on the local SQLite file, with the Azure Storage Queues semantics the host relies on.

A received message becomes invisible for a while and its dequeue count goes up; a message that
failed ``max_dequeue_count`` times moves to ``<queue>-poison``, as the Functions host does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from intake import messages
from intake.adapters.sqlite_db import Database
from intake.messages import QueueMessage
from intake.models import utcnow

MAX_DEQUEUE_COUNT = 5


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    queue: str
    body: str
    dequeue_count: int
    inserted_at: str
    last_error: str = ""


class SqliteQueue:
    """The ``Queue`` and ``PoisonQueue`` ports for one queue name, plus what the local host
    needs to drain it."""

    # Wakes the local host's queue worker as soon as a message is sent in this process,
    # so local runs do not wait for the next poll.
    wakeup = threading.Event()

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name

    def send(self, message: QueueMessage) -> None:
        self.send_text(messages.encode(message))

    def send_text(self, body: str, *, queue: str | None = None, delay: float = 0.0) -> None:
        with self.db.write() as db:
            db.execute(
                "INSERT INTO queue_messages (queue, body, visible_at, inserted_at)"
                " VALUES (?, ?, ?, ?)",
                (queue or self.name, body, time.time() + delay, utcnow().isoformat()),
            )
        SqliteQueue.wakeup.set()

    def receive(self, visibility_timeout: float = 30.0) -> QueuedMessage | None:
        """Take the oldest visible message, hiding it for ``visibility_timeout`` seconds."""
        now = time.time()
        # Looked at first without the write lock: idle workers poll, and a poll that takes the
        # write lock makes every writer (the steps themselves) wait its turn.
        with self.db.connect() as db:
            waiting = db.execute(
                "SELECT 1 FROM queue_messages WHERE queue = ? AND visible_at <= ? LIMIT 1",
                (self.name, now),
            ).fetchone()
        if waiting is None:
            return None
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT * FROM queue_messages WHERE queue = ? AND visible_at <= ?"
                " ORDER BY id LIMIT 1",
                (self.name, now),
            ).fetchone()
            if row is None:
                return None
            tx.execute(
                "UPDATE queue_messages SET dequeue_count = dequeue_count + 1, visible_at = ?"
                " WHERE id = ?",
                (now + visibility_timeout, row["id"]),
            )
        return QueuedMessage(
            row["id"], self.name, row["body"], row["dequeue_count"] + 1, row["inserted_at"]
        )

    def complete(self, message: QueuedMessage) -> None:
        with self.db.write() as db:
            db.execute("DELETE FROM queue_messages WHERE id = ?", (message.id,))

    def fail(self, message: QueuedMessage, error: str, *, retry_in: float = 1.0) -> bool:
        """Record a failed delivery; returns True when the message went to the poison queue."""
        with self.db.write() as db:
            if message.dequeue_count >= MAX_DEQUEUE_COUNT:
                db.execute(
                    "UPDATE queue_messages SET queue = ?, visible_at = ?, last_error = ?"
                    " WHERE id = ?",
                    (self.poison_name, time.time(), error, message.id),
                )
                return True
            db.execute(
                "UPDATE queue_messages SET visible_at = ?, last_error = ? WHERE id = ?",
                (time.time() + retry_in, error, message.id),
            )
            return False

    def pending(self) -> int:
        """Messages of this queue not yet completed (visible, being run or awaiting a retry)."""
        with self.db.connect() as db:
            row = db.execute(
                "SELECT COUNT(*) AS n FROM queue_messages WHERE queue = ?", (self.name,)
            ).fetchone()
        return int(row["n"])

    @property
    def poison_name(self) -> str:
        return f"{self.name}-poison"

    def peek(self, queue: str | None = None) -> list[QueuedMessage]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT * FROM queue_messages WHERE queue = ? ORDER BY id", (queue or self.name,)
            ).fetchall()
        return [
            QueuedMessage(
                r["id"],
                r["queue"],
                r["body"],
                r["dequeue_count"],
                r["inserted_at"],
                r["last_error"],
            )
            for r in rows
        ]

    def requeue_poison(self, message_id: int | str) -> bool:
        """Move one poison message back onto the queue with a fresh dequeue count."""
        if not str(message_id).isdigit():
            return False  # not an id of ours
        with self.db.write() as db:
            cursor = db.execute(
                "UPDATE queue_messages SET queue = ?, dequeue_count = 0, visible_at = ?"
                " WHERE id = ? AND queue = ?",
                (self.name, time.time(), int(message_id), self.poison_name),
            )
        SqliteQueue.wakeup.set()
        return cursor.rowcount == 1
