"""What one of a request's clocks says at an instant: the triage SLA or the first response.

The value the SLA rules (``intake/sla.py``) derive from the work item's history and that the
reminder ladder, the digest, the card and ``GET /api/requests/{id}`` read. No I/O; nothing
here is ever stored as the truth (see DESIGN "After triage": derived, never accumulated).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ClockKind(StrEnum):
    SLA = "sla"  # triage SLA: business days by severity, cycles by state
    FIRST_RESPONSE = "firstResponse"  # creation → the first human act, business hours


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"  # past its due instant: still ticking (stopped_at None) or stopped late
    CANCELLED = "cancelled"  # e.g. the severity changed to one with no target
    NONE = "none"  # no target for this request (e.g. Low severity)


@dataclass(frozen=True)
class ClockView:
    """One clock at ``at``. Instants are UTC; ``*_minutes`` are business minutes."""

    kind: ClockKind
    state: ClockState
    at: datetime
    cycle: int = 0  # 1 for the first cycle; a reset starts the next
    started_at: datetime | None = None  # this cycle's start
    due_at: datetime | None = None  # when the target is (or was) reached
    breached_at: datetime | None = None  # the due instant, once elapsed time passed it
    stopped_at: datetime | None = None  # met / breached / cancelled: when the clock stopped
    target_minutes: int | None = None
    elapsed_minutes: int = 0
    target_label: str = ""  # "2 business days", "8 business hours"
    # The same two amounts exactly (the ladder computes instants from them without rounding).
    target_time: timedelta | None = None
    elapsed_time: timedelta = timedelta(0)

    @property
    def ticking(self) -> bool:
        """The clock runs at ``at``: before its due instant, or breached and not yet stopped."""
        return self.state is ClockState.RUNNING or (
            self.state is ClockState.BREACHED and self.stopped_at is None
        )

    @property
    def left_minutes(self) -> int | None:
        """Business minutes left to the target (negative once overdue); None without one."""
        if self.target_minutes is None:
            return None
        return self.target_minutes - self.elapsed_minutes
