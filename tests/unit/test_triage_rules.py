"""The triage's pure decisions: tally, who may decide, what a click means. No fakes needed."""

from __future__ import annotations

import pytest

from intake.config import Settings
from intake.models import DecisionKind, Vote, VoteChoice
from intake.triage_rules import (
    Clicker,
    InvalidDecision,
    decision_from,
    is_scrum_master,
    scrum_master_teams_ids,
    tally,
    tally_text,
    task_titles,
    vote_comment,
)
from tests.people import ALEX, MORGAN


def vote(name: str, choice: VoteChoice) -> Vote:
    return Vote(voter_id=f"29:{name}", voter_name=name, choice=choice)


def test_tally_groups_votes_by_choice_in_button_order():
    votes = [
        vote("a", VoteChoice.PROCEED),
        vote("b", VoteChoice.NOT_OUR_PROBLEM),
        vote("c", VoteChoice.PROCEED),
    ]
    grouped = tally(votes)
    assert list(grouped) == list(VoteChoice)
    assert [v.voter_name for v in grouped[VoteChoice.PROCEED]] == ["a", "c"]
    assert grouped[VoteChoice.BUG_OR_FEATURE] == []
    assert tally_text(votes) == "Votes: Not our problem 1 · Bug / Feature request 0 · Proceed 2"
    assert tally_text([]) == "No votes yet."


def test_a_vote_comment_says_who_voted_what_and_what_it_replaced():
    first = vote("Alex", VoteChoice.NOT_OUR_PROBLEM)
    assert vote_comment(first, None) == "Alex voted Not our problem"
    changed = vote("Alex", VoteChoice.PROCEED)
    assert vote_comment(changed, first) == "Alex voted Proceed (instead of Not our problem)"


def test_scrum_masters_are_known_by_entra_object_id_or_by_email(settings):
    assert is_scrum_master(MORGAN, settings)
    assert not is_scrum_master(ALEX, settings)
    by_email = Settings(data_dir=settings.data_dir, scrum_masters=["ALEX@contoso.example"])
    assert is_scrum_master(ALEX, by_email)  # Alex's email, from the configured people
    assert not is_scrum_master(MORGAN, by_email)
    stranger = Clicker("29:x", "X", "11111111-0000-0000-0000-000000000000")
    by_id = Settings(data_dir=settings.data_dir, scrum_masters=[stranger.aad_object_id])
    assert is_scrum_master(stranger, by_id)  # not a configured person: the object id decides


def test_a_forged_name_does_not_make_a_scrum_master(settings):
    assert not is_scrum_master(Clicker("29:evil", "Morgan Scrum", ""), settings)


def test_refresh_user_ids_are_the_teams_ids_of_the_scrum_masters(settings):
    assert scrum_master_teams_ids(settings) == ["29:1-morgan-local"]


def test_task_titles_are_one_per_line_without_blanks():
    assert task_titles("  Fix query \n\n Add  index\r\n") == ("Fix query", "Add index")
    assert len(task_titles("\n".join(f"t{i}" for i in range(20)))) == 20


def test_a_decision_takes_what_it_needs_from_the_card_inputs():
    pbi = decision_from(DecisionKind.CREATE_PBI, {"tasks": "a\nb"}, MORGAN, "t1")
    assert pbi.tasks == ("a", "b") and pbi.by_name == "Morgan Scrum" and pbi.token == "t1"
    close = decision_from(DecisionKind.NOT_OUR_PROBLEM, {"rootCause": " DNS "}, MORGAN, "t")
    assert close.root_cause == "DNS"
    feature = decision_from(DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "Feature"}, MORGAN, "t")
    assert feature.bug_or_feature == "feature"


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (DecisionKind.NOT_OUR_PROBLEM, {}),
        (DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "   "}),
        (DecisionKind.BUG_OR_FEATURE, {"bugOrFeature": "epic"}),
    ],
)
def test_a_decision_without_its_input_is_refused(kind, data):
    with pytest.raises(InvalidDecision):
        decision_from(kind, data, MORGAN, "t")


@pytest.mark.parametrize(
    "module", ["triage.py", "triage_rules.py", "triage_views.py", "triage_card.py"]
)
def test_the_triage_use_cases_import_no_sdk(module):
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).parents[2] / "intake" / module).read_text())
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]
    banned = ("azure", "msal", "requests", "microsoft_agents", "jwt")
    assert not [n for n in imported if n.split(".")[0] in banned]


def test_a_scrum_masters_teams_id_with_someone_elses_object_id_is_not_a_scrum_master():
    from intake.config import Settings
    from intake.triage_rules import Clicker, is_scrum_master

    settings = Settings()
    morgan = next(p for p in settings.people if p.role == "scrum_master")
    alex = next(p for p in settings.people if p.name.startswith("Alex"))
    assert is_scrum_master(Clicker(morgan.teams_id, "Morgan", morgan.aad_object_id), settings)
    assert not is_scrum_master(Clicker(morgan.teams_id, "Morgan", alex.aad_object_id), settings)


def test_names_and_card_inputs_follow_the_one_text_rule():
    clicker = Clicker("29:x", "Mal\u202eyrotcelloc\u202c\u2028Name\x9b", "")
    assert clicker.name == "Malyrotcelloc Name"
    pbi = decision_from(
        DecisionKind.CREATE_PBI, {"tasks": "Fix\u200b it\u2028Two\x7f"}, MORGAN, "t"
    )
    assert pbi.tasks == ("Fix it", "Two")
    close = decision_from(
        DecisionKind.NOT_OUR_PROBLEM, {"rootCause": "DNS \u202eevil\u202c"}, MORGAN, "t"
    )
    assert close.root_cause == "DNS evil"


def test_a_task_title_limit_counts_utf16_units_as_devops_does():
    assert task_titles("\U0001f600" * 127) == ("\U0001f600" * 127,)
    with pytest.raises(InvalidDecision):
        task_titles("\U0001f600" * 128)
