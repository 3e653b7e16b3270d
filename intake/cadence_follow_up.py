"""The no-response cadence in the follow-up timer's run (issue 15; the rules:
``intake.follow_rules`` for the days, ``intake.waiting`` for the wait).

For each work item that changed or fell due: the wait it is in (entering
``INTAKE_STATE_WAITING_CLIENT`` is Day 1), and what is due now:

- Day 5 (``INTAKE_CADENCE_DAYS``): the question again ("we are still waiting for ...");
- Day 9: the last time, saying the request is closed in one business day without an answer;
- Day 10: closed (``INTAKE_STATE_CLOSED``, resolution "No response"), with a comment, an
  email telling the client how to reopen (reply to it), and a note in the triage thread;
- answered (a reply by email, or the client's ``#client`` comment, after the wait began):
  the cadence stops and the request goes back to the state it was in before the wait.

Leaving the state stops the cadence (nothing is due without a current wait); entering it
again is a new wait (a new revision), at Day 1; so is a new question asked with the card
during the wait (``waiting.restarted``: Day 1 at the question, keys ``{rev}.{n}``).
Questions asked with the card and not sent yet (``intake.ask_client``) are finished here
too: the timer is the queue's safety net.

**Each effect once.** Every step is recorded on the request as ``cadence:{item}:{rev}:{day}``
(``rev``: the revision that entered the state), the closing's parts as
``cadence:{item}:{rev}:{day}:{part}``; the email carries the request's effect key for its
step (``send_once``: Sent Items first), the comment its key, the thread note its key; the
state change is a no-op when done. All of it runs under the request's lease, as the client
updates do, so two runs never do the same step at once; what fails marks the item changed,
and the next run does what is not recorded yet.

The closing's state change is its last part: until it is made the item still waits, so a
run after a failure finds the wait and finishes it. Its record carries ``state_result``:
the client is not sent a second, "closed", state email by ``client_updates``. One window
remains: a worker that dies after DevOps closed the item and before that record (one store
write) leaves the change unrecorded; the next run records it from the history
(``_finish_closing``), but if ``client_updates`` looks at the item first, after its merge
window, the client also gets the plain "your request is now Closed" email. Said twice in
other words, never lost.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from intake import ask_client, emails
from intake.attempts import record_attempt, send_once
from intake.client_notify import state_changes
from intake.client_status import client_email_result, state_result
from intake.decision_steps import close_request
from intake.due_instants import with_due
from intake.errors import ExternalError, ExternalRejected, RequestNotFound
from intake.follow_rules import CadenceStep, cadence, cadence_due
from intake.models import Comment, RequestRecord, Step, Thread, TrackedItem, iso_utc
from intake.ports import FollowUps, Services
from intake.status_page import status_link
from intake.triage_rules import NO_RESPONSE
from intake.waiting import Wait, answered, asks, current_wait, question_of, restarted

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
SUMMARY_KEY = "cadence"  # this module's part of the cached summary (the SLA's is its own)
CLOSING_PARTS = ("comment", "email", "note")


def cadence_key(work_item_id: int, rev: int | str, day: int | str) -> str:
    return f"cadence:{work_item_id}:{rev}:{day}"


def follow_waits(services: Services, work_item_ids: Iterable[int], now: datetime) -> list[str]:
    """Say what the cadence says is due for these work items; the steps recorded. Called by
    the follow-up run after the SLA's clocks (whose ``next_due_at`` this one only lowers)."""
    follow_ups = services.follow_ups
    if follow_ups is None:
        return []
    said: list[str] = []
    for work_item_id in work_item_ids:
        item = follow_ups.item(work_item_id)
        if item is None:
            continue
        try:
            said += follow_wait(item, services, now)
        except RequestNotFound:
            continue
        except ExternalError as exc:  # one item's failure must not stop the others
            log.warning("cadence of work item %d: %s; next run", work_item_id, exc.title)
            follow_ups.mark_changed(work_item_id, now)
    return said


def follow_wait(item: TrackedItem, services: Services, now: datetime) -> list[str]:
    store = services.store
    record = store.get_request(item.request_id)
    if record.work_item_id != item.work_item_id:
        return []  # a work item of the request's (a PBI), not the request's own
    settings = services.settings
    wait = current_wait(item.updates, settings.state_waiting_client)
    if wait is not None:  # a new question asked during the wait: Day 1 again, from it
        wait = restarted(wait, record)
    said: list[str] = []
    if _has_work(item, record, wait, services, now):
        # Due until it is done: a worker that dies below leaves the item due, so the next
        # run finds what it left (the SLA's run sets ``next_due_at`` from its clocks alone).
        if item.next_due_at is None or item.next_due_at > now:
            _follow_ups_of(services).save_item(replace(item, next_due_at=now))
        owner = f"cadence-{uuid.uuid4().hex}"
        if not store.acquire_lease(record.request.id, owner, LEASE_SECONDS):
            _follow_ups_of(services).mark_changed(item.work_item_id, now)
            return []  # its steps are running; the next run looks again
        try:
            record = store.get_request(item.request_id)  # as it is now that we hold it
            said += ask_client.finish_asks(record, services)
            record = store.get_request(item.request_id)
            said += _finish_closing(item, record, services)
            if wait is not None:
                said += _follow(item, record, wait, services, now)
        finally:
            store.release_lease(record.request.id, owner)
    _save_next_due(item.work_item_id, record, wait, services, now)
    return said


