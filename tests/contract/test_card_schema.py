"""Every card we produce is a valid Adaptive Card 1.5 (the official schema, Draft 6).

Teams' ``msteams`` property is not in the schema (additionalProperties: false); it is the one
explicit exemption, as the schema README advises for host extensions.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from intake.models import Request
from intake.triage_card import build_triage_card
from tests.specs import load_spec

pytestmark = pytest.mark.contract
HOST_EXTENSIONS = ("msteams",)


def card_errors(card: dict[str, Any]) -> list[str]:
    """Schema errors of ``card``, the allowlisted host extensions removed first."""
    schema = load_spec("adaptivecards/adaptive-card-1.5.0.json")
    jsonschema.Draft6Validator.check_schema(schema)
    checked = copy.deepcopy(card)
    for key in HOST_EXTENSIONS:
        checked.pop(key, None)
    return [
        f"{list(e.absolute_path)}: {e.message}"
        for e in jsonschema.Draft6Validator(schema).iter_errors(checked)
    ]


def triage_card() -> dict[str, Any]:
    request = Request(
        id="r1",
        form_id="f",
        response_id="1",
        title="Title",
        client_name="Jo",
        client_email="jo@fabrikam.example",
        description="What happened",
        severity="High",
        organisation="Fabrikam",
    )
    return build_triage_card(request, 42, "https://dev.azure.com/contoso/_workitems/edit/42")


def test_the_triage_card_is_a_valid_adaptive_card_1_5():
    card = triage_card()
    assert card["version"] == "1.5"
    assert card_errors(card) == []


def test_the_schema_check_catches_an_invalid_card():
    card = triage_card()
    card["body"][0]["type"] = "NoSuchElement"
    card["unknownProperty"] = True
    assert card_errors(card)
