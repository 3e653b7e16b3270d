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
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from intake import sla_follow_up, triage
from intake.closing_rules import COMPLETED, Created, iteration_label, resolution_to_clear
from intake.due_instants import due_of, with_due
from intake.errors import ExternalError, RequestNotFound
from intake.models import RequestRecord, TrackedItem
from intake.ports import FollowUps, Services
from intake.triage_card import escape_markdown
from intake.triage_rules import TriageStep

log = logging.getLogger(__name__)

# The done reply deferred to the calendar's opening: its name in the followed request item's
# ``summary`` (the offer to say) and in ``summary["dueBy"]`` (when: ``due_instants``).
PENDING = "done"

# The decision step whose result names the item each kind of created item came from.
CREATED_BY = {
    "pbi": TriageStep.CREATE_PBI,
    "bug": TriageStep.CREATE_BUG_OR_FEATURE,
    "feature": TriageStep.CREATE_BUG_OR_FEATURE,
}


# Reads a request's work item and caches it for the follow-ups (``follow_up.refresh``,
# passed in by the run: this module is the run's, not the other way round).
Cache = Callable[[int], TrackedItem | None]


def follow_done(
    found: Iterable[tuple[int, Created]],
    services: Services,
    now: datetime,
    cache: Cache = lambda _: None,
) -> list[str]:
    """For each created item whose history was just read: if it is done, the offer, the
    thread reply and (auto-close) the close, once each. Returns the effect keys said."""
    said: list[str] = []
    for work_item_id, created in found:
        try:
            said.extend(_one(work_item_id, created, services, now, cache))
        except RequestNotFound:
            log.warning("follow_up: work item %d names an unknown request", work_item_id)
        except ExternalError as exc:  # one item's failure must not stop the others
            log.warning("follow_up: work item %d: done not handled (%s)", work_item_id, exc.title)
            # The sweep's watermark moves on: the mark makes the next run read it again.
            _follow_ups(services).mark_changed(work_item_id, now)
    return said


def _one(
    work_item_id: int, created: Created, services: Services, now: datetime, cache: Cache
) -> list[str]:
    categories = services.work_items.state_categories(created.work_item_type)
    if categories.get(created.state) != COMPLETED:
        return []
    state = triage.state_of(created.request_id, services)
    made = state.result(CREATED_BY[created.kind]) or {}
    auto = services.settings.auto_close_on_done
    if made.get("id") != work_item_id or (state.closing is not None and not auto):
        return []  # not the item the decision made, or the request is already being closed
    offer: dict[str, Any] = {
        "id": work_item_id,
        "type": created.work_item_type,
        "title": created.title,
        "itemState": created.state,  # not "state": that key is the request's own (client_notify)
        "iteration": iteration_label(created.iteration_path) or None,
        "rev": created.state_rev,
        "at": now.isoformat(),
    }
    # People are told in business hours: a done seen at night, on a weekend or a holiday is
    # said (and, auto, closed and emailed) at the calendar's next opening. Only what is still
    # to be said waits: a sweep that finds it said and closed changes nothing.
    finished = _follow_ups(services).effect(f"{_done_key(offer)}#done") is not None and (
        not auto or state.closing is not None
    )
    if not services.settings.business_calendar.is_open(now) and not finished:
        return _defer(state.record, offer, services, now, cache)
    return _announce(created.request_id, offer, services, now)


def say_due(work_item_ids: Iterable[int], services: Services, now: datetime) -> list[str]:
    """The done replies deferred to the calendar's opening (``_defer``) whose time came, for
    these due request items; each cleared once said. Returns the effect keys said."""
    follow_ups = services.follow_ups
    if follow_ups is None:
        return []
    calendar = services.settings.business_calendar
    said: list[str] = []
    for work_item_id in work_item_ids:
        item = follow_ups.item(work_item_id)
        at = due_of(item, PENDING) if item is not None else None
        if item is None or at is None or at > now:
            continue
        offer = item.summary.get(PENDING)
        if isinstance(offer, dict) and not calendar.is_open(now):
            follow_ups.save_item(with_due(item, PENDING, calendar.next_opening(now)))
            continue
        try:
            if isinstance(offer, dict):
                said.extend(_announce(item.request_id, offer, services, now))
        except RequestNotFound:
            log.warning("follow_up: work item %d names an unknown request", work_item_id)
        except ExternalError as exc:  # still due: the next run says it
            log.warning("follow_up: work item %d: done not said (%s)", work_item_id, exc.title)
            continue
        if isinstance(offer, dict) and follow_ups.effect(f"{_done_key(offer)}#done") is None:
            continue  # another run is saying it: still due until it is recorded
        now_item = follow_ups.item(work_item_id) or item
        summary = {k: v for k, v in now_item.summary.items() if k != PENDING}
        follow_ups.save_item(with_due(replace(now_item, summary=summary), PENDING, None))
    return said


def _defer(
    record: RequestRecord, offer: dict[str, Any], services: Services, now: datetime, cache: Cache
) -> list[str]:
    """Keep the done reply on the request's followed item, due at the next opening under its
    own name (``due_instants``), so the timer wakes then and no other follow-up's save drops
    it. The request's item is read and cached now if it is not yet; one Intake cannot follow
    (its history names no request) cannot keep the instant: the reply is said at once rather
    than lost. Returns the effect keys said."""
    follow_ups = _follow_ups(services)
    number = record.created_work_item_id()
    item = follow_ups.item(number) or cache(number)
    if item is None:
        log.warning("follow_up: request item %d is not followed; done said at once", number)
        return _announce(record.request.id, offer, services, now)
    opening = services.settings.business_calendar.next_opening(now)
    summary = {**item.summary, PENDING: offer}
    follow_ups.save_item(with_due(replace(item, summary=summary), PENDING, opening))
    log.info("follow_up: work item %d done outside hours; said at %s", offer["id"], opening)
    return []


def _done_key(offer: dict[str, Any]) -> str:
    return f"done:{offer['id']}:{offer['rev']}"


def _announce(
    request_id: str, offer: dict[str, Any], services: Services, now: datetime
) -> list[str]:
    """The offer recorded, the thread reply said once, and the card published (or, auto, the
    close asked for)."""
    store = services.store
    store.record_step(request_id, TriageStep.DONE_OFFER.value, offer)  # write-once
    state = triage.state_of(request_id, services)
    auto = services.settings.auto_close_on_done
    work_item_id = int(offer["id"])
    key = _done_key(offer)
    iteration = str(offer.get("iteration") or "")
    item_type, item_state = str(offer.get("type") or ""), str(offer.get("itemState") or "")
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
            f"{escape_markdown(item_type)} #{work_item_id}, made from request "
            f"#{record.work_item_id}, is {escape_markdown(item_state)}{where}. "
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
        triage.publish(triage.state_of(request_id, services), services)
    elif state.closing is None:
        triage.close_on_done(request_id, services)
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
