"""An Azure DevOps organisation in memory, answering at the HTTP edge (requests-mock) the way
the real service does: the SDK's discovery calls (``OPTIONS {org}/_apis``,
``GET {org}/_apis/ResourceAreas``, ``OPTIONS {vssps}/_apis``), work items with revisions and a
``test /rev`` that fails with 412, each revision's update (paged, 200 at most), WIQL by tag
and by ``System.ChangedDate`` (a time of day only with ``timePrecision``), comments,
identities, team iterations and work item types. A request it does not know gets no answer,
so requests-mock raises ``NoMockAddress`` and the test fails.

Use: ``double = DevOpsDouble(); double.install(requests_mock); settings = double.settings()``.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests_mock

from intake.config import Settings

_orgs = itertools.count(1)
# The SDK caches discovery answers on disk (~/.azure-devops); keep the tests' answers out of
# the developer's home (read when azure.devops is first imported).
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="intake-devops-sdk-"))

# The resource locations the SDK looks up (id, area, resource, route template, resource
# version), as the real OPTIONS answers describe them.
ORG_LOCATIONS = [
    (
        "e81700f7-3be2-46de-8624-2eb35882fcaa",
        "Location",
        "ResourceAreas",
        "_apis/{resource}/{areaId}",
        1,
    ),
    (
        "62d3d110-0047-428c-ad3c-4fe872c91c74",
        "wit",
        "workItems",
        "{project}/_apis/{area}/{resource}/${type}",
        3,
    ),
    (
        "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b",
        "wit",
        "workItems",
        "{project}/_apis/{area}/{resource}/{id}",
        3,
    ),
    (
        "608aac0a-32e1-4493-a863-b9cf4566d257",
        "wit",
        "comments",
        "{project}/_apis/{area}/workItems/{workItemId}/{resource}/{commentId}",
        4,
    ),
    (
        "6570bf97-d02c-4a91-8d93-3abe9895b1a9",
        "wit",
        "updates",
        "{project}/_apis/{area}/workItems/{id}/{resource}/{updateNumber}",
        3,
    ),
    (
        "e07b5fa4-1499-494d-a496-64b860fd64ff",
        "wit",
        "attachments",
        "{project}/_apis/{area}/{resource}/{id}",
        3,
    ),
    (
        "1a9c53f7-f243-4447-b110-35ef023636e4",
        "wit",
        "wiql",
        "{project}/{team}/_apis/{area}/{resource}/{id}",
        2,
    ),
    (
        "7c8d7a76-4a09-43e8-b5df-bd792f4ac6aa",
        "wit",
        "workItemTypes",
        "{project}/_apis/{area}/{resource}/{type}",
        2,
    ),
    (
        "7c9d7a76-4a09-43e8-b5df-bd792f4ac6aa",
        "wit",
        "states",
        "{project}/_apis/{area}/workItemTypes/{type}/{resource}",
        1,
    ),
    (
        "bd293ce5-3d25-4192-8e67-e8092e879efb",
        "wit",
        "workItemTypesField",
        "{project}/_apis/{area}/workItemTypes/{type}/fields/{field}",
        3,
    ),
    (
        "c9175577-28a1-4b06-9197-8636af9f64ad",
        "work",
        "iterations",
        "{project}/{team}/_apis/{area}/teamsettings/{resource}/{id}",
        1,
    ),
    # Answered by tests/contract/hooks_double.py (service hook subscriptions).
    (
        "603fe2ac-9723-48b9-88ad-09305aa6c6e1",
        "core",
        "projects",
        "_apis/{resource}/{*projectId}",
        4,
    ),
    (
        "fc50d02a-849f-41fb-8af1-0a5216103269",
        "hooks",
        "subscriptions",
        "_apis/{area}/{resource}/{subscriptionId}",
        1,
    ),
]
VSSPS_LOCATIONS = [
    (
        "28010c54-d0c0-4c89-a5b0-1c9e188b9fb7",
        "IMS",
        "Identities",
        "_apis/{resource}/{identityId}",
        2,
    ),
]

STATES = {
    "Issue": ["New", "In Planning", "Active", "Waiting on Client", "Closed", "On Hold"],
    "Product Backlog Item": ["New", "Approved", "Committed", "Done", "Removed"],
    "Task": ["To Do", "In Progress", "Done"],
    "Bug": ["New", "Approved", "Committed", "Done"],
    "Feature": ["New", "In Progress", "Done"],
}

# The state categories of the processes (WorkItemStateColor.category in the wit spec).
CATEGORIES = {
    "New": "Proposed",
    "To Do": "Proposed",
    "Approved": "Proposed",
    "Done": "Completed",
    "Closed": "Completed",
    "Removed": "Removed",
}

TEST_FAILED = {
    "$id": "1",
    "innerException": None,
    "message": "VS403351: The test operation on the field 'rev' failed: the value does not match.",
    "typeName": "Microsoft.VisualStudio.Services.WebApi.Patch.TestPatchOperationFailedException, "
    "Microsoft.VisualStudio.Services.WebApi",
    "typeKey": "TestPatchOperationFailedException",
    "errorCode": 0,
    "eventId": 3000,
}


@dataclass
class Fault:
    """Answer ``status`` to ``times`` requests matching ``method`` and ``path`` (a regex);
    with ``after``, do the request's work first (the answer is lost on the way back)."""

    method: str
    path: str
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    after: bool = False


