"""The SLA part of the follow-up timer's run: the clocks of the work items that changed or
fell due, the messages their ladders say are due, and the channel digest once per slot.

Called by ``follow_up.run_follow_up`` after it refreshed the changed items' histories. Work
is in proportion to those items: each costs one read of its request and votes in the store
and no DevOps call (its history is already cached); the digest reads the cached running items
only when one of its slots is due.

**Each message at most once** (effect keys ``sla:{item}:{cycle}:{rung}``,
``fr:{item}:{cycle}:{rung}``, ``digest:{date}:{slot}``). The intent is claimed before the
message goes (``FollowUps.claim_effect``, write-once) and ``{key}#done`` after; the channel
and the mailer are given the same key. A run that finds an intent without its ``#done``:
- younger than ``INTENT_GRACE``: another run is sending it; this one leaves it;
- older: that run died between the claim and the record. The message is sent again with the
  same key, and the adapter says nothing twice where it can tell: the local channel and the
  outbox by their key; Graph mail by looking for the key in Sent Items first. The Bot
  Connector has no idempotency key and no way to list a channel's replies, so a crash after
  Teams accepted a reply and before ``#done`` was written can show that one reply twice
  (the window: one store write, a few milliseconds). Not saying it at all would lose it;
  a reminder said twice is the lesser harm.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from intake.calendar import BusinessCalendar
from intake.clock_view import ClockView
from intake.config import Settings
from intake.doctor import Check
from intake.due_instants import SLA, with_due
from intake.errors import ExternalError, RequestNotFound
from intake.models import (
    Email,
    Mention,
    RequestRecord,
    Step,
    Thread,
    TrackedItem,
    Vote,
    iso_utc,
    parse_instant,
)
from intake.ports import FollowUps, Services
from intake.sla import Clocks, IntakeRecords, SlaPolicy, clock_json, clocks
from intake.sla_ladder import (
    DigestRow,
    LadderPolicy,
    Message,
    Rung,
    card_fact,
    card_line,
    digest_slot,
    digest_text,
    due_messages,
    escalation_text,
    next_due,
    reminder_text,
)

log = logging.getLogger(__name__)

# How long an intent without its "done" belongs to the run that claimed it.
INTENT_GRACE = timedelta(minutes=10)
# Publishes a request's triage card again (triage's, handed in by the follow-up run: triage
# reads this module's card line, so this module cannot import triage).
CardPublisher = Callable[[str, Services], None]
DECISION_STEP = "decision"  # triage_rules.TriageStep.DECISION: the decision that won


@dataclass(frozen=True)
class Rules:
    """What the clocks are computed with, read once per run from the settings."""

    calendar: BusinessCalendar
    policy: SlaPolicy
    ladder: LadderPolicy

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            settings.business_calendar,
            SlaPolicy.from_settings(settings),
            LadderPolicy.from_settings(settings),
        )


def follow_clocks(
    services: Services, work_item_ids: Iterable[int], now: datetime, publish: CardPublisher
) -> list[str]:
    """Compute the clocks of these work items, say what is due, update their cache entries,
    and post the digest if its slot is due. Returns the effect keys said by this run."""
    follow_ups = services.follow_ups
    if follow_ups is None:
        return []
    rules = Rules.of(services.settings)
    said: list[str] = []
    for work_item_id in work_item_ids:
        item = follow_ups.item(work_item_id)
        if item is None:
            continue
        try:
            said.extend(follow_item(item, services, rules, now, publish))
        except RequestNotFound:
            log.warning("follow_up: work item %d names an unknown request", work_item_id)
        except ExternalError as exc:  # one item's failure must not stop the others
            log.warning("follow_up: work item %d: %s", work_item_id, exc.title)
    try:
        said.extend(post_digest(services, rules, now))
    except ExternalError as exc:
        log.warning("follow_up: the digest was not posted (%s); the next run tries again", exc)
    return said


def intake_records(record: RequestRecord, votes: Sequence[Vote]) -> IntakeRecords:
    decision = record.steps.get(DECISION_STEP) or {}
    decided = decision.get("at")
    return IntakeRecords(
        severity=record.request.severity,
        decided_at=parse_instant(decided) if isinstance(decided, str) else decided,
        vote_times=tuple(vote.at for vote in votes),
    )


def records_json(records: IntakeRecords) -> dict[str, Any]:
    return {
        "severity": records.severity,
        "decidedAt": iso_utc(records.decided_at),
        "votes": [iso_utc(t) for t in records.vote_times],
    }


def records_from_json(data: dict[str, Any]) -> IntakeRecords:
    decided = data.get("decidedAt")
    return IntakeRecords(
        severity=str(data.get("severity") or ""),
        decided_at=parse_instant(decided) if decided else None,
        vote_times=tuple(parse_instant(t) for t in data.get("votes") or []),
    )


def clocks_of_item(item: TrackedItem, rules: Rules, now: datetime) -> Clocks:
    """The clocks from the cache alone (the digest, the status API): no store, no DevOps."""
    records = records_from_json(item.summary.get("records") or {})
    return clocks(item.updates, records, rules.calendar, rules.policy, now)


def follow_item(
    item: TrackedItem, services: Services, rules: Rules, now: datetime, publish: CardPublisher
) -> list[str]:
    store, follow_ups = services.store, _follow_ups(services)
    record = store.get_request(item.request_id)
    records = intake_records(record, store.votes(item.request_id))
    found = clocks(item.updates, records, rules.calendar, rules.policy, now)
    views = [found.sla, found.first_response]
    said = {k: parse_instant(v) for k, v in (item.summary.get("said") or {}).items()}
    spoken: list[str] = []
    for message in due_messages(item.work_item_id, views, said, rules.calendar, rules.ladder, now):
        if deliver(message, item, found, record, services, rules, now):
            said[message.key] = now
            spoken.append(message.key)
    summary = {
        **item.summary,
        "said": {k: iso_utc(v) for k, v in said.items()},
        "records": records_json(records),
        "sla": clock_json(found.sla),
        "firstResponse": clock_json(found.first_response),
        "title": found.title or record.request.title,
        "severity": found.severity,
        "state": found.state,
    }
    summary["dueField"] = write_due_field(item, found.sla, summary, services)
    line = card_line(found.sla, rules.calendar).removeprefix("SLA: ")
    shown = item.summary.get("cardLine") or record_card_line(record, rules)
    summary["cardLine"] = line
    sla_next = next_due(item.work_item_id, views, said, rules.calendar, rules.ladder, now)
    running = found.sla.ticking or found.first_response.ticking
    # The SLA's instant next to the other follow-ups' (due_instants): none clobbers another's.
    follow_ups.save_item(with_due(replace(item, running=running, summary=summary), SLA, sla_next))
    if line != shown:
        republish_card(record, services, publish)
    return spoken


def record_card_line(record: RequestRecord, rules: Rules) -> str:
    """The SLA line the card showed before the history was known (from the record)."""
    decision = record.steps.get(DECISION_STEP) or {}
    decided = decision.get("at")
    return card_fact(
        record.request.severity,
        record.request.received_at,
        parse_instant(decided) if isinstance(decided, str) else None,
        rules.calendar,
        rules.policy,
    )


def cached_card_line(record: RequestRecord, services: Services) -> str:
    """The card's SLA line from the follow-up's cache ("" when not cached yet)."""
    work_item_id = record.work_item_id
    if work_item_id is None or services.follow_ups is None:
        return ""
    item = services.follow_ups.item(work_item_id)
    return str(item.summary.get("cardLine") or "") if item else ""


def republish_card(record: RequestRecord, services: Services, publish: CardPublisher) -> None:
    """The due date or the SLA's state changed: the card shows the new one to everyone."""
    if thread_of(record) is None:
        return
    publish(record.request.id, services)


