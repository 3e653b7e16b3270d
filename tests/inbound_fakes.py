"""A fake of the Mailbox port for the inbound use case's unit and fault tests; it and the
follow-ups fake (``tests.fake_follow_ups``) share ``tests.fakes.Faults``
(``faults.add("read_new", ...)`` and so on)."""

from __future__ import annotations

from dataclasses import replace

from intake.inbound_mail import InboundAttachment, InboundMessage
from intake.ports import Services
from tests.fake_follow_ups import FakeFollowUps
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


def inbound_services(world: FakeWorld) -> tuple[Services, FakeMailbox, FakeFollowUps]:
    """The world's services with an Inbox and a follow-ups store."""
    mailbox, follow_ups = FakeMailbox(world.faults), FakeFollowUps(world.faults)
    return replace(world.services, mailbox=mailbox, follow_ups=follow_ups), mailbox, follow_ups
