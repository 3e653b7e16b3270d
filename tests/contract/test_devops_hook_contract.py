"""The DevOps service hook endpoint against the official event shape.

Pinned: the envelope is built and read back with the ``azure-devops`` package's own service
hook models (``azure.devops.v7_1.service_hooks.models.Event``, ``ResourceContainer``,
``FormattedEventMessage``; the package is already a dependency, version in requirements), and
each event's ``resource`` is checked against the wit 7.1 spec's definitions: for
``workitem.updated`` a ``WorkItemUpdate`` (its ``id`` the update's number, ``workItemId`` the
work item's) carrying the work item as ``revision``, for ``workitem.commented`` the
``WorkItem`` itself, as the service hooks event reference documents them
(learn.microsoft.com/azure/devops/service-hooks/events, "Work item updated", "Work item
commented on"). The SDK types ``resource`` as a free object, hence the spec for it.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from azure.devops.v7_1.service_hooks.models import Event, FormattedEventMessage, ResourceContainer

from intake import bootstrap
from intake.config import Settings
from intake.devops_hook import InvalidHookEvent, receive_hook
from tests.specs import load_spec

pytestmark = pytest.mark.contract

SECRET = "hook-secret-0123"
AUTH = "Basic " + base64.b64encode(f"devops:{SECRET}".encode()).decode()
ORG = "https://dev.azure.com/contoso/"
WIT_SPEC = "azure-devops/wit-7.1-workItemTracking.json"


def definition(name: str) -> dict[str, Any]:
    """A wit 7.1 definition with its siblings; a field's value is any JSON (the generator
    writes .NET's ``object`` as "object")."""
    definitions = copy.deepcopy(load_spec(WIT_SPEC)["definitions"])
    for value in definitions["WorkItemFieldUpdate"]["properties"].values():
        value.pop("type", None)
    definitions["WorkItem"]["properties"]["fields"]["additionalProperties"] = {}
    return {"$ref": f"#/definitions/{name}", "definitions": definitions}


def work_item(work_item_id: int, rev: int, state: str) -> dict[str, Any]:
    url = f"{ORG}_apis/wit/workItems/{work_item_id}"
    return {
        "id": work_item_id,
        "rev": rev,
        "fields": {
            "System.AreaPath": "Intake",
            "System.TeamProject": "Intake",
            "System.WorkItemType": "Issue",
            "System.State": state,
            "System.Title": "Invoices time out",
            "System.ChangedDate": "2026-12-01T10:00:00.123Z",
            "System.ChangedBy": "Ann Lee <ann@contoso.example>",
            "System.Tags": "intake; intake-0123456789abcdef",
        },
        "_links": {"self": {"href": url}},
        "url": url,
    }


def updated_resource(work_item_id: int) -> dict[str, Any]:
    return {
        "id": 5,  # the update's number: not the work item
        "workItemId": work_item_id,
        "rev": 5,
        "revisedBy": {
            "id": "00000000-0000-0000-0000-0000000000a1",
            "displayName": "Ann Lee",
            "uniqueName": "ann@contoso.example",
        },
        "revisedDate": "9999-01-01T00:00:00Z",
        "fields": {
            "System.Rev": {"oldValue": 4, "newValue": 5},
            "System.State": {"oldValue": "New", "newValue": "On Hold"},
            "System.ChangedDate": {
                "oldValue": "2026-12-01T09:00:00Z",
                "newValue": "2026-12-01T10:00:00.123Z",
            },
        },
        "_links": {"self": {"href": f"{ORG}_apis/wit/workItems/{work_item_id}/updates/5"}},
        "url": f"{ORG}_apis/wit/workItems/{work_item_id}/updates/5",
        "revision": work_item(work_item_id, 5, "On Hold"),
    }


def event(event_type: str, resource: dict[str, Any]) -> bytes:
    """The envelope as the azure-devops SDK's Event model serialises it."""
    envelope = Event(
        id="2e38c0d3-7c6a-4b3f-9b8e-000000000001",
        event_type=event_type,
        publisher_id="tfs",
        message=FormattedEventMessage(text="Issue #42 updated", html="<p>#42</p>", markdown="#42"),
        detailed_message=FormattedEventMessage(text="Issue #42 (Invoices time out) updated"),
        resource=resource,
        resource_version="1.0",
        resource_containers={
            "collection": ResourceContainer(id="c0ffee00-0000-0000-0000-000000000001"),
            "account": ResourceContainer(id="c0ffee00-0000-0000-0000-000000000002"),
            "project": ResourceContainer(id="c0ffee00-0000-0000-0000-000000000003"),
        },
        created_date=datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC),
    )
    return json.dumps(envelope.serialize()).encode()


@pytest.fixture
def services(tmp_path: Path) -> Any:
    return bootstrap.build(Settings(data_dir=tmp_path / "data", devops_hook_secret=SECRET))


def test_the_events_built_here_are_the_official_shapes():
    """The fixtures themselves, checked: the envelope reads back through the SDK's Event, and
    each resource fits its wit 7.1 definition."""
    for event_type, resource, name in [
        ("workitem.updated", updated_resource(42), "WorkItemUpdate"),
        ("workitem.commented", work_item(42, 6, "New"), "WorkItem"),
    ]:
        body = json.loads(event(event_type, resource))
        read = Event.deserialize(body)
        assert read.event_type == event_type and read.publisher_id == "tfs"
        assert set(read.resource_containers) == {"collection", "account", "project"}
        jsonschema.Draft4Validator(definition(name)).validate(body["resource"])
    jsonschema.Draft4Validator(definition("WorkItem")).validate(updated_resource(42)["revision"])


def test_work_item_updated_marks_the_work_item_not_the_update(services):
    receipt = receive_hook(event("workitem.updated", updated_resource(42)), AUTH, services)
    assert receipt.as_json() == {"eventType": "workitem.updated", "workItemId": 42}
    assert list(services.follow_ups.changed()) == [42]  # not 5, the update's number


def test_work_item_commented_marks_the_work_item(services):
    resource = work_item(43, 6, "In Planning")
    receipt = receive_hook(event("workitem.commented", resource), AUTH, services)
    assert receipt.work_item_id == 43
    assert list(services.follow_ups.changed()) == [43]


@pytest.mark.parametrize("event_type", ["workitem.created", "workitem.deleted", "git.push"])
def test_other_events_are_answered_and_ignored(services, event_type):
    receipt = receive_hook(event(event_type, work_item(44, 1, "New")), AUTH, services)
    assert receipt.work_item_id is None
    assert services.follow_ups.changed() == {}


@pytest.mark.parametrize(
    ("event_type", "resource"),
    [
        # A workitem.updated without workItemId: its id is an update's number, never used.
        ("workitem.updated", {k: v for k, v in updated_resource(42).items() if k != "workItemId"}),
        ("workitem.commented", {"id": "42"}),
    ],
)
def test_an_event_without_its_work_item_id_is_refused(services, event_type, resource):
    with pytest.raises(InvalidHookEvent):
        receive_hook(event(event_type, resource), AUTH, services)
    assert services.follow_ups.changed() == {}


def test_a_large_official_event_fits_the_size_limit(services):
    """DevOps sends the whole work item along (``revision``): a long description still fits."""
    resource = updated_resource(42)
    resource["revision"]["fields"]["System.Description"] = "<p>" + "x" * 600_000 + "</p>"
    body = event("workitem.updated", resource)
    assert len(body) > 600_000
    assert receive_hook(body, AUTH, services).work_item_id == 42