def write_due_field(
    item: TrackedItem, sla: ClockView, summary: dict[str, Any], services: Services
) -> str | None:
    """Write the SLA due date to the configured field when it changed; returns what the field
    holds as far as we know."""
    name = services.settings.sla_due_field
    written: str | None = summary.get("dueField")
    due = iso_utc(sla.due_at) if sla.ticking else None
    if not name or due is None or due == written:
        return written
    try:
        services.work_items.update(item.work_item_id, fields={name: due})
    except ExternalError as exc:
        log.warning("follow_up: work item %d: due field not written (%s)", item.work_item_id, exc)
        return written
    return due


# --- saying it once --------------------------------------------------------------------------
def deliver(
    message: Message,
    item: TrackedItem,
    found: Clocks,
    record: RequestRecord,
    services: Services,
    rules: Rules,
    now: datetime,
) -> bool:
    """Say one rung once. True when it is said (now or by an earlier run)."""
    title = found.title or record.request.title
    number = item.work_item_id

    def send() -> str:
        settings = services.settings
        if message.rung is Rung.ESCALATE:
            text = escalation_text(message, number, title, rules.calendar)
            return services.mailer.send(
                Email(
                    key=message.key,
                    to=tuple(str(e) for e in settings.escalation_emails),
                    subject=f"Escalation: request #{number} breached its SLA",
                    html=f"<p>{html.escape(text)}</p>"
                    f'<p><a href="{html.escape(services.work_items.url(number))}">'
                    f"Open work item #{number}</a></p>",
                    text=f"{text}\n{services.work_items.url(number)}",
                    work_item_id=number,
                )
            )
        people = [coordinator(settings)]
        if message.rung is Rung.BREACH:
            people += scrum_masters(settings, services.store.scrum_masters())
        names = " ".join(f"<at>{person.name}</at>" for person in people)
        text = reminder_text(message, number, title, rules.calendar, names)
        thread = thread_of(record)
        if thread is None:
            return services.channel.post(text, key=message.key, mentions=people).activity_id
        return services.channel.reply(thread, text, key=message.key, mentions=people)

    return say_once(_follow_ups(services), message.key, send, now)


