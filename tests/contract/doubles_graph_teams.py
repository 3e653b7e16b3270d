"""Small HTTP doubles of Entra ID's token endpoint, Microsoft Graph mail and the Bot Connector.

Each double keeps state (issued tokens, sent mail, channel threads), records every call it gets,
and answers like the real service for the few operations Intake uses; anything else is
answered 404 and listed in ``unexpected``. The same double can sit behind two transports:
``mount`` registers it on a ``requests_mock`` mocker (requests and msal), ``LoopbackServer``
serves it over real HTTP on 127.0.0.1 (aiohttp in the Agents SDK, or a benchmark).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body (None: empty)


@dataclass
class Call:
    """One request as it reached a double."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any  # parsed JSON, a form as {name: value}, or None

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.url).path)

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    @property
    def bearer(self) -> str:
        value = next((v for k, v in self.headers.items() if k.lower() == "authorization"), "")
        return value.removeprefix("Bearer ")


@dataclass
class Fault:
    method: str
    path_part: str
    status: int
    times: int
    headers: dict[str, str]
    body: Any
    after: bool = False  # do the call's work first: the answer is lost on the way back


@dataclass
class Double:
    """Records calls; answers injected faults first, then ``route``."""

    calls: list[Call] = field(default_factory=list)
    unexpected: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        method: str,
        path_part: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        after: bool = False,
    ) -> None:
        """Answer the next ``times`` matching calls with ``status`` (e.g. 429 + Retry-After);
        with ``after``, once the call's work is done (it happened, the caller cannot tell)."""
        self.faults.append(Fault(method, path_part, status, times, headers or {}, body, after))

    def answer(self, call: Call) -> Answer:
        with self.lock:
            self.calls.append(call)
            for fault in self.faults:
                if fault.times and fault.method == call.method and fault.path_part in call.path:
                    fault.times -= 1
                    if fault.after:
                        self.route(call)
                    return fault.status, fault.headers, fault.body
            status, headers, body = self.route(call)
            if status == 404 and body == UNKNOWN:
                self.unexpected.append(call)
            return status, headers, body

    def route(self, call: Call) -> Answer:
        raise NotImplementedError


UNKNOWN = {"error": {"code": "UnknownRoute", "message": "the double has no such operation"}}


class TokenDouble(Double):
    """Entra ID v2 for client credentials: tenant discovery and the token endpoint."""

    def __init__(self, authority_host: str) -> None:
        super().__init__()
        self.authority_host = authority_host.rstrip("/")
        self.apps: dict[tuple[str, str], str] = {}  # (tenant, client id) -> secret
        self.issued: dict[str, tuple[str, str]] = {}  # token -> (client id, scope)
        self.numbers = itertools.count(1)

    def register(self, tenant: str, client_id: str, secret: str) -> None:
        self.apps[(tenant, client_id)] = secret

    def scope_of(self, token: str) -> str | None:
        issued = self.issued.get(token)
        return issued[1] if issued else None

    def route(self, call: Call) -> Answer:
        match = re.fullmatch(
            r"/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)", call.path
        )
        if not match:
            return 404, {}, UNKNOWN
        tenant, what = match.groups()
        base = f"{self.authority_host}/{tenant}"
        if what.startswith("v2.0") and call.method == "GET":
            return (
                200,
                {},
                {
                    "issuer": f"{base}/v2.0",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                },
            )
        if call.method != "POST" or not isinstance(call.body, dict):
            return 404, {}, UNKNOWN
        form = call.body
        if form.get("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type"}
        client_id = form.get("client_id", "")
        if self.apps.get((tenant, client_id)) != form.get("client_secret"):
            return (
                401,
                {},
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
            )
        token = f"tok-{client_id[:8]}-{next(self.numbers)}"
        self.issued[token] = (client_id, form.get("scope", ""))
        return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}


