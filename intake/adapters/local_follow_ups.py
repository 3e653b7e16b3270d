"""FollowUps on the local SQLite file: the follow-up timer's watermark, the work items the
service hook (locally: the board) marked changed, each followed item's cached history, and
the effect keys of everything already said."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from intake.adapters.local_clock import SqliteClock
from intake.adapters.sqlite_db import Database
from intake.models import TrackedItem

WATERMARK = "watermark"


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class SqliteFollowUps:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or SqliteClock(db)

    def mark_changed(self, work_item_id: int, at: datetime) -> None:
        with self.db.write() as db:
            db.execute(
                "INSERT INTO follow_up_changed (work_item_id, marked_at) VALUES (?, ?)"
                " ON CONFLICT (work_item_id) DO UPDATE SET marked_at = excluded.marked_at",
                (work_item_id, _text(at)),
            )

    def changed(self) -> dict[int, datetime]:
        with self.db.connect() as db:
            rows = db.execute("SELECT work_item_id, marked_at FROM follow_up_changed").fetchall()
        return {int(r["work_item_id"]): datetime.fromisoformat(r["marked_at"]) for r in rows}

    def forget_changed(self, marks: dict[int, datetime]) -> None:
        with self.db.transaction() as tx:
            for work_item_id, at in marks.items():
                tx.execute(
                    "DELETE FROM follow_up_changed WHERE work_item_id = ? AND marked_at <= ?",
                    (work_item_id, _text(at)),
                )

    def watermark(self) -> datetime | None:
        with self.db.connect() as db:
            row = db.execute(
                "SELECT value FROM follow_up_state WHERE name = ?", (WATERMARK,)
            ).fetchone()
        return None if row is None else datetime.fromisoformat(row["value"])

    def set_watermark(self, at: datetime) -> None:
        with self.db.write() as db:
            db.execute(
                "INSERT INTO follow_up_state (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (WATERMARK, _text(at)),
            )

    def item(self, work_item_id: int) -> TrackedItem | None:
        with self.db.connect() as db:
            row = db.execute(
                "SELECT * FROM follow_up_items WHERE work_item_id = ?", (work_item_id,)
            ).fetchone()
        return None if row is None else _tracked(row)

    def save_item(self, item: TrackedItem) -> None:
        with self.db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO follow_up_items"
                " (work_item_id, request_id, updates, next_due_at, running, summary)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item.work_item_id,
                    item.request_id,
                    json.dumps(list(item.updates)),
                    None if item.next_due_at is None else _text(item.next_due_at),
                    int(item.running),
                    json.dumps(item.summary),
                ),
            )

    def due(self, now: datetime, *, limit: int = 500) -> list[TrackedItem]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT * FROM follow_up_items WHERE next_due_at IS NOT NULL"
                " AND next_due_at <= ? ORDER BY next_due_at LIMIT ?",
                (_text(now), limit),
            ).fetchall()
        return [_tracked(row) for row in rows]

    def running(self) -> list[TrackedItem]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT * FROM follow_up_items WHERE running = 1 ORDER BY work_item_id"
            ).fetchall()
        return [_tracked(row) for row in rows]

    def claim_effect(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as tx:
            row = tx.execute("SELECT value FROM follow_up_effects WHERE key = ?", (key,)).fetchone()
            if row is not None:
                stored: dict[str, Any] = json.loads(row["value"])
                return stored
            tx.execute(
                "INSERT INTO follow_up_effects (key, value, claimed_at) VALUES (?, ?, ?)",
                (key, json.dumps(value), _text(self.clock())),
            )
        return value

    def effect(self, key: str) -> dict[str, Any] | None:
        with self.db.connect() as db:
            row = db.execute("SELECT value FROM follow_up_effects WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row["value"]))

    def cursor(self, name: str) -> str | None:
        with self.db.connect() as db:
            row = db.execute(
                "SELECT value FROM follow_up_state WHERE name = ?", (f"cursor:{name}",)
            ).fetchone()
        return None if row is None else str(row["value"])

    def set_cursor(self, name: str, value: str) -> None:
        with self.db.write() as db:
            db.execute(
                "INSERT INTO follow_up_state (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (f"cursor:{name}", value),
            )

    def effects(self) -> list[dict[str, Any]]:
        """Every effect key claimed, oldest first (for the /dev pages and tests)."""
        with self.db.connect() as db:
            rows = db.execute("SELECT * FROM follow_up_effects ORDER BY claimed_at, key")
            return [
                {"key": r["key"], "value": json.loads(r["value"]), "at": r["claimed_at"]}
                for r in rows
            ]


def _tracked(row: Any) -> TrackedItem:
    return TrackedItem(
        work_item_id=int(row["work_item_id"]),
        request_id=str(row["request_id"]),
        updates=tuple(json.loads(row["updates"])),
        next_due_at=None
        if row["next_due_at"] is None
        else datetime.fromisoformat(row["next_due_at"]),
        running=bool(row["running"]),
        summary=json.loads(row["summary"]),
    )
