"""The fault matrix of replies by email: every fault at every remote call of the inbound use
case (the Inbox read, the attachment reads and writes, the comment, the thread note, the
store's records, the coordinator's forward, the effect keys, the watermark), then the timer
runs again until it reads cleanly: 0 lost replies, 0 duplicates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from intake import inbound, workflow
from intake.config import Settings
from intake.inbound_mail import InboundAttachment, InboundMessage
from intake.models import Step
from tests.conftest import SAMPLE
from tests.fakes import FakeChannel, FakeWorld
from tests.faults.matrix import FAULT_KINDS, WorkerCrash
from tests.inbound_fakes import inbound_services

CLIENT = "jordan.rivera@fabrikam.example"
OPERATIONS = [
    "read_new",
    "claim_effect",
    "get",
    "claim",
    "attachments",
    "add_attachment",
    "add_comment",
    "reply",
    "record_step",
    "send",
    "set_cursor",
]
KINDS = ["5xx", "429", "timeout", "rejected", "crash-before", "crash-after"]
# The fake store's reads and claims fail before they act only (a crash after a read is a
# crash before the next call).
BEFORE_ONLY = {"get", "claim"}
MAX_RUNS = 6


@pytest.fixture(autouse=True)
def _no_retry_sleeps():
    from intake.adapters import retry

    retry.set_testing(True)
    yield
    retry.set_testing(False)


@dataclass
class Outcome:
    comments: int
    attachments: int
    notes: int
    forwards: int
    replies_on_page: int
    runs: int
    injected: int


def run_scenario(settings: Settings, operation: str, kind: str, *, keyed: bool = True) -> Outcome:
    world = FakeWorld(settings)
    world.channel = FakeChannel(world.faults, keyed=keyed)
    receipt = workflow.submit_request(
        json.dumps(SAMPLE).encode(), "application/json", world.services
    )
    workflow.run_steps(receipt.request_id, world.services)
    record = world.store.get_request(receipt.request_id)
    confirmation = record.result(Step.EMAIL_CLIENT)["message_id"]
    services, mailbox, follow_ups = inbound_services(world)
    mailbox.arrive(
        InboundMessage(
            internet_message_id="<reply-1@fabrikam.example>",
            sender=CLIENT,
            subject="RE: We received your request [#1]",
            text="It still fails.",
            in_reply_to=confirmation,
        ),
        (InboundAttachment("log.txt", "text/plain", 3, b"abc"),),
    )
    mailbox.arrive(
        InboundMessage(
            internet_message_id="<stranger-1@else.example>",
            sender="someone@else.example",
            subject="RE: We received your request [#1]",
            text="Who are you?",
        )
    )
    mailbox.arrive(
        InboundMessage(
            internet_message_id="<oof-1@fabrikam.example>",
            sender=CLIENT,
            subject="Automatic reply: We received your request [#1]",
            text="Away",
            in_reply_to=confirmation,
            headers=(("auto-submitted", "auto-replied"),),
        )
    )
    make, after = FAULT_KINDS[kind]
    world.faults.add(operation, make(operation), after=after)
    runs = 0
    while runs < MAX_RUNS:
        runs += 1
        try:
            run = inbound.read_replies(services)
        except WorkerCrash:
            continue  # the worker died; the timer's next run starts afresh
        if not run.error and follow_ups.cursors.get("inbox") == "3":
            break
    steps = world.store.get_request(record.request.id).steps
    return Outcome(
        comments=len(
            [c for c in world.work_items.comments.get(1, []) if c.key.startswith("reply:")]
        ),
        attachments=len(world.work_items.attachments.get(1, {})),
        notes=len([p for p in world.channel.posts if p["key"].endswith(":note")]),
        forwards=len([e for e in world.mailer.sent if e.key.endswith("-forward")]),
        replies_on_page=len([name for name in steps if name.startswith("reply:")]),
        runs=runs,
        injected=world.faults.injected,
    )


EXACTLY_ONCE = {"comments": 1, "attachments": 1, "notes": 1, "forwards": 1, "replies_on_page": 2}


def counts(outcome: Outcome) -> dict[str, int]:
    return {name: getattr(outcome, name) for name in EXACTLY_ONCE}


def test_every_fault_at_every_call_ends_with_each_reply_handled_exactly_once(settings):
    failures: dict[str, Any] = {}
    injected = 0
    scenarios = [
        (operation, kind)
        for operation in OPERATIONS
        for kind in KINDS
        if not (kind == "crash-after" and operation in BEFORE_ONLY)
    ]
    for operation, kind in scenarios:
        outcome = run_scenario(settings, operation, kind)
        injected += outcome.injected
        if counts(outcome) != EXACTLY_ONCE or outcome.runs >= MAX_RUNS:
            failures[f"{operation}/{kind}"] = (counts(outcome), outcome.runs)
    assert failures == {}
    # Every scenario met its fault (a matrix that injects nothing proves nothing).
    assert injected == len(scenarios) == 64


def test_without_faults_one_run_does_it_all(settings):
    outcome = run_scenario(settings, "nothing", "5xx")
    assert counts(outcome) == EXACTLY_ONCE
    assert (outcome.runs, outcome.injected) == (1, 0)


def test_a_crash_after_the_teams_note_is_the_window_left_and_costs_one_extra_note(settings):
    # The Bot Connector has no idempotency key (FakeChannel(keyed=False)): the recorded attempt
    # tells the next run an earlier one may have posted, and it posts again, saying so.
    outcome = run_scenario(settings, "reply", "crash-after", keyed=False)
    assert outcome.notes == 2
    assert {k: v for k, v in counts(outcome).items() if k != "notes"} == {
        k: v for k, v in EXACTLY_ONCE.items() if k != "notes"
    }
