"""Every card we produce validates against the official Adaptive Card 1.5 schema.

Teams' ``msteams`` property (card width) is not in that schema: it is the one allowlisted
host extension, removed before validating (as the AdaptiveCards schemas README advises).
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft6Validator

from tests import specs
from tests.specs import load_spec

HOST_EXTENSIONS = ("msteams",)
SCHEMA = "adaptivecards/adaptive-card-1.5.0.json"


def card_errors(card: dict[str, Any]) -> list[str]:
    checked = copy.deepcopy(card)
    for name in HOST_EXTENSIONS:
        checked.pop(name, None)
    validator = Draft6Validator(load_spec(SCHEMA))
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(checked)
    ]


def assert_valid_card(card: dict[str, Any]) -> None:
    """The card validates against the schema. Unit and e2e tests check cards on the side of
    their behaviour: without the schema (a fresh machine that cannot download it, specs not
    required) that side check is left out and counted, and the test goes on."""
    assert card["version"] == "1.5"
    if not specs.spec_available(SCHEMA):
        specs.checks_left_out[SCHEMA] += 1
        return
    errors = card_errors(card)
    assert not errors, "\n".join(errors)


def elements(card: Any) -> list[dict[str, Any]]:
    """Every object of a card (elements, actions, inputs, choices ...), at any depth, in order."""
    found: list[dict[str, Any]] = []
    if isinstance(card, dict):
        found.append(card)
        for value in card.values():
            found.extend(elements(value))
    elif isinstance(card, list):
        for value in card:
            found.extend(elements(value))
    return found


def inputs(card: Any, input_id: str | None = None) -> list[dict[str, Any]]:
    """The card's Input.* elements (only those with ``input_id`` when given), in order."""
    return [
        node
        for node in elements(card)
        if str(node.get("type", "")).startswith("Input.")
        and (input_id is None or node.get("id") == input_id)
    ]


def texts(card: Any) -> list[str]:
    """Every TextBlock text of a card, at any depth, in order."""
    return [node["text"] for node in elements(card) if node.get("type") == "TextBlock"]


def verbs(card: Any) -> list[str]:
    """The verbs of every Action.Execute of a card, at any depth (the refresh action aside)."""
    found: list[str] = []
    if isinstance(card, dict):
        if card.get("type") == "Action.Execute":
            found.append(card["verb"])
        for key, value in card.items():
            if key != "refresh":
                found.extend(verbs(value))
    elif isinstance(card, list):
        for value in card:
            found.extend(verbs(value))
    return found
