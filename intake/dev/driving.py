"""Local mode's levers on time and people (DESIGN "Local mode: driving time and people").

- ``GET /dev/api/clock``, ``POST /dev/api/clock {"now": "<ISO-8601 with offset>"}``: the app's
  one clock. After a POST time stands still at that instant until the next POST. The POST
  runs, once each, the timers whose schedule fell due since the clock's previous value, and
  answers when the work they started (queued messages included) is done. Time never goes
  back: an earlier instant is refused (409), because every record already made (history,
  effect keys, watermarks) would then lie in the future.
- ``PATCH /dev/api/workitems/{id} {"by", "state"?, "fields"?}`` and
  ``POST /dev/api/workitems/{id}/comments {"by", "text"}``: what a person does in DevOps,
  recorded on the local board's history at the clock's time as that person, then announced
  to the app through the same entry the DevOps service hook calls.
- ``POST /dev/api/inbox {"from", "subject", "text", "html"?, "inReplyTo"?, "references"?,
  "headers"?, "messageId"?, "attachments"?}``: an email arriving in the sender mailbox
  (202 with its ``messageId``); ``GET`` lists what arrived.
- ``POST /admin/functions/{name}``: run a timer now, as the Functions host's admin endpoint
  does (a second run at the same instant, for tests); answers 202 when its work is done.
"""

from __future__ import annotations

import base64
import html
import json
import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from intake import follow_up
from intake.adapters.local_board import SqliteBoard
from intake.adapters.local_clock import SqliteClock
from intake.adapters.local_inbox import SqliteInbox
from intake.errors import ExternalRejected
from intake.inbound_mail import InboundAttachment, InboundMessage
from intake.models import Comment

if TYPE_CHECKING:
    from intake.dev.host import LocalHost

Response = tuple[int, dict[str, str], bytes]
WORK_ITEM = re.compile(r"^/dev/api/workitems/(\d+)$")
COMMENTS = re.compile(r"^/dev/api/workitems/(\d+)/comments$")
ADMIN_FUNCTION = re.compile(r"^/admin/functions/([A-Za-z0-9_]+)$")


class ClockSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: datetime


class PersonChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: EmailStr
    state: str | None = Field(None, min_length=1, max_length=128)
    fields: dict[str, Any] = Field(default_factory=dict)


class PersonComment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: EmailStr
    text: str = Field(min_length=1, max_length=8000)


class InboxAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    contentType: str = Field("application/octet-stream", max_length=255)  # noqa: N815
    contentBase64: str = Field(max_length=20_000_000)  # noqa: N815