class GraphDouble(Double):
    """Graph mail for app-only callers: sendMail, Sent Items search by extended property."""

    def __init__(self, tokens: TokenDouble, endpoint: str, mailboxes: list[str]) -> None:
        super().__init__()
        self.tokens = tokens
        self.scope = f"{endpoint.rstrip('/')}/.default"
        self.sent: dict[str, list[dict[str, Any]]] = {m.lower(): [] for m in mailboxes}
        self.numbers = itertools.count(1)

    def route(self, call: Call) -> Answer:
        match = re.fullmatch(r"/v1\.0/users/([^/]+)(/.*)?", call.path)
        if not match:
            return 404, {}, UNKNOWN
        mailbox, rest = match.group(1).lower(), match.group(2) or ""
        if self.tokens.scope_of(call.bearer) != self.scope:
            return 401, {}, {"error": {"code": "InvalidAuthenticationToken", "message": "..."}}
        if mailbox not in self.sent:
            return 404, {}, {"error": {"code": "ErrorInvalidUser", "message": "no mailbox"}}
        if call.method == "POST" and rest == "/sendMail":
            message = dict(call.body["message"], id=f"AAMk-{next(self.numbers)}")
            if call.body.get("saveToSentItems", True):
                self.sent[mailbox].append(message)
            return 202, {}, None
        if call.method == "GET" and rest == "/mailFolders/sentitems":
            return 200, {}, {"id": "AAMk-sentitems", "displayName": "Sent Items"}
        if call.method == "GET" and rest == "/mailFolders/sentitems/messages":
            found = [m for m in self.sent[mailbox] if _matches(call.query.get("$filter", ""), m)]
            top = int(call.query.get("$top", "10"))
            # Sent Items' copy keeps the internet message id the message was sent with.
            fields = {"id", *call.query.get("$select", "id").split(",")}
            rows = [{k: v for k, v in m.items() if k in fields} for m in found[:top]]
            return 200, {}, {"value": rows}
        return 404, {}, UNKNOWN

    def messages(self, mailbox: str) -> list[dict[str, Any]]:
        return self.sent[mailbox.lower()]


_EXTENDED_PROPERTY_FILTER = re.compile(
    r"singleValueExtendedProperties/Any\(ep: ep/id eq '(.+?)' and ep/value eq '((?:[^']|'')*)'\)"
)


def _matches(odata_filter: str, message: dict[str, Any]) -> bool:
    match = _EXTENDED_PROPERTY_FILTER.fullmatch(odata_filter)
    if not match:
        return False
    wanted_id, wanted_value = match.group(1), match.group(2).replace("''", "'")
    return any(
        p["id"] == wanted_id and p["value"].lower() == wanted_value.lower()
        for p in message.get("singleValueExtendedProperties", [])
    )


class GroupsDouble(Double):
    """Graph's directory for app-only callers: ``checkMemberGroups`` of a user (transitive)."""

    def __init__(self, tokens: TokenDouble, endpoint: str) -> None:
        super().__init__()
        self.tokens = tokens
        self.scope = f"{endpoint.rstrip('/')}/.default"
        self.users: set[str] = set()  # object ids that exist in the tenant
        self.members: dict[str, set[str]] = {}  # group id -> object ids (nesting resolved)

    def route(self, call: Call) -> Answer:
        match = re.fullmatch(r"/v1\.0/users/([^/]+)/checkMemberGroups", call.path)
        if not match or call.method != "POST":
            return 404, {}, UNKNOWN
        if self.tokens.scope_of(call.bearer) != self.scope:
            return 401, {}, {"error": {"code": "InvalidAuthenticationToken", "message": "..."}}
        user = match.group(1).lower()
        if user not in self.users:
            return (
                404,
                {},
                {"error": {"code": "Request_ResourceNotFound", "message": "no such user"}},
            )
        groups = call.body.get("groupIds", [])
        if not 1 <= len(groups) <= 20:
            return 400, {}, {"error": {"code": "Request_BadRequest", "message": "1-20 ids"}}
        found = [g for g in groups if user in self.members.get(g.lower(), set())]
        return 200, {}, {"@odata.context": "https://graph.test/$metadata", "value": found}