def say_once(follow_ups: FollowUps, key: str, send: Any, now: datetime) -> bool:
    """Claim ``key``, run ``send`` (which passes ``key`` on), record ``{key}#done``."""
    if follow_ups.effect(f"{key}#done") is not None:
        return True
    mine = {"intent": iso_utc(now), "run": uuid.uuid4().hex}
    stored = follow_ups.claim_effect(key, mine)
    if stored != mine:
        claimed = parse_instant(str(stored.get("intent") or iso_utc(now)))
        if now - claimed < INTENT_GRACE:
            return False  # another run is saying it; this item stays due until it is done
        log.warning("follow_up: %s was claimed at %s and never recorded: again", key, claimed)
    sent_id = send()
    follow_ups.claim_effect(f"{key}#done", {"id": str(sent_id), "at": iso_utc(now)})
    return True


def coordinator(settings: Settings) -> Mention:
    email = str(settings.coordinator_email).lower()
    person = next((p for p in settings.people if str(p.email).lower() == email), None)
    return Mention(settings.coordinator_name, person.teams_id if person else "")


def scrum_masters(settings: Settings, remembered: Sequence[str]) -> list[Mention]:
    """The scrum masters Intake can name: configured ones it knows as people, and the Teams
    ids it remembered from their clicks."""
    configured = {s.lower() for s in settings.scrum_masters}
    found = [
        Mention(p.name, p.teams_id)
        for p in settings.people
        if p.aad_object_id.lower() in configured or str(p.email).lower() in configured
    ]
    known = {m.teams_id for m in found}
    found += [Mention("Scrum master", t) for t in remembered if t not in known]
    return found


def thread_of(record: RequestRecord) -> Thread | None:
    posted = record.result(Step.POST_TRIAGE_CARD)
    if not posted:
        return None
    return Thread(posted["conversation_id"], posted["activity_id"])


# --- the digest ------------------------------------------------------------------------------
def post_digest(services: Services, rules: Rules, now: datetime) -> list[str]:
    """The digest of the slot now due, once (a missed slot late once; a later one replaces it)."""
    slot = digest_slot(rules.calendar, rules.ladder, now)
    follow_ups = _follow_ups(services)
    if slot is None or follow_ups.effect(f"{slot.key}#done") is not None:
        return []
    rows = []
    for item in follow_ups.running():
        found = clocks_of_item(item, rules, now)
        clock = found.sla if found.sla.ticking else found.first_response
        rows.append(
            DigestRow(
                number=item.work_item_id,
                title=found.title or str(item.summary.get("title") or ""),
                severity=found.severity,
                state=found.state,
                clock=clock,
                link=services.work_items.url(item.work_item_id),
            )
        )
    if not any(row.clock.ticking for row in rows):
        return []  # nothing runs: no post (the slot stays open should something start)
    text = digest_text(rows, rules.calendar, slot)

    def send() -> str:
        return services.channel.post(text, key=slot.key).activity_id

    return [slot.key] if say_once(follow_ups, slot.key, send, now) else []


def _follow_ups(services: Services) -> FollowUps:
    if services.follow_ups is None:
        raise RuntimeError("follow-ups need a store for them (see bootstrap)")
    return services.follow_ups


# --- what GET /api/requests/{id} shows -------------------------------------------------------
NO_CLOCK = {"state": "none", "dueAt": None, "cycle": 0, "breachedAt": None, "target": None}


def request_clocks(record: RequestRecord, services: Services) -> dict[str, Any]:
    """``{"sla": {...}, "firstResponse": {...}}`` of a request now: from the cached history
    when the follow-up timer has it, else read once from the board."""
    work_item_id = record.work_item_id
    if work_item_id is None:
        return {"sla": NO_CLOCK, "firstResponse": NO_CLOCK}
    try:
        cached = services.follow_ups.item(work_item_id) if services.follow_ups else None
        updates = cached.updates if cached else tuple(services.work_items.updates(work_item_id))
        votes = services.store.votes(record.request.id)
    except ExternalError as exc:
        log.warning("request %s: clocks unknown (%s)", record.request.id, exc.title)
        return {"sla": NO_CLOCK, "firstResponse": NO_CLOCK}
    rules = Rules.of(services.settings)
    found = clocks(
        updates, intake_records(record, votes), rules.calendar, rules.policy, services.clock()
    )
    return {"sla": clock_json(found.sla), "firstResponse": clock_json(found.first_response)}


# --- make doctor -----------------------------------------------------------------------------
def calendar_check(settings: Settings) -> Check:
    """The business calendar the clocks count in (parsed at start-up; shown here)."""

    def describe() -> str:
        calendar = settings.business_calendar
        open_days = sum(1 for windows in calendar.week if windows)
        return (
            f"{calendar.timezone.key}, {open_days} open days a week, a business day is "
            f"{calendar.day_minutes} min, {len(calendar.holidays)} holidays"
        )

    return Check(
        "local",
        "SLA business calendar",
        describe,
        'set INTAKE_CALENDAR to {"timezone": "Europe/Paris", "week": {"mon": '
        '[["09:00", "18:00"]], ...}, "holidays": ["2026-12-25"]}',
    )
