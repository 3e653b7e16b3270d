"""The FollowUps contract, written once and proved by both adapters: local SQLite and Azure
Table Storage (on Azurite, started by the tests). Whatever the follow-up timer relies on is
asserted here, including a history far over Table Storage's 64 KiB property and 1 MiB entity
limits."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from intake.adapters.local_follow_ups import SqliteFollowUps
from intake.adapters.sqlite_db import Database
from intake.errors import ExternalRejected
from intake.models import TrackedItem
from tests.contract.test_store_contract import all_at_once, table_settings

pytestmark = pytest.mark.contract

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "table"])
def follow_ups(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        return SqliteFollowUps(Database(tmp_path / "intake.db"), clock=lambda: T0)
    from intake.adapters.azure_follow_ups import TableFollowUps

    azurite = request.getfixturevalue("azurite")
    return TableFollowUps(table_settings(azurite.connection_string, tmp_path), clock=lambda: T0)


def update(rev: int, state: str = "New", text: str = "") -> dict[str, Any]:
    """A DevOps WorkItemUpdate as the cache holds it."""
    return {
        "id": rev,
        "rev": rev,
        "revisedBy": {"id": "a1", "displayName": "Ann Lee", "uniqueName": "ann@contoso.example"},
        "revisedDate": "9999-01-01T00:00:00Z",
        "fields": {
            "System.State": {"oldValue": "New", "newValue": state},
            "System.ChangedDate": {"newValue": (T0 + timedelta(minutes=rev)).isoformat()},
            "System.History": {"newValue": text},
        },
    }


def tracked(work_item_id: int, **fields: Any) -> TrackedItem:
    values: dict[str, Any] = {
        "request_id": f"{work_item_id:016x}",
        "updates": (update(1), update(2, "In Planning")),
        **fields,
    }
    return TrackedItem(work_item_id=work_item_id, **values)


def test_marks_are_kept_until_forgotten_unless_marked_again(follow_ups):
    assert follow_ups.changed() == {}
    follow_ups.mark_changed(7, T0)
    follow_ups.mark_changed(8, T0)
    marks = follow_ups.changed()
    assert marks == {7: T0, 8: T0}
    follow_ups.mark_changed(8, T0 + timedelta(seconds=1))  # the hook again, mid-run
    follow_ups.forget_changed(marks)
    assert follow_ups.changed() == {8: T0 + timedelta(seconds=1)}
    follow_ups.forget_changed({8: T0 + timedelta(seconds=1), 99: T0})  # 99 never marked
    assert follow_ups.changed() == {}


def test_the_watermark_is_none_then_the_last_one_set(follow_ups):
    assert follow_ups.watermark() is None
    follow_ups.set_watermark(T0)
    follow_ups.set_watermark(T0 + timedelta(minutes=5, microseconds=7))
    assert follow_ups.watermark() == T0 + timedelta(minutes=5, microseconds=7)


def test_an_item_is_cached_and_replaced_whole(follow_ups):
    assert follow_ups.item(42) is None
    first = tracked(42, next_due_at=T0, running=True, summary={"sla": {"cycle": 1}})
    follow_ups.save_item(first)
    assert follow_ups.item(42) == first
    second = tracked(42, updates=(update(1),), next_due_at=None, summary={})
    follow_ups.save_item(second)
    assert follow_ups.item(42) == second


def test_due_items_are_those_due_by_now_earliest_first_up_to_the_limit(follow_ups):
    hour = timedelta(hours=1)
    follow_ups.save_item(tracked(1, next_due_at=T0 + 2 * hour))
    follow_ups.save_item(tracked(2, next_due_at=T0))
    follow_ups.save_item(tracked(3, next_due_at=T0 + 5 * hour))
    follow_ups.save_item(tracked(4))  # nothing due
    follow_ups.save_item(tracked(5, next_due_at=T0 + hour))
    assert [i.work_item_id for i in follow_ups.due(T0 - hour)] == []
    assert [i.work_item_id for i in follow_ups.due(T0)] == [2]  # due exactly now is due
    assert [i.work_item_id for i in follow_ups.due(T0 + 2 * hour)] == [2, 5, 1]
    assert [i.work_item_id for i in follow_ups.due(T0 + 9 * hour, limit=2)] == [2, 5]
    # A new due instant replaces the old one: never listed at its old instant again.
    follow_ups.save_item(tracked(2, next_due_at=T0 + 4 * hour))
    follow_ups.save_item(tracked(1, next_due_at=None))
    assert [i.work_item_id for i in follow_ups.due(T0 + 2 * hour)] == [5]
    assert [i.work_item_id for i in follow_ups.due(T0 + 9 * hour)] == [5, 2, 3]
    assert follow_ups.due(T0 + 9 * hour)[1] == tracked(2, next_due_at=T0 + 4 * hour)


def test_due_instants_compare_as_instants_whatever_their_zone(follow_ups):
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    follow_ups.save_item(tracked(1, next_due_at=datetime(2026, 12, 7, 10, 30, tzinfo=paris)))
    assert follow_ups.due(datetime(2026, 12, 7, 9, 29, tzinfo=UTC)) == []
    (item,) = follow_ups.due(datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    assert item.next_due_at == datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def test_running_lists_the_items_whose_clock_runs(follow_ups):
    follow_ups.save_item(tracked(3, running=True))
    follow_ups.save_item(tracked(1, running=True))
    follow_ups.save_item(tracked(2, running=False))
    assert [i.work_item_id for i in follow_ups.running()] == [1, 3]
    follow_ups.save_item(tracked(3, running=False))
    assert [i.work_item_id for i in follow_ups.running()] == [1]


def test_an_effect_is_claimed_once_and_every_caller_gets_the_first_value(follow_ups):
    assert follow_ups.effect("sla:7:1:warn") is None
    assert follow_ups.claim_effect("sla:7:1:warn", {"at": "a"}) == {"at": "a"}
    assert follow_ups.claim_effect("sla:7:1:warn", {"at": "b"}) == {"at": "a"}
    assert follow_ups.effect("sla:7:1:warn") == {"at": "a"}
    odd = "digest:2026-12-08:09:30/é#?" + "x" * 600  # characters keys forbid, a long key
    assert follow_ups.claim_effect(odd, {"n": 1}) == {"n": 1}
    assert follow_ups.claim_effect(odd, {"n": 2}) == {"n": 1}
    assert [e["key"] for e in follow_ups.effects()] == sorted(["sla:7:1:warn", odd])


def test_of_several_claims_at_once_exactly_one_wins(follow_ups):
    results = all_at_once(6, lambda i: follow_ups.claim_effect("notify:9:4", {"by": i}))
    (winner,) = {r["by"] for r in results}
    assert results == [{"by": winner}] * 6


def _history(count: int, text_length: int, seed: int = 5) -> tuple[dict[str, Any], ...]:
    """``count`` updates; random text (barely compressible) when ``text_length`` is set."""
    rnd = random.Random(seed)
    return tuple(
        update(
            rev,
            rnd.choice(["New", "In Planning", "On Hold", "Accepted"]),
            "".join(rnd.choices(string.ascii_letters + string.digits, k=text_length)),
        )
        for rev in range(1, count + 1)
    )


@pytest.mark.parametrize(
    ("count", "text_length"),
    [
        (5_000, 0),  # 2.4 MB of JSON, repetitive: one row once compressed
        (1_200, 1_500),  # 2.1 MB, mostly random text: several rows of chunks
        (3_000, 1_000),  # 2.31 MB compressed, just under what one transaction carries
    ],
)
def test_a_long_history_over_the_table_limits_comes_back_whole(follow_ups, count, text_length):
    updates = _history(count, text_length)
    big = tracked(77, updates=updates, next_due_at=T0, running=True, summary={"s": "é" * 40_000})
    follow_ups.save_item(big)
    assert follow_ups.item(77) == big
    assert follow_ups.due(T0) == [big] and follow_ups.running() == [big]
    # Shrinks again: the rows it no longer needs are gone, the rest reads back the same.
    small = tracked(77, next_due_at=T0)
    follow_ups.save_item(small)
    assert follow_ups.item(77) == small and follow_ups.due(T0) == [small]


def test_the_table_keeps_every_row_within_its_limits(tmp_path, azurite):
    """Inspect what went into the table: every property under 64 KiB, every row under 1 MiB,
    a large random history spread over several rows."""
    from intake.adapters.azure_follow_ups import PARTITION, TableFollowUps

    follow_ups = TableFollowUps(table_settings(azurite.connection_string, tmp_path))
    summary = {"s": "é" * 60_000}  # 120 KB of the item row's 1 MiB
    follow_ups.save_item(
        tracked(77, updates=_history(1_200, 1_500), next_due_at=T0, summary=summary)
    )
    rows = list(follow_ups.table().query_entities(f"PartitionKey eq '{PARTITION}'"))
    item_rows = [r for r in rows if r["RowKey"].startswith("item:")]
    assert len(item_rows) >= 2
    for row in rows:
        sizes = [len(v) if isinstance(v, bytes) else 2 * len(str(v)) for v in row.values()]
        assert max(sizes) <= 64 * 1024 and sum(sizes) < 1024 * 1024, row["RowKey"]
    follow_ups.save_item(tracked(77))
    rows = list(follow_ups.table().query_entities(f"PartitionKey eq '{PARTITION}'"))
    assert [r["RowKey"] for r in rows] == ["item:000000000077"]  # extra rows and index gone


def test_the_table_refuses_a_summary_no_row_can_hold(tmp_path, azurite):
    from intake.adapters.azure_follow_ups import TableFollowUps

    follow_ups = TableFollowUps(table_settings(azurite.connection_string, tmp_path))
    with pytest.raises(ExternalRejected, match="summary"):
        follow_ups.save_item(tracked(5, summary={"s": "x" * 800_000}))
    assert follow_ups.item(5) is None


def test_the_table_refuses_a_history_no_transaction_can_carry(tmp_path, azurite):
    from intake.adapters.azure_follow_ups import TableFollowUps

    follow_ups = TableFollowUps(table_settings(azurite.connection_string, tmp_path))
    with pytest.raises(ExternalRejected, match="cached history"):
        follow_ups.save_item(tracked(5, updates=_history(3_500, 1_500)))
    assert follow_ups.item(5) is None


def test_a_cursor_is_kept_by_name_and_replaced(follow_ups):
    delta = (
        "https://graph.microsoft.com/v1.0/users/x/mailFolders/inbox/messages/delta?$deltatoken="
        + ("a" * 3000)
    )
    assert follow_ups.cursor("inbox") is None
    follow_ups.set_cursor("inbox", "first")
    follow_ups.set_cursor("inbox", delta)
    follow_ups.set_cursor("other/feed", "x")
    assert follow_ups.cursor("inbox") == delta
    assert follow_ups.cursor("other/feed") == "x"
