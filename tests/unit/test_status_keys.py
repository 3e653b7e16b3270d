"""Where the status links' key comes from: the settings, else (local mode) the data folder."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest

from intake import bootstrap
from intake.config import ConfigurationError, Settings
from intake.status_token import issue, read

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def test_local_mode_makes_the_key_once_and_keeps_it_in_the_data_folder(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    first = bootstrap.status_keys(settings)
    link = issue(first, "r1", "", now=NOW, ttl=timedelta(days=1))

    again = bootstrap.status_keys(settings)  # a restart, or the CLI beside the host

    assert read(again, link, now=NOW).request_id == "r1"
    key_file = tmp_path / "data" / "status-secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert list((tmp_path / "data").iterdir()) == [key_file]  # no draft left behind
    assert bootstrap.status_keys(Settings(data_dir=tmp_path / "other")) != first


def test_a_configured_key_and_its_predecessor_are_used(tmp_path):
    old = bootstrap.status_keys(Settings(data_dir=tmp_path, status_secret="o" * 32))
    link = issue(old, "r1", "", now=NOW, ttl=timedelta(days=1))
    rotated = bootstrap.status_keys(
        Settings(
            data_dir=tmp_path,
            status_secret="n" * 32,
            status_previous_secret="o" * 32,
            status_previous_secret_until=NOW + timedelta(days=3),
        )
    )
    assert read(rotated, link, now=NOW).request_id == "r1"
    assert not (tmp_path / "status-secret").exists()


def test_azure_storage_without_a_key_is_a_configuration_error(tmp_path):
    settings = Settings(data_dir=tmp_path, storage_account_name="intakestore")
    with pytest.raises(ConfigurationError, match="INTAKE_STATUS_SECRET is required"):
        bootstrap.status_keys(settings)
