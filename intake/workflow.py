"""The use cases of the intake flow, written against the ports only (no SDK, no HTTP).

``submit_request`` validates and records a submission, then enqueues it; ``run_steps`` runs the
recorded steps of one request. Each step is looked up before it is done and its result recorded
right after, so a retry or a crash resumes at the first step not done and repeats nothing.
"""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from intake import sla_follow_up, step_runner, telemetry
from intake.messages import RunDecision, RunSteps
from intake.models import (
    RequestRecord,
    RequestStatus,
    Step,
)
from intake.ports import Services
from intake.request_steps import STEP_PLAN
from intake.submission import parse_body, to_request
from intake.triage_rules import TriageStep

log = logging.getLogger(__name__)


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
    # Received now by the app's one clock (the SLA clocks start from it).
    request = to_request(submission, services.field_maps).model_copy(
        update={"received_at": services.clock()}
    )
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


def enqueue_steps(request_id: str, services: Services) -> None:
    """Queue a run of the request's steps. The request is already recorded: if the queue is
    down, the request is not lost, and ``resume_stalled_requests`` queues it later."""
    step_runner.enqueue(RunSteps(request_id), services)


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
        **sla_follow_up.request_clocks(record, services),
    }


def resume_stalled_requests(services: Services, *, quiet_for: float = 300.0) -> list[str]:
    """Queue again every unfinished request nobody has touched for ``quiet_for`` seconds
    (its message was lost, or its worker died holding the lease). Runs on a timer.

    Decisions too: a decided request is unfinished until its decision's run ends, and
    ``run_steps`` hands a decided request on to that run."""
    now = services.clock()
    resumed = []
    for status in (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS):
        for record in services.store.list_requests(status=status.value, limit=500):
            if record.updated_at and (now - record.updated_at).total_seconds() >= quiet_for:
                enqueue_steps(record.request.id, services)
                resumed.append(record.request.id)
    if resumed:
        log.info("resumed %d stalled requests", len(resumed))
    return resumed


@telemetry.traced_request("intake.run_steps")
def run_steps(request_id: str, services: Services, *, owner: str | None = None) -> RequestRecord:
    """Run every step of a request that is not done yet, each as soon as the steps it needs
    are done (independent ones side by side).

    Run by the step runner (``intake/step_runner.py``): raises ``RequestBusy`` while another
    worker holds the request; transient failures are re-raised so the queue delivers the
    message again; a permanent one marks the request failed (replayable with
    ``python -m intake replay``).
    """
    store = services.store

    def steps() -> RequestRecord:
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
            step_runner.enqueue(RunDecision(request_id), services)
            return record
        store.set_status(request_id, RequestStatus.DONE.value)
        log.info("request %s: all steps done", request_id)
        return store.get_request(request_id)

    done = step_runner.run(request_id, services, steps, what="its steps", owner=owner)
    return done if done is not None else store.get_request(request_id)


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
