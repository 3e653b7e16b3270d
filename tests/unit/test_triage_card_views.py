"""The triage card as each person reads it: no two buttons alike, the headline worded for the
request, your own vote shown, the answer at the top once decided, a refusal at its field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from intake import triage, workflow
from intake.config import Settings
from intake.models import DecisionKind, VoteChoice
from intake.triage_headline import DEFAULT_HEADLINES, URGENT, HeadlineRule, headline
from intake.triage_rules import Clicker, TriageStep
from tests.adaptive_cards import assert_valid_card, texts
from tests.conftest import sample_submission
from tests.fakes import FakeWorld
from tests.people import ALEX, MORGAN, SAM
from tests.unit.test_triage import channel_card, run_queue

CASEY = Clicker("29:1-casey-local", "Casey Coordinator", "00000000-0000-0000-0000-0000000ca5e1")
VOTE_TITLES = {"Not our problem", "Bug / Feature", "Proceed"}
DECISION_WORDS = ("Proceed:", "Close:", "Decide:", "Plan:")


def clickables(node: Any, *, inside_show_card: bool = False) -> Iterator[dict[str, Any]]:
    """Every action a person can click, at any depth (a Show-card's own actions included);
    not the refresh action (Teams sends it unasked) nor an action's fallback (shown instead
    of it, never beside it)."""
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Action."):
            yield node
        for key, value in node.items():
            if key not in ("refresh", "fallback"):
                yield from clickables(value)
    elif isinstance(node, list):
        for value in node:
            yield from clickables(value)


def titles(card: dict[str, Any]) -> list[str]:
    return [action["title"] for action in clickables(card)]


def views(world: FakeWorld, request_id: str) -> dict[str, dict[str, Any]]:
    """The card as everyone, a voter, a coordinator (no vote) and the scrum master see it."""
    services = world.services
    return {
        "everyone": channel_card(world),
        "staff": triage.view(request_id, ALEX, services),
        "coordinator": triage.view(request_id, CASEY, services),
        "scrum master": triage.view(request_id, MORGAN, services),
    }


def every_view(world: FakeWorld, request_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Walk the triage from the first post to a planned PBI, yielding each view at each stage,
    and a refused decision of each kind."""
    services = world.services
    for role, card in views(world, request_id).items():
        yield f"new/{role}", card
    triage.record_vote(request_id, ALEX, VoteChoice.PROCEED, services)
    triage.record_vote(request_id, SAM, VoteChoice.NOT_OUR_PROBLEM, services)
    run_queue(world)
    for role, card in views(world, request_id).items():
        yield f"voting/{role}", card
    for kind, data in (
        (DecisionKind.CREATE_PBI, {"tasks": "x" * 300}),
        (DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "  "}),
        (DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "neither"}),
    ):
        yield f"refused {kind.value}", triage.decide(request_id, MORGAN, kind, data, services)
    yield (
        "decided/clicker",
        triage.decide(request_id, MORGAN, DecisionKind.CREATE_PBI, {"tasks": "Fix"}, services),
    )
    run_queue(world)
    for role, card in views(world, request_id).items():
        yield f"awaiting plan/{role}", card
    triage.decide(request_id, MORGAN, DecisionKind.SPRINT_URGENT, {}, services)
    run_queue(world)
    for role, card in views(world, request_id).items():
        yield f"planned/{role}", card
    # Closing the loop (issue 15): the PBI is done (what the follow-up run records), the
    # coordinator closes.
    pbi = world.store.records[request_id].steps[TriageStep.CREATE_PBI.value]
    offer = {"id": pbi["id"], "type": "Product Backlog Item", "itemState": "Done", "rev": 2}
    world.store.record_step(request_id, TriageStep.DONE_OFFER.value, offer)
    for role, card in views(world, request_id).items():
        yield f"done/{role}", card
    coordinator = Clicker(CASEY.teams_id, CASEY.name, "00000000-0000-0000-0000-00000000ca5e")
    triage.decide(request_id, coordinator, DecisionKind.CLOSE_DONE, {}, services)
    run_queue(world)
    assert TriageStep.EMAIL_DONE.value in world.store.records[request_id].steps
    for role, card in views(world, request_id).items():
        yield f"closed/{role}", card


def test_no_two_clickable_actions_of_any_view_share_a_title(world, request_id):
    seen = 0
    for name, card in every_view(world, request_id):
        assert_valid_card(card)
        found = titles(card)
        assert len(found) == len(set(found)), f"{name}: {found}"
        seen += 1
    assert seen == 28


def test_a_decision_says_it_decides_and_no_vote_looks_like_one(world, request_id):
    card = triage.view(request_id, MORGAN, world.services)
    shown = [a["title"] for a in clickables(card) if a["type"] == "Action.ShowCard"]
    assert shown == [
        "Proceed: create PBI",
        "Close: not our problem",
        "Decide: bug / feature request",
        "Ask the client",  # not a decision: the request waits on the client (issue 15)
    ]
    assert all(title.startswith(DECISION_WORDS) for title in shown[:-1])
    assert not VOTE_TITLES & set(titles(card))  # the scrum master decides; no vote to misclick
    staff = triage.view(request_id, ALEX, world.services)
    assert set(titles(staff)) == VOTE_TITLES | {"Open in DevOps"}
    assert not any(t.startswith(DECISION_WORDS) for t in titles(staff) if t != "Proceed")


