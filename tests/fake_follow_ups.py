"""A fake of the FollowUps port (what the follow-up timer keeps between runs), in memory.

Given the test's ``tests.fakes.Faults``, the calls the inbound use case makes can fail on cue
(``faults.add("claim_effect", ...)``, ``"set_cursor"``), before or after their work is done.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from intake.models import TrackedItem
from tests.fakes import Faults


class FakeFollowUps:
    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults if faults is not None else Faults()
        self.marks: dict[int, datetime] = {}
        self.mark: datetime | None = None
        self.items: dict[int, TrackedItem] = {}
        self.effects: dict[str, dict[str, Any]] = {}
        self.cursors: dict[str, str] = {}
        self.lock = threading.Lock()

    def mark_changed(self, work_item_id: int, at: datetime) -> None:
        self.marks[work_item_id] = at

    def changed(self) -> dict[int, datetime]:
        return dict(self.marks)

    def forget_changed(self, marks: dict[int, datetime]) -> None:
        for work_item_id, at in marks.items():
            if work_item_id in self.marks and self.marks[work_item_id] <= at:
                del self.marks[work_item_id]

    def watermark(self) -> datetime | None:
        return self.mark

    def set_watermark(self, at: datetime) -> None:
        self.mark = at

    def cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    def set_cursor(self, name: str, value: str) -> None:
        self.faults.check("set_cursor", after=False)
        self.cursors[name] = value
        self.faults.check("set_cursor", after=True)

    def item(self, work_item_id: int) -> TrackedItem | None:
        return self.items.get(work_item_id)

    def save_item(self, item: TrackedItem) -> None:
        self.items[item.work_item_id] = item

    def due(self, now: datetime, *, limit: int = 500) -> list[TrackedItem]:
        due = [i for i in self.items.values() if i.next_due_at and i.next_due_at <= now]
        return sorted(due, key=lambda i: i.next_due_at or now)[:limit]

    def running(self) -> list[TrackedItem]:
        return [i for i in self.items.values() if i.running]

    def claim_effect(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        self.faults.check("claim_effect", after=False)
        with self.lock:  # one claim wins, whichever thread claims (as the real adapters)
            stored = self.effects.setdefault(key, value)
        self.faults.check("claim_effect", after=True)
        return stored

    def effect(self, key: str) -> dict[str, Any] | None:
        return self.effects.get(key)
