"""The benchmark's world: the loopback doubles, settings that point the real adapters at them,
and a local host serving ``function_app`` over a fresh SQLite file (store and queue stay local).

Watches what the benchmark times: when each request's steps are all done (a thin wrapper
around the Store port) and when each effect was answered by its double.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.doubles import (
    Answered,
    DevOpsService,
    GraphTeamsService,
    LoopbackService,
    Network,
    loopback_tls,
)
from intake import bootstrap
from intake.config import Settings
from intake.models import RequestStatus
from tests.contract.doubles_graph_teams import ConnectorDouble, GraphDouble, TokenDouble

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "forms" / "sample-submission.json").read_text())
CLIENT_EMAIL = SAMPLE["response"]["responder"]

TENANT = "11111111-1111-1111-1111-111111111111"
GRAPH_APP, GRAPH_SECRET = "22222222-2222-2222-2222-222222222222", "graph-bench-secret"
BOT_APP, BOT_SECRET = "44444444-4444-4444-4444-444444444444", "bot-bench-secret"
SENDER = "intake@contoso.example"
CHANNEL = "19:benchsupport0123456789@thread.tacv2"


def devops_double_class() -> Any:
    """The contract tests' DevOps double and real adapter, when both exist on this branch."""
    try:
        from intake.adapters import devops  # noqa: F401 - only whether it exists
        from tests.contract.devops_double import DevOpsDouble
    except ImportError:
        return None
    return DevOpsDouble


class WatchedStore:
    """The Store port, unchanged, plus the moment each request's steps were all done."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.done: dict[str, float] = {}
        self.changed = threading.Condition()

    def set_status(self, request_id: str, status: str, *, last_error: str = "") -> None:
        self._store.set_status(request_id, status, last_error=last_error)
        if status == RequestStatus.DONE.value:
            with self.changed:
                self.done.setdefault(request_id, time.perf_counter())
                self.changed.notify_all()

    def wait_done(self, request_id: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        with self.changed:
            while request_id not in self.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"request {request_id} not done after {timeout}s")
                self.changed.wait(left)
            return self.done[request_id]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@dataclass
class World:
    settings: Settings
    host: Any
    store: WatchedStore
    base_url: str
    loopbacks: dict[str, LoopbackService]
    graph: GraphDouble
    connector: ConnectorDouble
    devops: Any  # the DevOps double, or None when work items stay on the local board
    openid: Any = None  # the Bot Framework OpenID metadata double that signs click tokens
    email_answered: dict[str, float] = field(default_factory=dict)  # email key -> answered at
    comments_started: dict[int, float] = field(default_factory=dict)  # work item -> started at

    @property
    def devops_remote(self) -> bool:
        return self.devops is not None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_world(
    network: Network, *, queue_workers: int, folder: Path | None = None
) -> Iterator[World]:
    """Start the doubles and a local host wired to them; stop everything afterwards."""
    from function_app import app
    from intake.dev.host import LocalHost

    with ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="intake-bench-"))
        where = folder or Path(scratch)
        tls, certificate = loopback_tls(where / "tls")
        os.environ["REQUESTS_CA_BUNDLE"] = str(certificate)  # msal: the https token double
        quiet = Network(delay=network.delay)  # tokens are fetched once; no faults there
        loopbacks = {
            "token": LoopbackService("token", quiet, tls=tls),
            "graph": LoopbackService("graph", network),
            "connector": LoopbackService("connector", network),
        }
        tokens = TokenDouble(loopbacks["token"].url)
        tokens.register(TENANT, GRAPH_APP, GRAPH_SECRET)
        tokens.register(TENANT, BOT_APP, BOT_SECRET)
        graph = GraphDouble(tokens, loopbacks["graph"].url, [SENDER])
        connector = ConnectorDouble(tokens, "/teams/")
        loopbacks["token"].service = GraphTeamsService(tokens)
        loopbacks["graph"].service = GraphTeamsService(graph)
        loopbacks["connector"].service = GraphTeamsService(connector)
        values: dict[str, Any] = {
            "data_dir": where / "data",
            "port": free_port(),
            "login_authority": loopbacks["token"].url,
            "graph_tenant_id": TENANT,
            "graph_client_id": GRAPH_APP,
            "graph_client_secret": GRAPH_SECRET,
            "graph_endpoint": loopbacks["graph"].url,
            "mail_sender": SENDER,
            "bot_app_id": BOT_APP,
            "bot_app_secret": BOT_SECRET,
            "bot_tenant_id": TENANT,
            "teams_service_url": loopbacks["connector"].url + "/teams/",
            "teams_channel_id": CHANNEL,
        }
        devops = None
        double_class = devops_double_class()
        if double_class is not None:
            devops = double_class()
            devops.add_identity("Jordan Rivera", CLIENT_EMAIL)
            loopbacks["devops"] = LoopbackService("devops", network)
            loopbacks["devops"].service = DevOpsService(devops, loopbacks["devops"].url)
            values.update(
                devops_org_url=devops.org_url,
                devops_project=devops.project,
                devops_pat=devops.pat,
            )
        openid = None
        if (ROOT / "intake" / "triage.py").exists():
            from tests.openid_double import OpenIdDouble, new_key

            openid = stack.enter_context(OpenIdDouble.serving(new_key()))
            values["bot_openid_metadata_url"] = openid.metadata_url
        settings = Settings(**values)
        services = bootstrap.build(settings)
        store = WatchedStore(services.store)
        services.store = store
        for loopback in loopbacks.values():
            loopback.start()
        host = LocalHost(app, services, queue_workers=queue_workers, retry_delay=1.0)
        host.start("127.0.0.1", settings.port)
        world = World(
            settings=settings,
            host=host,
            store=store,
            base_url=f"http://127.0.0.1:{settings.port}",
            loopbacks=loopbacks,
            graph=graph,
            connector=connector,
            devops=devops,
            openid=openid,
        )
        _watch_order(world)
        try:
            yield world
        finally:
            host.stop()
            for loopback in loopbacks.values():
                with suppress(OSError):
                    loopback.stop()


def _watch_order(world: World) -> None:
    """Remember when each email was answered and when each comment was asked for, to check
    that nobody hears about a request in the wrong order."""

    def on_graph(answered: Answered, raw: bytes) -> None:
        if answered.path.endswith("/sendMail") and answered.status == 202:
            headers = json.loads(raw)["message"].get("internetMessageHeaders", [])
            for header in headers:
                if header["name"] == "x-intake-key":
                    world.email_answered.setdefault(header["value"], answered.at)

    def on_devops(answered: Answered, raw: bytes) -> None:
        parts = answered.path.rstrip("/").split("/")
        if answered.method == "POST" and parts[-1].lower() == "comments" and answered.status < 300:
            world.comments_started.setdefault(int(parts[-2]), answered.started)

    world.loopbacks["graph"].listeners.append(on_graph)
    if "devops" in world.loopbacks:
        world.loopbacks["devops"].listeners.append(on_devops)


def submission(number: int, run: str) -> bytes:
    """The sample form response as a new submission (its own response id)."""
    body = json.loads(json.dumps(SAMPLE))
    body["responseId"] = f"bench-{run}-{number}"
    return json.dumps(body).encode()
