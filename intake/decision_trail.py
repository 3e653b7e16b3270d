"""What the work item's discussion says about a decision (issue 12): the decision, what it
made, and the votes that led to it. Pure: HTML from the request's record, every typed or
displayed name escaped.

Votes are written once, with the decision, not as a comment per click: every comment
notifies each follower of the work item, and a dozen clicks (changes of mind included) would
be a dozen notifications. Each vote change is recorded on the request as it happens (a
``vote.*`` entry of its record, see ``vote_entry``), so the decision comment carries the whole
trail: who voted what, when, and what they changed from (docs/triage.md, "Votes").
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from markupsafe import escape

from intake.models import Decision, RequestRecord, Vote, VoteChoice
from intake.triage_rules import CHOICE_LABELS, tally

VOTE_PREFIX = "vote."  # the record entries of vote changes


def vote_entry_name(vote: Vote) -> str:
    """The record entry of one vote change: one per voter and instant, so a replayed
    message records nothing twice."""
    voter = hashlib.sha256(vote.voter_id.encode()).hexdigest()[:12]
    return f"{VOTE_PREFIX}{voter}.{vote.at.isoformat()}"


def vote_entry(vote: Vote, previous: Vote | None) -> dict[str, Any]:
    return {
        "voter_name": vote.voter_name,
        "choice": vote.choice.value,
        "previous": previous.choice.value if previous is not None else None,
        "at": vote.at.isoformat(),
    }


def vote_changes(record: RequestRecord) -> list[dict[str, Any]]:
    """The recorded vote changes, oldest first."""
    found = [value for name, value in record.steps.items() if name.startswith(VOTE_PREFIX)]
    return sorted(found, key=lambda entry: str(entry.get("at", "")))


def votes_html(record: RequestRecord, votes: list[Vote]) -> str:
    """The votes as they stood when it was decided, then how they came in."""
    if not votes and not vote_changes(record):
        return "<p>Votes: none.</p>"
    grouped = tally(votes)
    standing = "; ".join(
        f"{escape(CHOICE_LABELS[choice])}: "
        + (", ".join(str(escape(v.voter_name)) for v in grouped[choice]) or "none")
        for choice in VoteChoice
    )
    lines = [f"<li>{_line(entry)}</li>" for entry in vote_changes(record)]
    history = f"<ul>{''.join(lines)}</ul>" if lines else ""
    return f"<p>Votes when decided: {standing}.</p>{history}"


def decided_by(decision: Decision) -> str:
    return f"decided by {escape(decision.by_name)}"


def _line(entry: dict[str, Any]) -> str:
    when = _when(str(entry.get("at", "")))
    if entry.get("text"):  # recorded from a copy_vote message an older version queued
        return f"{when} {escape(str(entry['text']))}"
    said = f"{when} {escape(str(entry.get('voter_name', '')))} voted {_label(entry.get('choice'))}"
    if entry.get("previous"):
        said += f" (instead of {_label(entry['previous'])})"
    return said


def _label(choice: Any) -> str:
    try:
        return str(escape(CHOICE_LABELS[VoteChoice(str(choice))]))
    except ValueError:
        return str(escape(str(choice)))


def _when(at: str) -> str:
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
