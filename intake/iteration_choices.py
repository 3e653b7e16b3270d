"""The iterations Create PBI offers (issue 15: a fix version on accept), kept where a click
can read them without calling DevOps.

A Teams invoke must be answered within seconds, and the card a scrum master sees is rendered
inside one. So the team's current and coming sprints are read from DevOps by the follow-up
timer (every five minutes; read again when older than ``MAX_AGE``) and kept in the
follow-ups' store under the cursor ``iterations``; rendering the card and checking a click
read only that store. Until a first read succeeds (a new install, DevOps down), the card
offers "Current sprint" (resolved when the PBI is created) and "Backlog (no version yet)".
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from intake.errors import ExternalError
from intake.models import Iteration
from intake.ports import Services
from intake.triage_rules import SprintChoices

log = logging.getLogger(__name__)

CURSOR = "iterations"
MAX_AGE = timedelta(minutes=30)  # sprints change every week or two; a read is one call
MAX_COMING = 6  # sprints offered after the current one (the card's size stays bounded)


def choices(services: Services) -> SprintChoices:
    """What the card offers now, from the store alone (empty before a first read)."""
    data = _stored(services)
    if not data:
        return SprintChoices()
    current = _iteration(data.get("current"))
    coming = tuple(i for i in (_iteration(x) for x in data.get("coming") or []) if i)
    return SprintChoices(current, coming[:MAX_COMING])


def cached(services: Services) -> list[Iteration]:
    """Every iteration the card may have offered (the paths a click may name)."""
    found = choices(services)
    return [*([found.current] if found.current else []), *found.coming]


def refresh(services: Services, now: datetime) -> bool:
    """Read the team's current and coming sprints again when the kept ones are older than
    ``MAX_AGE``; True when read. A failure is logged and the kept ones stay."""
    follow_ups = services.follow_ups
    if follow_ups is None:
        return False
    data = _stored(services)
    read_at = data.get("readAt") if data else None
    if isinstance(read_at, str) and now - datetime.fromisoformat(read_at) < MAX_AGE:
        return False
    try:
        current = services.work_items.current_iteration()
        coming = services.work_items.coming_iterations()
    except ExternalError as exc:
        log.warning("follow_up: the team's sprints were not read (%s)", exc.title)
        return False
    later = [i for i in coming if current is None or i.path != current.path][:MAX_COMING]
    follow_ups.set_cursor(
        CURSOR,
        json.dumps(
            {
                "readAt": now.astimezone(UTC).isoformat(),
                "current": _json(current),
                "coming": [_json(i) for i in later],
            }
        ),
    )
    return True


def _stored(services: Services) -> dict[str, Any]:
    if services.follow_ups is None:
        return {}
    try:
        text = services.follow_ups.cursor(CURSOR)
    except ExternalError as exc:  # the card still renders, with the fallback choices
        log.warning("the kept sprints were not read (%s)", exc.title)
        return {}
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _json(iteration: Iteration | None) -> dict[str, str] | None:
    if iteration is None:
        return None
    return {"id": iteration.id, "name": iteration.name, "path": iteration.path}


def _iteration(data: Any) -> Iteration | None:
    if not isinstance(data, dict) or not data.get("path"):
        return None
    return Iteration(str(data.get("id", "")), str(data.get("name", "")), str(data["path"]))
