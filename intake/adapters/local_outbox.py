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
            tx.execute(
                "INSERT INTO outbox_headers (key, reply_to, headers) VALUES (?, ?, ?)",
                (email.key, json.dumps(list(email.reply_to)), json.dumps(email.headers)),
            )
        return message_id

    def find_sent(self, key: str) -> str | None:
        with self.db.connect() as db:
            row = db.execute("SELECT message_id FROM outbox WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["message_id"])

    def messages(self) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            # Reply-To and the extra headers in a table of their own: an outbox made before
            # they existed gains the table, where a new column would need a migration.
            rows = db.execute(
                "SELECT outbox.*, outbox_headers.reply_to, outbox_headers.headers FROM outbox"
                " LEFT JOIN outbox_headers ON outbox_headers.key = outbox.key ORDER BY id"
            ).fetchall()
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
                "reply_to": json.loads(row["reply_to"] or "[]"),
                "headers": dict(json.loads(row["headers"] or "[]")),
            }
            for row in rows
        ]
