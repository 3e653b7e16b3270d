"""The Bicep files, checked without the Bicep compiler (not installable here: it downloads its
binary from GitHub). A real Bicep grammar parses every file; the checks read its syntax tree.

What this proves: every file parses; every parameter is used; every module file exists and gets
exactly the parameters it declares (all required ones); every resource names an API version;
every setting intake/config.py reads is an app setting and every INTAKE_* app setting is a
setting (both ways); secrets reach the app only as Key Vault references; storage has shared
keys off; azd can fill every required parameter. What it cannot prove: that Azure accepts the
resource properties (types, allowed values): `azd provision --preview` does that.
"""

from __future__ import annotations

import json

import pytest

from function_app import app
from intake.config import Settings
from intake.dev.host import _functions_of
from tests.infra import bicep
from tests.infra.bicep import INFRA

MAIN = INFRA / "main.bicep"
FUNCTION_APP = INFRA / "modules" / "functionapp.bicep"

# Settings read only in local mode, or deployed another way; each with the reason.
NOT_APP_SETTINGS = {
    "data_dir": "local SQLite folder: no local adapter runs in Azure",
    "port": "the local host's port",
    "host": "the local host's interface",
    "people": "the local demo people",
    "field_map_path": "the field map ships with the code (forms/field-map.json)",
    "storage_connection_string": "identity-based storage: INTAKE_STORAGE_ACCOUNT_NAME instead",
}
# App settings for the Functions host and the Azure SDKs, not read by intake/config.py.
HOST_SETTINGS = {
    "AzureWebJobsStorage__accountName": "host storage, identity-based (Flex Consumption)",
    "AzureWebJobsStorage__credential": "managedidentity",
    "AzureWebJobsStorage__clientId": "which identity: the user-assigned one",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "the host's own telemetry",
    "AZURE_CLIENT_ID": "DefaultAzureCredential picks the user-assigned identity",
}


def app_settings() -> dict[str, str]:
    """Every app setting name -> the Bicep expression of its value. The app settings are the
    `intakeSettings` object of main.bicep (passed to the module as `appSettings`) united with
    the module's `hostSettings`; the test first checks that the wiring really is that."""
    main, module = bicep.parse(MAIN), bicep.parse(FUNCTION_APP)
    call = bicep.declarations(main, "module")["functionApp"]
    assert bicep.text(bicep.object_at(bicep.body(call), "params", "appSettings")) == (
        "intakeSettings"
    )
    config = bicep.declarations(module, "resource")["settings"]
    assert bicep.string_value(bicep.object_at(bicep.body(config), "name")) == "appsettings"
    assert bicep.text(bicep.object_at(bicep.body(config), "properties")) == (
        "union(appSettings, hostSettings)"
    )
    settings: dict[str, str] = {}
    for tree, name in ((main, "intakeSettings"), (module, "hostSettings")):
        declaration = bicep.declarations(tree, "variable")[name]
        for key, value in bicep.properties(declaration.children[-1]).items():
            assert key not in settings, f"{key} is set twice"
            settings[key] = bicep.text(value)
    return settings


def test_every_bicep_file_parses() -> None:
    files = bicep.bicep_files()
    assert MAIN in files and FUNCTION_APP in files
    problems = {f.name: bicep.syntax_errors(bicep.parse(f)) for f in files}
    assert {name: found for name, found in problems.items() if found} == {}


def test_the_parser_finds_a_broken_file() -> None:
    broken = "param a string\nresource r 'A.B/c@2020-01-01' = {\n  name: a\n  properties: {\n}\n"
    assert bicep.syntax_errors(bicep.parse(broken))


def test_every_setting_the_app_reads_is_an_app_setting_and_back() -> None:
    settings = app_settings()
    expected = {
        f"INTAKE_{name.upper()}" for name in Settings.model_fields if name not in NOT_APP_SETTINGS
    }
    intake = {name for name in settings if name.startswith("INTAKE_")}

    assert sorted(expected - intake) == [], "settings with no app setting in the Bicep"
    assert sorted(intake - expected) == [], "app settings that config.py does not read"
    assert set(settings) - intake == set(HOST_SETTINGS)
    assert set(NOT_APP_SETTINGS) <= set(Settings.model_fields), "stale exemption"


def test_secrets_reach_the_app_only_as_key_vault_references() -> None:
    main = bicep.parse(MAIN)
    secure = {p.name for p in bicep.params(main).values() if p.secure}
    settings = app_settings()
    secret_fields = {
        f"INTAKE_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation) and name not in NOT_APP_SETTINGS
    }
    for name in secret_fields - {"INTAKE_APPLICATIONINSIGHTS_CONNECTION_STRING"}:
        assert settings[name].startswith("secretSetting."), name
    references = bicep.properties(
        bicep.declarations(main, "variable")["secretSetting"].children[-1]
    )
    for name, value in references.items():
        assert "@Microsoft.KeyVault(" in bicep.text(value), name
    for name, value in settings.items():
        assert not (secure & {value.split(".")[0]}), f"{name} holds a secure parameter directly"


