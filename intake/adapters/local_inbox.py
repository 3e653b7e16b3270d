"""Mailbox on the local SQLite file: the sender mailbox's Inbox, fed by ``POST /dev/api/inbox``.

The watermark is the id of the last row read, as text (Graph's is a delta link): reading
from the same watermark again gives the same messages again, as Graph's delta link does.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from intake.adapters.local_clock import SqliteClock
from intake.adapters.sqlite_db import Database
from intake.inbound_mail import InboundAttachment, InboundMessage

READ_LIMIT = 500  # messages per read; the rest wait for the next run


class SqliteInbox:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or SqliteClock(db)

    def deliver(self, message: InboundMessage) -> dict[str, Any]:
        """An email arrives (``POST /dev/api/inbox``); it gets an internet message id if it
        has none, as a mail server gives one."""
        message_id = message.internet_message_id or f"<{uuid.uuid4().hex}@client.local>"
        received_at = self.clock().isoformat()
        stored = {
            **asdict(message),
            "internet_message_id": message_id,
            "received_at": received_at,
            "attachments": [
                {**asdict(a), "content": base64.b64encode(a.content).decode()}
                for a in message.attachments
            ],
        }
        with self.db.write() as db:
            cursor = db.execute(
                "INSERT INTO inbox (internet_message_id, message, received_at) VALUES (?, ?, ?)",
                (message_id, json.dumps(stored), received_at),
            )
        return {"id": int(cursor.lastrowid or 0), "messageId": message_id}

    def read_new(self, watermark: str | None) -> tuple[list[InboundMessage], str]:
        after = int(watermark) if watermark and watermark.isdigit() else 0
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT id, message FROM inbox WHERE id > ? ORDER BY id LIMIT ?",
                (after, READ_LIMIT),
            ).fetchall()
        messages = [_message(int(row["id"]), json.loads(row["message"])) for row in rows]
        return messages, str(int(rows[-1]["id"]) if rows else after)

    def attachments(self, message: InboundMessage, *, max_bytes: int) -> list[InboundAttachment]:
        with self.db.connect() as db:
            row = db.execute(
                "SELECT message FROM inbox WHERE id = ?", (int(message.mailbox_id),)
            ).fetchone()
        if row is None:
            return []
        found = []
        for item in json.loads(row["message"]).get("attachments", []):
            content = base64.b64decode(item["content"])
            found.append(
                InboundAttachment(
                    name=item["name"],
                    content_type=item["content_type"],
                    size=len(content),
                    content=content if len(content) <= max_bytes else b"",
                )
            )
        return found

    def messages(self) -> list[dict[str, Any]]:
        """Every message received, oldest first (for tests and the /dev pages)."""
        with self.db.connect() as db:
            rows = db.execute("SELECT id, message FROM inbox ORDER BY id").fetchall()
        return [{"id": row["id"], **json.loads(row["message"])} for row in rows]


def _message(row_id: int, stored: dict[str, Any]) -> InboundMessage:
    return InboundMessage(
        internet_message_id=stored["internet_message_id"],
        sender=stored["sender"],
        subject=stored["subject"],
        text=stored.get("text", ""),
        html=stored.get("html", ""),
        in_reply_to=stored.get("in_reply_to", ""),
        references=stored.get("references", ""),
        headers=tuple((str(k), str(v)) for k, v in stored.get("headers", [])),
        mailbox_id=str(row_id),
        has_attachments=bool(stored.get("attachments")),
        received_at=stored.get("received_at", ""),
    )
