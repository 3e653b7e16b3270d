"""The local host: serves the functions registered on ``function_app.app`` over HTTP, runs its
queue triggers from the local queue and its timers on schedule, and serves the /dev pages.

Routes, methods and trigger kinds are read from the app object, so there is no second routing
table: what runs here is what Azure runs. It exists because Azure Functions Core Tools cannot be
assumed on a laptop or in CI; ``func start`` still works for those who have it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest

from intake import bootstrap
from intake.adapters.local_queue import SqliteQueue
from intake.dev import driving, pages
from intake.dev.schedule import Schedule, next_due
from intake.ports import Services

log = logging.getLogger(__name__)
ROUTE_PREFIX = "/api/"


@dataclass(frozen=True)
class HttpFunction:
    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    auth_level: str
    handler: Callable[..., Any]


@dataclass(frozen=True)
class QueueFunction:
    name: str
    queue_name: str
    handler: Callable[..., Any]


@dataclass(frozen=True)
class TimerFunction:
    name: str
    schedule: Schedule
    handler: Callable[..., Any]


def route_pattern(route: str) -> re.Pattern[str]:
    """A regex for an Azure Functions route template: ``{name}``, ``{name:int}``, ``{*rest}``."""
    parts = []
    for piece in re.split(r"(\{[^}]+\})", route.strip("/")):
        if not (piece.startswith("{") and piece.endswith("}")):
            parts.append(re.escape(piece))
            continue
        name, _, constraint = piece[1:-1].rstrip("?").partition(":")
        if name.startswith("*"):
            parts.append(f"(?P<{name[1:]}>.*)")
        elif constraint == "int":
            parts.append(rf"(?P<{name}>-?\d+)")
        else:
            parts.append(f"(?P<{name}>[^/]+)")
    return re.compile("^" + "".join(parts) + "$")


class FunctionTable:
    """The functions of an ``azure.functions.FunctionApp``, grouped by trigger kind."""

    def __init__(self, app: func.FunctionApp) -> None:
        self.http: list[HttpFunction] = []
        self.queues: list[QueueFunction] = []
        self.timers: list[TimerFunction] = []
        for function in _functions_of(app):
            trigger: Any = function.get_trigger()
            handler = function.get_user_function()
            name = function.get_function_name()
            if trigger.type == "httpTrigger":
                methods = frozenset(
                    str(getattr(m, "value", m)).upper()
                    for m in (trigger.methods or ["GET", "POST"])
                )
                self.http.append(
                    HttpFunction(
                        name,
                        route_pattern(trigger.route or name),
                        methods,
                        str(getattr(trigger.auth_level, "value", trigger.auth_level)),
                        handler,
                    )
                )
            elif trigger.type == "queueTrigger":
                self.queues.append(QueueFunction(name, trigger.queue_name, handler))
            elif trigger.type == "timerTrigger":
                self.timers.append(TimerFunction(name, Schedule(trigger.schedule), handler))
            else:
                log.warning(
                    "function %s has a %s trigger the local host cannot run", name, trigger.type
                )

    def match(self, method: str, path: str) -> tuple[HttpFunction | None, dict[str, str], bool]:
        """The function for a path (and its route params); the bool says the path exists."""
        route = path[len(ROUTE_PREFIX) :]
        path_exists = False
        for function in self.http:
            found = function.pattern.match(route)
            if found:
                path_exists = True
                if method in function.methods:
                    return function, found.groupdict(), True
        return None, {}, path_exists


_indexed: dict[int, list[Any]] = {}


def _functions_of(app: func.FunctionApp) -> list[Any]:
    """``app.get_functions()`` once per app: the SDK refuses to index an app twice."""
    if id(app) not in _indexed:
        _indexed[id(app)] = app.get_functions()
    return _indexed[id(app)]


class WorkerBackoff:
    """A queue worker's trouble: how long to wait after the n-th error in a row (doubling,
    capped), logged once when it starts and once when it ends, never once per retry."""

    def __init__(self, name: str, first: float, cap: float) -> None:
        self.name = name
        self.first = first
        self.cap = cap
        self.errors = 0

    def failed(self, exc: BaseException) -> float:
        self.errors += 1
        if self.errors == 1:
            log.warning(
                "worker of %s: %s: %s; retrying with back-off up to %.0f s",
                self.name,
                type(exc).__name__,
                exc,
                self.cap,
            )
        return float(min(self.cap, self.first * 2 ** min(self.errors - 1, 32)))

    def recovered(self) -> None:
        if self.errors:
            log.warning("worker of %s works again after %d errors", self.name, self.errors)
            self.errors = 0


class LocalHost:
    """Everything ``make dev`` runs: the HTTP server, the queue workers, the timers."""

    def __init__(
        self,
        app: func.FunctionApp,
        services: Services,
        *,
        queue_workers: int = 4,
        retry_delay: float = 1.0,
        worker_backoff: float = 0.1,
        worker_backoff_cap: float = 10.0,
    ) -> None:
        self.table = FunctionTable(app)
        self.services = services
        self.retry_delay = retry_delay
        # A worker's wait after an error of the queue itself: doubles per error, capped.
        self.worker_backoff = worker_backoff
        self.worker_backoff_cap = worker_backoff_cap
        self.queue_workers = queue_workers
        self.stopping = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.threads: list[threading.Thread] = []
        self.server: ThreadingHTTPServer | None = None
        # The instant timers have been run up to (the app's clock, to the second).
        self._timers_at = services.clock().replace(microsecond=0)
        self._timers_lock = threading.RLock()
        # The local adapters' own views (the queue to drain, what the /dev pages show).
        self.local = bootstrap.local_parts(services.settings)
        bootstrap.override(services)

    # --- running functions --------------------------------------------------------------
    def call(self, handler: Callable[..., Any], argument: Any) -> Any:
        """Run a function as the worker would: coroutines on the host's event loop."""
        if inspect.iscoroutinefunction(handler):
            return asyncio.run_coroutine_threadsafe(handler(argument), self.loop).result()
        return handler(argument)

    def handle_http(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(url).path
        if driving.serves(method, path):
            return driving.handle(self, method, path, headers, body)
        if path.startswith("/dev/") or path == "/dev" or path == "/":
            return pages.handle(self, method, url, headers, body)
        if not path.startswith(ROUTE_PREFIX):
            return _not_found(path)
        function, route_params, path_exists = self.table.match(method, path)
        if function is None:
            if path_exists:
                return _problem(
                    405,
                    "method-not-allowed",
                    "Method not allowed",
                    f"{method} is not allowed on {path}.",
                )
            return _not_found(path)
        request = func.HttpRequest(
            method=method,
            url=url,
            headers=headers,
            params=dict(parse_qsl(urlsplit(url).query)),
            route_params=route_params,
            body=body,
        )
        response: func.HttpResponse = self.call(function.handler, request)
        out_headers = dict(response.headers)
        content_type = response.mimetype or "text/plain"
        if response.charset and "charset" not in content_type:
            content_type += f"; charset={response.charset}"
        out_headers.setdefault("Content-Type", content_type)
        return response.status_code, out_headers, response.get_body() or b""

    def drain_queue(self, function: QueueFunction) -> None:
        """One worker: takes messages until the host stops. Nothing ends it early: an error
        outside the function (the SQLite file locked past its busy timeout while receiving,
        completing or failing a message) is logged once and retried after a back-off that
        doubles up to a cap; the worker says when it works again."""
        queue = SqliteQueue(self.local.db, function.queue_name)
        backoff = WorkerBackoff(function.name, self.worker_backoff, self.worker_backoff_cap)
        while not self.stopping.is_set():
            try:
                self.drain_one(function, queue)
            except Exception as exc:  # noqa: BLE001 - a worker outlives any error
                self.stopping.wait(backoff.failed(exc))
            else:
                backoff.recovered()

    def drain_one(self, function: QueueFunction, queue: SqliteQueue) -> None:
        """Run the next visible message, or wait a little for one."""
        message = queue.receive(visibility_timeout=30.0)
        if message is None:
            SqliteQueue.wakeup.wait(0.25)
            SqliteQueue.wakeup.clear()
            return
        queue_message = QueueMessage(  # type: ignore[no-untyped-call]
            id=str(message.id),
            body=message.body.encode("utf-8"),
            dequeue_count=message.dequeue_count,
        )
        try:
            self.call(function.handler, queue_message)
        except Exception as exc:  # noqa: BLE001 - the host's job: retry, then poison
            poisoned = queue.fail(
                message,
                f"{type(exc).__name__}: {exc}",
                retry_in=self.retry_delay * message.dequeue_count,
            )
            log.warning(
                "%s failed on message %s (delivery %d)%s: %s",
                function.name,
                message.id,
                message.dequeue_count,
                " -> poison queue" if poisoned else "",
                type(exc).__name__,
            )
        else:
            queue.complete(message)

    def run_timers(self) -> None:
        # Like a queue worker, the timers' thread outlives any error (the clock is read from
        # the SQLite file, which may stay locked): logged once, then a doubling back-off.
        backoff = WorkerBackoff("timers", self.worker_backoff, self.worker_backoff_cap)
        wait = 0.5
        while not self.stopping.wait(wait):
            try:
                self.advance_timers(self.services.clock())
            except Exception as exc:  # noqa: BLE001 - the timers must keep running
                wait = max(0.5, backoff.failed(exc))
            else:
                backoff.recovered()
                wait = 0.5

    def advance_timers(self, now: datetime) -> list[str]:
        """Run, once each, every timer whose schedule fell due after the last instant timers
        were run for and up to ``now`` (the app's clock: the wall's, or where
        ``POST /dev/api/clock`` set it). A timer that fell due several times in a jump runs
        once, as the Functions host runs a past-due timer once. Returns the timers run."""
        with self._timers_lock:
            ran = []
            if now > self._timers_at:
                for timer in self.table.timers:
                    if next_due(timer.schedule, self._timers_at, now) is not None:
                        self.run_timer(timer)
                        ran.append(timer.name)
                self._timers_at = now
            return ran

    def run_timer(self, timer: TimerFunction) -> None:
        try:
            self.call(timer.handler, TimerRequest())
        except Exception:
            log.exception("timer %s failed", timer.name)

    def fire_due_timers(self, now: datetime) -> None:
        """Run every timer whose schedule matches ``now`` (to the second)."""
        for timer in self.table.timers:
            if timer.schedule.matches(now):
                self.run_timer(timer)

    def settle(self, timeout: float = 60.0) -> bool:
        """Wait until the queues the host drains hold no message (being run, or waiting for
        a retry); poisoned ones do not count. False if ``timeout`` passed first."""
        database = self.local.db
        names = [function.queue_name for function in self.table.queues]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(SqliteQueue(database, name).pending() for name in names):
                return True
            time.sleep(0.01)  # the host's own wait for its workers, never a test's
        return False

    # --- lifecycle ----------------------------------------------------------------------
    def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen on ``host:port`` and start the workers (OSError if the port is taken)."""
        self.server = LocalHttpServer((host, port), _handler_class(self))
        threading.Thread(target=self.loop.run_forever, name="event-loop", daemon=True).start()
        self._spawn(functools.partial(self.server.serve_forever, poll_interval=0.05), "http")
        for function in self.table.queues:
            for index in range(self.queue_workers):
                self._spawn(functools.partial(self.drain_queue, function), f"queue-{index}")
        if self.table.timers:
            self._spawn(self.run_timers, "timers")
        address = self.server.server_address
        return str(address[0]), int(address[1])

    def stop(self) -> None:
        self.stopping.set()
        SqliteQueue.wakeup.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        bootstrap.override(None)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)


def _not_found(path: str) -> tuple[int, dict[str, str], bytes]:
    return _problem(404, "not-found", "Not found", f"Nothing is served at {path}.")


_problem = pages._problem  # the host's own refusals: the same one error shape

# Azure Functions' own limit on a request body (its default maxRequestLength, 100 MB); the
# functions refuse much less (INTAKE_MAX_BODY_BYTES): this only bounds what the host reads.
MAX_REQUEST_BYTES = 100 * 1024 * 1024


class LocalHttpServer(ThreadingHTTPServer):
    # The standard library listens with a backlog of 5: a burst of 50 connections at once
    # (a form's flow retrying, a load test) had about half of them reset. The kernel caps it
    # at net.core.somaxconn.
    request_queue_size = 1024
    daemon_threads = True


class BadFraming(ValueError):
    """The request's body cannot be delimited: a ``400`` and the connection closed."""


def read_body(headers: Any, stream: Any) -> bytes:
    """The request body as the Functions host hands it over: by ``Content-Length``, or the
    chunks of ``Transfer-Encoding: chunked`` (RFC 9112 §7.1; chunk extensions and trailers
    read and dropped)."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        chunks: list[bytes] = []
        total = 0
        while True:
            line = stream.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadFraming("a chunk size is not a hexadecimal number") from None
            if size < 0 or total + size > MAX_REQUEST_BYTES:
                raise BadFraming("the chunked body is larger than the host accepts")
            if size == 0:
                while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields
                return b"".join(chunks)
            chunk = stream.read(size)
            if len(chunk) != size or stream.readline(3) not in (b"\r\n", b"\n"):
                raise BadFraming("a chunk is shorter than its size says")
            chunks.append(chunk)
            total += size
    raw = headers.get("Content-Length")
    if raw is None:
        return b""
    if not raw.strip().isdigit():
        raise BadFraming(f"Content-Length {raw[:40]!r} is not a number of bytes")
    length = int(raw)
    if length > MAX_REQUEST_BYTES:
        raise BadFraming("the body is larger than the host accepts")
    body: bytes = stream.read(length) if length else b""
    return body


def _handler_class(host: LocalHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "IntakeLocalHost"
        # Headers and body are two writes: with Nagle's algorithm on, the body waits for the
        # client's delayed ACK (up to 40 ms on Linux) on every kept-alive answer.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            started = time.perf_counter()
            url = f"http://{self.headers.get('Host', 'localhost')}{self.path}"
            request_headers = dict(self.headers.items())
            try:
                body = read_body(self.headers, self.rfile)
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    # The function sees a body of known length, as behind the Functions host.
                    for name in [n for n in request_headers if n.lower() == "transfer-encoding"]:
                        del request_headers[name]
                    request_headers["Content-Length"] = str(len(body))
                status, headers, payload = host.handle_http(
                    self.command, url, request_headers, body
                )
            except BadFraming as exc:
                # Where the body ends is unknown: answer, then close the connection.
                self.close_connection = True
                status, headers, payload = _problem(
                    400, "bad-request-framing", "Bad request", f"{exc}."
                )
            except Exception:  # the last guard: never a trace to the caller
                log.exception("unhandled error serving %s %s", self.command, self.path)
                status, headers, payload = _problem(
                    500, "internal-error", "Internal error", "Something went wrong on our side."
                )
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            log.debug(
                "%s %s -> %d in %.1f ms",
                self.command,
                self.path,
                status,
                (time.perf_counter() - started) * 1000,
            )

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, QUERY ...) reaches the function table too and gets a
            # 405 problem, as from Azure, instead of the standard library's 501 HTML page.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: we log ourselves
            return

    return Handler
