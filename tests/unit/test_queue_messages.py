"""Queue messages: one typed value per kind, one encoder/decoder, and the old dict shapes that
may still sit in a queue (or its poison queue) decode."""

from __future__ import annotations

import json

import pytest

from intake import messages
from intake.messages import AskClient, CopyVote, Kind, PublishCard, RunDecision, RunSteps


@pytest.mark.parametrize(
    "message",
    [
        RunSteps("r1"),
        RunDecision("r1"),
        PublishCard("r1"),
        AskClient("r1"),
        CopyVote("r1", key="intake-r1-vote-abc-2026", text="Alex voted <Proceed> é 😀"),
    ],
)
def test_every_message_decodes_to_what_was_encoded(message):
    assert messages.decode(messages.encode(message)) == message
    assert messages.decode(messages.encode(message).encode()) == message


@pytest.mark.parametrize(
    ("old", "expected"),
    [
        ({"kind": "run_steps", "request_id": "r1"}, RunSteps("r1")),
        ({"request_id": "r1"}, RunSteps("r1")),  # the first messages had no kind
        ({"kind": "run_decision", "request_id": "r1"}, RunDecision("r1")),
        ({"kind": "publish_card", "request_id": "r1"}, PublishCard("r1")),
        (
            {"kind": "copy_vote", "request_id": "r1", "key": "k", "text": "Alex: Proceed"},
            CopyVote("r1", "k", "Alex: Proceed"),
        ),
        ({"kind": "run_steps", "request_id": "r1", "note": "ignored"}, RunSteps("r1")),
    ],
)
def test_the_dict_shapes_already_in_a_queue_still_decode(old, expected):
    assert messages.decode(json.dumps(old)) == expected


def test_the_wire_shape_is_the_old_dict_shape():
    assert messages.to_json(CopyVote("r1", "k", "t")) == {
        "kind": "copy_vote",
        "request_id": "r1",
        "key": "k",
        "text": "t",
    }
    assert messages.to_json(RunSteps("r1")) == {"kind": "run_steps", "request_id": "r1"}


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        json.dumps({"kind": "run_steps"}),
        json.dumps({"kind": "copy_vote", "request_id": "r1", "key": "k"}),
        json.dumps({"kind": "launch_rockets", "request_id": "r1"}),
        json.dumps({"kind": "run_steps", "request_id": {"nested": 1}}),
    ],
)
def test_an_unreadable_message_is_a_value_error(text):
    with pytest.raises(ValueError):
        messages.decode(text)


def test_the_queue_trigger_has_one_handler_per_kind_and_no_other():
    from functions.steps import handlers

    assert set(handlers()) == set(Kind)
    assert set(messages.BY_KIND) == {kind.value for kind in Kind}
