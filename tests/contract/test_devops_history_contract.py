"""The reads the follow-up timer makes of DevOps, at the HTTP edge against the official 7.1 spec:
a work item's updates (``Updates_List``, paged by ``$top``/``$skip``) and the work items changed
since a watermark (``Wiql_Query By Wiql`` with ``timePrecision``). Every request is checked by
``check_request``; the double's answers are checked against the spec's response schemas, so
the adapter is proved against the shapes DevOps documents, not the double's own idea of them.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import requests_mock as requests_mock_module

from intake.adapters import retry
from intake.adapters.devops import UPDATES_PAGE, DevOpsWorkItems
from intake.models import WorkItemDraft
from tests.contract.devops_double import DevOpsDouble
from tests.contract.devops_spec import check_request
from tests.specs import load_spec

pytestmark = pytest.mark.contract

WIT_SPEC = "azure-devops/wit-7.1-workItemTracking.json"


@pytest.fixture
def double(requests_mock: requests_mock_module.Mocker) -> DevOpsDouble:
    return DevOpsDouble().install(requests_mock)


@pytest.fixture
def work_items(double: DevOpsDouble) -> DevOpsWorkItems:
    return DevOpsWorkItems(double.settings())


def devops_requests(mocker: requests_mock_module.Mocker, part: str, since: int = 0) -> list[Any]:
    """The requests to paths holding ``part``, from the ``since``-th request on."""
    return [r for r in mocker.request_history[since:] if part in r.path and r.method != "OPTIONS"]


def assert_spec_allows_every_request(mocker: requests_mock_module.Mocker, double: Any) -> None:
    problems = [
        problem
        for request in mocker.request_history
        for problem in check_request(request, double.org_url, double.vssps_url)
    ]
    assert problems == []


def response_schema(operation_id: str) -> dict[str, Any]:
    """The 200 answer's schema of an operation of the wit spec, with its definitions."""
    spec = load_spec(WIT_SPEC)
    for item in {**spec["paths"], **(spec.get("x-ms-paths") or {})}.values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                schema = copy.deepcopy(operation["responses"]["200"]["schema"])
                definitions = copy.deepcopy(spec["definitions"])
                # The spec's generator writes .NET's ``object`` (any value) as JSON's "object";
                # a field's old and new values are strings, numbers, identities...: any JSON.
                for value in definitions["WorkItemFieldUpdate"]["properties"].values():
                    value.pop("type", None)
                return {**schema, "definitions": definitions}
    raise AssertionError(f"no {operation_id} in {WIT_SPEC}")


def new_item(work_items: DevOpsWorkItems, key: str = "0123456789abcdef") -> int:
    draft = WorkItemDraft(
        type="Issue", title="Invoices time out", description_html="<p>x</p>", tags=("intake",)
    )
    return work_items.create(draft, key=key).id


# --- updates --------------------------------------------------------------------------------


@pytest.mark.parametrize(("revisions", "pages"), [(1, 1), (199, 1), (200, 2), (450, 3)])
def test_every_update_is_read_page_by_page_oldest_first(
    requests_mock, double, work_items, revisions, pages
):
    work_item_id = new_item(work_items)
    if revisions > 1:
        double.change(work_item_id, {"System.State": "In Planning"}, times=revisions - 1)
    since = len(requests_mock.request_history)

    updates = work_items.updates(work_item_id)

    assert [u["rev"] for u in updates] == list(range(1, revisions + 1))
    assert updates == double.updates[work_item_id]  # DevOps' own JSON, untouched
    assert updates[-1]["revisedDate"].startswith("9999-01-01")
    reads = devops_requests(requests_mock, "/updates", since)
    assert len(reads) == pages
    assert [parse_qs(urlsplit(r.url).query)["$skip"] for r in reads] == [
        [str(UPDATES_PAGE * n)] for n in range(pages)
    ]
    assert {parse_qs(urlsplit(r.url).query)["$top"][0] for r in reads} == {str(UPDATES_PAGE)}
    assert_spec_allows_every_request(requests_mock, double)


def test_each_update_says_what_changed_and_when_the_previous_revision_ended(double, work_items):
    work_item_id = new_item(work_items)
    double.change(work_item_id, {"System.State": "On Hold"})
    first, second = work_items.updates(work_item_id)
    assert second["fields"]["System.State"] == {"oldValue": "New", "newValue": "On Hold"}
    assert first["revisedDate"] == second["fields"]["System.ChangedDate"]["newValue"]


def test_a_bare_json_array_of_updates_is_read_too(requests_mock, double, work_items):
    """The spec types the answer as an array; DevOps wraps it (``value``). Either is read."""
    work_item_id = new_item(work_items)
    wrapped = double.updates[work_item_id]
    requests_mock.get(
        re.compile(rf".*/_apis/wit/workItems/{work_item_id}/updates.*", re.IGNORECASE),
        json=wrapped,
    )
    assert work_items.updates(work_item_id) == wrapped


