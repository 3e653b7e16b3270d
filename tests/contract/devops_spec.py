"""Checks one recorded HTTP request against the official Azure DevOps 7.1 specs.

A request passes when some operation of ``wit-7.1-workItemTracking.json`` or
``work-7.1-work.json`` (``paths`` and ``x-ms-paths``) has its method and path template, the
api-version it sends (query or, as the SDK does, the ``Accept`` header) is the one that
operation declares (``7.1``, or ``7.1-preview.N`` for preview operations), every query
parameter is declared, a body's media type is in ``consumes``, a JSON body fits the body
schema, and a JSON-patch body uses only the spec's operations on ``/rev``, ``/fields/<ref>``
and ``/relations`` paths.

Three calls are outside these two files, and are checked against what is written here:
the SDK's route discovery (``OPTIONS {org}/_apis``, ``OPTIONS {vssps}/_apis``), its resource
area lookup (``GET {org}/_apis/ResourceAreas``), and the identities search on the vssps host
(the ims 7.1 reference, ``GET _apis/identities?searchFilter&filterValue&queryMembership``,
api-version 7.1; its spec file is not pinned in tests/specs.lock.json).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema

from tests.specs import load_spec

SPEC_FILES = ("azure-devops/wit-7.1-workItemTracking.json", "azure-devops/work-7.1-work.json")
FIELD_PATH = re.compile(r"^/fields/[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
RELATION_PATH = re.compile(r"^/relations/(-|\d+)$")


@dataclass(frozen=True)
class Operation:
    spec: str
    method: str
    template: str  # without the leading /{organization}
    pattern: re.Pattern[str]
    operation: dict[str, Any]
    api_version: str
    query: frozenset[str]


# Calls outside the two spec files: (host, method, template, api-version or None, query).
OUTSIDE_SPECS = [
    ("org", "OPTIONS", "/_apis", None, frozenset()),
    ("vssps", "OPTIONS", "/_apis", None, frozenset()),
    ("org", "GET", "/_apis/ResourceAreas", "7.1-preview.1", frozenset()),
    (
        "vssps",
        "GET",
        "/_apis/identities",
        "7.1",
        frozenset({"searchFilter", "filterValue", "queryMembership"}),
    ),
]


@cache
def operations() -> tuple[Operation, ...]:
    found = []
    for name in SPEC_FILES:
        spec = load_spec(name)
        for key, item in {**spec["paths"], **(spec.get("x-ms-paths") or {})}.items():
            template = key.split("?")[0].removeprefix("/{organization}")
            for method, operation in item.items():
                if method == "parameters":
                    continue
                parameters = [_parameter(spec, p) for p in operation.get("parameters", [])]
                version = next(p for p in parameters if p["name"] == "api-version")
                found.append(
                    Operation(
                        spec=name,
                        method=method.upper(),
                        template=template,
                        pattern=_pattern(template),
                        operation=operation,
                        api_version=_declared_version(version),
                        query=frozenset(p["name"] for p in parameters if p["in"] == "query"),
                    )
                )
    return tuple(found)


def check_request(request: Any, org_url: str, vssps_url: str) -> list[str]:
    """The problems of one request (empty when the specs allow it)."""
    url, method = request.url, request.method
    bases = {"org": org_url.rstrip("/"), "vssps": vssps_url.rstrip("/")}
    host = next((h for h, b in bases.items() if url.lower().startswith(b.lower() + "/")), None)
    if host is None:
        return [f"{method} {url}: not a DevOps URL of this organisation"]
    path = urlsplit(url[len(bases[host]) :]).path
    query = dict(parse_qsl(urlsplit(url).query))
    version = _sent_version(request, query)
    for where, verb, template, wanted, allowed in OUTSIDE_SPECS:
        if where == host and verb == method and _pattern(template).match(path):
            return _check_outside(request, template, version, wanted, allowed, query)
    if host != "org":
        return [f"{method} {path} on the vssps host: not an operation we expect there"]
    candidates = [op for op in operations() if op.method == method and op.pattern.match(path)]
    if not candidates:
        return [f"{method} {path}: no operation with this method and path in the 7.1 specs"]
    problems: list[str] = []
    for operation in candidates:
        problems = _check_operation(request, operation, version, query)
        if not problems:
            return []
    return problems


def _check_operation(
    request: Any, op: Operation, version: str | None, query: dict[str, str]
) -> list[str]:
    where = f"{op.method} {op.template} ({op.operation['operationId']})"
    problems = []
    if version != op.api_version:
        problems.append(f"{where}: api-version {version!r}, the spec declares {op.api_version!r}")
    unknown = sorted(set(query) - op.query - {"api-version"})
    if unknown:
        problems.append(f"{where}: query parameters not in the spec: {unknown}")
    body_parameter = next(
        (p for p in op.operation.get("parameters", []) if p.get("in") == "body"), None
    )
    if request.body is None:
        if body_parameter is not None and body_parameter.get("required"):
            problems.append(f"{where}: the spec requires a body")
        return problems
    if body_parameter is None:
        return [*problems, f"{where}: sends a body the operation does not take"]
    media = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    consumes = [c.lower() for c in op.operation.get("consumes", ["application/json"])]
    if media not in consumes:
        problems.append(f"{where}: Content-Type {media!r}, the spec consumes {consumes}")
    if media == "application/octet-stream":
        return problems  # a stream (the spec's "format": "Stream"): any bytes
    body = json.loads(request.body)
    if media == "application/json-patch+json":
        problems += [f"{where}: {p}" for p in check_json_patch(body, op.spec)]
    else:
        schema = {**body_parameter["schema"], "definitions": load_spec(op.spec)["definitions"]}
        for error in jsonschema.Draft4Validator(schema).iter_errors(body):
            problems.append(f"{where}: body does not fit the spec: {error.message}")
    return problems


def check_json_patch(document: Any, spec: str = SPEC_FILES[0]) -> list[str]:
    """JSON-patch ops of the spec's enum, on paths a work item has."""
    allowed = load_spec(spec)["definitions"]["JsonPatchOperation"]["properties"]["op"]["enum"]
    if not isinstance(document, list) or not document:
        return ["a JSON-patch body must be a non-empty array of operations"]
    problems = []
    for index, op in enumerate(document):
        kind, path = op.get("op"), str(op.get("path", ""))
        if kind not in allowed:
            problems.append(f"op {index}: {kind!r} is not a JSON-patch operation {allowed}")
        if path == "/rev":
            if kind != "test":
                problems.append(f"op {index}: /rev can only be tested, not {kind!r}")
        elif not (FIELD_PATH.match(path) or RELATION_PATH.match(path)):
            problems.append(
                f"op {index}: {path!r} is not /rev, /fields/<Reference.Name>, /relations"
            )
        if kind in ("add", "replace", "test") and "value" not in op:
            problems.append(f"op {index}: {kind!r} needs a value")
    return problems


