"""Drives a local host over HTTP the way the form's flow, a person and Teams would."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from intake import bootstrap
from intake.config import Settings

LOCAL_TENANT_ID = "local-tenant"
LOCAL_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
BOT_ID = "28:local-intake-bot"
MORGAN = "morgan@contoso.example"  # the local demo scrum master, who acts on the board


def invoke_activity(
    thread: dict[str, Any],
    person: dict[str, Any],
    verb: str,
    data: dict[str, Any],
    *,
    trigger: str = "manual",
    tenant_id: str = LOCAL_TENANT_ID,
    service_url: str = LOCAL_SERVICE_URL,
) -> dict[str, Any]:
    """The ``adaptiveCard/action`` invoke Teams sends when ``person`` clicks an Action.Execute
    with ``verb`` on the card of ``thread`` (``data``: the action's data merged with inputs)."""
    return {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "id": f"f:{uuid.uuid4().hex}",
        "timestamp": "2026-01-05T10:00:00.000Z",
        "localTimestamp": "2026-01-05T11:00:00.000+01:00",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {
            "id": person["teams_id"],
            "name": person["name"],
            "aadObjectId": person["aad_object_id"],
        },
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": tenant_id,
            "id": thread["conversation_id"],
        },
        "recipient": {"id": BOT_ID, "name": "Intake"},
        "entities": [{"type": "clientInfo", "locale": "en-US", "platform": "Web"}],
        "channelData": {
            "channel": {"id": thread["conversation_id"].split(";")[0]},
            "tenant": {"id": tenant_id},
            "source": {"name": "message"},
        },
        "replyToId": thread["activity_id"],
        "value": {
            "action": {"type": "Action.Execute", "id": verb, "verb": verb, "data": data},
            "trigger": trigger,
        },
        "locale": "en-US",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalHostClient:
    def __init__(self, base_url: str, host: Any) -> None:
        self.base_url = base_url
        self.host = host
        self.http = requests.Session()

    @classmethod
    @contextmanager
    def started(
        cls,
        data_dir: Path,
        *,
        ports: Callable[[Settings], dict[str, Any]] | None = None,
        **settings: Any,
    ) -> Iterator[LocalHostClient]:
        """A host over ``data_dir``; ``ports(settings)`` may replace some ports (a failing fake)."""
        from function_app import app
        from intake.dev.host import LocalHost

        port = free_port()
        config = Settings(data_dir=data_dir, port=port, **settings)
        overrides = ports(config) if ports else {}
        host = LocalHost(app, bootstrap.build(config, **overrides), retry_delay=0.05)
        host.start("127.0.0.1", port)
        try:
            yield cls(f"http://127.0.0.1:{port}", host)
        finally:
            host.stop()

    # --- the form's flow ------------------------------------------------------------------
    def submit(
        self, submission: Any, *, content_type: str = "application/json"
    ) -> requests.Response:
        body = submission if isinstance(submission, bytes) else json.dumps(submission).encode()
        return self.http.post(
            f"{self.base_url}/api/intake",
            data=body,
            headers={"Content-Type": content_type},
            timeout=10,
        )

    def status(self, request_id: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.base_url}/api/requests/{request_id}", timeout=10)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def wait_until_done(self, request_id: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(request_id)
            if status["status"] in ("done", "failed"):
                return status
            time.sleep(0.05)
        raise AssertionError(f"request {request_id} not done after {timeout}s: {status}")

    def wait_until_idle(self, timeout: float = 15.0) -> None:
        """Until the steps queue is empty (every queued message was handled)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.get("/dev/api/queue")["queue"]:
                return
            time.sleep(0.05)
        raise AssertionError("the steps queue did not drain")

    # --- time -----------------------------------------------------------------------------
    def set_clock(self, now: str, *, timeout: float = 60) -> None:
        """Set the local host's clock to ``now`` (ISO 8601); the timers due by then run."""
        answer = self.http.post(
            f"{self.base_url}/dev/api/clock", json={"now": now}, timeout=timeout
        )
        assert answer.status_code == 200, answer.text

    def run_follow_up(self) -> None:
        """Run the follow_up timer now, as the Functions admin endpoint does."""
        answer = self.http.post(f"{self.base_url}/admin/functions/follow_up", timeout=60)
        assert answer.status_code == 202, answer.text

    # --- people on the board --------------------------------------------------------------
    def person_moves(self, work_item_id: int, state: str, *, by: str = MORGAN) -> None:
        """A person sets the work item's state on the board (the local DevOps)."""
        answer = self.http.patch(
            f"{self.base_url}/dev/api/workitems/{work_item_id}",
            json={"by": by, "state": state},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    def person_comments(self, work_item_id: int, text: str, *, by: str = MORGAN) -> None:
        """A person comments on the work item on the board (the local DevOps)."""
        answer = self.http.post(
            f"{self.base_url}/dev/api/workitems/{work_item_id}/comments",
            json={"by": by, "text": text},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text

    # --- what people see ------------------------------------------------------------------
    def get(self, path: str) -> Any:
        answer = self.http.get(f"{self.base_url}{path}", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def work_items(self) -> list[dict[str, Any]]:
        return self.get("/dev/api/workitems")  # type: ignore[no-any-return]

    def work_item(self, work_item_id: int) -> dict[str, Any]:
        return self.get(f"/dev/api/workitems/{work_item_id}")  # type: ignore[no-any-return]

    def outbox(self) -> list[dict[str, Any]]:
        return self.get("/dev/api/outbox")  # type: ignore[no-any-return]

    def threads(self) -> list[dict[str, Any]]:
        return self.get("/dev/api/channel")  # type: ignore[no-any-return]

    def users(self) -> list[dict[str, Any]]:
        return self.get("/dev/api/users")  # type: ignore[no-any-return]

    def person(self, name: str) -> dict[str, Any]:
        """A local demo person by (the start of) their name."""
        return next(p for p in self.users() if p["name"].startswith(name))

    # --- Teams ----------------------------------------------------------------------------
    def send_activity(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None
    ) -> requests.Response:
        return self.http.post(
            f"{self.base_url}/api/messages",
            data=json.dumps(activity).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=10,
        )

    def click(
        self,
        thread: dict[str, Any],
        person: str | dict[str, Any],
        verb: str,
        data: dict[str, Any] | None = None,
        *,
        trigger: str = "manual",
    ) -> dict[str, Any]:
        """``person`` clicks ``verb`` on ``thread``'s card; returns the card they then see.

        Asserts the invoke answer has the Universal Actions shape for a card."""
        who = self.person(person) if isinstance(person, str) else person
        request_id = self.request_id_of(thread)
        action_data = {"requestId": request_id, **(data or {})}
        answer = self.send_activity(
            invoke_activity(thread, who, verb, action_data, trigger=trigger)
        )
        assert answer.status_code == 200, (answer.status_code, answer.text)
        body: dict[str, Any] = answer.json()
        assert body["statusCode"] == 200, body
        assert body["type"] == "application/vnd.microsoft.card.adaptive", body
        card: dict[str, Any] = body["value"]
        return card

    @staticmethod
    def request_id_of(thread: dict[str, Any]) -> str:
        return str(thread["card"]["refresh"]["action"]["data"]["requestId"])

    def thread_of(self, request_id: str) -> dict[str, Any]:
        return next(t for t in self.threads() if self.request_id_of(t) == request_id)

    def page(self, path: str) -> str:
        answer = self.http.get(f"{self.base_url}{path}", timeout=10)
        answer.raise_for_status()
        return answer.text
