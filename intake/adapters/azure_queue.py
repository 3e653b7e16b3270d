"""Queue on Azure Storage Queues, encoded the way the Functions queue trigger reads it.

host.json sets ``messageEncoding: base64``, so the trigger base64-decodes every message: we send
JSON text base64-encoded (``TextBase64EncodePolicy``). After 5 failed deliveries the host moves
a message to ``<queue>-poison``; ``peek`` and ``requeue_poison`` read and replay those (the
``PoisonQueue`` port, as the local ``SqliteQueue``), so ``python -m intake replay`` works on both.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import partial
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from intake import messages
from intake.adapters import azure_storage
from intake.config import Settings
from intake.doctor import Check
from intake.errors import ExternalRejected
from intake.messages import QueueMessage

SYSTEM = "Queue Storage"
PEEK_LIMIT = 32  # the most messages Queue Storage lets anyone peek at
VISIBILITY_SECONDS = 30  # how long requeue_poison hides the poison messages it looks through


@dataclass(frozen=True)
class PeekedMessage:
    """A message as ``peek`` shows it (the fields of the local ``QueuedMessage``)."""

    id: str
    queue: str
    body: str
    dequeue_count: int
    inserted_at: str
    last_error: str = ""


def decode(content: str) -> str:
    """A message's text: base64 as the host writes it; anything else as it is."""
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return content


class StorageQueue:
    """The ``Queue`` and ``PoisonQueue`` ports on one storage queue (``settings.steps_queue``)."""

    def __init__(self, settings: Settings, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or settings.steps_queue
        self._clients: dict[tuple[str, bool], QueueClient] = {}
        self._created: set[str] = set()

    @property
    def poison_name(self) -> str:
        return f"{self.name}-poison"

    def send(self, message: QueueMessage) -> None:
        self.send_text(messages.encode(message))

    def send_text(self, body: str, *, queue: str | None = None) -> None:
        client = self._existing(queue or self.name)
        azure_storage.call(SYSTEM, lambda: client.send_message(body))

    def peek(self, queue: str | None = None) -> list[PeekedMessage]:
        """Up to 32 messages at the front of ``queue`` (default: this one), left in place."""
        name = queue or self.name
        client = self.client(name)

        def peek() -> list[Any]:
            try:
                return list(client.peek_messages(max_messages=PEEK_LIMIT))
            except ResourceNotFoundError:  # nothing was ever poisoned
                return []

        return [
            PeekedMessage(
                id=str(m.id),
                queue=name,
                body=decode(m.content),
                dequeue_count=int(m.dequeue_count or 0),
                inserted_at=m.inserted_on.isoformat() if m.inserted_on else "",
            )
            for m in azure_storage.call(SYSTEM, peek)
        ]

    def requeue_poison(self, message_id: int | str) -> bool:
        """Move one poison message back onto the queue (a fresh dequeue count); False if gone.

        Queue Storage deletes only a received message, so this receives the poison messages,
        sends the one with ``message_id`` back to the queue and shows the others again at once.
        """
        poison = self.client(self.poison_name, encoded=False)  # leaves contents as they are

        def receive() -> list[Any]:
            try:
                return list(
                    poison.receive_messages(
                        messages_per_page=PEEK_LIMIT, visibility_timeout=VISIBILITY_SECONDS
                    )
                )
            except ResourceNotFoundError:
                return []

        found = False
        for message in azure_storage.call(SYSTEM, receive):
            if str(message.id) == str(message_id) and not found:
                self.send_text(decode(message.content))
                azure_storage.call(SYSTEM, partial(poison.delete_message, message))
                found = True
            else:  # not this one: visible again now, not in 30 s
                azure_storage.call(
                    SYSTEM, partial(poison.update_message, message, visibility_timeout=0)
                )
        return found

    def client(self, name: str, *, encoded: bool = True) -> QueueClient:
        """A client of queue ``name``; ``encoded`` ones base64-encode what they send."""
        if (name, encoded) not in self._clients:
            self._clients[name, encoded] = _queue_client(self.settings, name, encoded=encoded)
        return self._clients[name, encoded]

    def _existing(self, name: str) -> QueueClient:
        """The client of ``name``, creating the queue on this process's first send to it."""
        client = self.client(name)
        if name not in self._created:
            azure_storage.create_if_missing(SYSTEM, client.create_queue)
            self._created.add(name)
        return client


def _queue_client(settings: Settings, name: str, *, encoded: bool) -> QueueClient:
    options: dict[str, Any] = dict(azure_storage.CLIENT_OPTIONS)
    if encoded:
        options["message_encode_policy"] = TextBase64EncodePolicy()
    with azure_storage.storage_errors(SYSTEM):
        if settings.storage_connection_string.get_secret_value():
            return QueueClient.from_connection_string(
                azure_storage.connection_string(settings), name, **options
            )
        return QueueClient(
            azure_storage.account_url(settings, "queue"),
            name,
            credential=azure_storage.credential(),
            **options,
        )


def doctor_checks(settings: Settings) -> list[Check]:
    """Queue reachable: read the properties of the steps queue and its poison queue."""
    queue = StorageQueue(settings)

    def waiting(name: str) -> str:
        client = queue.client(name)
        try:
            properties = azure_storage.call(SYSTEM, client.get_queue_properties)
        except ExternalRejected as exc:
            if exc.remote_status != 404:
                raise
            return f"{name}: created on first use"
        return f"{name}: {properties.approximate_message_count} waiting"

    def probe() -> str:
        return "; ".join(waiting(name) for name in (queue.name, queue.poison_name))

    return [
        Check(
            SYSTEM,
            "queue reachable",
            probe,
            "check INTAKE_STORAGE_CONNECTION_STRING, or INTAKE_STORAGE_ACCOUNT_NAME and the "
            "app's 'Storage Queue Data Contributor' role on the account (docs/connect-storage.md)",
        )
    ]
