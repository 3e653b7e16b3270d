"""The messages of the steps queue: one typed value per kind of queued work, one encoder, one
decoder. The kinds are named here and nowhere else; ``functions/steps.py`` maps each kind to
the use case that runs it.

On the wire a message is a JSON object: ``kind``, ``request_id`` and what that kind needs,
exactly the shape the messages had when they were built as dicts, so a message already waiting
in a queue (or its poison queue) decodes, and one without ``kind`` (the first messages had
none) runs the request's steps. Values only, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar


class Kind(StrEnum):
    """What a queue message asks for."""

    RUN_STEPS = "run_steps"  # the request's steps (workflow.run_steps)
    RUN_DECISION = "run_decision"  # the steps of its triage decision (triage.run_decision)
    COPY_VOTE = "copy_vote"  # one vote copied to the work item's discussion
    PUBLISH_CARD = "publish_card"  # the triage card updated for everyone
    ASK_CLIENT = "ask_client"  # the question to the client sent (ask_client.run_asks)


@dataclass(frozen=True)
class RunSteps:
    request_id: str
    kind: ClassVar[Kind] = Kind.RUN_STEPS


@dataclass(frozen=True)
class RunDecision:
    request_id: str
    kind: ClassVar[Kind] = Kind.RUN_DECISION


@dataclass(frozen=True)
class CopyVote:
    request_id: str
    key: str  # the comment's effect key: the copy is made once
    text: str  # the comment, as people read it (escaped when it is written)
    kind: ClassVar[Kind] = Kind.COPY_VOTE


@dataclass(frozen=True)
class PublishCard:
    request_id: str
    kind: ClassVar[Kind] = Kind.PUBLISH_CARD


@dataclass(frozen=True)
class AskClient:
    request_id: str
    kind: ClassVar[Kind] = Kind.ASK_CLIENT


QueueMessage = RunSteps | RunDecision | CopyVote | PublishCard | AskClient

BY_KIND: dict[str, type[QueueMessage]] = {
    cls.kind.value: cls for cls in (RunSteps, RunDecision, CopyVote, PublishCard, AskClient)
}


def to_json(message: QueueMessage) -> dict[str, Any]:
    """The message as the JSON object that goes on the queue."""
    return {"kind": message.kind.value, **asdict(message)}


def encode(message: QueueMessage) -> str:
    """The text of the message on the queue."""
    return json.dumps(to_json(message))


def from_json(body: Any) -> QueueMessage:
    """The message a JSON object holds; raises ``ValueError`` when it holds none (the queue
    trigger lets it fail, so it ends in the poison queue, not in silence)."""
    if not isinstance(body, dict):
        raise ValueError("a queue message is a JSON object")
    kind = body.get("kind", Kind.RUN_STEPS.value)
    if kind not in BY_KIND:
        raise ValueError(f"unknown queue message kind {kind!r}")
    cls = BY_KIND[kind]
    values: dict[str, str] = {}
    for field in fields(cls):
        value = body.get(field.name)
        if value is None or isinstance(value, dict | list):
            raise ValueError(f"a {kind} message needs {field.name!r}")
        values[field.name] = str(value)
    return cls(**values)


def decode(text: str | bytes) -> QueueMessage:
    """The message of a queue message's text; raises ``ValueError`` when it is unreadable."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return from_json(json.loads(text))
