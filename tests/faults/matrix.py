"""The fault matrix: every (operation x fault kind x occurrence) of a flow, generated, not picked.

How a scenario runs (``run_scenario``), modelled on what Azure does around our code:

1. The form's flow posts the submission; on a failed answer it posts the same body again (the
   Logic App's default retry policy, 4 retries).
2. The queue delivers each message up to 5 times (``maxDequeueCount``), then moves it to the
   poison queue. A delivery that raises is retried; a crashed worker (``WorkerCrash``) dies
   holding the request's lease, which stays taken until it expires.
3. Later the timer resumes stalled requests (after the dead worker's lease expired) and the
   operator replays failed and poisoned requests (``python -m intake replay --all``).

The matrix is generated from a clean run: each fakeable operation the flow calls, each of its
occurrences in that run, each fault kind that operation can suffer. A scenario passes when
every request ends done with exactly one of each side effect.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from intake import messages, step_runner, triage, workflow
from intake.config import Settings
from intake.errors import ExternalError, ExternalRejected, ExternalUnavailable, Throttled
from intake.messages import Kind
from intake.models import RequestStatus, Step
from tests.fakes import FakeChannel, FakeMailer, FakeWorld

MAX_DEQUEUE_COUNT = 5
SUBMIT_ATTEMPTS = 5
OPERATOR_ROUNDS = 3
VISIBILITY_TIMEOUT = 10.0  # host.json extensions.queues.visibilityTimeout: seconds between tries
# A pessimistic delay before a message sent by Graph shows in Sent Items (usually seconds).
SENT_ITEMS_LAG = 30.0
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class WorkerCrash(BaseException):  # noqa: N818 - a process death, not an error we raise
    """The worker process died at this point: nothing after it runs, its lease stays taken."""


# --- what can fail, and how ----------------------------------------------------------------

FaultMaker = Callable[[str], BaseException]

FAULT_KINDS: dict[str, tuple[FaultMaker, bool]] = {
    # kind: (the exception, raised after the effect happened?)
    "5xx": (lambda op: ExternalUnavailable(f"{op}: 503", remote_status=503), False),
    "429": (lambda op: Throttled(f"{op}: 429", retry_after=7), False),
    "timeout": (lambda op: ExternalUnavailable(f"{op}: read timed out"), False),
    "rejected": (lambda op: ExternalRejected(f"{op}: 400", remote_status=400), False),
    "crash-before": (lambda op: WorkerCrash(op), False),
    "crash-after": (lambda op: WorkerCrash(op), True),
}

# Operations with an effect someone can see: a crash after them is the dangerous window.
EFFECTS = {
    "create",
    "set_state",
    "update",
    "add_comment",
    "add_link",
    "send",
    "post_card",
    "update_card",
    "record_step",
    "queue_send",
}
STORE_OPERATIONS = {
    "add_request",
    "claim",
    "record_step",
    "set_status",
    "acquire_lease",
    "release_lease",
    "queue_send",
}


def kinds_for(name: str) -> list[str]:
    """The fault kinds an operation can suffer (the store never answers a permanent 4xx)."""
    operation = name.split(".")[0]
    kinds = ["5xx", "429", "timeout", "crash-before"]
    if operation not in STORE_OPERATIONS:
        kinds.append("rejected")
    if operation in EFFECTS:
        kinds.append("crash-after")
    return kinds


@dataclass(frozen=True)
class Scenario:
    flow: str
    remote: str  # "keyed": every remote can be asked what happened; "protocol": as the real ones
    operation: str
    kind: str
    occurrence: int  # fail the n-th call of the operation (1-based)
    outage: bool = False  # fail every call until the operator steps in
    # The request is not on its first run (an earlier run died before its first step), so
    # the steps look before they act: the lookups a first run skips are aimed at too.
    replay: bool = False

    @property
    def name(self) -> str:
        what = "outage" if self.outage else f"#{self.occurrence}"
        run = "/replay" if self.replay else ""
        return f"{self.flow}/{self.remote}{run}/{self.operation}{what}/{self.kind}"


@dataclass
class Outcome:
    scenario: Scenario
    counts: dict[str, int]
    status: str
    injected: int
    resolved_by: str  # "retries" | "timer" | "replay" | "never"
    poisoned: int = 0
    # How many of each effect should have happened (absent: exactly one).
    expected: dict[str, int] = field(default_factory=dict)

    @property
    def losses(self) -> int:
        missing = sum(max(0, self.expected.get(k, 1) - n) for k, n in self.counts.items())
        return missing + (self.status != "done")

    @property
    def duplicates(self) -> int:
        return sum(max(0, n - self.expected.get(k, 1)) for k, n in self.counts.items())


# --- flows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """A flow under test: how to start it and what exactly-once means for it.

    A decision flow (``drive`` set) runs the intake clean first, then ``drive`` makes the
    scrum masters' clicks: its faults, and their occurrences, count from the first click on.
    ``expect`` says how many of each effect should happen (absent: one of each).
    """

    name: str
    submission: dict[str, Any]
    effects: Callable[[FakeWorld, str], dict[str, int]]
    drive: Callable[[HostModel, str], None] | None = None
    expect: Callable[[FakeWorld, str], dict[str, int]] | None = None


def intake_effects(world: FakeWorld, request_id: str) -> dict[str, int]:
    """How many times each side effect of the intake flow happened for one request."""
    record = world.store.records[request_id]
    items = [i for i, item in world.work_items.items.items() if item["key"] == request_id]
    key = f"intake-{request_id}-"
    sent = Counter(e.key for e in world.mailer.sent if e.key.startswith(key))
    comments = Counter(
        c.key for i in items for c in world.work_items.comments.get(i, []) if c.key.startswith(key)
    )
    cards = sum(1 for t in world.channel.threads.values() if t["key"].startswith(key))
    planning = f"{key}{Step.TELL_CLIENT_PLANNING.value}"
    in_planning = [i for i in items if world.work_items.items[i]["state"] == "In Planning"]
    return {
        "work item": len(items),
        "client confirmation email": sent[f"{key}{Step.EMAIL_CLIENT.value}"],
        "coordinator email": sent[f"{key}{Step.EMAIL_COORDINATOR.value}"],
        # Always a comment on the work item (issue 12); the client told exactly once: by the
        # comment's mention when DevOps knows them, else by email.
        "@client comment": comments[planning],
        "client told we will triage": (
            comments[planning]
            if record.request.client_email.lower() in world.work_items.identities
            else sent[planning]
        ),
        "triage card": cards,
        "moved to In Planning": min(len(in_planning), 1) if items else 0,
    }


def intake_flows(sample: dict[str, Any]) -> list[Flow]:
    """The intake flow twice: a client DevOps knows (@mention) and one it does not (email)."""
    unknown = json.loads(json.dumps(sample))
    unknown["responseId"] = "no-devops-identity"
    for question_id, value in unknown["response"].items():
        if value == "jordan.rivera@fabrikam.example":
            unknown["response"][question_id] = "pat@northwind.example"
    return [
        Flow("intake-mention", sample, intake_effects),
        Flow("intake-email", unknown, intake_effects),
    ]


# --- the host model ----------------------------------------------------------------------


def make_world(settings: Settings, remote: str) -> FakeWorld:
    world = FakeWorld(settings)
    if remote == "protocol":
        # Graph: Sent Items shows a message a little after sendMail returned; Bot Connector:
        # no idempotency key and nothing to list the channel's messages with.
        world.mailer = FakeMailer(world.faults, sent_items_lag=SENT_ITEMS_LAG)
        world.channel = FakeChannel(world.faults, keyed=False)
    return world


class HostModel:
    """Runs a flow the way Azure runs it: retried posts, a queue with 5 deliveries and a poison
    queue, leases that a dead worker keeps until they expire, a timer, an operator."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.now = 0.0
        world.store.clock = lambda: self.now
        world.mailer.clock = lambda: self.now
        world.clock = lambda: EPOCH + timedelta(seconds=self.now)
        self.poison: list[dict[str, Any]] = []
        self.poisoned = 0  # messages that went to the poison queue, replayed or not
        self.resolved_by = "retries"

    def submit(self, submission: dict[str, Any]) -> str | None:
        body = json.dumps(submission).encode()
        for _ in range(SUBMIT_ATTEMPTS):
            try:
                receipt = workflow.submit_request(body, "application/json", self.world.services)
            except (ExternalError, WorkerCrash):
                self.now += 10
                continue
            return receipt.request_id
        return None

    def deliver_all(self) -> None:
        while self.world.queue.messages:
            self.deliver(self.world.queue.messages.pop(0))

    def deliver(self, message: dict[str, Any]) -> None:
        """One message, as ``functions/steps.py`` handles it, delivered until it succeeds or
        ends in the poison queue."""
        request_id = str(message["request_id"])
        kind = message.get("kind", Kind.RUN_STEPS)
        for _ in range(MAX_DEQUEUE_COUNT):
            owner = uuid.uuid4().hex
            try:
                if kind == Kind.RUN_DECISION:
                    triage.run_decision(request_id, self.world.services, owner=owner)
                elif kind == Kind.COPY_VOTE:
                    triage.copy_vote(messages.from_json(message), self.world.services)
                else:
                    workflow.run_steps(request_id, self.world.services, owner=owner)
                return
            except WorkerCrash:
                # A dead process runs no ``finally``: its lease stays until it expires.
                store = self.world.store
                store.leases[request_id] = owner
                store.lease_until[request_id] = self.now + step_runner.LEASE_SECONDS
            except Exception:  # noqa: BLE001 - the host's job: deliver again
                pass
            self.now += VISIBILITY_TIMEOUT
        self.poison.append(message)
        self.poisoned += 1

    def operate(self, request_ids: list[str], *, clear: Callable[[], None]) -> None:
        """What happens later: the timer resumes stalled requests, the operator replays
        failed and poisoned ones. ``clear`` ends an outage before the operator looks."""
        for round_ in range(OPERATOR_ROUNDS):
            records = [self.world.store.records.get(r) for r in request_ids]
            if all(r is not None and r.status == RequestStatus.DONE for r in records):
                return
            self.now += step_runner.LEASE_SECONDS + 1
            if round_ == 0:
                self.resolved_by = "timer"
                try:
                    workflow.resume_stalled_requests(self.world.services, quiet_for=0)
                except (ExternalError, WorkerCrash):
                    pass
                self.deliver_all()
                if all(
                    self.world.store.records[r].status == RequestStatus.DONE
                    for r in request_ids
                    if r in self.world.store.records
                ):
                    return
            clear()
            self.resolved_by = "replay"
            replay = {str(m["request_id"]) for m in self.poison} | {
                r.request.id
                for r in self.world.store.records.values()
                if r.status != RequestStatus.DONE
            }
            self.poison.clear()
            for request_id in sorted(replay):
                workflow.enqueue_steps(request_id, self.world.services)
            self.deliver_all()