def test_a_throttled_page_is_retried_and_nothing_is_read_twice(
    requests_mock, double, work_items, monkeypatch
):
    waits: list[float] = []
    monkeypatch.setattr(retry, "sleep", waits.append)
    retry.set_testing(False)  # this test looks at the waits themselves
    work_item_id = new_item(work_items)
    double.change(work_item_id, {"System.State": "In Planning"}, times=249)
    double.fail("GET", r"/updates$", 429, headers={"Retry-After": "4"})
    updates = work_items.updates(work_item_id)
    assert [u["rev"] for u in updates] == list(range(1, 251))
    assert waits == [4.0]


def test_the_updates_of_a_missing_work_item_are_a_rejection(double, work_items):
    from intake.errors import ExternalRejected

    with pytest.raises(ExternalRejected) as caught:
        work_items.updates(999)
    assert caught.value.remote_status == 404


# --- changed since a watermark --------------------------------------------------------------


def wiql_requests(mocker: requests_mock_module.Mocker, since: int = 0) -> list[Any]:
    return devops_requests(mocker, "/wiql", since)


def test_changed_since_lists_the_intake_items_changed_after_the_watermark(
    requests_mock, double, work_items
):
    first = new_item(work_items, key="1111111111111111")
    second = new_item(work_items, key="2222222222222222")
    watermark = double.now  # when the second was created
    third = new_item(work_items, key="3333333333333333")
    double.change(first, {"System.Title": "Invoices still time out"})  # the latest change
    other = new_item(work_items, key="4444444444444444")
    double.work_items[other]["fields"]["System.Tags"] = "someone-else"  # not Intake's
    double.change(other, {"System.State": "Active"})
    since = len(requests_mock.request_history)

    assert work_items.changed_since(watermark) == [third, first]  # oldest change first
    assert second not in work_items.changed_since(watermark)

    (query, _) = wiql_requests(requests_mock, since)
    assert parse_qs(urlsplit(query.url).query)["timePrecision"] == ["true"]
    wiql = json.loads(query.body)["query"]
    assert "[System.Tags] CONTAINS 'intake'" in wiql
    assert "ORDER BY [System.ChangedDate]" in wiql
    assert_spec_allows_every_request(requests_mock, double)


@pytest.mark.parametrize(
    ("watermark", "sent"),
    [
        # Kept to the millisecond (DevOps' own precision), never rounded to a day or up.
        (datetime(2026, 12, 1, 9, 0, 2, 500_999, tzinfo=UTC), "2026-12-01T09:00:02.500Z"),
        (datetime(2026, 12, 1, 9, 0, 2, tzinfo=UTC), "2026-12-01T09:00:02.000Z"),
        # Another zone: the same instant, in UTC.
        (
            datetime(2026, 12, 1, 10, 0, 2, 250_000, tzinfo=ZoneInfo("Europe/Paris")),
            "2026-12-01T09:00:02.250Z",
        ),
    ],
)
def test_the_watermark_is_sent_as_a_utc_instant_to_the_millisecond(
    requests_mock, double, work_items, watermark, sent
):
    work_items.changed_since(watermark)
    (query,) = wiql_requests(requests_mock)
    assert f"[System.ChangedDate] > '{sent}'" in json.loads(query.body)["query"]


def test_a_change_a_fraction_of_a_second_after_the_watermark_is_found(double, work_items):
    work_item_id = new_item(work_items)
    changed_at = datetime.fromisoformat(
        double.work_items[work_item_id]["fields"]["System.ChangedDate"]
    )
    assert work_items.changed_since(changed_at - timedelta(milliseconds=1)) == [work_item_id]
    assert work_items.changed_since(changed_at) == []


def answers_of(double: DevOpsDouble, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the JSON bodies the double answers with, by path."""
    answered: list[Any] = []
    reply = double._reply

    def recording(request: Any, status: int, body: Any, headers: Any = None) -> Any:
        answered.append((urlsplit(request.url).path.lower(), status, body))
        return reply(request, status, body, headers)

    monkeypatch.setattr(double, "_reply", recording)
    return answered


def test_the_answers_the_adapter_reads_fit_the_spec(double, work_items, monkeypatch):
    """What the double answers to both reads fits the spec's response schemas (the updates in
    the collection wrapper DevOps sends arrays in): the adapter reads what DevOps documents."""
    work_item_id = new_item(work_items)
    double.change(work_item_id, {"System.State": "On Hold"})
    answered = answers_of(double, monkeypatch)
    work_items.updates(work_item_id)
    work_items.changed_since(datetime(2026, 1, 1, tzinfo=UTC))
    pages = [body for path, status, body in answered if path.endswith("/updates")]
    (wiql,) = [body for path, status, body in answered if path.endswith("/wiql")]
    assert pages and all(set(page) == {"count", "value"} for page in pages)
    for page in pages:
        jsonschema.Draft4Validator(response_schema("Updates_List")).validate(page["value"])
    jsonschema.Draft4Validator(response_schema("Wiql_Query By Wiql")).validate(wiql)
    assert [ref["id"] for ref in wiql["workItems"]] == [work_item_id]
