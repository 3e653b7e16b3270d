"""What a client may see of their request: the state as they read it, and a timeline. Pure.

The status page shows only what is built here, from the request's own record: its number,
title, when it was received, a client-facing label for its state, the emails sent to the
client, the state changes (from the DevOps history when the follow-up cache has it, else the
ones Intake made) and the ``#client`` comments as they were sent. Never a DevOps URL, an
internal comment, a vote, a staff member's email, or anything of another request: none of
those is read here.

How an email to the client is recorded: the step that sends it records ``client_email_result``
(subject, time, internet message id) in its result; any step may, so a new client email
appears on the page by recording the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    # The SLA due date, when INTAKE_SHOW_SLA_TO_CLIENT is set and the SLA clock gives one.
    due_at: datetime | None = None


def client_label(state: str, settings: Settings) -> str:
    """The client's words for a work item state."""
    labels = {
        **DEFAULT_LABELS,
        settings.state_new: "Received",
        settings.state_planning: "Being triaged",
        settings.state_closed: "Closed",
        settings.state_waiting_client: "Waiting for your answer",  # Ask the client (issue 15)
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


def client_view(
    record: RequestRecord,
    state: str,
    settings: Settings,
    *,
    history: Sequence[Mapping[str, Any]] = (),
    due_at: datetime | None = None,
) -> ClientView:
    """The page of one request, its state being ``state`` (read from DevOps, or recorded).

    ``history``: the work item's DevOps updates when known (the follow-up cache), so the page
    shows every state change, whoever made it; ``due_at``: the SLA due date, shown only when
    ``INTAKE_SHOW_SLA_TO_CLIENT`` is set."""
    request = record.request
    entries = [TimelineEntry(request.received_at, EntryKind.RECEIVED, "We received your request")]
    entries += emails_sent(record)
    entries += state_entries(record, settings, history)
    entries += client_replies(record)
    entries += client_comments(record)
    entries.sort(key=lambda entry: entry.at)
    return ClientView(
        number=record.work_item_id,
        title=request.title,
        label=client_label(state, settings),
        received_at=request.received_at,
        timeline=tuple(entries),
        due_at=due_at if settings.show_sla_to_client else None,
    )


def state_entries(
    record: RequestRecord, settings: Settings, history: Sequence[Mapping[str, Any]] = ()
) -> list[TimelineEntry]:
    """The state changes as the client reads them: from the DevOps history when known (any
    change, whoever made it), else the ones Intake recorded; a change that keeps the client's
    label (New -> To Do: both "Received") is not one for them."""
    changes = _history_state_changes(history) or sorted(_state_changes(record))
    entries, shown = [], client_label(settings.state_new, settings)
    for at, name in changes:
        label = client_label(name, settings)
        if label != shown:
            entries.append(TimelineEntry(at, EntryKind.STATE, f"Status: {label}"))
            shown = label
    return entries


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
    """DevOps comments marked ``#client``, as emailed to the client (marker removed,
    sanitised, as text): recorded as ``client_comment`` by ``client_updates``."""
    entries = []
    for result in record.steps.values():
        comment = result.get("client_comment")
        if isinstance(comment, dict) and isinstance(comment.get("text"), str):
            at = datetime.fromisoformat(str(comment["at"]))
            text = f"Message from our team:\n{comment['text']}"
            entries.append(TimelineEntry(at, EntryKind.COMMENT, text))
    return entries


def _state_changes(record: RequestRecord) -> list[tuple[datetime, str]]:
    changes = []
    for result in record.steps.values():
        if isinstance(result.get("state"), str) and isinstance(result.get("at"), str):
            changes.append((datetime.fromisoformat(result["at"]), result["state"]))
    return changes


def _history_state_changes(history: Sequence[Mapping[str, Any]]) -> list[tuple[datetime, str]]:
    """(when, new state) of each state change in DevOps updates, oldest first."""
    changes = []
    for update in sorted(history, key=lambda u: int(u.get("rev", 0))):
        fields = update.get("fields") or {}
        state = (fields.get("System.State") or {}).get("newValue")
        stamp = (fields.get("System.ChangedDate") or {}).get("newValue")
        if "oldValue" in (fields.get("System.State") or {}) and isinstance(state, str):
            if isinstance(stamp, str):
                changes.append((datetime.fromisoformat(stamp.replace("Z", "+00:00")), state))
    return changes
