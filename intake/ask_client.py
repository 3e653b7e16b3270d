"""**Ask the client** (issue 15): a card action of the coordinator and the scrum masters. The
question goes to the client by email (with the status link) and on the work item as a
``#client`` comment, and the request moves to ``INTAKE_STATE_WAITING_CLIENT``, where the
no-response cadence (``intake.cadence_follow_up``) takes over.

The click is answered at once: the server checks the role (hiding the button is not
security), and the question is claimed as the request's step ``ask:{n}`` (write-once: of two
clicks at the same moment one wins). Its three effects run off the invoke path, queued
(``ask_client``), each looked up before it is done and recorded right after as its own step
(``ask:{n}:comment``, ``ask:{n}:email``, ``ask:{n}:state``), under the request's lease:

- the comment by its key (the board finds it again), Intake's own, so ``client_updates``
  never emails it a second time;
- the email by its key (``send_once``: Sent Items first, numbered attempts), recorded with
  ``client_email_result`` so the status page shows it;
- the state (a no-op when already there), recorded with ``state_result``, so the client is
  not sent a separate "waiting on client" state email.

A lost message or a dead worker loses nothing: the click also marks the work item changed,
and the follow-up run finishes any question left unsent (``finish_asks``).
"""

from __future__ import annotations

import html
import logging
import uuid
from datetime import datetime
from typing import Any

from intake import emails, step_runner
from intake.attempts import send_once
from intake.client_status import client_email_result, state_result
from intake.errors import ExternalError, InvalidDecision, RequestBusy
from intake.messages import AskClient
from intake.models import Comment, DecisionKind, Email, RequestRecord
from intake.ports import Services
from intake.status_page import status_link
from intake.triage import ROLE_NOT_CHECKED, is_scrum_master_now, publish, state_of
from intake.triage_rules import Clicker
from intake.triage_views import triage_view
from intake.waiting import ask_key, asks, is_coordinator, question_from

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
NOT_ALLOWED = "Only the coordinator or a scrum master can ask the client. Nothing was sent."
CLOSED = "This request is closed: there is nobody to ask. Nothing was sent."
STILL_SENDING = "The previous question is still being sent; try again in a moment."
SENT = "Your question is on its way to the client; the request now waits on the client."
SUB_STEPS = ("comment", "email", "state")


def ask(
    request_id: str, clicker: Clicker, data: dict[str, Any], services: Services
) -> dict[str, Any]:
    """The click: check the role and the question, claim it once, queue its effects."""
    state = state_of(request_id, services)
    settings = services.settings
    try:
        scrum_master = is_scrum_master_now(clicker, services)
    except ExternalError as exc:
        log.warning("request %s: ask refused, role not checked (%s)", request_id, exc.title)
        return triage_view(state, settings, viewer=clicker.teams_id, notice=ROLE_NOT_CHECKED)

    def answer(notice: str) -> dict[str, Any]:
        return triage_view(
            state_of(request_id, services),
            settings,
            viewer=clicker.teams_id,
            scrum_master=scrum_master,
            notice=notice,
        )

    if not (scrum_master or is_coordinator(clicker, settings)):
        log.warning("request %s: ask refused, neither coordinator nor scrum master", request_id)
        return answer(NOT_ALLOWED)
    record = state.record
    if record.work_item_id is None or not may_ask(state.decision):
        return answer(CLOSED)
    try:
        question = question_from(data)
    except InvalidDecision as exc:
        return answer(str(exc))
    done = asks(record)
    if done and not is_sent(record, done[-1][0]):
        return answer(STILL_SENDING)
    number = len(done) + 1
    mine = {
        "question": question,
        "by_id": clicker.teams_id,
        "by_name": clicker.name,
        "at": services.clock().isoformat(),
        "token": uuid.uuid4().hex,
    }
    stored = services.store.claim(request_id, ask_key(number), mine)
    services.store.record_step(request_id, ask_key(number), stored)
    if stored.get("token") != mine["token"]:
        return answer(f"{stored.get('by_name', 'Someone')} asked the client just now.")
    log.info("request %s: question %d to the client", request_id, number)
    if services.follow_ups is not None:  # the safety net: the follow-up run finishes it
        services.follow_ups.mark_changed(record.created_work_item_id(), services.clock())
    step_runner.enqueue(AskClient(request_id), services)
    return answer(SENT)


