"""The fault matrix of the decision flow: every fault, everywhere, after every decision, ends
with each effect of the winning decision once and nothing of any other.

``make test`` runs a deterministic bounded slice (``in_slice``: the keyed model, each operation
x fault kind at its first occurrence and as an outage, for four flows; the protocol model on
the decision email's operations); ``make reliability`` runs the whole matrix.
"""

from __future__ import annotations

import threading

import pytest

from intake import triage
from intake.errors import ExternalUnavailable
from intake.models import DecisionKind
from intake.triage_rules import TriageStep
from tests.conftest import SAMPLE
from tests.faults.decisions import (
    MORGAN,
    RILEY,
    ROOT_CAUSE,
    card_shows_outcome,
    decision_flows,
    with_two_scrum_masters,
)
from tests.faults.matrix import (
    Figures,
    HostModel,
    Scenario,
    make_world,
    run_scenario,
    scenarios,
    submitted_clean,
)

FLOWS = {flow.name: flow for flow in decision_flows(SAMPLE)}
SLICE_FLOWS = {
    "decision-pbi-sprint-urgent",
    "decision-not-our-problem",
    "decision-bug",
    "decision-race",
    "decision-pbi-done-close",
}


def in_slice(scenario: Scenario) -> bool:
    if scenario.remote == "keyed":
        return scenario.flow in SLICE_FLOWS and scenario.occurrence == 1
    return scenario.flow == "decision-not-our-problem" and "email_client" in scenario.operation


@pytest.fixture
def decision_settings(settings):
    return with_two_scrum_masters(settings)


@pytest.fixture(autouse=True)
def _no_retry_sleeps():
    from intake.adapters import retry

    retry.set_testing(True)
    yield
    retry.set_testing(False)


def run(name: str, scenario: Scenario, settings):
    return run_scenario(FLOWS[name], scenario, settings)


def test_the_bounded_slice_of_the_decision_matrix_ends_with_each_effect_once(
    decision_settings,
):
    figures = Figures()
    for flow, scenario in scenarios(list(FLOWS.values()), decision_settings):
        if in_slice(scenario):
            figures.add(run_scenario(flow, scenario, decision_settings))
    assert [(o.scenario.name, o.status, o.counts) for o in figures.failures] == []
    assert figures.losses == 0 and figures.duplicates == 0
    assert figures.scenarios >= 600
    assert set(figures.resolved_by) == {"retries", "timer", "replay"}
    assert figures.window_hits == {}


def test_the_matrix_aims_at_every_decision_step_and_every_port_operation(decision_settings):
    generated = list(scenarios(list(FLOWS.values()), decision_settings))
    aimed = {s.operation for _, s in generated}
    for step in TriageStep:
        assert f"record_step.{step.value}" in aimed, step
    assert {"claim.decision", "claim.decision.plan", "claim.decision.email_client"} <= aimed
    assert {"create", "find_created", "add_link", "update", "add_comment", "set_state"} <= aimed
    assert {"find_identity", "current_iteration", "update_card", "queue_send"} <= aimed
    assert {"send.decision.email_client", "find_sent.decision.email_client"} <= aimed
    # The votes' trail: each vote change kept on the record, aimed at like any step.
    assert any(name.startswith("record_step.vote.") for name in aimed)
    assert {"set_status", "acquire_lease", "release_lease"} <= aimed
    kinds = {s.kind for _, s in generated}
    assert kinds == {"5xx", "429", "timeout", "rejected", "crash-before", "crash-after"}
    assert {s.flow for _, s in generated} == set(FLOWS)


def test_a_lost_decision_message_is_resumed_by_the_timer(decision_settings):
    outcome = run(
        "decision-bug",
        Scenario("decision-bug", "keyed", "queue_send", "5xx", 1),
        decision_settings,
    )
    assert outcome.resolved_by == "timer"
    assert outcome.losses == 0 and outcome.duplicates == 0


def test_a_worker_dying_mid_decision_is_resumed_by_the_timer_once_its_lease_expired(
    decision_settings,
):
    outcome = run(
        "decision-pbi-sprint-urgent",
        Scenario("decision-pbi-sprint-urgent", "keyed", "create", "crash-after", 1),
        decision_settings,
    )
    assert outcome.resolved_by == "timer"
    assert outcome.counts["PBI"] == 1 and outcome.losses == 0 and outcome.duplicates == 0


