"""The domain's values: request, work item, email, thread, vote, decision. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from intake.errors import IntakeError


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    """An instant as kept in records and caches: ISO 8601 in UTC (None stays None)."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def parse_instant(text: str) -> datetime:
    """An instant written by ``iso_utc`` or by DevOps (``...Z``); a naive one is UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Answer(BaseModel):
    """One answered question of the form, as the client typed it."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    question: str
    text: str


class Request(BaseModel):
    """What the client asked, extracted from one form submission through the field map."""

    model_config = ConfigDict(frozen=True)

    id: str
    form_id: str
    response_id: str
    title: str
    description: str = ""
    request_type: str = ""
    environment: str = ""
    severity: str = ""
    client_name: str
    client_email: EmailStr
    # True when a signed-in form's responder gave the address: only then is it known to be the
    # client's own, and confirmations to it need no limit.
    client_email_from_responder: bool = False
    organisation: str = ""
    answers: list[Answer] = Field(default_factory=list)
    received_at: datetime = Field(default_factory=utcnow)

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.form_id, self.response_id)

    @property
    def tag(self) -> str:
        """The tag a request's work item carried before the request id field replaced it
        (issue 12): still how those items are found, and the prefix of our effect keys."""
        return f"intake-{self.id}"

    def created_key(self, what: str = "") -> str:
        """The request id field's value of a work item made for this request: the request id
        for its own work item, ``<id>/<what>`` for what triage created (``pbi``, ``task-0``,
        ``bug``): one field, and still one value per item."""
        return f"{self.id}/{what}" if what else self.id

    def legacy_tag(self, what: str = "") -> str:
        """The tag the same item carried before (``intake-<id>``, ``intake-<id>-pbi`` ...)."""
        return f"{self.tag}-{what}" if what else self.tag


def idempotency_key(form_id: str, response_id: str) -> str:
    return f"{form_id}/{response_id}"


class Step(StrEnum):
    """The recorded steps of one request, in the order they run."""

    CREATE_WORK_ITEM = "create_work_item"
    FIND_CLIENT_IDENTITY = "find_client_identity"
    EMAIL_CLIENT = "email_client"
    EMAIL_COORDINATOR = "email_coordinator"
    MOVE_TO_PLANNING = "move_to_planning"
    TELL_CLIENT_PLANNING = "tell_client_planning"
    POST_TRIAGE_CARD = "post_triage_card"


INTAKE_STEPS: tuple[Step, ...] = tuple(Step)


