"""The recorded steps of one request: create the work item, tell the client and the
coordinator, move it to planning, @mention the client, post the triage card.

``STEP_PLAN`` says which steps each one waits for; ``workflow.run_steps`` runs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from intake import emails, telemetry
from intake.attempts import record_attempt, send_once
from intake.client_email_limits import client_email_allowance, skipped
from intake.client_status import client_email_result, state_result
from intake.description import describe_request
from intake.errors import ExternalError
from intake.models import (
    Comment,
    Identity,
    RequestRecord,
    Step,
    WorkItemDraft,
)
from intake.ports import Services
from intake.status_page import status_link
from intake.triage_views import new_triage_card

log = logging.getLogger(__name__)

# A step gets the request as recorded so far and ``first_run``: True when no earlier run of
# this request can have started any step, so nothing can exist yet and the lookups that make a
# replay safe (work item, email and comment by key) would only cost round trips.
StepFunction = Callable[..., dict[str, Any]]


def create_work_item(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    """Create the request's work item, unless one with its key exists (a crash after create).

    The key is in the request id field (``settings.request_id_field``), not a tag: a tag per
    request would fill the project's tag list for everyone. Items made before the field are
    still found by their ``intake-<id>`` tag."""
    settings, request = services.settings, record.request
    existing = (
        None
        if first_run
        else services.work_items.find_created(
            request.created_key(), legacy_tag=request.legacy_tag()
        )
    )
    if existing is not None:
        log.info("request %s: work item %s found by its key", request.id, existing.id)
        return {"work_item_id": existing.id, "url": existing.url, "reconciled": True}
    fields: dict[str, str] = {}
    if settings.client_email_field:
        fields[settings.client_email_field] = request.client_email
    draft = WorkItemDraft(
        type=settings.work_item_type,
        title=request.title,
        description_html=describe_request(request),
        tags=tuple(
            dict.fromkeys(
                [*settings.tags, *([request.request_type] if request.request_type else [])]
            )
        ),
        priority=priority_for(request.severity, settings.severity_priority),
        area_path=settings.area_path,
        iteration_path=settings.iteration_path,
        fields=fields,
    )
    ref = services.work_items.create(draft, key=request.created_key())
    telemetry.note(work_item_id=ref.id)
    log.info("request %s: work item %s created", request.id, ref.id)
    return {"work_item_id": ref.id, "url": ref.url}


def email_client(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    work_item_id = _work_item_id(record)
    allowance = client_email_allowance(record, services)
    if not allowance["send"]:
        return skipped(allowance)
    email = emails.client_confirmation(
        record.request,
        work_item_id,
        _key(record, Step.EMAIL_CLIENT),
        status_url=status_link(record, services),
        reply_to=services.settings.mail_sender,
    )
    message_id = send_once(record, email, services, first_run=first_run)
    return client_email_result(email, message_id, services.clock())


def email_coordinator(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    work_item_id = _work_item_id(record)
    allowance = client_email_allowance(record, services)
    email = emails.coordinator_new_request(
        record.request,
        work_item_id,
        record.result(Step.CREATE_WORK_ITEM)["url"],
        services.settings.coordinator_email,
        _key(record, Step.EMAIL_COORDINATOR),
        client_not_emailed="" if allowance["send"] else allowance["reason"],
    )
    return {"message_id": send_once(record, email, services, first_run=first_run)}


def move_to_planning(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    state = services.settings.state_planning
    services.work_items.set_state(_work_item_id(record), state)
    return state_result(state, services.clock())


def find_client_identity(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    """Look the client up in DevOps by email, beside the create: the answer decides how the
    planning message goes, and looking it up then would put a round trip on the critical path."""
    identity = services.work_items.find_identity(record.request.client_email)
    if identity is None:
        return {"identity": None}
    return {
        "identity": {
            "id": identity.id,
            "display_name": identity.display_name,
            "email": identity.email,
        }
    }


def tell_client_planning(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    """Tell the client we will triage, exactly once, and always say so on the work item.

    A client DevOps knows is @mentioned in the comment (DevOps notifies them); any other client
    (most have no account) gets the same words by email, and the comment names them in plain
    text and says they were told by email. The email goes first: the comment must never say
    an email went that did not. Both are keyed, so a retry repeats neither."""
    request, work_item_id = record.request, _work_item_id(record)
    found = record.result(Step.FIND_CLIENT_IDENTITY).get("identity")
    identity = Identity(**found) if found else None
    key = _key(record, Step.TELL_CLIENT_PLANNING)
    if identity is not None:
        comment = Comment(
            key=key, html=emails.PLANNING_WORDS, mention=identity, first_attempt=first_run
        )
        comment_id = services.work_items.add_comment(work_item_id, comment)
        return {"via": "comment", "comment_id": comment_id}
    allowance = client_email_allowance(record, services)
    if not allowance["send"]:
        return {"via": "email", **skipped(allowance)}
    email = emails.client_planning(
        request,
        work_item_id,
        key,
        status_url=status_link(record, services),
        reply_to=services.settings.mail_sender,
    )
    message_id = send_once(record, email, services, first_run=first_run)
    comment = Comment(
        key=key,
        html=emails.planning_comment_for_unknown_client(request),
        first_attempt=first_run,
    )
    comment_id = services.work_items.add_comment(work_item_id, comment)
    return {
        "via": "email",
        "comment_id": comment_id,
        **client_email_result(email, message_id, services.clock()),
    }


def post_triage_card(
    record: RequestRecord, services: Services, *, first_run: bool = False
) -> dict[str, Any]:
    work_item_id = _work_item_id(record)
    card = new_triage_card(record, services.settings, tuple(services.store.scrum_masters()))
    key = _key(record, Step.POST_TRIAGE_CARD)
    attempt = record_attempt(record, key, services)
    if attempt.earlier_unknown:
        # Teams cannot be asked whether an earlier attempt posted (no idempotency key, no
        # lookup): post again, and say so. docs/reliability.md measures this window.
        log.warning("request %s: an earlier attempt may have posted the card", record.request.id)
    try:
        thread = services.channel.post_card(card, key=key)
    except ExternalError as exc:
        attempt.failed(exc, record.request.id, services)
        raise
    telemetry.note(work_item_id=work_item_id, card_activity_id=thread.activity_id)
    return {"conversation_id": thread.conversation_id, "activity_id": thread.activity_id}


# Each step, and the steps that must be done before it. The client's confirmation goes before
# the planning message, so a client never hears "we will triage" before "we received".
# Steps ready together start in this order, the longest waits first: the card (the support
# team waits for it), then the two steps the planning message waits for; the coordinator's
# email last (nothing waits for it). Their store writes take turns in the same order.
STEP_PLAN: dict[Step, tuple[StepFunction, tuple[Step, ...]]] = {
    Step.CREATE_WORK_ITEM: (create_work_item, ()),
    Step.FIND_CLIENT_IDENTITY: (find_client_identity, ()),
    Step.POST_TRIAGE_CARD: (post_triage_card, (Step.CREATE_WORK_ITEM,)),
    Step.MOVE_TO_PLANNING: (move_to_planning, (Step.CREATE_WORK_ITEM,)),
    Step.EMAIL_CLIENT: (email_client, (Step.CREATE_WORK_ITEM,)),
    Step.TELL_CLIENT_PLANNING: (
        tell_client_planning,
        (Step.EMAIL_CLIENT, Step.MOVE_TO_PLANNING, Step.FIND_CLIENT_IDENTITY),
    ),
    Step.EMAIL_COORDINATOR: (email_coordinator, (Step.CREATE_WORK_ITEM,)),
}


def priority_for(severity: str, severity_priority: dict[str, int]) -> int | None:
    """DevOps priority (1 highest) for a severity answer, case-insensitively; None if unknown."""
    by_name = {name.strip().lower(): value for name, value in severity_priority.items()}
    return by_name.get(severity.strip().lower())


def _work_item_id(record: RequestRecord) -> int:
    return record.created_work_item_id()


def _key(record: RequestRecord, step: Step) -> str:
    return record.effect_key(step.value)
