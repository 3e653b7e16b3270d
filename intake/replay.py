"""The replay use cases: which requests are stuck, failed or poisoned, and running one again.

A poisoned message is moved back onto the steps queue (it leaves the poison queue); any other
unfinished request gets a fresh message. Replaying is always safe: every step is looked up
before it is done, so a replay finishes what is missing and repeats nothing. Driven by
``python -m intake replay`` and shown on the local pages (``/dev/api/stuck``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from intake import triage, workflow
from intake.messages import RunDecision
from intake.models import RequestStatus
from intake.ports import Services

UNFINISHED = (RequestStatus.FAILED, RequestStatus.IN_PROGRESS, RequestStatus.RECEIVED)


@dataclass(frozen=True)
class Stuck:
    """One request that is not done, and why we think so."""

    request_id: str
    status: str
    work_item_id: int | None
    last_error: str
    quiet_seconds: float
    poison_message_ids: tuple[int | str, ...] = ()


def stuck_requests(services: Services) -> list[Stuck]:
    """Every request that is not done, and every request with a poisoned message."""
    poison = poison_messages(services)
    now = services.clock()
    found: dict[str, Stuck] = {}
    for status in UNFINISHED:
        for record in services.store.list_requests(status=status.value, limit=1000):
            quiet = (now - record.updated_at).total_seconds() if record.updated_at else 0.0
            found[record.request.id] = Stuck(
                record.request.id,
                record.status.value,
                record.work_item_id,
                record.last_error,
                quiet,
                tuple(poison.get(record.request.id, ())),
            )
    for request_id, message_ids in poison.items():
        if request_id not in found:  # poisoned, though its steps finished later
            found[request_id] = Stuck(request_id, "done", None, "", 0.0, tuple(message_ids))
    return list(found.values())


def replay(request_id: str, services: Services) -> str:
    """Run a request's steps again: its poison messages go back on the queue, or a new
    message is queued. Raises ``RequestNotFound`` for an unknown id."""
    services.store.get_request(request_id)
    message_ids = poison_messages(services).get(request_id, [])
    if message_ids and services.poison is not None:
        poison = services.poison
        moved = sum(1 for message_id in message_ids if poison.requeue_poison(message_id))
        if moved:
            return f"{moved} poisoned message(s) moved back to the queue"
    workflow.enqueue_steps(request_id, services)
    if triage.state_of(request_id, services).pending_steps:
        # A decision on the triage card that stopped: its steps run from their own message.
        services.queue.send(RunDecision(request_id))
        return "queued again, with its triage decision"
    return "queued again"


def poison_messages(services: Services) -> dict[str, list[int | str]]:
    """Poison message ids by request id (empty when the queue adapter cannot list them)."""
    poison = services.poison
    if poison is None:
        return {}
    found: dict[str, list[int | str]] = {}
    for message in poison.peek(poison.poison_name):
        try:
            request_id = str(json.loads(message.body)["request_id"])
        except (ValueError, KeyError, TypeError):
            continue
        found.setdefault(request_id, []).append(message.id)
    return found
