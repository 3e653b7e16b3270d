"""Fakes of the ports: they keep state and record what happened, so tests assert end state.

``faults.add("create", ExternalUnavailable("down"))`` makes the next ``create`` raise once (or
``times=n``; ``skip=k`` lets k calls through first); ``after=True`` raises *after* the effect
happened, the crash-after-success case. ``faults.calls`` counts the calls of each operation and
``faults.injected`` the faults raised (the fault matrix in ``tests/faults`` reads both).

Two knobs make a fake as forgetful as the real protocol (the fault matrix measures them):
``FakeMailer(sent_items_lag=s)``: a sent message is missed by lookups for s seconds of
``mailer.clock`` (Graph's Sent Items catching up); ``FakeChannel(keyed=False)``: every post is
a new thread, as the Bot Connector has no idempotency key.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from intake import messages
from intake.config import Settings
from intake.errors import ExternalRejected, RequestNotFound
from intake.inbound_mail import InboundAttachment
from intake.messages import QueueMessage
from intake.models import (
    Comment,
    DiscussionComment,
    Email,
    Identity,
    Iteration,
    Mention,
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
from intake.status_token import StatusKeys


@dataclass
class Fault:
    error: BaseException
    times: int = 1
    after: bool = False
    skip: int = 0


class Faults:
    """Faults to inject, by operation name, shared by every fake of one test."""

    def __init__(self) -> None:
        self.pending: dict[str, list[Fault]] = {}
        self.calls: Counter[str] = Counter()
        self.injected = 0
        self.lock = threading.Lock()

    def add(
        self,
        operation: str,
        error: BaseException,
        *,
        times: int = 1,
        after: bool = False,
        skip: int = 0,
    ) -> None:
        self.pending.setdefault(operation, []).append(Fault(error, times, after, skip))

    def clear(self) -> None:
        """The outage is over: drop every pending fault."""
        with self.lock:
            self.pending.clear()

    def check(self, operation: str, *, after: bool, detail: str = "") -> None:
        """Raise the fault due now, if any. With a ``detail`` (the step a call is for) the
        call also counts as ``operation.detail``, so a fault can aim at one step's call."""
        names = [operation, f"{operation}.{detail}"] if detail else [operation]
        with self.lock:
            for name in names:
                if not after:
                    self.calls[name] += 1
                for fault in self.pending.get(name, []):
                    if fault.after == after and fault.times > 0:
                        if fault.skip > 0:
                            fault.skip -= 1
                            continue
                        fault.times -= 1
                        self.injected += 1
                        raise fault.error


def step_of(key: str) -> str:
    """The step an idempotency key belongs to (``intake-<request>-<step>``)."""
    return key.rsplit("-", 1)[-1]