class ConnectorDouble(Double):
    """The Bot Connector of Teams under a service URL path: new channel threads, updates of
    their first message, and replies in them."""

    def __init__(self, tokens: TokenDouble, path_prefix: str = "/teams/") -> None:
        super().__init__()
        self.tokens = tokens
        self.prefix = path_prefix
        self.threads: dict[str, dict[str, Any]] = {}  # conversation id -> thread
        self.replies: list[dict[str, Any]] = []  # messages sent into threads, in order
        self.numbers = itertools.count(1_700_000_000_000)

    def route(self, call: Call) -> Answer:
        if not call.path.startswith(self.prefix):
            return 404, {}, UNKNOWN
        path = "/" + call.path[len(self.prefix) :]
        if self.tokens.scope_of(call.bearer) != "https://api.botframework.com/.default":
            return 401, {}, {"message": "Authorization has been denied for this request."}
        if call.method == "POST" and path == "/v3/conversations":
            channel = (call.body.get("channelData") or {}).get("channel", {}).get("id")
            if not call.body.get("isGroup") or not channel:
                return 400, {}, {"error": {"code": "BadArgument", "message": "no channel"}}
            activity_id = str(next(self.numbers))
            conversation_id = f"{channel};messageid={activity_id}"
            self.threads[conversation_id] = {
                "activity_id": activity_id,
                "activity": call.body["activity"],
                "updates": 0,
            }
            return 201, {}, {"id": conversation_id, "activityId": activity_id}
        match = re.fullmatch(r"/v3/conversations/([^/]+)/activities", path)
        if call.method == "POST" and match:
            # A reply: the conversation is a thread's (the channel's id with ;messageid=).
            if match.group(1) not in self.threads:
                return 404, {}, {"error": {"code": "ConversationNotFound"}}
            activity_id = str(next(self.numbers))
            self.replies.append(
                {"conversation_id": match.group(1), "id": activity_id, "activity": call.body}
            )
            return 201, {}, {"id": activity_id}
        match = re.fullmatch(r"/v3/conversations/([^/]+)/activities/([^/]+)", path)
        if call.method == "PUT" and match:
            thread = self.threads.get(match.group(1))
            if thread is None or thread["activity_id"] != match.group(2):
                return 404, {}, {"error": {"code": "ActivityNotFoundInConversation"}}
            thread["activity"] = call.body
            thread["updates"] += 1
            return 200, {}, {"id": match.group(2)}
        return 404, {}, UNKNOWN

    def card(self, conversation_id: str) -> dict[str, Any]:
        (attachment,) = self.threads[conversation_id]["activity"]["attachments"]
        return attachment["content"]  # type: ignore[no-any-return]


# --- transports -------------------------------------------------------------------------------


def mount(mocker: Any, double: Double, base_url: str) -> None:
    """Serve ``double`` for every method under ``base_url`` on a ``requests_mock`` mocker."""

    def respond(request: Any, context: Any) -> bytes:
        status, headers, body = double.answer(
            Call(
                request.method,
                request.url,
                dict(request.headers),
                _parse(request.body, request.headers),
            )
        )
        context.status_code = status
        context.headers.update(headers)
        if body is None:
            return b""
        if isinstance(body, bytes):  # a raw stream (an attachment's $value)
            context.headers.setdefault("Content-Type", "application/octet-stream")
            return body
        context.headers["Content-Type"] = "application/json"
        return json.dumps(body).encode()

    import requests_mock

    pattern = re.compile(re.escape(base_url.rstrip("/")) + r"(/.*)?$")
    mocker.register_uri(requests_mock.ANY, pattern, content=respond)


def _parse(raw: Any, headers: Any) -> Any:
    if not raw:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in parse_qs(text).items()}
    return json.loads(text)


class LoopbackServer:
    """``double`` over real HTTP on 127.0.0.1 (a free port), in a daemon thread."""

    def __init__(self, double: Double) -> None:
        self.double = double
        handler = type("Handler", (_Handler,), {"double": double})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.connections = []  # type: ignore[attr-defined]  # one entry per TCP connection
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def connections(self) -> int:
        """How many TCP connections clients opened to this server so far."""
        return len(self.server.connections)  # type: ignore[attr-defined]

    @classmethod
    @contextmanager
    def running(cls, double: Double) -> Iterator[LoopbackServer]:
        server = cls(double)
        thread = threading.Thread(
            target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield server
        finally:
            server.server.shutdown()
            server.server.server_close()
            thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    double: Double
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:  # once per connection (HTTP/1.1 keeps it for many requests)
        super().setup()
        self.server.connections.append(self.client_address)  # type: ignore[attr-defined]

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        host = self.headers.get("Host", "127.0.0.1")
        call = Call(
            self.command, f"http://{host}{self.path}", dict(self.headers), _parse(raw, self.headers)
        )
        status, headers, body = self.double.answer(call)
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        """Quiet: the double's ``calls`` are the log."""
