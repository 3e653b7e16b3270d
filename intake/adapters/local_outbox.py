"""Mailer on the local SQLite file: every email lands in the outbox, shown at /dev/outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from intake.adapters.local_clock import SqliteClock
from intake.adapters.sqlite_db import Database
from intake.models import Email


class SqliteOutbox:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or SqliteClock(db)

    def send(self, email: Email) -> str:
        message_id = f"<{uuid.uuid4().hex}@intake.local>"
        with self.db.transaction() as tx:
            existing = tx.execute(
                "SELECT message_id FROM outbox WHERE key = ?", (email.key,)
            ).fetchone()
            if existing is not None:
                return str(existing["message_id"])
            tx.execute(
                "INSERT INTO outbox (key, message_id, recipients, cc, subject, text, html,"
                " work_item_id, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    email.key,
                    message_id,
                    json.dumps(list(email.to)),
                    json.dumps(list(email.cc)),
                    email.subject,
                    email.text,
                    email.html,
                    email.work_item_id,
                    self.clock().isoformat(),
                ),
            )
        return message_id

    def find_sent(self, key: str) -> str | None:
        with self.db.connect() as db:
            row = db.execute("SELECT message_id FROM outbox WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["message_id"])

    def messages(self) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            rows = db.execute("SELECT * FROM outbox ORDER BY id").fetchall()
        return [
            {
                "id": row["id"],
                "message_id": row["message_id"],
                "to": json.loads(row["recipients"]),
                "cc": json.loads(row["cc"]),
                "subject": row["subject"],
                "text": row["text"],
                "html": row["html"],
                "work_item_id": row["work_item_id"],
                "sent_at": row["sent_at"],
            }
            for row in rows
        ]
