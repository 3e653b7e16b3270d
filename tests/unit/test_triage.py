"""The triage use cases over fake ports: votes, decisions taken once, queued steps that resume."""

from __future__ import annotations

import threading

import pytest

from intake import messages, triage
from intake.errors import ExternalRejected, ExternalUnavailable, RequestBusy
from intake.messages import Kind
from intake.models import DecisionKind, VoteChoice
from intake.triage_rules import Clicker, TriageStep
from tests.adaptive_cards import assert_valid_card, texts, verbs
from tests.people import ALEX, MORGAN


def channel_card(world) -> dict:
    (thread,) = world.channel.threads.values()
    return thread["card"]


def run_queue(world) -> None:
    """What the queue trigger does with the queued triage messages."""
    while world.queue.messages:
        message = world.queue.messages.pop(0)
        if message["kind"] == Kind.RUN_DECISION:
            triage.run_decision(message["request_id"], world.services)
        elif message["kind"] == Kind.COPY_VOTE:
            triage.copy_vote(messages.from_json(message), world.services)
        elif message["kind"] == Kind.PUBLISH_CARD:
            triage.publish_card(message["request_id"], world.services)


def test_a_vote_updates_the_card_for_everyone_and_notifies_no_one_in_devops(world, request_id):
    card = triage.record_vote(request_id, ALEX, VoteChoice.PROCEED, world.services)
    assert "Votes: Not our problem 0 · Bug / Feature request 0 · Proceed 1" in texts(card)
    everyone = channel_card(world)
    assert "Votes: Not our problem 0 · Bug / Feature request 0 · Proceed 1" in texts(everyone)
    voters = next(item for item in everyone["body"] if item.get("id") == "voters")
    assert voters["facts"] == [{"title": "Alex Support", "value": "Proceed"}]
    before = len(world.work_items.comments[1])
    run_queue(world)
    # No comment per click (each would notify every follower): the decision carries them.
    assert len(world.work_items.comments[1]) == before
    assert_valid_card(card)
    assert_valid_card(everyone)


def test_the_decision_comment_carries_every_vote_and_each_change_of_mind(world, request_id):
    triage.record_vote(request_id, ALEX, VoteChoice.NOT_OUR_PROBLEM, world.services)
    triage.record_vote(request_id, ALEX, VoteChoice.PROCEED, world.services)
    triage.record_vote(request_id, ALEX, VoteChoice.PROCEED, world.services)  # same again
    run_queue(world)
    assert [v.choice for v in world.store.votes(request_id)] == [VoteChoice.PROCEED]
    assert "Votes: Not our problem 0 · Bug / Feature request 0 · Proceed 1" in texts(
        channel_card(world)
    )
    assert not [c for c in world.work_items.comments[1] if "voted" in c.html]
    triage.decide(
        request_id, MORGAN, DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "DNS"}, world.services
    )
    run_queue(world)
    (decided,) = [c.html for c in world.work_items.comments[1] if "Root cause" in c.html]
    assert "Votes when decided: Not our problem: none; Bug / Feature request: none; " in decided
    assert "Proceed: Alex Support." in decided
    lines = decided.split("<li>")[1:]
    assert len(lines) == 2  # the repeated click changed nothing, so it is not a change
    assert lines[0].endswith("Alex Support voted Not our problem</li>")
    assert "Alex Support voted Proceed (instead of Not our problem)</li>" in lines[1]


def test_a_voter_name_is_escaped_on_the_card_and_in_the_comment(world, request_id):
    mallory = Clicker("29:m", "<b>**Mallory**</b>", "")
    triage.record_vote(request_id, mallory, VoteChoice.PROCEED, world.services)
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    run_queue(world)
    voters = next(i for i in channel_card(world)["body"] if i.get("id") == "voters")
    assert voters["facts"][0]["title"] == "\\<b\\>\\*\\*Mallory\\*\\*\\</b\\>"
    assert any("&lt;b&gt;**Mallory**&lt;/b&gt;" in c.html for c in world.work_items.comments[1])
    assert not any("<b>**Mallory" in c.html for c in world.work_items.comments[1])


