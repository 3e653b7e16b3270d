"""The triage card: the JSON template in ``cards/triage.json`` filled with a request's facts.

Everything a person typed is escaped for the card's markdown before it goes in, so a title like
``**urgent** [click](http://evil)`` shows as typed and never as a link.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from intake.models import Request
from intake.text_rules import clean_text
from intake.triage_headline import DEFAULT_HEADLINES, HeadlineRule, headline

CARDS_DIR = Path(__file__).resolve().parent.parent / "cards"
# Teams refuses a message whose activity is over about 28 KB. The card is most of it; the rest
# (ids, conversation, sender, channel data) is well under 2 KB. Measured as the JSON goes out
# (``json.dumps``' default escapes every non-ASCII character to six bytes), so a card under
# this is under Teams' limit however its text is encoded.
MAX_CARD_BYTES = 25_000
DESCRIPTION_ON_CARD = 1_500  # characters; the work item keeps the whole description
SHORTENED = "… (shortened: the whole description is in the work item)"
# Characters that Adaptive Cards' markdown subset (and Teams' renderer) give a meaning to
# anywhere in a line; list markers only mean something at the start of a line.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|>~<])")
_LIST_MARKER = re.compile(r"^(\s*)([-+]|\d+)(\.?)(?=\s)", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """Backslash-escape what markdown could act on, so the text shows as the person typed it
    (less what the text rule removes: every text on a card passes here)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", clean_text(text))
    return _LIST_MARKER.sub(_escape_list_marker, escaped)


def _escape_list_marker(match: re.Match[str]) -> str:
    indent, marker, dot = match.groups()
    if marker.isdigit():  # "1. x" is a list, "1\. x" is text (digits cannot be escaped)
        return f"{indent}{marker}\\{dot}" if dot else match.group(0)
    return f"{indent}\\{marker}"


@cache
def _template(name: str) -> dict[str, Any]:
    with (CARDS_DIR / f"{name}.json").open(encoding="utf-8") as handle:
        card: dict[str, Any] = json.load(handle)
    return card


def load_card(name: str) -> dict[str, Any]:
    """A fresh copy of a card template (callers fill it in place)."""
    return copy.deepcopy(_template(name))


def element(card: dict[str, Any], element_id: str) -> dict[str, Any]:
    """The body element or action with ``id``; KeyError if the template lacks it."""
    for item in [*card.get("body", []), *card.get("actions", [])]:
        if item.get("id") == element_id:
            return item  # type: ignore[no-any-return]
    raise KeyError(element_id)


def card_bytes(card: dict[str, Any]) -> int:
    """The card's size as it is sent (see ``MAX_CARD_BYTES``)."""
    return len(json.dumps(card).encode())


def shortened(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (None: no limit)."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def build_triage_card(
    request: Request,
    work_item_id: int,
    work_item_url: str,
    *,
    headlines: tuple[HeadlineRule, ...] | list[HeadlineRule] = DEFAULT_HEADLINES,
    description_chars: int = DESCRIPTION_ON_CARD,
    fact_chars: int | None = None,
) -> dict[str, Any]:
    """The card posted to the support channel for a new request: the headline worded for its
    type and severity, the description cut to ``description_chars`` (the work item keeps it
    all), each fact to ``fact_chars`` (the views pass smaller limits to fit ``MAX_CARD_BYTES``)."""
    card = load_card("triage")
    element(card, "headline")["text"] = headline(
        headlines,
        number=work_item_id,
        request_type=request.request_type,
        severity=request.severity,
        environment=request.environment,
        escape=lambda value: escape_markdown(shortened(value, fact_chars)),
    )
    element(card, "title")["text"] = escape_markdown(shortened(request.title, fact_chars))
    facts = [
        ("Ticket", f"#{work_item_id}"),
        ("Client", f"{request.client_name} ({request.client_email})"),
        ("Organisation", request.organisation),
        ("Type", request.request_type),
        ("Environment", request.environment),
        ("Severity", request.severity),
    ]
    element(card, "facts")["facts"] = [
        {"title": title, "value": escape_markdown(shortened(value, fact_chars))}
        for title, value in facts
        if value
    ]
    description = request.description
    if len(description) > description_chars:
        description = description[:description_chars].rstrip() + SHORTENED
    if description_chars <= 0:
        description = "The description is in the work item (too long for this card)."
    element(card, "description")["text"] = escape_markdown(description)
    if not request.description:
        card["body"] = [item for item in card["body"] if item.get("id") != "description"]
    card["refresh"]["action"]["data"]["requestId"] = request.id
    for action in card["actions"]:
        if action["type"] == "Action.Execute":
            action["data"]["requestId"] = request.id
            action["fallback"]["data"]["requestId"] = request.id
    element(card, "open-work-item")["url"] = work_item_url
    return card