def test_the_scrum_masters_vote_is_refused_and_changes_nothing(world, request_id):
    card = triage.record_vote(request_id, MORGAN, VoteChoice.NOT_OUR_PROBLEM, world.services)
    assert triage.SCRUM_MASTER_DECIDES in texts(card)
    assert world.store.votes(request_id) == [] and world.queue.messages == []
    assert "Scrum master: decide" in texts(card)


# --- your own vote ---------------------------------------------------------------------------


def votes_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["data"]["vote"]: a for a in card["actions"] if a.get("verb") == "vote"}


def test_the_card_you_get_back_shows_your_vote_and_only_yours(world, request_id):
    mine = triage.record_vote(request_id, ALEX, VoteChoice.NOT_OUR_PROBLEM, world.services)
    assert "Your vote: Not our problem. Click another option to change it." in texts(mine)
    buttons = votes_of(mine)
    assert buttons["not_our_problem"]["title"] == "✓ Not our problem"
    assert [v for v, a in buttons.items() if a.get("style") == "positive"] == ["not_our_problem"]
    run_queue(world)
    # Everyone's message marks no option (no "primary" Proceed); Sam sees no vote of his own.
    everyone = channel_card(world)
    assert not any(a.get("style") for a in votes_of(everyone).values())
    assert not any(t.startswith("Your vote") for t in texts(everyone))
    sam = triage.view(request_id, SAM, world.services)
    assert not any(t.startswith("Your vote") for t in texts(sam))
    # A refresh (Teams sends one to every voter listed in refresh.userIds) shows it again.
    assert ALEX.teams_id in everyone["refresh"]["userIds"]
    again = triage.view(request_id, ALEX, world.services)
    assert votes_of(again)["not_our_problem"]["style"] == "positive"
    changed = triage.record_vote(request_id, ALEX, VoteChoice.PROCEED, world.services)
    assert votes_of(changed)["proceed"]["title"] == "✓ Proceed"
    assert "style" not in votes_of(changed)["not_our_problem"]


# --- after the decision ----------------------------------------------------------------------


def test_after_the_decision_the_answer_is_at_the_top_and_the_buttons_are_gone(world, request_id):
    triage.record_vote(request_id, ALEX, VoteChoice.NOT_OUR_PROBLEM, world.services)
    triage.decide(
        request_id, MORGAN, DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "DNS"}, world.services
    )
    run_queue(world)
    for role, card in views(world, request_id).items():
        first = card["body"][0]
        assert first["id"] == "outcome", role
        assert texts(first)[0] == "Decided: Not our problem, by Morgan Scrum", role
        assert "The request is closed and the client was told by email." in texts(first)[1]
        assert not any("what should we do" in t for t in texts(card)), role  # answered
        assert titles(card) == ["Open in DevOps"], role
        assert not any(t.startswith("Your vote") for t in texts(card)), role


def test_a_bug_or_feature_decision_says_which_at_the_top(world, request_id):
    triage.decide(
        request_id, MORGAN, DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "feature"}, world.services
    )
    run_queue(world)
    top = texts(channel_card(world)["body"][0])
    assert top[0] == "Decided: Bug / Feature request (a Feature request), by Morgan Scrum"


# --- a refused decision ----------------------------------------------------------------------


def form_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    (container,) = [
        item
        for section in card["body"]
        if section.get("id") == "scrum-master"
        for item in section["items"]
        if item.get("id") == "refused-decision"
    ]
    return container["items"]


@pytest.mark.parametrize(
    ("kind", "data", "field", "reason"),
    [
        (
            DecisionKind.NOT_OUR_PROBLEM,
            {"rootCause": " \n "},
            "rootCause",
            "Type a short root cause",
        ),
        (DecisionKind.CREATE_PBI, {"tasks": "Fix it\n" + "y" * 300}, "tasks", "Task 2 is 300"),
        (DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "both"}, "bugOrFeature", "Choose Bug"),
    ],
)
def test_a_refused_decision_shows_its_reason_under_its_field_and_keeps_what_was_typed(
    world, request_id, kind, data, field, reason
):
    card = triage.decide(request_id, MORGAN, kind, data, world.services)
    assert_valid_card(card)
    form = form_of(card)
    ids = [item.get("id") for item in form]
    at = ids.index(field)
    assert form[at + 1]["id"] == f"{field}-error"
    assert form[at + 1]["text"].replace("\\", "").startswith(reason)
    assert form[at + 1]["color"] == "Attention"
    if field != "bugOrFeature":  # a choice that is not offered cannot be kept
        assert form[at]["value"] == data[field]
    # The form is open (a Show-card would come back closed) and it is the only way to it.
    (execute,) = [a for a in clickables(form) if a["type"] == "Action.Execute"]
    assert execute["verb"] == kind.value and execute["data"]["requestId"] == request_id
    assert len(titles(card)) == len(set(titles(card)))
    assert not [n for _, n in world.store.claims if n.startswith("decision")]


