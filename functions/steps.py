"""The queue trigger that runs queued work on a request, and the timer that resumes stalled ones."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import azure.functions as func

if TYPE_CHECKING:
    from intake.ports import Services

# The intake package is imported by each function on its first call, not at indexing (see
# functions/intake.py).
bp = func.Blueprint()
log = logging.getLogger(__name__)

Handler = Callable[[Any, "Services"], None]


@functools.cache
def handlers() -> dict[str, Handler]:
    """The use case that runs each kind of message (the kinds: ``intake/messages.py``)."""
    from intake import ask_client, heap, triage, workflow
    from intake.messages import Kind

    def run_steps(message: Any, services: Services) -> None:
        workflow.run_steps(message.request_id, services)
        heap.freeze_once()  # the process is warm now: see intake/heap.py

    return {
        Kind.RUN_STEPS: run_steps,
        Kind.RUN_DECISION: lambda message, services: triage.run_decision(
            message.request_id, services
        ),
        Kind.COPY_VOTE: triage.copy_vote,
        Kind.PUBLISH_CARD: lambda message, services: triage.publish_card(
            message.request_id, services
        ),
        Kind.ASK_CLIENT: lambda message, services: ask_client.run_asks(
            message.request_id, services
        ),
    }


@bp.queue_trigger(arg_name="message", queue_name="intake-steps", connection="AzureWebJobsStorage")
def run_steps(message: func.QueueMessage) -> None:
    """Exceptions propagate on purpose: the host retries the message, then moves it to the
    poison queue, where `python -m intake replay` finds it. Nothing is dropped, not even an
    unreadable message, nor one whose request another worker holds (``RequestBusy``)."""
    from intake import bootstrap, messages

    try:
        work = messages.decode(message.get_body())
    except ValueError:
        log.error("queue message %s is unreadable; it will end in the poison queue", message.id)
        raise
    handlers()[work.kind](work, bootstrap.services())


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def resume_stalled(timer: func.TimerRequest) -> None:
    from intake import bootstrap, workflow

    workflow.resume_stalled_requests(bootstrap.services())
