"""``python -m intake status link <request>`` prints a fresh link to the client's status page;
``python -m intake status revoke <request>`` stops every link sent so far (a new nonce), and
prints the new link to send instead.

``<request>`` is the request id or its work item number (``1234`` or ``#1234``).
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

from intake import status_page
from intake.cli.configured import configured_services
from intake.errors import RequestNotFound
from intake.models import RequestRecord
from intake.ports import Services

SEARCHED = 10_000  # requests looked through for a work item number


def register(commands: Any) -> None:
    parser = commands.add_parser("status", help="links to the clients' status pages")
    actions = parser.add_subparsers(dest="action", required=True)
    link = actions.add_parser("link", help="print a fresh status link")
    link.add_argument("request", help="request id or work item number")
    revoke = actions.add_parser("revoke", help="stop every status link of a request")
    revoke.add_argument("request", help="request id or work item number")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    services = configured_services()
    if services is None:
        return 2
    try:
        record = find_request(arguments.request, services)
    except RequestNotFound as exc:
        print(exc.detail)
        return 1
    if arguments.action == "revoke":
        record = revoke(record, services)
        print(f"Every earlier status link of {record.request.id} is revoked. The new link:")
    print(status_page.status_link(record, services))
    return 0


def revoke(record: RequestRecord, services: Services) -> RequestRecord:
    """Give the request a new nonce: links carrying the old one open nothing any more."""
    nonce = secrets.token_urlsafe(9)
    services.store.set_status_nonce(record.request.id, nonce)
    return services.store.get_request(record.request.id)


def find_request(text: str, services: Services) -> RequestRecord:
    """The request with this id, or whose work item has this number."""
    wanted = text.strip().lstrip("#")
    if wanted.isdigit():
        for record in services.store.list_requests(limit=SEARCHED):
            if record.work_item_id == int(wanted):
                return record
    return services.store.get_request(wanted)
