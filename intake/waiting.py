"""Asking the client and waiting for their answer (issue 15): who may ask, what a question
is, and, from a request's DevOps history and record, the wait it is in and what ended it.
Pure: no I/O, no clock (the calendar rules of the cadence are ``intake.follow_rules``).

A wait is derived, never stored: it is the latest entry of the request's work item into
``INTAKE_STATE_WAITING_CLIENT`` while the item is still there (whoever moved it: Intake's
**Ask the client**, or a person in DevOps). Its identity is the revision that entered the
state, so entering again is a new wait that starts over at Day 1; a new question asked with
the card during the wait starts it over too, from the question's time (``restarted``). The
wait is *answered* (the cadence stops, and the request goes back to its previous state) by a
reply from the client by email recorded after the item entered the state (``reply:{id}``,
not an automatic one), or by a ``#client`` comment the client's own DevOps identity wrote
after that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from intake.client_notify import is_for_client, state_changes
from intake.config import Settings
from intake.errors import InvalidDecision
from intake.models import RequestRecord
from intake.text_rules import clean_text
from intake.triage_rules import Clicker, person_for

MAX_QUESTION = 2000  # characters of a question to the client (the card's maxLength too)
ASK_PREFIX = "ask:"  # ask:{n}, the n-th question asked with the card (1 first)
REPLY_PREFIX = "reply:"  # a client's reply by email (intake/inbound.py)
CLIENT_COMMENT_PREFIX = "client-comment:"  # a #client comment emailed (client_updates)
# A question asked in DevOps is the #client comment written around the move to the state.
QUESTION_WINDOW = timedelta(hours=1)
NO_QUESTION = "the information we asked you for"


@dataclass(frozen=True)
class Wait:
    """The request's work item has been waiting on the client since ``since`` (UTC), when
    revision ``rev`` moved it there from ``previous_state``."""

    rev: int
    since: datetime
    previous_state: str
    # A new question asked with the card during the wait starts the cadence over from it:
    # ``since`` is then that question's time, ``entered`` when the item entered the state
    # (what ends the wait counts from there), and ``ask`` the question's number (``ask:{n}``).
    entered: datetime | None = None
    ask: int = 0

    @property
    def cycle(self) -> str:
        """The cadence's identity in its effect keys: the revision that entered the state,
        and the question that restarted it (``3``, ``3.2``)."""
        return f"{self.rev}.{self.ask}" if self.ask else str(self.rev)

    @property
    def start(self) -> datetime:
        """When the item entered the waiting state."""
        return self.entered or self.since


# --- who asks, and what ---------------------------------------------------------------------


def is_coordinator(clicker: Clicker, settings: Settings) -> bool:
    """True when the clicker is the configured person whose email is
    ``INTAKE_COORDINATOR_EMAIL``, or one with the role ``coordinator``."""
    person = person_for(clicker, settings)
    if person is None:
        return False
    return person.role == "coordinator" or (
        str(person.email).lower() == str(settings.coordinator_email).lower()
    )


def coordinator_teams_ids(settings: Settings) -> list[str]:
    """The Teams ids of the configured coordinators (their view has **Ask the client**)."""
    return [
        person.teams_id
        for person in settings.people
        if is_coordinator(Clicker(person.teams_id, person.name, person.aad_object_id), settings)
    ]


def question_from(data: Mapping[str, Any]) -> str:
    """The question typed into the card; raises ``InvalidDecision`` (shown on the card)."""
    value = data.get("question")
    if value is not None and not isinstance(value, str):
        raise InvalidDecision("The question must be text.")
    question = clean_text(value or "").strip()
    if not question:
        raise InvalidDecision("Type the question for the client first.")
    if len(question) > MAX_QUESTION:
        raise InvalidDecision(
            f"The question takes at most {MAX_QUESTION:,} characters ({len(question):,} typed)."
        )
    return question


def ask_key(number: int) -> str:
    return f"{ASK_PREFIX}{number}"


def asks(record: RequestRecord) -> list[tuple[int, dict[str, Any]]]:
    """The questions asked with the card, first first: (number, what the click recorded)."""
    found = []
    for step, result in record.steps.items():
        rest = step[len(ASK_PREFIX) :]
        if step.startswith(ASK_PREFIX) and rest.isdigit():
            found.append((int(rest), result))
    return sorted(found, key=lambda pair: pair[0])


# --- the wait, from the history -----------------------------------------------------------


def current_wait(updates: Sequence[Mapping[str, Any]], waiting_state: str) -> Wait | None:
    """The wait the item is in now (its latest state change entered ``waiting_state``)."""
    changes = state_changes(updates)
    if not changes or not _same(changes[-1].new, waiting_state):
        return None
    last = changes[-1]
    return Wait(last.rev, last.at, last.old)


def restarted(wait: Wait, record: RequestRecord, until: datetime | None = None) -> Wait:
    """``wait`` started over at the latest question asked with the card after the item
    entered the state (and, given ``until``, not after it): asking again is a new Day 1."""
    latest: tuple[datetime, int] | None = None
    for number, result in asks(record):
        at = result.get("at")
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
        if when is None or when <= wait.start or (until is not None and when > until):
            continue
        if latest is None or (when, number) >= latest:
            latest = (when, number)
    if latest is None:
        return wait
    return replace(wait, since=latest[0], entered=wait.start, ask=latest[1])


def answered(
    wait: Wait, updates: Iterable[Mapping[str, Any]], record: RequestRecord
) -> datetime | None:
    """When the client answered during ``wait`` (the first answer), or None."""
    found: list[datetime] = []
    for step, result in record.steps.items():
        reply = result.get("reply") if step.startswith(REPLY_PREFIX) else None
        if isinstance(reply, dict) and not reply.get("auto") and isinstance(reply.get("at"), str):
            at = datetime.fromisoformat(reply["at"])
            if at >= wait.start:
                found.append(at)
    client = record.request.client_email.strip().lower()
    for update in updates:
        if int(update.get("rev", 0)) <= wait.rev:
            continue
        by = update.get("revisedBy") or {}
        fields = update.get("fields") or {}
        text = (fields.get("System.History") or {}).get("newValue")
        author = str(by.get("uniqueName") or "").strip().lower()
        changed = (fields.get("System.ChangedDate") or {}).get("newValue")
        if author == client and isinstance(text, str) and is_for_client(text):
            if isinstance(changed, str):
                found.append(datetime.fromisoformat(changed.replace("Z", "+00:00")))
    return min(found, default=None)


def question_of(wait: Wait, record: RequestRecord) -> str:
    """What the client was asked for this wait: the latest question asked with the card
    (before the wait, or during it: asking again repeats the new question), or ``#client``
    comment emailed up to ``QUESTION_WINDOW`` after the wait started (a person may move the
    item first and write the comment next; later comments are news, not the question)."""
    latest: tuple[datetime, str] | None = None
    for step, result in record.steps.items():
        text, at = _question_in(step, result)
        if not text or at is None:
            continue
        asked = step.startswith(ASK_PREFIX)
        if (asked or at <= wait.start + QUESTION_WINDOW) and (latest is None or at >= latest[0]):
            latest = (at, text)
    return latest[1] if latest else NO_QUESTION


def _question_in(step: str, result: Mapping[str, Any]) -> tuple[str, datetime | None]:
    if step.startswith(ASK_PREFIX) and step[len(ASK_PREFIX) :].isdigit():
        text, at = result.get("question"), result.get("at")
    elif step.startswith(CLIENT_COMMENT_PREFIX):
        comment = result.get("client_comment") or {}
        text, at = comment.get("text"), comment.get("at")
    else:
        return "", None
    if not (isinstance(text, str) and isinstance(at, str)):
        return "", None
    return text, datetime.fromisoformat(at)


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()
