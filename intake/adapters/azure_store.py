"""Store on Azure Table Storage: one table, a partition per request, inserts and ETags for races.

Rows (PartitionKey, RowKey) -> what they hold:
  ("key", sha256(idempotency key)) -> request_id: the guard; a second insert conflicts
  (request_id, "request")          -> the request, status, last_error, lease, created/updated
  (request_id, "step:<name>")      -> a done step's result: inserted once, never replaced
  (request_id, "claim:<name>")     -> a claimed value: inserted once, the loser reads it
  (request_id, "vote:<voter>")     -> a person's current vote: replaced under its ETag
  (request_id, "card")             -> the card's versions (wanted, published) and update turn
  (request_id, "status-nonce")     -> the nonce the request's status links carry (replaced)
  ("scrum-masters", "teams:<id>")  -> a scrum master's Teams user id, learnt from a click
  ("message-id", sha256(id))       -> request_id: the request a client email was sent for
                                      (the reply index; internet message ids hold '/')
The idempotency key holds '/', which keys forbid, hence the hash. One partition per request
makes ``get_request`` one query. A string property holds 64 KiB (UTF-16) and an entity 1 MiB:
a long JSON value goes into binary chunks of 64,000 bytes (see ``pack``).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, UpdateMode

from intake.adapters import azure_storage
from intake.adapters.azure_table import SYSTEM, TableRows, table_client
from intake.config import Settings
from intake.doctor import Check
from intake.errors import ExternalRejected, ExternalUnavailable, RequestNotFound
from intake.models import RequestRecord, RequestStatus, Vote, utcnow

KEY_PARTITION = "key"
REQUEST_ROW = "request"
CARD_ROW = "card"
NONCE_ROW = "status-nonce"
SCRUM_MASTERS_PARTITION = "scrum-masters"
MESSAGE_PARTITION = "message-id"
STRING_LIMIT = 16_000  # characters: at most 64 KiB in UTF-16, whatever the characters are
CHUNK_BYTES = 64_000
ENTITY_LIMIT = 960_000  # bytes we allow ourselves of the 1 MiB an entity may hold
RACE_ATTEMPTS = 20  # re-reads when an ETag or an insert loses a race
# Keys may not hold / \ # ? or control characters; our request ids are 16 hex digits.
_SAFE_KEY = re.compile(r"^[^/\\#?\x00-\x1f\x7f-\x9f]{1,512}$")


def pack(name: str, text: str) -> dict[str, Any]:
    """Properties holding ``text``: one string when short, else UTF-8 chunks ``name_0..``."""
    if len(text) <= STRING_LIMIT:
        return {name: text}
    data = text.encode()
    chunks = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
    properties: dict[str, Any] = {f"{name}_{i}": chunk for i, chunk in enumerate(chunks)}
    properties[f"{name}_parts"] = len(chunks)
    return properties


def unpack(entity: dict[str, Any], name: str) -> str:
    if name in entity:
        return str(entity[name])
    parts = int(entity[f"{name}_parts"])
    return b"".join(bytes(entity[f"{name}_{i}"]) for i in range(parts)).decode()


def _message_row(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()


def row_key(kind: str, name: str) -> str:
    """``kind:name`` with the characters keys forbid percent-encoded (names stay readable)."""
    return f"{kind}:{quote(name, safe=' :@-._~!$&()*+,;=')}"


def _prefix_filter(prefix: str) -> str:
    """OData: RowKey starts with ``prefix`` (which ends in ':'; ';' sorts right after it)."""
    return f"RowKey ge '{prefix}' and RowKey lt '{prefix[:-1]};'"


class TableStore(TableRows):
    """The ``Store`` port on one table (``settings.table_name``)."""

    # --- the port --------------------------------------------------------------------------

    def add_request(self, record: RequestRecord) -> tuple[RequestRecord, bool]:
        request = record.request
        now = utcnow()
        key_row = {
            "PartitionKey": KEY_PARTITION,
            "RowKey": hashlib.sha256(request.idempotency_key.encode()).hexdigest(),
            "request_id": request.id,
            "idempotency_key": request.idempotency_key[:1000],
        }
        if not self._insert(key_row):
            existing = self._get(KEY_PARTITION, key_row["RowKey"])
            if existing is None:  # cannot happen: key rows are never deleted
                raise ExternalUnavailable("the idempotency key vanished", system=SYSTEM)
            winner = str(existing["request_id"])
            if winner != request.id:
                # Its request row may be missing if the first writer died between the two
                # inserts: write it now (from this same submission) so the request is not lost.
                record = record.model_copy(
                    update={"request": request.model_copy(update={"id": winner})}
                )
                if self._get(winner, REQUEST_ROW) is not None:
                    return self.get_request(winner), False
        row = {
            "PartitionKey": record.request.id,
            "RowKey": REQUEST_ROW,
            "status": record.status.value,
            "last_error": record.last_error,
            "lease_owner": "",
            "lease_until": 0.0,
            "created_at": now,
            "updated_at": now,
            **pack("record", record.request.model_dump_json()),
        }
        _check_size(row)
        if not self._insert(row):  # the first writer finished meanwhile: theirs it is
            return self.get_request(record.request.id), False
        return record.model_copy(update={"updated_at": now}), True

    def get_request(self, request_id: str) -> RequestRecord:
        if not _SAFE_KEY.match(request_id):
            raise RequestNotFound(f"No request has the id {request_id!r}.")
        rows = self._query(
            f"PartitionKey eq @pk and (RowKey eq '{REQUEST_ROW}' or RowKey eq '{NONCE_ROW}'"
            f" or {_prefix_filter('step:')})",
            pk=request_id,
        )
        request_row = next((r for r in rows if r["RowKey"] == REQUEST_ROW), None)
        if request_row is None:
            raise RequestNotFound(f"No request has the id {request_id!r}.")
        steps = {
            str(r["name"]): json.loads(unpack(r, "result"))
            for r in rows
            if str(r["RowKey"]).startswith("step:")
        }
        nonce = next((str(r["nonce"]) for r in rows if r["RowKey"] == NONCE_ROW), "")
        return RequestRecord.model_validate(
            {
                "request": json.loads(unpack(request_row, "record")),
                "status": RequestStatus(request_row["status"]),
                "steps": steps,
                "last_error": request_row.get("last_error", ""),
                "updated_at": request_row["updated_at"],
                "status_nonce": nonce,
            }
        )

    def record_step(self, request_id: str, step: str, result: dict[str, Any]) -> None:
        row = {
            "PartitionKey": request_id,
            "RowKey": row_key("step", step),
            "name": step,
            "done_at": utcnow(),
            **pack("result", json.dumps(result)),
        }
        _check_size(row)
        self._insert(row)  # a step already done keeps its first result
        self._touch(request_id, {})

    def set_status(self, request_id: str, status: str, *, last_error: str = "") -> None:
        self._touch(request_id, {"status": status, "last_error": last_error[:STRING_LIMIT]})

    def set_status_nonce(self, request_id: str, nonce: str) -> None:
        if not _SAFE_KEY.match(request_id) or self._get(request_id, REQUEST_ROW) is None:
            raise RequestNotFound(f"No request has the id {request_id!r}.")
        entity = {
            "PartitionKey": request_id,
            "RowKey": NONCE_ROW,
            "nonce": nonce,
            "changed_at": utcnow(),
        }
        # The last writer wins, which is what revoking means: any new nonce will do.
        self._run(lambda table: table.upsert_entity(entity, mode=UpdateMode.REPLACE))

    def acquire_lease(self, request_id: str, owner: str, seconds: float) -> bool:
        for _ in range(RACE_ATTEMPTS):
            row = self._get(request_id, REQUEST_ROW)
            if row is None:
                raise RequestNotFound(f"No request has the id {request_id!r}.")
            now = time.time()
            if row["lease_owner"] not in ("", owner) and float(row["lease_until"]) > now:
                return False
            if self._update_if_unchanged(row, {"lease_owner": owner, "lease_until": now + seconds}):
                return True
        raise ExternalUnavailable("the lease kept changing; try again", system=SYSTEM)

    def release_lease(self, request_id: str, owner: str) -> None:
        for _ in range(RACE_ATTEMPTS):
            row = self._get(request_id, REQUEST_ROW)
            if row is None or row["lease_owner"] != owner:
                return
            if self._update_if_unchanged(row, {"lease_owner": "", "lease_until": 0.0}):
                return
        raise ExternalUnavailable("the lease kept changing; try again", system=SYSTEM)

    def list_requests(self, *, status: str | None = None, limit: int = 100) -> list[RequestRecord]:
        # Table Storage sorts by key only: read the small columns of every request row (one
        # scan), sort them here, then read the newest ``limit`` requests one partition each.
        query = f"RowKey eq '{REQUEST_ROW}'" + (" and status eq @status" if status else "")
        rows = self._query(query, select=["PartitionKey", "created_at"], status=status)
        rows.sort(key=lambda r: (r["created_at"], r["PartitionKey"]), reverse=True)
        records = []
        for row in rows[:limit]:
            try:
                records.append(self.get_request(row["PartitionKey"]))
            except RequestNotFound:  # pragma: no cover - request rows are never deleted
                continue
        return records

    def claim(self, request_id: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
        row = {
            "PartitionKey": request_id,
            "RowKey": row_key("claim", name),
            "name": name,
            "claimed_at": utcnow(),
            **pack("value", json.dumps(value)),
        }
        _check_size(row)
        for _ in range(RACE_ATTEMPTS):
            if self._insert(row):
                return value
            stored = self._get(request_id, row["RowKey"])
            if stored is not None:
                winner: dict[str, Any] = json.loads(unpack(stored, "value"))
                return winner
        raise ExternalUnavailable("the claim kept changing; try again", system=SYSTEM)

    def set_vote(self, request_id: str, vote: Vote) -> Vote | None:
        key = row_key("vote", vote.voter_id)
        for _ in range(RACE_ATTEMPTS):
            row = self._get(request_id, key)
            if row is None:
                first = {
                    "PartitionKey": request_id,
                    "RowKey": key,
                    "first_voted": time.time(),
                    "vote": vote.model_dump_json(),
                }
                if self._insert(first):
                    return None
            elif self._update_if_unchanged(row, {"vote": vote.model_dump_json()}):
                return Vote.model_validate_json(row["vote"])
        raise ExternalUnavailable("the vote kept changing; try again", system=SYSTEM)

    def votes(self, request_id: str) -> list[Vote]:
        rows = self._query(f"PartitionKey eq @pk and {_prefix_filter('vote:')}", pk=request_id)
        rows.sort(key=lambda r: (float(r["first_voted"]), r["RowKey"]))  # oldest voter first
        return [Vote.model_validate_json(r["vote"]) for r in rows]

    def set_scrum_master(self, teams_id: str, name: str, *, known: bool) -> None:
        key = row_key("teams", teams_id)
        if known:
            self._insert(  # first seen stays first: a known id is left as it is
                {
                    "PartitionKey": SCRUM_MASTERS_PARTITION,
                    "RowKey": key,
                    "teams_id": teams_id,
                    "name": name[:1000],
                    "first_seen": time.time(),
                }
            )
            return
        self._run(lambda table: table.delete_entity(SCRUM_MASTERS_PARTITION, key))

    def scrum_masters(self) -> list[str]:
        rows = self._query("PartitionKey eq @pk", pk=SCRUM_MASTERS_PARTITION)
        rows.sort(key=lambda r: (float(r["first_seen"]), r["RowKey"]))
        return [str(r["teams_id"]) for r in rows]

    def begin_card_update(self, request_id: str, owner: str, seconds: float) -> tuple[int, bool]:
        for _ in range(RACE_ATTEMPTS):
            row = self._get(request_id, CARD_ROW)
            now = time.time()
            if row is None:
                first = {
                    "PartitionKey": request_id,
                    "RowKey": CARD_ROW,
                    "wanted": 1,
                    "published": 0,
                    "turn_owner": owner,
                    "turn_until": now + seconds,
                }
                if self._insert(first):
                    return 1, True
                continue
            wanted = int(row["wanted"]) + 1
            mine = row["turn_owner"] in ("", owner) or float(row["turn_until"]) <= now
            changes: dict[str, Any] = {"wanted": wanted}
            if mine:
                changes.update(turn_owner=owner, turn_until=now + seconds)
            if self._update_if_unchanged(row, changes):
                return wanted, mine
        raise ExternalUnavailable("the card's version kept changing; try again", system=SYSTEM)

    def end_card_update(self, request_id: str, owner: str, published: int | None) -> int:
        for _ in range(RACE_ATTEMPTS):
            row = self._get(request_id, CARD_ROW)
            if row is None:
                return 0
            changes: dict[str, Any] = {}
            if published is not None and published > int(row["published"]):
                changes["published"] = published
            if row["turn_owner"] == owner:
                changes.update(turn_owner="", turn_until=0.0)
            if not changes or self._update_if_unchanged(row, changes):
                return int(row["wanted"])
        raise ExternalUnavailable("the card's version kept changing; try again", system=SYSTEM)

    def take_email_allowance(self, counter: str, window: str, request_id: str, limit: int) -> bool:
        # One row per counter and hour: the requests counted, changed only if unchanged since
        # read (its ETag), so callers at once never count more than ``limit``.
        partition, key = row_key("allowance", counter), row_key("window", window)
        for _ in range(RACE_ATTEMPTS):
            row = self._get(partition, key)
            counted: list[str] = json.loads(row["requests"]) if row is not None else []
            if request_id in counted:
                return True
            if len(counted) >= limit:
                return False
            requests = json.dumps([*counted, request_id])
            if row is None:
                if self._insert({"PartitionKey": partition, "RowKey": key, "requests": requests}):
                    return True
            elif self._update_if_unchanged(row, {"requests": requests}):
                return True
        raise ExternalUnavailable("the email allowance kept changing; try again", system=SYSTEM)

    def index_message(self, message_id: str, request_id: str) -> None:
        self._insert(
            {
                "PartitionKey": MESSAGE_PARTITION,
                "RowKey": _message_row(message_id),
                "request_id": request_id,
            }
        )  # a second insert of the same id conflicts, and the first one stands

    def request_for_message(self, message_id: str) -> str | None:
        row = self._get(MESSAGE_PARTITION, _message_row(message_id))
        return None if row is None else str(row["request_id"])

    # --- rows ------------------------------------------------------------------------------

    def _update_if_unchanged(self, row: Any, changes: dict[str, Any]) -> bool:
        """Merge ``changes`` into ``row`` unless it changed since it was read (its ETag)."""
        entity = {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"], **changes}

        def update(table: TableClient) -> bool:
            try:
                table.update_entity(
                    entity,
                    mode=UpdateMode.MERGE,
                    match_condition=MatchConditions.IfNotModified,
                    etag=row.metadata["etag"],
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                return False
            return True

        return bool(self._run(update))

    def _touch(self, request_id: str, changes: dict[str, Any]) -> None:
        """Merge ``changes`` and a new ``updated_at`` into the request row, whatever its ETag."""
        entity = {
            "PartitionKey": request_id,
            "RowKey": REQUEST_ROW,
            **changes,
            "updated_at": utcnow(),
        }

        def update(table: TableClient) -> None:
            try:
                table.update_entity(entity, mode=UpdateMode.MERGE)
            except ResourceNotFoundError:
                raise RequestNotFound(f"No request has the id {request_id!r}.") from None

        self._run(update)

    def _query(self, query: str, select: list[str] | None = None, **values: Any) -> list[Any]:
        parameters = {k: v for k, v in values.items() if v is not None}
        return list(
            self._run(
                lambda table: list(
                    table.query_entities(query, parameters=parameters, select=select)
                )
            )
        )


def _check_size(entity: dict[str, Any]) -> None:
    size = sum(
        len(v) if isinstance(v, bytes) else 2 * len(v) if isinstance(v, str) else 8
        for v in entity.values()
    )
    if size > ENTITY_LIMIT:
        raise ExternalRejected(
            f"a {entity['RowKey'].split(':')[0]} row of {size} bytes is over Table Storage's "
            "1 MiB entity limit",
            system=SYSTEM,
        )


def doctor_checks(settings: Settings) -> list[Check]:
    """Table reachable: read at most one row (read-only; a missing table is created on use)."""

    def probe() -> str:
        table = table_client(settings)
        try:
            azure_storage.call(
                SYSTEM, lambda: next(iter(table.list_entities(results_per_page=1)), None)
            )
        except ExternalRejected as exc:
            if exc.remote_status != 404:
                raise
            return f"account reachable; table {settings.table_name!r} is created on first use"
        return f"table {settings.table_name!r} reachable"

    return [
        Check(
            SYSTEM,
            "table reachable",
            probe,
            "check INTAKE_STORAGE_CONNECTION_STRING, or INTAKE_STORAGE_ACCOUNT_NAME and the "
            "app's 'Storage Table Data Contributor' role on the account (docs/connect-storage.md)",
        )
    ]
