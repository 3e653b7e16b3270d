"""The Store contract, written once and proved by both adapters: local SQLite and Azure Table
Storage (on Azurite, started by the tests). Whatever the workflow relies on is asserted here."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from intake.adapters.local_store import SqliteStore
from intake.adapters.sqlite_db import Database
from intake.config import Settings
from intake.errors import RequestNotFound
from intake.models import Request, RequestRecord, RequestStatus, Vote, VoteChoice

pytestmark = pytest.mark.contract


def table_settings(connection_string: str, tmp_path: Path) -> Settings:
    """A fresh table per test: no test sees another's rows."""
    return Settings(
        data_dir=tmp_path / "data",
        storage_connection_string=connection_string,
        table_name=f"t{uuid.uuid4().hex[:24]}",
    )


@pytest.fixture(params=["sqlite", "table"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        return SqliteStore(Database(tmp_path / "intake.db"))
    from intake.adapters.azure_store import TableStore

    azurite = request.getfixturevalue("azurite")
    return TableStore(table_settings(azurite.connection_string, tmp_path))


def new_record(response_id: str = "", **fields: Any) -> RequestRecord:
    values: dict[str, Any] = {
        "id": uuid.uuid4().hex[:16],
        "form_id": "form-1",
        "response_id": response_id or uuid.uuid4().hex[:8],
        "title": "Reports page is blank",
        "client_name": "Jordan Rivera",
        "client_email": "jordan.rivera@fabrikam.example",
        **fields,
    }
    return RequestRecord(request=Request(**values))


def vote(voter: str, choice: VoteChoice) -> Vote:
    return Vote(voter_id=voter, voter_name=voter.upper(), choice=choice)


def all_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` on ``count`` threads released together; their results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_a_recorded_request_reads_back_whole(store):
    record = new_record(description="Since Monday.\nÉtienne says 漢字 😀", severity="High")
    stored, created = store.add_request(record)

    assert created and stored.request == record.request
    again = store.get_request(record.request.id)
    assert again.request == record.request
    assert again.status == RequestStatus.RECEIVED
    assert again.steps == {} and again.last_error == ""
    assert again.updated_at is not None


def test_the_same_submission_twice_is_one_request(store):
    first, created_first = store.add_request(new_record("resp-7"))
    second, created_second = store.add_request(new_record("resp-7"))

    assert created_first and not created_second
    assert second.request.id == first.request.id
    assert [r.request.id for r in store.list_requests()] == [first.request.id]


def test_the_same_submission_at_once_is_still_one_request(store):
    results = all_at_once(6, lambda i: store.add_request(new_record("resp-race")))

    assert sum(created for _, created in results) == 1
    assert len({record.request.id for record, _ in results}) == 1
    assert len(store.list_requests()) == 1


def test_an_unknown_request_is_not_found(store):
    for request_id in ("0123456789abcdef", "a/b", "x#y?z", "it's", ""):
        with pytest.raises(RequestNotFound):
            store.get_request(request_id)


def test_a_requests_status_nonce_is_empty_until_replaced_and_reads_back_with_it(store):
    record, _ = store.add_request(new_record())
    other, _ = store.add_request(new_record())
    request_id = record.request.id
    assert store.get_request(request_id).status_nonce == ""

    store.set_status_nonce(request_id, "Nonce-1_a")
    store.record_step(request_id, "create_work_item", {"work_item_id": 7})
    assert store.get_request(request_id).status_nonce == "Nonce-1_a"
    store.set_status_nonce(request_id, "nonce-2")

    again = store.get_request(request_id)
    assert again.status_nonce == "nonce-2"
    assert again.steps == {"create_work_item": {"work_item_id": 7}}  # not a step
    assert store.get_request(other.request.id).status_nonce == ""
    listed = {r.request.id: r.status_nonce for r in store.list_requests()}
    assert listed == {request_id: "nonce-2", other.request.id: ""}


def test_a_status_nonce_needs_a_recorded_request(store):
    for request_id in ("0123456789abcdef", "a/b"):
        with pytest.raises(RequestNotFound):
            store.set_status_nonce(request_id, "n")


def test_a_done_step_is_never_overwritten(store):
    record, _ = store.add_request(new_record())
    request_id = record.request.id

    store.record_step(request_id, "create_work_item", {"work_item_id": 41})
    store.record_step(request_id, "create_work_item", {"work_item_id": 99})
    store.record_step(request_id, "email_client", {"message_id": "m-1"})

    assert store.get_request(request_id).steps == {
        "create_work_item": {"work_item_id": 41},
        "email_client": {"message_id": "m-1"},
    }


def test_recording_a_step_marks_the_request_as_touched(store):
    record, _ = store.add_request(new_record())
    before = store.get_request(record.request.id).updated_at

    store.record_step(record.request.id, "email_client", {"message_id": "m-1"})

    assert store.get_request(record.request.id).updated_at > before


def test_step_names_and_results_keep_any_character(store):
    record, _ = store.add_request(new_record())
    name = "decision/proceed#1?it's 50% done"
    store.record_step(record.request.id, name, {"note": "a/b\\c#d?e 'quoted' 😀"})

    assert store.get_request(record.request.id).steps == {name: {"note": "a/b\\c#d?e 'quoted' 😀"}}


def test_a_large_request_round_trips(store):
    # ~150 KB of text in three scripts: over the 64 KiB a Table Storage string can hold
    description = ("Étienne 漢字 😀 " * 12_000)[:150_000]
    answers = [
        {"question_id": f"q{i}", "question": f"Q{i}", "text": description[:20_000]}
        for i in range(3)
    ]
    record = new_record(description=description, answers=answers)
    store.add_request(record)

    assert store.get_request(record.request.id).request == record.request


def test_status_and_reason_are_recorded(store):
    record, _ = store.add_request(new_record())
    request_id = record.request.id

    store.set_status(request_id, "failed", last_error="DevOps refused the call: 400")
    failed = store.get_request(request_id)
    store.set_status(request_id, "done")
    done = store.get_request(request_id)

    assert (failed.status, failed.last_error) == (
        RequestStatus.FAILED,
        "DevOps refused the call: 400",
    )
    assert (done.status, done.last_error) == (RequestStatus.DONE, "")


def test_a_lease_is_exclusive_until_its_owner_releases_it(store):
    record, _ = store.add_request(new_record())
    request_id = record.request.id

    assert store.acquire_lease(request_id, "worker-a", 60)
    assert not store.acquire_lease(request_id, "worker-b", 60)
    assert store.acquire_lease(request_id, "worker-a", 60)  # its owner may renew it
    store.release_lease(request_id, "worker-b")  # not the owner: nothing happens
    assert not store.acquire_lease(request_id, "worker-b", 60)
    store.release_lease(request_id, "worker-a")
    assert store.acquire_lease(request_id, "worker-b", 60)


def test_an_expired_lease_can_be_taken_over(store):
    record, _ = store.add_request(new_record())

    assert store.acquire_lease(record.request.id, "worker-a", 0)
    assert store.acquire_lease(record.request.id, "worker-b", 60)
    assert not store.acquire_lease(record.request.id, "worker-a", 60)


def test_of_workers_racing_for_a_lease_exactly_one_wins(store):
    record, _ = store.add_request(new_record())

    won = all_at_once(6, lambda i: store.acquire_lease(record.request.id, f"worker-{i}", 60))

    assert won.count(True) == 1


def test_status_changes_do_not_break_a_held_lease(store):
    record, _ = store.add_request(new_record())
    request_id = record.request.id

    assert store.acquire_lease(request_id, "worker-a", 60)
    store.set_status(request_id, "in_progress")
    store.record_step(request_id, "email_client", {})

    assert not store.acquire_lease(request_id, "worker-b", 60)


def test_a_lease_needs_a_recorded_request(store):
    with pytest.raises(RequestNotFound):
        store.acquire_lease("0123456789abcdef", "worker-a", 60)


def test_of_two_claims_at_once_exactly_one_wins_and_both_see_it(store):
    record, _ = store.add_request(new_record())

    results = all_at_once(
        6, lambda i: store.claim(record.request.id, "decision", {"verb": f"verb-{i}"})
    )

    assert len({r["verb"] for r in results}) == 1
    assert store.claim(record.request.id, "decision", {"verb": "late"}) == results[0]
    assert store.claim(record.request.id, "another", {"verb": "late"}) == {"verb": "late"}


def test_a_second_vote_by_the_same_person_replaces_the_first(store):
    record, _ = store.add_request(new_record())
    request_id = record.request.id

    assert store.set_vote(request_id, vote("29:1-alex", VoteChoice.PROCEED)) is None
    assert store.set_vote(request_id, vote("29:1-sam/x#?", VoteChoice.BUG_OR_FEATURE)) is None
    replaced = store.set_vote(request_id, vote("29:1-alex", VoteChoice.NOT_OUR_PROBLEM))

    assert replaced is not None and replaced.choice == VoteChoice.PROCEED
    assert [(v.voter_id, v.choice) for v in store.votes(request_id)] == [
        ("29:1-alex", VoteChoice.NOT_OUR_PROBLEM),
        ("29:1-sam/x#?", VoteChoice.BUG_OR_FEATURE),
    ]


def test_votes_of_one_request_are_not_another_requests_votes(store):
    one, _ = store.add_request(new_record())
    other, _ = store.add_request(new_record())
    store.set_vote(one.request.id, vote("29:1-alex", VoteChoice.PROCEED))

    assert store.votes(other.request.id) == []


def test_requests_are_listed_newest_first_and_by_status(store):
    ids = [store.add_request(new_record())[0].request.id for _ in range(4)]
    store.set_status(ids[1], "failed", last_error="boom")
    store.set_status(ids[3], "failed", last_error="boom")
    store.record_step(ids[3], "email_client", {"message_id": "m-9"})

    assert [r.request.id for r in store.list_requests()] == ids[::-1]
    assert [r.request.id for r in store.list_requests(limit=2)] == [ids[3], ids[2]]
    failed = store.list_requests(status="failed")
    assert [r.request.id for r in failed] == [ids[3], ids[1]]
    assert failed[0].steps == {"email_client": {"message_id": "m-9"}}
    assert store.list_requests(status="done") == []


def test_scrum_masters_are_remembered_once_in_first_seen_order_and_can_be_forgotten(store):
    store.set_scrum_master("29:1-riley/x#?", "Riley", known=True)
    store.set_scrum_master("29:1-morgan", "Morgan", known=True)
    store.set_scrum_master("29:1-riley/x#?", "Riley Lead", known=True)  # already known
    assert store.scrum_masters() == ["29:1-riley/x#?", "29:1-morgan"]

    store.set_scrum_master("29:1-riley/x#?", "Riley", known=False)
    store.set_scrum_master("29:1-never-seen", "Nobody", known=False)  # nothing to forget

    assert store.scrum_masters() == ["29:1-morgan"]


def test_card_versions_go_up_and_one_publisher_at_a_time_holds_the_turn(store):
    record, _ = store.add_request(new_record())
    request_id = record.request.id

    assert store.begin_card_update(request_id, "click-a", 30) == (1, True)
    assert store.begin_card_update(request_id, "click-b", 30) == (2, False)
    assert store.begin_card_update(request_id, "click-a", 30) == (3, True)  # its own turn
    # A publishes version 3 and sees nothing newer was asked for.
    assert store.end_card_update(request_id, "click-b", None) == 3  # not B's turn: no change
    assert store.begin_card_update(request_id, "click-c", 30) == (4, False)
    assert store.end_card_update(request_id, "click-a", 3) == 4  # C asked meanwhile
    assert store.begin_card_update(request_id, "click-c", 30) == (5, True)  # the turn is free
    assert store.end_card_update(request_id, "click-c", 5) == 5


def test_an_expired_card_turn_can_be_taken_over(store):
    record, _ = store.add_request(new_record())

    assert store.begin_card_update(record.request.id, "dead", 0) == (1, True)
    assert store.begin_card_update(record.request.id, "alive", 30) == (2, True)


def test_of_clicks_asking_for_card_updates_at_once_each_gets_its_own_version_and_one_the_turn(
    store,
):
    record, _ = store.add_request(new_record())

    results = all_at_once(6, lambda i: store.begin_card_update(record.request.id, f"c{i}", 30))

    assert sorted(version for version, _ in results) == [1, 2, 3, 4, 5, 6]
    assert [mine for _, mine in results].count(True) == 1


# --- what an open form may make us email (issue 11, item 9) ----------------------------------


def test_an_email_allowance_counts_requests_up_to_the_limit_per_counter_and_window(store):
    hour = "2026-03-02T09"
    assert store.take_email_allowance("address-a", hour, "r1", 2)
    assert store.take_email_allowance("address-a", hour, "r2", 2)
    assert not store.take_email_allowance("address-a", hour, "r3", 2)
    # A request counted is counted: a replay asks again and gets the same answer.
    assert store.take_email_allowance("address-a", hour, "r1", 2)
    assert not store.take_email_allowance("address-a", hour, "r3", 2)
    # Another hour, another counter: counted apart.
    assert store.take_email_allowance("address-a", "2026-03-02T10", "r3", 2)
    assert store.take_email_allowance("form-f", hour, "r3", 2)
    assert not store.take_email_allowance("address-b", hour, "r4", 0)


def test_email_allowances_taken_at_once_never_exceed_the_limit(store):
    results = all_at_once(8, lambda i: store.take_email_allowance("form-f", "h", f"r{i}", 3))
    assert sum(results) == 3


def test_the_reply_index_finds_the_request_an_email_went_for_and_keeps_the_first(store):
    first, _ = store.add_request(new_record("r-index-1"))
    second, _ = store.add_request(new_record("r-index-2"))
    message_id = "<intake.0123abcd/+=@contoso.example>"  # '/' is no key character in Tables

    assert store.request_for_message(message_id) is None
    store.index_message(message_id, first.request.id)
    store.index_message(message_id, first.request.id)  # a retry
    store.index_message(message_id, second.request.id)  # never moves to another request
    assert store.request_for_message(message_id) == first.request.id
    assert store.request_for_message("<other@contoso.example>") is None