class FakeWorkItems:
    def __init__(self, faults: Faults, identities: list[Identity] | None = None) -> None:
        self.faults = faults
        self.items: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[Comment]] = {}
        self.links: list[tuple[int, int, str]] = []
        self.identities = {i.email.lower(): i for i in identities or []}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.history: dict[int, list[dict[str, Any]]] = {}  # work item -> DevOps updates
        self.changed_at: dict[int, datetime] = {}  # work item -> last change (the sweep)
        # Comments people wrote in DevOps (ids from 1001, apart from Intake's own).
        self.person_comments: dict[int, list[DiscussionComment]] = {}
        self.attachments: dict[int, dict[str, InboundAttachment]] = {}  # item -> key -> file

    def _op(self, name: str, after: bool = False) -> None:
        self.faults.check(name, after=after)

    def url(self, work_item_id: int) -> str:
        return f"https://dev.azure.com/contoso/Intake/_workitems/edit/{work_item_id}"

    def create(self, draft: WorkItemDraft, *, key: str) -> WorkItemRef:
        self._op("create")
        with self.lock:
            work_item_id = next(self.ids)
            self.items[work_item_id] = {
                "draft": draft,
                "key": key,
                "tags": list(draft.tags),
                "state": "New",
                "rev": 1,
                "fields": {},
            }
        self._op("create", after=True)
        return WorkItemRef(work_item_id, self.url(work_item_id))

    def find_created(self, key: str, *, legacy_tag: str = "") -> WorkItemRef | None:
        self._op("find_created")
        by_key = [i for i, item in self.items.items() if item.get("key") == key]
        by_tag = [i for i, item in self.items.items() if legacy_tag and legacy_tag in item["tags"]]
        for work_item_id in by_key or by_tag:
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
            {
                **item["fields"],
                "System.Tags": "; ".join(item["tags"]),
                # Where DevOps keeps the key (INTAKE_REQUEST_ID_FIELD's default).
                "Custom.IntakeRequestId": item["key"],
            },
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
        self._op("add_link", after=True)

    def find_identity(self, email: str) -> Identity | None:
        self._op("find_identity")
        return self.identities.get(email.lower())

    def current_iteration(self) -> Iteration | None:
        self._op("current_iteration")
        return Iteration("it-7", "Sprint 7", "Intake\\Sprint 7")

    def coming_iterations(self) -> list[Iteration]:
        self._op("coming_iterations")
        return [Iteration("it-8", "Sprint 8", "Intake\\Sprint 8")]

    def state_categories(self, work_item_type: str) -> dict[str, str]:
        self._op("state_categories")
        self._op("state_categories", after=True)  # read, then the answer lost
        return {
            "New": "Proposed",
            "Approved": "Proposed",
            "Committed": "InProgress",
            "In Planning": "InProgress",
            "Done": "Completed",
            "Closed": "Completed",
            "Removed": "Removed",
        }

    def updates(self, work_item_id: int) -> list[dict[str, Any]]:
        """The revisions a test wrote into ``history[id]`` (DevOps update JSON)."""
        self._op("updates")
        self._item(work_item_id)
        return list(self.history.get(work_item_id, []))

    def changed_since(self, watermark: datetime) -> list[int]:
        self._op("changed_since")
        return [i for i, at in sorted(self.changed_at.items()) if at > watermark]

    def discussion(self, work_item_id: int) -> list[DiscussionComment]:
        """Intake's comments (``add_comment``) and the people's (``person_comments``), by id."""
        self._op("discussion")
        self._item(work_item_id)
        intake = Identity("intake-fake-identity", "Intake", "intake@contoso.example")
        found = [
            DiscussionComment(index + 1, comment.html, intake, utcnow(), by_intake=True)
            for index, comment in enumerate(self.comments.get(work_item_id, []))
        ]
        found += self.person_comments.get(work_item_id, [])
        self._op("discussion", after=True)
        return sorted(found, key=lambda comment: comment.id)

    def add_attachment(self, work_item_id: int, attachment: InboundAttachment, *, key: str) -> str:
        self._op("add_attachment")
        self._item(work_item_id)
        with self.lock:
            linked = self.attachments.setdefault(work_item_id, {})
            if key not in linked:
                linked[key] = attachment
        self._op("add_attachment", after=True)
        return f"https://dev.azure.com/contoso/_apis/wit/attachments/{work_item_id}-{key}"

    def _item(self, work_item_id: int) -> dict[str, Any]:
        if work_item_id not in self.items:
            raise ExternalRejected(f"work item {work_item_id} not found", remote_status=404)
        return self.items[work_item_id]


class FakeMailer:
    def __init__(self, faults: Faults, *, sent_items_lag: float = 0.0) -> None:
        self.faults = faults
        self.sent: list[Email] = []
        self.sent_items_lag = sent_items_lag
        self.clock: Callable[[], float] = time.monotonic
        self.visible_at: dict[str, float] = {}
        self.lock = threading.Lock()

    def send(self, email: Email) -> str:
        self.faults.check("send", after=False, detail=step_of(email.key))
        with self.lock:
            already = self._lookup(email.key)  # the adapter's own look before sending
            if already is not None:
                return already
            self.sent.append(email)
            self.visible_at.setdefault(email.key, self.clock() + self.sent_items_lag)
            message_id = f"<m{len(self.sent)}@fake.example>"
        self.faults.check("send", after=True, detail=step_of(email.key))
        return message_id

    def find_sent(self, key: str) -> str | None:
        self.faults.check("find_sent", after=False, detail=step_of(key))
        with self.lock:
            return self._lookup(key)

    def _lookup(self, key: str) -> str | None:
        if self.visible_at.get(key, 0.0) > self.clock():
            return None  # sent, but Sent Items does not show it yet
        for index, known in enumerate(self.sent):
            if known.key == key:
                return f"<m{index + 1}@fake.example>"
        return None


