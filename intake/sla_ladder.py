"""The reminder ladder and the channel digest: what must be said now, given the clocks.

Pure (no I/O, no clock). From a request's clocks (``intake/sla.py``), what was already said
for it (effect keys and when), the business calendar, the policy and ``now``:

- **the ladder** of each ticking clock: *at risk* at ``warn_at`` of the target (a reply to the
  coordinator), *breached* at the due instant (a reply to the coordinator and the scrum
  masters), *escalation* one business day after the breach if the clock still runs (an email
  to the managers). Keys ``sla:{item}:{cycle}:{rung}`` and ``fr:{item}:{cycle}:{rung}``: a
  reset cycle has its own ladder. Only the highest rung that fell due is said (a warning
  that fell due at night with the breach is not said after it). Never for a paused, stopped or
  cancelled clock; only in business hours (at night: the next opening); at most
  ``max_per_day`` messages per request per local business day.
- ``next_due``: the next instant anything of this request could fall due (the follow-up
  cache's ``next_due_at``), so a timer run looks only at requests whose time has come.
- **the digest**: ``digest_slot`` is the digest that should be in the channel now (the latest
  slot of today, a business day, that has begun; a missed one goes out late once, and a later
  slot replaces a missed earlier one: its key is ``digest:{date}:{slot}``); ``digest_text``
  lists every running request, breached first, then by due date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from intake.calendar import BusinessCalendar
from intake.clock_view import ClockKind, ClockState, ClockView
from intake.config import Settings
from intake.models import Decision, Request
from intake.sla import IntakeRecords, SlaPolicy, revisions, sla_clock
from intake.triage_card import element, escape_markdown


class Rung(StrEnum):
    WARN = "warn"
    BREACH = "breach"
    ESCALATE = "escalate"


KEY_PREFIX = {ClockKind.SLA: "sla", ClockKind.FIRST_RESPONSE: "fr"}
CLOCK_NAMES = {ClockKind.SLA: "Triage SLA", ClockKind.FIRST_RESPONSE: "First response"}


@dataclass(frozen=True)
class LadderPolicy:
    warn_at: float = 0.75
    max_per_day: int = 3
    escalate: bool = True  # False when nobody is configured to receive escalations
    digest_times: tuple[int, ...] = (9 * 60 + 30, 13 * 60 + 30, 17 * 60)  # local minutes

    @classmethod
    def from_settings(cls, settings: Settings) -> LadderPolicy:
        return cls(
            warn_at=settings.sla_warn_at,
            max_per_day=settings.max_reminders_per_day,
            escalate=bool(settings.escalation_emails),
            digest_times=tuple(
                sorted(int(t[:2]) * 60 + int(t[3:]) for t in settings.sla_digest_times)
            ),
        )


@dataclass(frozen=True)
class Message:
    """One rung of one clock's ladder, due now."""

    key: str
    rung: Rung
    clock: ClockView
    fell_due_at: datetime


def message_key(work_item_id: int, clock: ClockView, rung: Rung) -> str:
    return f"{KEY_PREFIX[clock.kind]}:{work_item_id}:{clock.cycle}:{rung.value}"


def rungs(
    clock: ClockView, calendar: BusinessCalendar, policy: LadderPolicy
) -> list[tuple[Rung, datetime]]:
    """The instants of a ticking clock's rungs, in order; none for any other clock."""
    target, due = clock.target_time, clock.breached_at or clock.due_at
    if not clock.ticking or target is None or due is None:
        return []
    warn = target * policy.warn_at
    if clock.elapsed_time < warn:
        warn_instant = calendar.add_time(clock.at, warn - clock.elapsed_time)
    elif clock.started_at is not None and clock.elapsed_time == calendar.time_between(
        clock.started_at, clock.at
    ):
        warn_instant = calendar.add_time(clock.started_at, warn)  # never paused: exact
    else:
        warn_instant = min(clock.at, due)  # passed before a pause: only its order matters
    found = [(Rung.WARN, min(warn_instant, due)), (Rung.BREACH, due)]
    if policy.escalate:
        found.append((Rung.ESCALATE, calendar.add_time(due, calendar.business_days_time(1))))
    return found