def test_a_crash_after_the_decision_email_is_not_sent_again_while_sent_items_lags(
    decision_settings,
):
    for kind in ("crash-after", "timeout"):
        for operation in ("send.decision.email_client", "record_step.decision.email_client"):
            outcome = run(
                "decision-not-our-problem",
                Scenario("decision-not-our-problem", "protocol", operation, kind, 1),
                decision_settings,
            )
            assert outcome.counts["client decision email"] == 1, (operation, kind)
            assert outcome.status == "done"


def test_the_card_ends_showing_the_outcome_when_its_last_update_fails(decision_settings):
    for kind in ("5xx", "timeout", "crash-after", "rejected"):
        outcome = run(
            "decision-not-our-problem",
            Scenario("decision-not-our-problem", "keyed", "update_card", kind, 1, outage=True)
            if kind != "crash-after"
            else Scenario("decision-not-our-problem", "keyed", "update_card", kind, 2),
            decision_settings,
        )
        assert outcome.counts["card shows the outcome"] == 1, kind
        assert outcome.status == "done"


def test_a_permanent_refusal_leaves_the_decision_failed_visibly_until_replayed(
    decision_settings,
):
    outcome = run(
        "decision-bug",
        Scenario("decision-bug", "keyed", "add_link", "rejected", 1),
        decision_settings,
    )
    assert outcome.resolved_by == "replay"
    assert outcome.losses == 0 and outcome.duplicates == 0


def test_two_scrum_masters_racing_in_threads_under_faults_take_one_decision(
    decision_settings,
):
    """Real threads this time: four clicks at once, with the claim and the record failing
    for some of them; whoever wins, its effects happen once and the loser's never."""
    for fault in ("claim", "record_step"):
        world = make_world(decision_settings, "keyed")
        host = HostModel(world)
        request_id = submitted_clean(host, FLOWS["decision-race"])
        world.faults.add(fault, ExternalUnavailable("flaky"), times=2)
        start = threading.Barrier(4)

        def click(who, kind, data, start=start, request_id=request_id, world=world) -> None:
            start.wait()
            for _ in range(3):  # an error answer: the person clicks again
                try:
                    triage.decide(request_id, who, kind, data, world.services)
                    return
                except ExternalUnavailable:
                    continue

        pbi = (DecisionKind.CREATE_PBI, {"tasks": "Fix"})
        close = (DecisionKind.NOT_OUR_PROBLEM, {"rootCause": ROOT_CAUSE})
        clicks = [(MORGAN, *pbi), (RILEY, *close), (MORGAN, *pbi), (RILEY, *close)]
        threads = [threading.Thread(target=click, args=c) for c in clicks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        host.deliver_all()
        host.operate([request_id], clear=world.faults.clear)
        record = world.store.records[request_id]
        assert record.status == "done", fault
        pbis = [i for i in world.work_items.items.values() if i["draft"].type != "Task"]
        closed = world.work_items.items[record.work_item_id]["state"] == "Closed"
        if record.steps["decision"]["kind"] == DecisionKind.CREATE_PBI.value:
            assert len(pbis) == 2 and not closed, fault  # the request's item and the PBI
        else:
            told = [e for e in world.mailer.sent if e.key.endswith("decision.email_client")]
            assert len(pbis) == 1 and closed and len(told) == 1, fault
        assert card_shows_outcome(world, request_id)


def test_a_vote_change_kept_then_lost_in_a_crash_is_written_once_with_the_decision(
    decision_settings,
):
    """A vote's change is kept, then the click dies before the vote is stored; the person
    clicks again: the decision's comment lists each change once, and no comment per vote."""
    flow = FLOWS["decision-bug"]
    generated = [s for f, s in scenarios([flow], decision_settings) if s.remote == "keyed"]
    vote_steps = sorted(
        {s.operation for s in generated if s.operation.startswith("record_step.vote.")}
    )
    assert vote_steps
    for operation in vote_steps:
        for kind in ("crash-after", "crash-before", "5xx", "timeout"):
            outcome = run(
                "decision-bug",
                Scenario("decision-bug", "keyed", operation, kind, 1),
                decision_settings,
            )
            assert outcome.counts["vote change in the decision comment"] == 3, (operation, kind)
            assert outcome.counts["comment per vote"] == 0
            assert outcome.losses == 0 and outcome.duplicates == 0, (operation, kind)
