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
    unreadable message."""
    try:
        request_id = str(json.loads(message.get_body().decode("utf-8"))["request_id"])
    except (ValueError, KeyError, TypeError):
        log.error("queue message %s is unreadable; it will end in the poison queue", message.id)
        raise
    from intake import bootstrap, workflow

    workflow.run_steps(request_id, bootstrap.services())


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def resume_stalled(timer: func.TimerRequest) -> None:
    from intake import bootstrap, workflow

    workflow.resume_stalled_requests(bootstrap.services())