def due_messages(
    work_item_id: int,
    clocks: Sequence[ClockView],
    said: Mapping[str, datetime],
    calendar: BusinessCalendar,
    policy: LadderPolicy,
    now: datetime,
) -> list[Message]:
    """What must be said for this request now (``said``: effect keys already claimed)."""
    if not calendar.is_open(now):
        return []
    budget = policy.max_per_day - _said_on(said, calendar, calendar.local_today(now))
    found: list[Message] = []
    for clock in clocks:
        ladder = rungs(clock, calendar, policy)
        fallen = [(rung, at) for rung, at in ladder if at <= now]
        if not fallen:
            continue
        rung, at = fallen[-1]
        key = message_key(work_item_id, clock, rung)
        if key not in said:
            found.append(Message(key, rung, clock, at))
    found.sort(key=lambda m: m.fell_due_at)
    return found[: max(budget, 0)]


def next_due(
    work_item_id: int,
    clocks: Sequence[ClockView],
    said: Mapping[str, datetime],
    calendar: BusinessCalendar,
    policy: LadderPolicy,
    now: datetime,
) -> datetime | None:
    """The next instant a message of this request could fall due (None: nothing ever will,
    until its history changes)."""
    pending: list[datetime] = []
    for clock in clocks:
        ladder = rungs(clock, calendar, policy)
        fallen = [i for i, (_, at) in enumerate(ladder) if at <= now]
        top = fallen[-1] if fallen else -1
        if top >= 0 and message_key(work_item_id, clock, ladder[top][0]) not in said:
            pending.append(now)  # due but held back: night, or the day's budget
        pending.extend(at for _, at in ladder[top + 1 :])
    if not pending:
        return None
    moment = calendar.next_opening(max(min(pending), now))
    today = calendar.local_today(moment)
    if _said_on(said, calendar, today) >= policy.max_per_day:
        tomorrow = calendar.add_business_days(today, 1)
        moment = calendar.next_opening(calendar.at_local(tomorrow, 0))
    return moment


def _said_on(said: Mapping[str, datetime], calendar: BusinessCalendar, day: date) -> int:
    return sum(1 for at in said.values() if calendar.local_today(at) == day)


# --- the texts ---------------------------------------------------------------------------------
def due_text(calendar: BusinessCalendar, moment: datetime) -> str:
    """An instant as people read it: "Wed 9 Dec 16:30 CET" in the calendar's zone."""
    local = calendar.local(moment)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"


def card_line(clock: ClockView, calendar: BusinessCalendar) -> str:
    """The triage card's fact: "SLA: due Wed 9 Dec 16:30 CET", or its state once stopped."""
    if clock.state is ClockState.NONE or (clock.due_at is None and clock.ticking):
        return ""
    if clock.state is ClockState.PAUSED:
        return "SLA: paused"
    if clock.state is ClockState.CANCELLED:
        return "SLA: cancelled"
    due = due_text(calendar, clock.due_at) if clock.due_at else ""
    if clock.state is ClockState.RUNNING:
        return f"SLA: due {due}"
    if clock.state is ClockState.MET:
        return f"SLA: met (due {due})" if due else "SLA: met"
    return f"SLA: breached (due {due})" if clock.ticking else f"SLA: breached (was due {due})"


def business_left(clock: ClockView, calendar: BusinessCalendar) -> str:
    """Business time left (or overdue) as "1 d 2 h 30 min" with days of the calendar's
    length."""
    left = clock.left_minutes
    if left is None:
        return ""
    sign, minutes = ("", left) if left >= 0 else ("overdue by ", -left)
    days, rest = divmod(minutes, calendar.day_minutes)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{mins} min"] if mins or not parts else []
    return sign + " ".join(parts)


def reminder_text(
    message: Message, number: int, title: str, calendar: BusinessCalendar, mention_names: str
) -> str:
    """The reply in the request's thread (Teams markdown, ``<at>`` mentions, title escaped)."""
    clock = message.clock
    name = CLOCK_NAMES[clock.kind]
    subject = f"#{number} {escape_markdown(title)}".strip()
    due_at = clock.breached_at or clock.due_at
    due = due_text(calendar, due_at) if due_at else "unknown"
    if message.rung is Rung.WARN:
        return (
            f"{mention_names} **At risk** ({name}, {clock.target_label}): {subject} is due "
            f"{due}; {business_left(clock, calendar)} of business time left."
        )
    return (
        f"{mention_names} **Breached** ({name}, {clock.target_label}): {subject} was due "
        f"{due} and is still open ({business_left(clock, calendar)})."
    )


