"""How the local board page shows links and mentions, as DevOps does. Pure.

A link is stored once, from the item that made it (``add_link(source, target, rel)``); DevOps
shows it on both items, each under its own name: a PBI's ``Hierarchy-Forward`` link to a
Task is the PBI's Child and, on the Task, ``Hierarchy-Reverse``: its Parent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from intake.models import Identity

FORWARD = "System.LinkTypes.Hierarchy-Forward"
REVERSE = "System.LinkTypes.Hierarchy-Reverse"
RELATED = "System.LinkTypes.Related"
# A link type as the other end names it (Related is its own reverse).
OTHER_END = {FORWARD: REVERSE, REVERSE: FORWARD, RELATED: RELATED}
NAMES = {FORWARD: "Child", REVERSE: "Parent", RELATED: "Related"}
MENTION = re.compile(r'<a href="#" data-vss-mention="version:2\.0,([^"]+)">')


def link_names(work_item_id: int, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each link of the item as its own side names it: ``{"name", "rel", "id"}`` (the other
    item), Parents first, then Children, then Related, each by number."""
    found = []
    for link in links:
        mine = link["source_id"] == work_item_id
        rel = link["relation"] if mine else OTHER_END.get(link["relation"], link["relation"])
        other = link["target_id"] if mine else link["source_id"]
        found.append({"name": NAMES.get(rel, rel.rsplit(".", 1)[-1]), "rel": rel, "id": other})
    order = {"Parent": 0, "Child": 1, "Related": 2}
    return sorted(found, key=lambda r: (order.get(r["name"], 3), r["id"]))


def people_links(people: Iterable[Identity]) -> dict[str, str]:
    """Identity id -> where a mention of them links: their email (the local board's people)."""
    return {person.id: f"mailto:{person.email}" for person in people}


def linked_mentions(html: str, people: dict[str, str]) -> Markup:
    """A comment's HTML (as DevOps stores it, already safe) with each mention linking to the
    person instead of ``#``; a mention of someone unknown keeps ``#``."""

    def to_person(match: re.Match[str]) -> str:
        target = people.get(match.group(1))
        if target is None:
            return match.group(0)
        return (
            f'<a href="{escape(target)}" class="mention" '
            f'data-vss-mention="version:2.0,{match.group(1)}">'
        )

    return Markup(MENTION.sub(to_person, html))  # noqa: S704 - the board's own stored HTML
