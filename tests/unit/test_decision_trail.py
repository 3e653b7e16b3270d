"""The DevOps trail of a decision over fakes: the state after each decision (configurable,
empty = unchanged), the client told on Proceed, the Bug / Feature comment, items found by the
request id field or, made before it, by their old tag."""

from __future__ import annotations

import pytest

from intake import triage
from intake.adapters.local_board import SqliteBoard
from intake.adapters.sqlite_db import Database
from intake.messages import Kind
from intake.models import DecisionKind, WorkItemDraft
from tests.conftest import submitted_request
from tests.fakes import FakeWorld
from tests.people import MORGAN
from tests.unit.test_triage import run_queue


@pytest.mark.parametrize(
    ("kind", "data", "state"),
    [
        (DecisionKind.CREATE_PBI, {}, "Approved"),
        (DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "feature"}, "Resolved"),
    ],
)
def test_the_request_moves_to_its_configured_state_after_the_decision(settings, kind, data, state):
    world = FakeWorld(
        settings.model_copy(
            update={"state_after_proceed": "Approved", "state_after_bug_or_feature": "Resolved"}
        )
    )
    request_id = submitted_request(world)
    triage.decide(request_id, MORGAN, kind, data, world.services)
    run_queue(world)
    assert world.work_items.items[1]["state"] == state
    assert world.store.records[request_id].status == "done"


def test_an_empty_state_after_the_decision_leaves_the_request_where_it_is(world):
    request_id = submitted_request(world)
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    run_queue(world)
    assert world.work_items.items[1]["state"] == "In Planning"
    assert world.store.records[request_id].steps["decision.set_state"] == {"state": None}


def test_on_proceed_the_client_gets_one_short_email_without_internal_detail(world):
    request_id = submitted_request(world)
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {"tasks": "Fix"}, world.services)
    run_queue(world)
    triage.decide(request_id, MORGAN, DecisionKind.SPRINT_URGENT, {}, world.services)
    run_queue(world)
    told = [e for e in world.mailer.sent if e.key.endswith("decision.email_client")]
    assert len(told) == 1
    (email,) = told
    assert email.to == ("jordan.rivera@fabrikam.example",)
    assert email.subject == "Your request is accepted [#1]"
    assert "accepted it, and the development team is planning the work" in email.text
    assert "/api/status/" in email.text  # the status link, never the work item's
    assert "#2" not in email.text and "sprint" not in email.text.lower()  # no PBI, no sprint
    plan = [c.html for c in world.work_items.comments[1] if c.key.endswith("comment_plan")]
    assert plan == [
        "<p>Sprint-urgent (decided by Morgan Scrum): PBI #2 is in Sprint 7, tagged "
        "sprint-urgent, top priority.</p>"
    ]


def test_a_bug_or_feature_decision_says_which_on_the_request(world):
    request_id = submitted_request(world)
    triage.decide(
        request_id, MORGAN, DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "bug"}, world.services
    )
    run_queue(world)
    (said,) = [c.html for c in world.work_items.comments[1] if "created and linked" in c.html]
    assert said.startswith("<p>Bug (decided by Morgan Scrum): Bug #2 created and linked")
    assert "Votes: none." in said


def test_a_pbi_made_before_the_field_is_found_by_its_old_tag_and_not_made_again(world):
    request_id = submitted_request(world)
    # An earlier version created the PBI (tagged), then died before recording it.
    world.work_items.create(
        WorkItemDraft(
            type="Product Backlog Item",
            title="t",
            description_html="",
            tags=(f"intake-{request_id}-pbi",),
        ),
        key="",
    )
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    run_queue(world)
    pbis = [i for i in world.work_items.items.values() if i["draft"].type != "Issue"]
    assert len(pbis) == 1
    assert world.store.records[request_id].steps["decision.create_pbi"]["id"] == 2


def test_the_local_board_finds_by_the_field_then_by_an_old_tag(tmp_path):
    board = SqliteBoard(Database(tmp_path / "intake.db"), base_url="http://x", people=[])
    draft = WorkItemDraft(type="Issue", title="t", description_html="", tags=("intake",))
    made = board.create(draft, key="0123456789abcdef")
    old = board.create(
        WorkItemDraft(type="Issue", title="o", description_html="", tags=("intake-feedc0de",)),
        key="",
    )
    assert board.find_created("0123456789abcdef") == made
    assert board.find_created("0123456789abcdef/pbi") is None
    assert board.find_created("feedc0de", legacy_tag="intake-feedc0de") == old
    assert board.get(made.id).fields["Custom.IntakeRequestId"] == "0123456789abcdef"
    assert board.get(made.id).fields["System.Tags"] == "intake"


def test_a_vote_message_queued_by_an_earlier_version_joins_the_trail_without_a_comment(world):
    request_id = submitted_request(world)
    before = len(world.work_items.comments[1])
    world.queue.messages.append(
        {
            "kind": Kind.COPY_VOTE.value,
            "request_id": request_id,
            "key": f"intake-{request_id}-vote-0a1b2c3d4e5f-2026-12-05T09:14:00+00:00",
            "text": "Alex Support voted Proceed",
        }
    )
    run_queue(world)
    run_queue(world)  # delivered again: recorded once
    assert len(world.work_items.comments[1]) == before
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    run_queue(world)
    (said,) = [c.html for c in world.work_items.comments[1] if "will proceed" in c.html]
    assert "<li>2026-12-05 09:14 UTC Alex Support voted Proceed</li>" in said