# The identity the double's PAT acts as (a comment Intake adds is created by it).
INTAKE_IDENTITY = {
    "id": "5e4f0000-0000-0000-0000-00000000a11e",
    "displayName": "Intake Service",
    "uniqueName": "intake-svc@contoso.example",
}


class DevOpsDouble:
    def __init__(self, *, project: str = "Intake", pat: str = "pat-for-tests") -> None:
        # A new organisation name each time: the SDK caches discovery answers per URL.
        self.org = f"contoso-{next(_orgs)}"
        self.org_url = f"https://dev.azure.com/{self.org}"
        self.vssps_url = f"https://vssps.dev.azure.com/{self.org}"
        self.project = project
        self.pat = pat
        self.accepted = {f"Basic {base64.b64encode(f':{pat}'.encode()).decode()}"}
        self.work_items: dict[int, dict[str, Any]] = {}
        self.attachments: dict[str, tuple[str, bytes]] = {}  # id -> (file name, bytes)
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.identities: list[dict[str, Any]] = []
        self.iterations = [
            {"id": "a1b2c3d4-0007", "name": "Sprint 7", "path": f"{project}\\Sprint 7"}
        ]
        self.future_iterations = [
            {"id": "a1b2c3d4-0008", "name": "Sprint 8", "path": f"{project}\\Sprint 8"}
        ]
        self.states = {name: list(states) for name, states in STATES.items()}
        # The fields every type has here: the system ones Intake writes, and the process's
        # custom field for the client's email.
        self.fields = [
            "System.Title",
            "System.Description",
            "System.Tags",
            "System.State",
            "System.AreaPath",
            "System.IterationPath",
            "Microsoft.VSTS.Common.Priority",
            "Custom.ClientEmail",
            "Custom.IntakeRequestId",
            "Microsoft.VSTS.Common.ResolvedReason",
        ]
        self.faults: list[Fault] = []
        self.concurrent_edits: dict[int, int] = {}
        self.keeps_data_attributes = True
        self.answers: list[tuple[str, str, int]] = []  # method, path, status of each answer
        # Every change is stamped (System.ChangedDate) one second after the previous one, and
        # recorded as a WorkItemUpdate; DevOps serves at most 200 updates per page.
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self.updates: dict[int, list[dict[str, Any]]] = {}
        self.updates_page_max = 200
        self.ids = itertools.count(101)
        self.comment_ids = itertools.count(5001)
        self.lock = threading.Lock()

    # --- set-up -------------------------------------------------------------------------
    def install(self, mocker: requests_mock.Mocker) -> DevOpsDouble:
        mocker.add_matcher(self.answer)
        return self

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "devops_org_url": self.org_url,
            "devops_project": self.project,
            "devops_pat": self.pat,
            **overrides,
        }
        return Settings(**values)

    def accept_bearer(self, token: str) -> None:
        self.accepted.add(f"Bearer {token}")

    def add_identity(self, name: str, email: str) -> str:
        identity_id = f"00000000-0000-0000-0000-{len(self.identities) + 1:012d}"
        self.identities.append(
            {
                "id": identity_id,
                "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{email}",
                "providerDisplayName": name,
                "customDisplayName": None,
                "isActive": True,
                "isContainer": False,
                "properties": {
                    "Mail": {"$type": "System.String", "$value": email},
                    "Account": {"$type": "System.String", "$value": email},
                },
            }
        )
        return identity_id

    def person_comment(self, work_item_id: int, comment: dict[str, Any]) -> int:
        """A comment a person wrote in DevOps (``comment``: the Comment fields to set)."""
        comment_id = next(self.comment_ids)
        known = {"workItemId": work_item_id, "id": comment_id, "version": 1, "isDeleted": False}
        self.comments.setdefault(work_item_id, []).append({**known, **comment})
        return comment_id

    def fail(self, method: str, path: str, status: int, **options: Any) -> None:
        self.faults.append(Fault(method, path, status, **options))

    def edit_meanwhile(self, work_item_id: int, times: int = 1) -> None:
        """Someone else saves the work item just before each of our next ``times`` PATCHes."""
        self.concurrent_edits[work_item_id] = times

    # --- the service ---------------------------------------------------------------------
    def answer(self, request: Any) -> Any:
        url = request.url
        if url.lower().startswith(self.org_url.lower() + "/"):
            host, rest = "org", url[len(self.org_url) :]
        elif url.lower().startswith(self.vssps_url.lower() + "/"):
            host, rest = "vssps", url[len(self.vssps_url) :]
        else:
            return None  # not ours: requests-mock fails the test
        path = urlsplit(rest).path
        with self.lock:
            fault = self._fault(request.method, path)
            if fault is not None and not fault.after:
                return self._reply(request, fault.status, fault.body or {}, fault.headers)
            status, body = self._route(request, host, path)
            if fault is not None:
                return self._reply(request, fault.status, fault.body or {}, fault.headers)
        return self._reply(request, status, body)

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and re.search(fault.path, path, re.I):
                fault.times -= 1
                return fault
        return None

    def _route(self, request: Any, host: str, path: str) -> tuple[int, Any]:
        method, segments = request.method, [unquote(s) for s in path.strip("/").split("/")]
        lowered = [s.lower() for s in segments]
        if method == "OPTIONS" and lowered == ["_apis"]:
            return 200, _locations(ORG_LOCATIONS if host == "org" else VSSPS_LOCATIONS)
        if request.headers.get("Authorization") not in self.accepted:
            return 401, {"message": "TF400813: The user is not authorized to access this resource."}
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        if host == "vssps":
            if method == "GET" and lowered == ["_apis", "identities"]:
                return 200, self._identities(query)
            return 404, {"message": "no such resource"}
        if method == "GET" and lowered == ["_apis", "resourceareas"]:
            return 200, self._resource_areas()
        if segments[0] != self.project:
            return 404, {"message": f"TF200016: The project '{segments[0]}' does not exist."}
        tail = lowered[1:]
        if tail[:2] == ["_apis", "wit"]:
            return self._wit(request, method, segments[3:], query)
        if tail[1:4] == ["_apis", "wit", "wiql"] and method == "POST":
            return self._wiql(request, query)
        if tail[1:5] == ["_apis", "work", "teamsettings", "iterations"] and method == "GET":
            timeframe = query.get("$timeframe", "").lower()
            if timeframe == "future":
                return 200, _collection(self.future_iterations)
            if timeframe == "current":
                return 200, _collection(self.iterations)
            return 200, _collection(self.iterations + self.future_iterations)
        return 404, {"message": f"no route for {method} {path}"}

    def _wit(self, request: Any, method: str, rest: list[str], query: dict[str, str]) -> Any:
        kind = rest[0].lower() if rest else ""
        if kind == "workitems" and len(rest) == 2 and rest[1].startswith("$") and method == "POST":
            return self._create(rest[1][1:], json.loads(request.body))
        if kind == "workitems" and len(rest) >= 2 and rest[1].isdigit():
            work_item_id = int(rest[1])
            if work_item_id not in self.work_items:
                return 404, {
                    "message": f"VS402323: Work item {work_item_id} does not exist, or you do not "
                    "have permissions to read it.",
                    "typeKey": "WorkItemUnauthorizedAccessException",
                }
            if len(rest) == 3 and rest[2].lower() == "updates" and method == "GET":
                return self._updates(work_item_id, query)
            if len(rest) == 3 and rest[2].lower() == "comments":
                return self._comments(request, method, work_item_id, query)
            if len(rest) == 2 and method == "GET":
                return 200, self._item_json(work_item_id, query.get("$expand", ""))
            if len(rest) == 2 and method == "PATCH":
                return self._update(work_item_id, json.loads(request.body))
        if kind == "attachments" and len(rest) == 1 and method == "POST":
            # AttachmentReference {id, url} (wit-7.1 spec; docs example "Upload a binary file")
            attachment_id = str(uuid.uuid4())
            self.attachments[attachment_id] = (query.get("fileName", ""), request.body or b"")
            url = f"{self.org_url}/_apis/wit/attachments/{attachment_id}"
            return 200, {"id": attachment_id, "url": f"{url}?fileName={query.get('fileName')}"}
        if kind == "workitemtypes" and method == "GET":
            if len(rest) == 1:
                return 200, _collection([{"name": name} for name in self.states])
            if rest[1] not in self.states:
                return 404, {"message": f"VS402323: Work item type {rest[1]} does not exist."}
            if len(rest) == 2:
                return 200, {"name": rest[1]}
            if len(rest) == 3 and rest[2].lower() == "states":
                return 200, _collection(
                    [
                        {"name": s, "color": "b2b2b2", "category": CATEGORIES.get(s, "InProgress")}
                        for s in self.states[rest[1]]
                    ]
                )
            if len(rest) == 3 and rest[2].lower() == "fields":
                return 200, _collection(
                    [
                        {"referenceName": name, "name": name.rsplit(".", 1)[-1]}
                        for name in self.fields
                    ]
                )
        return 404, {"message": f"no route for {method} {'/'.join(rest)}"}

    def _create(self, work_item_type: str, document: list[dict[str, Any]]) -> Any:
        if work_item_type not in self.states:
            return 404, {"message": f"VS402323: Work item type {work_item_type} does not exist."}
        work_item_id = next(self.ids)
        item: dict[str, Any] = {"rev": 1, "relations": [], "fields": {}}
        item["fields"] = {
            "System.WorkItemType": work_item_type,
            "System.TeamProject": self.project,
            "System.State": self.states[work_item_type][0],
        }
        problem = _apply(item, document)
        unknown = [
            n for n in item["fields"] if not n.startswith("System.") and n not in self.fields
        ]
        if unknown:  # as DevOps: a field the type does not have is refused
            problem = f"TF51535: Cannot find field {unknown[0]}."
        if problem:
            return 400, {"message": problem}
        self.work_items[work_item_id] = item
        self._record_update(work_item_id, {}, item)
        return 200, self._item_json(work_item_id, "")

    def _update(self, work_item_id: int, document: list[dict[str, Any]]) -> Any:
        item = self.work_items[work_item_id]
        if self.concurrent_edits.get(work_item_id, 0) > 0:
            self.concurrent_edits[work_item_id] -= 1
            item["rev"] += 1
            item["fields"]["System.History"] = "edited by someone else"
        for op in document:
            if op.get("op") == "test" and op.get("path") == "/rev" and op["value"] != item["rev"]:
                return 412, TEST_FAILED
        changed = json.loads(json.dumps(item))
        problem = _apply(changed, [op for op in document if op.get("op") != "test"])
        if problem:
            return 400, {"message": problem}
        changed["rev"] += 1
        self.work_items[work_item_id] = changed
        self._record_update(work_item_id, item, changed)
        return 200, self._item_json(work_item_id, "")

    def change(self, work_item_id: int, fields: dict[str, Any], *, times: int = 1) -> None:
        """Someone edits the work item in DevOps (``times`` revisions setting ``fields``)."""
        for _ in range(times):
            before = self.work_items[work_item_id]
            after = json.loads(json.dumps(before))
            after["fields"].update(fields)
            after["rev"] += 1
            self.work_items[work_item_id] = after
            self._record_update(work_item_id, before, after)

    def _record_update(
        self, work_item_id: int, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        """Stamp the new revision and record it as DevOps' WorkItemUpdate JSON."""
        self.now += timedelta(seconds=1)
        stamp = self.now.isoformat().replace("+00:00", "Z")
        after["fields"]["System.ChangedDate"] = stamp
        old_fields = before.get("fields", {})
        fields: dict[str, Any] = {}
        for name, value in after["fields"].items():
            if name not in old_fields:
                fields[name] = {"newValue": value}
            elif old_fields[name] != value:
                fields[name] = {"oldValue": old_fields[name], "newValue": value}
        history = self.updates.setdefault(work_item_id, [])
        if history:  # the previous revision ends now; the latest one never does
            history[-1]["revisedDate"] = stamp
        number = len(history) + 1
        history.append(
            {
                "id": number,
                "workItemId": work_item_id,
                "rev": after["rev"],
                "revisedBy": {
                    "id": "00000000-0000-0000-0000-0000000000aa",
                    "displayName": "Intake",
                    "uniqueName": "intake@contoso.example",
                },
                "revisedDate": "9999-01-01T00:00:00Z",
                "fields": fields,
                "url": f"{self.org_url}/_apis/wit/workItems/{work_item_id}/updates/{number}",
            }
        )

    def _updates(self, work_item_id: int, query: dict[str, str]) -> Any:
        """A page of updates: ``$skip`` first, then at most ``$top`` (capped at 200)."""
        skip = int(query.get("$skip", 0))
        top = min(int(query.get("$top", self.updates_page_max)), self.updates_page_max)
        return 200, _collection(self.updates.get(work_item_id, [])[skip : skip + top])

    def _item_json(self, work_item_id: int, expand: str) -> dict[str, Any]:
        item = self.work_items[work_item_id]
        body = {
            "id": work_item_id,
            "rev": item["rev"],
            "fields": item["fields"],
            "url": f"{self.org_url}/_apis/wit/workItems/{work_item_id}",
        }
        if expand.lower() in ("relations", "all"):
            body["relations"] = item["relations"]
        return body

    def _wiql(self, request: Any, query: dict[str, str]) -> Any:
        wiql = json.loads(request.body)["query"]
        by_tag = re.search(r"\[System\.Tags\] CONTAINS '((?:[^']|'')*)'", wiql)
        by_field = re.search(r"\[([A-Za-z][\w.]*)\] = '((?:[^']|'')*)'", wiql)

        def matches(item: dict[str, Any]) -> bool:
            fields = item["fields"]
            if by_field is not None:  # DevOps compares strings without case
                value = by_field.group(2).replace("''", "'").lower()
                return str(fields.get(by_field.group(1), "")).lower() == value
            assert by_tag is not None
            tag = by_tag.group(1).replace("''", "'").lower()
            return tag in [t.strip().lower() for t in fields.get("System.Tags", "").split(";")]

        if by_field is None and by_tag is None:
            return 400, {"message": "VS402337: this double answers tag and field queries only"}
        if by_field is not None and by_field.group(1) not in self.fields:
            return 400, {
                "message": f"TF51005: The query references a field that does not "
                f"exist. The error is caused by «{by_field.group(1)}»."
            }
        items = [(i, item) for i, item in sorted(self.work_items.items()) if matches(item)]
        changed = re.search(r"\[System\.ChangedDate\] > '([^']*)'", wiql)
        if changed:
            # A time of day is refused without timePrecision=true (the double's stand-in for
            # DevOps' refusal; without the flag DevOps compares dates by day).
            since = datetime.fromisoformat(changed.group(1).replace("Z", "+00:00"))
            if "T" in changed.group(1) and query.get("timePrecision", "").lower() != "true":
                return 400, {
                    "message": "a date with a time of day in a query without timePrecision"
                }
            items = [
                (i, item)
                for i, item in items
                if datetime.fromisoformat(item["fields"]["System.ChangedDate"]) > since
            ]
            if "ORDER BY [System.ChangedDate]" in wiql:
                items.sort(key=lambda pair: pair[1]["fields"]["System.ChangedDate"])
        found = [{"id": i, "url": f"{self.org_url}/_apis/wit/workItems/{i}"} for i, _ in items]
        top = int(query.get("$top", len(found) or 1))
        return 200, {"queryType": "flat", "queryResultType": "workItem", "workItems": found[:top]}

    def _comments(self, request: Any, method: str, work_item_id: int, query: dict[str, str]) -> Any:
        comments = self.comments.setdefault(work_item_id, [])
        if method == "POST":
            text = json.loads(request.body)["text"]
            if not self.keeps_data_attributes:
                text = re.sub(r'\sdata-intake-key="[^"]*"', "", text)
            comment = {"workItemId": work_item_id, "id": next(self.comment_ids), "version": 1}
            comment["text"] = text
            comment["createdBy"] = INTAKE_IDENTITY  # whoever the PAT belongs to
            comment["createdDate"] = "2026-12-07T09:00:00.000Z"
            comment["isDeleted"] = False
            comments.append(comment)
            return 200, comment
        if method == "GET":
            start = int(query.get("continuationToken", "0"))
            top = int(query.get("$top", "200"))
            page = comments[start : start + top]
            body: dict[str, Any] = {"totalCount": len(comments), "count": len(page)}
            body["comments"] = page
            if start + top < len(comments):
                body["continuationToken"] = str(start + top)
            return 200, body
        return 405, {"message": "method not allowed"}

    def _identities(self, query: dict[str, str]) -> Any:
        wanted = query.get("filterValue", "").lower()
        found = [
            i
            for i in self.identities
            if wanted
            in (i["properties"]["Mail"]["$value"].lower(), i["providerDisplayName"].lower())
        ]
        return _collection(found)

    def _resource_areas(self) -> Any:
        return _collection(
            [
                {
                    "id": "5264459e-e5e0-4bd8-b118-0985e68a4ec5",
                    "name": "wit",
                    "locationUrl": self.org_url + "/",
                },
                {
                    "id": "1d4f49f9-02b9-4e26-b826-2cdb6195f2a9",
                    "name": "work",
                    "locationUrl": self.org_url + "/",
                },
                {
                    "id": "8a3d49b8-91f0-46ef-b33d-dda338c25db3",
                    "name": "IMS",
                    "locationUrl": self.vssps_url + "/",
                },
            ]
        )

    def _reply(
        self, request: Any, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> Any:
        self.answers.append((request.method, urlsplit(request.url).path, status))
        return requests_mock.create_response(
            request,
            status_code=status,
            json=body,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )


def _apply(item: dict[str, Any], document: list[dict[str, Any]]) -> str:
    """Apply JSON-patch ops the way DevOps does for work items; an error message or ''."""
    for op in document:
        kind, path = op.get("op"), str(op.get("path", ""))
        if kind not in ("add", "replace", "remove", "test"):
            return f"VS403355: unsupported patch operation {kind!r}"
        if path.startswith("/fields/"):
            name = path[len("/fields/") :]
            if kind == "remove":
                item["fields"].pop(name, None)
            else:
                item["fields"][name] = op.get("value")
        elif path == "/relations/-" and kind == "add":
            # DevOps keeps a relation's comment (docs: "Add an attachment" keeps
            # attributes.comment on the AttachedFile relation it returns).
            attributes = dict(op["value"].get("attributes") or {})
            item["relations"].append({**op["value"], "attributes": attributes})
        else:
            return f"VS403357: the path {path!r} is not valid for this operation"
    return ""


def _collection(values: list[Any]) -> dict[str, Any]:
    return {"count": len(values), "value": values}


def _locations(rows: list[tuple[str, str, str, str, int]]) -> dict[str, Any]:
    return _collection(
        [
            {
                "id": location_id,
                "area": area,
                "resourceName": resource,
                "routeTemplate": template,
                "resourceVersion": version,
                "minVersion": 1.0,
                "maxVersion": 7.2,
                "releasedVersion": "7.1",
            }
            for location_id, area, resource, template, version in rows
        ]
    )