def run_scenario(flow: Flow, scenario: Scenario, settings: Settings) -> Outcome:
    world = make_world(settings, scenario.remote)
    host = HostModel(world)
    decided = None
    if flow.drive is not None:
        decided = submitted_clean(host, flow)
    make, after = FAULT_KINDS[scenario.kind]
    operation = scenario.operation.split(".")[0]
    if scenario.outage and operation in STORE_OPERATIONS - {"queue_send"}:
        # A store outage takes every write down, not one kind of write.
        for name in STORE_OPERATIONS - {"queue_send"}:
            world.faults.add(name, make(name), times=10_000)
    else:
        world.faults.add(
            scenario.operation,
            make(scenario.operation),
            after=after,
            skip=0 if scenario.outage else scenario.occurrence - 1,
            times=10_000 if scenario.outage else 1,
        )
    if flow.drive is not None and decided is not None:
        flow.drive(host, decided)
        return outcome_of(flow, scenario, host, decided, poisoned=host.poisoned)
    request_id = host.submit(flow.submission)
    if request_id is None:  # the caller gave up: an outage of the intake endpoint's store
        world.faults.clear()
        request_id = host.submit(flow.submission)
        host.resolved_by = "replay"
    assert request_id is not None
    if scenario.replay:
        _not_first_run(world, request_id)
    poisoned_before = 0
    host.deliver_all()
    poisoned_before = len(host.poison)
    host.operate([request_id], clear=world.faults.clear)
    return outcome_of(flow, scenario, host, request_id, poisoned=poisoned_before)


