"""The local clock: wall time until someone sets it, then frozen at that instant.

Kept in the local SQLite file, not in memory, so every thread of the local host (HTTP, queue
workers, timers) and every process over the same file (``python -m intake replay``) reads the
same time. ``POST /dev/api/clock`` sets it (local mode only; in Azure the clock is the wall).

What reads it: everything the app decides by time (due dates, reminders, how old an intent or a
stalled request is) and every timestamp the local adapters record (board history, outbox,
channel). What does not: leases, queue visibility and retry delays, which are mechanics of
the host and must keep running while time is frozen (a lease that never expires would stall a
crashed run for ever).
"""

from __future__ import annotations

from datetime import UTC, datetime

from intake.adapters.sqlite_db import Database
from intake.models import utcnow


class SqliteClock:
    """``clock()`` is the frozen instant when one is set, else the wall clock (UTC)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self) -> datetime:
        frozen = self.frozen()
        return frozen if frozen is not None else utcnow()

    def frozen(self) -> datetime | None:
        """The instant time stands at, or None while the clock follows the wall."""
        with self.db.connect() as db:
            row = db.execute("SELECT now FROM clock WHERE id = 1").fetchone()
        return None if row is None else datetime.fromisoformat(row["now"])

    def freeze(self, at: datetime) -> datetime | None:
        """Stop time at ``at`` (aware); returns the time it stood at before (the wall's if
        it was not frozen)."""
        if at.tzinfo is None:
            raise ValueError("the clock needs an aware instant (with a UTC offset)")
        with self.db.transaction() as tx:
            row = tx.execute("SELECT now FROM clock WHERE id = 1").fetchone()
            tx.execute(
                "INSERT INTO clock (id, now) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET now = excluded.now",
                (at.astimezone(UTC).isoformat(),),
            )
        return None if row is None else datetime.fromisoformat(row["now"])

    def follow_the_wall(self) -> None:
        """Let time run again (tests; a fresh data folder starts this way)."""
        with self.db.write() as db:
            db.execute("DELETE FROM clock")
