"""The triggers are thin: parse, call the workflow, map errors (called as the host calls them)."""

from __future__ import annotations

import json

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage

from intake import bootstrap
from intake.errors import ExternalUnavailable
from tests.conftest import SAMPLE
from tests.problem_shape import assert_problem_response as assert_problem


class Answer:
    """An HttpResponse seen like a requests.Response, for the shared problem check."""

    def __init__(self, response: func.HttpResponse) -> None:
        self.status_code = response.status_code
        self.headers = {"Content-Type": response.mimetype}
        self.text = response.get_body().decode()

    def json(self):
        return json.loads(self.text)


@pytest.fixture
def functions(world):
    from function_app import app

    bootstrap.override(world.services)
    yield {f.get_function_name(): f.get_user_function() for f in _functions(app)}
    bootstrap.override(None)


def _functions(app):
    from intake.dev.host import _functions_of

    return _functions_of(app)


def post(body: bytes, content_type="application/json") -> func.HttpRequest:
    return func.HttpRequest(
        "POST", "http://localhost/api/intake", body=body, headers={"Content-Type": content_type}
    )


def test_intake_answers_202_with_the_status_url(functions, world):
    response = functions["intake"](post(json.dumps(SAMPLE).encode()))
    assert response.status_code == 202
    body = json.loads(response.get_body())
    assert response.headers["Location"] == body["statusUrl"]
    assert body["requestId"] in world.store.records


def test_intake_maps_bad_input_to_a_problem(functions):
    assert_problem(Answer(functions["intake"](post(b"{", "application/json"))), 400)


def test_an_unexpected_error_is_a_500_problem_without_details(functions, world):
    world.faults.add("add_request", RuntimeError("disk on fire at /secret/path"))
    answer = Answer(functions["intake"](post(json.dumps(SAMPLE).encode())))
    body = assert_problem(answer, 500)
    assert "secret" not in answer.text and "disk" not in body["detail"]


def test_the_queue_trigger_runs_the_steps_and_lets_transient_errors_reach_the_host(
    functions, world
):
    receipt = json.loads(functions["intake"](post(json.dumps(SAMPLE).encode())).get_body())
    message = QueueMessage(body=json.dumps(world.queue.messages[0]).encode(), dequeue_count=1)
    world.faults.add("create", ExternalUnavailable("DevOps is down"))
    with pytest.raises(ExternalUnavailable):
        functions["run_steps"](message)
    functions["run_steps"](message)
    assert world.store.get_request(receipt["requestId"]).status == "done"


def test_an_unreadable_queue_message_fails_so_it_ends_in_the_poison_queue(functions, world):
    with pytest.raises(ValueError):
        functions["run_steps"](QueueMessage(body=b"not json", dequeue_count=1))
    assert world.work_items.items == {}


def test_after_its_first_run_the_queue_trigger_freezes_the_start_up_heap(
    functions, world, monkeypatch
):
    """A full collection then skips what start-up made (intake/heap.py): frozen once."""
    import gc

    from intake import heap

    monkeypatch.setattr(heap, "_frozen", False)
    gc.unfreeze()
    try:
        functions["intake"](post(json.dumps(SAMPLE).encode()))
        message = QueueMessage(body=json.dumps(world.queue.messages[0]).encode(), dequeue_count=1)
        assert gc.get_freeze_count() == 0
        functions["run_steps"](message)
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert heap.freeze_once() is False  # once only
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_an_idle_queue_is_polled_every_few_seconds_not_every_minute():
    """The host backs off polling an empty queue up to ``maxPollingInterval`` (1 minute unless
    set). A vote's update for everyone is queued, and so is every new request's run: without
    the setting either could wait a minute on a quiet app."""
    from datetime import timedelta
    from pathlib import Path

    queues = json.loads((Path(__file__).parents[2] / "host.json").read_text())["extensions"][
        "queues"
    ]
    hours, minutes, seconds = (float(part) for part in queues["maxPollingInterval"].split(":"))
    interval = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    assert timedelta(milliseconds=100) <= interval <= timedelta(seconds=5)
