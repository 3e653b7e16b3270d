"""The part of the follow-up timer's run that speaks when nothing happens (issue 15): the
On Hold relaunch (``relaunch_follow_up``) and the weekly update (``weekly_update``); when each
falls due is ``follow_rules``'.

Called by ``follow_up.run_follow_up`` after the SLA's clocks, with the same work items (what
changed or fell due), so the work stays in proportion to them: each costs a read of its request
and of an effect record or two, and no DevOps call (its history is cached).

What the client gets is sent under the request's lease (as ``client_updates``), so a request's
own steps and a second timer run never send at the same time.

**The next instant** is shared with the SLA's (``due_instants``): this module's is kept as
``summary["dueBy"]["silence"]`` and ``TrackedItem.next_due_at`` is the earliest, so neither
clobbers the other. Whatever cannot be done now (the lease taken, DevOps or mail down) leaves
the item due, so the next run tries again: nothing is lost.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from intake import relaunch_follow_up, weekly_update
from intake.due_instants import CHANGED, with_due
from intake.errors import ExternalError, RequestNotFound
from intake.models import TrackedItem
from intake.ports import FollowUps, Services
from intake.relaunch_follow_up import Policy

log = logging.getLogger(__name__)

SUMMARY = "silence"  # this module's name in summary["dueBy"] (due_instants)
LEASE_SECONDS = 120.0


def follow_silences(services: Services, work_item_ids: Iterable[int], now: datetime) -> list[str]:
    """Relaunch and update the clients of these work items as due; the effect keys said."""
    follow_ups = services.follow_ups
    if follow_ups is None:
        return []
    policy = Policy.of(services.settings)
    said: list[str] = []
    for work_item_id in work_item_ids:
        item = follow_ups.item(work_item_id)
        if item is None:
            continue
        mine: datetime | None = None
        try:
            spoken, mine = follow_item(item, services, policy, now)
            said += spoken
        except RequestNotFound:
            log.warning("follow_up: work item %d names an unknown request", work_item_id)
        except ExternalError as exc:  # one item's failure must not stop the others
            log.warning("follow_up: work item %d: %s; next run", work_item_id, exc.title)
            mine = now
        # The run's last look at the item: its change is seen (due_instants.CHANGED).
        schedule(follow_ups, work_item_id, mine, seen=True)
    return said


def follow_item(
    item: TrackedItem, services: Services, policy: Policy, now: datetime
) -> tuple[list[str], datetime | None]:
    """Say what is due for one item; returns the keys said and when it is due again."""
    store, follow_ups = services.store, _follow_ups(services)
    record = store.get_request(item.request_id)
    if record.work_item_id != item.work_item_id:
        return [], None  # a work item of the request's (a PBI ...), not the request's own
    relaunch = relaunch_follow_up.plan(item, policy, follow_ups, now)
    weekly = weekly_update.plan(item, record, policy, follow_ups, now)
    spoken: list[str] = []
    if relaunch.due or weekly.due:
        # Due now until said: a run that dies while saying it leaves the item due.
        schedule(follow_ups, item.work_item_id, min(d.at for d in (relaunch.due, weekly.due) if d))
        owner = f"silence-{uuid.uuid4().hex}"
        if not store.acquire_lease(record.request.id, owner, LEASE_SECONDS):
            return [], now  # its steps run: the next run
        try:
            record = store.get_request(item.request_id)  # as it is now that we hold it
            if relaunch.due:
                spoken += relaunch_follow_up.say(relaunch.due, item, record, services, policy, now)
            if weekly.due:
                spoken += weekly_update.say(weekly.due, item, record, services, policy, now)
        finally:
            store.release_lease(record.request.id, owner)
        record = store.get_request(item.request_id)  # what was just said moves the next
        relaunch = relaunch_follow_up.plan(item, policy, follow_ups, now)
        weekly = weekly_update.plan(item, record, policy, follow_ups, now)
    nexts = [at for at in (relaunch.next_at, weekly.next_at) if at is not None]
    return spoken, min(nexts, default=None)


def schedule(
    follow_ups: FollowUps, work_item_id: int, mine: datetime | None, *, seen: bool = False
) -> None:
    """Make the item due at ``mine`` too (``due_instants``: the SLA's instant is kept);
    ``seen``: every follow-up of the run has looked at its change."""
    item = follow_ups.item(work_item_id)  # as the SLA just saved it
    if item is None:
        return
    updated = with_due(item, SUMMARY, mine)
    if seen:
        updated = with_due(updated, CHANGED, None)
    if updated != item:
        follow_ups.save_item(updated)


def _follow_ups(services: Services) -> FollowUps:
    if services.follow_ups is None:
        raise RuntimeError("follow-ups need a store for them (see bootstrap)")
    return services.follow_ups
