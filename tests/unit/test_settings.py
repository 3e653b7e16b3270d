"""Settings: every one documented; partial credentials stop start-up, naming what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.config import ConfigurationError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]

ORG = {"devops_org_url": "https://dev.azure.com/contoso", "devops_project": "Intake"}


def problems(**values: str) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**values)
    return str(caught.value).splitlines()


def test_no_credentials_at_all_is_local_mode():
    assert load_settings().is_local


def test_a_devops_org_with_a_pat_is_complete():
    settings = load_settings(**ORG, devops_pat="a-real-looking-pat")
    assert settings.uses_devops and not settings.is_local


def test_a_devops_org_without_project_or_credentials_names_both():
    assert problems(devops_org_url="https://dev.azure.com/contoso") == [
        "INTAKE_DEVOPS_PROJECT is required when INTAKE_DEVOPS_ORG_URL is set",
        "INTAKE_DEVOPS_PAT or INTAKE_DEVOPS_CLIENT_ID is required "
        "when INTAKE_DEVOPS_ORG_URL is set",
    ]


def test_a_service_principal_without_tenant_and_secret_names_both():
    assert problems(**ORG, devops_client_id="app-id") == [
        "INTAKE_DEVOPS_TENANT_ID is required when INTAKE_DEVOPS_CLIENT_ID is set",
        "INTAKE_DEVOPS_CLIENT_SECRET is required when INTAKE_DEVOPS_CLIENT_ID is set",
    ]


def test_a_pat_without_an_organisation_is_not_silently_ignored():
    assert problems(devops_pat="a-real-looking-pat") == [
        "INTAKE_DEVOPS_ORG_URL is required when INTAKE_DEVOPS_PAT is set"
    ]


def test_a_pat_and_a_service_principal_together_are_refused():
    found = problems(
        **ORG,
        devops_pat="a-real-looking-pat",
        devops_client_id="app-id",
        devops_tenant_id="tenant",
        devops_client_secret="a-real-secret",
    )
    assert any("not both" in line for line in found)


def test_partial_graph_and_bot_credentials_name_what_is_missing():
    assert problems(graph_client_id="app-id") == [
        "INTAKE_GRAPH_TENANT_ID is required when INTAKE_GRAPH_CLIENT_ID is set",
        "INTAKE_GRAPH_CLIENT_SECRET is required when INTAKE_GRAPH_CLIENT_ID is set",
    ]
    assert problems(bot_app_secret="a-real-secret") == [
        "INTAKE_BOT_APP_ID is required when INTAKE_BOT_APP_SECRET is set"
    ]


def test_a_placeholder_secret_is_refused():
    assert "INTAKE_DEVOPS_PAT is a placeholder: set the real secret" in problems(
        **ORG, devops_pat="changeme"
    )


def test_the_environment_is_read_and_secrets_never_appear_in_the_message(monkeypatch):
    monkeypatch.setenv("INTAKE_DEVOPS_ORG_URL", "https://dev.azure.com/contoso")
    monkeypatch.setenv("INTAKE_DEVOPS_PAT", "pat-value-that-must-not-leak")
    found = problems()
    assert found == ["INTAKE_DEVOPS_PROJECT is required when INTAKE_DEVOPS_ORG_URL is set"]
    assert not any("pat-value" in line for line in found)


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


def test_a_previous_status_key_needs_the_end_of_its_grace_period_and_back():
    current, previous = "c" * 40, "p" * 40
    assert problems(status_secret=current, status_previous_secret=previous) == [
        "INTAKE_STATUS_PREVIOUS_SECRET_UNTIL is required when INTAKE_STATUS_PREVIOUS_SECRET is set"
    ]
    assert problems(status_secret=current, status_previous_secret_until="2026-04-01T00:00Z") == [
        "INTAKE_STATUS_PREVIOUS_SECRET is required when INTAKE_STATUS_PREVIOUS_SECRET_UNTIL is set"
    ]
    assert problems(status_secret="short") == [
        "INTAKE_STATUS_SECRET must be at least 32 characters"
    ]
    rotated = load_settings(
        status_secret=current,
        status_previous_secret=previous,
        status_previous_secret_until="2026-04-01T00:00:00+00:00",
    )
    assert rotated.status_previous_secret_until is not None
    assert Settings(status_previous_secret_until="").status_previous_secret_until is None


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"calendar": '{"timezone": "Mars/Olympus"}'}, "INTAKE_CALENDAR: "),
        ({"calendar": "{"}, "INTAKE_CALENDAR: "),
        ({"sla_digest_times": ["9:30"]}, "INTAKE_SLA_DIGEST_TIMES: "),
        ({"sla_targets": {"High": 0}}, "INTAKE_SLA_TARGETS: "),
        ({"sla_warn_at": 1.5}, "INTAKE_SLA_WARN_AT: "),
    ],
)
def test_a_wrong_sla_setting_stops_start_up_in_one_line(given, named):
    from pydantic import ValidationError

    from intake.config import describe_validation_error

    with pytest.raises(ValidationError) as caught:
        Settings(**given)
    lines = describe_validation_error(caught.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith(named), lines


def test_the_calendar_setting_is_parsed_once_and_defaults_to_office_hours_in_utc():
    paris = Settings(calendar='{"timezone": "Europe/Paris", "holidays": ["2026-12-25"]}')
    assert paris.business_calendar.timezone.key == "Europe/Paris"
    assert paris.business_calendar is paris.business_calendar
    assert Settings().business_calendar.day_minutes == 540
