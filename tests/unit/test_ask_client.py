"""Ask the client (issue 15): who may ask (the server checks), what a question is, and the
wait the history says the request is in, with what ends it (``intake.waiting``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake import ask_client, messages, triage
from intake.client_status import client_label
from intake.errors import InvalidDecision
from intake.models import DecisionKind, Request, RequestRecord
from intake.triage_rules import Clicker
from intake.waiting import NO_QUESTION, answered, current_wait, question_from, question_of
from tests.adaptive_cards import texts, verbs
from tests.fakes import FakeWorld
from tests.people import ALEX, MORGAN
from tests.unit.test_sla import History, paris

CASEY = Clicker("29:1-casey-local", "Casey Coordinator", "00000000-0000-0000-0000-00000000ca5e")
CLIENT = {"id": "c", "displayName": "Jordan", "uniqueName": "jordan@fabrikam.example"}
MORGAN_REF = {"id": "m", "displayName": "Morgan", "uniqueName": "morgan@contoso.example"}


def run_queue(world: FakeWorld) -> None:
    """What the queue trigger does with every queued message (functions/steps.py)."""
    from functions.steps import handlers

    while world.queue.messages:
        message = messages.from_json(world.queue.messages.pop(0))
        handlers()[message.kind](message, world.services)


# --- the click -------------------------------------------------------------------------------


def test_the_coordinator_asks_once_and_the_queued_run_emails_comments_and_waits(
    world: FakeWorld, request_id
):
    coordinator_view = triage.view(request_id, CASEY, world.services)
    assert "ask_client" in verbs(coordinator_view)
    card = ask_client.ask(request_id, CASEY, {"question": "Which <browser>?"}, world.services)
    assert ask_client.SENT in texts(card)
    record = world.store.get_request(request_id)
    assert record.steps["ask:1"]["question"] == "Which <browser>?"
    assert record.steps["ask:1"]["by_name"] == "Casey Coordinator"
    run_queue(world)
    record = world.store.get_request(request_id)
    assert ask_client.is_sent(record, 1)
    item = world.work_items.items[record.work_item_id]
    assert item["state"] == world.settings.state_waiting_client
    (comment,) = [c for c in world.work_items.comments[record.work_item_id] if "ask:1" in c.key]
    assert comment.html.startswith("<p>#client ") and "Which &lt;browser&gt;?" in comment.html
    (email,) = [e for e in world.mailer.sent if e.key.endswith("ask:1:email")]
    assert email.to == (record.request.client_email,)
    assert "Which <browser>?" in email.text and "Which &lt;browser&gt;?" in email.html
    assert record.steps["ask:1:email"]["client_email"]["subject"] == email.subject
    assert record.steps["ask:1:state"]["state"] == "Waiting on Client"
    # The queued message delivered twice: nothing more.
    ask_client.run_asks(request_id, world.services)
    assert len([e for e in world.mailer.sent if e.key.endswith("ask:1:email")]) == 1


def test_support_staff_cannot_ask_whatever_they_send(world: FakeWorld, request_id):
    assert "ask_client" not in verbs(triage.view(request_id, ALEX, world.services))
    card = ask_client.ask(request_id, ALEX, {"question": "Hello?"}, world.services)
    assert ask_client.NOT_ALLOWED in texts(card)
    assert not [s for s in world.store.get_request(request_id).steps if s.startswith("ask:")]
    assert world.queue.messages == []


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("   ", "Type the question for the client first."),
        ("x" * 2001, "The question takes at most 2,000 characters (2,001 typed)."),
        (42, "The question must be text."),
    ],
)
def test_a_question_that_is_not_one_is_refused_on_the_card(world, request_id, question, why):
    card = ask_client.ask(request_id, MORGAN, {"question": question}, world.services)
    assert why in texts(card)
    assert world.queue.messages == []
    with pytest.raises(InvalidDecision):
        question_from({"question": question})


def test_a_second_question_waits_for_the_first_to_be_sent(world: FakeWorld, request_id):
    ask_client.ask(request_id, MORGAN, {"question": "One?"}, world.services)
    card = ask_client.ask(request_id, CASEY, {"question": "Two?"}, world.services)
    assert ask_client.STILL_SENDING in texts(card)
    run_queue(world)
    ask_client.ask(request_id, CASEY, {"question": "Two?"}, world.services)
    assert world.store.get_request(request_id).steps["ask:2"]["question"] == "Two?"


def test_a_request_closed_as_not_our_problem_has_nobody_to_ask(world: FakeWorld, request_id):
    triage.decide(
        request_id, MORGAN, DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "DNS"}, world.services
    )
    run_queue(world)
    assert "ask_client" not in verbs(triage.view(request_id, MORGAN, world.services))
    card = ask_client.ask(request_id, MORGAN, {"question": "Really?"}, world.services)
    assert ask_client.CLOSED in texts(card)


# --- the wait, from the history ------------------------------------------------------------


def record(**steps) -> RequestRecord:
    request = Request(
        id="00000000000000aa",
        form_id="f",
        response_id="1",
        title="Blank",
        severity="Medium",
        client_name="Jordan",
        client_email="Jordan@Fabrikam.example",
        received_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    return RequestRecord(request=request, steps=dict(steps))


def waiting_history() -> History:
    return (
        History()
        .add("2026-12-14 10:00", state="New")
        .add("2026-12-14 10:00", state="In Planning")
        .add("2026-12-15 11:00", state="Waiting on Client")
    )


def test_the_wait_is_the_latest_entry_into_the_state_while_the_item_is_there():
    history = waiting_history()
    wait = current_wait(history.updates, "waiting on client")
    assert wait is not None and (wait.rev, wait.previous_state) == (3, "In Planning")
    assert wait.since == paris("2026-12-15 11:00")
    history.add("2026-12-16 09:00", state="Active")  # left: the cadence stops
    assert current_wait(history.updates, "Waiting on Client") is None
    history.add("2026-12-17 09:00", state="Waiting on Client")  # again: a new wait, Day 1
    again = current_wait(history.updates, "Waiting on Client")
    assert again is not None and (again.rev, again.previous_state) == (5, "Active")


def reply(at: str, *, auto: bool = False) -> dict:
    return {"reply": {"at": paris(at).isoformat(), "text": "x", "auto": auto, "subject": "RE"}}


def test_a_reply_or_the_clients_own_client_comment_after_the_start_answers_the_wait():
    history = waiting_history()
    wait = current_wait(history.updates, "Waiting on Client")
    assert wait is not None
    before = record(**{"reply:<a@x>": reply("2026-12-15 10:59")})
    assert answered(wait, history.updates, before) is None  # before the wait: not an answer
    automatic = record(**{"reply:<b@x>": reply("2026-12-16 10:00", auto=True)})
    assert answered(wait, history.updates, automatic) is None  # an out-of-office
    real = record(**{"reply:<c@x>": reply("2026-12-16 10:00")})
    assert answered(wait, history.updates, real) == paris("2026-12-16 10:00")
    history.add("2026-12-16 12:00", by=MORGAN_REF, comment="#client we are on it")
    history.add("2026-12-16 13:00", by=CLIENT, comment="no marker: not for the client")
    assert answered(wait, history.updates, record()) is None  # not the client's, no marker
    history.add("2026-12-16 14:00", by=CLIENT, comment="<p>#client Firefox 128</p>")
    assert answered(wait, history.updates, record()) == paris("2026-12-16 14:00")


def test_the_question_repeated_is_the_card_s_or_the_client_comment_around_the_start():
    history = waiting_history()
    wait = current_wait(history.updates, "Waiting on Client")
    assert wait is not None
    assert question_of(wait, record()) == NO_QUESTION
    asked = {"question": "Which browser?", "at": paris("2026-12-15 10:59").isoformat()}
    assert question_of(wait, record(**{"ask:1": asked})) == "Which browser?"
    # Asked in DevOps: a #client comment written just after moving the item.
    just_after = paris("2026-12-15 11:20").isoformat()
    comment = {"client_comment": {"text": "Screenshot?", "at": just_after}}
    both = record(**{"ask:1": asked, "client-comment:1:7": comment})
    assert question_of(wait, both) == "Screenshot?"
    late = {"client_comment": {"text": "Later", "at": paris("2026-12-15 13:00").isoformat()}}
    assert question_of(wait, record(**{"ask:1": asked, "client-comment:1:8": late})) == (
        "Which browser?"
    )
    # Asked again with the card during the wait: the new question is the one repeated.
    second = {"question": "And the version?", "at": paris("2026-12-17 09:00").isoformat()}
    assert question_of(wait, record(**{"ask:1": asked, "ask:2": second})) == "And the version?"


def test_the_client_reads_the_waiting_state_as_waiting_for_their_answer(world: FakeWorld):
    assert client_label("Waiting on Client", world.settings) == "Waiting for your answer"
    relabelled = world.settings.model_copy(
        update={"client_state_labels": {"Waiting on Client": "We need you"}}
    )
    assert client_label("waiting on client", relabelled) == "We need you"
