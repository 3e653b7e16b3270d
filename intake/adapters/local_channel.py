"""Channel on the local SQLite file: the support channel's threads and their current cards."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from intake.adapters.local_clock import SqliteClock
from intake.adapters.sqlite_db import Database
from intake.errors import ExternalRejected
from intake.models import Mention, Thread

LOCAL_CHANNEL_ID = "19:local-support@thread.tacv2"


class SqliteChannel:
    def __init__(
        self,
        db: Database,
        channel_id: str = LOCAL_CHANNEL_ID,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock or SqliteClock(db)
        self.channel_id = channel_id

    def post_card(self, card: dict[str, Any], *, key: str) -> Thread:
        now = self.clock().isoformat()
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT activity_id, conversation_id FROM channel_threads WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                return Thread(row["conversation_id"], row["activity_id"])
            # Teams message ids are epoch milliseconds; a new thread's conversation id is the
            # channel id with ";messageid=<activity id>".
            activity_id = str(int(time.time() * 1000))
            while tx.execute(
                "SELECT 1 FROM channel_threads WHERE activity_id = ?", (activity_id,)
            ).fetchone():
                activity_id = str(int(activity_id) + 1)
            conversation_id = f"{self.channel_id};messageid={activity_id}"
            tx.execute(
                "INSERT INTO channel_threads (activity_id, conversation_id, key, card, posted_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (activity_id, conversation_id, key, json.dumps(card), now, now),
            )
        return Thread(conversation_id, activity_id)

    def update_card(self, thread: Thread, card: dict[str, Any]) -> None:
        with self.db.write() as db:
            cursor = db.execute(
                "UPDATE channel_threads SET card = ?, updates = updates + 1, updated_at = ?"
                " WHERE activity_id = ? AND conversation_id = ?",
                (
                    json.dumps(card),
                    self.clock().isoformat(),
                    thread.activity_id,
                    thread.conversation_id,
                ),
            )
        if cursor.rowcount != 1:
            raise ExternalRejected(
                f"No message {thread.activity_id} in the channel.",
                system="channel",
                remote_status=404,
            )

    def reply(
        self, thread: Thread, text: str, *, key: str, mentions: Sequence[Mention] = ()
    ) -> str:
        with self.db.connect() as db:
            known = db.execute(
                "SELECT 1 FROM channel_threads WHERE activity_id = ? AND conversation_id = ?",
                (thread.activity_id, thread.conversation_id),
            ).fetchone()
        if known is None:
            raise ExternalRejected(
                f"No thread {thread.activity_id} in the channel.",
                system="channel",
                remote_status=404,
            )
        return self._add_post(thread.conversation_id, thread.activity_id, text, key, mentions)

    def post(self, text: str, *, key: str, mentions: Sequence[Mention] = ()) -> Thread:
        activity_id = self._add_post(self.channel_id, None, text, key, mentions)
        return Thread(f"{self.channel_id};messageid={activity_id}", activity_id)

    def _add_post(
        self,
        conversation_id: str,
        reply_to: str | None,
        text: str,
        key: str,
        mentions: Sequence[Mention],
    ) -> str:
        """One reply or post, once per effect key (a second call returns the first's id)."""
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT activity_id FROM channel_posts WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                return str(row["activity_id"])
            activity_id = str(int(time.time() * 1000))
            while tx.execute(
                "SELECT 1 FROM channel_posts WHERE activity_id = ?"
                " UNION SELECT 1 FROM channel_threads WHERE activity_id = ?",
                (activity_id, activity_id),
            ).fetchone():
                activity_id = str(int(activity_id) + 1)
            tx.execute(
                "INSERT INTO channel_posts (activity_id, conversation_id, reply_to, key, text,"
                " mentions, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    activity_id,
                    conversation_id,
                    reply_to,
                    key,
                    text,
                    json.dumps([{"name": m.name, "teams_id": m.teams_id} for m in mentions]),
                    self.clock().isoformat(),
                ),
            )
        return activity_id

    def posts(self) -> list[dict[str, Any]]:
        """Every reply and post, oldest first (``reply_to``: the thread's card, or None)."""
        with self.db.connect() as db:
            rows = db.execute("SELECT * FROM channel_posts ORDER BY posted_at, rowid").fetchall()
        return [
            {
                "activity_id": row["activity_id"],
                "conversation_id": row["conversation_id"],
                "reply_to": row["reply_to"],
                "key": row["key"],
                "text": row["text"],
                "mentions": json.loads(row["mentions"]),
                "posted_at": row["posted_at"],
            }
            for row in rows
        ]

    def threads(self) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            rows = db.execute("SELECT * FROM channel_threads ORDER BY posted_at, rowid").fetchall()
        return [
            {
                "conversation_id": row["conversation_id"],
                "activity_id": row["activity_id"],
                "card": json.loads(row["card"]),
                "updates": row["updates"],
                "posted_at": row["posted_at"],
                "updated_at": row["updated_at"],
            }
            for row in rows
        ]
