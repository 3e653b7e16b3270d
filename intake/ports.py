"""The ports: what the workflow needs from the outside world, in the domain's words.

Each external system has one port here, one real adapter and one local adapter in
``intake/adapters``. Adapters raise ``intake.errors`` types only; SDK types never cross a port.
Every effect carries a ``key`` (our idempotency key) so that an adapter can find out, on a
replay, whether the effect already happened (reconciliation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from intake.config import Settings
from intake.hook_subscriptions import HookSubscription
from intake.inbound_mail import InboundAttachment, InboundMessage
from intake.messages import QueueMessage
from intake.models import (
    Comment,
    DiscussionComment,
    Email,
    Identity,
    Iteration,
    Mention,
    RequestRecord,
    Thread,
    TrackedItem,
    Vote,
    WorkItem,
    WorkItemDraft,
    WorkItemRef,
    utcnow,
)
from intake.status_token import StatusKeys


class WorkItems(Protocol):
    """Azure DevOps work items (local: the SQLite board)."""

    def create(self, draft: WorkItemDraft, *, key: str) -> WorkItemRef:
        """Create a work item of ``draft``'s type (with ``draft.tags``) whose request id field
        (``settings.request_id_field``) holds ``key``: how ``find_created`` finds it again."""
        ...

    def find_created(self, key: str, *, legacy_tag: str = "") -> WorkItemRef | None:
        """The work item created with ``key``, if one exists (reconciliation before create);
        else, with ``legacy_tag``, the one carrying that tag (made before the field existed)."""
        ...

    def get(self, work_item_id: int) -> WorkItem:
        """Read one work item; raises ``ExternalRejected`` (404) when it does not exist."""
        ...

    def set_state(self, work_item_id: int, state: str) -> None:
        """Move a work item to ``state`` guarded by its revision; a no-op if already there."""
        ...

    def update(
        self,
        work_item_id: int,
        *,
        fields: dict[str, Any] | None = None,
        add_tags: tuple[str, ...] = (),
    ) -> None:
        """Set fields and add tags, guarded by the revision (re-read and retried once on 412)."""
        ...

    def add_comment(self, work_item_id: int, comment: Comment) -> int:
        """Add a discussion comment (a notifying @mention first when given); returns its id.

        Returns the existing comment's id when one with ``comment.key`` is already there.
        """
        ...

    def add_link(self, source_id: int, target_id: int, relation: str) -> None:
        """Link two work items (``relation`` is a DevOps link type reference name)."""
        ...

    def find_identity(self, email: str) -> Identity | None:
        """The DevOps identity with this email, or None (clients usually have none)."""
        ...

    def current_iteration(self) -> Iteration | None:
        """The configured team's current sprint, or None when no sprint is current."""
        ...

    def url(self, work_item_id: int) -> str:
        """The page of a work item, for people."""
        ...

    def updates(self, work_item_id: int) -> list[dict[str, Any]]:
        """Every revision of a work item, oldest first, as DevOps' ``WorkItemUpdate`` JSON
        (``rev``, ``revisedBy``, ``revisedDate``, ``fields: {ref: {oldValue, newValue}}``).

        Raw DevOps JSON on purpose: the SLA rules read state, severity and who acted from it
        on either board. When a revision was made is its ``System.ChangedDate``; the latest
        revision's ``revisedDate`` is ``9999-01-01``. Read page by page (``$top``/``$skip``).
        """
        ...

    def changed_since(self, watermark: datetime) -> list[int]:
        """Ids of Intake's work items (tag ``intake``) changed after ``watermark``, to the
        second or better (never rounded to a day), oldest change first."""
        ...

    def discussion(self, work_item_id: int) -> list[DiscussionComment]:
        """Every comment of a work item's discussion that is not deleted, oldest first (the
        updates carry no comment text): what the ``#client`` comments are read from."""

    def add_attachment(self, work_item_id: int, attachment: InboundAttachment, *, key: str) -> str:
        """Upload ``attachment`` and link it to the work item (an ``AttachedFile`` relation);
        returns the attachment's URL. Once per ``key``: when a relation of the work item
        already carries ``key`` (a retry, a second timer run), nothing is uploaded again."""
        ...

    # --- closing the loop (issue 15) ---------------------------------------------------------
    def coming_iterations(self) -> list[Iteration]:
        """The configured team's iterations after the current one, earliest first
        (``teamsettings/iterations?$timeframe=future``): what Create PBI offers."""
        ...

    def state_categories(self, work_item_type: str) -> dict[str, str]:
        """Each state of ``work_item_type`` and its category (``Proposed``, ``InProgress``,
        ``Resolved``, ``Completed``, ``Removed``): how a done state is known in any process."""
        ...


