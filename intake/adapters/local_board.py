"""WorkItems on the local SQLite file: a small DevOps board with states, comments and links.

Identities are the configured local people: the same email lookup the real adapter does
against the DevOps identities API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from intake.adapters import local_board_history as history
from intake.adapters.local_board_history import INTAKE_IDENTITY
from intake.adapters.local_clock import SqliteClock
from intake.adapters.sqlite_db import Database
from intake.errors import ExternalRejected
from intake.inbound_mail import InboundAttachment
from intake.models import (
    Comment,
    DiscussionComment,
    Identity,
    Iteration,
    WorkItem,
    WorkItemDraft,
    WorkItemRef,
)

LOCAL_SPRINT = Iteration(id="local-sprint-1", name="Sprint 1", path="Intake\\Sprint 1")
LOCAL_COMING = (
    Iteration(id="local-sprint-2", name="Sprint 2", path="Intake\\Sprint 2"),
    Iteration(id="local-sprint-3", name="Sprint 3", path="Intake\\Sprint 3"),
)
# The local board's states and their categories, as the Scrum process has them (a state not
# named here is in progress).
LOCAL_CATEGORIES = {
    "New": "Proposed",
    "To Do": "Proposed",
    "Done": "Completed",
    "Closed": "Completed",
    "Removed": "Removed",
}


class SqliteBoard:
    def __init__(
        self,
        db: Database,
        *,
        base_url: str,
        people: list[Identity],
        initial_state: str = "New",
        intake_tag: str = "intake",
        clock: Callable[[], datetime] | None = None,
        key_field: str = "Custom.IntakeRequestId",
    ) -> None:
        self.db = db
        self.clock = clock or SqliteClock(db)
        self.base_url = base_url
        self.people = {person.email.lower(): person for person in people}
        self.initial_state = initial_state
        self.intake_tag = intake_tag  # the tag every request's work item carries
        self.key_field = key_field  # the request id field (settings.request_id_field)

    def url(self, work_item_id: int) -> str:
        return f"{self.base_url}/dev/board#work-item-{work_item_id}"

    def create(self, draft: WorkItemDraft, *, key: str) -> WorkItemRef:
        fields = {**draft.field_values(), self.key_field: key}
        tags = list(dict.fromkeys(draft.tags))
        now = self.clock()
        with self.db.transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO work_items (type, rev, state, fields, tags, created_at)"
                " VALUES (?, 1, ?, ?, ?, ?)",
                (
                    draft.type,
                    self.initial_state,
                    json.dumps(fields),
                    json.dumps(tags),
                    history.stamp(now),
                ),
            )
            work_item_id = int(cursor.lastrowid or 0)
            created = {
                **fields,
                "System.Id": work_item_id,
                "System.WorkItemType": draft.type,
                "System.State": self.initial_state,
                "System.Tags": "; ".join(tags),
                "System.CreatedDate": history.stamp(now),
                "System.CreatedBy": history.identity_ref(INTAKE_IDENTITY),
            }
            self._revision(
                tx,
                work_item_id,
                1,
                {name: history.changed(None, value) for name, value in created.items()},
                INTAKE_IDENTITY,
            )
        return WorkItemRef(work_item_id, self.url(work_item_id))

    def find_created(self, key: str, *, legacy_tag: str = "") -> WorkItemRef | None:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT id, fields, tags FROM work_items WHERE fields LIKE ? OR tags LIKE ?"
                " ORDER BY id",
                (f"%{json.dumps(key)}%", f"%{json.dumps(legacy_tag)}%" if legacy_tag else ""),
            ).fetchall()
        by_key = [r for r in rows if json.loads(r["fields"]).get(self.key_field) == key]
        by_tag = [r for r in rows if legacy_tag and legacy_tag in json.loads(r["tags"])]
        for row in by_key or by_tag:
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
        self.change(work_item_id, state=state)

    def update(
        self,
        work_item_id: int,
        *,
        fields: dict[str, Any] | None = None,
        add_tags: tuple[str, ...] = (),
    ) -> None:
        self.change(work_item_id, fields=fields, add_tags=add_tags)

    def change(
        self,
        work_item_id: int,
        *,
        state: str | None = None,
        fields: dict[str, Any] | None = None,
        add_tags: tuple[str, ...] = (),
        by: Identity = INTAKE_IDENTITY,
    ) -> int | None:
        """One revision setting ``state``, ``fields`` and tags, made by ``by``; returns its
        number, or None when nothing changes (a replay adds no revision)."""
        with self.db.transaction() as tx:
            row = self._row(tx, work_item_id)
            current = json.loads(row["fields"])
            tags = json.loads(row["tags"])
            wanted = {**current, **(fields or {})}
            new_tags = tags + [tag for tag in add_tags if tag not in tags]
            delta = {
                name: history.changed(current.get(name), value)
                for name, value in wanted.items()
                if current.get(name) != value
            }
            if new_tags != tags:
                delta["System.Tags"] = history.changed("; ".join(tags), "; ".join(new_tags))
            new_state = row["state"] if state is None else state
            if new_state != row["state"]:
                delta["System.State"] = history.changed(row["state"], new_state)
            if not delta:
                return None
            rev = row["rev"] + 1
            tx.execute(
                "UPDATE work_items SET state = ?, fields = ?, tags = ?, rev = ? WHERE id = ?",
                (new_state, json.dumps(wanted), json.dumps(new_tags), rev, work_item_id),
            )
            self._revision(tx, work_item_id, rev, delta, by)
            return int(rev)

    def add_comment(
        self, work_item_id: int, comment: Comment, *, by: Identity = INTAKE_IDENTITY
    ) -> int:
        html = comment.html
        if comment.mention is not None:
            html = f"{mention_html(comment.mention)} {html}"
        with self.db.transaction() as tx:
            row = self._row(tx, work_item_id)
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
                    history.stamp(self.clock()),
                ),
            )
            # Who wrote it, as DevOps' createdBy (a table of its own: older files lack it).
            tx.execute(
                "INSERT INTO work_item_comment_authors (comment_id, author) VALUES (?, ?)",
                (cursor.lastrowid, json.dumps(history.identity_ref(by))),
            )
            count = tx.execute(
                "SELECT COUNT(*) AS n FROM work_item_comments WHERE work_item_id = ?",
                (work_item_id,),
            ).fetchone()["n"]
            rev = row["rev"] + 1
            tx.execute("UPDATE work_items SET rev = ? WHERE id = ?", (rev, work_item_id))
            self._revision(
                tx,
                work_item_id,
                rev,
                {
                    "System.CommentCount": history.changed(count - 1, count),
                    "System.History": {"newValue": html},
                },
                by,
            )
            return int(cursor.lastrowid or 0)

    def updates(self, work_item_id: int) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            self._row(db, work_item_id)
            return history.updates(db, work_item_id, self.url(work_item_id))

    def changed_since(self, watermark: datetime) -> list[int]:
        with self.db.connect() as db:
            return history.changed_since(db, watermark, self.intake_tag)

    def discussion(self, work_item_id: int) -> list[DiscussionComment]:
        with self.db.connect() as db:
            self._row(db, work_item_id)
            rows = db.execute(
                "SELECT c.id, c.html, c.created_at, a.author FROM work_item_comments c"
                " LEFT JOIN work_item_comment_authors a ON a.comment_id = c.id"
                " WHERE c.work_item_id = ? ORDER BY c.id",
                (work_item_id,),
            ).fetchall()
        found = []
        for row in rows:
            # A comment without a recorded author predates authors: Intake's, as all were.
            ref = json.loads(row["author"]) if row["author"] else None
            author = INTAKE_IDENTITY
            if ref is not None:
                author = Identity(ref["id"], ref["displayName"], ref["uniqueName"])
            found.append(
                DiscussionComment(
                    id=int(row["id"]),
                    html=str(row["html"]),
                    author=author,
                    created_at=datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")),
                    by_intake=author.id == INTAKE_IDENTITY.id,
                )
            )
        return found

    def person(self, email: str) -> Identity:
        """Who a local person is on the board: a configured person, else a stranger known only
        by their email (the board records whoever acts)."""
        known = self.people.get(email.strip().lower())
        if known is not None:
            return known
        stranger = uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{email.strip().lower()}")
        return Identity(str(stranger), email.strip(), email.strip())

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

    def coming_iterations(self) -> list[Iteration]:
        return list(LOCAL_COMING)

    def state_categories(self, work_item_type: str) -> dict[str, str]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT DISTINCT state FROM work_items WHERE type = ?", (work_item_type,)
            ).fetchall()
        states = {row["state"] for row in rows} | set(LOCAL_CATEGORIES)
        return {state: LOCAL_CATEGORIES.get(state, "InProgress") for state in sorted(states)}

    def add_attachment(self, work_item_id: int, attachment: InboundAttachment, *, key: str) -> str:
        """The file kept in the SQLite file, linked to the work item once per ``key``."""
        with self.db.transaction() as tx:
            self._row(tx, work_item_id)
            tx.execute(
                "INSERT OR IGNORE INTO work_item_attachments (work_item_id, key, name,"
                " content_type, size, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    work_item_id,
                    key,
                    attachment.name,
                    attachment.content_type,
                    attachment.size,
                    attachment.content,
                    history.stamp(self.clock()),
                ),
            )
            row = tx.execute(
                "SELECT id FROM work_item_attachments WHERE work_item_id = ? AND key = ?",
                (work_item_id, key),
            ).fetchone()
        return f"{self.base_url}/dev/api/attachments/{row['id']}"

    # --- for the /dev pages ---------------------------------------------------------------
    def comments(self, work_item_id: int) -> list[dict[str, Any]]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT id, html, mention, created_at FROM work_item_comments"
                " WHERE work_item_id = ? ORDER BY id",
                (work_item_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def attachments(self, work_item_id: int) -> list[dict[str, Any]]:
        """The files linked to a work item (``AttachedFile`` relations), without content."""
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT id, name, content_type, size, created_at FROM work_item_attachments"
                " WHERE work_item_id = ? ORDER BY id",
                (work_item_id,),
            ).fetchall()
        return [
            {**dict(row), "url": f"{self.base_url}/dev/api/attachments/{row['id']}"} for row in rows
        ]

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

    def _revision(
        self,
        tx: Any,
        work_item_id: int,
        rev: int,
        fields: dict[str, dict[str, Any]],
        by: Identity,
    ) -> None:
        previous = history.last_stamp(tx, work_item_id)
        history.record(tx, work_item_id, rev, fields, by=by, at=self.clock(), previous_at=previous)


def mention_html(identity: Identity) -> str:
    """A DevOps mention that notifies (the same markup the real adapter sends)."""
    from markupsafe import escape

    return (
        f'<a href="#" data-vss-mention="version:2.0,{escape(identity.id)}">'
        f"@{escape(identity.display_name)}</a>"
    )
