"""Loopback test doubles for the benchmark: the services Intake talks to, over real HTTP on
127.0.0.1, with a round-trip delay and a fault rate.

The services themselves are the contract tests' doubles (they answer like the real services,
checked against the files in ``../shared/specs/``): Entra ID's token endpoint, Graph mail and
the Bot Connector from ``tests/contract/doubles_graph_teams.py``, Azure DevOps from
``tests/contract/devops_double.py`` (when that module exists). This module only adds the network:

- every request waits ``delay / 2`` before the service acts and ``delay / 2`` after, so an
  effect is visible to others half-way and the caller hears back after one full round trip;
- with probability ``fault_rate`` a request is answered ``429`` (with ``Retry-After``) or
  ``503`` *before* the service acts (throttling and gateway errors: nothing happened);
- every answer is counted (method, path, status, time) for the benchmark's tables.

msal insists on an ``https`` authority, so the token endpoint is served over TLS with a
certificate made for 127.0.0.1 at start-up (trusted through ``REQUESTS_CA_BUNDLE``).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from tests.contract.doubles_graph_teams import Call, Double, _parse

Answer = tuple[int, dict[str, str], Any]  # status, headers, body (JSON value, bytes or None)


class Service(Protocol):
    def answer(self, method: str, url: str, headers: dict[str, str], raw: bytes) -> Answer: ...


class GraphTeamsService:
    """A ``doubles_graph_teams.Double`` (token, Graph, connector) behind the loopback server."""

    def __init__(self, double: Double) -> None:
        self.double = double

    def answer(self, method: str, url: str, headers: dict[str, str], raw: bytes) -> Answer:
        return self.double.answer(Call(method, url, headers, _parse(raw, headers)))


class DevOpsService:
    """``tests/contract/devops_double.DevOpsDouble`` (a requests-mock matcher) behind the
    loopback server: each request is rebuilt as a ``requests`` request for the double's own
    organisation URL, and its ``requests.Response`` turned back into an answer."""

    def __init__(self, double: Any, base_url: str) -> None:
        self.double = double
        self.base_url = base_url.rstrip("/")
        # What the SDK is told (ResourceAreas, work item URLs): this server, not dev.azure.com.
        self.double.org_url = f"{self.base_url}/{double.org}"
        self.double.vssps_url = f"{self.base_url}/vssps/{double.org}"

    def answer(self, method: str, url: str, headers: dict[str, str], raw: bytes) -> Answer:
        import requests

        request = requests.Request(method, url, headers=headers, data=raw or None).prepare()
        response = self.double.answer(request)
        if response is None:
            return 404, {}, {"message": f"the DevOps double has no route for {method} {url}"}
        kept = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
        return response.status_code, kept, response.content or None


@dataclass
class Network:
    """The path to one service: round-trip delay (seconds) and injected fault rate."""

    delay: float = 0.050
    fault_rate: float = 0.0
    retry_after: int = 1  # seconds, on injected 429s (an integer, as HTTP has it)
    seed: int = 6
    rng: random.Random = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def fault(self) -> Answer | None:
        with self.lock:
            roll, kind = self.rng.random(), self.rng.random()
        if roll >= self.fault_rate:
            return None
        if kind < 0.5:
            body = {"error": {"code": "TooManyRequests", "message": "injected by the benchmark"}}
            return 429, {"Retry-After": str(self.retry_after)}, body
        body = {"error": {"code": "ServiceUnavailable", "message": "injected by the benchmark"}}
        return 503, {}, body


@dataclass(frozen=True)
class Answered:
    """One answer as it left a loopback server (``at``: ``time.perf_counter()``)."""

    method: str
    path: str
    status: int
    started: float  # the request arrived
    at: float  # the answer left (one full round trip after the caller sent it)
    injected: bool


class LoopbackService:
    """Serves one ``Service`` on 127.0.0.1 (a free port) in daemon threads."""

    def __init__(self, name: str, network: Network, *, tls: ssl.SSLContext | None = None) -> None:
        self.name = name
        self.network = network
        self.service: Service | None = None  # set before start (it may need the URL)
        self.answered: list[Answered] = []
        self.listeners: list[Callable[[Answered, bytes], None]] = []  # (answer, request body)
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"loopback": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> LoopbackService:
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"double-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def count(self, since: float = 0.0, until: float = float("inf")) -> list[Answered]:
        with self._lock:
            return [a for a in self.answered if since <= a.at <= until]

    def handle(self, method: str, url: str, headers: dict[str, str], raw: bytes) -> Answer:
        assert self.service is not None, f"{self.name}: no service set"
        started = time.perf_counter()
        half = self.network.delay / 2
        if half:
            time.sleep(half)
        injected = self.network.fault()
        if injected is not None:
            status, out_headers, body = injected
        else:
            status, out_headers, body = self.service.answer(method, url, headers, raw)
        if half:
            time.sleep(half)
        path = unquote(urlsplit(url).path)
        done = Answered(method, path, status, started, time.perf_counter(), bool(injected))
        with self._lock:
            self.answered.append(done)
        for listener in self.listeners:
            listener(done, raw)
        return status, out_headers, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst opens many connections at once


class _Handler(BaseHTTPRequestHandler):
    loopback: LoopbackService
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
    # body until the client's delayed ACK (up to 40 ms on Linux) and every answer pays for it.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        url = f"{scheme}://{self.headers.get('Host', '127.0.0.1')}{self.path}"
        status, headers, body = self.loopback.handle(self.command, url, dict(self.headers), raw)
        if body is None:
            payload = b""
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        """Quiet: ``answered`` is the log."""


def loopback_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a fresh self-signed certificate, and the
    certificate's file (what clients must trust)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "loopback.pem", folder / "loopback.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