class FakeChannel:
    def __init__(self, faults: Faults, *, keyed: bool = True) -> None:
        self.faults = faults
        self.keyed = keyed
        self.threads: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []  # replies (reply_to: the card's id) and posts

    def post_card(self, card: dict[str, Any], *, key: str) -> Thread:
        self.faults.check("post_card", after=False)
        for activity_id, thread in self.threads.items():
            if self.keyed and thread["key"] == key:
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
        self.faults.check("update_card", after=True)

    def reply(
        self, thread: Thread, text: str, *, key: str, mentions: Sequence[Mention] = ()
    ) -> str:
        self.faults.check("reply", after=False)
        if thread.activity_id not in self.threads:
            raise ExternalRejected("no such thread", system="channel", remote_status=404)
        activity_id = self._add_post(thread.activity_id, text, key, mentions)
        self.faults.check("reply", after=True)
        return activity_id

    def post(self, text: str, *, key: str, mentions: Sequence[Mention] = ()) -> Thread:
        self.faults.check("post", after=False)
        activity_id = self._add_post(None, text, key, mentions)
        self.faults.check("post", after=True)
        return Thread(f"19:c;messageid={activity_id}", activity_id)

    def _add_post(
        self, reply_to: str | None, text: str, key: str, mentions: Sequence[Mention]
    ) -> str:
        for post in self.posts:
            if self.keyed and post["key"] == key:
                return str(post["activity_id"])
        activity_id = str(5000 + len(self.posts))
        self.posts.append(
            {
                "activity_id": activity_id,
                "reply_to": reply_to,
                "key": key,
                "text": text,
                "mentions": list(mentions),
            }
        )
        return activity_id


