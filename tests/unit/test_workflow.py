"""The intake use cases against fakes of the ports: end state, not calls."""

from __future__ import annotations

import json
import threading
import time

import pytest

from intake import request_steps, workflow
from intake.errors import (
    ExternalRejected,
    ExternalUnavailable,
    InvalidSubmission,
    RequestBusy,
    Throttled,
)
from intake.models import RequestStatus, Step
from tests.conftest import SAMPLE, sample_submission
from tests.fakes import FakeChannel


def submit(world, submission=SAMPLE):
    return workflow.submit_request(
        json.dumps(submission).encode(), "application/json", world.services
    )


def test_submission_is_recorded_and_queued_before_anything_else(world):
    receipt = submit(world)
    assert receipt.created
    assert world.store.get_request(receipt.request_id).status == RequestStatus.RECEIVED
    assert world.queue.messages == [{"kind": "run_steps", "request_id": receipt.request_id}]
    assert world.work_items.items == {} and world.mailer.sent == []


def test_same_submission_twice_is_one_request(world):
    first = submit(world)
    second = submit(world)
    assert second.request_id == first.request_id and not second.created
    assert len(world.store.records) == 1
    assert len(world.queue.messages) == 1


def test_bad_submission_records_and_queues_nothing(world):
    with pytest.raises(InvalidSubmission):
        submit(world, sample_submission(client_email="not-an-email"))
    assert world.store.records == {} and world.queue.messages == []


def test_run_steps_does_every_step_once(world):
    receipt = submit(world)
    record = workflow.run_steps(receipt.request_id, world.services)
    assert record.status == RequestStatus.DONE
    assert all(record.is_done(step) for step in Step)
    (item,) = world.work_items.items.values()
    assert item["state"] == "In Planning"
    assert item["draft"].priority == 2
    assert sorted(e.to for e in world.mailer.sent) == [
        ("casey@contoso.example",),
        ("jordan.rivera@fabrikam.example",),
    ]
    (comments,) = world.work_items.comments.values()
    assert len(comments) == 1 and comments[0].mention.email == "jordan.rivera@fabrikam.example"
    assert len(world.channel.threads) == 1


def test_a_failed_step_is_retried_from_where_it_stopped(world):
    receipt = submit(world)
    world.faults.add("post_card", ExternalUnavailable("Teams is down"))
    with pytest.raises(ExternalUnavailable):
        workflow.run_steps(receipt.request_id, world.services)
    record = world.store.get_request(receipt.request_id)
    assert record.is_done(Step.CREATE_WORK_ITEM) and not record.is_done(Step.POST_TRIAGE_CARD)
    assert "unavailable" in record.last_error.lower()

    record = workflow.run_steps(receipt.request_id, world.services)
    assert record.status == RequestStatus.DONE
    assert len(world.work_items.items) == 1
    assert len(world.mailer.sent) == 2
    assert len(world.channel.threads) == 1


def test_a_crash_after_create_finds_the_work_item_by_its_tag(world):
    receipt = submit(world)
    world.faults.add("create", ExternalUnavailable("worker died"), after=True)
    with pytest.raises(ExternalUnavailable):
        workflow.run_steps(receipt.request_id, world.services)
    record = workflow.run_steps(receipt.request_id, world.services)
    assert len(world.work_items.items) == 1
    assert record.result(Step.CREATE_WORK_ITEM)["reconciled"] is True


def test_a_crash_after_an_email_went_does_not_send_it_again(world):
    receipt = submit(world)
    world.faults.add("send", Throttled("slow down", retry_after=2), after=True)
    with pytest.raises(Throttled):
        workflow.run_steps(receipt.request_id, world.services)
    workflow.run_steps(receipt.request_id, world.services)
    keys = [e.key for e in world.mailer.sent]
    assert len(keys) == len(set(keys)) == 2