def test_the_steps_queue_setting_matches_the_queue_trigger() -> None:
    (queue,) = [
        binding.get_dict_repr()["queueName"]
        for function in _functions_of(app)  # the SDK indexes an app once per process
        for binding in function.get_bindings()
        if binding.get_dict_repr()["type"] == "queueTrigger"
    ]
    main = bicep.parse(MAIN)
    assert app_settings()["INTAKE_STEPS_QUEUE"] == "stepsQueue"
    value = bicep.declarations(main, "variable")["stepsQueue"].children[-1]
    assert bicep.string_value(value) == queue


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.name)
def test_every_parameter_is_used(path: bicep.Path) -> None:
    assert bicep.unused_params(bicep.parse(path)) == []


def test_an_unused_parameter_is_found() -> None:
    tree = bicep.parse("param used string\nparam unused string\noutput o string = used\n")
    assert bicep.unused_params(tree) == ["unused"]


@pytest.mark.parametrize("path", bicep.bicep_files(), ids=lambda p: p.name)
def test_every_resource_names_an_api_version(path: bicep.Path) -> None:
    assert bicep.bad_resource_types(bicep.parse(path)) == []


def test_modules_exist_and_get_exactly_their_parameters() -> None:
    assert bicep.module_problems(MAIN) == []


def test_a_wrong_module_call_is_found(tmp_path: bicep.Path) -> None:
    (tmp_path / "m.bicep").write_text("param needed string\nparam optional string = ''\n")
    caller = tmp_path / "main.bicep"
    caller.write_text(
        "module a 'm.bicep' = {\n  name: 'a'\n  params: {\n    typo: 'x'\n  }\n}\n"
        "module b 'missing.bicep' = {\n  name: 'b'\n  params: {}\n}\n"
    )
    assert bicep.module_problems(caller) == [
        "module a: passes typo, which m.bicep does not declare",
        "module a: does not pass required needed",
        f"module b: {tmp_path / 'missing.bicep'} does not exist",
    ]


def test_storage_allows_no_shared_keys() -> None:
    storage = bicep.parse(INFRA / "modules" / "storage.bicep")
    account = bicep.declarations(storage, "resource")["account"]
    assert bicep.text(
        bicep.object_at(bicep.body(account), "properties", "allowSharedKeyAccess")
    ) == ("false")


def test_azd_can_fill_every_required_parameter() -> None:
    declared = bicep.params(bicep.parse(MAIN))
    mapped = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]

    assert sorted(set(mapped) - set(declared)) == [], "parameters main.bicep does not declare"
    required = {name for name, param in declared.items() if not param.has_default}
    assert sorted(required - set(mapped)) == [], "required parameters azd cannot fill"
    for name, entry in mapped.items():
        assert entry["value"].startswith("${") and entry["value"].endswith("}"), name


def test_the_bot_endpoint_is_the_function_apps_messages_route() -> None:
    main = bicep.parse(MAIN)
    call = bicep.declarations(main, "module")["bot"]
    endpoint = bicep.text(bicep.object_at(bicep.body(call), "params", "messagingEndpoint"))
    assert endpoint == "'${functionApp.outputs.url}/api/messages'"
    bot = bicep.parse(INFRA / "modules" / "bot.bicep")
    service = bicep.body(bicep.declarations(bot, "resource")["bot"])
    assert (
        bicep.string_value(bicep.object_at(service, "properties", "msaAppType")) == "SingleTenant"
    )
    channel = bicep.body(bicep.declarations(bot, "resource")["teams"])
    assert bicep.string_value(bicep.object_at(channel, "name")) == "MsTeamsChannel"


def test_the_function_app_runs_python_311_on_flex_consumption() -> None:
    module = bicep.parse(FUNCTION_APP)
    plan = bicep.body(bicep.declarations(module, "resource")["plan"])
    assert bicep.string_value(bicep.object_at(plan, "sku", "tier")) == "FlexConsumption"
    site = bicep.body(bicep.declarations(module, "resource")["site"])
    runtime = bicep.object_at(site, "properties", "functionAppConfig", "runtime")
    assert bicep.string_value(bicep.object_at(runtime, "name")) == "python"
    assert bicep.string_value(bicep.object_at(runtime, "version")) == "3.11"
    assert bicep.string_value(bicep.object_at(site, "identity", "type")) == "UserAssigned"
