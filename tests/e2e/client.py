"""Drives a local host over HTTP the way the form's flow, a person and Teams would."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from intake import bootstrap
from intake.config import Settings


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

    def page(self, path: str) -> str:
        answer = self.http.get(f"{self.base_url}{path}", timeout=10)
        answer.raise_for_status()
        return answer.text
