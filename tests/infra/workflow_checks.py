"""Structural checks of a Logic Apps workflow definition (the Workflow Definition Language).

No JSON schema of the language is published in a form we can pin, so these are the rules the
service enforces that a file can break: the top-level shape, one trigger, known action types,
`runAfter` naming existing actions with valid statuses and no cycles, and every expression
well formed and referring only to declared parameters and to actions that have run before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

TOP_LEVEL = {
    "$schema",
    "contentVersion",
    "parameters",
    "staticResults",
    "triggers",
    "actions",
    "outputs",
}
SCHEMA = (
    "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/"
    "workflowdefinition.json#"
)
PARAMETER_TYPES = set("Array Bool Float Int Object SecureObject SecureString String".split())
# Built-in and managed-connector action types of Consumption workflows.
ACTION_TYPES = set(
    "ApiConnection ApiConnectionWebhook Compose Foreach Http HttpWebhook If InitializeVariable "
    "Join ParseJson Query Response Scope Select SetVariable Switch Table Terminate Until Wait "
    "Workflow".split()
)
TRIGGER_TYPES = set(
    "ApiConnection ApiConnectionWebhook Http HttpWebhook Recurrence Request".split()
)
STATUSES = {"Succeeded", "Failed", "Skipped", "TimedOut"}
REFERENCE = re.compile(r"\b(body|outputs|actions|result)\('([^']*)'\)")
PARAMETER = re.compile(r"\bparameters\('([^']*)'\)")
DURATION = re.compile(r"^P(T(\d+H)?(\d+M)?(\d+S)?|\d+D)$")


def expressions(value: Any) -> Iterator[str]:
    """Every expression in a value: a whole string "@..." or each "@{...}" inside one."""
    if isinstance(value, dict):
        for item in value.values():
            yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)
    elif isinstance(value, str):
        if value.startswith("@") and not value.startswith("@@") and "@{" not in value:
            yield value[1:]
        else:
            yield from _interpolations(value)


def _interpolations(value: str) -> Iterator[str]:
    start = value.find("@{")
    while start != -1:
        depth, index, quoted = 0, start + 1, False
        while index < len(value):
            char = value[index]
            if char == "'":
                quoted = not quoted
            elif not quoted and char == "{":
                depth += 1
            elif not quoted and char == "}":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        # Unterminated: keep its "{" so that the brace check reports it.
        yield value[start + 2 : index] if index < len(value) else value[start + 1 :]
        start = value.find("@{", index)


def expression_problems(expression: str) -> list[str]:
    """Balanced quotes and brackets (a quote inside a string is written twice)."""
    problems = []
    unquoted = re.sub(r"'(?:[^']|'')*'", "_", expression)  # each string literal -> _
    if "'" in unquoted:
        problems.append(f"unbalanced quote in {expression!r}")
    for opening, closing in ("()", "[]", "{}"):
        depth = 0
        for char in unquoted:
            depth += {opening: 1, closing: -1}.get(char, 0)
            if depth < 0:
                break
        if depth != 0:
            problems.append(f"unbalanced {opening}{closing} in {expression!r}")
    return problems


def ancestors(actions: dict[str, Any], name: str) -> set[str]:
    seen: set[str] = set()
    pending = list(actions[name].get("runAfter", {}))
    while pending:
        current = pending.pop()
        if current in seen or current not in actions:
            continue
        seen.add(current)
        pending.extend(actions[current].get("runAfter", {}))
    return seen


def workflow_problems(definition: dict[str, Any]) -> list[str]:
    problems = [f"unknown top-level key {k}" for k in sorted(set(definition) - TOP_LEVEL)]
    if definition.get("$schema") != SCHEMA:
        problems.append("$schema is not the 2016-06-01 workflow definition schema")
    parameters = definition.get("parameters", {})
    for name, parameter in parameters.items():
        if parameter.get("type") not in PARAMETER_TYPES:
            problems.append(f"parameter {name}: type {parameter.get('type')!r}")
    triggers = definition.get("triggers", {})
    if len(triggers) != 1:
        problems.append(f"{len(triggers)} triggers; a workflow has exactly one")
    for name, trigger in triggers.items():
        if trigger.get("type") not in TRIGGER_TYPES:
            problems.append(f"trigger {name}: type {trigger.get('type')!r}")
    actions: dict[str, Any] = definition.get("actions", {})
    for name, action in actions.items():
        if action.get("type") not in ACTION_TYPES:
            problems.append(f"action {name}: type {action.get('type')!r}")
        for before, statuses in action.get("runAfter", {}).items():
            if before not in actions:
                problems.append(f"action {name}: runs after {before}, which does not exist")
            if not statuses or set(statuses) - STATUSES:
                problems.append(f"action {name}: runAfter statuses {statuses}")
        if name in ancestors(actions, name):
            problems.append(f"action {name}: runAfter makes a cycle")
        retry = action.get("inputs", {}).get("retryPolicy")
        if retry is not None:
            problems.extend(f"action {name}: {p}" for p in retry_problems(retry))
    scopes = [(f"trigger {n}", t, set()) for n, t in triggers.items()]
    scopes += [(f"action {n}", a, ancestors(actions, n)) for n, a in actions.items()]
    for where, element, before in scopes:
        for expression in expressions(element):
            problems.extend(f"{where}: {p}" for p in expression_problems(expression))
            for _, target in REFERENCE.findall(expression):
                if target not in actions:
                    problems.append(f"{where}: refers to {target}, which does not exist")
                elif target not in before:
                    problems.append(f"{where}: refers to {target}, which has not run before it")
            for parameter in PARAMETER.findall(expression):
                if parameter not in parameters:
                    problems.append(f"{where}: parameter {parameter} is not declared")
    return problems


def retry_problems(retry: dict[str, Any]) -> list[str]:
    """Retry policy rules of the Logic Apps docs: exponential or fixed, 1-90 retries."""
    problems = []
    if retry.get("type") not in {"exponential", "fixed", "none"}:
        problems.append(f"retry type {retry.get('type')!r}")
    if retry.get("type") in {"exponential", "fixed"} and not 1 <= retry.get("count", 0) <= 90:
        problems.append(f"retry count {retry.get('count')}")
    for field in ("interval", "minimumInterval", "maximumInterval"):
        if field in retry and not DURATION.match(retry[field]):
            problems.append(f"retry {field} {retry[field]!r} is not an ISO 8601 duration")
    return problems
