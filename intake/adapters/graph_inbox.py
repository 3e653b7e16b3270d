"""Mailbox on Microsoft Graph: a delta query on the sender mailbox's Inbox (app-only token,
``Mail.Read`` scoped to that mailbox), attachments read one by one.

What we rely on, as Graph documents it (pinned in tests/contract/test_graph_inbox_contract.py):
- ``GET /users/{sender}/mailFolders/inbox/messages/delta`` starts a round; each page holds
  ``value`` and either ``@odata.nextLink`` (more pages: follow it as given) or
  ``@odata.deltaLink`` (the round is over: the next round starts there and returns only what
  changed since). Query options are given once, on the first request; Graph encodes them
  into the links. ``$select`` is supported; ``$filter`` only as ``receivedDateTime ge/gt``;
  ``changeType=created`` keeps a round to new messages. A removed message comes as an
  ``@removed`` row. An expired link answers 410 (``SyncStateNotFound``): start a new round.
- ``internetMessageHeaders`` is returned only when ``$select`` names it.
- ``GET /users/{sender}/messages/{id}/attachments`` lists a message's attachments
  (``#microsoft.graph.fileAttachment`` has ``name``, ``contentType``, ``size``, ``isInline``);
  ``GET .../attachments/{id}/$value`` gives a file attachment's raw bytes.

The watermark is the delta link. A first read (no watermark) looks back ``FIRST_LOOKBACK``
only, so switching it on does not read a mailbox's whole history as new replies; after a
410 it looks back ``RESYNC_LOOKBACK``: messages seen again are handled once by their keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from intake.adapters.graph_mail import GraphMailer
from intake.config import Settings
from intake.errors import ExternalRejected
from intake.inbound_mail import InboundAttachment, InboundMessage
from intake.models import utcnow

log = logging.getLogger(__name__)

SELECT = (
    "internetMessageId,internetMessageHeaders,subject,from,body,conversationId,"
    "hasAttachments,receivedDateTime"
)
PAGE_SIZE = 50  # Prefer: odata.maxpagesize (Graph's default page is 10 messages)
FIRST_LOOKBACK = timedelta(hours=1)
RESYNC_LOOKBACK = timedelta(days=7)
MAX_PAGES = 200  # per read; the rest waits for the next run (the link says where)
FILE_ATTACHMENT = "#microsoft.graph.fileAttachment"


class GraphInbox:
    def __init__(
        self,
        settings: Settings,
        *,
        session: Any = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.graph = GraphMailer(settings, session=session)  # its token cache and retries
        self.clock = clock

    @property
    def mailbox_url(self) -> str:
        return self.graph.mailbox_url

    def read_new(self, watermark: str | None) -> tuple[list[InboundMessage], str]:
        if watermark is None:
            return self._round(self._first_url(FIRST_LOOKBACK))
        try:
            return self._round(watermark)
        except ExternalRejected as exc:
            if exc.remote_status != 410:
                raise
            log.warning("graph inbox: the delta link expired; reading the last days again")
            return self._round(self._first_url(RESYNC_LOOKBACK))

    def attachments(self, message: InboundMessage, *, max_bytes: int) -> list[InboundAttachment]:
        base = f"{self.mailbox_url}/messages/{quote(message.mailbox_id, safe='')}/attachments"
        listed = self.graph.call("GET", f"{base}?$select=id,name,contentType,size,isInline").json()
        found = []
        for item in listed.get("value", []):
            if item.get("@odata.type") != FILE_ATTACHMENT or item.get("isInline"):
                continue  # an attached message or link; inline pictures (signatures)
            size = int(item.get("size") or 0)
            content = b""
            if size <= max_bytes:
                url = f"{base}/{quote(str(item['id']), safe='')}/$value"
                content = self.graph.call("GET", url).content
            found.append(
                InboundAttachment(
                    name=str(item.get("name") or "attachment"),
                    content_type=str(item.get("contentType") or "application/octet-stream"),
                    size=size,
                    content=content if len(content) <= max_bytes else b"",
                )
            )
        return found

    def _first_url(self, lookback: timedelta) -> str:
        since = (self.clock() - lookback).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"{self.mailbox_url}/mailFolders/inbox/messages/delta"
            f"?changeType=created&$select={SELECT}"
            f"&$filter={quote(f'receivedDateTime ge {since}', safe='')}"
        )

    def _round(self, url: str) -> tuple[list[InboundMessage], str]:
        messages: list[InboundMessage] = []
        headers = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
        for _ in range(MAX_PAGES):
            page = self.graph.call("GET", url, headers=headers).json()
            messages += [to_message(row) for row in page.get("value", []) if "@removed" not in row]
            if "@odata.deltaLink" in page:
                return messages, str(page["@odata.deltaLink"])
            url = str(page["@odata.nextLink"])
        return messages, url  # a very long round: the next run goes on from this page


def to_message(row: dict[str, Any]) -> InboundMessage:
    """A Graph ``message`` (as selected) as our value."""
    headers = tuple(
        (str(h.get("name", "")).lower(), str(h.get("value", "")))
        for h in row.get("internetMessageHeaders") or []
    )

    def header(name: str) -> str:
        return next((value for key, value in headers if key == name), "")

    body = row.get("body") or {}
    is_html = str(body.get("contentType", "")).lower() == "html"
    content = str(body.get("content") or "")
    sender = ((row.get("from") or {}).get("emailAddress") or {}).get("address") or ""
    return InboundMessage(
        internet_message_id=str(row.get("internetMessageId") or ""),
        sender=str(sender),
        subject=str(row.get("subject") or ""),
        text="" if is_html else content,
        html=content if is_html else "",
        in_reply_to=header("in-reply-to"),
        references=header("references"),
        headers=headers,
        mailbox_id=str(row.get("id") or ""),
        has_attachments=bool(row.get("hasAttachments")),
        received_at=str(row.get("receivedDateTime") or ""),
    )