def outcome_of(
    flow: Flow, scenario: Scenario, host: HostModel, request_id: str, *, poisoned: int
) -> Outcome:
    world = host.world
    record = world.store.records[request_id]
    done = record.status == RequestStatus.DONE
    return Outcome(
        scenario=scenario,
        counts=flow.effects(world, request_id),
        status=record.status.value,
        injected=world.faults.injected,
        resolved_by=host.resolved_by if done else "never",
        poisoned=poisoned,
        expected=flow.expect(world, request_id) if flow.expect else {},
    )


def submitted_clean(host: HostModel, flow: Flow) -> str:
    """A decision flow's start: the request submitted and its intake done, with no fault;
    the call counts start again from here."""
    request_id = host.submit(flow.submission)
    host.deliver_all()
    assert request_id is not None
    assert host.world.store.records[request_id].status == RequestStatus.DONE
    host.world.faults.calls.clear()
    return request_id


def _not_first_run(world: Any, request_id: str) -> None:
    """As if an earlier run had marked the request in progress and died before any step."""
    record = world.store.records[request_id]
    world.store.records[request_id] = record.model_copy(
        update={"status": RequestStatus.IN_PROGRESS}
    )


def clean_calls(
    flow: Flow, settings: Settings, remote: str, *, replay: bool = False
) -> Counter[str]:
    """How many times each operation is called in a run without faults (a decision flow:
    from the first click on; ``replay``: the intake flow when not on its first run)."""
    world = make_world(settings, remote)
    host = HostModel(world)
    if flow.drive is not None:
        request_id: str | None = submitted_clean(host, flow)
        assert request_id is not None
        flow.drive(host, request_id)
    else:
        request_id = host.submit(flow.submission)
        assert request_id is not None
        if replay:
            _not_first_run(world, request_id)
        host.deliver_all()
    assert request_id is not None
    assert world.store.records[request_id].status == RequestStatus.DONE
    return Counter(world.faults.calls)


