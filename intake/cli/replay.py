"""``python -m intake replay``: list stuck, failed and poisoned requests; replay one or all.

The use cases are ``intake.replay``'s; this module parses the command line and prints.
"""

from __future__ import annotations

import argparse
from typing import Any

from intake.cli.configured import configured_services
from intake.errors import IntakeError
from intake.replay import replay, stuck_requests


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
