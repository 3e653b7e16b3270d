"""The Azure Storage adapters on Azurite: what only they have to prove (the Store contract both
adapters share is in test_store_contract.py). The queue is read back the way the Functions host
reads it (base64, then JSON); failures become our errors, without the connection string."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableClient
from azure.storage.queue import QueueClient
from pydantic import SecretStr

from intake import bootstrap, messages
from intake.adapters import azure_queue, azure_storage, azure_store
from intake.adapters.azure_queue import StorageQueue
from intake.adapters.azure_store import TableStore
from intake.adapters.local_queue import SqliteQueue
from intake.adapters.sqlite_db import Database
from intake.cli import replay
from intake.config import Settings
from intake.doctor import run_checks
from intake.errors import ExternalRejected, ExternalUnavailable
from intake.messages import CopyVote, RunSteps
from tests.contract.azurite import ACCOUNT_KEY, Azurite, free_port
from tests.contract.test_store_contract import new_record

pytestmark = pytest.mark.contract


def azure_settings(connection_string: str, tmp_path: Path) -> Settings:
    suffix = uuid.uuid4().hex[:12]
    return Settings(
        data_dir=tmp_path / "data",
        storage_connection_string=connection_string,
        status_secret="status-key-for-the-azure-storage-tests",
        table_name=f"t{suffix}",
        steps_queue=f"steps-{suffix}",
    )


@pytest.fixture
def settings(azurite: Azurite, tmp_path: Path) -> Settings:
    return azure_settings(azurite.connection_string, tmp_path)


def host_reader(settings: Settings, queue: str) -> QueueClient:
    """A client that decodes nothing itself: the test decodes as the Functions host does."""
    connection = settings.storage_connection_string.get_secret_value()
    return QueueClient.from_connection_string(connection, queue)


def unreachable_settings(tmp_path: Path) -> Settings:
    closed = free_port()  # nothing listens there
    return azure_settings(Azurite(closed, closed).connection_string, tmp_path)


# --- the queue ---------------------------------------------------------------------------


def test_a_sent_message_is_what_the_functions_trigger_decodes(settings):
    queue = StorageQueue(settings)  # its queue does not exist yet: the first send creates it

    sent = CopyVote("0123456789abcdef", key="intake-vote-1", text="é 😀")
    queue.send(sent)

    received = list(host_reader(settings, settings.steps_queue).receive_messages())
    assert len(received) == 1
    body = base64.b64decode(received[0].content, validate=True)  # messageEncoding: base64
    assert json.loads(body) == {
        "kind": "copy_vote",
        "request_id": "0123456789abcdef",
        "key": "intake-vote-1",
        "text": "é 😀",
    }
    assert messages.decode(body) == sent


@pytest.fixture(params=["sqlite", "azure"])
def any_queue(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        return SqliteQueue(Database(tmp_path / "intake.db"), "intake-steps")
    return StorageQueue(request.getfixturevalue("settings"))


def test_poison_messages_are_peeked_and_requeued_alike_on_both_queues(any_queue):
    queue = any_queue
    for request_id in ("aaaa000000000001", "aaaa000000000002"):
        message = json.dumps({"kind": "run_steps", "request_id": request_id})
        queue.send_text(message, queue=queue.poison_name)

    poisoned = queue.peek(queue.poison_name)
    assert [json.loads(m.body)["request_id"] for m in poisoned] == [
        "aaaa000000000001",
        "aaaa000000000002",
    ]
    assert all(m.queue == queue.poison_name and m.inserted_at for m in poisoned)

    assert queue.requeue_poison(poisoned[0].id)
    assert not queue.requeue_poison(poisoned[0].id)  # it is gone from the poison queue
    assert [json.loads(m.body)["request_id"] for m in queue.peek(queue.poison_name)] == [
        "aaaa000000000002"  # and the other one is visible again at once
    ]
    assert [json.loads(m.body)["request_id"] for m in queue.peek()] == ["aaaa000000000001"]


def test_a_poison_message_written_by_the_host_in_base64_is_read_as_json(settings):
    queue = StorageQueue(settings)
    poison = host_reader(settings, queue.poison_name)
    poison.create_queue()
    body = json.dumps({"kind": "run_steps", "request_id": "bbbb000000000001"})
    poison.send_message(base64.b64encode(body.encode()).decode())
    poison.send_message('{"written": "without encoding"}')

    assert [m.body for m in queue.peek(queue.poison_name)] == [
        body,
        '{"written": "without encoding"}',
    ]


def test_nothing_is_poisoned_before_the_poison_queue_exists(settings):
    queue = StorageQueue(settings)

    assert queue.peek(queue.poison_name) == []
    assert not queue.requeue_poison("no-such-message")


def test_replay_lists_the_requests_of_poisoned_messages_from_azure(settings, capsys):
    services = bootstrap.build(settings)
    record, _ = services.store.add_request(new_record())
    services.store.set_status(record.request.id, "done")
    services.queue.send_text(
        json.dumps({"kind": "run_steps", "request_id": record.request.id}),
        queue=services.queue.poison_name,
    )
    bootstrap.override(services)
    try:
        assert replay.run(argparse.Namespace(request_id=None, all=False)) == 0
    finally:
        bootstrap.override(None)

    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith(record.request.id)]
    assert "poisoned (1)" in line


# --- the table ---------------------------------------------------------------------------


def test_bootstrap_picks_the_azure_adapters_when_storage_is_configured(settings):
    services = bootstrap.build(settings)

    assert isinstance(services.store, TableStore)
    assert isinstance(services.queue, StorageQueue)


def test_in_azure_a_service_hook_marks_its_work_item_in_the_table(settings):
    """With Azure Storage the follow-ups live in the table too: the DevOps hook endpoint
    works there, and the timer's next run sees the mark."""

    from intake.adapters.azure_follow_ups import TableFollowUps
    from intake.devops_hook import receive_hook

    settings = settings.model_copy(update={"devops_hook_secret": SecretStr("hook-secret")})
    services = bootstrap.build(settings)
    assert isinstance(services.follow_ups, TableFollowUps)
    body = json.dumps({"eventType": "workitem.updated", "resource": {"id": 3, "workItemId": 42}})
    auth = "Basic " + base64.b64encode(b"devops:hook-secret").decode()
    assert receive_hook(body.encode(), auth, services).work_item_id == 42
    assert list(bootstrap.build(settings).follow_ups.changed()) == [42]