def _check_outside(
    request: Any,
    template: str,
    version: str | None,
    wanted: str | None,
    allowed: frozenset[str],
    query: dict[str, str],
) -> list[str]:
    where = f"{request.method} {template}"
    problems = []
    if version != wanted:
        problems.append(f"{where}: api-version {version!r}, expected {wanted!r}")
    unknown = sorted(set(query) - allowed - {"api-version"})
    if unknown:
        problems.append(f"{where}: unexpected query parameters {unknown}")
    if request.body:
        problems.append(f"{where}: a body on a read")
    return problems


def _sent_version(request: Any, query: dict[str, str]) -> str | None:
    """The api-version, from the query or the Accept header; None if absent or sent twice."""
    accept = re.search(r"api-version=([^;,\s]+)", request.headers.get("Accept", ""))
    in_query = query.get("api-version")
    if accept and in_query:
        return None if accept.group(1) != in_query else in_query
    return accept.group(1) if accept else in_query


def _declared_version(parameter: dict[str, Any]) -> str:
    match = re.search(r"set to '([^']+)'", parameter.get("description", ""))
    assert match, f"no api-version in {parameter}"
    return match.group(1)


def _parameter(spec: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in parameter:
        resolved: dict[str, Any] = spec["parameters"][parameter["$ref"].split("/")[-1]]
        return resolved
    return parameter


def _pattern(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        if re.fullmatch(r"\{[^}]+\}", segment):
            parts.append(r"[^/]+")
        elif re.fullmatch(r"\$\{[^}]+\}", segment):
            parts.append(r"\$[^/]+")
        else:
            parts.append(re.escape(segment))
    # DevOps routes are case-insensitive (the spec itself writes workitems and workItems).
    return re.compile("^/" + "/".join(parts) + "/?$", re.IGNORECASE)
