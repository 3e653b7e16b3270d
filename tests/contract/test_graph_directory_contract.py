"""GraphDirectory at the HTTP edge: Entra ID's token endpoint and Graph's checkMemberGroups as
doubles on requests-mock (an unregistered URL fails); each request is checked against the
documented operation (https://learn.microsoft.com/graph/api/user-checkmembergroups: POST,
``{"groupIds": [...]}`` of 1 to 20 ids, answer ``{"value": [ids]}``)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from intake import bootstrap, triage, workflow
from intake.adapters.graph_directory import CACHE_SECONDS, GraphDirectory
from intake.config import Settings
from intake.errors import ExternalRejected, ExternalUnavailable, Throttled
from intake.models import DecisionKind
from intake.triage_rules import Clicker
from tests.contract.doubles_graph_teams import Call, GroupsDouble, mount
from tests.contract.graph_app import (
    GRAPH,
    assert_token_request_allowed,
    graph_settings_for,
    token_double,
)
from tests.contract.test_graph_mail_contract import _sample_body
from tests.fakes import FakeMailer, Faults

pytestmark = pytest.mark.contract

GROUP = "5c1f0b6e-0000-4000-8000-00000000a11d"
RILEY = "7e57ab1e-0000-4000-8000-0000000041e7"
ALEX = "00000000-0000-0000-0000-00000000a1e5"
CHECK_MEMBER_GROUPS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["groupIds"],
    "properties": {
        "groupIds": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "string"}}
    },
}


def assert_documented(call: Call) -> None:
    assert call.method == "POST"
    assert re.fullmatch(r"/v1\.0/users/[0-9a-f-]{36}/checkMemberGroups", call.path), call.path
    assert call.query == {}
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.headers["Authorization"].startswith("Bearer ")
    jsonschema.Draft7Validator(CHECK_MEMBER_GROUPS).validate(call.body)


@pytest.fixture
def graph_settings(tmp_path: Any) -> Settings:
    return graph_settings_for(
        tmp_path,
        scrum_master_group_id=GROUP,
        scrum_masters=[],  # the group alone says who decides
    )


@pytest.fixture
def groups(requests_mock: Any) -> Any:
    tokens = token_double(requests_mock)
    double = GroupsDouble(tokens, GRAPH)
    double.users = {RILEY, ALEX}
    double.members = {GROUP: {RILEY}}
    mount(requests_mock, double, GRAPH)
    yield double
    assert tokens.unexpected == [] and double.unexpected == []
    for call in double.calls:
        assert_documented(call)
    for call in tokens.calls:
        assert_token_request_allowed(call)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_group_member_is_a_member_and_others_are_not(graph_settings, groups):
    directory = GraphDirectory(graph_settings)
    assert directory.is_member(RILEY, GROUP)
    assert directory.is_member(RILEY.upper(), GROUP.upper())  # object ids in any case
    assert not directory.is_member(ALEX, GROUP)
    assert not directory.is_member("0bad0bad-0000-4000-8000-000000000000", GROUP)  # not a user


def test_answers_are_cached_for_a_few_minutes(graph_settings, groups):
    clock = Clock()
    directory = GraphDirectory(graph_settings, clock=clock)
    for _ in range(5):
        assert directory.is_member(RILEY, GROUP)
    assert len(groups.calls) == 1
    groups.members[GROUP] = set()  # Riley leaves the group
    clock.now += CACHE_SECONDS - 1
    assert directory.is_member(RILEY, GROUP)  # still cached
    clock.now += 2
    assert not directory.is_member(RILEY, GROUP)
    assert len(groups.calls) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, ExternalRejected), (429, Throttled), (503, ExternalUnavailable)],
)
def test_graph_errors_become_ours_and_are_not_cached(graph_settings, groups, status, error):
    directory = GraphDirectory(graph_settings)
    groups.fail("POST", "/checkMemberGroups", status, headers={"Retry-After": "1"})
    with pytest.raises(error):
        directory.is_member(RILEY, GROUP)
    assert len(groups.calls) == 1  # one attempt: the click must answer in time
    assert directory.is_member(RILEY, GROUP)


def test_a_decision_by_a_group_member_is_taken_and_a_strangers_is_refused(graph_settings, groups):
    # Mail is not under test here (its own contract test covers it): a fake outbox.
    services = bootstrap.build(graph_settings, mailer=FakeMailer(Faults()))
    assert isinstance(services.directory, GraphDirectory)
    receipt = workflow.submit_request(_sample_body(), "application/json", services)
    workflow.run_steps(receipt.request_id, services)
    alex = Clicker("29:1-alex", "Alex Support", ALEX)
    refused = triage.decide(receipt.request_id, alex, DecisionKind.CREATE_PBI, {}, services)
    assert triage.NOT_SCRUM_MASTER in str(refused)
    riley = Clicker("29:1-riley", "Riley Lead", RILEY)
    card = triage.decide(receipt.request_id, riley, DecisionKind.CREATE_PBI, {}, services)
    assert "Decided: Proceed: create a PBI, by Riley Lead" in str(card)
    assert services.store.scrum_masters() == ["29:1-riley"]
