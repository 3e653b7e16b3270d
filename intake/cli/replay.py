"""``python -m intake replay``: list stuck, failed and poisoned requests; replay one or all.

A poisoned message is moved back onto the steps queue (it leaves the poison queue); any other
unfinished request gets a fresh message. Replaying is always safe: every step is looked up
before it is done, so a replay finishes what is missing and repeats nothing.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from intake import triage, workflow
from intake.cli.configured import configured_services
from intake.errors import IntakeError
from intake.models import RequestStatus
from intake.ports import Services

UNFINISHED = (RequestStatus.FAILED, RequestStatus.IN_PROGRESS, RequestStatus.RECEIVED)


@runtime_checkable
class PoisonQueue(Protocol):
    """What a queue adapter offers to read and requeue its ``<queue>-poison`` messages."""

    poison_name: str

    def peek(self, queue: str | None = None) -> list[Any]:
        """The messages of ``queue`` (each with ``id`` and ``body``), oldest first."""
        ...

    def requeue_poison(self, message_id: Any) -> bool:
        """Move one poison message back onto the queue with a fresh dequeue count."""
        ...


@dataclass(frozen=True)
class Stuck:
    """One request that is not done, and why we think so."""

    request_id: str
    status: str
    work_item_id: int | None
    last_error: str
    quiet_seconds: float
    poison_message_ids: tuple[Any, ...] = ()


def register(commands: Any) -> None:
    parser = commands.add_parser("replay", help="list or replay stuck and poisoned requests")
    parser.add_argument("request_id", nargs="?", help="replay this request")
    parser.add_argument("--all", action="store_true", help="replay every unfinished request")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    services = configured_services()
    if services is None:
        return 2
    stuck = stuck_requests(services)
    if not arguments.request_id and not arguments.all:
        if not stuck:
            print("Nothing is stuck: every request is done.")
            return 0
        for item in stuck:
            where = f"poisoned ({len(item.poison_message_ids)})" if item.poison_message_ids else ""
            print(
                f"{item.request_id}  {item.status:<11}  work item {item.work_item_id or '-':<6}"
                f"  quiet {item.quiet_seconds:>6.0f}s  {where}  {item.last_error}".rstrip()
            )
        print("Replay one with `python -m intake replay <id>`, all with `--all`.")
        return 0
    targets = [s.request_id for s in stuck] if arguments.all else [arguments.request_id]
    status = 0
    for request_id in targets:
        try:
            how = replay(request_id, services)
        except IntakeError as exc:
            print(f"{request_id}: {exc.detail}")
            status = 1
            continue
        print(f"{request_id}: {how}")
    return status


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
    queue = services.queue
    message_ids = poison_messages(services).get(request_id, [])
    if message_ids and isinstance(queue, PoisonQueue):
        moved = sum(1 for message_id in message_ids if queue.requeue_poison(message_id))
        if moved:
            return f"{moved} poisoned message(s) moved back to the queue"
    workflow.enqueue_steps(request_id, services)
    if triage.state_of(request_id, services).pending_steps:
        # A decision on the triage card that stopped: its steps run from their own message.
        services.queue.send({"kind": triage.RUN_DECISION, "request_id": request_id})
        return "queued again, with its triage decision"
    return "queued again"


def poison_messages(services: Services) -> dict[str, list[Any]]:
    """Poison message ids by request id (empty when the queue adapter cannot list them)."""
    queue = services.queue
    if not isinstance(queue, PoisonQueue):
        return {}
    found: dict[str, list[Any]] = {}
    for message in queue.peek(queue.poison_name):
        try:
            request_id = str(json.loads(message.body)["request_id"])
        except (ValueError, KeyError, TypeError):
            continue
        found.setdefault(request_id, []).append(message.id)
    return found
