"""Traces and structured logs of a request, through OpenTelemetry.

Export is on only when ``INTAKE_APPLICATIONINSIGHTS_CONNECTION_STRING`` is set (in Azure); locally
the OpenTelemetry API is a no-op and nothing leaves the process. ``azure-monitor-opentelemetry``
is imported inside ``configure`` because it is heavy (cold start).

One trace per request, from intake to card: the trace id is derived from the request id, so the
submission (an HTTP invocation) and every later run of its steps (queue invocations, retries,
replays days later) land in the same trace without carrying a ``traceparent`` through the queue.
Each span links to the Functions host's span of the invocation, when there is one.

Attributes are ids only (request, work item, card activity): never a name, an email or an answer.
The HTTP client instrumentations are off because URLs carry emails (identity look-ups, sendMail).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags

if TYPE_CHECKING:
    from intake.config import Settings

log = logging.getLogger(__name__)

REQUEST_ID = "intake.request_id"
WORK_ITEM_ID = "intake.work_item_id"
CARD_ACTIVITY_ID = "intake.card_activity_id"
_ATTRIBUTE = {"work_item_id": WORK_ITEM_ID, "card_activity_id": CARD_ACTIVITY_ID}

# The ids of the request being worked on in this context (copied into step threads), for logs.
_ids: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "intake_ids", default=None
)
_provider: trace.TracerProvider | None = None
_configured = False
_lock = threading.Lock()

# Every instrumentation azure-monitor-opentelemetry would switch on, off: ours are the spans.
_INSTRUMENTATIONS_OFF = (
    "django",
    "fastapi",
    "flask",
    "psycopg2",
    "requests",
    "urllib",
    "urllib3",
)

P = ParamSpec("P")
R = TypeVar("R")


def configure(settings: Settings, *, tracer_provider: trace.TracerProvider | None = None) -> bool:
    """Turn export on once per process; returns whether Azure Monitor export is on.

    ``tracer_provider`` replaces the global provider for our spans (tests hand in an SDK
    provider with an in-memory exporter)."""
    global _provider, _configured
    with _lock:
        if tracer_provider is not None:
            _provider = tracer_provider
        connection_string = settings.applicationinsights_connection_string.get_secret_value()
        if _configured or not connection_string:
            return _configured
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            connection_string=connection_string,
            logger_name="intake",
            instrumentation_options={name: {"enabled": False} for name in _INSTRUMENTATIONS_OFF},
        )
        for handler in logging.getLogger("intake").handlers:
            add_ids_to(handler)
        _configured = True
    log.info("telemetry export to Application Insights is on")
    return True


def reset() -> None:
    """Forget a test's tracer provider."""
    global _provider
    with _lock:
        _provider = None


def trace_id_of(request_id: str) -> int:
    """The request's trace id: 128 bits of its sha256 (never 0, which OpenTelemetry rejects)."""
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:16], "big") or 1


@contextmanager
def request_span(name: str, request_id: str) -> Iterator[None]:
    """A span in the request's own trace; ids noted inside it with ``note`` become attributes
    and the extras of every log record of the ``intake`` loggers in this context."""
    tracer = trace.get_tracer("intake", tracer_provider=_provider)
    invocation = trace.get_current_span().get_span_context()
    root = SpanContext(
        trace_id=trace_id_of(request_id),
        span_id=trace_id_of(request_id) & 0xFFFF_FFFF_FFFF_FFFF or 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    parent = trace.set_span_in_context(NonRecordingSpan(root))
    links = [Link(invocation)] if invocation.is_valid else []
    token = _ids.set({"request_id": request_id})
    try:
        with tracer.start_as_current_span(
            name, context=parent, links=links, attributes={REQUEST_ID: request_id}
        ):
            yield
    finally:
        _ids.reset(token)


def traced_request(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a function whose first argument is a request id inside ``request_span``."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with request_span(name, str(args[0])):
                return function(*args, **kwargs)

        return run

    return decorate


def note(**ids: str | int | None) -> None:
    """Record ids (``work_item_id``, ``card_activity_id``) on the current request's span and
    log context. Unknown names are refused: only ids may become telemetry."""
    unknown = set(ids) - set(_ATTRIBUTE)
    if unknown:
        raise ValueError(f"not an id telemetry may carry: {sorted(unknown)}")
    known = {name: value for name, value in ids.items() if value is not None}
    span = trace.get_current_span()
    for name, value in known.items():
        span.set_attribute(_ATTRIBUTE[name], value)
    current = _ids.get()
    if current is not None:
        current.update(known)


def received(request_id: str, *, duplicate: bool) -> None:
    """Mark the moment a submission was recorded, as the first span of the request's trace."""
    with request_span("intake.received", request_id):
        trace.get_current_span().set_attribute("intake.duplicate", duplicate)


def ids() -> dict[str, Any]:
    """The ids of the request worked on in this context (empty outside one)."""
    return dict(_ids.get() or {})


class IdsFilter(logging.Filter):
    """Puts ``request_id`` / ``work_item_id`` / ``card_activity_id`` on each record a handler
    emits (as extras: Application Insights shows them as custom dimensions), unless the call
    set them. A handler filter runs in the logging thread, so it sees that thread's ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in ids().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def add_ids_to(handler: logging.Handler) -> None:
    """Give ``handler`` the request's ids on every record, once."""
    if not any(isinstance(existing, IdsFilter) for existing in handler.filters):
        handler.addFilter(IdsFilter())
