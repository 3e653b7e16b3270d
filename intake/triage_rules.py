"""The triage's pure decisions: the tally, who may decide, what a decision click means.

Plain functions over models and settings, no I/O: tested without fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from intake.config import Person, Settings
from intake.models import Decision, DecisionKind, RequestRecord, Vote, VoteChoice

MAX_REFRESH_USERS = 60  # Teams refreshes a user-specific view for at most 60 user ids
MAX_TASKS = 20
MAX_TASK_TITLE = 255
MAX_ROOT_CAUSE = 2000

CHOICE_LABELS = {
    VoteChoice.NOT_OUR_PROBLEM: "Not our problem",
    VoteChoice.BUG_OR_FEATURE: "Bug / Feature request",
    VoteChoice.PROCEED: "Proceed",
}
DECISION_LABELS = {
    DecisionKind.CREATE_PBI: "Proceed: create a PBI",
    DecisionKind.NOT_OUR_PROBLEM: "Not our problem",
    DecisionKind.BUG_OR_FEATURE: "Bug / Feature request",
    DecisionKind.SPRINT_URGENT: "Sprint-urgent",
    DecisionKind.HANDLE_IN_SPRINT: "Handle during the sprint",
}
# The second decision after Create PBI: where the PBI goes.
PLAN_KINDS = (DecisionKind.SPRINT_URGENT, DecisionKind.HANDLE_IN_SPRINT)


class TriageStep(StrEnum):
    """Recorded steps of a decision (beside the intake steps of the same request)."""

    DECISION = "decision"  # the Decision that won the claim
    PLAN = "decision.plan"  # the second decision after Create PBI: sprint-urgent or not
    CREATE_PBI = "decision.create_pbi"
    CREATE_TASKS = "decision.create_tasks"
    LINK_PBI = "decision.link_pbi"
    COMMENT_COORDINATOR = "decision.comment_coordinator"
    ADD_TO_SPRINT = "decision.add_to_sprint"
    COMMENT_ROOT_CAUSE = "decision.comment_root_cause"
    EMAIL_CLIENT = "decision.email_client"
    CLOSE = "decision.close"
    CREATE_BUG_OR_FEATURE = "decision.create_bug_or_feature"
    LINK_BUG_OR_FEATURE = "decision.link_bug_or_feature"


# The steps each decision runs, in order (the functions are in ``intake.triage``).
STEPS_OF: dict[DecisionKind, tuple[TriageStep, ...]] = {
    DecisionKind.CREATE_PBI: (
        TriageStep.CREATE_PBI,
        TriageStep.CREATE_TASKS,
        TriageStep.LINK_PBI,
        TriageStep.COMMENT_COORDINATOR,
    ),
    DecisionKind.NOT_OUR_PROBLEM: (
        TriageStep.COMMENT_ROOT_CAUSE,
        TriageStep.EMAIL_CLIENT,
        TriageStep.CLOSE,
    ),
    DecisionKind.BUG_OR_FEATURE: (
        TriageStep.CREATE_BUG_OR_FEATURE,
        TriageStep.LINK_BUG_OR_FEATURE,
        TriageStep.EMAIL_CLIENT,
    ),
    DecisionKind.SPRINT_URGENT: (TriageStep.ADD_TO_SPRINT,),
    DecisionKind.HANDLE_IN_SPRINT: (),
}


@dataclass(frozen=True)
class TriageState:
    """What the card shows: the request with its recorded steps, and the current votes."""

    record: RequestRecord
    votes: list[Vote]

    def result(self, step: TriageStep) -> dict[str, Any] | None:
        return self.record.steps.get(step.value)

    @property
    def decision(self) -> Decision | None:
        value = self.result(TriageStep.DECISION)
        return Decision.model_validate(value) if value else None

    @property
    def plan(self) -> Decision | None:
        value = self.result(TriageStep.PLAN)
        return Decision.model_validate(value) if value else None

    def is_finished(self, decision: Decision | None) -> bool:
        """True when every step of ``decision`` is done."""
        return decision is not None and all(
            self.result(step) is not None for step in STEPS_OF[decision.kind]
        )

    @property
    def awaits_plan(self) -> bool:
        """True when the PBI exists and the scrum master has not said when it gets done."""
        decision = self.decision
        return (
            decision is not None
            and decision.kind is DecisionKind.CREATE_PBI
            and self.result(TriageStep.CREATE_PBI) is not None
            and self.plan is None
        )


@dataclass(frozen=True)
class Clicker:
    """Who clicked, as Teams says: ``from.id`` (29:...), ``from.name``, ``from.aadObjectId``."""

    teams_id: str
    name: str
    aad_object_id: str = ""


class InvalidDecision(ValueError):
    """Raised when a decision click lacks what it needs (a root cause, a bug-or-feature choice)."""


def tally(votes: list[Vote]) -> dict[VoteChoice, list[Vote]]:
    """The current votes grouped by choice, every choice present, in the card's button order."""
    grouped: dict[VoteChoice, list[Vote]] = {choice: [] for choice in VoteChoice}
    for vote in votes:
        grouped[vote.choice].append(vote)
    return grouped


