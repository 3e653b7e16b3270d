"""Every triage card posted or updated stays under Teams' limit for one message (about 28 KB for
the whole activity), whatever was typed: the description is shortened on the card (the work
item keeps all of it), then the other texts, the voters list and the refresh list."""

from __future__ import annotations

import json
from typing import Any

import pytest

from intake import triage
from intake.adapters.teams_sdk import card_activity
from intake.models import DecisionKind, VoteChoice
from intake.submission import MAX_FIELD_CHARS
from intake.triage_card import MAX_CARD_BYTES, SHORTENED
from intake.triage_rules import (
    MAX_REFRESH_USERS,
    MAX_ROOT_CAUSE,
    MAX_TASKS_TEXT,
    Clicker,
)
from tests.adaptive_cards import assert_valid_card, texts
from tests.conftest import sample_submission, submitted_request
from tests.people import MORGAN
from tests.unit.test_triage import channel_card, run_queue

TEAMS_LIMIT = 28_000  # bytes of the whole activity Teams accepts (about 28 KB)
CJK = "漢"  # three bytes in UTF-8, six as JSON's \\u escape
NAME = 256  # Teams display names are at most 256 characters


def activity_bytes(card: dict[str, Any]) -> int:
    """The update the Teams adapter sends for ``card``, as the SDK serialises it."""
    activity = card_activity(
        card,
        id="1:" + "9" * 40,
        conversation={"id": "19:" + "c" * 60 + "@thread.tacv2;messageid=" + "9" * 13},
        **{"from": {"id": "28:" + "0" * 36}},
    )
    body = activity.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return max(len(json.dumps(body).encode()), len(json.dumps(body, ensure_ascii=False).encode()))


def assert_fits(card: dict[str, Any]) -> None:
    assert_valid_card(card)
    assert len(json.dumps(card).encode()) <= MAX_CARD_BYTES
    assert activity_bytes(card) < TEAMS_LIMIT


def at_limits(character: str) -> dict[str, Any]:
    """The sample with every field the card shows at its limit, in ``character``."""
    fields = {
        name: character * limit
        for name, limit in MAX_FIELD_CHARS.items()
        if name not in ("client_email", "severity", "request_type")
    }
    fields["severity"] = "High"
    fields["request_type"] = "Production support"
    local = "a" * 64
    fields["client_email"] = f"{local}@{'b' * 63}.{'c' * 63}.{'d' * 50}.example"
    return sample_submission(**fields)


@pytest.fixture(params=[CJK, "*", "a"], ids=["cjk", "markdown", "ascii"])
def big_request(request, world) -> str:
    return submitted_request(world, at_limits(request.param))


def test_the_first_card_of_a_request_at_every_limit_fits(world, big_request):
    card = channel_card(world)
    assert_fits(card)
    description = next(b for b in card["body"] if b.get("id") == "description")["text"]
    assert description.endswith(SHORTENED) or "in the work item" in description
    # The work item keeps all of it, and the card links to it.
    (item,) = world.work_items.items.values()
    whole = world.store.records[big_request].request.description
    assert len(whole) == MAX_FIELD_CHARS["description"]
    assert whole[:500].replace("*", "") in item["draft"].description_html.replace("*", "")
    assert any(a.get("title") == "Open in DevOps" and a["url"] for a in card["actions"])


def test_the_unshortened_card_at_every_limit_would_not_fit(world, big_request):
    """The shortening is needed: the same card with the whole description is over the limit."""
    from intake.triage_card import build_triage_card

    record = world.store.records[big_request]
    full = build_triage_card(record.request, 1, "https://x", description_chars=10**6)
    if CJK in record.request.description or "*" in record.request.description:
        assert len(json.dumps(full).encode()) > TEAMS_LIMIT


def voter(number: int, character: str) -> Clicker:
    return Clicker(f"29:1-{number:03d}-" + "v" * 70, f"{number:03d}" + character * (NAME - 3))


def test_every_view_fits_with_many_voters_long_names_and_the_longest_inputs(world, big_request):
    services = world.services
    for number in range(MAX_REFRESH_USERS + 15):
        choice = list(VoteChoice)[number % 3]
        triage.record_vote(big_request, voter(number, CJK), choice, services)
    run_queue(world)
    long_sm = Clicker(MORGAN.teams_id, CJK * NAME, MORGAN.aad_object_id)
    views = {
        "everyone": channel_card(world),
        "a voter": triage.view(big_request, voter(3, CJK), services),
        "the scrum master": triage.view(big_request, long_sm, services),
        "a refused Create PBI": triage.decide(
            big_request,
            long_sm,
            DecisionKind.CREATE_PBI,
            {"tasks": (CJK * 200 + "\n") * 20},  # 4,020 characters: over the box's limit
            services,
        ),
        "a refused root cause": triage.decide(
            big_request,
            long_sm,
            DecisionKind.NOT_OUR_PROBLEM,
            {"rootCause": CJK * (MAX_ROOT_CAUSE + 1)},
            services,
        ),
    }
    assert len((CJK * 200 + "\n") * 20) > MAX_TASKS_TEXT
    for name, card in views.items():
        assert_fits(card), name
    voters = next(b for b in views["everyone"]["body"] if b.get("id") == "voters")
    assert voters["facts"][0]["title"] == "Earlier votes"
    triage.decide(
        big_request,
        long_sm,
        DecisionKind.NOT_OUR_PROBLEM,
        {"rootCause": CJK * MAX_ROOT_CAUSE},
        services,
    )
    run_queue(world)
    decided = channel_card(world)
    assert_fits(decided)
    assert decided["body"][0]["id"] == "outcome"
    assert any(t.startswith("Root cause: ") for t in texts(decided))
    # The work item's discussion and the client's email keep the whole root cause.
    assert world.store.records[big_request].steps["decision"]["root_cause"] == (
        CJK * MAX_ROOT_CAUSE
    )


def test_an_ordinary_card_is_not_shortened(world, request_id):
    card = channel_card(world)
    (description,) = [b["text"] for b in card["body"] if b.get("id") == "description"]
    assert SHORTENED not in description
    record = world.store.records[request_id]
    assert description.replace("\\", "") == record.request.description