def may_ask(decision: Any) -> bool:
    """A request closed by its decision (not our problem) has nobody left to ask."""
    return decision is None or decision.kind is not DecisionKind.NOT_OUR_PROBLEM


def is_sent(record: RequestRecord, number: int) -> bool:
    return all(f"{ask_key(number)}:{sub}" in record.steps for sub in SUB_STEPS)


# --- queued: the question's effects ----------------------------------------------------------


def run_asks(request_id: str, services: Services) -> None:
    """The queued run: the unsent questions' effects, under the request's lease (another
    worker holds it: ``RequestBusy``, the queue delivers again). Errors reach the queue."""
    owner = f"ask-{uuid.uuid4().hex}"
    store = services.store
    if not store.acquire_lease(request_id, owner, LEASE_SECONDS):
        raise RequestBusy(f"request {request_id} is being worked on; the queue will retry")
    try:
        finish_asks(store.get_request(request_id), services)
    finally:
        store.release_lease(request_id, owner)
    publish(state_of(request_id, services), services)


def finish_asks(record: RequestRecord, services: Services) -> list[str]:
    """Do what is not done of every question asked (the caller holds the request's lease);
    returns the steps recorded."""
    recorded: list[str] = []
    for number, asked in asks(record):
        if is_sent(record, number):
            continue
        question = str(asked.get("question") or "")
        for sub in SUB_STEPS:
            step = f"{ask_key(number)}:{sub}"
            if step in record.steps:
                continue
            result = EFFECTS[sub](record, step, question, services)
            services.store.record_step(record.request.id, step, result)
            recorded.append(step)
            log.info("request %s: %s done", record.request.id, step)
    return recorded


def _comment(record: RequestRecord, step: str, question: str, services: Services) -> dict[str, Any]:
    comment = Comment(key=record.effect_key(step), html=question_comment(question))
    work_item_id = record.created_work_item_id()
    return {"comment_id": services.work_items.add_comment(work_item_id, comment)}


def _email(record: RequestRecord, step: str, question: str, services: Services) -> dict[str, Any]:
    email = question_email(record, step, question, services, stage="first")
    message_id = send_once(record, email, services)
    return client_email_result(email, message_id, services.clock())


def _state(record: RequestRecord, step: str, question: str, services: Services) -> dict[str, Any]:
    waiting = services.settings.state_waiting_client
    services.work_items.set_state(record.created_work_item_id(), waiting)
    return state_result(waiting, services.clock())


EFFECTS = {"comment": _comment, "email": _email, "state": _state}


def question_comment(question: str) -> str:
    """The ``#client`` comment (escaped: a person typed it; line breaks kept)."""
    lines = "<br>".join(html.escape(line) for line in question.splitlines())
    return f"<p>#client Our question to the client (sent by email):</p><p>{lines}</p>"


def question_email(
    record: RequestRecord,
    step: str,
    question: str,
    services: Services,
    *,
    stage: str,
    asked_on: datetime | None = None,
) -> Email:
    """The question by email: ``first`` asked, asked ``again`` (Day 5), the ``last`` time
    before the request is closed (Day 9)."""
    subjects = {
        "first": "A question about your request",
        "again": "We are still waiting for your answer",
        "last": "Your request will be closed without your answer",
    }
    return emails.compose_for_client(
        "client_question",
        key=record.effect_key(step),
        request=record.request,
        work_item_id=record.created_work_item_id(),
        subject=subjects[stage],
        status_url=status_link(record, services),
        reply_to=services.settings.mail_sender,
        question=question,
        stage=stage,
        asked_on=emails.when(asked_on or services.clock()),
    )
