"""The Forms flow (infra/logicapp/workflow.json): well formed, and doing what DESIGN.md says:
Forms trigger -> Get response details -> POST /api/intake with the function key from Key Vault."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.infra import bicep
from tests.infra.bicep import INFRA
from tests.infra.workflow_checks import workflow_problems

WORKFLOW = INFRA / "logicapp" / "workflow.json"


@pytest.fixture
def definition() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WORKFLOW.read_text())
    return data


def test_the_definition_is_well_formed(definition: dict[str, Any]) -> None:
    assert workflow_problems(definition) == []


def test_the_trigger_is_the_forms_webhook(definition: dict[str, Any]) -> None:
    (trigger,) = definition["triggers"].values()
    assert trigger["type"] == "ApiConnectionWebhook"
    assert trigger["splitOn"] == "@triggerBody()?['value']"
    inputs = trigger["inputs"]
    assert inputs["path"].startswith("/formapi/api/forms/") and inputs["path"].endswith("/webhooks")
    assert inputs["body"] == {
        "eventType": "responseAdded",
        "notificationUrl": "@{listCallbackUrl()}",
        "source": "ms-connector",
    }
    assert "['microsoftforms']" in inputs["host"]["connection"]["name"]


def test_it_gets_the_response_details_and_posts_them_as_is(definition: dict[str, Any]) -> None:
    actions = definition["actions"]
    details = actions["Get_response_details"]["inputs"]
    assert details["method"] == "get"
    assert details["path"].startswith("/formapi/api/forms('") and details["path"].endswith(
        "/responses"
    )
    assert details["queries"] == {"response_id": "@{triggerBody()?['resourceData']?['responseId']}"}

    post = actions["Post_to_Intake"]["inputs"]
    assert post["method"] == "POST"
    assert post["uri"] == "@parameters('intakeUrl')"
    assert post["body"] == {
        "formId": "@{parameters('formId')}",
        "responseId": "@{triggerBody()?['resourceData']?['responseId']}",
        "response": "@body('Get_response_details')",
    }
    assert post["retryPolicy"]["type"] == "exponential"


def test_the_function_key_comes_from_key_vault_and_stays_out_of_run_history(
    definition: dict[str, Any],
) -> None:
    actions = definition["actions"]
    get_key = actions["Get_function_key"]
    assert get_key["inputs"]["uri"] == "@parameters('functionKeySecretUrl')"
    assert get_key["inputs"]["authentication"] == {
        "type": "ManagedServiceIdentity",
        "audience": "https://vault.azure.net",
    }
    assert get_key["runtimeConfiguration"]["secureData"]["properties"] == ["outputs"]
    post = actions["Post_to_Intake"]
    assert post["inputs"]["headers"]["x-functions-key"] == "@{body('Get_function_key')?['value']}"
    assert post["runtimeConfiguration"]["secureData"]["properties"] == ["inputs"]
    # The form's answers are personal data: hidden from run history too.
    assert (
        "outputs"
        in actions["Get_response_details"]["runtimeConfiguration"]["secureData"]["properties"]
    )


def test_the_bicep_module_passes_exactly_the_workflows_parameters(
    definition: dict[str, Any],
) -> None:
    module = bicep.parse(INFRA / "modules" / "formsflow.bicep")
    workflow = bicep.body(bicep.declarations(module, "resource")["workflow"])
    assert bicep.text(bicep.object_at(workflow, "properties", "definition")) == (
        "loadJsonContent('../logicapp/workflow.json')"
    )
    passed = set(bicep.properties(bicep.object_at(workflow, "properties", "parameters")))
    assert passed == set(definition["parameters"])


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        (
            lambda d: d["actions"]["Post_to_Intake"]["runAfter"].update({"Nope": ["Succeeded"]}),
            "action Post_to_Intake: runs after Nope, which does not exist",
        ),
        (
            lambda d: d["actions"]["Post_to_Intake"]["runAfter"].pop("Get_response_details"),
            "action Post_to_Intake: refers to Get_response_details, which has not run before it",
        ),
        (
            lambda d: d["actions"]["Post_to_Intake"]["inputs"]["body"].update(
                {"response": "@body('Get_response_detail')"}
            ),
            "action Post_to_Intake: refers to Get_response_detail, which does not exist",
        ),
        (
            lambda d: d["actions"]["Post_to_Intake"]["inputs"].update(
                {"uri": "@parameters('intakeURL')"}
            ),
            "action Post_to_Intake: parameter intakeURL is not declared",
        ),
        (
            lambda d: d["actions"]["Get_response_details"]["inputs"]["queries"].update(
                {"response_id": "@{triggerBody()?['resourceData']?['responseId'}"}
            ),
            "action Get_response_details: unbalanced [] in",
        ),
        (
            lambda d: d["actions"]["Get_response_details"]["inputs"]["queries"].update(
                {"response_id": "@{triggerBody()?['resourceData']?['responseId']"}
            ),
            "action Get_response_details: unbalanced {} in",
        ),
        (
            lambda d: d["actions"]["Post_to_Intake"]["inputs"]["body"].update(
                {"formId": "@{parameters('formId)}"}
            ),
            "action Post_to_Intake: unbalanced quote in",
        ),
        (
            lambda d: d["actions"]["Get_function_key"].update(
                {"runAfter": {"Post_to_Intake": ["Succeeded"]}}
            ),
            "action Get_function_key: runAfter makes a cycle",
        ),
        (
            lambda d: d["actions"]["Post_to_Intake"]["inputs"]["retryPolicy"].update(
                {"interval": "30s"}
            ),
            "action Post_to_Intake: retry interval '30s' is not an ISO 8601 duration",
        ),
    ],
)
def test_the_checks_catch_a_broken_definition(
    definition: dict[str, Any], breakage: Any, problem: str
) -> None:
    broken = copy.deepcopy(definition)
    breakage(broken)
    assert any(p.startswith(problem) for p in workflow_problems(broken)), workflow_problems(broken)