def escalation_text(message: Message, number: int, title: str, calendar: BusinessCalendar) -> str:
    """The escalation email's plain text (the HTML escapes the same words)."""
    clock = message.clock
    due_at = clock.breached_at or clock.due_at
    due = due_text(calendar, due_at) if due_at else "unknown"
    return (
        f'Request #{number} "{title}" breached its {CLOCK_NAMES[clock.kind].lower()} '
        f"({clock.target_label}) on {due} and is still open one business day later "
        f"({business_left(clock, calendar)})."
    )


# --- the digest --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestSlot:
    key: str  # digest:{date}:{HH:MM}
    at: datetime


def digest_slot(
    calendar: BusinessCalendar, policy: LadderPolicy, now: datetime
) -> DigestSlot | None:
    """The digest that should be in the channel at ``now``: today's latest slot that has
    begun, on a business day (a holiday or weekend has none)."""
    today = calendar.local_today(now)
    if not calendar.is_business_day(today):
        return None
    begun = [m for m in policy.digest_times if calendar.at_local(today, m) <= now]
    if not begun:
        return None
    minute = begun[-1]
    return DigestSlot(
        f"digest:{today.isoformat()}:{minute // 60:02d}:{minute % 60:02d}",
        calendar.at_local(today, minute),
    )


@dataclass(frozen=True)
class DigestRow:
    number: int
    title: str
    severity: str
    state: str
    clock: ClockView
    link: str


def digest_rows(rows: Iterable[DigestRow]) -> list[DigestRow]:
    """Running requests only, breached first, then by due date, then by number."""
    far = datetime.max.replace(tzinfo=UTC)
    ticking = [r for r in rows if r.clock.ticking]
    return sorted(
        ticking,
        key=lambda r: (
            r.clock.state is not ClockState.BREACHED,
            r.clock.due_at or far,
            r.number,
        ),
    )


def digest_text(rows: Iterable[DigestRow], calendar: BusinessCalendar, slot: DigestSlot) -> str:
    ordered = digest_rows(rows)
    heading = f"**SLA digest, {due_text(calendar, slot.at)}**: {len(ordered)} running"
    if not ordered:
        return heading + ". Nothing is running."
    lines = [heading]
    for row in ordered:
        clock = row.clock
        when = due_text(calendar, clock.due_at) if clock.due_at else "no due date"
        flag = "BREACHED" if clock.state is ClockState.BREACHED else "due"
        lines.append(
            f"- [#{row.number}]({row.link}) {escape_markdown(row.title)} · "
            f"{escape_markdown(row.severity) or 'no severity'} · {escape_markdown(row.state)} · "
            f"{flag} {when} · {business_left(clock, calendar)}"
            + ("" if clock.state is ClockState.BREACHED else " left")
        )
    return "\n".join(lines)


def card_fact(
    severity: str,
    received_at: datetime,
    decided_at: datetime | None,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
) -> str:
    """The SLA fact of the triage card ("due Wed 9 Dec 16:30 CET", "met (due …)"), from the
    request's record alone: its clock as it started when the request came in (created in a
    running state) and stopped by the decision. The card is not published again when a later
    state change moves the due date (``GET /api/requests/{id}`` and the digest show it)."""
    created = {
        "rev": 1,
        "fields": {
            "System.State": {"newValue": next(iter(sorted(policy.running_states)), "New")},
            "System.ChangedDate": {"newValue": received_at.astimezone(UTC).isoformat()},
        },
    }
    records = IntakeRecords(severity=severity, decided_at=decided_at)
    history = revisions([created], policy)
    clock = sla_clock(history, records, calendar, policy, decided_at or received_at)
    return card_line(clock, calendar).removeprefix("SLA: ")


def add_sla_fact(
    card: dict[str, Any],
    request: Request,
    decision: Decision | None,
    settings: Settings,
    *,
    known: str = "",
) -> None:
    """The triage card's one SLA fact line ("SLA: due Wed 9 Dec 16:30 CET"), if it has one:
    ``known`` (from the work item's history), else computed from the request's record."""
    value = known or card_fact(
        request.severity,
        request.received_at,
        decision.at if decision else None,
        settings.business_calendar,
        SlaPolicy.from_settings(settings),
    )
    if value:
        element(card, "facts")["facts"].append({"title": "SLA", "value": escape_markdown(value)})
