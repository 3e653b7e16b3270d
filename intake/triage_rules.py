"""The triage's pure decisions: the tally, who may decide, what a decision click means.

Plain functions over models and settings, no I/O: tested without fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from intake.config import RESOLUTION_CODES, Person, Settings
from intake.errors import InvalidDecision as InvalidDecision  # raised here; re-exported
from intake.models import (
    Decision,
    DecisionKind,
    Iteration,
    RequestRecord,
    RequestStatus,
    Vote,
    VoteChoice,
)
from intake.text_rules import clean_text, utf16_length

MAX_REFRESH_USERS = 60  # Teams refreshes a user-specific view for at most 60 user ids
# Limits of what a scrum master types into the card (docs/reliability.md, Limits). The card's
# inputs carry the same ``maxLength``; the server checks again, as a click can be forged.
MAX_TASKS = 20  # Tasks under one PBI
MAX_TASK_TITLE = 255  # characters of one Task title (DevOps: System.Title)
MAX_TASKS_TEXT = 4000  # characters of the whole Tasks box
MAX_ROOT_CAUSE = 2000  # characters of the root cause sent to the client

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
    DecisionKind.CLOSE_DONE: "Close and tell the client",
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
    # The DevOps trail (issue 12): every decision says on the work item what was decided, with
    # the votes, and may move the request to a configured state.
    COMMENT_BUG_OR_FEATURE = "decision.comment_bug_or_feature"
    COMMENT_PLAN = "decision.comment_plan"
    SET_STATE = "decision.set_state"
    # Closing the loop (issue 15): what Intake made reached a done state (recorded by the
    # follow-up run), the close that was asked for then, and its steps.
    DONE_OFFER = "closing.offer"
    CLOSING = "closing"  # the CLOSE_DONE Decision that won the claim
    CLOSE_DONE = "closing.close"
    EMAIL_DONE = "closing.email_client"
    # The request's work item is the single source of truth: the close said on it, once.
    COMMENT_DONE = "closing.comment"


# The steps each decision runs, in order (the functions are in ``intake.decision_steps``).
STEPS_OF: dict[DecisionKind, tuple[TriageStep, ...]] = {
    DecisionKind.CREATE_PBI: (
        TriageStep.CREATE_PBI,
        TriageStep.CREATE_TASKS,
        TriageStep.LINK_PBI,
        TriageStep.COMMENT_COORDINATOR,
        TriageStep.SET_STATE,
        TriageStep.EMAIL_CLIENT,
    ),
    DecisionKind.NOT_OUR_PROBLEM: (
        TriageStep.COMMENT_ROOT_CAUSE,
        TriageStep.EMAIL_CLIENT,
        TriageStep.CLOSE,
    ),
    DecisionKind.BUG_OR_FEATURE: (
        TriageStep.CREATE_BUG_OR_FEATURE,
        TriageStep.LINK_BUG_OR_FEATURE,
        TriageStep.COMMENT_BUG_OR_FEATURE,
        TriageStep.SET_STATE,
        TriageStep.EMAIL_CLIENT,
    ),
    DecisionKind.SPRINT_URGENT: (TriageStep.ADD_TO_SPRINT, TriageStep.COMMENT_PLAN),
    DecisionKind.HANDLE_IN_SPRINT: (TriageStep.COMMENT_PLAN,),
    DecisionKind.CLOSE_DONE: (
        TriageStep.CLOSE_DONE,
        TriageStep.EMAIL_DONE,
        TriageStep.COMMENT_DONE,
    ),
}
# Iteration choices of Create PBI besides an iteration path (issue 15).
CURRENT_SPRINT = "@current"  # the sprint current when the PBI is created
BACKLOG = "@backlog"  # "Backlog (no version yet)", chosen explicitly
DEFAULT_NOT_OUR_PROBLEM = "Won't Do"
DONE = "Done"
NO_RESPONSE = "No response"  # the non-responsive cadence's close


@dataclass(frozen=True)
class SprintChoices:
    """The iterations Create PBI offers (issue 15): the team's current sprint (preselected)
    and the coming ones, as last read from DevOps (``intake/iteration_choices.py``)."""

    current: Iteration | None = None
    coming: tuple[Iteration, ...] = ()


@dataclass(frozen=True)
class TriageState:
    """What the card shows: the request with its recorded steps, and the current votes."""

    record: RequestRecord
    votes: list[Vote]
    # Teams ids of the scrum masters learnt from their clicks (the store's list).
    scrum_master_ids: tuple[str, ...] = ()
    # The SLA fact as the work item's history says it ("due Wed 9 Dec 16:30 CET"; the
    # follow-up's cache); empty: the card computes it from the record (docs/sla.md).
    sla_line: str = ""
    # What Create PBI offers as its iteration (read for the scrum master's view only).
    sprints: SprintChoices = SprintChoices()

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
    def pending_steps(self) -> list[TriageStep]:
        """The steps of the decision(s) not done yet, in the order ``run_decision`` runs them."""
        return [
            step
            for decision in (self.decision, self.plan, self.closing)
            if decision is not None
            for step in STEPS_OF[decision.kind]
            if self.result(step) is None
        ]

    @property
    def closing(self) -> Decision | None:
        value = self.result(TriageStep.CLOSING)
        return Decision.model_validate(value) if value else None

    @property
    def done_offer(self) -> dict[str, Any] | None:
        """What Intake made from the request and reached a done state (issue 15), if any."""
        return self.result(TriageStep.DONE_OFFER)

    @property
    def offers_close(self) -> bool:
        """True when the card offers Close and tell the client: done, not closed yet."""
        return self.done_offer is not None and self.closing is None

    @property
    def failed_step(self) -> TriageStep | None:
        """The decision step that failed for good (the request is marked failed, and its
        steps run in order, so it is the first one not done), if any."""
        pending = self.pending_steps
        return pending[0] if pending and self.record.status is RequestStatus.FAILED else None

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

    def __post_init__(self) -> None:
        # A display name reaches the card, the work item's discussion and emails: the one
        # text rule applies to it as to anything a client typed.
        object.__setattr__(self, "name", clean_text(self.name, one_line=True))


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
    """The configured person this clicker is: by Entra object id when the activity carries one
    (the stable identity; a Teams id that matches someone else's then proves nothing), else by
    Teams id."""
    if clicker.aad_object_id:
        wanted = clicker.aad_object_id.lower()
        return next((p for p in settings.people if p.aad_object_id.lower() == wanted), None)
    return next((p for p in settings.people if p.teams_id == clicker.teams_id), None)


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


def scrum_master_teams_ids(settings: Settings, learnt: Sequence[str] = ()) -> list[str]:
    """The Teams user ids that get the scrum master's view automatically (refresh.userIds):
    the configured scrum masters', then those ``learnt`` from their clicks; 60 at most."""
    ids = [
        person.teams_id
        for person in settings.people
        if is_scrum_master(Clicker(person.teams_id, person.name, person.aad_object_id), settings)
    ]
    return list(dict.fromkeys([*ids, *learnt]))[:MAX_REFRESH_USERS]


def task_titles(text: str) -> tuple[str, ...]:
    """The Tasks typed into the card, one per line; blank lines dropped, spaces tidied.

    Raises ``InvalidDecision`` past a limit: a refusal the scrum master sees on the card, rather
    than Tasks silently cut or dropped."""
    if len(text) > MAX_TASKS_TEXT:
        raise InvalidDecision(
            f"The Tasks box takes at most {MAX_TASKS_TEXT:,} characters ({len(text):,} typed)."
        )
    titles = tuple(t for t in (" ".join(line.split()) for line in text.splitlines()) if t)
    if len(titles) > MAX_TASKS:
        raise InvalidDecision(f"At most {MAX_TASKS} Tasks ({len(titles)} typed).")
    for number, title in enumerate(titles, start=1):
        if utf16_length(title) > MAX_TASK_TITLE:  # DevOps counts UTF-16 units
            raise InvalidDecision(
                f"Task {number} is {utf16_length(title):,} characters long; "
                f"a Task title takes at most {MAX_TASK_TITLE}."
            )
    return titles


def typed(data: dict[str, Any], name: str, label: str) -> str:
    """One text input of the card's data (absent: empty); anything but text is refused."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidDecision(f"{label} must be text.")
    return clean_text(value)


def decision_from(
    kind: DecisionKind,
    data: dict[str, Any],
    clicker: Clicker,
    token: str,
    *,
    resolution_codes: Sequence[str] = RESOLUTION_CODES,
    iterations: Sequence[str] = (),
) -> Decision:
    """The decision a click asks for, from the action's data and the card's inputs.

    ``iterations``: the iteration paths the card offered (besides the current sprint and the
    backlog); ``resolution_codes``: the resolutions a close may give (the settings')."""
    tasks: tuple[str, ...] = ()
    root_cause = ""
    bug_or_feature = ""
    resolution = ""
    iteration = ""
    if kind is DecisionKind.CREATE_PBI:
        tasks = task_titles(typed(data, "tasks", "Tasks"))
        # Absent: a card posted before the iteration was asked (the PBI goes where it used to).
        iteration = typed(data, "iteration", "The iteration").strip()
        if iteration and iteration not in (CURRENT_SPRINT, BACKLOG, *iterations):
            raise InvalidDecision("That iteration is no longer offered: choose it again.")
    elif kind is DecisionKind.CLOSE_DONE:
        resolution = DONE
    elif kind is DecisionKind.NOT_OUR_PROBLEM:
        root_cause = typed(data, "rootCause", "The root cause").strip()
        if not root_cause:
            raise InvalidDecision("Type a short root cause for the client first.")
        if len(root_cause) > MAX_ROOT_CAUSE:
            raise InvalidDecision(
                f"The root cause takes at most {MAX_ROOT_CAUSE:,} characters "
                f"({len(root_cause):,} typed)."
            )
        resolution = typed(data, "resolution", "The resolution").strip()
        resolution = resolution or DEFAULT_NOT_OUR_PROBLEM
        if resolution not in resolution_codes:
            raise InvalidDecision("Choose a resolution from the list.")
    elif kind is DecisionKind.BUG_OR_FEATURE:
        bug_or_feature = typed(data, "bugOrFeature", "Bug or Feature request").strip().lower()
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
        resolution=resolution,
        iteration=iteration,
    )
