"""FollowUps on Azure Table Storage: the follow-up timer's state in one partition of the
requests' table (``settings.table_name``), so one transaction can change related rows.

Rows of the partition ``follow-ups`` (RowKey -> what it holds):
  "state:watermark"               -> until when the last sweep looked
  "changed:<id>"                  -> a work item a service hook marked changed, and when
  "item:<id>"                     -> a followed item: request, due instant, running, summary,
                                     and its cached history (zlib-compressed JSON, in chunks)
  "item:<id>:<n>"                 -> more chunks of a history too big for one entity
  "due:<instant>:<id>"            -> the due index: one row per item with a due instant
  "effect:<key>"                  -> an effect key's value, inserted once, never replaced
Ids are zero-padded and instants fixed-width UTC ISO text, so RowKey order is number and time
order: ``due`` is one range query over the index, whatever the number of followed items.
An item row, its extra chunks and its index row change in one entity-group transaction guarded
by the item row's ETag, so the index never points at a stale instant and two writers of one
item cannot mix their chunks.

Table limits: a property holds 64 KiB, an entity 1 MiB, a transaction 100 rows and 4 MiB. A
history is compressed (DevOps update JSON repeats itself: about 10:1) and cut into binary
chunks of 60,000 bytes, at most 11 per row (880 KB as base64 on the wire, under the entity
limit with the rest of the row; fewer in the item's row when its summary is large); past
that, chunks go to extra rows of the same partition, written in the same transaction. A
history still over ``MAX_HISTORY_BYTES`` compressed (a transaction's 4 MiB, base64 on the
wire) is refused: the cache is derived, and the follow-up code keeps it small
by trimming texts.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from intake.adapters.azure_store import RACE_ATTEMPTS, STRING_LIMIT, pack, row_key, unpack
from intake.adapters.azure_table import SYSTEM, TableRows
from intake.config import Settings
from intake.errors import ExternalRejected, ExternalUnavailable
from intake.models import TrackedItem, utcnow

PARTITION = "follow-ups"
WATERMARK_ROW = "state:watermark"
CHUNK_BYTES = 60_000  # a binary property holds 64 KiB
# An entity holds 1 MiB. Azure counts a binary property's bytes, but its JSON goes as base64
# (4/3) and Azurite checks that body against 1 MiB: counted as sent, so both take it.
CHUNKS_PER_ROW = 11  # 660 KB, 880 KB as base64
ROW_BUDGET = 960_000  # bytes as sent, of chunks and summary, in one row
# Compressed. A transaction carries at most 4 MiB on the wire, where binary goes as base64
# (4/3 of its size): 2.4 MB is 3.2 MB sent, with room for the rest of the rows.
MAX_HISTORY_BYTES = 2_400_000
MAX_KEY = 400  # characters of an effect key kept readable in its RowKey, else its hash


def _instant(moment: datetime) -> str:
    """Fixed-width UTC text: sorts as time does."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _item_row(work_item_id: int) -> str:
    return f"item:{work_item_id:012d}"


def _due_row(at: datetime, work_item_id: int) -> str:
    return f"due:{_instant(at)}:{work_item_id:012d}"


def _range(prefix: str) -> str:
    """OData: RowKey starts with ``prefix`` (which ends in ':'; ';' sorts right after it)."""
    return f"PartitionKey eq '{PARTITION}' and RowKey ge '{prefix}' and RowKey lt '{prefix[:-1]};'"


def history_chunks(updates: tuple[dict[str, Any], ...]) -> list[bytes]:
    """A history as compressed chunks, each small enough for one binary property."""
    data = zlib.compress(json.dumps(list(updates), separators=(",", ":")).encode(), 6)
    if len(data) > MAX_HISTORY_BYTES:
        raise ExternalRejected(
            f"a work item's cached history is {len(data)} bytes compressed, over the "
            f"{MAX_HISTORY_BYTES} a Table Storage transaction can carry",
            system=SYSTEM,
        )
    return [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]


