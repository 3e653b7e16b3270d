"""Who is a scrum master (ids, emails, the Entra group), their Teams ids learnt from clicks,
a failed decision shown on the card, and card updates that never land out of order."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from intake import bootstrap, triage, workflow
from intake.adapters.graph_directory import GraphDirectory
from intake.adapters.local_channel import SqliteChannel
from intake.adapters.local_directory import LocalDirectory
from intake.adapters.sqlite_db import Database
from intake.config import Settings
from intake.errors import ExternalRejected, ExternalUnavailable
from intake.messages import Kind
from intake.models import DecisionKind, Thread, VoteChoice
from intake.ports import Services
from intake.replay import replay
from intake.triage_rules import MAX_REFRESH_USERS, Clicker
from tests.adaptive_cards import assert_valid_card, texts, verbs
from tests.conftest import SAMPLE
from tests.fakes import FakeChannel, FakeWorld
from tests.people import SAM
from tests.unit.test_triage import ALEX, MORGAN, channel_card, run_queue

GROUP = "5c1f0b6e-0000-4000-8000-00000000a11d"
# In the scrum masters' group only: neither her id nor her email is configured.
RILEY = Clicker("29:1-riley-teams", "Riley Lead", "7e57ab1e-0000-4000-8000-0000000041e7")


@pytest.fixture
def group_world(tmp_path: Path) -> FakeWorld:
    world = FakeWorld(Settings(data_dir=tmp_path / "data", scrum_master_group_id=GROUP))
    world.directory.members[GROUP] = {RILEY.aad_object_id}
    return world


def submit(services: Services) -> str:
    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    workflow.run_steps(receipt.request_id, services)
    return receipt.request_id


@pytest.fixture
def group_request(group_world: FakeWorld) -> str:
    request_id = submit(group_world.services)
    group_world.queue.messages.clear()
    return request_id


# --- the scrum masters' Entra group --------------------------------------------------------


def test_a_member_of_the_scrum_masters_group_sees_and_takes_the_decision(
    group_world, group_request
):
    card = triage.view(group_request, RILEY, group_world.services)
    assert {"create_pbi", "close_not_our_problem"} <= set(verbs(card))
    triage.decide(group_request, RILEY, DecisionKind.CREATE_PBI, {}, group_world.services)
    run_queue(group_world)
    types = [item["draft"].type for item in group_world.work_items.items.values()]
    assert types.count("Product Backlog Item") == 1
    assert any(
        "Decided: Proceed: create a PBI, by Riley Lead" in t
        for t in texts(card) + texts(channel_card(group_world))
    )


def test_someone_outside_the_group_and_the_settings_is_refused(group_world, group_request):
    stranger = Clicker("29:1-x", "Xan", "0bad0bad-0000-4000-8000-000000000000")
    card = triage.decide(group_request, stranger, DecisionKind.CREATE_PBI, {}, group_world.services)
    assert triage.NOT_SCRUM_MASTER in texts(card)
    assert "create_pbi" not in verbs(card)
    assert not [n for _, n in group_world.store.claims if n.startswith("decision")]


def test_when_the_group_cannot_be_asked_the_click_is_refused_with_that_reason(
    group_world, group_request
):
    group_world.faults.add("is_member", ExternalUnavailable("graph down"))
    card = triage.decide(group_request, RILEY, DecisionKind.CREATE_PBI, {}, group_world.services)
    assert triage.ROLE_NOT_CHECKED in texts(card)
    assert group_world.queue.messages == []
    assert_valid_card(card)
    # Graph back: the same click works.
    card = triage.decide(group_request, RILEY, DecisionKind.CREATE_PBI, {}, group_world.services)
    assert any("Working on it…" in t for t in texts(card))


def test_configured_scrum_masters_need_no_group_lookup(group_world, group_request):
    triage.view(group_request, MORGAN, group_world.services)
    triage.decide(group_request, MORGAN, DecisionKind.CREATE_PBI, {}, group_world.services)
    assert group_world.directory.lookups == 0


def test_without_a_group_the_directory_is_never_asked(world):
    request_id = submit(world.services)
    world.directory.members[GROUP] = {RILEY.aad_object_id}
    card = triage.decide(request_id, RILEY, DecisionKind.CREATE_PBI, {}, world.services)
    assert triage.NOT_SCRUM_MASTER in texts(card)
    assert world.directory.lookups == 0


def test_locally_the_group_is_the_people_with_the_scrum_master_role():
    directory = LocalDirectory(Settings().people)
    assert directory.is_member("00000000-0000-0000-0000-00000000306A", GROUP)  # Morgan
    assert not directory.is_member("00000000-0000-0000-0000-00000000a1e5", GROUP)  # Alex


def test_bootstrap_asks_graph_for_the_group_only_when_graph_and_a_group_are_set(tmp_path):
    def directory(**values: Any) -> Any:
        return bootstrap.build(Settings(data_dir=tmp_path / "d", **values)).directory

    graph = {
        "graph_tenant_id": "t",
        "graph_client_id": "c",
        "graph_client_secret": "s3cr3t-value",
        "mail_sender": "intake@contoso.example",
    }
    assert directory() is None
    assert directory(**graph) is None
    assert isinstance(directory(scrum_master_group_id=GROUP), LocalDirectory)
    assert isinstance(directory(scrum_master_group_id=GROUP, **graph), GraphDirectory)


def test_a_real_bot_with_a_group_needs_the_graph_app():
    with pytest.raises(ValueError, match="INTAKE_SCRUM_MASTER_GROUP_ID"):
        Settings(
            bot_app_id="b",
            bot_app_secret="bot-secret-value",
            bot_tenant_id="t",
            teams_channel_id="19:c@thread.tacv2",
            scrum_master_group_id=GROUP,
        )


# --- scrum masters' Teams ids, learnt from their clicks -------------------------------------


def test_a_scrum_masters_teams_id_is_learnt_from_a_click_and_refreshes_every_card(
    group_world, group_request
):
    assert RILEY.teams_id not in channel_card(group_world)["refresh"]["userIds"]
    triage.view(group_request, RILEY, group_world.services)  # e.g. "Refresh card"
    assert group_world.store.scrum_masters() == [RILEY.teams_id]
    triage.record_vote(group_request, ALEX, VoteChoice.PROCEED, group_world.services)
    # The scrum masters, then the voters (each sees their own vote).
    assert channel_card(group_world)["refresh"]["userIds"] == [
        MORGAN.teams_id,
        RILEY.teams_id,
        "29:1-casey-local",  # the coordinator (Ask the client)
        ALEX.teams_id,
    ]
    # A new request's card lists them from its first post.
    second = workflow.submit_request(
        json.dumps({**SAMPLE, "responseId": "another"}).encode(),
        "application/json",
        group_world.services,
    )
    workflow.run_steps(second.request_id, group_world.services)
    cards = [t["card"] for t in group_world.channel.threads.values()]
    assert [c["refresh"]["userIds"] for c in cards][-1] == [
        MORGAN.teams_id,
        RILEY.teams_id,
        "29:1-casey-local",
    ]


def test_support_staff_clicks_are_not_learnt(group_world, group_request):
    triage.record_vote(group_request, ALEX, VoteChoice.PROCEED, group_world.services)
    assert group_world.store.scrum_masters() == []
    assert group_world.faults.calls["set_scrum_master"] == 0


def test_a_known_scrum_master_is_written_once_and_forgotten_after_leaving_the_group(
    group_world, group_request
):
    for _ in range(3):
        triage.view(group_request, RILEY, group_world.services)
    assert group_world.faults.calls["set_scrum_master"] == 1
    group_world.directory.members[GROUP] = set()
    card = triage.view(group_request, RILEY, group_world.services)
    assert group_world.store.scrum_masters() == []
    assert RILEY.teams_id not in card["refresh"]["userIds"]


def test_refresh_user_ids_stop_at_sixty(group_world, group_request):
    for n in range(70):
        group_world.store.set_scrum_master(f"29:learnt-{n}", f"P{n}", known=True)
    triage.record_vote(group_request, ALEX, VoteChoice.PROCEED, group_world.services)
    ids = channel_card(group_world)["refresh"]["userIds"]
    assert len(ids) == MAX_REFRESH_USERS and ids[0] == MORGAN.teams_id
    assert_valid_card(channel_card(group_world))


def test_a_store_that_cannot_remember_does_not_fail_the_click(group_world, group_request):
    group_world.faults.add("set_scrum_master", ExternalUnavailable("table down"))
    card = triage.view(group_request, RILEY, group_world.services)
    assert "create_pbi" in verbs(card)


# --- a decision that fails for good ---------------------------------------------------------


def test_a_failed_decision_is_shown_to_everyone_and_a_replay_shows_the_outcome(world):
    request_id = submit(world.services)
    world.queue.messages.clear()
    triage.decide(
        request_id, MORGAN, DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "bug"}, world.services
    )
    world.faults.add("create", ExternalRejected("TF401320: no such type", remote_status=400))
    run_queue(world)
    failed = "\n".join(texts(channel_card(world)))
    assert "Stopped: creating the Bug / Feature request in DevOps failed (" in failed
    assert "TF401320: no such type" in failed
    assert "The support team was told" in failed
    assert f"python -m intake replay {request_id}" in failed
    assert "Working on it…" not in failed
    assert_valid_card(channel_card(world))
    # The clicker's own refreshed card says the same.
    assert "Stopped:" in "\n".join(texts(triage.view(request_id, MORGAN, world.services)))

    assert replay(request_id, world.services) == "queued again, with its triage decision"
    while world.queue.messages:  # what the queue trigger does with each kind
        message = world.queue.messages[0]
        if message["kind"] == Kind.RUN_STEPS:
            world.queue.messages.pop(0)
            workflow.run_steps(message["request_id"], world.services)
        else:
            run_queue(world)
    done = "\n".join(texts(channel_card(world)))
    assert "Stopped:" not in done
    bug_id = next(i for i, item in world.work_items.items.items() if item["draft"].type == "Bug")
    assert f"Bug #{bug_id} created and linked." in done
    assert "The client was told by email." in done
    assert world.store.get_request(request_id).status == "done"


def test_a_failed_sprint_move_says_what_stopped_and_keeps_the_pbi(world):
    request_id = submit(world.services)
    world.queue.messages.clear()
    triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {}, world.services)
    run_queue(world)
    triage.decide(request_id, MORGAN, DecisionKind.SPRINT_URGENT, {}, world.services)
    world.faults.add("update", ExternalRejected("iteration is closed", remote_status=400))
    run_queue(world)
    shown = "\n".join(texts(channel_card(world)))
    assert "Stopped: moving the PBI into the current sprint failed" in shown
    assert "the PBI is not in the sprint yet" in shown
    assert "PBI #2 created and linked." in shown


# --- card updates in order ------------------------------------------------------------------


class ChannelWithAClickInFlight(FakeChannel):
    """While the first card update is on its way to Teams, someone else votes."""

    def __init__(self, world: FakeWorld, request_id: str) -> None:
        super().__init__(world.faults)
        self.threads = world.channel.threads
        self.world, self.request_id, self.sent = world, request_id, []  # type: ignore[var-annotated]

    def update_card(self, thread: Thread, card: dict[str, Any]) -> None:
        self.sent.append(card["refresh"]["action"]["data"]["cardVersion"])
        if len(self.sent) == 1:
            triage.record_vote(self.request_id, ALEX, VoteChoice.PROCEED, self.world.services)
        super().update_card(thread, card)


def test_an_update_asked_for_while_another_is_sent_is_published_after_it(world):
    request_id = submit(world.services)
    world.channel = ChannelWithAClickInFlight(world, request_id)
    triage.record_vote(request_id, SAM, VoteChoice.NOT_OUR_PROBLEM, world.services)
    # Alex's update waited for Morgan's to be sent, then the current state went out.
    assert world.channel.sent == [1, 3]
    final = channel_card(world)
    assert "Votes: Not our problem 1 · Bug / Feature request 0 · Proceed 1" in texts(final)
    assert final["refresh"]["action"]["data"]["cardVersion"] == 3
    assert world.store.cards[request_id]["published"] == 3
    assert world.store.cards[request_id]["owner"] == ""


def test_a_publisher_that_died_holding_the_turn_delays_nobody_for_long(world):
    request_id = submit(world.services)
    now = [1000.0]
    world.store.clock = lambda: now[0]
    world.store.begin_card_update(request_id, "dead-worker", triage.CARD_TURN_SECONDS)
    triage.record_vote(request_id, ALEX, VoteChoice.PROCEED, world.services)
    assert "No votes yet." in texts(channel_card(world))  # the turn is someone else's
    now[0] += triage.CARD_TURN_SECONDS + 1
    triage.record_vote(request_id, SAM, VoteChoice.PROCEED, world.services)
    assert "Votes: Not our problem 0 · Bug / Feature request 0 · Proceed 2" in texts(
        channel_card(world)
    )


def test_a_failed_card_update_gives_the_turn_back(world):
    request_id = submit(world.services)
    world.faults.add("update_card", ExternalUnavailable("connector down"))
    triage.record_vote(request_id, ALEX, VoteChoice.PROCEED, world.services)
    assert world.store.cards[request_id]["owner"] == ""
    assert world.store.cards[request_id]["published"] == 0
    triage.record_vote(request_id, SAM, VoteChoice.PROCEED, world.services)
    assert "Votes: Not our problem 0 · Bug / Feature request 0 · Proceed 2" in texts(
        channel_card(world)
    )


class SlowFirstUpdate:
    """SqliteChannel whose first update is held until a second click is over (no sleeps)."""

    def __init__(self, channel: SqliteChannel) -> None:
        self.channel = channel
        self.second_click_over = threading.Event()
        self.first_sending = threading.Event()
        self.calls = 0
        self.lock = threading.Lock()

    def post_card(self, card: dict[str, Any], *, key: str) -> Thread:
        return self.channel.post_card(card, key=key)

    def update_card(self, thread: Thread, card: dict[str, Any]) -> None:
        with self.lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            self.first_sending.set()
            assert self.second_click_over.wait(10)
        self.channel.update_card(thread, card)


def test_two_clicks_at_once_on_sqlite_leave_the_newest_card_in_the_channel(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    channel = SlowFirstUpdate(SqliteChannel(Database(settings.database_path)))
    services = bootstrap.build(settings, channel=channel)
    request_id = submit(services)
    first = threading.Thread(
        target=triage.record_vote, args=(request_id, ALEX, VoteChoice.PROCEED, services)
    )
    first.start()
    assert channel.first_sending.wait(10)
    # Without the card's turn, this newer card would go out now and the older one after it.
    triage.record_vote(request_id, SAM, VoteChoice.NOT_OUR_PROBLEM, services)
    channel.second_click_over.set()
    first.join(10)
    (thread,) = channel.channel.threads()
    assert "Votes: Not our problem 1 · Bug / Feature request 0 · Proceed 1" in texts(thread["card"])
    assert thread["updates"] == 2
