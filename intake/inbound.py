"""Clients' replies by email become comments (issue 14; DESIGN "After triage").

The follow_up timer calls ``read_replies``: read what arrived in the sender mailbox's Inbox
since the stored watermark (Graph: the delta link), handle each message, then move the
watermark. Each message is handled exactly once, however often it is read:

- ``claim_effect("reply:{internetMessageId}")`` says handling began. A message read again
  whose claim is there was handled, or a run crashed while handling it: every effect below
  is then done again through its own key, which finds what the first run did (the comment
  by its key, each attachment by its key, the request's step never overwritten, the
  coordinator's forward by its email key), so nothing is lost and nothing said twice.
- The watermark moves only after every message read was handled: a crash re-reads.

What each message becomes:
- a person's reply to a request (``inbound_mail.match``): a comment on its work item
  ("Reply from {client} by email:" and the text without the quoted history), its attachments
  up to ``INTAKE_REPLY_ATTACHMENT_MAX_BYTES`` attached and linked, a short note in the
  request's triage thread, and the reply recorded on the request (the status page shows it).
  A reply to a Closed request reopens it to the planning state within
  ``INTAKE_REOPEN_DAYS`` of its closing; later, it becomes a new request (whose confirmation
  email tells the client its number) linked to the old work item, whose comment names it.
- an automatic reply (RFC 3834, out-of-office) to a request: recorded on the page only.
- anything else: forwarded to the coordinator; nothing is written anywhere.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from intake.attempts import record_attempt
from intake.client_status import reply_result
from intake.errors import ExternalError, ExternalRejected, IntakeError, RequestNotFound
from intake.inbound_mail import (
    MAX_REPLY_CHARS,
    InboundMessage,
    comment_html,
    html_to_text,
    is_automatic_reply,
    match,
    referenced_ids,
    reply_text,
    same_address,
    subject_number,
)
from intake.models import Comment, Email, Request, RequestRecord, Step, Thread
from intake.ports import FollowUps, Mailbox, Services
from intake.text_rules import clean_text

log = logging.getLogger(__name__)

INBOX_CURSOR = "inbox"
REQUEST_TAG = re.compile(r"^intake-([0-9a-f]{16})$")  # ``Request.tag`` of every work item
NEW_REQUEST_FORM = "email-reply"  # the form id of a request made from a late reply
RELATED = "System.LinkTypes.Related"
MESSAGE_TRIES = 3  # runs that may refuse a message before it goes to the coordinator


@dataclass
class InboxRun:
    """What one read of the Inbox did (logged; returned to tests)."""

    read: int = 0
    replies: list[str] = field(default_factory=list)
    automatic: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def handled(self) -> int:
        return len(self.replies) + len(self.automatic) + len(self.forwarded) + len(self.ignored)


def read_replies(services: Services) -> InboxRun:
    """One read of the Inbox: every new message handled once, then the watermark moved."""
    run = InboxRun()
    mailbox, follow_ups = services.mailbox, services.follow_ups
    if mailbox is None or follow_ups is None or not services.settings.read_inbox:
        return run
    try:
        messages, watermark = mailbox.read_new(follow_ups.cursor(INBOX_CURSOR))
        run.read = len(messages)
        for message in messages:
            try:
                outcome = handle_message(message, services, mailbox, follow_ups)
            except IntakeError as exc:
                if isinstance(exc, ExternalError) and exc.transient:
                    raise
                outcome = after_permanent_failure(message, exc, services, follow_ups)
            getattr(run, outcome).append(message.internet_message_id)
        follow_ups.set_cursor(INBOX_CURSOR, watermark)
    except IntakeError as exc:
        # The watermark stays: the next run reads the same messages again, and what this run
        # did is found by its keys. The rest of the follow-up run goes on meanwhile.
        run.error = exc.title
        log.warning(
            "inbox: stopped after %d handled (%s); next run resumes", run.handled, exc.title
        )
        return run
    if messages:
        log.info(
            "inbox: %d read, %d replies, %d automatic, %d forwarded, %d ignored",
            run.read,
            len(run.replies),
            len(run.automatic),
            len(run.forwarded),
            len(run.ignored),
        )
    return run


def after_permanent_failure(
    message: InboundMessage, exc: IntakeError, services: Services, follow_ups: FollowUps
) -> str:
    """A message whose handling was refused (a 4xx, a request without a work item): tried
    again by the next runs (a refusal can be passing: a work item locked for a moment) up
    to ``MESSAGE_TRIES`` times in all, then forwarded to the coordinator with the reason, so
    no reply is ever lost and one bad message does not hold up the Inbox for ever."""
    token = uuid.uuid4().hex
    for number in range(1, MESSAGE_TRIES + 1):
        stored = follow_ups.claim_effect(f"{message.effect_key}:refused:{number}", {"by": token})
        if stored["by"] == token:
            break
    else:
        number = MESSAGE_TRIES
    if number < MESSAGE_TRIES:
        raise exc
    log.error("inbox: %s refused %d times (%s); forwarded", message.effect_key, number, exc.title)
    forward_to_coordinator(message, services, reason=exc.title)
    return "forwarded"


def handle_message(
    message: InboundMessage, services: Services, mailbox: Mailbox, follow_ups: FollowUps
) -> str:
    """Handle one message; returns what it was (an ``InboxRun`` list's name)."""
    if not message.internet_message_id or same_address(
        message.sender, services.settings.mail_sender
    ):
        return "ignored"  # nothing to key it by, or our own mail looping back
    claim = {"at": services.clock().isoformat(), "run": uuid.uuid4().hex}
    first = follow_ups.claim_effect(message.effect_key, claim) == claim
    automatic = is_automatic_reply(message)
    record = _matching_request(message, services)
    if record is None:
        if automatic:
            return "ignored"  # RFC 3834: never answer, never forward an automatic reply
        if same_address(message.sender, str(services.settings.coordinator_email)):
            return "ignored"  # the coordinator answering a forward: no forward of a forward
        forward_to_coordinator(message, services)
        return "forwarded"
    if automatic:
        _record_reply(record, message, services, text="", automatic=True)
        return "automatic"
    write_reply(record, message, services, mailbox, first=first)
    return "replies"


def _matching_request(message: InboundMessage, services: Services) -> RequestRecord | None:
    store = services.store
    by_reference = None
    for message_id in referenced_ids(message):
        request_id = store.request_for_message(message_id)
        if request_id is not None:
            by_reference = _request_and_client(request_id, services)
            if by_reference is not None:
                break
    by_tag = None
    number = subject_number(message.subject)
    if number is not None:
        request_id = _request_of_work_item(number, services)
        if request_id is not None:
            by_tag = _request_and_client(request_id, services)
    found = match(
        message,
        by_reference=(by_reference[0].request.id, by_reference[1]) if by_reference else None,
        by_tag=(by_tag[0].request.id, by_tag[1]) if by_tag else None,
    )
    if found.request_id is None:
        return None
    for candidate in (by_reference, by_tag):
        if candidate is not None and candidate[0].request.id == found.request_id:
            return candidate[0]
    return None


def _request_and_client(request_id: str, services: Services) -> tuple[RequestRecord, str] | None:
    try:
        record = services.store.get_request(request_id)
    except RequestNotFound:
        return None
    return record, str(record.request.client_email)


def _request_of_work_item(number: int, services: Services) -> str | None:
    """The request whose work item is ``number``: its request id field says so (a PBI's or a
    Task's holds ``<id>/pbi``: not a request's own item), or, for an item made before that
    field, its ``intake-<id>`` tag."""
    try:
        item = services.work_items.get(number)
    except ExternalRejected as exc:
        if exc.remote_status == 404:
            return None
        raise
    key = item.fields.get(services.settings.request_id_field)
    if isinstance(key, str) and key:
        return None if "/" in key else key
    for tag in str(item.fields.get("System.Tags", "")).split(";"):
        found = REQUEST_TAG.match(tag.strip())
        if found:
            return found.group(1)
    return None


def write_reply(
    record: RequestRecord,
    message: InboundMessage,
    services: Services,
    mailbox: Mailbox,
    *,
    first: bool,
) -> None:
    """A person's reply to ``record``: what happens to a Closed request (decided once), the
    attachments, the comment, the triage note, the record; each effect once by its key."""
    request, work_item_id = record.request, record.created_work_item_id()
    key = message.effect_key
    text = reply_text(message)
    # Decided once (write-once claim): a re-run after a reopen sees the new state, and must
    # not then decide differently.
    action = services.store.claim(
        request.id, key, {"action": _closed_action(work_item_id, services)}
    )["action"]
    names = _attach_files(work_item_id, message, services, mailbox)
    html_text = comment_html(request.client_name, text, names)
    if action == "new_request":
        new_id, new_number = open_follow_up_request(record, message, text, services)
        named = f"#{new_number}" if new_number is not None else html.escape(new_id)
        html_text += (
            f"<p><i>This request was closed more than {services.settings.reopen_days} days "
            f"ago: the reply became a new request, {named}.</i></p>"
        )
    services.work_items.add_comment(
        work_item_id, Comment(key=key, html=html_text, first_attempt=first)
    )
    if action == "reopen":
        services.work_items.set_state(work_item_id, services.settings.state_planning)
    _note_in_thread(record, message, action, services)
    _record_reply(record, message, services, text=text, automatic=False, action=action)


def _closed_action(work_item_id: int, services: Services) -> str:
    """``comment`` for an open request; for a Closed one, ``reopen`` within the reopen
    window of its closing, else ``new_request``."""
    settings = services.settings
    item = services.work_items.get(work_item_id)
    if item.state.strip().lower() != settings.state_closed.strip().lower():
        return "comment"
    closed_at = closed_since(services.work_items.updates(work_item_id), settings.state_closed)
    if closed_at is None:
        return "reopen"  # closed, but no revision says when: the client's benefit of doubt
    if services.clock() - closed_at <= timedelta(days=settings.reopen_days):
        return "reopen"
    return "new_request"


def closed_since(updates: list[dict[str, Any]], closed_state: str) -> datetime | None:
    """When the work item last entered ``closed_state``, from its DevOps updates."""
    found: datetime | None = None
    for update in updates:
        fields = update.get("fields") or {}
        state = (fields.get("System.State") or {}).get("newValue")
        changed = (fields.get("System.ChangedDate") or {}).get("newValue")
        if isinstance(state, str) and state.strip().lower() == closed_state.strip().lower():
            if isinstance(changed, str):
                found = datetime.fromisoformat(changed.replace("Z", "+00:00"))
    return found


def _attach_files(
    work_item_id: int, message: InboundMessage, services: Services, mailbox: Mailbox
) -> tuple[str, ...]:
    """Attach each file within the size limit (once per key); every file's name is listed,
    a larger one marked as not copied."""
    if not message.has_attachments:
        return ()
    limit = services.settings.reply_attachment_max_bytes
    names = []
    for index, attachment in enumerate(mailbox.attachments(message, max_bytes=limit), start=1):
        if attachment.content and attachment.size <= limit:
            services.work_items.add_attachment(
                work_item_id, attachment, key=f"{message.effect_key}:{index}"
            )
            names.append(attachment.name)
        else:
            names.append(f"{attachment.name} (too large to copy: {attachment.size} bytes)")
    return tuple(names)


def _note_in_thread(
    record: RequestRecord, message: InboundMessage, action: str, services: Services
) -> None:
    """A short note in the request's triage thread (no client text: it is on the item)."""
    card = record.result(Step.POST_TRIAGE_CARD)
    if not card.get("activity_id"):
        return  # no triage thread (yet): the comment is enough
    number = record.created_work_item_id()
    extra = {
        "reopen": f" It was closed: it is back in {services.settings.state_planning}.",
        "new_request": " It was closed long ago: the reply became a new request, linked.",
    }.get(action, "")
    text = f"The client replied by email; the reply is a comment on #{number}.{extra}"
    key = f"{message.effect_key}:note"
    attempt = record_attempt(record, key, services)
    if attempt.earlier_unknown:
        # Teams cannot be asked whether an earlier attempt posted (docs/reliability.md).
        log.warning("request %s: an earlier attempt may have posted the note", record.request.id)
    try:
        services.channel.reply(
            Thread(str(card["conversation_id"]), str(card["activity_id"])), text, key=key
        )
    except ExternalError as exc:
        attempt.failed(exc, record.request.id, services)
        raise


def _record_reply(
    record: RequestRecord,
    message: InboundMessage,
    services: Services,
    *,
    text: str,
    automatic: bool,
    action: str = "",
) -> None:
    services.store.record_step(
        record.request.id,
        message.effect_key,
        reply_result(
            at=services.clock(),
            text=text,
            automatic=automatic,
            subject=message.subject,
            action=action,
        ),
    )


def open_follow_up_request(
    record: RequestRecord, message: InboundMessage, text: str, services: Services
) -> tuple[str, int | None]:
    """A late reply to a closed request becomes a new request of its own, once (its
    idempotency key is the reply's message id). Its steps run now, so its confirmation email
    gives the client the new number, and its work item is linked to the old one (Related).
    Returns the new request's id and work item number (None if its steps did not get that
    far: they are resumed like any request's, and the link is then left out)."""
    from intake.workflow import run_steps

    old = record.request
    number = record.created_work_item_id()
    follow_up = Request(
        id=hashlib.sha256(message.internet_message_id.encode()).hexdigest()[:16],
        form_id=NEW_REQUEST_FORM,
        response_id=message.internet_message_id,
        title=f"{old.title} (follows #{number})"[:255],
        description=f"The client replied by email to closed request #{number}:\n\n{text}",
        request_type=old.request_type,
        environment=old.environment,
        severity=old.severity,
        client_name=old.client_name,
        client_email=old.client_email,
        client_email_from_responder=old.client_email_from_responder,
        organisation=old.organisation,
        received_at=services.clock(),
    )
    stored, _ = services.store.add_request(RequestRecord(request=follow_up))
    done = run_steps(stored.request.id, services)
    new_number = done.work_item_id
    if new_number is not None:
        services.work_items.add_link(new_number, number, RELATED)
    return stored.request.id, new_number


def forward_to_coordinator(message: InboundMessage, services: Services, *, reason: str = "") -> str:
    """An email nobody's request claims (or one that could not be filed: ``reason``) goes to
    the coordinator, once (its key is derived from the message id, so Sent Items finds a
    forward that already went)."""
    digest = hashlib.sha256(message.internet_message_id.encode()).hexdigest()[:32]
    # The whole message (history included: the coordinator needs the context), capped.
    whole = message.text if message.text.strip() else html_to_text(message.html)
    text = clean_text(whole)[:MAX_REPLY_CHARS]
    if reason:
        label = "Unfiled reply"
        why = (
            f"This email reached the Intake mailbox and could not be filed ({reason}); part "
            "of it may already be on the request."
        )
    else:
        label = "Unmatched reply"
        why = (
            "This email reached the Intake mailbox and matches no request (or its sender is "
            "not the request's client). Nothing was written anywhere."
        )
    subject = " ".join(clean_text(f"{label}: {message.subject}", one_line=True).split())
    email = Email(
        key=f"inbound-{digest}-forward",
        to=(str(services.settings.coordinator_email),),
        reply_to=(message.sender,),  # answering it answers the person who wrote
        subject=subject[:200],
        html=(
            f"<p>{html.escape(why)}</p><p><b>From:</b> {html.escape(message.sender)}<br>"
            f"<b>Subject:</b> {html.escape(message.subject)}</p>"
            f"<p>{html.escape(text).replace(chr(10), '<br>')}</p>"
        ),
        text=f"{why}\n\nFrom: {message.sender}\nSubject: {message.subject}\n\n{text}",
    )
    return services.mailer.send(email)
