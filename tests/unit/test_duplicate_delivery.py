"""The same queue message delivered twice at once (Functions may do that): one run does the
work, the other does nothing. Against the real local store (SQLite), not a fake."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from intake import bootstrap, workflow
from intake.adapters.local_board import SqliteBoard
from intake.adapters.sqlite_db import Database
from intake.bootstrap import local_identities
from intake.errors import RequestBusy
from intake.models import Step
from tests.conftest import SAMPLE


class GatedBoard:
    """The SQLite board, except that ``create`` waits at a gate: one run is then certainly
    inside its steps, holding the lease, while the other delivery arrives."""

    def __init__(self, board: SqliteBoard) -> None:
        self.board = board
        self.inside = threading.Event()
        self.gate = threading.Event()
        self.creates = 0
        self.identity_lookups = 0

    def find_identity(self, email: str) -> Any:
        self.identity_lookups += 1
        return self.board.find_identity(email)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.board, name)

    def create(self, draft: Any, *, key: str) -> Any:
        self.creates += 1
        self.inside.set()
        assert self.gate.wait(10), "the gate was never opened"
        return self.board.create(draft, key=key)


def local_services(settings, **ports):
    return bootstrap.build(settings, **ports)


def test_two_deliveries_at_once_run_the_steps_once(settings):
    db = Database(settings.database_path)
    board = GatedBoard(
        SqliteBoard(db, base_url=settings.base_url, people=local_identities(settings))
    )
    services = local_services(settings, work_items=board)
    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    first_result: list[Any] = []
    first = threading.Thread(
        target=lambda: first_result.append(workflow.run_steps(receipt.request_id, services))
    )
    first.start()
    assert board.inside.wait(10)

    with pytest.raises(RequestBusy):  # the duplicate delivery: the queue delivers it later
        workflow.run_steps(receipt.request_id, services)
    second = services.store.get_request(receipt.request_id)

    # It did nothing and raised at once (the gate is closed): at most the first run's
    # identity lookup, which runs beside the gated create, is recorded.
    assert set(second.steps) <= {Step.FIND_CLIENT_IDENTITY.value}
    board.gate.set()
    first.join(10)
    assert first_result[0].status.value == "done"
    assert board.creates == 1
    assert board.identity_lookups == 1
    assert len(board.board.all_ids()) == 1
    assert len(services.mailer.messages()) == 2
    assert len(services.channel.threads()) == 1


def test_many_deliveries_at_once_still_make_one_of_everything(settings):
    services = local_services(settings)
    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    barrier = threading.Barrier(6)

    def deliver() -> None:
        barrier.wait()
        try:
            workflow.run_steps(receipt.request_id, services)
        except RequestBusy:
            pass  # the queue delivers it again later, and it finds nothing left to do

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    record = services.store.get_request(receipt.request_id)
    assert record.status.value == "done"
    assert set(record.steps) == {step.value for step in Step}
    assert len(services.work_items.all_ids()) == 1
    assert len(services.mailer.messages()) == 2
    assert len(services.channel.threads()) == 1


def test_the_lease_of_a_dead_worker_is_taken_over_once_it_expired(settings):
    services = local_services(settings)
    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    store = services.store
    assert store.acquire_lease(receipt.request_id, "dead-worker", -1.0)  # already expired
    assert workflow.run_steps(receipt.request_id, services).status.value == "done"

    assert store.acquire_lease(receipt.request_id, "slow-worker", 300.0)
    assert not store.acquire_lease(receipt.request_id, "another", 300.0)