def test_a_permanent_failure_marks_the_request_failed_and_keeps_it(world):
    receipt = submit(world)
    world.faults.add(
        "create", ExternalRejected("field Custom.ClientEmail does not exist", remote_status=400)
    )
    record = workflow.run_steps(receipt.request_id, world.services)
    assert record.status == RequestStatus.FAILED
    assert "Custom.ClientEmail" in record.last_error
    assert world.mailer.sent == []
    # once the configuration is fixed, a replay finishes it
    assert workflow.run_steps(receipt.request_id, world.services).status == RequestStatus.DONE


def test_a_client_without_devops_identity_is_emailed_and_named_in_the_comment(world):
    receipt = submit(
        world,
        sample_submission(client_email="pat@northwind.example", client_name="Pat <O'Neil>"),
    )
    record = workflow.run_steps(receipt.request_id, world.services)
    assert record.result(Step.TELL_CLIENT_PLANNING)["via"] == "email"
    to_client = [e for e in world.mailer.sent if e.to == ("pat@northwind.example",)]
    assert len(to_client) == 2  # the confirmation, and the planning words once
    assert "triage" in to_client[1].text.lower()
    # The work item says so: the client named as (escaped) text, no mention, "told by email".
    (comment,) = world.work_items.comments[record.work_item_id]
    assert comment.mention is None
    assert "Pat &lt;O&#39;Neil&gt; (pat@northwind.example)" in comment.html
    assert "told by email" in comment.html


def test_a_client_devops_knows_is_mentioned_and_not_emailed_the_planning_words(world):
    receipt = submit(world)
    record = workflow.run_steps(receipt.request_id, world.services)
    assert record.result(Step.TELL_CLIENT_PLANNING)["via"] == "comment"
    (comment,) = world.work_items.comments[record.work_item_id]
    assert comment.mention is not None
    assert [e.subject for e in world.mailer.sent if "triaged" in e.subject] == []


def test_the_confirmation_goes_before_the_planning_message(world):
    receipt = submit(world, sample_submission(client_email="pat@northwind.example"))
    workflow.run_steps(receipt.request_id, world.services)
    subjects = [e.subject for e in world.mailer.sent if e.to == ("pat@northwind.example",)]
    assert subjects[0].startswith("We received your request")
    assert "being triaged" in subjects[1]


def test_a_second_worker_leaves_a_leased_request_alone(world):
    receipt = submit(world)
    assert world.store.acquire_lease(receipt.request_id, "other-worker", 60)
    # The one lease policy (intake/step_runner.py): busy is raised, so the queue keeps the
    # message and delivers it again later.
    with pytest.raises(RequestBusy):
        workflow.run_steps(receipt.request_id, world.services)
    record = world.store.get_request(receipt.request_id)
    assert record.steps == {} and world.work_items.items == {}


def test_next_steps_follow_the_plan():
    from intake.models import Request, RequestRecord

    request = Request(
        id="r1",
        form_id="f",
        response_id="1",
        title="t",
        client_name="c",
        client_email="c@contoso.example",
    )
    record = RequestRecord(request=request)
    # The client's identity is looked up beside the create, off the critical path.
    assert workflow.next_steps(record) == [Step.CREATE_WORK_ITEM, Step.FIND_CLIENT_IDENTITY]
    record.steps[Step.CREATE_WORK_ITEM.value] = {"work_item_id": 1, "url": "u"}
    assert Step.TELL_CLIENT_PLANNING not in workflow.next_steps(record)
    assert set(workflow.next_steps(record)) == {
        Step.FIND_CLIENT_IDENTITY,
        Step.EMAIL_CLIENT,
        Step.EMAIL_COORDINATOR,
        Step.MOVE_TO_PLANNING,
        Step.POST_TRIAGE_CARD,
    }
    record.steps[Step.EMAIL_CLIENT.value] = {}
    record.steps[Step.MOVE_TO_PLANNING.value] = {}
    assert Step.TELL_CLIENT_PLANNING not in workflow.next_steps(record)
    record.steps[Step.FIND_CLIENT_IDENTITY.value] = {"identity": None}
    assert Step.TELL_CLIENT_PLANNING in workflow.next_steps(record)


