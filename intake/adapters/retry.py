"""Retries for every remote call: bounded, honouring ``Retry-After``, and mapping HTTP answers
to ``intake.errors`` so nothing above an adapter ever sees a status code or an SDK exception.

Tests switch delays off with ``set_testing(True)`` (as stamina's ``set_testing``): the retry
logic still runs, nobody sleeps.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from intake.errors import (
    ExternalError,
    ExternalRejected,
    ExternalUnavailable,
    StaleWorkItem,
    Throttled,
)
from intake.health import calls

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds for every HTTP call
MAX_ATTEMPTS = 4
MAX_DELAY = 30.0
_testing = False


def set_testing(on: bool) -> None:
    """Retry without sleeping (tests only)."""
    global _testing
    _testing = on


def sleep(seconds: float) -> None:
    if not _testing:
        time.sleep(seconds)


def error_for_status(
    status: int, reason: str, *, system: str, headers: Mapping[str, str] | None = None
) -> ExternalError:
    """Our exception for a failed HTTP answer. ``reason`` must be short and carry no secret."""
    detail = f"{system} answered {status}: {reason}"[:500]
    if status == 429:
        return Throttled(detail, system=system, retry_after=retry_after(headers))
    if status == 412:
        return StaleWorkItem(detail, system=system, remote_status=status)
    if status >= 500 or status == 408:
        exc = ExternalUnavailable(detail, system=system, remote_status=status)
        if headers and "Retry-After" in headers:
            exc.retry_after = retry_after(headers)  # type: ignore[attr-defined]
        return exc
    return ExternalRejected(detail, system=system, remote_status=status)


def retry_after(headers: Mapping[str, str] | None, default: float = 1.0) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds form; dates fall back)."""
    if not headers:
        return default
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def with_retries(call: Callable[[], T], *, system: str, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``call``; on ``Throttled`` or ``ExternalUnavailable`` wait and try again, up to
    ``attempts`` times in all, then re-raise the last error (the queue retries later still)."""
    for attempt in range(1, attempts + 1):
        try:
            result = call()
        except ExternalRejected as exc:
            # The system answered; only a refusal of our credentials says it cannot be used.
            if getattr(exc, "remote_status", None) in (401, 403):
                calls.failed(system, "credentials refused")
            else:
                calls.succeeded(system)
            raise
        except StaleWorkItem:
            calls.succeeded(system)
            raise
        except (Throttled, ExternalUnavailable) as exc:
            if attempt == attempts:
                calls.failed(system, "throttled" if isinstance(exc, Throttled) else "unavailable")
                raise
            delay = getattr(exc, "retry_after", None)
            if delay is None:
                delay = min(MAX_DELAY, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random())
            delay = min(MAX_DELAY, float(delay))
            log.warning(
                "%s: %s; attempt %d of %d, again in %.1fs",
                system,
                exc.title,
                attempt,
                attempts,
                delay,
            )
            sleep(delay)
        else:
            calls.succeeded(system)
            return result
    raise AssertionError("unreachable")  # the loop always returns or raises
