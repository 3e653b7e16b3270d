"""Settings: every one documented; incomplete credentials stop start-up, naming what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.config import ConfigurationError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_table(name):
    readme = (ROOT / "README.md").read_text()
    assert f"| `INTAKE_{name.upper()}` |" in readme


def test_defaults_need_no_configuration(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    assert settings.is_local
    assert any(p.role == "scrum_master" for p in settings.people)
    assert sum(p.role == "support_staff" for p in settings.people) >= 2


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"devops_org_url": "https://dev.azure.com/contoso"}, "INTAKE_DEVOPS_PROJECT"),
        (
            {"devops_org_url": "https://dev.azure.com/contoso", "devops_project": "P"},
            "INTAKE_DEVOPS_PAT or INTAKE_DEVOPS_CLIENT_ID",
        ),
        (
            {
                "devops_org_url": "https://dev.azure.com/c",
                "devops_project": "P",
                "devops_client_id": "id",
            },
            "INTAKE_DEVOPS_CLIENT_SECRET",
        ),
        ({"graph_client_id": "id"}, "INTAKE_GRAPH_TENANT_ID"),
        ({"bot_app_id": "id"}, "INTAKE_BOT_APP_SECRET"),
        (
            {"bot_app_id": "id", "bot_app_secret": "s", "bot_tenant_id": "t"},
            "INTAKE_TEAMS_CHANNEL_ID",
        ),
        (
            {
                "devops_org_url": "https://dev.azure.com/c",
                "devops_project": "P",
                "devops_pat": "changeme",
            },
            "INTAKE_DEVOPS_PAT is a placeholder",
        ),
        ({"port": "seventy"}, "INTAKE_PORT"),
    ],
)
def test_partial_credentials_stop_start_up_naming_what_is_missing(given, named):
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**given)
    assert named in str(caught.value)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("INTAKE_WORK_ITEM_TYPE", "Production Support")
    monkeypatch.setenv("INTAKE_TAGS", '["intake", "prod"]')
    settings = load_settings()
    assert settings.work_item_type == "Production Support"
    assert settings.tags == ["intake", "prod"]


def test_secrets_do_not_show_in_reprs():
    settings = Settings(
        devops_org_url="https://dev.azure.com/c", devops_project="P", devops_pat="pat-value-123"
    )
    assert "pat-value-123" not in repr(settings) and "pat-value-123" not in str(settings)
