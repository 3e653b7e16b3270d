"""Directory on Microsoft Graph: is a user in the scrum masters' Entra group?

One call, ``POST {graph}/v1.0/users/{id}/checkMemberGroups`` with ``{"groupIds": [group]}``:
Graph answers with the ids of the given groups the user belongs to, directly or through nested
groups (https://learn.microsoft.com/graph/api/user-checkmembergroups). Application permissions:
``GroupMember.Read.All`` and ``User.Read.All``. Token: the Graph app's client credentials.

This runs on the card-click path, which must answer within Teams' few seconds: answers are
cached for a few minutes, the call gets one short attempt (no retry sleeps), and a failure
raises our error for the caller to refuse the click with a line, not to hang.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from intake.adapters.entra import graph_credentials
from intake.adapters.graph_mail import graph_reason
from intake.adapters.retry import error_for_status
from intake.config import Settings
from intake.errors import ExternalUnavailable

log = logging.getLogger(__name__)

SYSTEM = "graph"
CACHE_SECONDS = 300.0  # a membership change takes effect within five minutes
TIMEOUT = (2.0, 3.0)  # (connect, read): the invoke must still answer in time


class GraphDirectory:
    def __init__(
        self,
        settings: Settings,
        *,
        session: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = settings.graph_endpoint.rstrip("/")
        self.credentials = graph_credentials(settings, system=SYSTEM)
        self._session = session
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def is_member(self, aad_object_id: str, group_id: str) -> bool:
        key = (aad_object_id.lower(), group_id.lower())
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        member = self._check(aad_object_id, group_id)
        with self._lock:
            self._cache[key] = (member, self._clock() + CACHE_SECONDS)
        return member

    def _check(self, aad_object_id: str, group_id: str) -> bool:
        import requests

        url = f"{self.endpoint}/v1.0/users/{quote(aad_object_id, safe='')}/checkMemberGroups"
        headers = {"Authorization": f"Bearer {self.credentials.token()}"}
        try:
            answer = self._http().post(
                url, json={"groupIds": [group_id]}, headers=headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise ExternalUnavailable(
                f"{SYSTEM}: group membership not checked ({type(exc).__name__})", system=SYSTEM
            ) from None
        if answer.status_code == 404:  # no such user in this tenant: not a member
            log.info("graph: user %s not found; not a member", aad_object_id)
            return False
        if answer.status_code >= 400:
            raise error_for_status(
                answer.status_code, graph_reason(answer), system=SYSTEM, headers=answer.headers
            )
        found = {str(g).lower() for g in answer.json().get("value", [])}
        return group_id.lower() in found

    def _http(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session
