"""The use cases of the intake flow, written against the ports only (no SDK, no HTTP).

``submit_request`` validates and records a submission, then enqueues it; ``run_steps`` runs the
recorded steps of one request. Each step is looked up before it is done and its result recorded
right after, so a retry or a crash resumes at the first step not done and repeats nothing.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from intake import emails, telemetry
from intake.attempts import record_attempt, send_once
from intake.description import describe_request
from intake.errors import ExternalError, IntakeError
from intake.models import (
    Comment,
    RequestRecord,
    RequestStatus,
    Step,
    WorkItemDraft,
    utcnow,
)
from intake.ports import Services
from intake.submission import parse_body, to_request
from intake.triage_card import build_triage_card
from intake.triage_rules import RUN_DECISION, TriageStep, scrum_master_teams_ids

log = logging.getLogger(__name__)

LEASE_SECONDS = 300.0
RUN_STEPS = "run_steps"


@dataclass(frozen=True)
class Receipt:
    """What the form's flow gets back: the request id and where to follow it."""

    request_id: str
    status: str
    status_url: str
    created: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "requestId": self.request_id,
            "status": self.status,
            "statusUrl": self.status_url,
            "duplicate": not self.created,
        }


def submit_request(body: bytes, content_type: str | None, services: Services) -> Receipt:
    """Validate a Forms submission, record it durably, enqueue its steps."""
    settings = services.settings
    submission = parse_body(body, content_type, max_bytes=settings.max_body_bytes)
    request = to_request(submission, services.field_maps)
    record, created = services.store.add_request(RequestRecord(request=request))
    if created:
        log.info("request %s recorded for form %s", request.id, request.form_id)
        enqueue_steps(record.request.id, services)
    else:
        log.info("request %s submitted again; nothing new", record.request.id)
    telemetry.received(record.request.id, duplicate=not created)
    return Receipt(
        request_id=record.request.id,
        status=record.status.value,
        status_url=f"{settings.base_url}/api/requests/{record.request.id}",
        created=created,
    )


def enqueue_steps(request_id: str, services: Services, *, kind: str = RUN_STEPS) -> None:
    """Queue a run of the request's steps. The request is already recorded: if the queue is
    down, the request is not lost, and ``resume_stalled_requests`` queues it later."""
    try:
        services.queue.send({"kind": kind, "request_id": request_id})
    except ExternalError as exc:
        log.warning(
            "request %s recorded but not queued (%s); it will be resumed", request_id, exc.title
        )


def request_status(request_id: str, services: Services) -> dict[str, Any]:
    """What the status URL shows: the request's progress, without the client's answers."""
    record = services.store.get_request(request_id)
    return {
        "requestId": record.request.id,
        "status": record.status.value,
        "workItemId": record.work_item_id,
        "workItemUrl": record.result(Step.CREATE_WORK_ITEM).get("url"),
        "steps": {step.value: record.is_done(step) for step in Step},
        "lastError": record.last_error or None,
    }


def resume_stalled_requests(services: Services, *, quiet_for: float = 300.0) -> list[str]:
    """Queue again every unfinished request nobody has touched for ``quiet_for`` seconds
    (its message was lost, or its worker died holding the lease). Runs on a timer.

    Decisions too: a decided request is unfinished until its decision's run ends, and
    ``run_steps`` hands a decided request on to that run."""
    now = utcnow()
    resumed = []
    for status in (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS):
        for record in services.store.list_requests(status=status.value, limit=500):
            if record.updated_at and (now - record.updated_at).total_seconds() >= quiet_for:
                enqueue_steps(record.request.id, services)
                resumed.append(record.request.id)
    if resumed:
        log.info("resumed %d stalled requests", len(resumed))
    return resumed


# --- the steps ---------------------------------------------------------------------------

# A step gets the request as recorded so far and ``first_run``: True when no earlier run of
# this request can have started any step, so nothing can exist yet and the lookups that make a
# replay safe (work item by tag, email and comment by key) would only cost round trips.
StepFunction = Callable[..., dict[str, Any]]