def test_only_scrum_masters_see_and_use_the_decision_actions(world, request_id):
    staff = triage.view(request_id, ALEX, world.services)
    master = triage.view(request_id, MORGAN, world.services)
    assert verbs(staff) == ["vote", "vote", "vote"]
    assert set(verbs(master)) >= {"create_pbi", "close_not_our_problem", "create_bug_or_feature"}
    # From the first post on, Teams refreshes the card for the scrum masters automatically.
    # ... and for the coordinator, whose view can Ask the client (issue 15).
    assert channel_card(world)["refresh"]["userIds"] == ["29:1-morgan-local", "29:1-casey-local"]
    assert staff["refresh"]["userIds"] == ["29:1-morgan-local", "29:1-casey-local"]
    refused = triage.decide(request_id, ALEX, DecisionKind.CREATE_PBI, {}, world.services)
    assert triage.NOT_SCRUM_MASTER in texts(refused)
    assert not [name for _, name in world.store.claims if name.startswith("decision")]
    assert world.queue.messages == []
    assert_valid_card(master)
    assert_valid_card(refused)


def test_create_pbi_makes_a_linked_pbi_with_tasks_and_tells_the_coordinator(world, request_id):
    card = triage.decide(
        request_id, MORGAN, DecisionKind.CREATE_PBI, {"tasks": "Fix\nTest"}, world.services
    )
    assert any("Working on it…" in t for t in texts(card))
    assert_valid_card(card)
    assert verbs(channel_card(world)) == []  # vote buttons gone for everyone
    run_queue(world)
    items = world.work_items.items
    (pbi_id,) = [i for i, item in items.items() if item["draft"].type == "Product Backlog Item"]
    tasks = [i for i, item in items.items() if item["draft"].type == "Task"]
    assert len(tasks) == 2
    assert (1, pbi_id, "System.LinkTypes.Related") in world.work_items.links
    assert {(pbi_id, t, "System.LinkTypes.Hierarchy-Forward") for t in tasks} <= set(
        world.work_items.links
    )
    mention = [c for c in world.work_items.comments[1] if c.mention is not None][-1]
    assert mention.mention.email == "casey@contoso.example"
    assert mention.html.startswith(f"<p>This dev support issue will proceed: PBI #{pbi_id}")
    assert f"Task #{tasks[0]}: Fix" in mention.html and f"Task #{tasks[1]}: Test" in mention.html
    master = triage.view(request_id, MORGAN, world.services)
    assert verbs(master) == ["sprint_urgent", "handle_in_sprint", "ask_client"]
    assert any(f"PBI #{pbi_id} created and linked, with 2 tasks." in t for t in texts(master))
    assert_valid_card(master)


def test_sprint_urgent_puts_the_pbi_in_the_current_sprint_at_top_priority(world, request_id):
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    run_queue(world)
    triage.decide(request_id, MORGAN, DecisionKind.SPRINT_URGENT, {}, world.services)
    run_queue(world)
    pbi = world.work_items.items[2]
    assert pbi["fields"] == {
        "System.IterationPath": "Intake\\Sprint 7",
        "Microsoft.VSTS.Common.Priority": 1,
    }
    assert "sprint-urgent" in pbi["tags"]
    final = channel_card(world)
    master = triage.view(request_id, MORGAN, world.services)
    assert verbs(final) == [] and verbs(master) == ["ask_client"]  # asking stays possible
    assert any("the PBI is in Sprint 7, tagged sprint-urgent" in t for t in texts(final))
    assert_valid_card(final)


def test_handle_during_the_sprint_leaves_the_pbi_in_the_backlog(world, request_id):
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    run_queue(world)
    triage.decide(request_id, MORGAN, DecisionKind.HANDLE_IN_SPRINT, {}, world.services)
    run_queue(world)
    assert world.work_items.items[2]["fields"] == {}
    assert any("stays in the backlog" in t for t in texts(channel_card(world)))


def test_sprint_choice_before_the_pbi_exists_is_refused(world, request_id):
    card = triage.decide(request_id, MORGAN, DecisionKind.SPRINT_URGENT, {}, world.services)
    assert "Sprint-urgent or not is decided after Create PBI." in texts(card)
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    card = triage.decide(request_id, MORGAN, DecisionKind.SPRINT_URGENT, {}, world.services)
    assert "The PBI is still being created; try again in a moment." in texts(card)


