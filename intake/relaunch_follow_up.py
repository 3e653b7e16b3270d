"""The On Hold relaunch (Talend; issue 15), said by the follow-up timer's run through
``silence_follow_up``; when it falls due is ``follow_rules.relaunch``'s.

A request in ``INTAKE_STATE_ON_HOLD`` since revision ``rev`` is relaunched at relaunch n = 1,
2, ...: a ``#client`` comment on the work item (Intake's own, so ``client_updates`` never emails
it again), an email to the client (recorded as ``client_email_result``: the status page shows
it, a reply finds the request) and a note to the coordinator in the triage thread; past
``INTAKE_MAX_RELAUNCHES``, the note only. It never closes the request. Only the latest relaunch
due is said: a timer that was down for six weeks says one, not two.

**Each message at most once.** Keys ``relaunch:{item}:{rev}:{n}:comment|email|note``, each
claimed then recorded ``#done`` by ``sla_follow_up.say_once``; the comment, the email and the
note carry their key, so a run that finds a stale intent says it again and the adapter adds
nothing where it can tell; the email is looked for in Sent Items first (``attempts.send_once``).
The helpers the weekly update shares (``Policy``, ``Plan``, ``say_part``, ``post_note``) are
here too.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from intake import emails, follow_rules
from intake.attempts import send_once
from intake.calendar import BusinessCalendar
from intake.client_notify import state_changes
from intake.client_status import client_email_result, client_label
from intake.config import Settings
from intake.models import Comment, Mention, RequestRecord, TrackedItem, iso_utc
from intake.ports import FollowUps, Services
from intake.sla_follow_up import coordinator, say_once, thread_of
from intake.status_page import status_link

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """What the relaunches and the weekly updates are computed with, read once per run."""

    calendar: BusinessCalendar
    on_hold_state: str
    relaunch_days: int
    max_relaunches: int
    waiting_state: str
    closed_state: str
    weekly: str  # email · remind · off
    label: Callable[[str], str]  # a state as the client reads it

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            calendar=settings.business_calendar,
            on_hold_state=settings.state_on_hold,
            relaunch_days=settings.on_hold_relaunch_days,
            max_relaunches=settings.max_relaunches,
            waiting_state=settings.state_waiting_client,
            closed_state=settings.state_closed,
            weekly=settings.weekly_update,
            label=lambda state: client_label(state, settings),
        )


@dataclass(frozen=True)
class Due:
    """A message due now (``key``: its effect key, without the part suffix) and the instant
    the item is due again when it is not said this run."""

    key: str
    at: datetime
    number: int


@dataclass(frozen=True)
class Plan:
    """What is due now, if anything, and when this item next needs this module."""

    due: Due | None
    next_at: datetime | None


NOTHING = Plan(None, None)


# --- what the cached history says (pure) ------------------------------------------------------
def current_state(updates: Iterable[Mapping[str, Any]]) -> str:
    """The work item's state as its latest revision that set one says ("" if none did)."""
    state = ""
    for update in sorted(updates, key=lambda u: int(u.get("rev", 0))):
        value = ((update.get("fields") or {}).get("System.State") or {}).get("newValue")
        if isinstance(value, str):
            state = value
    return state


def on_hold_since(updates: Sequence[Mapping[str, Any]], on_hold: str) -> tuple[int, datetime]:
    """(revision, instant) of the change into ``on_hold`` the item is in now; raises
    LookupError when it is not On Hold (or was created in it: no change to count from)."""
    wanted = on_hold.strip().lower()
    if current_state(updates).strip().lower() != wanted:
        raise LookupError("not on hold")
    into = [c for c in state_changes(updates) if c.new.strip().lower() == wanted]
    if not into:
        raise LookupError("no change into the state")
    return into[-1].rev, into[-1].at