class RequestStatus(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"


class RequestRecord(BaseModel):
    """A request and what has been done for it so far (the durable state of the flow)."""

    request: Request
    status: RequestStatus = RequestStatus.RECEIVED
    steps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    last_error: str = ""
    updated_at: datetime | None = None
    # What the request's status links carry: a new one revokes every link sent before it
    # (``Store.set_status_nonce``). Empty until the first revocation.
    status_nonce: str = ""

    def is_done(self, step: Step) -> bool:
        return step.value in self.steps

    def result(self, step: Step) -> dict[str, Any]:
        return self.steps.get(step.value, {})

    @property
    def work_item_id(self) -> int | None:
        value = self.result(Step.CREATE_WORK_ITEM).get("work_item_id")
        return int(value) if value is not None else None

    def created_work_item_id(self) -> int:
        """The work item's number, for a step that runs after the create (the step plans make
        a missing one impossible; if it happens anyway, say so instead of guessing)."""
        work_item_id = self.work_item_id
        if work_item_id is None:
            raise IntakeError(f"request {self.request.id} has no work item yet")
        return work_item_id

    def effect_key(self, step: str) -> str:
        """Our idempotency key for the effect of ``step`` (an email, a comment, a card)."""
        return f"{self.request.tag}-{step}"


@dataclass(frozen=True)
class WorkItemRef:
    """Where a work item lives: its number and the page people open."""

    id: int
    url: str


@dataclass(frozen=True)
class WorkItemDraft:
    """A work item to create. ``description_html`` is already sanitised."""

    type: str
    title: str
    description_html: str
    tags: tuple[str, ...] = ()
    priority: int | None = None
    area_path: str = ""
    iteration_path: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def field_values(self) -> dict[str, Any]:
        """The draft as DevOps field reference names and values (tags aside)."""
        values: dict[str, Any] = {
            "System.Title": self.title,
            "System.Description": self.description_html,
            **self.fields,
        }
        if self.priority is not None:
            values["Microsoft.VSTS.Common.Priority"] = self.priority
        if self.area_path:
            values["System.AreaPath"] = self.area_path
        if self.iteration_path:
            values["System.IterationPath"] = self.iteration_path
        return values


@dataclass(frozen=True)
class WorkItem:
    """A work item as read back: number, revision, state, fields."""

    id: int
    rev: int
    type: str
    state: str
    title: str
    url: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """A DevOps identity found by email; ``id`` is what a mention carries."""

    id: str
    display_name: str
    email: str


@dataclass(frozen=True)
class Comment:
    """A discussion comment. ``key`` is our idempotency key for it; ``mention`` goes first."""

    key: str
    html: str
    mention: Identity | None = None
    # True on a request's first run: no earlier attempt can have added it, so the adapter may
    # add it without looking for ``key`` first (and looks only when it retries).
    first_attempt: bool = False


@dataclass(frozen=True)
class Email:
    """One email. ``key`` marks the message so a replay can find out whether it went."""

    key: str
    to: tuple[str, ...]
    subject: str
    html: str
    text: str
    cc: tuple[str, ...] = ()
    work_item_id: int | None = None
    # Where replies go, and extra internet headers (name, value); an adapter sends the ones
    # its transport allows (Graph: only names starting with x-).
    reply_to: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    # True when the caller knows it has not gone (a request's first run, or it just looked):
    # the adapter sends without looking for ``key`` first, and looks only when it retries.
    first_attempt: bool = False


@dataclass(frozen=True)
class Thread:
    """A Teams channel thread holding a triage card; ``activity_id`` is the card's message."""

    conversation_id: str
    activity_id: str


@dataclass(frozen=True)
class Mention:
    """A person named in a channel reply: ``teams_id`` (``29:…``) when Intake knows it, so
    Teams notifies them; without one the reply shows the name in bold."""

    name: str
    teams_id: str = ""


@dataclass(frozen=True)
class TrackedItem:
    """A work item the follow-up timer follows: its request, its cached history (DevOps
    updates, oldest first; trimmed to what the clocks read) and when it next needs us."""

    work_item_id: int
    request_id: str
    updates: tuple[dict[str, Any], ...] = ()
    next_due_at: datetime | None = None
    running: bool = False
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DiscussionComment:
    """A comment of a work item's discussion as read back: its HTML as DevOps stores it, who
    wrote it, and ``by_intake`` when the adapter knows Intake wrote it (its own identity)."""

    id: int
    html: str
    author: Identity
    created_at: datetime
    by_intake: bool = False


@dataclass(frozen=True)
class Iteration:
    id: str
    name: str
    path: str


class VoteChoice(StrEnum):
    """The three buttons of the triage card."""

    NOT_OUR_PROBLEM = "not_our_problem"
    BUG_OR_FEATURE = "bug_or_feature"
    PROCEED = "proceed"


class Vote(BaseModel):
    """One person's current vote on a request (a new click replaces it)."""

    model_config = ConfigDict(frozen=True)

    voter_id: str  # the Teams user id (29:...) of the person who clicked
    voter_name: str
    choice: VoteChoice
    at: datetime = Field(default_factory=utcnow)


class DecisionKind(StrEnum):
    """What a scrum master decides on the triage card (each value is the card's verb)."""

    CREATE_PBI = "create_pbi"
    NOT_OUR_PROBLEM = "close_not_our_problem"
    BUG_OR_FEATURE = "create_bug_or_feature"
    SPRINT_URGENT = "sprint_urgent"
    HANDLE_IN_SPRINT = "handle_in_sprint"
    # After the PBI/Bug/Feature made from the request is done (issue 15): close, tell the client.
    CLOSE_DONE = "close_done"


class Decision(BaseModel):
    """A scrum master's decision on a request, taken once (``token`` tells whose click won)."""

    model_config = ConfigDict(frozen=True)

    kind: DecisionKind
    by_id: str  # the Teams user id (29:...) of the scrum master
    by_name: str
    token: str
    tasks: tuple[str, ...] = ()  # Create PBI: titles of the Tasks to create under the PBI
    root_cause: str = ""  # Not our problem: the note to the client
    bug_or_feature: str = ""  # Bug / Feature request: "bug" or "feature"
    # The resolution the close writes (Not our problem, Close and tell the client; issue 15).
    resolution: str = ""
    # Create PBI: the iteration path chosen, "@current" (the sprint current when the PBI is
    # made) or "@backlog" (no version yet); "" for decisions made before it was asked.
    iteration: str = ""
    at: datetime = Field(default_factory=utcnow)
