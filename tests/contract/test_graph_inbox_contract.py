"""The Graph inbox reader at the HTTP edge: the delta query on the sender mailbox's Inbox and
the attachments reads, against a double that answers in the shapes Graph documents.

Pinned documentation (Microsoft Graph v1.0, read 2026-12):
- https://learn.microsoft.com/graph/api/message-delta — ``GET /users/{id}/mailFolders/{id}/
  messages/delta``; supports ``$select``, ``$top`` (via ``Prefer: odata.maxpagesize``),
  ``$filter`` only ``receivedDateTime ge|gt {value}``, no ``$search``; the response has
  ``value`` and ``@odata.nextLink`` or, at the end of a round, ``@odata.deltaLink``;
  query options are given on the first request only (Graph encodes them into the links).
- https://learn.microsoft.com/graph/delta-query-messages — the rounds, ``changeType=created``
  as a custom query option of the initial request, ``@removed`` rows for deleted messages,
  ``410 Gone`` (``SyncStateNotFound``) for an expired state token: start a new round.
- https://learn.microsoft.com/graph/api/resources/message — ``internetMessageId``,
  ``internetMessageHeaders`` (returned only with ``$select``), ``subject``, ``from``
  (``emailAddress.address``), ``body`` (``contentType``, ``content``), ``conversationId``,
  ``hasAttachments``, ``receivedDateTime``.
- https://learn.microsoft.com/graph/api/message-list-attachments — ``GET /users/{id}/messages/
  {id}/attachments``; each row has ``@odata.type`` (``#microsoft.graph.fileAttachment``,
  ``itemAttachment``, ``referenceAttachment``), ``id``, ``name``, ``contentType``, ``size``,
  ``isInline``.
- https://learn.microsoft.com/graph/api/attachment-get — ``GET .../attachments/{id}/$value``:
  the raw bytes of a file attachment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from intake import bootstrap
from intake.adapters import retry
from intake.adapters.graph_inbox import GraphInbox
from intake.config import Settings
from intake.errors import ExternalUnavailable
from tests.contract.doubles_graph_teams import UNKNOWN, Answer, Call, Double, TokenDouble, mount
from tests.contract.graph_app import GRAPH, SENDER, graph_settings_for, token_double

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
USER = rf"/v1\.0/users/{re.escape(SENDER)}"
# (method, path, query options allowed): the documented operations this reader may call.
OPERATIONS = [
    ("GET", USER + r"/mailFolders/inbox/messages/delta", {"changeType", "$select", "$filter"}),
    ("GET", USER + r"/mailFolders/inbox/messages/delta", {"$skiptoken"}),
    ("GET", USER + r"/mailFolders/inbox/messages/delta", {"$deltatoken"}),
    ("GET", USER + r"/messages/[^/]+/attachments", {"$select"}),
    ("GET", USER + r"/messages/[^/]+/attachments/[^/]+/\$value", set()),
]
SELECTED = {
    "internetMessageId",
    "internetMessageHeaders",
    "subject",
    "from",
    "body",
    "conversationId",
    "hasAttachments",
    "receivedDateTime",
}


def graph_message(number: int, **fields: Any) -> dict[str, Any]:
    """A message row as the delta query returns it with our ``$select`` (resources/message)."""
    return {
        "@odata.etag": f'W/"CQAAABYAAAB{number}"',
        "id": f"AAMkAGI2-{number}",
        "receivedDateTime": "2026-12-07T09:58:00Z",
        "hasAttachments": False,
        "internetMessageId": f"<reply-{number}@fabrikam.example>",
        "subject": "RE: We received your request [#42]",
        "conversationId": "AAQkAGI2-conv",
        "body": {"contentType": "html", "content": "<div>It still fails</div>"},
        "from": {"emailAddress": {"name": "Jordan", "address": "jordan@fabrikam.example"}},
        "internetMessageHeaders": [
            {"name": "In-Reply-To", "value": "<intake.abc@contoso.example>"},
            {"name": "References", "value": "<intake.abc@contoso.example>"},
        ],
        **fields,
    }


class InboxDouble(Double):
    """The Inbox of one mailbox: two pages for the first round, then rounds of what arrived."""

    def __init__(self, tokens: TokenDouble) -> None:
        super().__init__()
        self.tokens = tokens
        self.pages: dict[str, dict[str, Any]] = {}
        self.arrived: list[dict[str, Any]] = []
        self.rounds = 0
        self.attachments: dict[str, list[dict[str, Any]]] = {}
        self.contents: dict[str, bytes] = {}

    def route(self, call: Call) -> Answer:
        if self.tokens.scope_of(call.bearer) != f"{GRAPH}/.default":
            return 401, {}, {"error": {"code": "InvalidAuthenticationToken", "message": "..."}}
        delta = f"/v1.0/users/{SENDER}/mailFolders/inbox/messages/delta"
        if call.method == "GET" and call.path == delta:
            return self._delta(call)
        found = re.fullmatch(
            rf"/v1\.0/users/{re.escape(SENDER)}/messages/([^/]+)/attachments", call.path
        )
        if call.method == "GET" and found:
            return 200, {}, {"value": self.attachments.get(found.group(1), [])}
        found = re.fullmatch(
            rf"/v1\.0/users/{re.escape(SENDER)}/messages/[^/]+/attachments/([^/]+)/\$value",
            call.path,
        )
        if call.method == "GET" and found:
            return 200, {}, self.contents[found.group(1)]
        return 404, {}, UNKNOWN

    def _delta(self, call: Call) -> Answer:
        link = f"{GRAPH}/v1.0/users/{SENDER}/mailFolders/inbox/messages/delta"
        query = call.query
        if "$skiptoken" in query:
            return 200, {}, self.pages[query["$skiptoken"]]
        if "$deltatoken" in query:
            if query["$deltatoken"] == "expired":
                return 410, {}, {"error": {"code": "SyncStateNotFound", "message": "expired"}}
            rows, self.arrived = self.arrived, []
        else:
            rows = []
        self.rounds += 1
        if not rows and "$deltatoken" not in query:  # an initial round: two pages
            self.pages["p2"] = {
                "@odata.context": f"{GRAPH}/v1.0/$metadata#Collection(message)",
                "value": [graph_message(2), {"id": "AAMk-gone", "@removed": {"reason": "deleted"}}],
                "@odata.deltaLink": f"{link}?$deltatoken=round-{self.rounds}",
            }
            return (
                200,
                {},
                {
                    "@odata.context": f"{GRAPH}/v1.0/$metadata#Collection(message)",
                    "value": [graph_message(1)],
                    "@odata.nextLink": f"{link}?$skiptoken=p2",
                },
            )
        return (
            200,
            {},
            {
                "@odata.context": f"{GRAPH}/v1.0/$metadata#Collection(message)",
                "value": rows,
                "@odata.deltaLink": f"{link}?$deltatoken=round-{self.rounds}",
            },
        )


def assert_documented(call: Call) -> None:
    for method, path, options in OPERATIONS:
        if call.method == method and re.fullmatch(path, call.path) and set(call.query) <= options:
            assert call.body is None
            assert call.headers["Authorization"].startswith("Bearer ")
            return
    pytest.fail(f"not a documented operation: {call.method} {call.path} {call.query}")


@pytest.fixture
def graph_settings(tmp_path: Any) -> Settings:
    return graph_settings_for(tmp_path)


@pytest.fixture
def inbox(requests_mock: Any) -> Any:
    double = InboxDouble(token_double(requests_mock))
    mount(requests_mock, double, GRAPH)
    yield double
    assert double.unexpected == []
    for call in double.calls:
        assert_documented(call)


@pytest.fixture
def reader(graph_settings: Settings) -> GraphInbox:
    return GraphInbox(graph_settings, clock=lambda: NOW)


def test_a_first_read_asks_for_new_messages_of_the_last_hour_and_follows_every_page(inbox, reader):
    messages, watermark = reader.read_new(None)

    assert [m.internet_message_id for m in messages] == [
        "<reply-1@fabrikam.example>",
        "<reply-2@fabrikam.example>",
    ]  # the @removed row is not a message
    assert (
        watermark
        == f"{GRAPH}/v1.0/users/{SENDER}/mailFolders/inbox/messages/delta?$deltatoken=round-1"
    )
    first = inbox.calls[0]
    assert first.query["changeType"] == "created"
    assert set(first.query["$select"].split(",")) == SELECTED
    assert first.query["$filter"] == "receivedDateTime ge 2026-12-07T09:00:00Z"
    assert first.headers["Prefer"] == "odata.maxpagesize=50"
    assert inbox.calls[1].url.endswith("$skiptoken=p2")  # the nextLink, followed as given


def test_a_message_is_read_with_its_headers_sender_and_body(inbox, reader):
    (message, _), _ = reader.read_new(None)
    assert message.sender == "jordan@fabrikam.example"
    assert message.subject == "RE: We received your request [#42]"
    assert message.in_reply_to == "<intake.abc@contoso.example>"
    assert message.references == "<intake.abc@contoso.example>"
    assert message.html == "<div>It still fails</div>" and message.text == ""
    assert message.mailbox_id == "AAMkAGI2-1"
    assert message.header("IN-REPLY-TO") == "<intake.abc@contoso.example>"


def test_the_next_read_starts_at_the_delta_link_and_gets_only_what_arrived(inbox, reader):
    _, watermark = reader.read_new(None)
    inbox.arrived = [
        graph_message(
            3,
            body={"contentType": "text", "content": "plain words"},
            internetMessageHeaders=[{"name": "Auto-Submitted", "value": "auto-replied"}],
        )
    ]
    (message,), next_watermark = reader.read_new(watermark)

    assert inbox.calls[-1].url == watermark  # no query option added to a link
    assert message.text == "plain words" and message.header("auto-submitted") == "auto-replied"
    assert next_watermark.endswith("$deltatoken=round-2")
    assert reader.read_new(next_watermark)[0] == []


def test_an_expired_delta_link_starts_a_new_round_over_the_last_days(inbox, reader):
    expired = f"{GRAPH}/v1.0/users/{SENDER}/mailFolders/inbox/messages/delta?$deltatoken=expired"
    messages, watermark = reader.read_new(expired)
    assert len(messages) == 2 and watermark.endswith("round-1")
    restart = inbox.calls[1]
    assert restart.query["$filter"] == "receivedDateTime ge 2026-11-30T10:00:00Z"


def test_attachments_within_the_limit_are_downloaded_the_others_only_named(inbox, reader):
    message_id = "AAMkAGI2-1"
    inbox.attachments[message_id] = [
        {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": "att-1",
            "name": "log.txt",
            "contentType": "text/plain",
            "size": 5,
            "isInline": False,
        },
        {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": "att-2",
            "name": "dump.bin",
            "contentType": "application/octet-stream",
            "size": 5_000_000,
            "isInline": False,
        },
        {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": "att-3",
            "name": "logo.png",
            "contentType": "image/png",
            "size": 900,
            "isInline": True,
        },
        {
            "@odata.type": "#microsoft.graph.itemAttachment",
            "id": "att-4",
            "name": "Fwd: old mail",
            "contentType": None,
            "size": 4000,
            "isInline": False,
        },
    ]
    inbox.contents["att-1"] = b"hello"
    (message, _), _ = reader.read_new(None)
    message = message.__class__(**{**message.__dict__, "has_attachments": True})

    found = reader.attachments(message, max_bytes=1_000_000)

    assert [(a.name, a.size, a.content) for a in found] == [
        ("log.txt", 5, b"hello"),
        ("dump.bin", 5_000_000, b""),  # over the limit: never downloaded
    ]
    listed = [c for c in inbox.calls if c.path.endswith("/attachments")]
    assert listed[0].query == {"$select": "id,name,contentType,size,isInline"}
    downloads = [c.path for c in inbox.calls if c.path.endswith("$value")]
    assert downloads == [
        f"/v1.0/users/{SENDER}/messages/{quote(message_id)}/attachments/att-1/$value"
    ]


def test_graph_down_is_retried_a_bounded_number_of_times_then_raised(inbox, reader):
    link = f"{GRAPH}/v1.0/users/{SENDER}/mailFolders/inbox/messages/delta?$deltatoken=round-1"
    retry.set_testing(True)
    try:
        inbox.fail("GET", "/messages/delta", 503, times=50)
        with pytest.raises(ExternalUnavailable):
            reader.read_new(link)
    finally:
        retry.set_testing(False)
    tries = [c for c in inbox.calls if c.path.endswith("/delta")]
    assert 1 < len(tries) < 50


def test_bootstrap_reads_the_inbox_through_graph_when_graph_is_configured(graph_settings):
    assert isinstance(bootstrap.build(graph_settings).mailbox, GraphInbox)
