"""What an open form may make the company mailbox send (issue 11, item 9): a signed-in form's
responder is the client and is emailed; a typed address is emailed for a bounded number of
requests per hour, per address and per form. Over the limit the request is still recorded,
created in DevOps and triaged; only the client is not emailed, and the coordinator is told."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from intake import workflow
from intake.config import Settings
from intake.models import Step
from tests.conftest import SAMPLE, sample_submission
from tests.fakes import FakeWorld

TYPED = "victim@elsewhere.example"
RESPONDER = SAMPLE["response"]["responder"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def world_with(tmp_path: Path, **limits: Any) -> tuple[FakeWorld, Clock]:
    clock = Clock()
    world = FakeWorld(Settings(data_dir=tmp_path / "data", **limits), clock=clock)
    return world, clock


def submit(world: FakeWorld, number: int, **answers: Any) -> Any:
    body = sample_submission(responseId=f"resp-{number}", **answers)
    receipt = workflow.submit_request(json.dumps(body).encode(), "application/json", world.services)
    return workflow.run_steps(receipt.request_id, world.services)


def emails_to(world: FakeWorld, address: str) -> list[Any]:
    return [e for e in world.mailer.sent if address in e.to]


def test_a_typed_address_is_emailed_for_a_bounded_number_of_requests_per_hour(tmp_path) -> None:
    world, _ = world_with(tmp_path, confirmations_per_address_per_hour=2)

    records = [submit(world, n, client_email=TYPED) for n in range(3)]

    assert [r.status.value for r in records] == ["done"] * 3  # recorded, created, triaged
    assert len(world.work_items.items) == 3 and len(world.channel.threads) == 3
    # Two requests' emails (confirmation + planning each), none for the third.
    assert len(emails_to(world, TYPED)) == 4
    over = records[2]
    assert over.result(Step.EMAIL_CLIENT)["skipped"] is True
    assert "this address" in over.result(Step.EMAIL_CLIENT)["reason"]
    assert over.result(Step.TELL_CLIENT_PLANNING)["skipped"] is True
    # The coordinator hears of every request, and of the client who was not emailed.
    told = [e for e in world.mailer.sent if e.to == ("casey@contoso.example",)]
    assert len(told) == 3
    assert "not emailed" not in told[0].text
    assert "The client was not emailed" in told[2].text and "this address" in told[2].html


def test_a_replay_of_a_request_over_the_limit_still_sends_nothing(tmp_path) -> None:
    world, _ = world_with(tmp_path, confirmations_per_address_per_hour=1)
    submit(world, 1, client_email=TYPED)
    over = submit(world, 2, client_email=TYPED)
    sent = len(world.mailer.sent)

    workflow.run_steps(over.request.id, world.services)

    assert len(world.mailer.sent) == sent


def test_a_signed_in_responder_is_the_client_and_has_no_limit(tmp_path) -> None:
    world, _ = world_with(tmp_path, confirmations_per_address_per_hour=1)
    for n in range(3):
        # The typed email is ignored: Forms signed the responder in.
        body = json.loads(json.dumps(SAMPLE))
        body["responseId"] = f"signed-{n}"
        receipt = workflow.submit_request(
            json.dumps(body).encode(), "application/json", world.services
        )
        record = workflow.run_steps(receipt.request_id, world.services)
        assert record.request.client_email == RESPONDER
        assert "skipped" not in record.result(Step.EMAIL_CLIENT)
    assert len([e for e in emails_to(world, RESPONDER) if "received" in e.subject.lower()]) == 3


def test_one_open_form_has_a_limit_of_its_own_across_addresses(tmp_path) -> None:
    world, _ = world_with(tmp_path, confirmations_per_form_per_hour=2)

    records = [submit(world, n, client_email=f"client{n}@elsewhere.example") for n in range(3)]

    assert [bool(r.result(Step.EMAIL_CLIENT).get("skipped")) for r in records] == [
        False,
        False,
        True,
    ]
    assert "this form" in records[2].result(Step.EMAIL_CLIENT)["reason"]
    assert emails_to(world, "client2@elsewhere.example") == []


def test_the_limit_is_per_hour_of_the_one_clock(tmp_path) -> None:
    world, clock = world_with(tmp_path, confirmations_per_address_per_hour=1)
    submit(world, 1, client_email=TYPED)
    assert submit(world, 2, client_email=TYPED).result(Step.EMAIL_CLIENT)["skipped"]

    clock.now += timedelta(hours=1)

    assert "skipped" not in submit(world, 3, client_email=TYPED).result(Step.EMAIL_CLIENT)


def test_the_counters_name_no_address(tmp_path) -> None:
    world, _ = world_with(tmp_path)
    submit(world, 1, client_email=TYPED)
    counters = " ".join(counter for counter, _ in world.store.email_allowances)
    assert "victim" not in counters and "elsewhere" not in counters
