"""Fakes of the ports: they keep state and record what happened, so tests assert end state.

``fail`` injects faults: ``fakes.fail("create", ExternalUnavailable("down"))`` makes the next
``create`` raise once (or ``times=n``); ``after=True`` raises *after* the effect happened,
the crash-after-success case.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from intake.config import Settings
from intake.errors import ExternalRejected, RequestNotFound
from intake.models import (
    Comment,
    Email,
    Identity,
    Iteration,
    RequestRecord,
    RequestStatus,
    Thread,
    Vote,
    WorkItem,
    WorkItemDraft,
    WorkItemRef,
    utcnow,
)
from intake.ports import Services


@dataclass
class Fault:
    error: Exception
    times: int = 1
    after: bool = False


class Faults:
    """Faults to inject, by operation name, shared by every fake of one test."""

    def __init__(self) -> None:
        self.pending: dict[str, list[Fault]] = {}
        self.lock = threading.Lock()

    def add(self, operation: str, error: Exception, *, times: int = 1, after: bool = False) -> None:
        self.pending.setdefault(operation, []).append(Fault(error, times, after))

    def check(self, operation: str, *, after: bool) -> None:
        with self.lock:
            for fault in self.pending.get(operation, []):
                if fault.after == after and fault.times > 0:
                    fault.times -= 1
                    raise fault.error


class FakeWorkItems:
    def __init__(self, faults: Faults, identities: list[Identity] | None = None) -> None:
        self.faults = faults
        self.items: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[Comment]] = {}
        self.links: list[tuple[int, int, str]] = []
        self.identities = {i.email.lower(): i for i in identities or []}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def _op(self, name: str, after: bool = False) -> None:
        self.faults.check(name, after=after)

    def url(self, work_item_id: int) -> str:
        return f"https://dev.azure.com/contoso/Intake/_workitems/edit/{work_item_id}"

    def create(self, draft: WorkItemDraft, *, tag: str) -> WorkItemRef:
        self._op("create")
        with self.lock:
            work_item_id = next(self.ids)
            self.items[work_item_id] = {
                "draft": draft,
                "tags": [tag, *draft.tags],
                "state": "New",
                "rev": 1,
                "fields": {},
            }
        self._op("create", after=True)
        return WorkItemRef(work_item_id, self.url(work_item_id))

    def find_by_tag(self, tag: str) -> WorkItemRef | None:
        self._op("find_by_tag")
        for work_item_id, item in self.items.items():
            if tag in item["tags"]:
                return WorkItemRef(work_item_id, self.url(work_item_id))
        return None

    def get(self, work_item_id: int) -> WorkItem:
        self._op("get")
        item = self._item(work_item_id)
        draft: WorkItemDraft = item["draft"]
        return WorkItem(
            work_item_id,
            item["rev"],
            draft.type,
            item["state"],
            draft.title,
            self.url(work_item_id),
            {**item["fields"], "System.Tags": "; ".join(item["tags"])},
        )

    def set_state(self, work_item_id: int, state: str) -> None:
        self._op("set_state")
        item = self._item(work_item_id)
        if item["state"] != state:
            item["state"] = state
            item["rev"] += 1
        self._op("set_state", after=True)

    def update(
        self,
        work_item_id: int,
        *,
        fields: dict[str, Any] | None = None,
        add_tags: tuple[str, ...] = (),
    ) -> None:
        self._op("update")
        item = self._item(work_item_id)
        item["fields"].update(fields or {})
        item["tags"].extend(t for t in add_tags if t not in item["tags"])
        item["rev"] += 1
        self._op("update", after=True)

    def add_comment(self, work_item_id: int, comment: Comment) -> int:
        self._op("add_comment")
        self._item(work_item_id)
        with self.lock:
            existing = self.comments.setdefault(work_item_id, [])
            for index, known in enumerate(existing):
                if known.key == comment.key:
                    return index + 1
            existing.append(comment)
            comment_id = len(existing)
        self._op("add_comment", after=True)
        return comment_id

    def add_link(self, source_id: int, target_id: int, relation: str) -> None:
        self._op("add_link")
        if (source_id, target_id, relation) not in self.links:
            self.links.append((source_id, target_id, relation))

    def find_identity(self, email: str) -> Identity | None:
        self._op("find_identity")
        return self.identities.get(email.lower())

    def current_iteration(self) -> Iteration | None:
        self._op("current_iteration")
        return Iteration("it-7", "Sprint 7", "Intake\\Sprint 7")

    def _item(self, work_item_id: int) -> dict[str, Any]:
        if work_item_id not in self.items:
            raise ExternalRejected(f"work item {work_item_id} not found", remote_status=404)
        return self.items[work_item_id]


class FakeMailer:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.sent: list[Email] = []

    def send(self, email: Email) -> str:
        self.faults.check("send", after=False)
        for index, known in enumerate(self.sent):
            if known.key == email.key:
                return f"m{index + 1}"
        self.sent.append(email)
        self.faults.check("send", after=True)
        return f"m{len(self.sent)}"

    def find_sent(self, key: str) -> str | None:
        self.faults.check("find_sent", after=False)
        for index, known in enumerate(self.sent):
            if known.key == key:
                return f"m{index + 1}"
        return None


class FakeChannel:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.threads: dict[str, dict[str, Any]] = {}

    def post_card(self, card: dict[str, Any], *, key: str) -> Thread:
        self.faults.check("post_card", after=False)
        for activity_id, thread in self.threads.items():
            if thread["key"] == key:
                return Thread(thread["conversation_id"], activity_id)
        activity_id = str(1000 + len(self.threads))
        self.threads[activity_id] = {
            "key": key,
            "card": card,
            "updates": 0,
            "conversation_id": f"19:c;messageid={activity_id}",
        }
        self.faults.check("post_card", after=True)
        return Thread(f"19:c;messageid={activity_id}", activity_id)

    def update_card(self, thread: Thread, card: dict[str, Any]) -> None:
        self.faults.check("update_card", after=False)
        self.threads[thread.activity_id]["card"] = card
        self.threads[thread.activity_id]["updates"] += 1


class FakeClaimsAndVotes:
    """The claim and vote half of the Store port (mixed into FakeStore)."""

    lock: threading.Lock

    def __init__(self) -> None:
        self.claims: dict[tuple[str, str], dict[str, Any]] = {}
        self.vote_rows: dict[str, dict[str, Vote]] = {}

    def claim(self, request_id: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return self.claims.setdefault((request_id, name), value)

    def set_vote(self, request_id: str, vote: Vote) -> Vote | None:
        with self.lock:
            votes = self.vote_rows.setdefault(request_id, {})
            previous = votes.get(vote.voter_id)
            votes[vote.voter_id] = vote
            return previous

    def votes(self, request_id: str) -> list[Vote]:
        return list(self.vote_rows.get(request_id, {}).values())


class FakeStore(FakeClaimsAndVotes):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults
        self.records: dict[str, RequestRecord] = {}
        self.leases: dict[str, str] = {}
        self.lock = threading.Lock()

    def add_request(self, record: RequestRecord) -> tuple[RequestRecord, bool]:
        self.faults.check("add_request", after=False)
        with self.lock:
            for known in self.records.values():
                if known.request.idempotency_key == record.request.idempotency_key:
                    return known, False
            self.records[record.request.id] = record.model_copy(update={"updated_at": utcnow()})
        return record, True

    def get_request(self, request_id: str) -> RequestRecord:
        if request_id not in self.records:
            raise RequestNotFound(request_id)
        return self.records[request_id].model_copy(deep=True)

    def record_step(self, request_id: str, step: str, result: dict[str, Any]) -> None:
        self.faults.check("record_step", after=False)
        with self.lock:
            record = self.records[request_id]
            record.steps.setdefault(step, result)
            record.updated_at = utcnow()

    def set_status(self, request_id: str, status: str, *, last_error: str = "") -> None:
        record = self.records[request_id]
        record.status = RequestStatus(status)
        record.last_error = last_error
        record.updated_at = utcnow()

    def acquire_lease(self, request_id: str, owner: str, seconds: float) -> bool:
        with self.lock:
            if self.leases.get(request_id, owner) != owner:
                return False
            self.leases[request_id] = owner
            return True

    def release_lease(self, request_id: str, owner: str) -> None:
        with self.lock:
            if self.leases.get(request_id) == owner:
                del self.leases[request_id]

    def list_requests(self, *, status: str | None = None, limit: int = 100) -> list[RequestRecord]:
        records = [r for r in self.records.values() if status is None or r.status == status]
        return records[:limit]


class FakeQueue:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.faults.check("queue_send", after=False)
        self.messages.append(message)


@dataclass
class FakeWorld:
    """Every fake port of one test, and the services the workflow gets."""

    settings: Settings
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        people = [Identity(p.aad_object_id, p.name, str(p.email)) for p in self.settings.people]
        self.work_items = FakeWorkItems(self.faults, people)
        self.mailer = FakeMailer(self.faults)
        self.channel = FakeChannel(self.faults)
        self.store = FakeStore(self.faults)
        self.queue = FakeQueue(self.faults)

    @property
    def services(self) -> Services:
        from intake.config import load_field_map

        return Services(
            settings=self.settings,
            store=self.store,
            queue=self.queue,
            work_items=self.work_items,
            mailer=self.mailer,
            channel=self.channel,
            field_maps=load_field_map(self.settings.field_map_path),
        )