class Mailer(Protocol):
    """Outgoing email (real: Microsoft Graph sendMail; local: the SQLite outbox)."""

    def send(self, email: Email) -> str:
        """Send ``email``; returns a message id. Sending a key already sent sends nothing."""
        ...

    def find_sent(self, key: str) -> str | None:
        """The message id of an email sent with ``key``, if it went."""
        ...


class Channel(Protocol):
    """The Teams support channel (real: Bot Connector via the Agents SDK; local: SQLite)."""

    def post_card(self, card: dict[str, Any], *, key: str) -> Thread:
        """Start a new thread holding ``card``."""
        ...

    def update_card(self, thread: Thread, card: dict[str, Any]) -> None:
        """Replace the card of a thread's first message, for everyone."""
        ...

    def reply(
        self, thread: Thread, text: str, *, key: str, mentions: Sequence[Mention] = ()
    ) -> str:
        """Reply in ``thread`` (a reminder, a note); returns the reply's activity id.

        ``text`` is Teams markdown in which each mention appears as ``<at>{name}</at>``;
        ``mentions`` with a ``teams_id`` become mention entities (Teams notifies them), the
        others are shown in bold. ``key`` is the message's effect key: a second call with the
        same key posts nothing and returns the first reply's id where the channel can tell.
        """
        ...

    def post(self, text: str, *, key: str, mentions: Sequence[Mention] = ()) -> Thread:
        """A new post (not a reply) in the support channel, e.g. the SLA digest; same ``key``
        and ``mentions`` rules as ``reply``."""
        ...


class Store(Protocol):
    """Durable state of requests (real: Azure Table Storage; local: SQLite)."""

    def add_request(self, record: RequestRecord) -> tuple[RequestRecord, bool]:
        """Record a new request; if its idempotency key exists, return that one and False."""
        ...

    def get_request(self, request_id: str) -> RequestRecord:
        """The recorded request; raises ``RequestNotFound``."""
        ...

    def record_step(self, request_id: str, step: str, result: dict[str, Any]) -> None:
        """Record that ``step`` is done with ``result`` (never overwrites a done step)."""
        ...

    def set_status(self, request_id: str, status: str, *, last_error: str = "") -> None:
        """Set the request's status and, when failed, the reason."""
        ...

    def set_status_nonce(self, request_id: str, nonce: str) -> None:
        """Replace the request's status-link nonce (``RequestRecord.status_nonce``): every
        link made with the old one stops opening the page. Raises ``RequestNotFound``."""
        ...

    def acquire_lease(self, request_id: str, owner: str, seconds: float) -> bool:
        """Take the request's lease for ``seconds``; False if someone else holds it."""
        ...

    def release_lease(self, request_id: str, owner: str) -> None:
        """Give the lease back (only if ``owner`` holds it)."""
        ...

    def list_requests(self, *, status: str | None = None, limit: int = 100) -> list[RequestRecord]:
        """Recent requests, newest first, optionally of one status."""
        ...

    def claim(self, request_id: str, name: str, value: dict[str, Any]) -> dict[str, Any]:
        """Store ``value`` under ``name`` unless something is there; return what is stored.

        Atomic: of two callers at once, exactly one wins, and both get the winner's value (how
        a decision is taken once, however many scrum masters click).
        """
        ...

    def set_vote(self, request_id: str, vote: Vote) -> Vote | None:
        """Record ``vote`` as its voter's current vote; returns the vote it replaced, if any."""
        ...

    def votes(self, request_id: str) -> list[Vote]:
        """The current vote of each person who voted, oldest first."""
        ...

    def set_scrum_master(self, teams_id: str, name: str, *, known: bool) -> None:
        """Remember (``known``) or forget the Teams user id (``29:…``) of a scrum master, learnt
        when they click: the ids a card's ``refresh.userIds`` lists."""
        ...

    def scrum_masters(self) -> list[str]:
        """The Teams user ids of the scrum masters remembered, first remembered first."""
        ...

    def begin_card_update(self, request_id: str, owner: str, seconds: float) -> tuple[int, bool]:
        """Ask for the request's card to be published again: its card version goes up by one.

        Returns the new version and whether ``owner`` now holds the card's update turn for
        ``seconds`` (it was free, had expired, or was already ``owner``'s). Atomic.
        """
        ...

    def end_card_update(self, request_id: str, owner: str, published: int | None) -> int:
        """Give the turn back, recording ``published`` as the version now in the channel (None:
        nothing was published); returns the current card version. Higher than ``published``
        means an update was asked for meanwhile, and the turn's holder publishes again."""
        ...

    # --- what an open form may make us email (issue 11, item 9) ----------------------------
    def take_email_allowance(self, counter: str, window: str, request_id: str, limit: int) -> bool:
        """Count ``request_id`` among the requests allowed to email through ``counter`` (an
        address's or a form's digest) in ``window`` (an hour, ``2026-03-02T12``), unless
        ``limit`` requests are counted there already. True when it is counted, now or by an
        earlier call (a replay asks again and gets the same answer). Atomic: of callers at
        once, no more than ``limit`` are counted."""

    def index_message(self, message_id: str, request_id: str) -> None:
        """Remember that the email with internet message id ``message_id`` was sent to the
        client of ``request_id`` (the reply index: a reply's ``In-Reply-To`` names it)."""
        ...

    def request_for_message(self, message_id: str) -> str | None:
        """The request an email with this internet message id was sent for, if indexed."""
        ...