def _has_work(
    item: TrackedItem,
    record: RequestRecord,
    wait: Wait | None,
    services: Services,
    now: datetime,
) -> bool:
    """Whether anything is to be done (no lease is taken, nothing written, otherwise)."""
    if any(not ask_client.is_sent(record, n) for n, _ in asks(record)):
        return True
    if _unfinished_closing(item, record, services) is not None:
        return True
    if wait is None:
        return False
    if answered(wait, item.updates, record) is not None:
        return cadence_key(item.work_item_id, wait.cycle, "back") not in record.steps
    return any(
        cadence_key(item.work_item_id, wait.cycle, step.day) not in record.steps
        for step in cadence_due(
            services.settings.business_calendar, wait.since, now, _days(services)
        )
    )


def _follow(
    item: TrackedItem, record: RequestRecord, wait: Wait, services: Services, now: datetime
) -> list[str]:
    number = item.work_item_id
    if answered(wait, item.updates, record) is not None:
        key = cadence_key(number, wait.cycle, "back")
        if key in record.steps:
            return []
        # The client answered: the request goes back to where it was before the wait. Told
        # in Intake's own words (state_result): the client is not emailed the state change.
        services.work_items.set_state(number, wait.previous_state)
        services.store.record_step(
            record.request.id, key, state_result(wait.previous_state, services.clock())
        )
        log.info("request %s: answered; back to %s", record.request.id, wait.previous_state)
        return [key]
    calendar = services.settings.business_calendar
    due = [
        step
        for step in cadence_due(calendar, wait.since, now, _days(services))
        if cadence_key(number, wait.cycle, step.day) not in record.steps
    ]
    if not due:
        return []
    said: list[str] = []
    # After an outage only the latest step due is said: two reminders at once help nobody.
    for skipped in due[:-1]:
        key = cadence_key(number, wait.cycle, skipped.day)
        services.store.record_step(record.request.id, key, {"skipped": True, "at": iso_utc(now)})
        said.append(key)
    step = due[-1]
    if step.closes:
        said += _close(number, record, wait, step, services)
    else:
        said.append(_remind(number, record, wait, step, services))
    return said


def _remind(
    number: int, record: RequestRecord, wait: Wait, step: CadenceStep, services: Services
) -> str:
    key = cadence_key(number, wait.cycle, step.day)
    days = _days(services)
    stage = "last" if len(days) > 1 and step.day == days[-2] else "again"
    email = ask_client.question_email(
        record, key, question_of(wait, record), services, stage=stage, asked_on=wait.since
    )
    message_id = send_once(record, email, services)
    result = client_email_result(email, message_id, services.clock())
    result["cadence"] = {"day": step.day, "rev": wait.rev}
    services.store.record_step(record.request.id, key, result)
    log.info("request %s: cadence Day %d said", record.request.id, step.day)
    return key


def _close(
    number: int, record: RequestRecord, wait: Wait, step: CadenceStep, services: Services
) -> list[str]:
    """Day 10: the comment, the email, the thread note, then the resolution and the state
    (last: until then the item still waits, so a failed run is finished by the next)."""
    key = cadence_key(number, wait.cycle, step.day)
    said: list[str] = []
    for part in CLOSING_PARTS:
        part_key = f"{key}:{part}"
        if part_key in record.steps:
            continue
        result = CLOSING[part](number, record, wait, part_key, services)
        services.store.record_step(record.request.id, part_key, result)
        said.append(part_key)
    # The resolution and the state as every close writes them (decision_steps.close_request).
    result = close_request(number, NO_RESPONSE, services)
    services.store.record_step(record.request.id, key, result)
    log.info("request %s: closed for no response (Day %d)", record.request.id, step.day)
    return [*said, key]


def _closing_comment(
    number: int, record: RequestRecord, wait: Wait, key: str, services: Services
) -> dict[str, Any]:
    calendar = services.settings.business_calendar
    since = calendar.local(wait.since).strftime("%a %d %b %Y %H:%M %Z")
    text = (
        f"<p>Closed with the resolution <b>{NO_RESPONSE}</b>: the client was asked on "
        f"{html.escape(since)} and did not answer. They were told by email that a reply "
        "reopens the request.</p>"
    )
    comment = Comment(key=record.effect_key(key), html=text)
    return {"comment_id": services.work_items.add_comment(number, comment)}


