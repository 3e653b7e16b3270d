"""``python -m intake replay``: list stuck, failed and poisoned requests; replay one or all."""

from __future__ import annotations

import argparse
import json
from typing import Any

from intake import bootstrap, workflow
from intake.config import ConfigurationError
from intake.models import RequestStatus


def register(commands: Any) -> None:
    parser = commands.add_parser("replay", help="list or replay stuck and poisoned requests")
    parser.add_argument("request_id", nargs="?", help="replay this request")
    parser.add_argument("--all", action="store_true", help="replay every unfinished request")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    try:
        services = bootstrap.services()
    except ConfigurationError as exc:
        print(f"Intake is not configured:\n{exc}")
        return 2
    unfinished = [
        record
        for status in (RequestStatus.FAILED, RequestStatus.IN_PROGRESS, RequestStatus.RECEIVED)
        for record in services.store.list_requests(status=status.value, limit=1000)
    ]
    poison = _poison_messages(services)
    if not arguments.request_id and not arguments.all:
        if not unfinished and not poison:
            print("Nothing is stuck: every request is done.")
            return 0
        for record in unfinished:
            print(
                f"{record.request.id}  {record.status.value:<11}  "
                f"work item {record.work_item_id or '-':<6}  {record.last_error}"
            )
        for request_id in poison:
            print(f"{request_id}  poisoned    (message in {services.settings.steps_queue}-poison)")
        print("Replay one with `python -m intake replay <id>`, all with `--all`.")
        return 0
    targets = (
        ({r.request.id for r in unfinished} | set(poison))
        if arguments.all
        else {arguments.request_id}
    )
    for request_id in sorted(targets):
        try:
            services.store.get_request(request_id)
        except Exception as exc:  # noqa: BLE001 - say which id was wrong and go on
            print(f"{request_id}: {exc}")
            continue
        workflow.enqueue_steps(request_id, services)
        print(f"{request_id}: queued again")
    return 0


def _poison_messages(services: Any) -> list[str]:
    """Request ids of poisoned messages (the local queue; Azure's poison queue is read the same
    way by its adapter's ``peek``)."""
    queue = services.queue
    if not hasattr(queue, "peek"):
        return []
    ids = []
    for message in queue.peek(queue.poison_name):
        try:
            ids.append(str(json.loads(message.body)["request_id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return ids
