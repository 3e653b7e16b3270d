"""WorkItems on the local SQLite file: a small DevOps board with states, comments and links.

Identities are the configured local people: the same email lookup the real adapter does
against the DevOps identities API.
"""

from __future__ import annotations

import json
from typing import Any

from intake.adapters.sqlite_db import Database
from intake.errors import ExternalRejected
from intake.models import (
    Comment,
    Identity,
    Iteration,
    WorkItem,
    WorkItemDraft,
    WorkItemRef,
    utcnow,
)

LOCAL_SPRINT = Iteration(id="local-sprint-1", name="Sprint 1", path="Intake\\Sprint 1")


class SqliteBoard:
    def __init__(
        self, db: Database, *, base_url: str, people: list[Identity], initial_state: str = "New"
    ) -> None:
        self.db = db
        self.base_url = base_url
        self.people = {person.email.lower(): person for person in people}
        self.initial_state = initial_state

    def url(self, work_item_id: int) -> str:
        return f"{self.base_url}/dev/board#work-item-{work_item_id}"

    def create(self, draft: WorkItemDraft, *, tag: str) -> WorkItemRef:
        fields = draft.field_values()
        tags = [tag, *draft.tags]
        with self.db.transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO work_items (type, rev, state, fields, tags, created_at)"
                " VALUES (?, 1, ?, ?, ?, ?)",
                (
                    draft.type,
                    self.initial_state,
                    json.dumps(fields),
                    json.dumps(tags),
                    utcnow().isoformat(),
                ),
            )
            work_item_id = int(cursor.lastrowid or 0)
            self._history(tx, work_item_id, 1, {"created": draft.type, "state": self.initial_state})
        return WorkItemRef(work_item_id, self.url(work_item_id))

    def find_by_tag(self, tag: str) -> WorkItemRef | None:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT id, tags FROM work_items WHERE tags LIKE ?", (f"%{json.dumps(tag)}%",)
            ).fetchall()
        for row in rows:
            if tag in json.loads(row["tags"]):
                return WorkItemRef(row["id"], self.url(row["id"]))
        return None

    def get(self, work_item_id: int) -> WorkItem:
        with self.db.connect() as db:
            row = db.execute("SELECT * FROM work_items WHERE id = ?", (work_item_id,)).fetchone()
        if row is None:
            raise ExternalRejected(
                f"Work item {work_item_id} does not exist.", system="board", remote_status=404
            )
        fields = json.loads(row["fields"])
        fields["System.Tags"] = "; ".join(json.loads(row["tags"]))
        return WorkItem(
            id=row["id"],
            rev=row["rev"],
            type=row["type"],
            state=row["state"],
            title=fields.get("System.Title", ""),
            url=self.url(row["id"]),
            fields=fields,
        )

    def set_state(self, work_item_id: int, state: str) -> None:
        with self.db.transaction() as tx:
            row = self._row(tx, work_item_id)
            if row["state"] == state:
                return
            rev = row["rev"] + 1
            tx.execute(
                "UPDATE work_items SET state = ?, rev = ? WHERE id = ?", (state, rev, work_item_id)
            )
            self._history(tx, work_item_id, rev, {"state": [row["state"], state]})

    def update(
        self,
        work_item_id: int,
        *,
        fields: dict[str, Any] | None = None,
        add_tags: tuple[str, ...] = (),
    ) -> None:
        with self.db.transaction() as tx:
            row = self._row(tx, work_item_id)
            current = json.loads(row["fields"])
            current.update(fields or {})
            tags = json.loads(row["tags"])
            tags.extend(tag for tag in add_tags if tag not in tags)
            rev = row["rev"] + 1
            tx.execute(
                "UPDATE work_items SET fields = ?, tags = ?, rev = ? WHERE id = ?",
                (json.dumps(current), json.dumps(tags), rev, work_item_id),
            )
            self._history(tx, work_item_id, rev, {"fields": fields or {}, "tags": list(add_tags)})

    def add_comment(self, work_item_id: int, comment: Comment) -> int:
        html = comment.html
        if comment.mention is not None:
            html = f"{mention_html(comment.mention)} {html}"
        with self.db.transaction() as tx:
            self._row(tx, work_item_id)
            existing = tx.execute(
                "SELECT id FROM work_item_comments WHERE work_item_id = ? AND key = ?",
                (work_item_id, comment.key),
            ).fetchone()
            if existing is not None:
                return int(existing["id"])
            cursor = tx.execute(
                "INSERT INTO work_item_comments (work_item_id, key, html, mention, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    work_item_id,
                    comment.key,
                    html,
                    comment.mention.email if comment.mention else None,
                    utcnow().isoformat(),
                ),
            )
            return int(cursor.lastrowid or 0)

    def add_link(self, source_id: int, target_id: int, relation: str) -> None:
        with self.db.transaction() as tx:
            self._row(tx, source_id)
            self._row(tx, target_id)
            tx.execute(
                "INSERT OR IGNORE INTO work_item_links (source_id, target_id, relation)"
                " VALUES (?, ?, ?)",
                (source_id, target_id, relation),
            )

    def find_identity(self, email: str) -> Identity | None:
        return self.people.get(email.lower())

    def current_iteration(self) -> Iteration | None:
        return LOCAL_SPRINT

    # --- for the /dev pages ---------------------------------------------------------------
    def comments(self, work_item_id: int) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT id, html, mention, created_at FROM work_item_comments"
                " WHERE work_item_id = ? ORDER BY id",
                (work_item_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def links(self, work_item_id: int) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT source_id, target_id, relation FROM work_item_links"
                " WHERE source_id = ? OR target_id = ?",
                (work_item_id, work_item_id),
            ).fetchall()
        return [dict(row) for row in rows]

    def all_ids(self) -> list[int]:
        with self.db.connect() as db:
            return [row["id"] for row in db.execute("SELECT id FROM work_items ORDER BY id")]

    @staticmethod
    def _row(tx: Any, work_item_id: int) -> Any:
        row = tx.execute("SELECT * FROM work_items WHERE id = ?", (work_item_id,)).fetchone()
        if row is None:
            raise ExternalRejected(
                f"Work item {work_item_id} does not exist.", system="board", remote_status=404
            )
        return row

    @staticmethod
    def _history(tx: Any, work_item_id: int, rev: int, change: dict[str, Any]) -> None:
        tx.execute(
            "INSERT INTO work_item_history (work_item_id, rev, change, at) VALUES (?, ?, ?, ?)",
            (work_item_id, rev, json.dumps(change), utcnow().isoformat()),
        )


def mention_html(identity: Identity) -> str:
    """A DevOps mention that notifies (the same markup the real adapter sends)."""
    from markupsafe import escape

    return (
        f'<a href="#" data-vss-mention="version:2.0,{escape(identity.id)}">'
        f"@{escape(identity.display_name)}</a>"
    )