@pytest.mark.parametrize(
    ("severity", "priority"),
    [("Critical", 1), ("high", 2), (" Medium ", 3), ("Low", 4), ("", None), ("Whenever", None)],
)
def test_priority_comes_from_severity(severity, priority):
    assert (
        request_steps.priority_for(severity, {"Critical": 1, "High": 2, "Medium": 3, "Low": 4})
        == priority
    )


def test_stalled_requests_are_queued_again(world):
    receipt = submit(world)
    world.queue.messages.clear()
    assert workflow.resume_stalled_requests(world.services, quiet_for=3600) == []
    assert workflow.resume_stalled_requests(world.services, quiet_for=0) == [receipt.request_id]
    assert world.queue.messages == [{"kind": "run_steps", "request_id": receipt.request_id}]


def test_status_shows_progress_without_the_answers(world):
    receipt = submit(world)
    workflow.run_steps(receipt.request_id, world.services)
    status = workflow.request_status(receipt.request_id, world.services)
    assert status["status"] == "done" and status["workItemId"] == 1
    assert "jordan" not in json.dumps(status).lower()


def test_a_first_run_looks_for_nothing_it_could_not_have_done(world):
    receipt = submit(world)
    world.faults.add("find_by_tag", ExternalUnavailable("a first run has nothing to find"))
    world.faults.add("find_sent", ExternalUnavailable("a first run has nothing to find"))
    record = workflow.run_steps(receipt.request_id, world.services)
    assert record.status == RequestStatus.DONE, record.last_error
    assert [e.first_attempt for e in world.mailer.sent] == [True, True]
    (comments,) = world.work_items.comments.values()
    assert comments[0].first_attempt is True


def test_a_second_run_looks_before_it_acts(world):
    receipt = submit(world)
    world.faults.add("send", ExternalUnavailable("Graph is down", remote_status=503))
    with pytest.raises(ExternalUnavailable):
        workflow.run_steps(receipt.request_id, world.services)
    world.faults.add("find_sent", ExternalUnavailable("Sent Items cannot be read"))
    with pytest.raises(ExternalUnavailable, match="Sent Items"):
        workflow.run_steps(receipt.request_id, world.services)  # it looked first
    assert workflow.run_steps(receipt.request_id, world.services).status == RequestStatus.DONE
    assert len(world.mailer.sent) == 2


def test_a_slow_step_holds_up_only_the_steps_that_need_it(world):
    class SlowChannel(FakeChannel):
        release = threading.Event()

        def post_card(self, card, *, key):
            assert self.release.wait(10)
            return super().post_card(card, key=key)

    world.channel = channel = SlowChannel(world.faults)
    receipt = submit(world)
    runner = threading.Thread(target=workflow.run_steps, args=(receipt.request_id, world.services))
    runner.start()
    deadline = time.monotonic() + 10
    while not world.work_items.comments and time.monotonic() < deadline:
        time.sleep(0.005)
    assert world.work_items.comments, "the planning comment waited for the card"
    assert channel.threads == {}  # the card is still on its way
    channel.release.set()
    runner.join(10)
    assert world.store.get_request(receipt.request_id).status == RequestStatus.DONE
    assert len(channel.threads) == 1


def test_the_clients_identity_is_looked_up_beside_the_create_not_after_it(world):
    receipt = submit(world)
    world.faults.add("create", ExternalUnavailable("DevOps is down"))
    with pytest.raises(ExternalUnavailable):
        workflow.run_steps(receipt.request_id, world.services)
    record = world.store.get_request(receipt.request_id)
    assert not record.is_done(Step.CREATE_WORK_ITEM)
    found = record.result(Step.FIND_CLIENT_IDENTITY)["identity"]
    assert found["email"] == "jordan.rivera@fabrikam.example"
    # the retry uses what was recorded: no second lookup
    assert world.faults.calls["find_identity"] == 1
    assert workflow.run_steps(receipt.request_id, world.services).status == RequestStatus.DONE
    assert world.faults.calls["find_identity"] == 1
