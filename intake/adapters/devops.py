"""WorkItems on Azure DevOps, through the azure-devops SDK's 7.1 clients.

Every call runs under ``with_retries`` (429/503 honour ``Retry-After``, bounded) and raises
``intake.errors`` only (see ``devops_client``). Field and state changes carry a ``test /rev``
operation: a 412 means someone changed the work item meanwhile, so it is read again and the
change applied once more, once. Effects that are not naturally idempotent look first:
a retried create looks for its key in the request id field, a comment is added only if no
comment of the work item already carries its key.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from intake.adapters.devops_client import SYSTEM, WIT_AREA, DevOpsClients, sdk_call
from intake.adapters.retry import with_retries
from intake.config import Settings
from intake.errors import StaleWorkItem
from intake.inbound_mail import InboundAttachment
from intake.models import (
    Comment,
    DiscussionComment,
    Identity,
    Iteration,
    WorkItem,
    WorkItemDraft,
    WorkItemRef,
)

T = TypeVar("T")
UPDATES_LOCATION = "6570bf97-d02c-4a91-8d93-3abe9895b1a9"  # workItems/{id}/updates
UPDATES_PAGE = 200  # revisions per page of the updates read
IDENTITY_TTL = 3600.0  # seconds a looked-up identity (or its absence) is trusted
KEY_ATTRIBUTE = "data-intake-key"
ATTACHMENTS_LOCATION = "e07b5fa4-1499-494d-a496-64b860fd64ff"  # {project}/_apis/wit/attachments
ATTACHMENT_MARKER = "intake:"  # an AttachedFile relation's comment: intake:{effect key}


class DevOpsWorkItems:
    def __init__(self, settings: Settings, clients: DevOpsClients | None = None) -> None:
        self.settings = settings
        self.project = settings.devops_project
        # DevOps names a project's default team "<project> Team"; the 7.1 spec routes WIQL
        # and team settings through a team, so one is always named.
        self.team = settings.devops_team or f"{settings.devops_project} Team"
        self.clients = clients or DevOpsClients(settings)
        self._identities: dict[str, tuple[float, Identity | None]] = {}
        self._identities_lock = threading.Lock()
        self._seen = LastWritten()
        self._categories: dict[str, dict[str, str]] = {}  # work item type -> state -> category

    def url(self, work_item_id: int) -> str:
        return f"{self.clients.org_url}/{quote(self.project)}/_workitems/edit/{work_item_id}"

    # --- work items ---------------------------------------------------------------------
    def create(self, draft: WorkItemDraft, *, key: str) -> WorkItemRef:
        fields = draft.field_values()
        fields[self.settings.request_id_field] = key
        if draft.tags:
            fields["System.Tags"] = "; ".join(dict.fromkeys(draft.tags))
        document = [_op("add", f"/fields/{name}", value) for name, value in fields.items()]
        tries = 0

        def attempt() -> WorkItemRef:
            nonlocal tries
            tries += 1
            if tries > 1:  # the failed try may have created it after all
                existing = self._find_by_key(key)
                if existing is not None:
                    return existing
            wit = self.clients.wit()
            item = sdk_call(lambda: wit.create_work_item(document, self.project, draft.type))
            self._seen.put(int(item.id), item)
            return WorkItemRef(int(item.id), self.url(int(item.id)))

        return with_retries(attempt, system=SYSTEM)

    def find_created(self, key: str, *, legacy_tag: str = "") -> WorkItemRef | None:
        def look() -> WorkItemRef | None:
            found = self._find_by_key(key)
            if found is None and legacy_tag:  # made before the field replaced the tag
                found = self._find_by_tag(legacy_tag)
            return found

        return with_retries(look, system=SYSTEM)

    def get(self, work_item_id: int) -> WorkItem:
        return with_retries(lambda: self._get(work_item_id), system=SYSTEM)

    def set_state(self, work_item_id: int, state: str) -> None:
        def change(item: Any) -> list[Any]:
            return [] if _state(item) == state else [_op("add", "/fields/System.State", state)]

        self._patch_guarded(work_item_id, change)

    def update(
        self,
        work_item_id: int,
        *,
        fields: dict[str, Any] | None = None,
        add_tags: tuple[str, ...] = (),
    ) -> None:
        def change(item: Any) -> list[Any]:
            document = [_op("add", f"/fields/{k}", v) for k, v in (fields or {}).items()]
            tags = _tags(item)
            merged = tags + [t for t in add_tags if t.lower() not in {x.lower() for x in tags}]
            if merged != tags:
                document.append(_op("add", "/fields/System.Tags", "; ".join(merged)))
            return document

        self._patch_guarded(work_item_id, change)

    def add_link(self, source_id: int, target_id: int, relation: str) -> None:
        target_url = f"{self._wit_url()}/_apis/wit/workItems/{target_id}"

        def change(item: Any) -> list[Any]:
            for known in item.relations or []:
                if known.rel == relation and known.url.lower().endswith(f"/{target_id}"):
                    return []
            return [_op("add", "/relations/-", {"rel": relation, "url": target_url})]

        self._patch_guarded(source_id, change, expand="relations")

    def add_attachment(self, work_item_id: int, attachment: InboundAttachment, *, key: str) -> str:
        """``POST {project}/_apis/wit/attachments?fileName=`` (the bytes, octet-stream), then
        an ``AttachedFile`` relation whose comment carries ``key``: a retry that finds the
        relation uploads nothing. A crash between the upload and the link leaves an unlinked
        upload behind, which DevOps cleans up; the retry uploads again and links once."""
        marker = f"{ATTACHMENT_MARKER}{key}"

        def linked(item: Any) -> str | None:
            for known in item.relations or []:
                if (
                    known.rel == "AttachedFile"
                    and (known.attributes or {}).get("comment") == marker
                ):
                    return str(known.url)
            return None

        found = with_retries(lambda: linked(self._read(work_item_id, "relations")), system=SYSTEM)
        if found is not None:
            return found
        url = with_retries(lambda: self._upload(attachment), system=SYSTEM)
        relation = {
            "rel": "AttachedFile",
            "url": url,
            "attributes": {"comment": marker, "name": attachment.name},
        }

        def change(item: Any) -> list[Any]:
            if linked(item) is not None:
                return []
            return [_op("add", "/relations/-", relation)]

        self._patch_guarded(work_item_id, change, expand="relations")
        return url

    def _upload(self, attachment: InboundAttachment) -> str:
        # The SDK's create_attachment streams a generator (chunked transfer encoding); the
        # bytes are in memory already (bounded by the reply attachment limit), so they go as
        # one body through the same configured client (timeouts, our errors, api-version).
        wit = self.clients.wit()
        reference = sdk_call(
            lambda: wit._deserialize(
                "AttachmentReference",
                wit._send(
                    http_method="POST",
                    location_id=ATTACHMENTS_LOCATION,
                    version="7.1",
                    route_values={"project": self.project},
                    query_parameters={"fileName": attachment.name},
                    content=attachment.content,
                    media_type="application/octet-stream",
                ),
            )
        )
        return str(reference.url)

    # --- history (the follow-up timer) ---------------------------------------------------------
    def updates(self, work_item_id: int) -> list[dict[str, Any]]:
        """``GET {project}/_apis/wit/workItems/{id}/updates`` page by page (``$top``/``$skip``),
        as DevOps' own JSON: the SDK's models would turn dates and field values into objects
        the SLA rules do not read."""
        wit = self.clients.wit()
        found: list[dict[str, Any]] = []
        while True:
            skip = len(found)

            def page(skip: int = skip) -> Any:
                response = wit._send(
                    http_method="GET",
                    location_id=UPDATES_LOCATION,
                    version="7.1",
                    route_values={"project": self.project, "id": work_item_id},
                    query_parameters={"$top": UPDATES_PAGE, "$skip": skip},
                )
                body = response.json()
                # The spec types the answer as an array; DevOps wraps arrays in {count, value}.
                return body if isinstance(body, list) else body.get("value", [])

            values = with_retries(lambda: sdk_call(page), system=SYSTEM)
            found.extend(values)
            if len(values) < UPDATES_PAGE:
                return found

    def changed_since(self, watermark: datetime) -> list[int]:
        """WIQL on ``System.ChangedDate`` with ``timePrecision=true``: without it DevOps
        compares dates by day and a sweep would re-read everything changed today."""
        from azure.devops.v7_1.work_item_tracking.models import TeamContext, Wiql

        tag = (self.settings.tags or ["intake"])[0].replace("'", "''")
        # To the millisecond (DevOps' own precision), cut down, never rounded up: a change in
        # the same millisecond as the watermark is found again rather than missed.
        since = watermark.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        query = (
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"
            f" AND [System.Tags] CONTAINS '{tag}' AND [System.ChangedDate] > '{since}'"
            " ORDER BY [System.ChangedDate]"
        )
        wit = self.clients.wit()
        context = TeamContext(project=self.project, team=self.team)
        result = with_retries(
            lambda: sdk_call(
                lambda: wit.query_by_wiql(Wiql(query=query), context, time_precision=True)
            ),
            system=SYSTEM,
        )
        return [int(item.id) for item in result.work_items or []]

    # --- discussion -----------------------------------------------------------------------
    def add_comment(self, work_item_id: int, comment: Comment) -> int:
        text = comment_html(comment)
        tries = 0

        def attempt() -> int:
            nonlocal tries
            tries += 1
            # Look first unless this is the very first try of a first run (nothing to find).
            if tries > 1 or not comment.first_attempt:
                existing = self._find_comment(work_item_id, comment.key, text)
                if existing is not None:
                    return existing
            from azure.devops.v7_1.work_item_tracking.models import CommentCreate

            wit = self.clients.wit()
            added = sdk_call(
                lambda: wit.add_comment(CommentCreate(text=text), self.project, work_item_id)
            )
            return int(added.id)

        return with_retries(attempt, system=SYSTEM)

    def discussion(self, work_item_id: int) -> list[DiscussionComment]:
        """``GET {project}/_apis/wit/workItems/{id}/comments`` page by page, deleted ones left
        out. A Markdown comment is read as DevOps renders it (``$expand=renderedText``)."""
        wit = self.clients.wit()
        found: list[DiscussionComment] = []
        token: str | None = None

        def page_after(after: str | None) -> Any:
            return wit.get_comments(
                self.project, work_item_id, top=200, continuation_token=after, expand="renderedText"
            )

        while True:
            page = with_retries(
                lambda: sdk_call(lambda: page_after(token)),  # noqa: B023 - called right here
                system=SYSTEM,
            )
            found += [self._comment(known) for known in page.comments or [] if not known.is_deleted]
            token = page.continuation_token
            if not token:
                return sorted(found, key=lambda comment: comment.id)

    def _comment(self, known: Any) -> DiscussionComment:
        text = str(known.text or "")
        if str(known.format or "").lower() in ("markdown", "0") and known.rendered_text:
            text = str(known.rendered_text)
        by = known.created_by
        author = Identity(
            id=str(getattr(by, "id", "") or ""),
            display_name=str(getattr(by, "display_name", "") or ""),
            email=str(getattr(by, "unique_name", "") or ""),
        )
        created = known.created_date or datetime.now(UTC)
        return DiscussionComment(
            id=int(known.id),
            html=text,
            author=author,
            created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
            by_intake=self._is_intake(author, text),
        )

    def _is_intake(self, author: Identity, text: str) -> bool:
        """Intake's own comment: written as the identity Intake acts as (a setting: the PAT's
        owner or the service principal), or carrying our key attribute (what we add)."""
        own = self.settings.devops_identity.strip().lower()
        if own and own in (author.id.lower(), author.email.lower()):
            return True
        return f"{KEY_ATTRIBUTE}=" in text

    def find_identity(self, email: str) -> Identity | None:
        key = email.strip().lower()
        with self._identities_lock:
            cached = self._identities.get(key)
        if cached is not None and time.monotonic() - cached[0] < IDENTITY_TTL:
            return cached[1]
        identity = with_retries(lambda: self._lookup_identity(key), system=SYSTEM)
        with self._identities_lock:
            self._identities[key] = (time.monotonic(), identity)
        return identity

    def current_iteration(self) -> Iteration | None:
        from azure.devops.v7_1.work.models import TeamContext

        work = self.clients.work()
        context = TeamContext(project=self.project, team=self.team)
        iterations = with_retries(
            lambda: sdk_call(lambda: work.get_team_iterations(context, timeframe="current")),
            system=SYSTEM,
        )
        if not iterations:
            return None
        first = iterations[0]
        return Iteration(id=str(first.id), name=str(first.name), path=str(first.path))

    def coming_iterations(self) -> list[Iteration]:
        from azure.devops.v7_1.work.models import TeamContext

        work = self.clients.work()
        context = TeamContext(project=self.project, team=self.team)
        iterations = with_retries(
            lambda: sdk_call(lambda: work.get_team_iterations(context, timeframe="future")),
            system=SYSTEM,
        )
        return [Iteration(id=str(i.id), name=str(i.name), path=str(i.path)) for i in iterations]

    def state_categories(self, work_item_type: str) -> dict[str, str]:
        """Read once per process and type: a process's states change rarely, and a changed
        one is read again after a restart (``make doctor`` checks them meanwhile)."""
        known = self._categories.get(work_item_type)
        if known is not None:
            return known
        wit = self.clients.wit()
        states = with_retries(
            lambda: sdk_call(lambda: wit.get_work_item_type_states(self.project, work_item_type)),
            system=SYSTEM,
        )
        found = {str(s.name): str(s.category or "") for s in states or []}
        self._categories[work_item_type] = found
        return found

    # --- the calls behind them --------------------------------------------------------------
    def _find_by_key(self, key: str) -> WorkItemRef | None:
        field = self.settings.request_id_field  # a reference name (the settings check it)
        return self._first(f"[{field}] = '{_wiql_text(key)}'")

    def _find_by_tag(self, tag: str) -> WorkItemRef | None:
        return self._first(f"[System.Tags] CONTAINS '{_wiql_text(tag)}'")

    def _first(self, condition: str) -> WorkItemRef | None:
        """The lowest-numbered work item of the project meeting a WIQL ``condition``."""
        from azure.devops.v7_1.work_item_tracking.models import TeamContext, Wiql

        query = (
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"
            f" AND {condition} ORDER BY [System.Id]"
        )
        wit = self.clients.wit()
        context = TeamContext(project=self.project, team=self.team)
        result = sdk_call(lambda: wit.query_by_wiql(Wiql(query=query), context, top=1))
        if not result.work_items:
            return None
        work_item_id = int(result.work_items[0].id)
        return WorkItemRef(work_item_id, self.url(work_item_id))

    def _get(self, work_item_id: int) -> WorkItem:
        item = self._read(work_item_id)
        fields = dict(item.fields or {})
        return WorkItem(
            id=int(item.id),
            rev=int(item.rev),
            type=str(fields.get("System.WorkItemType", "")),
            state=str(fields.get("System.State", "")),
            title=str(fields.get("System.Title", "")),
            url=self.url(int(item.id)),
            fields=fields,
        )

    def _read(self, work_item_id: int, expand: str | None = None) -> Any:
        wit = self.clients.wit()
        return sdk_call(lambda: wit.get_work_item(work_item_id, self.project, expand=expand))

    def _patch_guarded(
        self, work_item_id: int, change: Callable[[Any], list[Any]], expand: str | None = None
    ) -> None:
        """Read, compute the change, PATCH it behind ``test /rev``; on 412 once more."""

        def attempt() -> None:
            # The work item as this worker last wrote it saves the read: the ``test /rev``
            # still guards the change (a stale copy gets 412, then a fresh read). Deciding
            # there is nothing to do always takes a fresh read.
            item: Any = None if expand else self._seen.take(work_item_id)
            document = change(item) if item is not None else []
            if not document:
                item = self._read(work_item_id, expand)
                document = change(item)
            if not document:
                return  # already as wanted: a replay changes nothing
            document.insert(0, _op("test", "/rev", int(item.rev)))
            wit = self.clients.wit()
            updated = sdk_call(lambda: wit.update_work_item(document, work_item_id, self.project))
            self._seen.put(work_item_id, updated)

        try:
            with_retries(attempt, system=SYSTEM)
        except StaleWorkItem:
            with_retries(attempt, system=SYSTEM)

    def _find_comment(self, work_item_id: int, key: str, text: str) -> int | None:
        """The id of a comment of ours: it carries ``key``, or (if DevOps dropped the
        attribute) reads exactly like ``text``."""
        wit = self.clients.wit()
        marker, plain = f'{KEY_ATTRIBUTE}="{html.escape(key)}"', _plain(text)
        token: str | None = None

        def page_after(after: str | None) -> Any:
            return wit.get_comments(self.project, work_item_id, top=200, continuation_token=after)

        while True:
            page = sdk_call(lambda: page_after(token))  # noqa: B023 - called right here
            for known in page.comments or []:
                body = known.text or ""
                if marker in body or _plain(body) == plain:
                    return int(known.id)
            token = page.continuation_token
            if not token:
                return None

    def _lookup_identity(self, email: str) -> Identity | None:
        client = self.clients.identity()
        found = sdk_call(
            lambda: client.read_identities(
                search_filter="General", filter_value=email, query_membership="None"
            )
        )
        for candidate in found or []:
            if candidate.is_active is False:
                continue
            properties = candidate.properties or {}
            addresses = {
                str((properties.get(name) or {}).get("$value", "")).lower()
                for name in ("Mail", "Account")
            }
            if email in addresses:
                name = candidate.custom_display_name or candidate.provider_display_name or email
                return Identity(id=str(candidate.id), display_name=str(name), email=email)
        return None

    def _wit_url(self) -> str:
        return self.clients.resource_areas().get(WIT_AREA, self.clients.org_url)


class LastWritten:
    """The work items this worker created or updated last, as DevOps answered (a few hundred,
    most recent first): a state change right after a create needs no read."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, work_item_id: int, item: Any) -> None:
        if item is None or getattr(item, "rev", None) is None:
            return
        with self._lock:
            self._items[work_item_id] = item
            self._items.move_to_end(work_item_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def take(self, work_item_id: int) -> Any:
        """The copy, removed: whoever uses it writes back what DevOps answers next."""
        with self._lock:
            return self._items.pop(work_item_id, None)


def comment_html(comment: Comment) -> str:
    """The comment as DevOps gets it: the notifying mention first, our key on the wrapper."""
    body = comment.html
    if comment.mention is not None:
        body = f"{mention_html(comment.mention)} {body}"
    return f'<div {KEY_ATTRIBUTE}="{html.escape(comment.key)}">{body}</div>'


def mention_html(identity: Identity) -> str:
    """A mention that notifies: DevOps resolves ``data-vss-mention`` to the identity."""
    return (
        f'<a href="#" data-vss-mention="version:2.0,{html.escape(identity.id)}">'
        f"@{html.escape(identity.display_name)}</a>"
    )


def _wiql_text(text: str) -> str:
    """A WIQL string literal's content: a quote is doubled."""
    return text.replace("'", "''")


def _op(op: str, path: str, value: Any) -> Any:
    from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation

    return JsonPatchOperation(op=op, path=path, value=value)


def _state(item: Any) -> str:
    return str((item.fields or {}).get("System.State", ""))


def _tags(item: Any) -> list[str]:
    raw = str((item.fields or {}).get("System.Tags", "") or "")
    return [tag.strip() for tag in raw.split(";") if tag.strip()]


def _plain(text: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