def _closing_email(
    number: int, record: RequestRecord, wait: Wait, key: str, services: Services
) -> dict[str, Any]:
    email = emails.compose_for_client(
        "client_closed_no_response",
        key=record.effect_key(key),
        request=record.request,
        work_item_id=number,
        subject="Your request is closed: no answer",
        status_url=status_link(record, services),
        reply_to=services.settings.mail_sender,
        asked_on=emails.when(wait.since),
        resolution=NO_RESPONSE,
    )
    message_id = send_once(record, email, services)
    return client_email_result(email, message_id, services.clock())


def _closing_note(
    number: int, record: RequestRecord, wait: Wait, key: str, services: Services
) -> dict[str, Any]:
    """A note in the triage thread (none: nothing to say it in). Teams cannot be asked whether
    an earlier attempt posted it: the attempt is recorded first, as inbound's note."""
    card = record.result(Step.POST_TRIAGE_CARD)
    if not card.get("activity_id"):
        return {"note": None}
    text = (
        f"#{number} is closed with the resolution {NO_RESPONSE}: the client did not answer "
        "the question. A reply from them by email reopens it."
    )
    note_key = record.effect_key(key)
    attempt = record_attempt(record, note_key, services)
    if attempt.earlier_unknown:
        log.warning("request %s: an earlier attempt may have posted the note", record.request.id)
    try:
        thread = Thread(str(card["conversation_id"]), str(card["activity_id"]))
        return {"note": services.channel.reply(thread, text, key=note_key)}
    except ExternalError as exc:
        attempt.failed(exc, record.request.id, services)
        raise


CLOSING = {"comment": _closing_comment, "email": _closing_email, "note": _closing_note}


def _unfinished_closing(
    item: TrackedItem, record: RequestRecord, services: Services
) -> tuple[str, datetime] | None:
    """A closing whose state change was made but not recorded (a crash between the two):
    the item went from waiting to closed right after its closing email. Returns its key and
    when it closed, to record it as Intake's own change."""
    settings = services.settings
    changes = state_changes(item.updates)
    if len(changes) < 2:
        return None
    closed, entered = changes[-1], changes[-2]
    if not (
        closed.old.strip().lower() == settings.state_waiting_client.strip().lower()
        and closed.new.strip().lower() == settings.state_closed.strip().lower()
        and entered.rev < closed.rev
    ):
        return None
    wait = restarted(Wait(entered.rev, entered.at, entered.old), record, until=closed.at)
    key = cadence_key(item.work_item_id, wait.cycle, _days(services)[-1])
    if f"{key}:email" in record.steps and key not in record.steps:
        return key, closed.at
    return None


def _finish_closing(item: TrackedItem, record: RequestRecord, services: Services) -> list[str]:
    found = _unfinished_closing(item, record, services)
    if found is None:
        return []
    key, at = found
    result = state_result(services.settings.state_closed, at)
    services.store.record_step(record.request.id, key, {**result, "resolution": NO_RESPONSE})
    return [key]


def _save_next_due(
    work_item_id: int,
    record: RequestRecord,
    wait: Wait | None,
    services: Services,
    now: datetime,
) -> None:
    """Record the cadence's next instant (the item is due at the earliest of every
    follow-up's), and keep the wait in this module's summary key."""
    follow_ups = services.follow_ups
    if follow_ups is None:
        return
    item = follow_ups.item(work_item_id)  # as the SLA's run left it
    if item is None:
        return
    mine: datetime | None = None
    summary: dict[str, Any] = {}
    if wait is not None:
        record = services.store.get_request(record.request.id)  # with this run's steps
    if wait is not None and answered(wait, item.updates, record) is None:
        steps = cadence(services.settings.business_calendar, wait.since, _days(services))
        pending = [
            s for s in steps if cadence_key(work_item_id, wait.cycle, s.day) not in record.steps
        ]
        mine = min((s.at for s in pending), default=None)
        if mine is not None and mine < now:
            mine = now  # due and not said (it failed): the next run tries again
        summary = {"rev": wait.rev, "since": iso_utc(wait.since), "next": iso_utc(mine)}
    # The cadence's instant under its own name: the item is due at the earliest of every
    # follow-up's (intake/due_instants.py), so a later follow-up's save keeps this one.
    updated = with_due(
        replace(item, summary={**item.summary, SUMMARY_KEY: summary or None}), SUMMARY_KEY, mine
    )
    if updated.next_due_at == item.next_due_at and updated.summary == item.summary:
        return
    follow_ups.save_item(updated)


def _follow_ups_of(services: Services) -> FollowUps:
    if services.follow_ups is None:
        raise ExternalRejected("the cadence needs a store for follow-ups (see bootstrap)")
    return services.follow_ups


def _days(services: Services) -> tuple[int, ...]:
    return tuple(services.settings.cadence_days)
