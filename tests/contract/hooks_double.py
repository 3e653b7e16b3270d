"""Service hook subscriptions and the project lookup, beside a ``DevOpsDouble`` (same
organisation, same credentials): ``GET {org}/_apis/projects/{name or id}``, and
``GET/POST {org}/_apis/hooks/subscriptions``, ``PUT .../subscriptions/{id}`` as the Service
Hooks REST API 7.1 reference describes them. Like DevOps, it never shows a password back
(``basicAuthPassword`` reads ``********``), and adds ``tfsSubscriptionId`` to the publisher
inputs. Any other URL falls through to the ``DevOpsDouble``.

Use: ``hooks = HooksDouble(double).install(requests_mock)`` after ``double.install``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests_mock

from tests.contract.devops_double import DevOpsDouble

MASK = "********"


class HooksDouble:
    def __init__(self, double: DevOpsDouble) -> None:
        self.double = double
        self.project_id = str(uuid.uuid4())
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.passwords: dict[str, str] = {}  # what DevOps keeps and sends, never shows
        self.requests: list[Any] = []  # every request answered here

    def install(self, mocker: requests_mock.Mocker) -> HooksDouble:
        mocker.add_matcher(self.answer)  # tried before the DevOpsDouble's (added earlier)
        return self

    def add(self, event_type: str, url: str, **changes: Any) -> str:
        """A subscription someone made (by hand, or an earlier run)."""
        body: dict[str, Any] = {
            "publisherId": "tfs",
            "eventType": event_type,
            "resourceVersion": "1.0",
            "consumerId": "webHooks",
            "consumerActionId": "httpRequest",
            "publisherInputs": {"projectId": self.project_id},
            "consumerInputs": {"url": url},
            **changes,
        }
        return str(self._store(body)["id"])

    def answer(self, request: Any) -> Any:
        base = self.double.org_url.lower()
        if not request.url.lower().startswith(base + "/_apis/"):
            return None
        path = urlsplit(request.url[len(base) :]).path
        segments = [unquote(s) for s in path.strip("/").split("/")]
        lowered = [s.lower() for s in segments]
        if lowered[1:2] not in (["projects"], ["hooks"]):
            return None
        self.requests.append(request)
        if request.headers.get("Authorization") not in self.double.accepted:
            return _reply(request, 401, {"message": "TF400813: not authorized."})
        status, body = self._route(request, request.method, lowered, segments)
        return _reply(request, status, body)

    def _route(
        self, request: Any, method: str, lowered: list[str], segments: list[str]
    ) -> tuple[int, Any]:
        if lowered[1] == "projects" and method == "GET" and len(segments) == 3:
            if segments[2] not in (self.double.project, self.project_id):
                return 404, {"message": f"TF200016: The project '{segments[2]}' does not exist."}
            return 200, {"id": self.project_id, "name": self.double.project, "state": "wellFormed"}
        if lowered[1:3] != ["hooks", "subscriptions"]:
            return 404, {"message": "no such resource"}
        if method == "GET" and len(segments) == 3:
            query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
            wanted = {k: v for k, v in query.items() if k != "api-version"}
            found = [
                self._shown(s)
                for s in self.subscriptions.values()
                if all(
                    str(s.get(key, "")).lower() == value.lower() for key, value in wanted.items()
                )
            ]
            return 200, {"count": len(found), "value": found}
        if method == "POST" and len(segments) == 3:
            return 200, self._shown(self._store(json.loads(request.body)))
        if method == "PUT" and len(segments) == 4 and segments[3] in self.subscriptions:
            body = json.loads(request.body)
            return 200, self._shown(self._store(body, segments[3]))
        return 404, {"message": f"no route for {method} {'/'.join(segments)}"}

    def _store(self, body: dict[str, Any], subscription_id: str | None = None) -> dict[str, Any]:
        subscription_id = subscription_id or str(uuid.uuid4())
        consumer_inputs = dict(body.get("consumerInputs") or {})
        password = consumer_inputs.pop("basicAuthPassword", None)
        if password is not None:
            self.passwords[subscription_id] = password
        stored = {
            **body,
            "id": subscription_id,
            "status": body.get("status") or "enabled",
            "publisherInputs": {**(body.get("publisherInputs") or {}), "tfsSubscriptionId": "x"},
            "consumerInputs": consumer_inputs,
            "url": f"{self.double.org_url}/_apis/hooks/subscriptions/{subscription_id}",
        }
        self.subscriptions[subscription_id] = stored
        return stored

    def _shown(self, stored: dict[str, Any]) -> dict[str, Any]:
        shown = json.loads(json.dumps(stored))
        if stored["id"] in self.passwords:
            shown["consumerInputs"]["basicAuthPassword"] = MASK
        return shown


def _reply(request: Any, status: int, body: Any) -> Any:
    return requests_mock.create_response(
        request,
        status_code=status,
        json=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
