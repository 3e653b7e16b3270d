"""A followed work item's next due instant, shared by the follow-ups that keep one (the SLA's
ladder, the On Hold relaunch and the weekly update, ...).

Each writes its own instant under its name in ``summary["dueBy"]``, and ``next_due_at`` is the
earliest of them, so none clobbers another's; and a run that dies after one of them saved the
item and before another did leaves the item due at what the other had said before: nothing
falls out of ``FollowUps.due``. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from intake.models import TrackedItem, iso_utc, parse_instant

DUE_BY = "dueBy"
SLA = "sla"  # before this record, only the SLA wrote next_due_at
# A change the run's follow-ups have not all looked at yet (set by follow_up.refresh, cleared
# by the run's last follow-up, silence_follow_up): a run that dies in between leaves the item
# due, so the next run looks again, whatever was lost with the dead one.
CHANGED = "changed"


def with_due(item: TrackedItem, name: str, at: datetime | None) -> TrackedItem:
    """``item`` with ``name``'s next instant set to ``at`` (None: nothing due for it)."""
    due_by: dict[str, str | None] = dict(item.summary.get(DUE_BY) or {})
    if name != SLA and SLA not in due_by:
        due_by[SLA] = iso_utc(item.next_due_at)  # an item cached before the record: the SLA's
    due_by[name] = iso_utc(at)
    due_by = {key: text for key, text in due_by.items() if text or key == SLA}
    instants = [parse_instant(text) for text in due_by.values() if text]
    earliest = min(instants, default=None)
    return replace(item, next_due_at=earliest, summary={**item.summary, DUE_BY: due_by})


def due_of(item: TrackedItem, name: str) -> datetime | None:
    """The instant ``name`` last wrote for ``item``."""
    text = (item.summary.get(DUE_BY) or {}).get(name)
    return parse_instant(text) if text else None