# --- the On Hold relaunch --------------------------------------------------------------------
def plan(item: TrackedItem, policy: Policy, follow_ups: FollowUps, now: datetime) -> Plan:
    try:
        rev, since = on_hold_since(item.updates, policy.on_hold_state)
    except LookupError:
        return NOTHING
    rules = {"every_days": policy.relaunch_days, "max_relaunches": policy.max_relaunches}
    due = follow_rules.relaunches_due(policy.calendar, since, now, **rules)
    if due:
        latest = due[-1]
        key = f"relaunch:{item.work_item_id}:{rev}:{latest.number}"
        if follow_ups.effect(f"{key}:note#done") is None:  # the note is said last
            return Plan(Due(key, latest.at, latest.number), latest.at)
    return Plan(None, follow_rules.next_relaunch(policy.calendar, since, now, **rules).at)


def say(
    due: Due,
    item: TrackedItem,
    record: RequestRecord,
    services: Services,
    policy: Policy,
    now: datetime,
) -> list[str]:
    """The relaunch's comment, email and note, in that order, each once."""
    follow_ups, settings = _follow_ups(services), services.settings
    number = item.work_item_id
    _, since = on_hold_since(item.updates, policy.on_hold_state)
    since_text = policy.calendar.local(since).strftime("%A %d %B %Y").replace(" 0", " ")
    said: list[str] = []
    to_client = due.number <= policy.max_relaunches

    def comment() -> str:
        text = (
            "#client We are still waiting for the information we asked for to go on with "
            f"this request (on hold since {since_text}). Could you send it to us by replying "
            "to our email?"
        )
        footnote = (
            f"Relaunch {due.number} of {policy.max_relaunches}, by Intake: the client was emailed."
        )
        body = f"<p>{html.escape(text)}</p><p><i>{html.escape(footnote)}</i></p>"
        key = record.effect_key(f"{due.key}:comment")
        return str(services.work_items.add_comment(number, Comment(key=key, html=body)))

    def email() -> str:
        step = f"{due.key}:email"
        mail = emails.client_relaunch(
            record.request,
            number,
            record.effect_key(step),
            on_hold_since=since_text,
            status_url=status_link(record, services),
            reply_to=settings.mail_sender,
        )
        message_id = send_once(record, mail, services)
        result = client_email_result(mail, message_id, services.clock())
        result["relaunch"] = {"number": due.number, "at": iso_utc(due.at)}
        services.store.record_step(record.request.id, step, result)
        return message_id

    def note() -> str:
        person = coordinator(settings)
        if to_client:
            told = (
                f"relaunch {due.number} of {policy.max_relaunches} sent to the client "
                "(a #client comment and an email)."
            )
        else:
            told = (
                f"the client was relaunched {policy.max_relaunches} times without an answer; "
                "Intake will not write to them again. Decide what to do: it is never closed "
                "automatically."
            )
        text = f"<at>{person.name}</at> #{number} is On Hold since {since_text}: {told}"
        return post_note(record, services, text, f"{due.key}:note", person)

    parts = [("comment", comment), ("email", email)] if to_client else []
    for part, send in [*parts, ("note", note)]:
        if not say_part(follow_ups, f"{due.key}:{part}", send, now, said):
            break  # another run is saying it: the rest after it, by that run or the next
    if said:
        log.info("follow_up: work item %d: relaunch %d (%s)", number, due.number, ", ".join(said))
    return said


def say_part(
    follow_ups: FollowUps, key: str, send: Callable[[], str], now: datetime, said: list[str]
) -> bool:
    """``say_once``, adding ``key`` to ``said`` when this run said it."""
    already = follow_ups.effect(f"{key}#done") is not None
    done = say_once(follow_ups, key, send, now)
    if done and not already:
        said.append(key)
    return done


def post_note(
    record: RequestRecord, services: Services, text: str, key: str, person: Mention
) -> str:
    """A note to the coordinator in the request's triage thread (the channel if none)."""
    thread = thread_of(record)
    if thread is None:
        return services.channel.post(text, key=key, mentions=[person]).activity_id
    return services.channel.reply(thread, text, key=key, mentions=[person])


def _follow_ups(services: Services) -> FollowUps:
    if services.follow_ups is None:
        raise RuntimeError("follow-ups need a store for them (see bootstrap)")
    return services.follow_ups
