"""Every card we produce is a valid Adaptive Card 1.5 (the official schema, Draft 6).

The check itself lives in ``tests/adaptive_cards.py``; Teams' ``msteams`` property is its one
explicit exemption, as the schema README advises for host extensions.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from intake.models import Request
from intake.triage_card import build_triage_card
from tests.adaptive_cards import assert_valid_card, card_errors
from tests.specs import load_spec

pytestmark = pytest.mark.contract


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


def test_the_pinned_schema_is_a_valid_draft_6_schema():
    jsonschema.Draft6Validator.check_schema(load_spec("adaptivecards/adaptive-card-1.5.0.json"))


def test_the_triage_card_is_a_valid_adaptive_card_1_5():
    assert_valid_card(triage_card())


def test_the_schema_check_catches_an_invalid_card():
    card = triage_card()
    card["body"][0]["type"] = "NoSuchElement"
    card["unknownProperty"] = True
    assert card_errors(card)


def test_msteams_is_the_only_exemption():
    card = triage_card()
    card["msteams"] = {"width": "Full"}
    assert card_errors(card) == []
    card["hostSpecific"] = {"x": 1}
    assert card_errors(card)