class FollowUps(Protocol):
    """What the follow-up timer keeps between runs (real: Azure Table Storage; local: SQLite).
    All of it is derived from DevOps and Intake's own records, so all of it can be thrown away
    and rebuilt, except the effect keys, which say what was already said."""

    def mark_changed(self, work_item_id: int, at: datetime) -> None:
        """Remember that the work item changed (a service hook said so) at ``at``."""
        ...

    def changed(self) -> dict[int, datetime]:
        """The work items marked changed and not forgotten since, with when they were marked."""
        ...

    def forget_changed(self, marks: dict[int, datetime]) -> None:
        """Forget these marks, unless a work item was marked again after its mark here."""
        ...

    def watermark(self) -> datetime | None:
        """Until when the last sweep looked for changed work items (None: never)."""
        ...

    def set_watermark(self, at: datetime) -> None:
        """Record until when this sweep looked."""
        ...

    def item(self, work_item_id: int) -> TrackedItem | None:
        """The cached history of a work item Intake follows, if cached."""
        ...

    def save_item(self, item: TrackedItem) -> None:
        """Cache (replace) the history of a followed work item and when it next needs us."""
        ...

    def due(self, now: datetime, *, limit: int = 500) -> list[TrackedItem]:
        """Followed work items whose next due instant is ``now`` or earlier, earliest first."""
        ...

    def running(self) -> list[TrackedItem]:
        """Followed work items whose clock runs (the digest's list)."""
        ...

    def claim_effect(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        """Store ``value`` under effect ``key`` unless something is there; return what is.

        Atomic, write-once: how a reminder, an escalation or a digest is said at most once
        (``sla:{item}:{cycle}:{threshold}``, ``digest:{date}:{slot}``).
        """
        ...

    def effect(self, key: str) -> dict[str, Any] | None:
        """What is stored under effect ``key``, if anything (a read: claims nothing)."""

    def cursor(self, name: str) -> str | None:
        """Where a reader of some remote feed stopped (``inbox``: the mailbox's delta link)."""
        ...

    def set_cursor(self, name: str, value: str) -> None:
        """Record where the reader ``name`` stopped; the next run starts there."""
        ...


class Directory(Protocol):
    """Who belongs to which Entra group (real: Microsoft Graph; local: the configured people)."""

    def is_member(self, aad_object_id: str, group_id: str) -> bool:
        """True when the user is a member of the group, directly or through nested groups."""
        ...


class Queue(Protocol):
    """The ``intake-steps`` queue (real: Azure Storage Queues; local: SQLite)."""

    def send(self, message: QueueMessage) -> None:
        """Enqueue one message for the steps trigger (``messages.encode`` makes its text)."""
        ...


class PoisonedMessage(Protocol):
    """A message as a ``PoisonQueue`` shows it: its id and its JSON text."""

    @property
    def id(self) -> int | str: ...

    @property
    def body(self) -> str: ...


@runtime_checkable
class PoisonQueue(Protocol):
    """The messages the queue gave up on (``<queue>-poison``, after 5 failed deliveries), to
    list and move back (real: Azure Storage Queues; local: SQLite). ``intake replay`` and the
    local pages read it; the same adapter object is the ``Queue``."""

    @property
    def name(self) -> str:
        """The queue's own name (``intake-steps``)."""
        ...

    @property
    def poison_name(self) -> str:
        """The poison queue's name (``<name>-poison``)."""
        ...

    def peek(self, queue: str | None = None) -> Sequence[PoisonedMessage]:
        """The messages at the front of ``queue`` (default: the queue itself), oldest first,
        left in place."""
        ...

    def requeue_poison(self, message_id: int | str) -> bool:
        """Move one poison message back onto the queue with a fresh dequeue count; False when
        it is no longer in the poison queue."""
        ...


class Mailbox(Protocol):
    """The sender mailbox's Inbox, where clients' replies arrive (real: Graph delta query;
    local: the SQLite inbox fed by ``POST /dev/api/inbox``)."""

    def read_new(self, watermark: str | None) -> tuple[list[InboundMessage], str]:
        """The messages that arrived since ``watermark`` (None: from the beginning of what
        the mailbox keeps), oldest first, and the watermark to read from next time. Reading
        from the same watermark twice gives the same messages again: the caller makes
        handling them happen once."""
        ...

    def attachments(self, message: InboundMessage, *, max_bytes: int) -> list[InboundAttachment]:
        """The files attached to ``message``; one larger than ``max_bytes`` comes with its
        name, type and size and no content (it is not downloaded)."""
        ...


class ServiceHooks(Protocol):
    """DevOps service hook subscriptions (``python -m intake hooks``, the doctor); DevOps only:
    the local board announces changes itself, there is nothing to subscribe to."""

    def project_id(self) -> str:
        """The id (GUID) of the configured project: subscriptions filter on it."""
        ...

    def subscriptions(self) -> list[HookSubscription]:
        """The organisation's Web Hooks subscriptions to work item events (read-only)."""
        ...

    def create_subscription(self, subscription: HookSubscription) -> HookSubscription:
        """Create ``subscription``; the answer carries its id."""
        ...

    def update_subscription(self, subscription: HookSubscription) -> HookSubscription:
        """Replace the subscription ``subscription.id`` with ``subscription`` (enabled)."""
        ...


@dataclass
class Services:
    """One adapter per port, chosen by ``bootstrap``; the workflow sees nothing else."""

    settings: Settings
    store: Store
    queue: Queue
    work_items: WorkItems
    mailer: Mailer
    channel: Channel
    field_maps: dict[str, Any] = field(default_factory=dict)
    # Entra group membership (the scrum masters' group); None: no group is consulted.
    directory: Directory | None = None
    # What time it is for the workflow's own timings (how old an intent is); tests move it.
    clock: Callable[[], datetime] = utcnow
    # The keys of the clients' status links (bootstrap: the settings' or the data folder's;
    # this default is a random key for this process only, for services built by hand).
    status_keys: StatusKeys = field(default_factory=StatusKeys.ephemeral)
    # What the follow-up timer keeps between runs; None: follow-ups are off (no store for them).
    follow_ups: FollowUps | None = None
    # The queue's poison messages, for ``intake replay`` (the queue adapter itself); None: the
    # queue cannot list them (a replay then queues a fresh message).
    poison: PoisonQueue | None = None
    # The sender mailbox's Inbox (clients' replies); None: replies are not read.
    mailbox: Mailbox | None = None
