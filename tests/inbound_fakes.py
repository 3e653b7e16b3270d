"""Fakes of the Mailbox and FollowUps ports for the inbound use case's unit and fault tests
(they share ``tests.fakes.Faults``: ``faults.add("read_new", ...)`` and so on)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from intake.inbound_mail import InboundAttachment, InboundMessage
from intake.models import TrackedItem
from intake.ports import Services
from tests.fakes import FakeWorld, Faults


class FakeMailbox:
    """An Inbox: ``arrive`` adds a message; the watermark is how many were read."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.messages: list[InboundMessage] = []
        self.files: dict[str, list[InboundAttachment]] = {}

    def arrive(
        self, message: InboundMessage, files: tuple[InboundAttachment, ...] = ()
    ) -> InboundMessage:
        stored = replace(
            message, mailbox_id=str(len(self.messages) + 1), has_attachments=bool(files)
        )
        self.messages.append(stored)
        self.files[stored.mailbox_id] = list(files)
        return stored

    def read_new(self, watermark: str | None) -> tuple[list[InboundMessage], str]:
        self.faults.check("read_new", after=False)
        start = int(watermark or 0)
        found = list(self.messages[start:]), str(len(self.messages))
        self.faults.check("read_new", after=True)
        return found

    def attachments(self, message: InboundMessage, *, max_bytes: int) -> list[InboundAttachment]:
        self.faults.check("attachments", after=False)
        found = [
            file if file.size <= max_bytes else replace(file, content=b"")
            for file in self.files.get(message.mailbox_id, [])
        ]
        self.faults.check("attachments", after=True)
        return found


class FakeFollowUps:
    """What the follow-up timer keeps, in memory: effect keys and cursors are what the inbound
    use case reads; the rest keeps the port's shape."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.effects: dict[str, dict[str, Any]] = {}
        self.cursors: dict[str, str] = {}
        self.marks: dict[int, datetime] = {}
        self.items: dict[int, TrackedItem] = {}
        self.mark: datetime | None = None
        self.lock = threading.Lock()

    def claim_effect(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        self.faults.check("claim_effect", after=False)
        with self.lock:
            stored = self.effects.setdefault(key, value)
        self.faults.check("claim_effect", after=True)
        return stored

    def cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    def set_cursor(self, name: str, value: str) -> None:
        self.faults.check("set_cursor", after=False)
        self.cursors[name] = value
        self.faults.check("set_cursor", after=True)

    def mark_changed(self, work_item_id: int, at: datetime) -> None:
        self.marks[work_item_id] = at

    def changed(self) -> dict[int, datetime]:
        return dict(self.marks)

    def forget_changed(self, marks: dict[int, datetime]) -> None:
        for work_item_id, at in marks.items():
            if self.marks.get(work_item_id) == at:
                del self.marks[work_item_id]

    def watermark(self) -> datetime | None:
        return self.mark

    def set_watermark(self, at: datetime) -> None:
        self.mark = at

    def item(self, work_item_id: int) -> TrackedItem | None:
        return self.items.get(work_item_id)

    def save_item(self, item: TrackedItem) -> None:
        self.items[item.work_item_id] = item

    def due(self, now: datetime, *, limit: int = 500) -> list[TrackedItem]:
        return []

    def running(self) -> list[TrackedItem]:
        return []


def inbound_services(world: FakeWorld) -> tuple[Services, FakeMailbox, FakeFollowUps]:
    """The world's services with an Inbox and a follow-ups store."""
    mailbox, follow_ups = FakeMailbox(world.faults), FakeFollowUps(world.faults)
    return replace(world.services, mailbox=mailbox, follow_ups=follow_ups), mailbox, follow_ups
