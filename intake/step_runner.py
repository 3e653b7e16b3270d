"""The one step runner: how every piece of queued work on a request runs (the request's steps,
a decision's steps, a vote's copy to the work item, a card update for everyone).

The lease policy, the same for all: work that runs a request's steps holds the request's lease
while it runs. When another worker holds it, the runner does nothing and raises
``RequestBusy``; the queue trigger lets it reach the host, which delivers the message again
later (then the poison queue, where ``intake replay`` finds it). A quiet return would complete
the message: if the holder's run does not cover what this message asks for (a decision
arriving while the intake steps run, a resume racing a replay), that work would wait for the
timer, or for nobody. The price of raising is a retry, and a duplicate delivery finds nothing
left to do.

Failures, the same for all: a transient ``ExternalError`` is re-raised (the queue delivers the
message again); a permanent one marks the request failed, for a person (``intake replay``);
anything else is re-raised. For the request's own steps the request records what went wrong.

Vote copies and card updates run here too, without the lease and without touching the
request's status: a vote copy is one keyed comment and a card update takes the card's own turn
(``Store.begin_card_update``), so neither needs the request to itself, and a failure of either
is not the request's. Their errors reach the queue as they are (retried, then poisoned and
replayable).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

from intake.errors import ExternalError, RequestBusy
from intake.messages import QueueMessage
from intake.models import RequestStatus
from intake.ports import Services

log = logging.getLogger(__name__)

LEASE_SECONDS = 300.0  # longer than any run; a dead worker's lease frees itself after this

T = TypeVar("T")


def run(
    request_id: str,
    services: Services,
    work: Callable[[], T],
    *,
    what: str,
    runs_steps: bool = True,
    owner: str | None = None,
    on_failed: Callable[[], None] | None = None,
) -> T | None:
    """Run ``work`` (``what`` names it in the log) as queued work on a request.

    ``runs_steps``: the work runs the request's steps: it holds the request's lease (raises
    ``RequestBusy`` when another worker holds it), and its failures are recorded on the
    request. Returns what ``work`` returned, or None when it failed permanently (the request
    is then marked failed, and ``on_failed`` runs: the decision shows it on the card).
    """
    if not runs_steps:
        return work()  # errors reach the queue as they are
    owner = owner or uuid.uuid4().hex
    store = services.store
    if not store.acquire_lease(request_id, owner, LEASE_SECONDS):
        log.info("request %s is being run by another worker; %s later", request_id, what)
        raise RequestBusy(f"request {request_id} is being worked on; the queue will retry")
    try:
        return work()
    except ExternalError as exc:
        reason = f"{exc.title}: {exc.detail}"
        if exc.transient:
            store.set_status(request_id, RequestStatus.IN_PROGRESS.value, last_error=reason)
            raise
        store.set_status(request_id, RequestStatus.FAILED.value, last_error=reason)
        log.error("request %s: %s failed permanently: %s", request_id, what, reason)
        if on_failed is not None:
            on_failed()
        return None
    except Exception as exc:
        store.set_status(
            request_id,
            RequestStatus.IN_PROGRESS.value,
            last_error=f"internal error: {type(exc).__name__}",
        )
        raise
    finally:
        store.release_lease(request_id, owner)


def enqueue(message: QueueMessage, services: Services) -> bool:
    """Queue ``message``; False when the queue is down. The request is already recorded, so
    it is not lost: the timer (``resume_stalled_requests``) queues an unfinished request
    nobody touched, and ``intake replay`` any other."""
    try:
        services.queue.send(message)
    except ExternalError as exc:
        log.warning(
            "request %s: %s not queued (%s)", message.request_id, message.kind.value, exc.title
        )
        return False
    return True
