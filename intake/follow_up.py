"""The follow-up timer's use case: find what changed in DevOps, refresh those work items'
cached histories, then say what the clocks say is due (see DESIGN "After triage").

Work is in proportion to what changed or fell due, never to the number of open requests:
one query for the work items changed since the last sweep (plus the ones a service hook
marked), one read of the updates of each of those, and, for the rest, only the cached
histories whose next due instant has come. The caches are derived from DevOps and can be
thrown away: the next sweep of a work item rebuilds its entry.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from intake import (
    cadence_follow_up,
    closing,
    inbound,
    iteration_choices,
    silence_follow_up,
    sla_follow_up,
    triage,
)
from intake.client_updates import tell_clients
from intake.closing_rules import Created, created_of
from intake.due_instants import CHANGED, with_due
from intake.errors import ExternalRejected
from intake.models import TrackedItem
from intake.ports import FollowUps, Services

log = logging.getLogger(__name__)

# A sweep looks a little before its watermark: DevOps stamps ChangedDate with its own clock,
# and a change committed while the previous sweep ran must not fall between two sweeps.
SWEEP_OVERLAP = timedelta(seconds=60)
# The very first sweep (an empty store) follows what changed in this window.
FIRST_SWEEP_LOOKBACK = timedelta(days=14)
# Long texts (descriptions, comments) are cut in the cache: the clocks read states,
# severities and who acted, and a table row must stay small.
MAX_CACHED_TEXT = 256
REQUEST_TAG = re.compile(r"^intake-([0-9a-f]{16})$")  # before the request id field
REQUEST_ID = re.compile(r"^[0-9a-f]{16}$")  # the field of what triage made reads <id>/pbi ...


@dataclass
class FollowUpRun:
    """What one run did (logged, and returned to tests and the bench)."""

    swept: list[int] = field(default_factory=list)
    refreshed: list[int] = field(default_factory=list)
    due: list[int] = field(default_factory=list)
    said: list[str] = field(default_factory=list)


def announce_change(work_item_id: int, services: Services) -> None:
    """A work item changed (a DevOps service hook said so, or a person on the local board):
    the next run reads its history, whatever the sweep's watermark says."""
    follow_ups = _follow_ups(services)
    follow_ups.mark_changed(work_item_id, services.clock())


def run_follow_up(services: Services) -> FollowUpRun:
    """One run of the ``follow_up`` timer."""
    follow_ups = services.follow_ups
    run = FollowUpRun()
    if follow_ups is None:
        log.warning("follow_up: no store for follow-ups is configured; nothing done")
        return run
    now = services.clock()
    marks = follow_ups.changed()
    watermark = follow_ups.watermark()
    since = (watermark - SWEEP_OVERLAP) if watermark else now - FIRST_SWEEP_LOOKBACK
    run.swept = services.work_items.changed_since(since)
    created: list[tuple[int, Created]] = []  # what triage made from requests (issue 15)
    for work_item_id in sorted(set(marks) | set(run.swept)):
        if refresh(work_item_id, services, now, created=created) is not None:
            run.refreshed.append(work_item_id)
    follow_ups.forget_changed(marks)
    run.said += tell_clients(run.refreshed, services)
    # Closing the loop (issue 15): done items offer the close; reopening clears resolutions.
    run.said += closing.follow_done(
        created, services, now, cache=lambda number: refresh(number, services, now)
    )
    closing.clear_reopened(run.refreshed, services)
    iteration_choices.refresh(services, now)  # the sprints Create PBI offers, kept fresh
    follow_ups.set_watermark(now)
    run.due = [item.work_item_id for item in follow_ups.due(now)]
    # Done replies seen outside business hours, said at the opening (issue 15).
    run.said += closing.say_due(run.due, services, now)
    # The clocks of what changed or fell due, their reminders, and the digest's slot.
    run.said += sla_follow_up.follow_clocks(
        services, sorted({*run.refreshed, *run.due}), now, triage.publish_card
    )
    # The no-response cadence of a request waiting on its client (issue 15).
    run.said += cadence_follow_up.follow_waits(services, sorted({*run.refreshed, *run.due}), now)
    # On Hold relaunches and weekly updates of the same items, after the SLA (issue 15); last:
    # it clears the "look at it now" mark refresh() leaves on a changed item.
    run.said += silence_follow_up.follow_silences(services, sorted({*run.refreshed, *run.due}), now)
    if run.swept or marks or run.due:
        log.info(
            "follow_up: %d swept, %d marked, %d refreshed, %d due, %d said",
            len(run.swept),
            len(marks),
            len(run.refreshed),
            len(run.due),
            len(run.said),
        )
    inbound.read_replies(services)  # clients' replies by email (intake/inbound.py)
    return run


