"""What the work item's discussion says about a decision (issue 12): the decision, what it
made, and the votes that led to it: HTML from the request's record, every typed or
displayed name escaped (and the one store write that keeps a vote change).

Votes are written once, with the decision, not as a comment per click: every comment
notifies each follower of the work item, and a dozen clicks (changes of mind included) would
be a dozen notifications. Each vote change is recorded on the request as it happens (a
``vote.*`` entry of its record, see ``record_vote_change``), so the decision comment carries
the whole trail: who voted what, when, and what they changed from (docs/triage.md, "Votes").
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from markupsafe import escape

from intake.config import Settings
from intake.models import Decision, DecisionKind, RequestRecord, Vote, VoteChoice
from intake.ports import Services
from intake.triage_rules import CHOICE_LABELS, TriageState, tally

PROCEED_WORDS = "This dev support issue will proceed"

VOTE_PREFIX = "vote."  # the record entries of vote changes


def record_vote_change(
    record: RequestRecord, vote: Vote, votes: list[Vote], services: Services
) -> None:
    """Keep a vote that changes the voter's current one (``votes``: as stored before it) on
    the request's record, as ``vote.<voter>.<n>``: the voter's n-th change.

    Looked up before it is done: when the voter's latest recorded change already says this
    choice (a click whose vote was not stored after its change was, and is clicked again),
    nothing is added, so a retry never writes a change twice."""
    current = next((v for v in votes if v.voter_id == vote.voter_id), None)
    if current is not None and current.choice == vote.choice:
        return  # the same click again: no change
    voter = hashlib.sha256(vote.voter_id.encode()).hexdigest()[:12]
    prefix = f"{VOTE_PREFIX}{voter}."
    mine = sorted(name for name in record.steps if name.startswith(prefix))
    if mine and record.steps[mine[-1]].get("choice") == vote.choice.value:
        return
    entry = {
        "voter_name": vote.voter_name,
        "choice": vote.choice.value,
        "previous": current.choice.value if current is not None else None,
        "at": vote.at.isoformat(),
    }
    services.store.record_step(record.request.id, f"{prefix}{len(mine) + 1:04d}", entry)


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


def proceed_comment(
    state: TriageState,
    pbi_id: int,
    tasks: list[dict[str, Any]],
    unmentioned: str = "",
    version: str = "",
) -> str:
    """Proceed, for the coordinator (``unmentioned``: their name when DevOps cannot mention
    them): the PBI, its Tasks, who decided, that sprint-urgent or not comes next, the votes;
    ``version``: the iteration chosen for the PBI, in words (issue 15; "": not asked)."""
    decision = _decided(state.decision)
    words = f"{PROCEED_WORDS}: PBI #{pbi_id} ({decided_by(decision)})."
    if unmentioned:
        words = f"{escape(unmentioned)}: {words}"
    listed = "".join(f"<li>Task #{task['id']}: {escape(str(task['title']))}</li>" for task in tasks)
    return (
        f"<p>{words}</p>"
        + (f"<p>Tasks:</p><ul>{listed}</ul>" if listed else "<p>No Tasks.</p>")
        + (f"<p>{escape(version)}</p>" if version else "")
        + "<p>Sprint-urgent or not: the scrum master says next.</p>"
        + votes_html(state.record, state.votes)
    )


def root_cause_comment(state: TriageState) -> str:
    decision = _decided(state.decision)
    return (
        f"<p>Not our problem ({decided_by(decision)}).</p>"
        f"<p>Root cause: {escape(decision.root_cause)}</p>" + votes_html(state.record, state.votes)
    )


def bug_or_feature_comment(state: TriageState, created: dict[str, Any]) -> str:
    decision = _decided(state.decision)
    label = "Bug" if decision.bug_or_feature == "bug" else "Feature request"
    return (
        f"<p>{label} ({decided_by(decision)}): {escape(str(created['type']))} "
        f"#{created['id']} created and linked (Related).</p>"
        + votes_html(state.record, state.votes)
    )


def plan_comment(
    state: TriageState, pbi_id: int, sprint: dict[str, Any] | None, settings: Settings
) -> str:
    """Sprint-urgent (``sprint``: what moving the PBI answered) or handled during the sprint."""
    plan = _decided(state.plan)
    by = decided_by(plan)
    if plan.kind is DecisionKind.HANDLE_IN_SPRINT or sprint is None:
        return f"<p>Handle during the sprint ({by}): PBI #{pbi_id} stays in the backlog.</p>"
    where = (
        f"is in {escape(str(sprint['iteration']))}, tagged "
        f"{escape(settings.sprint_urgent_tag)}, top priority"
        if sprint.get("iteration")
        else "stays in the backlog: no sprint is current"
    )
    return f"<p>Sprint-urgent ({by}): PBI #{pbi_id} {where}.</p>"


def _decided(decision: Decision | None) -> Decision:
    assert decision is not None  # a decision's step runs only for a recorded decision
    return decision


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
