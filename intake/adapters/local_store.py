"""Store on the local SQLite file: requests, their done steps, and a lease per request."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from intake.adapters.local_clock import SqliteClock
from intake.adapters.sqlite_db import Database
from intake.errors import RequestNotFound
from intake.models import RequestRecord, RequestStatus, Vote

# A request row with its status-link nonce (a row of its own: revoking touches nothing else).
_SELECT = (
    "SELECT requests.*, status_nonces.nonce AS status_nonce FROM requests"
    " LEFT JOIN status_nonces ON status_nonces.request_id = requests.id"
)


class SqliteStore:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        # Timestamps by the app's clock; leases by the wall (they must expire while frozen).
        self.clock = clock or SqliteClock(db)

    def add_request(self, record: RequestRecord) -> tuple[RequestRecord, bool]:
        now = self.clock().isoformat()
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT id FROM requests WHERE idempotency_key = ?",
                (record.request.idempotency_key,),
            ).fetchone()
            if row is not None:
                existing_id = row["id"]
            else:
                tx.execute(
                    "INSERT INTO requests (id, idempotency_key, record, status, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.request.id,
                        record.request.idempotency_key,
                        record.request.model_dump_json(),
                        record.status.value,
                        now,
                        now,
                    ),
                )
                return record, True
        return self.get_request(existing_id), False

    def get_request(self, request_id: str) -> RequestRecord:
        with self.db.connect() as db:
            row = db.execute(f"{_SELECT} WHERE requests.id = ?", (request_id,)).fetchone()
            if row is None:
                raise RequestNotFound(f"No request has the id {request_id!r}.")
            steps = db.execute(
                "SELECT step, result FROM steps WHERE request_id = ?", (request_id,)
            ).fetchall()
        return self._record(row, {s["step"]: json.loads(s["result"]) for s in steps})

    def record_step(self, request_id: str, step: str, result: dict[str, Any]) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT OR IGNORE INTO steps (request_id, step, result, done_at)"
                " VALUES (?, ?, ?, ?)",
                (request_id, step, json.dumps(result), self.clock().isoformat()),
            )
            tx.execute(
                "UPDATE requests SET updated_at = ? WHERE id = ?",
                (self.clock().isoformat(), request_id),
            )

    def set_status(self, request_id: str, status: str, *, last_error: str = "") -> None:
        with self.db.write() as db:
            db.execute(
                "UPDATE requests SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                (status, last_error, self.clock().isoformat(), request_id),
            )

    def set_status_nonce(self, request_id: str, nonce: str) -> None:
        with self.db.transaction() as tx:
            if tx.execute("SELECT 1 FROM requests WHERE id = ?", (request_id,)).fetchone() is None:
                raise RequestNotFound(f"No request has the id {request_id!r}.")
            tx.execute(
                "INSERT INTO status_nonces (request_id, nonce, changed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (request_id) DO UPDATE SET nonce = excluded.nonce,"
                " changed_at = excluded.changed_at",
                (request_id, nonce, self.clock().isoformat()),
            )

    def acquire_lease(self, request_id: str, owner: str, seconds: float) -> bool:
        now = time.time()
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT lease_owner, lease_until FROM requests WHERE id = ?", (request_id,)
            ).fetchone()
            if row is None:
                raise RequestNotFound(f"No request has the id {request_id!r}.")
            if row["lease_owner"] not in ("", owner) and row["lease_until"] > now:
                return False
            tx.execute(
                "UPDATE requests SET lease_owner = ?, lease_until = ? WHERE id = ?",
                (owner, now + seconds, request_id),
            )
            return True

    def release_lease(self, request_id: str, owner: str) -> None:
        with self.db.write() as db:
            db.execute(
                "UPDATE requests SET lease_owner = '', lease_until = 0"
                " WHERE id = ? AND lease_owner = ?",
                (request_id, owner),
            )

    def list_requests(self, *, status: str | None = None, limit: int = 100) -> list[RequestRecord]:
        query = _SELECT
        params: list[Any] = []
        if status:
            query += " WHERE requests.status = ?"
            params.append(status)
        query += " ORDER BY requests.created_at DESC, requests.rowid DESC LIMIT ?"
        params.append(limit)
        with self.db.connect() as db:
            rows = db.execute(query, params).fetchall()
            records = []
            for row in rows:
                steps = db.execute(
                    "SELECT step, result FROM steps WHERE request_id = ?", (row["id"],)
                ).fetchall()
                records.append(
                    self._record(row, {s["step"]: json.loads(s["result"]) for s in steps})
                )
        return records

    def claim(self, request_id: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT OR IGNORE INTO claims (request_id, name, value, claimed_at)"
                " VALUES (?, ?, ?, ?)",
                (request_id, name, json.dumps(value), self.clock().isoformat()),
            )
            row = tx.execute(
                "SELECT value FROM claims WHERE request_id = ? AND name = ?", (request_id, name)
            ).fetchone()
        stored: dict[str, Any] = json.loads(row["value"])
        return stored

    def set_vote(self, request_id: str, vote: Vote) -> Vote | None:
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT vote FROM votes WHERE request_id = ? AND voter_id = ?",
                (request_id, vote.voter_id),
            ).fetchone()
            tx.execute(
                "INSERT INTO votes (request_id, voter_id, vote) VALUES (?, ?, ?)"
                " ON CONFLICT (request_id, voter_id) DO UPDATE SET vote = excluded.vote",
                (request_id, vote.voter_id, vote.model_dump_json()),
            )
        return None if row is None else Vote.model_validate_json(row["vote"])

    def votes(self, request_id: str) -> list[Vote]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT vote FROM votes WHERE request_id = ? ORDER BY rowid", (request_id,)
            ).fetchall()
        return [Vote.model_validate_json(row["vote"]) for row in rows]

    def set_scrum_master(self, teams_id: str, name: str, *, known: bool) -> None:
        with self.db.write() as db:
            if known:
                db.execute(
                    "INSERT INTO scrum_masters (teams_id, name, first_seen) VALUES (?, ?, ?)"
                    " ON CONFLICT (teams_id) DO UPDATE SET name = excluded.name",
                    (teams_id, name, self.clock().isoformat()),
                )
            else:
                db.execute("DELETE FROM scrum_masters WHERE teams_id = ?", (teams_id,))

    def scrum_masters(self) -> list[str]:
        with self.db.connect() as db:
            rows = db.execute(
                "SELECT teams_id FROM scrum_masters ORDER BY first_seen, rowid"
            ).fetchall()
        return [row["teams_id"] for row in rows]

    def begin_card_update(self, request_id: str, owner: str, seconds: float) -> tuple[int, bool]:
        now = time.time()
        with self.db.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO card_versions (request_id) VALUES (?)", (request_id,))
            row = tx.execute(
                "SELECT wanted, turn_owner, turn_until FROM card_versions WHERE request_id = ?",
                (request_id,),
            ).fetchone()
            wanted = int(row["wanted"]) + 1
            mine = row["turn_owner"] in ("", owner) or row["turn_until"] <= now
            tx.execute(
                "UPDATE card_versions SET wanted = ?, turn_owner = ?, turn_until = ?"
                " WHERE request_id = ?",
                (
                    wanted,
                    owner if mine else row["turn_owner"],
                    now + seconds if mine else row["turn_until"],
                    request_id,
                ),
            )
        return wanted, mine

    def end_card_update(self, request_id: str, owner: str, published: int | None) -> int:
        with self.db.transaction() as tx:
            if published is not None:
                tx.execute(
                    "UPDATE card_versions SET published = MAX(published, ?) WHERE request_id = ?",
                    (published, request_id),
                )
            tx.execute(
                "UPDATE card_versions SET turn_owner = '', turn_until = 0"
                " WHERE request_id = ? AND turn_owner = ?",
                (request_id, owner),
            )
            row = tx.execute(
                "SELECT wanted FROM card_versions WHERE request_id = ?", (request_id,)
            ).fetchone()
        return 0 if row is None else int(row["wanted"])

    def take_email_allowance(self, counter: str, window: str, request_id: str, limit: int) -> bool:
        with self.db.transaction() as tx:
            counted = tx.execute(
                "SELECT request_id FROM email_allowances WHERE counter = ? AND period = ?",
                (counter, window),
            ).fetchall()
            ids = {row["request_id"] for row in counted}
            if request_id in ids:
                return True
            if len(ids) >= limit:
                return False
            tx.execute(
                "INSERT INTO email_allowances (counter, period, request_id) VALUES (?, ?, ?)",
                (counter, window, request_id),
            )
        return True

    def index_message(self, message_id: str, request_id: str) -> None:
        with self.db.write() as db:
            db.execute(
                "INSERT OR IGNORE INTO message_index (message_id, request_id) VALUES (?, ?)",
                (message_id, request_id),
            )

    def request_for_message(self, message_id: str) -> str | None:
        with self.db.connect() as db:
            row = db.execute(
                "SELECT request_id FROM message_index WHERE message_id = ?", (message_id,)
            ).fetchone()
        return None if row is None else str(row["request_id"])

    @staticmethod
    def _record(row: Any, steps: dict[str, dict[str, Any]]) -> RequestRecord:
        return RequestRecord.model_validate(
            {
                "request": json.loads(row["record"]),
                "status": RequestStatus(row["status"]),
                "steps": steps,
                "last_error": row["last_error"],
                "updated_at": row["updated_at"],
                "status_nonce": row["status_nonce"] or "",
            }
        )