def create_work_item(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    """Create the request's work item, unless one with its tag exists (a crash after create)."""
    settings, request = services.settings, record.request
    existing = None if first_run else services.work_items.find_by_tag(request.tag)
    if existing is not None:
        log.info("request %s: work item %s found by tag", request.id, existing.id)
        return {"work_item_id": existing.id, "url": existing.url, "reconciled": True}
    fields: dict[str, str] = {}
    if settings.client_email_field:
        fields[settings.client_email_field] = request.client_email
    draft = WorkItemDraft(
        type=settings.work_item_type,
        title=request.title,
        description_html=describe_request(request),
        tags=tuple(
            dict.fromkeys(
                [*settings.tags, *([request.request_type] if request.request_type else [])]
            )
        ),
        priority=priority_for(request.severity, settings.severity_priority),
        area_path=settings.area_path,
        iteration_path=settings.iteration_path,
        fields=fields,
    )
    ref = services.work_items.create(draft, tag=request.tag)
    telemetry.note(work_item_id=ref.id)
    log.info("request %s: work item %s created", request.id, ref.id)
    return {"work_item_id": ref.id, "url": ref.url}


def email_client(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    work_item_id = _work_item_id(record)
    email = emails.client_confirmation(
        record.request, work_item_id, _key(record, Step.EMAIL_CLIENT)
    )
    return {"message_id": send_once(record, email, services, first_run=first_run)}


def email_coordinator(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    work_item_id = _work_item_id(record)
    email = emails.coordinator_new_request(
        record.request,
        work_item_id,
        record.result(Step.CREATE_WORK_ITEM)["url"],
        services.settings.coordinator_email,
        _key(record, Step.EMAIL_COORDINATOR),
    )
    return {"message_id": send_once(record, email, services, first_run=first_run)}


def move_to_planning(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    state = services.settings.state_planning
    services.work_items.set_state(_work_item_id(record), state)
    return {"state": state}


def tell_client_planning(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    """@mention the client on the work item if DevOps knows them, else email them the same
    words: every client is told exactly once."""
    request, work_item_id = record.request, _work_item_id(record)
    identity = services.work_items.find_identity(request.client_email)
    key = _key(record, Step.TELL_CLIENT_PLANNING)
    if identity is not None:
        comment = Comment(
            key=key, html=emails.PLANNING_WORDS, mention=identity, first_attempt=first_run
        )
        comment_id = services.work_items.add_comment(work_item_id, comment)
        return {"via": "comment", "comment_id": comment_id}
    email = emails.client_planning(
        request, work_item_id, record.result(Step.CREATE_WORK_ITEM)["url"], key
    )
    return {"via": "email", "message_id": send_once(record, email, services, first_run=first_run)}


def post_triage_card(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    work_item_id = _work_item_id(record)
    card = build_triage_card(
        record.request, work_item_id, record.result(Step.CREATE_WORK_ITEM)["url"]
    )
    card["refresh"]["userIds"] = scrum_master_teams_ids(
        services.settings, services.store.scrum_masters()
    )
    key = _key(record, Step.POST_TRIAGE_CARD)
    attempt = record_attempt(record, key, services)
    if attempt.earlier_unknown:
        # Teams cannot be asked whether an earlier attempt posted (no idempotency key, no
        # lookup): post again, and say so. docs/reliability.md measures this window.
        log.warning("request %s: an earlier attempt may have posted the card", record.request.id)
    try:
        thread = services.channel.post_card(card, key=key)
    except ExternalError as exc:
        attempt.failed(exc, record.request.id, services)
        raise
    telemetry.note(work_item_id=work_item_id, card_activity_id=thread.activity_id)
    return {"conversation_id": thread.conversation_id, "activity_id": thread.activity_id}


# Each step, and the steps that must be done before it. The client's confirmation goes before
# the planning message, so a client never hears "we will triage" before "we received".
# Steps ready together start in this order, the longest waits first: the card (the support
# team waits for it), then the two steps the planning message waits for; the coordinator's
# email last (nothing waits for it). Their store writes take turns in the same order.
STEP_PLAN: dict[Step, tuple[StepFunction, tuple[Step, ...]]] = {
    Step.CREATE_WORK_ITEM: (create_work_item, ()),
    Step.POST_TRIAGE_CARD: (post_triage_card, (Step.CREATE_WORK_ITEM,)),
    Step.MOVE_TO_PLANNING: (move_to_planning, (Step.CREATE_WORK_ITEM,)),
    Step.EMAIL_CLIENT: (email_client, (Step.CREATE_WORK_ITEM,)),
    Step.TELL_CLIENT_PLANNING: (tell_client_planning, (Step.EMAIL_CLIENT, Step.MOVE_TO_PLANNING)),
    Step.EMAIL_COORDINATOR: (email_coordinator, (Step.CREATE_WORK_ITEM,)),
}


@telemetry.traced_request("intake.run_steps")
def run_steps(request_id: str, services: Services, *, owner: str | None = None) -> RequestRecord:
    """Run every step of a request that is not done yet, each as soon as the steps it needs
    are done (independent ones side by side).

    Transient failures are re-raised so the queue delivers the message again; a permanent one
    marks the request failed (replayable with ``python -m intake replay``).
    """
    owner = owner or uuid.uuid4().hex
    store = services.store
    if not store.acquire_lease(request_id, owner, LEASE_SECONDS):
        log.info("request %s is being run by another worker; leaving it", request_id)
        return store.get_request(request_id)
    try:
        record = store.get_request(request_id)
        # Every run marks the request in progress before its first step, and nothing marks it
        # received again: a request still received has never had a step started.
        first_run = record.status == RequestStatus.RECEIVED and not record.steps
        store.set_status(request_id, RequestStatus.IN_PROGRESS.value)
        _run_plan(record, services, first_run=first_run)
        record = store.get_request(request_id)
        if TriageStep.DECISION.value in record.steps:
            # Decided (a resume or a replay after the decision): the decision's run finishes
            # it and marks it done; until then it stays unfinished, for the timer to see.
            enqueue_steps(request_id, services, kind=RUN_DECISION)
        else:
            store.set_status(request_id, RequestStatus.DONE.value)
        log.info("request %s: all steps done", request_id)
        return store.get_request(request_id)
    except ExternalError as exc:
        reason = f"{exc.title}: {exc.detail}"
        if exc.transient:
            store.set_status(request_id, RequestStatus.IN_PROGRESS.value, last_error=reason)
            raise
        store.set_status(request_id, RequestStatus.FAILED.value, last_error=reason)
        log.error("request %s failed permanently: %s", request_id, reason)
        return store.get_request(request_id)
    except Exception as exc:
        store.set_status(
            request_id,
            RequestStatus.IN_PROGRESS.value,
            last_error=f"internal error: {type(exc).__name__}",
        )
        raise
    finally:
        store.release_lease(request_id, owner)


def next_steps(record: RequestRecord) -> list[Step]:
    """The steps not done whose prerequisites are all done (pure: tested without fakes)."""
    return [
        step
        for step, (_, needs) in STEP_PLAN.items()
        if not record.is_done(step) and all(record.is_done(need) for need in needs)
    ]


def _run_plan(record: RequestRecord, services: Services, *, first_run: bool) -> None:
    """Start each step the moment its prerequisites are done: independent steps wait on
    different remotes side by side, and a slow one holds up only the steps that need it.
    Each step is recorded as soon as it is done; after a failure no new step starts, the
    running ones finish (and are recorded), then the first failure is raised."""
    steps = dict(record.steps)

    def run(step: Step, snapshot: RequestRecord) -> dict[str, Any]:
        function, _ = STEP_PLAN[step]
        result: dict[str, Any] = function(snapshot, services, first_run=first_run)
        services.store.record_step(record.request.id, step.value, result)
        return result

    running: dict[Future[dict[str, Any]], Step] = {}
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=len(STEP_PLAN)) as pool:
        while True:
            if not errors:
                current = record.model_copy(update={"steps": dict(steps)})
                for step in next_steps(current):
                    if step not in running.values():
                        # Each thread gets a copy of this context: the request's span and
                        # ids go with it.
                        context = contextvars.copy_context()
                        running[pool.submit(context.run, run, step, current)] = step
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                error = future.exception()
                if error is not None:
                    errors.append(error)
                else:
                    steps[step.value] = future.result()
    if errors:
        raise errors[0]


def priority_for(severity: str, severity_priority: dict[str, int]) -> int | None:
    """DevOps priority (1 highest) for a severity answer, case-insensitively; None if unknown."""
    by_name = {name.strip().lower(): value for name, value in severity_priority.items()}
    return by_name.get(severity.strip().lower())


def _work_item_id(record: RequestRecord) -> int:
    work_item_id = record.work_item_id
    if work_item_id is None:  # the step plan makes this impossible; say so if it happens
        raise IntakeError(f"request {record.request.id} has no work item yet")
    return work_item_id


def _key(record: RequestRecord, step: Step) -> str:
    return f"intake-{record.request.id}-{step.value}"