def test_the_root_cause_input_is_required_on_the_card_itself():
    from intake.triage_card import load_card

    fragment = json.dumps(load_card("scrum_master_decide"))
    assert '"id": "rootCause"' in fragment and '"isRequired": true' in fragment
    assert '"errorMessage": "Type a short root cause for the client first."' in fragment


# --- the headline ----------------------------------------------------------------------------


def head(request_type: str, severity: str, rules: Any = DEFAULT_HEADLINES) -> str:
    return headline(rules, number=7, request_type=request_type, severity=severity)


@pytest.mark.parametrize("severity", ["Critical", "High", "high", " HIGH "])
def test_production_support_at_critical_or_high_gets_the_urgent_sentence(severity):
    assert head("Production Support", severity) == URGENT.format(number=7)
    assert head("production  support", severity).startswith("Urgent: ")


@pytest.mark.parametrize(
    ("request_type", "severity"),
    [
        ("Production Support", "Low"),
        ("Production Support", "Medium"),
        ("Production Support", ""),
        ("Staging", "Low"),
        ("Staging", "High"),
        ("Question", ""),
        ("", ""),
    ],
)
def test_every_other_request_gets_a_calm_headline(request_type, severity):
    said = head(request_type, severity)
    assert "Urgent" not in said and "#7" in said


def test_a_high_severity_request_of_another_type_asks_for_a_look_soon():
    assert head("Staging", "High") == (
        "Staging ticket #7, severity High: please have a look soon "
        "and say what we should do with it"
    )
    assert head("Staging", "Low") == "New ticket #7: what should we do with it?"


def test_headlines_are_configured_as_json_and_the_first_match_wins(monkeypatch):
    monkeypatch.setenv(
        "INTAKE_HEADLINES",
        json.dumps(
            [
                {"severities": ["Low"], "text": "FYI #{number} ({environment})"},
                {"request_types": ["Staging"], "text": "Staging #{number}"},
                {"text": "#{number}: {request_type}/{severity}"},
            ]
        ),
    )
    rules = Settings().headlines
    assert headline(rules, number=3, request_type="Staging", severity="Low", environment="QA") == (
        "FYI #3 (QA)"
    )
    assert head("Staging", "High", rules) == "Staging #7"
    assert head("Production Support", "Critical", rules) == "#7: Production Support/Critical"
    assert head("", "", []) == "New ticket #7: what should we do with it?"  # no rules at all


@pytest.mark.parametrize(
    "text", ["#{number.real}", "{severity!r}", "{number:>99}", "{client_email}"]
)
def test_a_headline_may_name_only_the_plain_placeholders(text):
    with pytest.raises(ValueError, match="headline placeholder"):
        HeadlineRule(text=text)


def test_the_typed_values_in_a_headline_are_escaped(settings):
    rules = (HeadlineRule(text="{request_type} #{number}"),)
    world = FakeWorld(settings.model_copy(update={"headlines": rules}))
    submission = sample_submission(request_type="**Prod** [x](http://evil)")
    receipt = workflow.submit_request(
        json.dumps(submission).encode(), "application/json", world.services
    )
    workflow.run_steps(receipt.request_id, world.services)
    assert channel_card(world)["body"][0]["text"].startswith(r"\*\*Prod\*\* \[x\](http://evil) #")


def test_the_posted_card_follows_the_request(world):
    for number, (severity, urgent) in enumerate((("High", True), ("Low", False))):
        submission = sample_submission(severity=severity, responseId=str(number + 10))
        receipt = workflow.submit_request(
            json.dumps(submission).encode(), "application/json", world.services
        )
        workflow.run_steps(receipt.request_id, world.services)
        posted = [t["card"] for t in world.channel.threads.values()][-1]
        assert posted["body"][0]["text"].startswith("Urgent: ") is urgent


def test_an_empty_headlines_setting_is_the_default_and_bad_json_is_named(monkeypatch):
    from intake.config import load_settings
    from intake.errors import ConfigurationError

    monkeypatch.setenv("INTAKE_HEADLINES", " ")
    assert load_settings().headlines == DEFAULT_HEADLINES
    monkeypatch.setenv("INTAKE_HEADLINES", "Urgent: #{number}")
    with pytest.raises(ConfigurationError, match="INTAKE_HEADLINES: .*JSON list"):
        load_settings()
    monkeypatch.setenv("INTAKE_HEADLINES", '[{"text": "#{number} for {client_name}"}]')
    with pytest.raises(ConfigurationError, match="INTAKE_HEADLINES"):
        load_settings()
