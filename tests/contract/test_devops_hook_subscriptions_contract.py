"""``python -m intake hooks create|list`` and the doctor's subscription check, against DevOps
at the HTTP edge (requests-mock).

Pinned: there is no service hooks file among the official specs we pin (specs.lock.json), so
what we send is checked against the ``azure-devops`` package's own model of it,
``azure.devops.v7_1.service_hooks.models.Subscription`` (package version pinned in
requirements.txt, 7.1.0b4): every key of a body is one of the model's, and the body survives
the SDK's deserialise -> serialise round trip unchanged (types as the model declares them).
The rest is from the Service Hooks REST API 7.1 reference (learn.microsoft.com/rest/api/
azure/devops/hooks/subscriptions: create, list, replace; api-version 7.1) and the consumer and
event references (service-hooks/consumers, Web Hooks ``httpRequest`` inputs; service-hooks/
events, the work item events' filter inputs), written out below.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from azure.devops.v7_1.service_hooks import models
from msrest import Deserializer, Serializer

from intake.__main__ import main
from intake.hook_subscriptions import user_name
from tests.contract.devops_double import DevOpsDouble
from tests.contract.hooks_double import HooksDouble

pytestmark = pytest.mark.contract

SECRET = "hook-secret-0123456789abcdef0123456789"
BASE_URL = "https://func-intake-xyz.azurewebsites.net"
HOOK_URL = f"{BASE_URL}/api/devops/hooks"

# The Web Hooks consumer's httpRequest inputs (consumer reference) and the work item events'
# publisher inputs (event reference: workitem.updated / workitem.commented filters).
WEBHOOK_INPUTS = {
    "url",
    "basicAuthUsername",
    "basicAuthPassword",
    "httpHeaders",
    "resourceDetailsToSend",
    "messagesToSend",
    "detailedMessagesToSend",
    "acceptUntrustedCerts",
}
DETAIL_LEVELS = {"resourceDetailsToSend": {"all", "minimal", "none"}}
MESSAGE_LEVELS = {"all", "text", "html", "markdown", "none"}
WORK_ITEM_FILTERS = {
    "workitem.updated": {"projectId", "areaPath", "workItemType", "tag", "changedFields"},
    "workitem.commented": {"projectId", "areaPath", "workItemType", "tag", "commentPattern"},
}
LIST_QUERY = {"publisherId", "eventType", "consumerId", "consumerActionId"}
SUBSCRIPTION_KEYS = {entry["key"] for entry in models.Subscription._attribute_map.values()}
CLIENT_MODELS = {k: v for k, v in models.__dict__.items() if isinstance(v, type)}


def check_hooks_request(request: Any, org_url: str) -> list[str]:
    """The problems of one request to the project or subscriptions resources."""
    path = urlsplit(request.url[len(org_url) :]).path
    query = dict(parse_qsl(urlsplit(request.url).query))
    accept = re.search(r"api-version=([^;,\s]+)", request.headers.get("Accept", ""))
    version = query.get("api-version") or (accept.group(1) if accept else None)
    where = f"{request.method} {path}"
    problems = [] if version == "7.1" else [f"{where}: api-version {version!r}, wanted '7.1'"]
    if request.method == "GET" and re.fullmatch(r"/_apis/projects/[^/]+", path):
        return problems + ([f"{where}: a body on a read"] if request.body else [])
    if request.method == "GET" and path == "/_apis/hooks/subscriptions":
        unknown = set(query) - LIST_QUERY - {"api-version"}
        return problems + ([f"{where}: unknown query {sorted(unknown)}"] if unknown else [])
    put = re.fullmatch(r"/_apis/hooks/subscriptions/[0-9a-f-]{36}", path)
    if not ((request.method == "POST" and path == "/_apis/hooks/subscriptions") or put):
        return [*problems, f"{where}: not a service hooks operation we call"]
    if (request.headers.get("Content-Type") or "").split(";")[0] != "application/json":
        problems.append(f"{where}: Content-Type {request.headers.get('Content-Type')!r}")
    return problems + [f"{where}: {p}" for p in check_subscription(json.loads(request.body))]


def check_subscription(body: dict[str, Any]) -> list[str]:
    problems = [f"{key!r} is not a Subscription field" for key in set(body) - SUBSCRIPTION_KEYS]
    model = Deserializer(CLIENT_MODELS)("Subscription", body)
    if Serializer(CLIENT_MODELS).body(model, "Subscription") != body:
        problems.append("the body does not survive the SDK's Subscription round trip")
    inputs, filters = body.get("consumerInputs", {}), body.get("publisherInputs", {})
    problems += [f"consumer input {k!r} unknown" for k in set(inputs) - WEBHOOK_INPUTS]
    if inputs.get("resourceDetailsToSend") not in DETAIL_LEVELS["resourceDetailsToSend"]:
        problems.append("resourceDetailsToSend")
    for key in ("messagesToSend", "detailedMessagesToSend"):
        if inputs.get(key) not in MESSAGE_LEVELS:
            problems.append(key)
    allowed = WORK_ITEM_FILTERS.get(body.get("eventType", ""), set())
    problems += [f"publisher input {k!r} unknown" for k in set(filters) - allowed]
    for key in ("publisherId", "consumerId", "consumerActionId", "eventType", "resourceVersion"):
        if not isinstance(body.get(key), str):
            problems.append(f"{key} missing")
    return problems


@pytest.fixture
def devops(requests_mock, monkeypatch) -> HooksDouble:
    double = DevOpsDouble().install(requests_mock)
    double.add_identity("Casey Coordinator", "casey@contoso.example")
    for name, value in {
        "INTAKE_DEVOPS_ORG_URL": double.org_url,
        "INTAKE_DEVOPS_PROJECT": double.project,
        "INTAKE_DEVOPS_PAT": double.pat,
        "INTAKE_DEVOPS_HOOK_SECRET": SECRET,
        "INTAKE_PUBLIC_BASE_URL": BASE_URL,
    }.items():
        monkeypatch.setenv(name, value)
    return HooksDouble(double).install(requests_mock)


def writes(devops: HooksDouble) -> list[tuple[str, str]]:
    return [
        (r.method, urlsplit(r.url).path.rsplit("/", 1)[-1])
        for r in devops.requests
        if r.method in ("POST", "PUT")
    ]


def test_create_makes_both_subscriptions_as_the_sdk_models_them(devops, capsys):
    assert main(["hooks", "create"]) == 0
    out = capsys.readouterr().out
    assert "✓ workitem.updated: created" in out and "✓ workitem.commented: created" in out
    bodies = {s["eventType"]: s for s in (json.loads(r.body) for r in devops.requests if r.body)}
    assert set(bodies) == {"workitem.updated", "workitem.commented"}
    for body in bodies.values():
        assert body["publisherId"] == "tfs"
        assert (body["consumerId"], body["consumerActionId"]) == ("webHooks", "httpRequest")
        assert body["publisherInputs"] == {"projectId": devops.project_id, "tag": "intake"}
        assert body["consumerInputs"] == {
            "url": HOOK_URL,
            "basicAuthUsername": user_name(SECRET),
            "basicAuthPassword": SECRET,
            "resourceDetailsToSend": "all",
            "messagesToSend": "none",
            "detailedMessagesToSend": "none",
        }
    for request in devops.requests:
        assert check_hooks_request(request, devops.double.org_url) == []
    assert SECRET not in out


def test_a_second_create_keeps_both_and_sends_nothing(devops, capsys):
    assert main(["hooks", "create"]) == 0
    first = writes(devops)
    assert main(["hooks", "create"]) == 0
    assert writes(devops) == first  # no POST, no PUT the second time
    assert capsys.readouterr().out.count(": kept (id ") == 2
    assert len(devops.subscriptions) == 2


def test_a_rotated_secret_updates_the_same_subscriptions(devops, monkeypatch, capsys):
    assert main(["hooks", "create"]) == 0
    ids = set(devops.subscriptions)
    monkeypatch.setenv("INTAKE_DEVOPS_HOOK_SECRET", "a-new-secret-0123456789abcdef012345")
    assert main(["hooks", "create"]) == 0
    out = capsys.readouterr().out
    assert out.count("updated (id ") == 2 and "another secret" in out
    assert set(devops.subscriptions) == ids
    assert set(devops.passwords.values()) == {"a-new-secret-0123456789abcdef012345"}
    assert [m for m, _ in writes(devops)] == ["POST", "POST", "PUT", "PUT"]
    for request in devops.requests:
        assert check_hooks_request(request, devops.double.org_url) == []


def test_a_disabled_subscription_made_by_hand_is_updated_not_duplicated(devops, capsys):
    made = devops.add(
        "workitem.updated",
        HOOK_URL,
        status="disabledBySystem",
        consumerInputs={"url": HOOK_URL, "basicAuthUsername": "me"},
    )
    assert main(["hooks", "create"]) == 0
    out = capsys.readouterr().out
    assert f"✓ workitem.updated: updated (id {made}): status disabledBySystem" in out
    assert "✓ workitem.commented: created" in out
    assert len(devops.subscriptions) == 2
    assert devops.subscriptions[made]["status"] == "enabled"
    assert devops.passwords[made] == SECRET


def test_list_shows_this_apps_subscriptions_and_what_is_missing(devops, capsys):
    devops.add("workitem.updated", "https://elsewhere.example/hook")
    assert main(["hooks", "list"]) == 0
    out = capsys.readouterr().out
    assert "workitem.updated    enabled   https://elsewhere.example/hook  id" in out
    assert "workitem.updated    missing" in out and "workitem.commented  missing" in out
    assert all(r.method == "GET" for r in devops.requests)  # read-only


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("INTAKE_DEVOPS_HOOK_SECRET", "", "INTAKE_DEVOPS_HOOK_SECRET is empty"),
        ("INTAKE_PUBLIC_BASE_URL", "", "INTAKE_PUBLIC_BASE_URL must be the app's public https"),
        ("INTAKE_PUBLIC_BASE_URL", "http://x.example", "not 'http://x.example'"),
        ("INTAKE_DEVOPS_ORG_URL", "", "DevOps is not configured"),
    ],
)
def test_create_without_what_it_needs_is_one_line_and_no_call(
    devops, monkeypatch, capsys, variable, value, says
):
    monkeypatch.setenv(variable, value)
    if variable == "INTAKE_DEVOPS_ORG_URL":
        for name in ("INTAKE_DEVOPS_PROJECT", "INTAKE_DEVOPS_PAT"):
            monkeypatch.delenv(name)
    assert main(["hooks", "create"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("Cannot create the service hooks: ") and says in out
    assert out.count("\n") == 1
    assert devops.requests == []


def test_a_pat_without_the_scope_is_one_line_with_the_status(devops, capsys):
    devops.double.accepted.clear()
    assert main(["hooks", "create"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DevOps refused or did not answer: ") and "401" in out
    assert "Service Hooks: Read, query & manage" in out
    assert out.count("\n") == 1 and devops.double.pat not in out


# --- the doctor ----------------------------------------------------------------------------


def hook_lines(out: str) -> list[str]:
    lines = out.splitlines()
    found = []
    for index, line in enumerate(lines):
        if "service hook subscriptions" in line:
            found.append(line)
            if index + 1 < len(lines) and lines[index + 1].startswith("    fix:"):
                found.append(lines[index + 1])
    return found


def test_the_doctor_passes_once_the_subscriptions_are_made(devops, capsys):
    assert main(["hooks", "create"]) == 0
    capsys.readouterr()
    before = len(devops.requests)
    assert main(["doctor"]) == 0
    assert hook_lines(capsys.readouterr().out) == [
        "✓ DevOps: service hook subscriptions (work item updated, commented) "
        f"(workitem.updated, workitem.commented enabled, to {HOOK_URL})"
    ]
    assert all(r.method == "GET" for r in devops.requests[before:])  # read-only


def test_the_doctor_names_what_is_missing_and_the_fix(devops, capsys):
    devops.add("workitem.updated", "https://old-app.example/api/devops/hooks")
    assert main(["doctor"]) == 1
    assert hook_lines(capsys.readouterr().out) == [
        "✗ DevOps: service hook subscriptions (work item updated, commented) (workitem.updated "
        "missing (one points at https://old-app.example/api/devops/hooks); workitem.commented "
        "missing)",
        "    fix: run python -m intake hooks create (the PAT needs the Service Hooks: Read, "
        "query & manage scope), or create them as docs/connect-devops.md shows",
    ]
    assert all(r.method == "GET" for r in devops.requests)


def test_the_doctor_sees_a_disabled_one_and_an_old_secret(devops, monkeypatch, capsys):
    assert main(["hooks", "create"]) == 0
    updated = next(
        s["id"] for s in devops.subscriptions.values() if s["eventType"] == "workitem.updated"
    )
    devops.subscriptions[updated]["status"] = "disabledBySystem"
    monkeypatch.setenv("INTAKE_DEVOPS_HOOK_SECRET", "rotated-0123456789abcdef0123456789ab")
    capsys.readouterr()
    assert main(["doctor"]) == 1
    (line, _fix) = hook_lines(capsys.readouterr().out)
    assert line.endswith(
        "(workitem.updated: status disabledBySystem, basic auth (another secret, or none); "
        "workitem.commented: basic auth (another secret, or none))"
    )


def test_without_a_hook_secret_the_doctor_skips_with_a_pass(devops, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_DEVOPS_HOOK_SECRET", "")
    main(["doctor"])
    assert hook_lines(capsys.readouterr().out) == [
        "✓ DevOps: service hook subscriptions (work item updated, commented) "
        "(not configured: the 5-minute sweep finds changes)"
    ]
    assert devops.requests == []


def test_the_secret_never_reaches_the_output(devops, capsys):
    main(["hooks", "create"])
    main(["hooks", "list"])
    main(["doctor"])
    assert SECRET not in capsys.readouterr().out


def test_the_request_check_finds_a_body_the_model_lacks():
    """The contract check can fail."""
    body = {
        "publisherId": "tfs",
        "eventType": "workitem.updated",
        "resourceVersion": "1.0",
        "consumerId": "webHooks",
        "consumerActionId": "httpRequest",
        "publisherInputs": {"projectId": "p", "project": "x"},
        "consumerInputs": {"url": HOOK_URL, "password": "x", "messagesToSend": "some"},
        "name": "mine",
    }
    problems = check_subscription(body)
    assert "'name' is not a Subscription field" in problems
    assert "consumer input 'password' unknown" in problems
    assert "publisher input 'project' unknown" in problems
    assert "messagesToSend" in problems and "resourceDetailsToSend" in problems
    assert check_subscription({**body, "consumerInputs": {"url": 5}})  # not a string
