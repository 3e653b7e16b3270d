"""What ``GET /api/health`` tells operations: the app's version and, for each connected
system, whether its last real call succeeded and when.

Outcomes are recorded in process by the adapters' retry layer (``intake.adapters.retry``),
as real calls happen: a probe makes no remote call, costs nothing, and reports no secret and
no personal data (a system's name, a word for the outcome, a time). Each instance keeps its
own: a fresh instance has seen no call yet (``lastCall`` null).

A call counts as failed when the system could not be used: unavailable or throttled after
our retries, or refusing our credentials (401/403). Any other refusal (a work item that does
not exist, a stale revision) is the system answering: the call counts as a success.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from intake import __version__
from intake.config import Settings
from intake.models import utcnow


@dataclass(frozen=True)
class CallOutcome:
    ok: bool
    at: datetime
    problem: str = ""  # "unavailable", "throttled", "credentials refused"; empty when ok


class CallHealth:
    """The last outcome of a real call, per system (thread-safe; one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, CallOutcome] = {}
        # The app's one clock (``Services.clock``), set where the worker's services are set.
        self.clock: Callable[[], datetime] = utcnow

    def succeeded(self, system: str) -> None:
        self._set(system, CallOutcome(True, self.clock()))

    def failed(self, system: str, problem: str) -> None:
        self._set(system, CallOutcome(False, self.clock(), problem))

    def last(self, system: str) -> CallOutcome | None:
        with self._lock:
            return self._last.get(system)

    def forget(self) -> None:
        with self._lock:
            self._last.clear()

    def _set(self, system: str, outcome: CallOutcome) -> None:
        with self._lock:
            self._last[system] = outcome


calls = CallHealth()

# The systems a probe reports: the ``system`` names the adapters pass to ``with_retries``,
# and whether the settings connect it (else its local adapter runs and makes no remote call).
SYSTEMS: tuple[tuple[str, Callable[[Settings], bool]], ...] = (
    ("devops", lambda s: s.uses_devops),
    ("graph", lambda s: s.uses_graph),
    ("teams", lambda s: s.uses_bot),
    ("Table Storage", lambda s: s.uses_azure_storage),
    ("Queue Storage", lambda s: s.uses_azure_storage),
)


def report(settings: Settings, registry: CallHealth = calls) -> dict[str, Any]:
    """The probe's answer. ``status`` is ``degraded`` when a connected system's last call
    failed: the app still runs (and answers 200), but something it needs does not."""
    systems: list[dict[str, Any]] = []
    degraded = False
    for name, connected in SYSTEMS:
        if not connected(settings):
            systems.append({"system": name, "adapter": "local", "lastCall": None})
            continue
        outcome = registry.last(name)
        last: dict[str, Any] | None = None
        if outcome is not None:
            degraded = degraded or not outcome.ok
            last = {"ok": outcome.ok, "at": outcome.at.isoformat()}
            if outcome.problem:
                last["problem"] = outcome.problem
        systems.append({"system": name, "adapter": "remote", "lastCall": last})
    return {
        "status": "degraded" if degraded else "ok",
        "version": __version__,
        "systems": systems,
    }
