"""Secrets are never logged: the whole intake flow runs with known secret values configured,
through failures and retries, and no log record carries any of them (message, arguments,
exception text or any other attribute)."""

from __future__ import annotations

import base64
import logging

import pytest

from intake.adapters.local_board import SqliteBoard
from intake.adapters.local_channel import SqliteChannel
from intake.adapters.local_follow_ups import SqliteFollowUps
from intake.adapters.local_outbox import SqliteOutbox
from intake.adapters.local_queue import SqliteQueue
from intake.adapters.local_store import SqliteStore
from intake.adapters.sqlite_db import Database
from intake.bootstrap import local_identities
from intake.errors import ExternalUnavailable
from tests.conftest import SAMPLE, sample_submission
from tests.e2e.client import LocalHostClient

pytestmark = pytest.mark.e2e

SECRETS = {
    "devops_pat": "pat-4f1d0c9e8b7a6S3CR3T",
    "graph_client_secret": "gcs~Z1y.S3CR3T-graph",
    "bot_app_secret": "bot~W2v.S3CR3T-bot",
    "storage_connection_string": "DefaultEndpointsProtocol=https;AccountName=intakest;"
    "AccountKey=S3CR3TS3CR3TS3CR3TkeyQ==;EndpointSuffix=core.windows.net",
    "applicationinsights_connection_string": "InstrumentationKey=S3CR3T-ai-key",
    "status_secret": "status-key-S3CR3T-0123456789abcdefghij",
}


# What each secret needs beside it for the settings to be complete (a PAT and a service
# principal together are refused, so the service principal's secret is not among them).
COMPANIONS = {
    "devops_org_url": "https://dev.azure.com/contoso",
    "devops_project": "Intake",
    "graph_tenant_id": "00000000-0000-0000-0000-0000000000aa",
    "graph_client_id": "00000000-0000-0000-0000-0000000000bb",
    "bot_app_id": "00000000-0000-0000-0000-0000000000cc",
    "bot_tenant_id": "00000000-0000-0000-0000-0000000000aa",
    "teams_channel_id": "19:support@thread.tacv2",
}


def needles() -> list[str]:
    """Each secret, the distinctive part of the connection string, and the PAT's Basic auth."""
    found = list(SECRETS.values())
    found.append("S3CR3TS3CR3TS3CR3TkeyQ==")
    found.append(base64.b64encode(f":{SECRETS['devops_pat']}".encode()).decode())
    return found


class Flaky:
    """A local port whose named operations fail the first ``times`` calls."""

    def __init__(self, port, operation: str, times: int) -> None:
        self.port, self.operation, self.left = port, operation, times

    def __getattr__(self, name):
        attribute = getattr(self.port, name)
        if name != self.operation:
            return attribute

        def call(*args, **kwargs):
            if self.left > 0:
                self.left -= 1
                raise ExternalUnavailable(f"{name} answered 503", remote_status=503)
            return attribute(*args, **kwargs)

        return call


def local_ports(settings):
    """Every port on its local adapter, whatever the secrets switch on, with faults."""
    db = Database(settings.database_path)
    return {
        "store": SqliteStore(db),
        "queue": SqliteQueue(db, settings.steps_queue),
        "work_items": Flaky(
            SqliteBoard(db, base_url=settings.base_url, people=local_identities(settings)),
            "create",
            2,
        ),
        "mailer": Flaky(SqliteOutbox(db), "send", 1),
        "channel": Flaky(SqliteChannel(db), "post_card", 1),
        "follow_ups": SqliteFollowUps(db),
    }


def test_the_whole_flow_with_secrets_configured_logs_none_of_them(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with LocalHostClient.started(
        tmp_path / "host", ports=local_ports, **SECRETS, **COMPANIONS
    ) as host:
        receipt = host.submit(SAMPLE).json()
        assert host.wait_until_done(receipt["requestId"])["status"] == "done"
        host.submit(SAMPLE)  # a duplicate
        host.submit(b"{not json")  # a refusal
        host.submit(sample_submission(client_email="nope", responseId="2"))
        host.get("/api/openapi.json")
        for page in ("/dev/", "/dev/board", "/dev/outbox", "/dev/channel"):
            host.page(page)
        host.wait_until_idle()
        settings = host.host.services.settings
        logging.getLogger("intake.test").info("settings in use: %s", settings)
    assert any(r.levelno >= logging.WARNING for r in caplog.records), "no failure was logged"
    leaks = []
    for record in caplog.records:
        text = " ".join(
            [record.getMessage(), repr(record.args), record.exc_text or "", repr(vars(record))]
        )
        if record.exc_info and record.exc_info[1] is not None:
            text += repr(record.exc_info[1])
        leaks += [(record.name, secret[:12]) for secret in needles() if secret in text]
    assert leaks == []