def test_not_our_problem_comments_emails_the_client_and_closes(world, request_id):
    card = triage.decide(request_id, MORGAN, DecisionKind.NOT_OUR_PROBLEM, {}, world.services)
    assert "Type a short root cause for the client first." in texts(card)
    triage.decide(
        request_id,
        MORGAN,
        DecisionKind.NOT_OUR_PROBLEM,
        {"rootCause": "Their proxy <drops> TLS"},
        world.services,
    )
    run_queue(world)
    assert world.work_items.items[1]["state"] == "Closed"
    assert "Root cause: Their proxy &lt;drops&gt; TLS" in world.work_items.comments[1][-1].html
    (email,) = [e for e in world.mailer.sent if "closed" in e.subject]
    assert email.to == ("jordan.rivera@fabrikam.example",)
    assert "Their proxy <drops> TLS" in email.text
    assert "Their proxy &lt;drops&gt; TLS" in email.html
    assert any("client was told by email" in t for t in texts(channel_card(world)))


def test_bug_or_feature_creates_the_chosen_type_linked_and_tells_the_client(world, request_id):
    triage.decide(
        request_id, MORGAN, DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "bug"}, world.services
    )
    run_queue(world)
    (bug_id,) = [i for i, item in world.work_items.items.items() if item["draft"].type == "Bug"]
    assert (1, bug_id, "System.LinkTypes.Related") in world.work_items.links
    (email,) = [e for e in world.mailer.sent if f"bug #{bug_id}" in e.subject]
    assert email.to == ("jordan.rivera@fabrikam.example",)
    assert_valid_card(channel_card(world))


def test_a_second_decision_is_refused_and_changes_nothing(world, request_id):
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    card = triage.decide(
        request_id, MORGAN, DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "x"}, world.services
    )
    assert "Already decided by Morgan Scrum: Proceed: create a PBI." in texts(card)
    late = triage.record_vote(request_id, ALEX, VoteChoice.PROCEED, world.services)
    assert "Voting is closed: this is decided." in texts(late)
    assert world.store.votes(request_id) == []
    run_queue(world)
    assert world.work_items.items[1]["state"] != "Closed"


def test_concurrent_create_pbi_clicks_create_one_pbi(world, request_id):
    start = threading.Barrier(8)

    def click() -> None:
        start.wait()
        triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run_queue(world)
    pbis = [i for i in world.work_items.items.values() if i["draft"].type == "Product Backlog Item"]
    assert len(pbis) == 1
    proceed = [c for c in world.work_items.comments[1] if "will proceed" in c.html]
    assert len(proceed) == 1


def test_a_decision_run_resumes_after_a_crash_and_repeats_nothing(world, request_id):
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {"tasks": "a"}, world.services)
    # The PBI is created, then the worker dies before recording it; then DevOps is down.
    world.faults.add("create", ExternalUnavailable("crash"), after=True)
    with pytest.raises(ExternalUnavailable):
        triage.run_decision(request_id, world.services)
    world.faults.add("add_comment", ExternalUnavailable("down"))
    with pytest.raises(ExternalUnavailable):
        triage.run_decision(request_id, world.services)
    triage.run_decision(request_id, world.services)
    types = [item["draft"].type for item in world.work_items.items.values()]
    assert types.count("Product Backlog Item") == 1 and types.count("Task") == 1
    record = world.store.get_request(request_id)
    assert {TriageStep.CREATE_PBI, TriageStep.COMMENT_COORDINATOR} <= set(record.steps)


def test_a_permanent_failure_marks_the_request_failed(world, request_id):
    triage.decide(
        request_id, MORGAN, DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "bug"}, world.services
    )
    world.faults.add("create", ExternalRejected("no such type", remote_status=400))
    triage.run_decision(request_id, world.services)
    record = world.store.get_request(request_id)
    assert record.status == "failed" and "no such type" in record.last_error


def test_a_decision_run_waits_while_another_worker_holds_the_request(world, request_id):
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    world.store.acquire_lease(request_id, "intake-steps-worker", 60)
    with pytest.raises(RequestBusy):
        triage.run_decision(request_id, world.services)
