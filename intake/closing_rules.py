"""Closing the loop's pure rules (issue 15), over DevOps' update JSON: which request an item
Intake created belongs to, whether and since when it is done, and whether a reopened request
still carries its old resolution. No I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# What triage creates from a request and follows to its done state: the request id field
# holds ``<id>/pbi``, ``<id>/bug`` or ``<id>/feature`` (Tasks are the PBI's, not followed).
CREATED = re.compile(r"^([0-9a-f]{16})/(pbi|bug|feature)$")
COMPLETED = "Completed"  # the state category of done states, in every process


@dataclass(frozen=True)
class Created:
    """An item Intake created from a request, as its history says it is now."""

    request_id: str
    kind: str  # pbi, bug, feature
    work_item_type: str
    title: str
    state: str
    state_rev: int  # the revision that moved it into ``state`` (a done cycle's key)
    iteration_path: str


def latest(updates: Sequence[dict[str, Any]], name: str) -> Any:
    """The latest value a field was set to in ``updates`` (None: never set)."""
    found = None
    for update in updates:
        change = (update.get("fields") or {}).get(name)
        if change is not None:
            found = change.get("newValue")
    return found


def created_of(updates: Sequence[dict[str, Any]], request_id_field: str) -> Created | None:
    """The created item these updates are the history of, or None (not one of ours)."""
    key = latest(updates, request_id_field)
    match = CREATED.match(key) if isinstance(key, str) else None
    if match is None:
        return None
    state_rev = 0
    for update in updates:
        if "System.State" in (update.get("fields") or {}):
            state_rev = int(update.get("rev") or 0)
    return Created(
        request_id=match.group(1),
        kind=match.group(2),
        work_item_type=str(latest(updates, "System.WorkItemType") or ""),
        title=str(latest(updates, "System.Title") or ""),
        state=str(latest(updates, "System.State") or ""),
        state_rev=state_rev,
        iteration_path=str(latest(updates, "System.IterationPath") or ""),
    )


def iteration_label(path: str) -> str:
    """An iteration path as people say it: its last part, or "" for the project's root (the
    backlog: no sprint)."""
    parts = [p for p in path.replace("/", "\\").split("\\") if p]
    return parts[-1] if len(parts) > 1 else ""


def resolution_to_clear(
    updates: Sequence[dict[str, Any]], resolution_field: str, closed_state: str
) -> bool:
    """True when the request was reopened (its state left ``closed_state``) after its
    resolution was last written, and the resolution is still there: reopening clears it."""
    reopened_at = written_at = 0
    for update in updates:
        fields = update.get("fields") or {}
        rev = int(update.get("rev") or 0)
        state = fields.get("System.State")
        if state and state.get("oldValue") == closed_state != state.get("newValue"):
            reopened_at = rev
        if resolution_field in fields:
            written_at = rev
    value = latest(updates, resolution_field)
    return bool(value) and reopened_at > 0 and written_at <= reopened_at