def tally_text(votes: list[Vote]) -> str:
    if not votes:
        return "No votes yet."
    counts = tally(votes)
    return "Votes: " + " · ".join(
        f"{CHOICE_LABELS[choice]} {len(counts[choice])}" for choice in VoteChoice
    )


def vote_comment(vote: Vote, previous: Vote | None) -> str:
    """The words copied to the work item's discussion (plain text; the caller escapes)."""
    said = f"{vote.voter_name} voted {CHOICE_LABELS[vote.choice]}"
    if previous is not None:
        said += f" (instead of {CHOICE_LABELS[previous.choice]})"
    return said


def person_for(clicker: Clicker, settings: Settings) -> Person | None:
    """The configured person this clicker is, by Teams id or Entra object id."""
    for person in settings.people:
        if person.teams_id == clicker.teams_id or (
            clicker.aad_object_id and person.aad_object_id.lower() == clicker.aad_object_id.lower()
        ):
            return person
    return None


def is_scrum_master(clicker: Clicker, settings: Settings) -> bool:
    """True when the clicker's Entra object id, or the email of the configured person they are,
    is in ``settings.scrum_masters``."""
    allowed = {entry.strip().lower() for entry in settings.scrum_masters if entry.strip()}
    if clicker.aad_object_id and clicker.aad_object_id.lower() in allowed:
        return True
    person = person_for(clicker, settings)
    return person is not None and (
        str(person.email).lower() in allowed or person.aad_object_id.lower() in allowed
    )


def scrum_master_teams_ids(settings: Settings) -> list[str]:
    """The Teams user ids that get the scrum master's view automatically (refresh.userIds)."""
    ids = [
        person.teams_id
        for person in settings.people
        if is_scrum_master(Clicker(person.teams_id, person.name, person.aad_object_id), settings)
    ]
    return list(dict.fromkeys(ids))[:MAX_REFRESH_USERS]


def task_titles(text: str) -> tuple[str, ...]:
    """The Tasks typed into the card, one per line; blank lines dropped, each title trimmed."""
    titles = [" ".join(line.split())[:MAX_TASK_TITLE] for line in text.splitlines()]
    return tuple(title for title in titles if title)[:MAX_TASKS]


def decision_from(
    kind: DecisionKind, data: dict[str, Any], clicker: Clicker, token: str
) -> Decision:
    """The decision a click asks for, from the action's data and the card's inputs."""
    tasks: tuple[str, ...] = ()
    root_cause = ""
    bug_or_feature = ""
    if kind is DecisionKind.CREATE_PBI:
        tasks = task_titles(str(data.get("tasks") or ""))
    elif kind is DecisionKind.NOT_OUR_PROBLEM:
        root_cause = str(data.get("rootCause") or "").strip()[:MAX_ROOT_CAUSE]
        if not root_cause:
            raise InvalidDecision("Type a short root cause for the client first.")
    elif kind is DecisionKind.BUG_OR_FEATURE:
        bug_or_feature = str(data.get("bugOrFeature") or "").strip().lower()
        if bug_or_feature not in ("bug", "feature"):
            raise InvalidDecision("Choose Bug or Feature request first.")
    return Decision(
        kind=kind,
        by_id=clicker.teams_id,
        by_name=clicker.name,
        token=token,
        tasks=tasks,
        root_cause=root_cause,
        bug_or_feature=bug_or_feature,
    )