def test_a_request_whose_first_writer_died_after_the_key_is_recovered(settings):
    # The first writer inserted the idempotency key row, then died before the request row.
    lost = new_record("resp-lost")
    store = TableStore(settings)
    key = hashlib.sha256(lost.request.idempotency_key.encode()).hexdigest()
    store.table().create_entity(
        {"PartitionKey": "key", "RowKey": key, "request_id": lost.request.id}
    )

    retried, created = store.add_request(new_record("resp-lost"))  # the form's flow retries

    assert created  # so the caller queues its steps: nobody else will
    assert retried.request.id == lost.request.id
    assert store.get_request(lost.request.id).request.response_id == "resp-lost"
    assert store.add_request(new_record("resp-lost"))[1] is False


def test_rows_are_laid_out_as_documented(settings):
    store = TableStore(settings)
    record, _ = store.add_request(new_record())
    request_id = record.request.id
    store.record_step(request_id, "create_work_item", {"work_item_id": 7})
    store.claim(request_id, "decision", {"verb": "proceed"})

    table = TableClient.from_connection_string(
        settings.storage_connection_string.get_secret_value(), settings.table_name
    )
    keys = sorted((e["PartitionKey"], e["RowKey"]) for e in table.list_entities())
    assert keys == sorted(
        [
            ("key", hashlib.sha256(record.request.idempotency_key.encode()).hexdigest()),
            (request_id, "request"),
            (request_id, "step:create_work_item"),
            (request_id, "claim:decision"),
        ]
    )


def test_a_request_too_large_for_one_entity_is_refused_permanently(settings):
    store = TableStore(settings)
    huge = new_record(description="漢" * 400_000)  # 1.2 MB of UTF-8

    with pytest.raises(ExternalRejected, match="1 MiB"):
        store.add_request(huge)


# --- failures ----------------------------------------------------------------------------