def refresh(
    work_item_id: int,
    services: Services,
    now: datetime,
    *,
    created: list[tuple[int, Created]] | None = None,
) -> TrackedItem | None:
    """Read a changed work item's updates and cache them; None if it is not a request's.
    An item triage made from a request (its PBI, Bug or Feature) is not cached: it goes to
    ``created`` with what its history says, for closing the loop."""
    follow_ups = _follow_ups(services)
    try:
        updates = services.work_items.updates(work_item_id)
    except ExternalRejected as exc:
        if exc.remote_status == 404:  # deleted, or not ours to read: nothing to follow
            log.info("follow_up: work item %d is gone", work_item_id)
            return None
        raise
    known = follow_ups.item(work_item_id)
    field = services.settings.request_id_field
    request_id = known.request_id if known else request_id_of(updates, field)
    if request_id is None:
        made = created_of(updates, field) if created is not None else None
        if made is not None and created is not None:
            created.append((work_item_id, made))
        return None  # a work item a hook told us about that no request of ours made
    item = TrackedItem(
        work_item_id=work_item_id,
        request_id=request_id,
        updates=tuple(trimmed(update) for update in updates),
        next_due_at=known.next_due_at if known else None,
        running=known.running if known else False,
        summary=known.summary if known else {},
    )
    # Due now until this run's follow-ups have looked at the change: a run that dies first
    # leaves it to the next one (due_instants.CHANGED, cleared by silence_follow_up).
    item = with_due(item, CHANGED, now)
    follow_ups.save_item(item)
    return item


def request_id_of(updates: list[dict[str, Any]], field: str) -> str | None:
    """The request whose own work item this is: its request id ``field``
    (``settings.request_id_field``), else its ``intake-<id>`` tag (items made before the
    field), as the latest revision that set either has it. A PBI, Task or Bug made by triage
    holds ``<id>/pbi`` ... there: not a request's item, not followed."""
    found: str | None = None
    for update in updates:
        fields = update.get("fields") or {}
        value = (fields.get(field) or {}).get("newValue")
        if isinstance(value, str) and REQUEST_ID.match(value):
            found = value
            continue
        tags = (fields.get("System.Tags") or {}).get("newValue")
        if isinstance(tags, str):
            for tag in (t.strip() for t in tags.split(";")):
                match = REQUEST_TAG.match(tag)
                if match:
                    found = match.group(1)
    return found


def trimmed(update: dict[str, Any]) -> dict[str, Any]:
    """An update as cached: every field kept, long texts cut (see ``MAX_CACHED_TEXT``)."""
    fields = {}
    for name, change in (update.get("fields") or {}).items():
        fields[name] = {
            side: value[:MAX_CACHED_TEXT] if isinstance(value, str) else value
            for side, value in change.items()
        }
    kept = {k: v for k, v in update.items() if k not in ("fields", "relations", "url", "_links")}
    return {**kept, "fields": fields}


def _follow_ups(services: Services) -> FollowUps:
    if services.follow_ups is None:
        raise ExternalRejected("follow-ups need a store for them (see bootstrap)")
    return services.follow_ups