class FakeClaimsAndVotes:
    """The claim and vote half of the Store port (mixed into FakeStore)."""

    lock: threading.Lock
    faults: Faults

    def __init__(self) -> None:
        self.claims: dict[tuple[str, str], dict[str, Any]] = {}
        self.vote_rows: dict[str, dict[str, Vote]] = {}

    def claim(self, request_id: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
        self.faults.check("claim", after=False, detail=step_of(name))
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


class FakeCardsAndPeople:
    """The card-version and scrum-master half of the Store port (mixed into FakeStore)."""

    lock: threading.Lock
    faults: Faults
    clock: Callable[[], float]

    def __init__(self) -> None:
        self.known_scrum_masters: dict[str, str] = {}  # Teams id -> name, first seen first
        self.cards: dict[str, dict[str, Any]] = {}  # request id -> wanted, published, turn

    def set_scrum_master(self, teams_id: str, name: str, *, known: bool) -> None:
        self.faults.check("set_scrum_master", after=False)
        with self.lock:
            if known:
                self.known_scrum_masters.setdefault(teams_id, name)
            else:
                self.known_scrum_masters.pop(teams_id, None)

    def scrum_masters(self) -> list[str]:
        return list(self.known_scrum_masters)

    def begin_card_update(self, request_id: str, owner: str, seconds: float) -> tuple[int, bool]:
        self.faults.check("begin_card_update", after=False)
        with self.lock:
            card = self.cards.setdefault(
                request_id, {"wanted": 0, "published": 0, "owner": "", "until": 0.0}
            )
            card["wanted"] += 1
            mine = card["owner"] in ("", owner) or card["until"] <= self.clock()
            if mine:
                card.update(owner=owner, until=self.clock() + seconds)
            return int(card["wanted"]), mine

    def end_card_update(self, request_id: str, owner: str, published: int | None) -> int:
        with self.lock:
            card = self.cards.get(request_id)
            if card is None:
                return 0
            if published is not None:
                card["published"] = max(card["published"], published)
            if card["owner"] == owner:
                card.update(owner="", until=0.0)
            return int(card["wanted"])


class FakeStore(FakeClaimsAndVotes, FakeCardsAndPeople):
    def __init__(self, faults: Faults) -> None:
        FakeClaimsAndVotes.__init__(self)
        FakeCardsAndPeople.__init__(self)
        self.faults = faults
        self.records: dict[str, RequestRecord] = {}
        self.message_index: dict[str, str] = {}
        self.status_nonces: dict[str, str] = {}
        self.leases: dict[str, str] = {}
        self.lease_until: dict[str, float] = {}
        self.clock: Callable[[], float] = time.monotonic
        # The app's clock, for the record's timestamps (the world's clock; leases use ``clock``).
        self.now: Callable[[], datetime] = utcnow
        self.lock = threading.Lock()
        # (counter, hour) -> the requests allowed to email the client (take_email_allowance)
        self.email_allowances: dict[tuple[str, str], list[str]] = {}

    def add_request(self, record: RequestRecord) -> tuple[RequestRecord, bool]:
        self.faults.check("add_request", after=False)
        with self.lock:
            for known in self.records.values():
                if known.request.idempotency_key == record.request.idempotency_key:
                    return known, False
            self.records[record.request.id] = record.model_copy(update={"updated_at": self.now()})
        return record, True

    def get_request(self, request_id: str) -> RequestRecord:
        if request_id not in self.records:
            raise RequestNotFound(request_id)
        record = self.records[request_id].model_copy(deep=True)
        record.status_nonce = self.status_nonces.get(request_id, "")
        return record

    def set_status_nonce(self, request_id: str, nonce: str) -> None:
        self.faults.check("set_status_nonce", after=False)
        if request_id not in self.records:
            raise RequestNotFound(request_id)
        with self.lock:
            self.status_nonces[request_id] = nonce

    def record_step(self, request_id: str, step: str, result: dict[str, Any]) -> None:
        self.faults.check("record_step", after=False, detail=step)
        with self.lock:
            record = self.records[request_id]
            record.steps.setdefault(step, result)
            record.updated_at = self.now()
        self.faults.check("record_step", after=True, detail=step)

    def set_status(self, request_id: str, status: str, *, last_error: str = "") -> None:
        self.faults.check("set_status", after=False)
        record = self.records[request_id]
        record.status = RequestStatus(status)
        record.last_error = last_error
        record.updated_at = self.now()

    def acquire_lease(self, request_id: str, owner: str, seconds: float) -> bool:
        self.faults.check("acquire_lease", after=False)
        with self.lock:
            holder = self.leases.get(request_id, owner)
            if holder != owner and self.lease_until.get(request_id, 0.0) > self.clock():
                return False
            self.leases[request_id] = owner
            self.lease_until[request_id] = self.clock() + seconds
            return True

    def release_lease(self, request_id: str, owner: str) -> None:
        self.faults.check("release_lease", after=False)
        with self.lock:
            if self.leases.get(request_id) == owner:
                del self.leases[request_id]
                self.lease_until.pop(request_id, None)

    def list_requests(self, *, status: str | None = None, limit: int = 100) -> list[RequestRecord]:
        records = [r for r in self.records.values() if status is None or r.status == status]
        return records[:limit]

    def take_email_allowance(self, counter: str, window: str, request_id: str, limit: int) -> bool:
        with self.lock:
            counted = self.email_allowances.setdefault((counter, window), [])
            if request_id in counted:
                return True
            if len(counted) >= limit:
                return False
            counted.append(request_id)
            return True

    # The reply index (issue 14): message id -> request.
    def index_message(self, message_id: str, request_id: str) -> None:
        with self.lock:
            self.message_index.setdefault(message_id, request_id)

    def request_for_message(self, message_id: str) -> str | None:
        return self.message_index.get(message_id)


class FakeQueue:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.messages: list[dict[str, Any]] = []

    def send(self, message: QueueMessage) -> None:
        self.faults.check("queue_send", after=False)
        self.messages.append(json.loads(messages.encode(message)))  # as it goes on the queue
        self.faults.check("queue_send", after=True)


class FakeDirectory:
    """Entra groups: ``members[group_id]`` holds object ids; ``lookups`` counts the calls."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.members: dict[str, set[str]] = {}
        self.lookups = 0

    def is_member(self, aad_object_id: str, group_id: str) -> bool:
        self.lookups += 1
        self.faults.check("is_member", after=False)
        return aad_object_id.lower() in {m.lower() for m in self.members.get(group_id, set())}


@dataclass
class FakeWorld:
    """Every fake port of one test, and the services the workflow gets."""

    settings: Settings
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        people = [Identity(p.aad_object_id, p.name, str(p.email)) for p in self.settings.people]
        self.work_items = FakeWorkItems(self.faults, people)
        self.mailer = FakeMailer(self.faults)
        self.channel = FakeChannel(self.faults)
        self.store = FakeStore(self.faults)
        self.store.now = lambda: self.clock()  # read late: tests replace the world's clock
        self.queue = FakeQueue(self.faults)
        self.directory = FakeDirectory(self.faults)
        self.status_keys = StatusKeys(b"status-key-of-the-fake-world-0123456789")

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
            clock=self.clock,
            directory=self.directory,
            status_keys=self.status_keys,
        )
