"""The DevOps adapter reads a work item's discussion (``WorkItems.discussion``) as the 7.1
spec allows: ``GET .../workItems/{id}/comments`` page by page, each comment in the spec's
``Comment`` shape; Intake's own comments are told apart from the people's."""

from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
import pytest
import requests_mock as requests_mock_module

from intake.adapters.devops import DevOpsWorkItems
from intake.models import Comment
from tests.contract.devops_double import INTAKE_IDENTITY, DevOpsDouble
from tests.contract.test_devops_contract import assert_spec_allows_every_request, calls, draft
from tests.specs import load_spec

pytestmark = pytest.mark.contract
WIT_SPEC = "azure-devops/wit-7.1-workItemTracking.json"
MORGAN = {
    "id": "7a7a0000-0000-0000-0000-000000000001",
    "displayName": "Morgan Scrum",
    "uniqueName": "morgan@contoso.example",
}


@pytest.fixture
def double(requests_mock: requests_mock_module.Mocker) -> DevOpsDouble:
    return DevOpsDouble().install(requests_mock)


def assert_comment_shape(comment: dict) -> None:
    """The double answers comments the way the spec's ``Comment`` definition says."""
    spec = load_spec(WIT_SPEC)
    schema = {**spec["definitions"]["Comment"], "definitions": spec["definitions"]}
    jsonschema.Draft4Validator(schema).validate(comment)


def test_the_discussion_is_read_page_by_page_and_tells_intake_from_people(requests_mock, double):
    work_items = DevOpsWorkItems(double.settings())
    ref = work_items.create(draft(), key="r1")
    work_items.add_comment(ref.id, Comment(key="k1", html="#client Which browser?"))
    for index in range(200):  # a full first page of people's comments
        double.person_comment(
            ref.id,
            {
                "text": f"<p>note {index}</p>",
                "createdBy": MORGAN,
                "createdDate": "2026-12-07T09:30:00.123Z",
            },
        )
    double.person_comment(
        ref.id,
        {
            "text": "#client **fixed**",
            "renderedText": "<p>#client <strong>fixed</strong></p>",
            "format": "markdown",
            "createdBy": MORGAN,
            "createdDate": "2026-12-07T10:00:00Z",
        },
    )
    gone = double.person_comment(ref.id, {"text": "oops", "createdBy": MORGAN, "isDeleted": True})
    for comment in double.comments[ref.id]:
        assert_comment_shape(comment)
    before = len(calls(requests_mock, double))

    found = work_items.discussion(ref.id)

    assert_spec_allows_every_request(requests_mock, double)
    read = calls(requests_mock, double)[before:]
    assert read == [f"GET /intake/_apis/wit/workitems/{ref.id}/comments"] * 2  # two pages
    assert len(found) == 202 and gone not in [c.id for c in found]
    assert [c.id for c in found] == sorted(c.id for c in found)
    ours, first, last = found[0], found[1], found[-1]
    assert ours.by_intake and ours.author.email == INTAKE_IDENTITY["uniqueName"]
    assert not first.by_intake and first.author.email == "morgan@contoso.example"
    assert first.created_at == datetime(2026, 12, 7, 9, 30, 0, 123000, tzinfo=UTC)
    assert last.html == "<p>#client <strong>fixed</strong></p>"  # Markdown, as rendered


def test_intake_identity_from_the_settings_is_intake_even_without_our_key(double):
    double.keeps_data_attributes = False  # DevOps dropped our key attribute
    work_items = DevOpsWorkItems(double.settings(devops_identity="INTAKE-SVC@contoso.example"))
    ref = work_items.create(draft(), key="r1")
    work_items.add_comment(ref.id, Comment(key="k1", html="#client Which browser?"))
    (ours,) = work_items.discussion(ref.id)
    assert ours.by_intake
    plain = DevOpsWorkItems(double.settings())
    (unknown,) = plain.discussion(ref.id)
    assert not unknown.by_intake  # neither the key nor the identity: a person's, for all we know