def history_of(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The history from an item's rows (main row first, then its extra rows in order)."""
    chunks: list[bytes] = []
    for row in rows:
        chunks += [bytes(row[f"h_{i}"]) for i in range(int(row.get("h_parts", 0)))]
    data = b"".join(chunks)
    return tuple(json.loads(zlib.decompress(data))) if data else ()


class TableFollowUps(TableRows):
    """The ``FollowUps`` port on the requests' table, partition ``follow-ups``."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(settings)
        self.clock = clock

    # --- changed marks and the watermark ----------------------------------------------------

    def mark_changed(self, work_item_id: int, at: datetime) -> None:
        entity = {
            "PartitionKey": PARTITION,
            "RowKey": f"changed:{work_item_id:012d}",
            "work_item_id": work_item_id,
            "marked_at": _instant(at),
        }
        self._run(lambda table: table.upsert_entity(entity, mode=UpdateMode.REPLACE))

    def changed(self) -> dict[int, datetime]:
        rows = self._query(_range("changed:"), ["work_item_id", "marked_at"])
        return {int(r["work_item_id"]): datetime.fromisoformat(r["marked_at"]) for r in rows}

    def forget_changed(self, marks: dict[int, datetime]) -> None:
        for work_item_id, at in marks.items():
            row = self._get(PARTITION, f"changed:{work_item_id:012d}")
            if row is None or row["marked_at"] > _instant(at):
                continue  # gone already, or marked again since: kept for the next run

            def delete(table: TableClient, row: Any = row) -> None:
                try:
                    table.delete_entity(
                        PARTITION,
                        row["RowKey"],
                        etag=row.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                except ResourceNotFoundError:
                    pass
                except HttpResponseError as exc:
                    if exc.status_code != 412:  # 412: marked again meanwhile, kept
                        raise

            self._run(delete)

    def watermark(self) -> datetime | None:
        row = self._get(PARTITION, WATERMARK_ROW)
        return None if row is None else datetime.fromisoformat(row["value"])

    def set_watermark(self, at: datetime) -> None:
        entity = {"PartitionKey": PARTITION, "RowKey": WATERMARK_ROW, "value": _instant(at)}
        self._run(lambda table: table.upsert_entity(entity, mode=UpdateMode.REPLACE))

    def cursor(self, name: str) -> str | None:
        row = self._get(PARTITION, row_key("state", f"cursor:{name}"))
        return None if row is None else unpack(row, "value")

    def set_cursor(self, name: str, value: str) -> None:
        # A Graph delta link runs to a few hundred characters: packed like any long value.
        entity = {
            "PartitionKey": PARTITION,
            "RowKey": row_key("state", f"cursor:{name}"),
            **pack("value", value),
        }
        self._run(lambda table: table.upsert_entity(entity, mode=UpdateMode.REPLACE))

    # --- followed items -------------------------------------------------------------------

    def item(self, work_item_id: int) -> TrackedItem | None:
        rows = self._item_rows(work_item_id)
        return None if not rows else _tracked(rows)

    def save_item(self, item: TrackedItem) -> None:
        chunks = history_chunks(item.updates)
        summary = pack("summary", json.dumps(item.summary))
        # The item row holds the summary too: fewer chunks there when the summary is large.
        room = ROW_BUDGET - sum(_size(v) for v in summary.values())
        if room < 0:
            raise ExternalRejected(
                "a followed item's summary is over Table Storage's 1 MiB entity limit",
                system=SYSTEM,
            )
        first = min(CHUNKS_PER_ROW, room // _size(bytes(CHUNK_BYTES)))
        rest = chunks[first:]
        groups = [chunks[:first]] + [
            rest[i : i + CHUNKS_PER_ROW] for i in range(0, len(rest), CHUNKS_PER_ROW)
        ]
        main_row = _item_row(item.work_item_id)
        main: dict[str, Any] = {
            "PartitionKey": PARTITION,
            "RowKey": main_row,
            "work_item_id": item.work_item_id,
            "request_id": item.request_id,
            "next_due_at": "" if item.next_due_at is None else _instant(item.next_due_at),
            "running": item.running,
            "extra_rows": len(groups) - 1,
            **_chunk_properties(groups[0]),
            **summary,
        }
        for _ in range(RACE_ATTEMPTS):
            old = self._get(PARTITION, main_row)
            operations: list[Any] = []
            if old is None:
                operations.append(("create", main))
            else:
                operations.append(
                    (
                        "update",
                        main,
                        {
                            "mode": UpdateMode.REPLACE,
                            "etag": old.metadata["etag"],
                            "match_condition": MatchConditions.IfNotModified,
                        },
                    )
                )
            for number, group in enumerate(groups[1:], start=1):
                extra = {"PartitionKey": PARTITION, "RowKey": f"{main_row}:{number:03d}"}
                operations.append(("upsert", {**extra, **_chunk_properties(group)}, {}))
            old_extra = 0 if old is None else int(old.get("extra_rows", 0))
            for number in range(len(groups), old_extra + 1):
                operations.append(
                    ("delete", {"PartitionKey": PARTITION, "RowKey": f"{main_row}:{number:03d}"})
                )
            old_due = "" if old is None else str(old.get("next_due_at", ""))
            if old_due != main["next_due_at"]:
                if old_due:
                    operations.append(
                        (
                            "delete",
                            {
                                "PartitionKey": PARTITION,
                                "RowKey": f"due:{old_due}:{item.work_item_id:012d}",
                            },
                        )
                    )
                if item.next_due_at is not None:
                    operations.append(
                        (
                            "upsert",
                            {
                                "PartitionKey": PARTITION,
                                "RowKey": _due_row(item.next_due_at, item.work_item_id),
                                "work_item_id": item.work_item_id,
                            },
                        )
                    )
            if self._transaction(operations):
                return
        raise ExternalUnavailable(
            f"item {item.work_item_id} kept changing under us; try again", system=SYSTEM
        )

    def due(self, now: datetime, *, limit: int = 500) -> list[TrackedItem]:
        # The index up to ``now``: RowKeys "due:<instant>:<id>" below "due:<now>;" sort first.
        query = (
            f"PartitionKey eq '{PARTITION}' and RowKey ge 'due:'"
            f" and RowKey lt 'due:{_instant(now)};'"
        )
        rows = self._query(query, ["work_item_id"], limit=limit)
        items = (self.item(int(row["work_item_id"])) for row in rows)
        return [item for item in items if item is not None]

    def running(self) -> list[TrackedItem]:
        query = f"{_range('item:')} and running eq true"
        items: list[TrackedItem] = []
        for row in self._query(query):
            if int(row.get("extra_rows", 0)):
                items.append(_tracked(self._item_rows(int(row["work_item_id"]))))
            else:
                items.append(_tracked([row]))
        return sorted(items, key=lambda i: i.work_item_id)

    # --- effects --------------------------------------------------------------------------

    def claim_effect(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        row = _effect_row(key)
        entity = {
            "PartitionKey": PARTITION,
            "RowKey": row,
            "key": key[:STRING_LIMIT],
            "claimed_at": _instant(self.clock()),
            **pack("value", json.dumps(value)),
        }
        for _ in range(RACE_ATTEMPTS):
            if self._insert(entity):
                return value
            stored = self._get(PARTITION, row)
            if stored is not None:  # effect rows are never deleted
                result: dict[str, Any] = json.loads(unpack(stored, "value"))
                return result
        raise ExternalUnavailable(f"effect {key} could not be read back", system=SYSTEM)

    def effect(self, key: str) -> dict[str, Any] | None:
        stored = self._get(PARTITION, _effect_row(key))
        if stored is None:
            return None
        result: dict[str, Any] = json.loads(unpack(stored, "value"))
        return result

    def effects(self) -> list[dict[str, Any]]:
        """Every effect key claimed, oldest first (as the SQLite adapter's)."""
        rows = self._query(_range("effect:"))
        found = [
            {"key": r["key"], "value": json.loads(unpack(r, "value")), "at": r["claimed_at"]}
            for r in rows
        ]
        return sorted(found, key=lambda e: (e["at"], e["key"]))

    # --- rows ------------------------------------------------------------------------------

    def _transaction(self, operations: list[Any]) -> bool:
        """Run ``operations`` as one; False when a row changed, appeared or went meanwhile."""

        def submit(table: TableClient) -> bool:
            try:
                table.submit_transaction(operations)
            except TableTransactionError as exc:
                if exc.status_code in (404, 409, 412):
                    return False
                raise
            return True

        return bool(self._run(submit))

    def _query(
        self, query: str, select: list[str] | None = None, *, limit: int | None = None
    ) -> list[Any]:
        def read(table: TableClient) -> list[Any]:
            found: list[Any] = []
            for entity in table.query_entities(query, select=select):
                found.append(entity)
                if limit is not None and len(found) >= limit:
                    break
            return found

        return list(self._run(read))

    def _item_rows(self, work_item_id: int) -> list[Any]:
        """The item's main row, then its extra rows in order (one range query)."""
        main = _item_row(work_item_id)
        query = f"PartitionKey eq '{PARTITION}' and RowKey ge '{main}' and RowKey lt '{main};'"
        rows = sorted(self._query(query), key=lambda r: str(r["RowKey"]))
        return rows if rows and rows[0]["RowKey"] == main else []


def _size(value: Any) -> int:
    """Bytes a property takes, as sent (binary as base64) or as stored (a string in UTF-16),
    whichever is larger."""
    if isinstance(value, bytes):
        return -(-len(value) // 3) * 4
    if isinstance(value, str):
        return max(2 * len(value), len(value.encode()))
    return 8


def _chunk_properties(chunks: list[bytes]) -> dict[str, Any]:
    return {"h_parts": len(chunks), **{f"h_{i}": chunk for i, chunk in enumerate(chunks)}}


def _effect_row(key: str) -> str:
    if len(key) <= MAX_KEY:
        return row_key("effect", key)
    return "effect:sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _tracked(rows: list[Any]) -> TrackedItem:
    main = rows[0]
    due = str(main.get("next_due_at", ""))
    return TrackedItem(
        work_item_id=int(main["work_item_id"]),
        request_id=str(main["request_id"]),
        updates=history_of(rows),
        next_due_at=datetime.fromisoformat(due) if due else None,
        running=bool(main["running"]),
        summary=json.loads(unpack(main, "summary")),
    )
