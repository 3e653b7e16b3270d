"""The queue trigger that runs a request's steps, and the timer that resumes stalled ones."""

from __future__ import annotations

import json
import logging

import azure.functions as func

# The intake package is imported by each function on its first call, not at indexing (see
# functions/intake.py).
bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.queue_trigger(arg_name="message", queue_name="intake-steps", connection="AzureWebJobsStorage")
def run_steps(message: func.QueueMessage) -> None:
    """Exceptions propagate on purpose: the host retries the message, then moves it to the
    poison queue, where `python -m intake replay` finds it. Nothing is dropped, not even an
    unreadable message. ``kind`` says which work: a request's steps (the default), a
    decision's steps, copying a vote to the work item, or updating a card for everyone."""
    from intake import bootstrap, heap, triage, workflow

    try:
        body = json.loads(message.get_body().decode("utf-8"))
        request_id = str(body["request_id"])
        kind = str(body.get("kind", workflow.RUN_STEPS))
    except (ValueError, KeyError, TypeError, AttributeError):
        log.error("queue message %s is unreadable; it will end in the poison queue", message.id)
        raise
    if kind == triage.RUN_DECISION:
        triage.run_decision(request_id, bootstrap.services())
    elif kind == triage.COPY_VOTE:
        triage.copy_vote(body, bootstrap.services())
    elif kind == triage.PUBLISH_CARD:
        triage.publish_card(request_id, bootstrap.services())
    elif kind == workflow.RUN_STEPS:
        workflow.run_steps(request_id, bootstrap.services())
        heap.freeze_once()  # the process is warm now: see intake/heap.py
    else:
        log.error("queue message %s has the unknown kind %r", message.id, kind)
        raise ValueError(f"unknown queue message kind {kind!r}")


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def resume_stalled(timer: func.TimerRequest) -> None:
    from intake import bootstrap, workflow

    workflow.resume_stalled_requests(bootstrap.services())
