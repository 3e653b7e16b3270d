"""What a client may see of their request: the state as they read it, and a timeline. Pure.

The status page shows only what is built here, from the request's own record: its number,
title, when it was received, a client-facing label for its state, the emails sent to the
client and the state changes Intake made. Never a DevOps URL, a comment, a vote, a staff
member's name or email, or anything of another request: none of those is read here.

How an email to the client is recorded: the step that sends it records ``client_email_result``
(subject, time, internet message id) in its result; any step may, so a new client email
appears on the page by recording the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from intake.config import Settings
from intake.models import Email, RequestRecord

# What the client reads for each state Intake's processes use (Basic, Agile, Scrum, CMMI),
# before INTAKE_CLIENT_STATE_LABELS and the configured New / planning / closed states.
DEFAULT_LABELS = {
    "New": "Received",
    "To Do": "Received",
    "Proposed": "Received",
    "In Planning": "Being triaged",
    "Approved": "Being triaged",
    "Active": "In progress",
    "Doing": "In progress",
    "Committed": "In progress",
    "In Progress": "In progress",
    "On Hold": "Waiting for information",
    "Resolved": "Resolved",
    "Done": "Done",
    "Closed": "Closed",
    "Removed": "Closed",
}
# A state nobody named still reads as something true, and never as DevOps' own word for it.
FALLBACK_LABEL = "In progress"


class EntryKind(StrEnum):
    RECEIVED = "received"
    EMAIL = "email"
    STATE = "state"
    REPLY = "reply"  # the client's own reply by email (a later wave records them)
    COMMENT = "comment"  # a DevOps comment marked #client (a later wave records them)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: EntryKind
    text: str


@dataclass(frozen=True)
class ClientView:
    """Everything the status page shows, and nothing more."""

    number: int | None
    title: str
    label: str
    received_at: datetime
    timeline: tuple[TimelineEntry, ...]


def client_label(state: str, settings: Settings) -> str:
    """The client's words for a work item state."""
    labels = {
        **DEFAULT_LABELS,
        settings.state_new: "Received",
        settings.state_planning: "Being triaged",
        settings.state_closed: "Closed",
        **settings.client_state_labels,
    }
    by_name = {name.strip().lower(): label for name, label in labels.items()}
    return by_name.get(state.strip().lower(), FALLBACK_LABEL)


def client_email_result(email: Email, message_id: str, sent_at: datetime) -> dict[str, Any]:
    """What a step that emailed the client records: the page's timeline reads it, and the
    internet message id is what a reply's ``In-Reply-To`` names."""
    return {
        "message_id": message_id,
        "client_email": {
            "subject": email.subject,
            "sent_at": sent_at.isoformat(),
            "message_id": message_id,
        },
    }


def state_result(state: str, at: datetime) -> dict[str, Any]:
    """What a step that moved the work item records, for the page's timeline."""
    return {"state": state, "at": at.isoformat()}


def recorded_message_ids(record: RequestRecord) -> set[str]:
    """The internet message ids of every email sent to the client (for reply matching)."""
    return {
        str(result["client_email"]["message_id"])
        for result in record.steps.values()
        if isinstance(result.get("client_email"), dict)
    }


def last_recorded_state(record: RequestRecord, settings: Settings) -> str:
    """The latest state Intake itself set (when DevOps cannot be asked)."""
    changes = sorted(_state_changes(record), key=lambda change: change[0])
    return changes[-1][1] if changes else settings.state_new


def client_view(record: RequestRecord, state: str, settings: Settings) -> ClientView:
    """The page of one request, its state being ``state`` (read from DevOps, or recorded)."""
    request = record.request
    entries = [TimelineEntry(request.received_at, EntryKind.RECEIVED, "We received your request")]
    entries += emails_sent(record)
    entries += [
        TimelineEntry(at, EntryKind.STATE, f"Status: {client_label(name, settings)}")
        for at, name in _state_changes(record)
    ]
    entries += client_replies(record)
    entries += client_comments(record)
    entries.sort(key=lambda entry: entry.at)
    return ClientView(
        number=record.work_item_id,
        title=request.title,
        label=client_label(state, settings),
        received_at=request.received_at,
        timeline=tuple(entries),
    )


def emails_sent(record: RequestRecord) -> list[TimelineEntry]:
    """Every email sent to the client, by its subject."""
    entries = []
    for result in record.steps.values():
        sent = result.get("client_email")
        if isinstance(sent, dict):
            at = datetime.fromisoformat(str(sent["sent_at"]))
            entries.append(TimelineEntry(at, EntryKind.EMAIL, f"Email: {sent['subject']}"))
    return entries


def reply_result(
    *, at: datetime, text: str, automatic: bool, subject: str, action: str = ""
) -> dict[str, Any]:
    """What handling a client's reply by email records on the request (step
    ``reply:{internetMessageId}``): the page's timeline reads it."""
    return {
        "reply": {
            "at": at.isoformat(),
            "text": text,
            "auto": automatic,
            "subject": subject[:200],
            "action": action,
        }
    }


# How much of a reply the timeline repeats (the whole text is on the work item).
REPLY_EXCERPT = 280


def client_replies(record: RequestRecord) -> list[TimelineEntry]:
    """The client's replies by email, automatic replies included (RFC 3834 ones are shown
    here and nowhere else)."""
    entries = []
    for name, result in record.steps.items():
        reply = result.get("reply")
        if not name.startswith("reply:") or not isinstance(reply, dict):
            continue
        at = datetime.fromisoformat(str(reply["at"]))
        if reply.get("auto"):
            text = "An automatic reply from your mailbox was received (not passed on)"
        else:
            excerpt = " ".join(str(reply.get("text", "")).split())
            if len(excerpt) > REPLY_EXCERPT:
                excerpt = excerpt[: REPLY_EXCERPT - 1].rstrip() + "…"
            text = f"Your reply: {excerpt}" if excerpt else "Your reply (no text)"
            if reply.get("action") == "reopen":
                text += " (the request was reopened)"
        entries.append(TimelineEntry(at, EntryKind.REPLY, text))
    return entries


def client_comments(record: RequestRecord) -> list[TimelineEntry]:
    """Hook: DevOps comments marked ``#client`` (marker removed, sanitised). Nothing records
    them yet: the notification wave adds them."""
    return []


def _state_changes(record: RequestRecord) -> list[tuple[datetime, str]]:
    changes = []
    for result in record.steps.values():
        if isinstance(result.get("state"), str) and isinstance(result.get("at"), str):
            changes.append((datetime.fromisoformat(result["at"]), result["state"]))
    return changes
