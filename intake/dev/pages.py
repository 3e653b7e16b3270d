"""The local pages for people (/dev/...) and their JSON for tests (/dev/api/...).

Local mode only: served by the local host, never registered on the Functions app.
"""

from __future__ import annotations

import json
import mimetypes
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from intake.dev.board_view import link_names, linked_mentions, people_links
from intake.dev.overview import OUTCOMES, overview_rows
from intake.replay import stuck_requests

if TYPE_CHECKING:
    from intake.bootstrap import LocalParts
    from intake.dev.host import LocalHost
    from intake.ports import Services

HERE = Path(__file__).resolve().parent
STATIC_DIRS = {
    "static": HERE / "static",
    # The official Adaptive Cards renderer, installed by `make dev` from npm (no CDN).
    "vendor": HERE.parent.parent / "node_modules" / "adaptivecards" / "dist",
}
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
)
Response = tuple[int, dict[str, str], bytes]


def when(timestamp: str) -> str:
    """An ISO timestamp as people read it: ``2026-11-25 22:21 UTC``."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return str(timestamp)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_templates.filters["when"] = when
_templates.filters["linked_mentions"] = linked_mentions
LOCAL_TENANT_ID = "local-tenant"


def handle(
    host: LocalHost, method: str, url: str, headers: dict[str, str], body: bytes
) -> Response:
    path = urlsplit(url).path.rstrip("/") or "/"
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    if method not in ("GET", "HEAD"):
        return _problem(
            405,
            "method-not-allowed",
            "Method not allowed",
            f"The local pages answer GET only, not {method}.",
        )
    views = LocalViews(host.local, host.services)
    if path in ("/", "/dev"):
        return _page(
            "index.html",
            views.index(outcome=query.get("outcome", ""), text=query.get("q", "")[:200]),
        )
    if path == "/dev/board":
        return _page(
            "board.html",
            {"work_items": views.work_items(), "people": people_links(views.board.people.values())},
        )
    if path == "/dev/outbox":
        return _page("outbox.html", {"messages": views.outbox.messages()})
    if path == "/dev/channel":
        return _page(
            "channel.html",
            {"threads": views.channel.threads(), "people": views.users(), "bot": views.bot()},
        )
    if path == "/dev/api/workitems":
        return _json(200, views.work_items())
    if path.startswith("/dev/api/workitems/"):
        tail = path.rsplit("/", 1)[1]
        if not tail.isdigit() or int(tail) not in views.board.all_ids():
            return _problem(
                404, "not-found", "No such work item", f"No work item {tail} on the local board."
            )
        return _json(200, views.work_item(int(tail)))
    if path == "/dev/api/outbox":
        return _json(200, views.outbox.messages())
    if path == "/dev/api/channel":
        # Each thread with its replies (reminders); every post, digests included, below.
        posts = views.channel.posts()
        threads = views.channel.threads()
        for thread in threads:
            thread["replies"] = [p for p in posts if p["reply_to"] == thread["activity_id"]]
        return _json(200, threads)
    if path == "/dev/api/channel/posts":
        return _json(200, views.channel.posts())
    if path == "/dev/api/users":
        return _json(200, views.users())
    if path == "/dev/api/requests":
        return _json(200, views.requests())
    if path == "/dev/api/queue":
        return _json(200, views.queued())
    if path == "/dev/api/stuck":
        return _json(200, views.stuck())
    for prefix, folder in STATIC_DIRS.items():
        if path.startswith(f"/dev/{prefix}/"):
            return _static(folder, path[len(f"/dev/{prefix}/") :])
    return _problem(404, "not-found", "Not found", f"Nothing is served at {path}.")


class LocalViews:
    """Reads what the local adapters wrote, through the parts the local host hands over."""

    def __init__(self, local: LocalParts, services: Services) -> None:
        self.settings = services.settings
        self.services = services
        self.board = local.board
        self.outbox = local.outbox
        self.channel = local.channel
        self.store = services.store
        self.queue = local.queue

    def index(self, *, outcome: str = "", text: str = "") -> dict[str, Any]:
        records = self.store.list_requests(limit=200)
        outcome = outcome if outcome in dict(OUTCOMES) else ""
        return {
            "work_items": len(self.board.all_ids()),
            "emails": len(self.outbox.messages()),
            "threads": len(self.channel.threads()),
            "total": len(records),
            "rows": overview_rows(records, self.services.clock(), outcome=outcome, text=text),
            "outcomes": OUTCOMES,
            "outcome": outcome,
            "text": text,
            "stuck": self.stuck(),
            "poison": self.queue.peek(self.queue.poison_name),
        }

    def stuck(self) -> list[dict[str, Any]]:
        """Requests not done (or with a poisoned message), each with its replay command."""
        return [
            {
                **item.__dict__,
                "poison_message_ids": list(item.poison_message_ids),
                "replay": f"python -m intake replay {item.request_id}",
            }
            for item in stuck_requests(self.services)
        ]

    def work_item(self, work_item_id: int) -> dict[str, Any]:
        item = self.board.get(work_item_id)
        return {
            "id": item.id,
            "rev": item.rev,
            "type": item.type,
            "state": item.state,
            "title": item.title,
            "url": item.url,
            "fields": item.fields,
            "comments": self.board.comments(work_item_id),
            "links": self.board.links(work_item_id),
            # Each link as this item's side names it, as DevOps shows it (Parent / Child /
            # Related), with the other item's type and title.
            "relations": [
                {**relation, **self._summary(relation["id"])}
                for relation in link_names(work_item_id, self.board.links(work_item_id))
            ],
            "attachments": self.board.attachments(work_item_id),
        }

    def _summary(self, work_item_id: int) -> dict[str, str]:
        item = self.board.get(work_item_id)
        return {"type": item.type, "title": item.title}

    def work_items(self) -> list[dict[str, Any]]:
        return [self.work_item(work_item_id) for work_item_id in self.board.all_ids()]

    def users(self) -> list[dict[str, Any]]:
        return [
            {
                "name": p.name,
                "email": str(p.email),
                "teams_id": p.teams_id,
                "aad_object_id": p.aad_object_id,
                "role": p.role,
            }
            for p in self.settings.people
        ]

    def bot(self) -> dict[str, str]:
        """What the channel page puts in the invokes it sends, as Teams would."""
        return {
            "tenant_id": self.settings.bot_tenant_id or LOCAL_TENANT_ID,
            "service_url": self.settings.teams_service_url,
            "bot_id": f"28:{self.settings.bot_app_id or 'local-intake-bot'}",
        }

    def requests(self) -> list[dict[str, Any]]:
        return [
            {
                "request_id": r.request.id,
                "status": r.status.value,
                "title": r.request.title,
                "work_item_id": r.work_item_id,
                "steps": sorted(r.steps),
                "last_error": r.last_error,
                "updated_at": str(r.updated_at or ""),
            }
            for r in self.store.list_requests(limit=200)
        ]

    def queued(self) -> dict[str, Any]:
        def rows(name: str) -> list[dict[str, Any]]:
            return [m.__dict__ for m in self.queue.peek(name)]

        return {"queue": rows(self.queue.name), "poison": rows(self.queue.poison_name)}


def _page(template: str, context: dict[str, Any]) -> Response:
    html = _templates.get_template(template).render(**context)
    return (
        200,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'",
        },
        html.encode(),
    )


def _problem(status: int, slug: str, title: str, detail: str) -> Response:
    """Refusals in the functions' one error shape (``functions/problems.py``)."""
    from functions.problems import problem

    response = problem(status, slug, title, detail)
    return status, {"Content-Type": str(response.mimetype)}, response.get_body()


def _json(status: int, body: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(body, default=str).encode()


def _static(folder: Path, name: str) -> Response:
    target = (folder / name).resolve()
    if not target.is_relative_to(folder.resolve()) or not target.is_file():
        return _problem(404, "not-found", "Not found", f"No file {name} here.")
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return 200, {"Content-Type": content_type}, target.read_bytes()