def test_an_unreachable_account_is_a_transient_error_without_the_secret(tmp_path):
    settings = unreachable_settings(tmp_path)

    with pytest.raises(ExternalUnavailable) as store_error:
        TableStore(settings).get_request("0123456789abcdef")
    with pytest.raises(ExternalUnavailable) as queue_error:
        StorageQueue(settings).send(RunSteps("0123456789abcdef"))

    for error in (store_error.value, queue_error.value):
        assert error.transient
        assert ACCOUNT_KEY not in str(error) and "AccountKey" not in str(error)
        assert error.__cause__ is None and error.__suppress_context__


def test_a_malformed_connection_string_is_a_permanent_error_without_the_string(tmp_path):
    settings = Settings(
        data_dir=tmp_path, storage_connection_string="AccountKey=s3cr3t-value;Nonsense"
    )

    with pytest.raises(ExternalRejected) as error:
        TableStore(settings).get_request("0123456789abcdef")

    assert "s3cr3t" not in str(error.value)


def test_http_answers_become_our_errors():
    from azure.core.exceptions import HttpResponseError, ResourceModifiedError

    def failing(status: int, error: type[HttpResponseError] = HttpResponseError) -> Any:
        exc = error(message=f"status {status}")
        exc.status_code = status
        return exc

    kinds = {}
    for status in (400, 403, 404, 409, 412, 429, 500, 503):
        exc = failing(status, ResourceModifiedError if status == 412 else HttpResponseError)
        with pytest.raises(Exception) as raised, azure_storage.storage_errors("Table Storage"):
            raise exc
        kinds[status] = (type(raised.value).__name__, raised.value.transient)

    assert kinds == {
        400: ("ExternalRejected", False),
        403: ("ExternalRejected", False),
        404: ("ExternalRejected", False),
        409: ("ExternalRejected", False),
        412: ("ExternalUnavailable", True),
        429: ("Throttled", True),
        500: ("ExternalUnavailable", True),
        503: ("ExternalUnavailable", True),
    }


def test_an_error_names_the_storage_error_code_not_its_enum():
    from azure.core.exceptions import ResourceNotFoundError
    from azure.data.tables import TableErrorCode

    missing = ResourceNotFoundError(message="The table specified does not exist.")
    missing.status_code = 404
    missing.error_code = TableErrorCode.TABLE_NOT_FOUND  # type: ignore[attr-defined]

    with pytest.raises(ExternalRejected) as raised, azure_storage.storage_errors("Table Storage"):
        raise missing

    assert str(raised.value) == "Table Storage answered 404: TableNotFound"


# --- intake doctor -----------------------------------------------------------------------


def storage_checks(settings):
    """The storage checks ``bootstrap.doctor_checks`` gathers: the table's, then the queue's."""
    return azure_store.doctor_checks(settings) + azure_queue.doctor_checks(settings)


def test_doctor_says_table_and_queues_are_reachable(settings):
    TableStore(settings).add_request(new_record())
    StorageQueue(settings).send(RunSteps("x"))

    results = run_checks(storage_checks(settings))

    assert [(r.check.name, r.ok) for r in results] == [
        ("table reachable", True),
        ("queue reachable", True),
    ]
    assert results[1].detail == (
        f"{settings.steps_queue}: 1 waiting; {settings.steps_queue}-poison: created on first use"
    )


def test_doctor_tells_a_fresh_account_that_table_and_queue_come_on_first_use(settings):
    results = run_checks(storage_checks(settings))

    assert all(r.ok for r in results)
    assert "created on first use" in results[0].detail


def test_doctor_reports_an_unreachable_account_with_the_fix_and_no_secret(tmp_path):
    results = run_checks(storage_checks(unreachable_settings(tmp_path)))

    assert [r.ok for r in results] == [False, False]
    for result in results:
        line = result.line()
        assert "unreachable" in line and "fix:" in line
        assert ACCOUNT_KEY not in line


def test_intake_doctor_checks_storage_when_it_is_configured(azurite, monkeypatch, capsys):
    from intake.cli import doctor

    monkeypatch.setenv("INTAKE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("INTAKE_TABLE_NAME", f"t{uuid.uuid4().hex[:12]}")

    assert doctor.run(argparse.Namespace()) == 0
    output = capsys.readouterr().out
    assert "✓ Table Storage: table reachable" in output
    assert "✓ Queue Storage: queue reachable" in output
    assert ACCOUNT_KEY not in output
