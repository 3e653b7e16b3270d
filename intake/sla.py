"""The SLA rules: a request's two clocks, derived from its work item's history.

Pure (no I/O, no clock): given the work item's updates as DevOps records them, Intake's own
records (when the triage decision was taken, when people voted), the business calendar, the
policy and ``now``, say what each clock says (a ``ClockView``). Nothing is accumulated between
calls (DESIGN "After triage": derived, never accumulated), so a missed event, a changed
calendar or a changed policy can never make a clock drift.

**The triage SLA** replays the state history in order:
- a cycle starts when the item is created in, or enters, a running state from a non-running
  one (Intake's own New → In Planning keeps the cycle);
- entering a reset state from another state ends the cycle and starts the next with the full
  target;
- entering a non-running, non-paused state, or the triage decision Intake recorded, stops it:
  ``met`` when the elapsed business time is at most the target, else ``breached`` (with the
  instant the target was reached);
- a pause state freezes the elapsed time until the item leaves it;
- a severity change recomputes the target from the same cycle start; a change to a severity
  without a target cancels the cycle.

**The first response** runs from the work item's creation to the first human act: a vote, the
decision, or a comment or state change in DevOps by anyone but Intake's own identity (the one
that created the work item: Intake creates every request's work item).

When a revision was made is its ``System.ChangedDate`` (the latest revision's ``revisedDate``
is ``9999-01-01``). Revisions are de-duplicated by ``rev`` and sorted, so the same updates read
in several pages (even overlapping ones) give the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from intake.calendar import BusinessCalendar
from intake.clock_view import ClockKind, ClockState, ClockView
from intake.config import Settings

STATE = "System.State"
CHANGED_DATE = "System.ChangedDate"
CHANGED_BY = "System.ChangedBy"
HISTORY = "System.History"
COMMENT_COUNT = "System.CommentCount"
PRIORITY = "Microsoft.VSTS.Common.Priority"
TITLE = "System.Title"
ANY_SEVERITY = "*"
# DevOps' own severities read "2 - High": the words after the number are the severity.
_NUMBERED = re.compile(r"^\s*\d+\s*-\s*")
_ANGLED = re.compile(r"<([^>]+)>")


@dataclass(frozen=True)
class SlaPolicy:
    """The configurable rules (``INTAKE_SLA_*``, ``INTAKE_FIRST_RESPONSE_TARGETS``)."""

    targets: Mapping[str, float | None]  # business days by severity
    running_states: frozenset[str]
    reset_states: frozenset[str]
    pause_states: frozenset[str] = frozenset()
    first_response_targets: Mapping[str, float | None] = field(
        default_factory=lambda: {ANY_SEVERITY: 8}
    )  # business hours
    severity_field: str = "Microsoft.VSTS.Common.Severity"
    priority_severity: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> SlaPolicy:
        return cls(
            targets=dict(settings.sla_targets),
            running_states=frozenset(settings.sla_running_states),
            reset_states=frozenset(settings.sla_reset_states),
            pause_states=frozenset(settings.sla_pause_states),
            first_response_targets=dict(settings.first_response_targets),
            severity_field=settings.sla_severity_field,
            priority_severity={p: s for s, p in settings.severity_priority.items()},
        )

    def sla_days(self, severity: str) -> float | None:
        return _lookup(self.targets, severity)

    def first_response_hours(self, severity: str) -> float | None:
        return _lookup(self.first_response_targets, severity)


@dataclass(frozen=True)
class IntakeRecords:
    """What Intake itself knows about the request (not in the work item's history)."""

    severity: str = ""  # the form's answer: used until the work item says otherwise
    decided_at: datetime | None = None  # the triage decision (stops the SLA)
    vote_times: tuple[datetime, ...] = ()
    # Intake's identities besides the work item's creator (uniqueName or id, any case).
    intake_identities: frozenset[str] = frozenset()


class Revision(NamedTuple):
    """One update of the history, as the rules read it (a tuple: thousands are read per
    digest)."""

    rev: int
    at: datetime
    by: frozenset[str]  # the actor's id and uniqueName, lower case
    state: str | None = None  # the new state, when this revision changed it
    severity: str | None = None  # the new severity, when this revision changed it
    commented: bool = False
    title: str | None = None


@dataclass(frozen=True)
class Clocks:
    """Both clocks of a request at one instant, and what the digest shows beside them."""

    sla: ClockView
    first_response: ClockView
    severity: str
    state: str
    title: str


# --- reading the history ---------------------------------------------------------------------
def revisions(updates: Iterable[Mapping[str, Any]], policy: SlaPolicy) -> list[Revision]:
    """The updates as revisions: one per ``rev`` (pages may overlap), in order, each with
    the instant it was made (``System.ChangedDate``; an update without one, e.g. a link, takes
    its predecessor's)."""
    by_rev: dict[int, Mapping[str, Any]] = {}
    for index, update in enumerate(updates):
        rev = update.get("rev")
        by_rev[int(rev) if isinstance(rev, int) else index + 1] = update
    found: list[Revision] = []
    last_at: datetime | None = None
    for rev in sorted(by_rev):
        update = by_rev[rev]
        fields: Mapping[str, Any] = update.get("fields") or {}
        at = _instant(_new(fields, CHANGED_DATE)) or last_at
        if at is None:
            continue  # nothing says when: cannot be placed on the clock
        last_at = at
        severity = _new(fields, policy.severity_field)
        if severity is None and PRIORITY in fields:
            priority = _new(fields, PRIORITY)
            if isinstance(priority, int) and priority in policy.priority_severity:
                severity = policy.priority_severity[priority]
        state = _new(fields, STATE)
        title = _new(fields, TITLE)
        commented = HISTORY in fields or COMMENT_COUNT in fields
        # Who acted matters for the creator (Intake) and for acts (first response) only.
        acted = not found or state is not None or commented
        found.append(
            Revision(
                rev,
                at,
                _actor(update, fields) if acted else frozenset(),
                str(state) if state is not None else None,
                _severity_name(severity) if severity is not None else None,
                commented,
                str(title) if title is not None else None,
            )
        )
    return found


# JSON objects are dicts: ``isinstance(x, dict)`` rather than the (slower) ABC ``Mapping``,
# since the digest computes the clocks of every running request (docs/sla.md, the bench).
def _new(fields: Mapping[str, Any], name: str) -> Any:
    change = fields.get(name)
    return change.get("newValue") if type(change) is dict else None


@lru_cache(maxsize=65_536)
def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _actor(update: Mapping[str, Any], fields: Mapping[str, Any]) -> frozenset[str]:
    names: set[str] = set()
    for ref in (update.get("revisedBy"), _new(fields, CHANGED_BY)):
        if type(ref) is dict:
            for key in ("id", "uniqueName"):
                value = ref.get(key)
                if value:
                    names.add(str(value).lower())
        elif isinstance(ref, str) and ref:
            # Older APIs write "Display Name <someone@example.com>".
            match = _ANGLED.search(ref)
            names.add((match.group(1) if match else ref).lower())
    return frozenset(names)


def _severity_name(value: Any) -> str:
    return _NUMBERED.sub("", str(value)).strip()


def _lookup(table: Mapping[str, float | None], severity: str) -> float | None:
    if severity in table:
        return table[severity]
    wanted = severity.strip().lower()
    for name, target in table.items():
        if name.strip().lower() == wanted:
            return target
    return table.get(ANY_SEVERITY)


# --- the triage SLA --------------------------------------------------------------------------
@dataclass
class _Cycle:
    number: int
    start: datetime
    days: float | None  # the target in business days, None: no target
    segments: list[tuple[datetime, datetime]] = field(default_factory=list)
    running_since: datetime | None = None  # None: paused (or stopped)
    stopped_at: datetime | None = None
    cancelled: bool = False

    def elapsed(self, calendar: BusinessCalendar, at: datetime) -> timedelta:
        done = sum((calendar.time_between(s, e) for s, e in self.segments), timedelta(0))
        if self.running_since is not None:
            done += calendar.time_between(self.running_since, at)
        return done

    def reached_at(self, calendar: BusinessCalendar, target: timedelta) -> datetime | None:
        """The instant the elapsed time reached ``target`` (None if it never did, so far)."""
        before = timedelta(0)
        for start, end in self.segments:
            length = calendar.time_between(start, end)
            if before + length >= target:
                return calendar.add_time(start, target - before)
            before += length
        if self.running_since is not None:
            return calendar.add_time(self.running_since, target - before)
        return None

    def halt(self, at: datetime) -> None:
        if self.running_since is not None:
            self.segments.append((self.running_since, at))
            self.running_since = None


def sla_clock(
    history: Sequence[Revision],
    records: IntakeRecords,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    now: datetime,
) -> ClockView:
    """What the triage SLA says at ``now``."""
    cycles: list[_Cycle] = []
    state: str | None = None
    severity = records.severity
    events: list[tuple[datetime, int, Revision | None]] = [(r.at, r.rev, r) for r in history]
    if records.decided_at is not None:
        # The decision goes after the revisions of the same instant (rev order otherwise).
        events.append((records.decided_at.astimezone(UTC), 1 << 62, None))
    for at, _, revision in sorted(events, key=lambda e: (e[0], e[1])):
        if at > now:
            break
        current = cycles[-1] if cycles and cycles[-1].stopped_at is None else None
        if revision is None:  # the triage decision
            if current is not None:
                current.halt(at)
                current.stopped_at = at
            continue
        if revision.severity is not None and revision.severity != severity:
            severity = revision.severity
            if current is not None:
                days = policy.sla_days(severity)
                if days is None and current.days is not None:
                    current.halt(at)
                    current.stopped_at, current.cancelled = at, True
                    current = None
                else:
                    current.days = days  # from the same cycle start
        if revision.state is None or revision.state == state:
            continue
        previous, state = state, revision.state
        entering = revision.state
        if current is not None:
            if previous is not None and entering in policy.reset_states:
                current.halt(at)
                current.stopped_at = at
                current = None  # and a new one starts below
            elif entering in policy.pause_states:
                current.halt(at)
                continue
            elif entering in policy.running_states:
                if current.running_since is None:
                    current.running_since = at  # leaving a pause
                continue
            else:
                current.halt(at)
                current.stopped_at = at
                continue
        starts = entering in policy.running_states and (
            previous is None
            or previous not in policy.running_states
            or entering in policy.reset_states
        )
        if current is None and starts:
            cycles.append(_Cycle(len(cycles) + 1, at, policy.sla_days(severity), running_since=at))
    return _sla_view(cycles, calendar, now)


def _sla_view(cycles: list[_Cycle], calendar: BusinessCalendar, now: datetime) -> ClockView:
    if not cycles:
        return ClockView(ClockKind.SLA, ClockState.NONE, now)
    cycle = cycles[-1]
    at = cycle.stopped_at or now
    elapsed = cycle.elapsed(calendar, at)
    common: dict[str, Any] = {
        "cycle": cycle.number,
        "started_at": cycle.start,
        "elapsed_minutes": int(elapsed / timedelta(minutes=1)),
        "elapsed_time": elapsed,
    }
    if cycle.cancelled:
        return ClockView(
            ClockKind.SLA, ClockState.CANCELLED, now, stopped_at=cycle.stopped_at, **common
        )
    if cycle.days is None:
        return ClockView(ClockKind.SLA, ClockState.NONE, now, **common)
    target = calendar.business_days_time(cycle.days)
    common |= {
        "target_minutes": int(target / timedelta(minutes=1)),
        "target_time": target,
        "target_label": _label(cycle.days, "business day"),
    }
    reached = cycle.reached_at(calendar, target)
    if cycle.stopped_at is not None:
        met = elapsed <= target
        # Met: when it would have been due had it kept running (the card shows it).
        due = calendar.add_time(cycle.stopped_at, target - elapsed) if met else reached
        return ClockView(
            ClockKind.SLA,
            ClockState.MET if met else ClockState.BREACHED,
            now,
            due_at=due,
            breached_at=None if met else reached,
            stopped_at=cycle.stopped_at,
            **common,
        )
    if cycle.running_since is None:
        return ClockView(ClockKind.SLA, ClockState.PAUSED, now, **common)
    breached = reached is not None and reached <= now
    return ClockView(
        ClockKind.SLA,
        ClockState.BREACHED if breached else ClockState.RUNNING,
        now,
        due_at=reached,
        breached_at=reached if breached else None,
        **common,
    )


# --- the first response ----------------------------------------------------------------------
def first_response_clock(
    history: Sequence[Revision],
    records: IntakeRecords,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    now: datetime,
) -> ClockView:
    """What the first-response clock says at ``now``."""
    if not history or history[0].at > now:
        return ClockView(ClockKind.FIRST_RESPONSE, ClockState.NONE, now)
    created = history[0]
    intake = created.by | {name.lower() for name in records.intake_identities}
    severity = current_severity(history, records, now)
    hours = policy.first_response_hours(severity)
    acts = [t.astimezone(UTC) for t in records.vote_times]
    if records.decided_at is not None:
        acts.append(records.decided_at.astimezone(UTC))
    acts.extend(
        r.at
        for r in history[1:]
        if (r.state is not None or r.commented) and r.by and not (r.by & intake)
    )
    acted = min((t for t in acts if t <= now), default=None)
    end = acted or now
    elapsed = calendar.time_between(created.at, end)
    common: dict[str, Any] = {
        "cycle": 1,
        "started_at": created.at,
        "elapsed_minutes": int(elapsed / timedelta(minutes=1)),
        "elapsed_time": elapsed,
    }
    if hours is None:
        return ClockView(ClockKind.FIRST_RESPONSE, ClockState.NONE, now, **common)
    target = timedelta(hours=hours)
    due = calendar.add_time(created.at, target)
    common |= {
        "target_minutes": int(target / timedelta(minutes=1)),
        "target_time": target,
        "target_label": _label(hours, "business hour"),
        "due_at": due,
    }
    if acted is not None:
        met = elapsed <= target
        return ClockView(
            ClockKind.FIRST_RESPONSE,
            ClockState.MET if met else ClockState.BREACHED,
            now,
            breached_at=None if met else due,
            stopped_at=acted,
            **common,
        )
    breached = due <= now
    return ClockView(
        ClockKind.FIRST_RESPONSE,
        ClockState.BREACHED if breached else ClockState.RUNNING,
        now,
        breached_at=due if breached else None,
        **common,
    )


# --- both ------------------------------------------------------------------------------------
def current_severity(history: Sequence[Revision], records: IntakeRecords, now: datetime) -> str:
    severity = records.severity
    for revision in history:
        if revision.at <= now and revision.severity is not None:
            severity = revision.severity
    return severity


def clocks(
    updates: Iterable[Mapping[str, Any]],
    records: IntakeRecords,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    now: datetime,
) -> Clocks:
    """Both clocks of a request from its work item's updates, read once."""
    history = revisions(updates, policy)
    state = next((r.state for r in reversed(history) if r.state and r.at <= now), "")
    title = next((r.title for r in reversed(history) if r.title and r.at <= now), "")
    return Clocks(
        sla=sla_clock(history, records, calendar, policy, now),
        first_response=first_response_clock(history, records, calendar, policy, now),
        severity=current_severity(history, records, now),
        state=state,
        title=title,
    )


def _label(amount: float, unit: str) -> str:
    number = f"{amount:g}"
    return f"{number} {unit}" + ("" if amount == 1 else "s")


def clock_json(view: ClockView) -> dict[str, Any]:
    """A clock as ``GET /api/requests/{id}`` shows it."""

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    return {
        "state": view.state.value,
        "dueAt": iso(view.due_at),
        "cycle": view.cycle,
        "breachedAt": iso(view.breached_at),
        "target": view.target_label or None,
    }