class InboxEmail(BaseModel):
    """An email arriving in the sender mailbox (DESIGN "Local mode")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    sender: EmailStr = Field(alias="from")
    subject: str = Field(max_length=998)
    text: str = Field("", max_length=1_000_000)
    html: str | None = Field(None, max_length=1_000_000)
    inReplyTo: str = Field("", max_length=998)  # noqa: N815
    references: str = Field("", max_length=20_000)
    headers: dict[str, str] = Field(default_factory=dict)
    # The message's own Message-ID (a mail server gives one when absent): sending the same
    # one twice is how a test shows a message read twice is handled once.
    messageId: str = Field("", max_length=998, pattern=r"^(<[^<>\s]+>)?$")  # noqa: N815
    attachments: list[InboxAttachment] = Field(default_factory=list, max_length=20)


def serves(method: str, path: str) -> bool:
    path = path.rstrip("/")
    return (
        path == "/dev/api/clock"
        or path == "/dev/api/inbox"
        or (method == "PATCH" and WORK_ITEM.match(path) is not None)
        or COMMENTS.match(path) is not None
        or ADMIN_FUNCTION.match(path) is not None
    )


def handle(
    host: LocalHost, method: str, path: str, headers: dict[str, str], body: bytes
) -> Response:
    path = path.rstrip("/")
    try:
        if path == "/dev/api/clock":
            if method == "GET":
                return _json(200, _clock_view(host))
            if method == "POST":
                return set_clock(host, _body(ClockSetting, body))
            return _not_allowed(method, path)
        if path == "/dev/api/inbox":
            if method == "GET":
                return _json(200, _inbox(host).messages())
            if method == "POST":
                return receive_email(host, _body(InboxEmail, body))
            return _not_allowed(method, path)
        found = WORK_ITEM.match(path)
        if found:
            return change_work_item(host, int(found.group(1)), _body(PersonChange, body))
        found = COMMENTS.match(path)
        if found:
            if method != "POST":
                return _not_allowed(method, path)
            return comment_work_item(host, int(found.group(1)), _body(PersonComment, body))
        found = ADMIN_FUNCTION.match(path)
        if found and method == "POST":
            return run_function(host, found.group(1))
        return _not_allowed(method, path)
    except Refused as refusal:
        return _problem(refusal.status, refusal.slug, refusal.title, refusal.detail, refusal.errors)


class Refused(Exception):
    def __init__(
        self, status: int, slug: str, title: str, detail: str, errors: list[Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.errors = errors or []


def set_clock(host: LocalHost, setting: ClockSetting) -> Response:
    clock = _local_clock(host)
    if setting.now.tzinfo is None:
        raise Refused(
            422,
            "invalid-clock",
            "The instant needs a UTC offset",
            "Give now as ISO-8601 with an offset, e.g. 2026-12-09T16:30:00+01:00.",
            [{"field": "now", "message": "no UTC offset"}],
        )
    previous = clock()
    if setting.now < previous:
        raise Refused(
            409,
            "clock-backwards",
            "Time does not go back",
            f"The clock stands at {previous.isoformat()}; {setting.now.isoformat()} is earlier. "
            "Start from an empty data folder to begin again.",
        )
    clock.freeze(setting.now)
    ran = host.advance_timers(clock())
    if not host.settle():
        raise Refused(
            504, "not-settled", "Work still running", "The timers' work did not finish in time."
        )
    return _json(200, {**_clock_view(host), "previous": previous.isoformat(), "timersRun": ran})


def change_work_item(host: LocalHost, work_item_id: int, change: PersonChange) -> Response:
    board = _board(host)
    if change.state is None and not change.fields:
        raise Refused(
            422,
            "invalid-change",
            "Nothing to change",
            "Give a state, fields, or both.",
            [{"field": "state", "message": "state or fields is required"}],
        )
    _exists(board, work_item_id)
    rev = board.change(
        work_item_id, state=change.state, fields=change.fields, by=board.person(str(change.by))
    )
    if rev is not None:
        follow_up.announce_change(work_item_id, host.services)
    return _json(
        200, {"id": work_item_id, "rev": board.get(work_item_id).rev, "changed": rev is not None}
    )


def comment_work_item(host: LocalHost, work_item_id: int, comment: PersonComment) -> Response:
    board = _board(host)
    _exists(board, work_item_id)
    # What a person typed is text: escaped before it becomes the comment's HTML.
    text = html.escape(comment.text).replace("\n", "<br>")
    comment_id = board.add_comment(
        work_item_id,
        Comment(key=f"person-{uuid.uuid4().hex}", html=text),
        by=board.person(str(comment.by)),
    )
    follow_up.announce_change(work_item_id, host.services)
    return _json(201, {"id": comment_id, "workItemId": work_item_id})


def receive_email(host: LocalHost, email: InboxEmail) -> Response:
    """An email lands in the local Inbox; the follow_up timer's next run reads it."""
    files = []
    for index, attachment in enumerate(email.attachments):
        try:
            content = base64.b64decode(attachment.contentBase64, validate=True)
        except ValueError:
            raise Refused(
                422,
                "invalid-body",
                "Invalid body",
                "The body has invalid fields.",
                [{"field": f"attachments.{index}.contentBase64", "message": "not base64"}],
            ) from None
        files.append(
            InboundAttachment(attachment.name, attachment.contentType, len(content), content)
        )
    message = InboundMessage(
        internet_message_id=email.messageId,
        sender=str(email.sender),
        subject=email.subject,
        text=email.text,
        html=email.html or "",
        in_reply_to=email.inReplyTo,
        references=email.references,
        headers=tuple((name.lower(), value) for name, value in email.headers.items()),
        attachments=tuple(files),
    )
    return _json(202, _inbox(host).deliver(message))


def _inbox(host: LocalHost) -> SqliteInbox:
    mailbox = host.services.mailbox
    if not isinstance(mailbox, SqliteInbox):
        raise Refused(409, "not-local", "The inbox is not local", "Mail arrives in Exchange.")
    return mailbox


def run_function(host: LocalHost, name: str) -> Response:
    timer = next((t for t in host.table.timers if t.name == name), None)
    if timer is None:
        raise Refused(404, "not-found", "No such timer", f"No timer function is named {name}.")
    host.run_timer(timer)
    if not host.settle():
        raise Refused(
            504, "not-settled", "Work still running", "The timer's work did not finish in time."
        )
    return 202, {"Content-Type": "application/json"}, b""


def _clock_view(host: LocalHost) -> dict[str, Any]:
    clock = _local_clock(host)
    return {"now": clock().isoformat(), "frozen": clock.frozen() is not None}


def _local_clock(host: LocalHost) -> SqliteClock:
    clock = host.services.clock
    if not isinstance(clock, SqliteClock):
        raise Refused(409, "not-local", "The clock is not local", "Time is the wall's here.")
    return clock


def _board(host: LocalHost) -> SqliteBoard:
    board = host.services.work_items
    if not isinstance(board, SqliteBoard):
        raise Refused(409, "not-local", "The board is not local", "Work items live in DevOps.")
    return board


def _exists(board: SqliteBoard, work_item_id: int) -> None:
    try:
        board.get(work_item_id)
    except ExternalRejected:
        raise Refused(
            404, "not-found", "No such work item", f"No work item {work_item_id} on the board."
        ) from None


def _body(model: type[Any], body: bytes) -> Any:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "malformed-json", "Malformed JSON", "The body is not JSON.") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise Refused(
            422, "invalid-body", "Invalid body", "The body has invalid fields.", errors
        ) from None


def _not_allowed(method: str, path: str) -> Response:
    return _problem(
        405, "method-not-allowed", "Method not allowed", f"{method} is not allowed on {path}."
    )


def _problem(
    status: int, slug: str, title: str, detail: str, errors: list[Any] | None = None
) -> Response:
    from functions.problems import problem

    response = problem(status, slug, title, detail, errors)
    return status, {"Content-Type": str(response.mimetype)}, response.get_body()


def _json(status: int, body: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(body, default=str).encode()
