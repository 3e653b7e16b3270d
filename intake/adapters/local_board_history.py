"""The local board's revision history, kept and served the way Azure DevOps keeps it.

Every change to a local work item (its creation, a state change, a field update, a comment)
is one revision: its number, the clock's time, who made it (Intake's own identity, or the
person acting through ``PATCH /dev/api/workitems/{id}``) and each changed field's old and new
value. ``updates`` serves them as DevOps' ``GET workItems/{id}/updates`` does
(``WorkItemUpdate``: ``id``, ``workItemId``, ``rev``, ``revisedBy``, ``revisedDate``,
``fields: {name: {oldValue, newValue}}``), so the SLA rules read one shape whichever board
they run on. As in DevOps, a revision's ``revisedDate`` is the moment the next revision
replaced it, and the latest revision's is ``9999-01-01T00:00:00Z``; when a revision was made
is its ``System.ChangedDate``. A comment is a revision too (``System.CommentCount`` and
``System.History``), as it is in DevOps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from intake.models import Identity

NEVER_REVISED = "9999-01-01T00:00:00Z"
# The identity the local board records for Intake's own changes (DevOps: the PAT's owner or
# the service principal).
INTAKE_IDENTITY = Identity(
    id="00000000-0000-0000-0000-00000000a11e", display_name="Intake", email="intake@local"
)


def stamp(moment: datetime) -> str:
    """DevOps' date format, fixed width (so stored stamps also sort as text)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def identity_ref(identity: Identity) -> dict[str, str]:
    """An identity as DevOps writes it in an update (``IdentityRef``)."""
    return {
        "id": identity.id,
        "displayName": identity.display_name,
        "uniqueName": identity.email,
    }


def changed(old: Any, new: Any) -> dict[str, Any]:
    """One field's change (a field that did not exist before has no ``oldValue``)."""
    return {"newValue": new} if old is None else {"oldValue": old, "newValue": new}


def record(
    tx: Any,
    work_item_id: int,
    rev: int,
    fields: dict[str, dict[str, Any]],
    *,
    by: Identity,
    at: datetime,
    previous_at: str | None,
) -> None:
    """Append revision ``rev`` with the bookkeeping fields DevOps adds to every revision."""
    person = identity_ref(by)
    when = stamp(at)
    bookkeeping = {
        "System.Rev": changed(rev - 1 if rev > 1 else None, rev),
        "System.ChangedDate": changed(previous_at, when),
        "System.ChangedBy": {"newValue": person},
        "System.AuthorizedDate": changed(previous_at, when),
    }
    tx.execute(
        "INSERT INTO work_item_history (work_item_id, rev, change, at) VALUES (?, ?, ?, ?)",
        (
            work_item_id,
            rev,
            json.dumps({"revisedBy": person, "fields": {**fields, **bookkeeping}}),
            when,
        ),
    )


def last_stamp(tx: Any, work_item_id: int) -> str | None:
    row = tx.execute(
        "SELECT at FROM work_item_history WHERE work_item_id = ? ORDER BY rev DESC LIMIT 1",
        (work_item_id,),
    ).fetchone()
    return None if row is None else str(row["at"])


def updates(
    db: Any, work_item_id: int, url: str, *, top: int | None = None, skip: int = 0
) -> list[dict[str, Any]]:
    """Revisions ``skip+1`` … of a work item in DevOps' ``WorkItemUpdate`` shape."""
    rows = db.execute(
        "SELECT rev, change, at FROM work_item_history WHERE work_item_id = ? ORDER BY rev",
        (work_item_id,),
    ).fetchall()
    shaped = []
    for index, row in enumerate(rows):
        change = json.loads(row["change"])
        following = rows[index + 1]["at"] if index + 1 < len(rows) else NEVER_REVISED
        shaped.append(
            {
                "id": index + 1,
                "workItemId": work_item_id,
                "rev": row["rev"],
                "revisedBy": change.get("revisedBy", identity_ref(INTAKE_IDENTITY)),
                "revisedDate": following,
                "fields": change.get("fields", {}),
                "url": f"{url}/updates/{index + 1}",
            }
        )
    end = None if top is None else skip + top
    return shaped[skip:end]


def changed_since(db: Any, watermark: datetime, tag: str) -> list[int]:
    """Work items with a revision after ``watermark`` that carry ``tag``, oldest change first."""
    rows = db.execute(
        "SELECT h.work_item_id AS id, MAX(h.at) AS last, w.tags FROM work_item_history h"
        " JOIN work_items w ON w.id = h.work_item_id WHERE h.at > ?"
        " GROUP BY h.work_item_id ORDER BY last, h.work_item_id",
        (stamp(watermark),),
    ).fetchall()
    return [int(row["id"]) for row in rows if tag in json.loads(row["tags"])]
