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

CARDS_DIR = Path(__file__).resolve().parent.parent / "cards"
HEADLINE = (
    "Urgent: can someone please have a look at the Production Support ticket #{number} "
    "and let me know what we should do with this one"
)
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


def build_triage_card(request: Request, work_item_id: int, work_item_url: str) -> dict[str, Any]:
    """The card posted to the support channel for a new request."""
    card = load_card("triage")
    element(card, "headline")["text"] = HEADLINE.format(number=work_item_id)
    element(card, "title")["text"] = escape_markdown(request.title)
    facts = [
        ("Ticket", f"#{work_item_id}"),
        ("Client", f"{request.client_name} ({request.client_email})"),
        ("Organisation", request.organisation),
        ("Type", request.request_type),
        ("Environment", request.environment),
        ("Severity", request.severity),
    ]
    element(card, "facts")["facts"] = [
        {"title": title, "value": escape_markdown(value)} for title, value in facts if value
    ]
    element(card, "description")["text"] = escape_markdown(request.description)
    if not request.description:
        card["body"] = [item for item in card["body"] if item.get("id") != "description"]
    card["refresh"]["action"]["data"]["requestId"] = request.id
    for action in card["actions"]:
        if action["type"] == "Action.Execute":
            action["data"]["requestId"] = request.id
            action["fallback"]["data"]["requestId"] = request.id
    element(card, "open-work-item")["url"] = work_item_url
    return card
