"""The follow-up timer tells each client what changed on their request: one email per settled
state change, one per ``#client`` comment (the rules: ``client_notify``).

Each email is said at most once. Its step (``notify:{item}:{rev}``,
``client-comment:{item}:{comment}``) is recorded on the request, which is what the rules and
the status page read; the email carries the request's effect key for that step, so a crash
between sending and recording is found again in Sent Items (``send_once``), and the request's
lease keeps a second timer run and the request's own steps from sending it at the same time.
Whatever cannot be done now (DevOps or mail down, a change still settling, the lease taken)
marks the work item changed again, so the next run looks at it again: nothing is lost.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from intake import client_notify, emails
from intake.attempts import send_once
from intake.client_notify import CommentNotice, NotifyPolicy, StateNotice, StateVerdict
from intake.client_status import client_email_result
from intake.errors import ExternalError, RequestNotFound
from intake.models import Email, RequestRecord, TrackedItem
from intake.ports import Services
from intake.status_page import status_link

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0


def tell_clients(work_item_ids: Iterable[int], services: Services) -> list[str]:
    """Tell the clients of these (just refreshed) work items what is due; the keys said."""
    follow_ups = services.follow_ups
    if follow_ups is None:
        return []
    said: list[str] = []
    for work_item_id in work_item_ids:
        item = follow_ups.item(work_item_id)
        if item is None:
            continue
        try:
            done, again = tell_client(item, services)
        except RequestNotFound:
            continue  # a cached item whose request is gone: nobody to tell
        except ExternalError as exc:
            log.warning("client updates of work item %d: %s; next run", work_item_id, exc.title)
            done, again = [], True
        said += done
        if again:
            follow_ups.mark_changed(work_item_id, services.clock())
    return said


def tell_client(item: TrackedItem, services: Services) -> tuple[list[str], bool]:
    """What is due for one work item, sent under its request's lease. Returns the keys said
    and whether the next run must look again."""
    store = services.store
    record = store.get_request(item.request_id)
    if record.work_item_id != item.work_item_id:
        return [], False  # a work item of the request's, not the request's own
    verdict = _state_verdict(item, record, services)
    if verdict.notice is None and not client_notify.needs_discussion(
        item.work_item_id, item.updates, record
    ):
        return [], verdict.settling  # nothing to say: no lease, no write
    owner = f"client-updates-{uuid.uuid4().hex}"
    if not store.acquire_lease(record.request.id, owner, LEASE_SECONDS):
        return [], True  # its steps are running: they may tell the client themselves
    try:
        record = store.get_request(item.request_id)  # as it is now that we hold it
        return _tell(item, record, services)
    finally:
        store.release_lease(record.request.id, owner)


def _tell(item: TrackedItem, record: RequestRecord, services: Services) -> tuple[list[str], bool]:
    said = _tell_comments(item, record, services)
    verdict = _state_verdict(item, record, services)
    if verdict.notice is not None:
        said.append(_send_state(record, verdict.notice, services))
    return said, verdict.settling


def _state_verdict(item: TrackedItem, record: RequestRecord, services: Services) -> StateVerdict:
    policy = NotifyPolicy.from_settings(services.settings)
    now = services.clock()
    return client_notify.state_verdict(item.work_item_id, item.updates, record, policy, now)


def _tell_comments(item: TrackedItem, record: RequestRecord, services: Services) -> list[str]:
    """Email the ``#client`` comments due. The discussion is read only when the history shows
    a comment not looked at yet; once each is sent, that is recorded up to its revision."""
    rev = client_notify.needs_discussion(item.work_item_id, item.updates, record)
    if rev is None:
        return []
    comments = services.work_items.discussion(item.work_item_id)
    due = client_notify.comments_due(
        item.work_item_id,
        comments,
        record,
        services.clock(),
        internal_urls=_internal_urls(services),
    )
    said = [_send_comment(record, notice, services) for notice in due]
    read = client_notify.comments_read_key(item.work_item_id, rev)
    services.store.record_step(record.request.id, read, {"read": True})
    return said


def _send_comment(record: RequestRecord, notice: CommentNotice, services: Services) -> str:
    number = record.created_work_item_id()
    email = emails.client_comment(
        record.request,
        number,
        record.effect_key(notice.key),
        message_html=notice.html,
        message_text=notice.text,
        status_url=status_link(record, services),
        reply_to=services.settings.mail_sender,
    )
    comment = {"comment_id": notice.comment_id, "text": notice.text, "at": notice.at.isoformat()}
    _send_and_record(record, notice.key, email, services, client_comment=comment)
    log.info("request %s: #client comment %d emailed", record.request.id, notice.comment_id)
    return notice.key


def _send_state(record: RequestRecord, notice: StateNotice, services: Services) -> str:
    number = record.created_work_item_id()
    email = emails.client_state_changed(
        record.request,
        number,
        record.effect_key(notice.key),
        label=notice.label,
        status_url=status_link(record, services),
        reply_to=services.settings.mail_sender,
    )
    notified = {"rev": notice.rev, "label": notice.label, "at": notice.at.isoformat()}
    _send_and_record(record, notice.key, email, services, notified=notified)
    log.info("request %s: state change (rev %d) emailed", record.request.id, notice.rev)
    return notice.key


def _send_and_record(
    record: RequestRecord, key: str, email: Email, services: Services, **details: object
) -> None:
    """Send ``email`` once and record it as the request's step ``key``, with ``details`` of
    what it told the client (the status page and the rules read them)."""
    message_id = send_once(record, email, services)
    result = client_email_result(email, message_id, services.clock())
    services.store.record_step(record.request.id, key, {**result, **details})


def _internal_urls(services: Services) -> list[str]:
    """Addresses a client never gets: DevOps (the organisation) and, locally, the board."""
    settings = services.settings
    urls = [settings.devops_org_url] if settings.devops_org_url else []
    if settings.is_local:
        urls.append(f"{settings.base_url}/dev/")
    return urls