def scenarios(flows: list[Flow], settings: Settings) -> Iterator[tuple[Flow, Scenario]]:
    """Every scenario of the matrix, generated from clean runs."""
    for flow, remote in itertools.product(flows, ("keyed", "protocol")):
        calls = clean_calls(flow, settings, remote)
        aimed = {name.split(".")[0] for name in calls if "." in name}
        for operation in sorted(name for name in calls if name not in aimed):
            for kind in kinds_for(operation):
                for occurrence in range(1, calls[operation] + 1):
                    yield flow, Scenario(flow.name, remote, operation, kind, occurrence)
                if kind not in ("crash-before", "crash-after"):
                    yield flow, Scenario(flow.name, remote, operation, kind, 1, outage=True)
        # A first run looks for nothing it could not have done; a later run does: aim at the
        # operations only later runs make (work item by tag, email and comment by key).
        later = clean_calls(flow, settings, remote, replay=True)
        aimed = {name.split(".")[0] for name in later if "." in name}
        for operation in sorted(n for n in later if n not in calls and n not in aimed):
            for kind in kinds_for(operation):
                for occurrence in range(1, later[operation] + 1):
                    yield (
                        flow,
                        Scenario(flow.name, remote, operation, kind, occurrence, replay=True),
                    )
                if kind not in ("crash-before", "crash-after"):
                    outage = Scenario(flow.name, remote, operation, kind, 1, True, replay=True)
                    yield flow, outage


# --- known windows -----------------------------------------------------------------------


def is_known_window(outcome: Outcome) -> bool:
    """A duplicate the real protocol cannot rule out (see docs/reliability.md): the effect
    happened, the worker died (or the store failed) before recording it, and the remote has
    nothing a replay can ask: a Teams post. At most one extra card per such fault."""
    s = outcome.scenario
    if s.remote != "protocol":
        return False
    extra = {name for name, n in outcome.counts.items() if n > 1}
    return extra == {"triage card"} and outcome.duplicates == 1


@dataclass
class Figures:
    scenarios: int = 0
    faults_injected: int = 0
    losses: int = 0
    duplicates: int = 0
    window_hits: Counter[str] = field(default_factory=Counter)
    resolved_by: Counter[str] = field(default_factory=Counter)
    failures: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.scenarios += 1
        self.faults_injected += outcome.injected
        self.resolved_by[outcome.resolved_by] += 1
        self.losses += outcome.losses
        if is_known_window(outcome):
            for name, n in outcome.counts.items():
                if n > 1:
                    self.window_hits[name] += n - 1
        else:
            self.duplicates += outcome.duplicates
        if outcome.losses or (outcome.duplicates and not is_known_window(outcome)):
            self.failures.append(outcome)


def run_matrix(flows: list[Flow], settings: Settings) -> Figures:
    figures = Figures()
    for flow, scenario in scenarios(flows, settings):
        figures.add(run_scenario(flow, scenario, settings))
    return figures
