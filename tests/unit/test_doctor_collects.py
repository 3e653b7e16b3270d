"""`intake doctor` runs the checks of every configured real system, and only those."""

from __future__ import annotations

from intake import bootstrap
from intake.config import Settings

GRAPH = {"graph_tenant_id": "t", "graph_client_id": "c", "graph_client_secret": "real-secret-1"}
BOT = {
    "bot_app_id": "b",
    "bot_app_secret": "real-secret-2",
    "bot_tenant_id": "t",
    "teams_channel_id": "19:x@thread.tacv2",
}


def systems(**values):
    return {check.system for check in bootstrap.doctor_checks(Settings(**values))}


def test_local_mode_checks_only_local_files(tmp_path):
    assert systems(data_dir=tmp_path) == {"local"}


def test_each_configured_system_brings_its_checks(tmp_path):
    configured = systems(data_dir=tmp_path, **GRAPH, **BOT)
    assert len(configured) >= 3 and "local" in configured
    assert configured - {"local"} == systems(data_dir=tmp_path, **GRAPH) - {"local"} | (
        systems(data_dir=tmp_path, **BOT) - {"local"}
    )
