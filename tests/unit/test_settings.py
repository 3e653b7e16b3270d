"""Settings: a configuration with partial credentials stops start-up, naming what is missing."""

from __future__ import annotations

import pytest

from intake.config import ConfigurationError, load_settings

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
