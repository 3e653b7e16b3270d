"""Closing the loop (issue 15), the follow-up run's part: when an item Intake created from a
request (its PBI, Bug or Feature) reaches a done state, say so in the triage thread and offer
**Close and tell the client** on the card (or, with ``INTAKE_AUTO_CLOSE_ON_DONE``, close at
once); and when a closed request is reopened, clear its resolution.

Derived from the items' histories like every follow-up: the created items carry the
``intake`` tag, so the sweep (WIQL on the tag and ``System.ChangedDate``) and the service hook
bring their changes; "done" is the state's category ``Completed``, read from DevOps for the
item's type, so any process's done states count.

Once each: the offer is a write-once step of the request (``closing.offer``); the thread
reply is said once per done cycle (effect key ``done:{item}:{rev}``, the revision that moved
the item into its done state, so a reopened and done-again item is announced again); the
close itself is a write-once claim (``closing``) whose steps run like a decision's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from intake import sla_follow_up, triage
from intake.closing_rules import COMPLETED, Created, iteration_label, resolution_to_clear
from intake.errors import ExternalError, RequestNotFound
from intake.ports import FollowUps, Services
from intake.triage_card import escape_markdown
from intake.triage_rules import TriageStep

log = logging.getLogger(__name__)

# The decision step whose result names the item each kind of created item came from.
CREATED_BY = {
    "pbi": TriageStep.CREATE_PBI,
    "bug": TriageStep.CREATE_BUG_OR_FEATURE,
    "feature": TriageStep.CREATE_BUG_OR_FEATURE,
}


def follow_done(
    found: Iterable[tuple[int, Created]], services: Services, now: datetime
) -> list[str]:
    """For each created item whose history was just read: if it is done, the offer, the
    thread reply and (auto-close) the close, once each. Returns the effect keys said."""
    said: list[str] = []
    for work_item_id, created in found:
        try:
            said.extend(_one(work_item_id, created, services, now))
        except RequestNotFound:
            log.warning("follow_up: work item %d names an unknown request", work_item_id)
        except ExternalError as exc:  # one item's failure must not stop the others
            log.warning("follow_up: work item %d: done not handled (%s)", work_item_id, exc.title)
            # The sweep's watermark moves on: the mark makes the next run read it again.
            _follow_ups(services).mark_changed(work_item_id, now)
    return said


def _one(work_item_id: int, created: Created, services: Services, now: datetime) -> list[str]:
    categories = services.work_items.state_categories(created.work_item_type)
    if categories.get(created.state) != COMPLETED:
        return []
    state = triage.state_of(created.request_id, services)
    made = state.result(CREATED_BY[created.kind]) or {}
    auto = services.settings.auto_close_on_done
    if made.get("id") != work_item_id or (state.closing is not None and not auto):
        return []  # not the item the decision made, or the request is already being closed
    iteration = iteration_label(created.iteration_path)
    offer: dict[str, Any] = {
        "id": work_item_id,
        "type": created.work_item_type,
        "title": created.title,
        "itemState": created.state,  # not "state": that key is the request's own (client_notify)
        "iteration": iteration or None,
        "rev": created.state_rev,
        "at": now.isoformat(),
    }
    store = services.store
    store.record_step(created.request_id, TriageStep.DONE_OFFER.value, offer)  # write-once
    key = f"done:{work_item_id}:{created.state_rev}"
    record = state.record
    said: list[str] = []

    def send() -> str:
        settings = services.settings
        people = [sla_follow_up.coordinator(settings)]
        if not auto:
            people += sla_follow_up.scrum_masters(settings, store.scrum_masters())
        names = " ".join(f"<at>{person.name}</at>" for person in people)
        where = f" in {escape_markdown(iteration)}" if iteration else " (no iteration)"
        text = (
            f"{escape_markdown(created.work_item_type)} #{work_item_id}, made from request "
            f"#{record.work_item_id}, is {escape_markdown(created.state)}{where}. "
            + (
                "Intake closes the request (resolution Done) and tells the client."
                if auto
                else f"{names}: **Close and tell the client** is on the card above."
            )
        )
        thread = sla_follow_up.thread_of(record)
        if thread is None:
            return services.channel.post(text, key=key, mentions=people).activity_id
        return services.channel.reply(thread, text, key=key, mentions=people)

    follow_ups = _follow_ups(services)
    if follow_ups.effect(f"{key}#done") is None:
        if sla_follow_up.say_once(follow_ups, key, send, now):
            said.append(key)
        else:  # another run claimed it and has not said it yet: look again next run
            follow_ups.mark_changed(work_item_id, now)
    if not auto:
        triage.publish(triage.state_of(created.request_id, services), services)
    elif state.closing is None:
        triage.close_on_done(created.request_id, services)
    return said


def clear_reopened(work_item_ids: Iterable[int], services: Services) -> list[int]:
    """Clear the resolution of each request reopened since it was written (a client's reply
    reopens it, or a person in DevOps); from the cached histories, no extra read. Returns the
    work items cleared. Writing "" again changes nothing, so a second run is harmless."""
    field = services.settings.resolution_field
    follow_ups = services.follow_ups
    if not field or follow_ups is None:
        return []
    cleared = []
    for work_item_id in work_item_ids:
        item = follow_ups.item(work_item_id)
        if item is None:
            continue
        if not resolution_to_clear(item.updates, field, services.settings.state_closed):
            continue
        try:
            services.work_items.update(work_item_id, fields={field: ""})
        except ExternalError as exc:
            log.warning("follow_up: work item %d: resolution not cleared (%s)", work_item_id, exc)
            continue
        cleared.append(work_item_id)
    return cleared


def _follow_ups(services: Services) -> FollowUps:
    if services.follow_ups is None:
        raise RuntimeError("follow-ups need a store for them (see bootstrap)")
    return services.follow_ups
