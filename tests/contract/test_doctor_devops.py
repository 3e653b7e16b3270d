"""``intake doctor`` against a requests-mock DevOps: every check ✓, then each ✗ with its fix."""

from __future__ import annotations

import pytest

from intake.__main__ import main
from tests.contract.devops_double import DevOpsDouble
from tests.contract.devops_spec import check_request

pytestmark = pytest.mark.contract


@pytest.fixture
def double(requests_mock, monkeypatch):
    double = DevOpsDouble().install(requests_mock)
    double.add_identity("Casey Coordinator", "casey@contoso.example")
    monkeypatch.setenv("INTAKE_DEVOPS_ORG_URL", double.org_url)
    monkeypatch.setenv("INTAKE_DEVOPS_PROJECT", double.project)
    monkeypatch.setenv("INTAKE_DEVOPS_PAT", double.pat)
    return double


def devops_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "DevOps:" in line or "fix:" in line]


def the_cross(capsys) -> tuple[str, str]:
    """The one ✗ line the doctor printed for DevOps, and the fix line under it."""
    lines = devops_lines(capsys.readouterr().out)
    crosses = [line for line in lines if line.startswith("✗")]
    assert len(crosses) == 1, crosses
    return crosses[0], lines[lines.index(crosses[0]) + 1]


def test_a_reachable_well_configured_organisation_passes_every_check(double, requests_mock, capsys):
    assert main(["doctor"]) == 0
    lines = devops_lines(capsys.readouterr().out)
    assert lines == [
        f"✓ DevOps: organisation {double.org_url} reachable (3 resource areas)",
        "✓ DevOps: project 'Intake' exists (5 work item types)",
        "✓ DevOps: work item types exist (Issue, Product Backlog Item, Task, Bug, Feature)",
        "✓ DevOps: states exist in 'Issue' (New, In Planning, Closed)",
        "✓ DevOps: client email field exists in 'Issue' (Custom.ClientEmail)",
        "✓ DevOps: request id field exists in every type Intake creates (Custom.IntakeRequestId)",
        "✓ DevOps: identity lookup works (casey@contoso.example is Casey Coordinator)",
        "✓ DevOps: current iteration of team 'Intake Team' readable (Sprint 7 (Intake\\Sprint 7))",
        "✓ DevOps: resolution field exists in 'Issue' (Microsoft.VSTS.Common.ResolvedReason)",
        "✓ DevOps: SLA states exist in 'Issue' (New, In Planning)",
        "✓ DevOps: On Hold state exists in 'Issue' (On Hold)",
        "✓ DevOps: waiting-on-client state exists in 'Issue' (Waiting on Client)",
        "✓ DevOps: service hook subscriptions (work item updated, commented) (not configured: "
        "the 5-minute sweep finds changes)",
    ]
    assert {r.method for r in requests_mock.request_history} <= {"GET", "OPTIONS"}  # read-only
    for request in requests_mock.request_history:
        assert check_request(request, double.org_url, double.vssps_url) == []


def test_a_missing_state_is_a_cross_naming_it_with_the_fix(double, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_STATE_PLANNING", "Triage")
    assert main(["doctor"]) == 1
    cross, fix = the_cross(capsys)
    assert cross == (
        "✗ DevOps: states exist in 'Issue' (missing: Triage; it has: New, In Planning, Active, "
        "Waiting on Client, Closed, On Hold)"
    )
    assert fix.startswith("    fix: set INTAKE_STATE_NEW, INTAKE_STATE_PLANNING")


def test_a_state_after_a_decision_the_type_lacks_is_a_cross(double, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_STATE_AFTER_PROCEED", "Active")
    monkeypatch.setenv("INTAKE_STATE_AFTER_BUG_OR_FEATURE", "Resolved")
    assert main(["doctor"]) == 1
    cross, fix = the_cross(capsys)
    assert cross == (
        "✗ DevOps: states exist in 'Issue' (missing: Resolved; it has: New, In Planning, "
        "Active, Waiting on Client, Closed, On Hold)"
    )
    assert "INTAKE_STATE_AFTER_BUG_OR_FEATURE" in fix


def test_a_request_id_field_a_type_lacks_is_a_cross_naming_the_types(double, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_REQUEST_ID_FIELD", "Custom.RequestRef")
    assert main(["doctor"]) == 1
    cross, fix = the_cross(capsys)
    assert cross == (
        "✗ DevOps: request id field exists in every type Intake creates (Custom.RequestRef is "
        "not a field of 'Issue', 'Product Backlog Item', 'Task', 'Bug', 'Feature')"
    )
    assert "INTAKE_REQUEST_ID_FIELD" in fix


def test_a_client_email_field_the_type_lacks_is_a_cross_with_the_fix(double, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_CLIENT_EMAIL_FIELD", "Custom.Requester")
    assert main(["doctor"]) == 1
    cross, fix = the_cross(capsys)
    assert cross == (
        "✗ DevOps: client email field exists in 'Issue' (Custom.Requester is not a field of "
        "'Issue')"
    )
    assert "INTAKE_CLIENT_EMAIL_FIELD" in fix


def test_no_client_email_field_means_no_field_check(double, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_CLIENT_EMAIL_FIELD", "")
    assert main(["doctor"]) == 0
    assert "client email field" not in capsys.readouterr().out


def test_a_rejected_pat_fails_the_checks_with_the_status_and_never_the_pat(
    double, monkeypatch, capsys
):
    monkeypatch.setenv("INTAKE_DEVOPS_PAT", "wrong-pat-for-doctor")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ DevOps: project 'Intake' exists (devops answered 401:" in out
    assert "wrong-pat-for-doctor" not in out
    assert "a 401 or a sign-in page means the PAT or service principal is not valid" in out


def test_a_service_principal_gets_a_token_check_first(double, requests_mock, monkeypatch, capsys):
    authority, tenant = "https://login.sovereign.example", "tenant-of-intake"
    base = f"{authority}/{tenant}"
    requests_mock.get(
        f"{base}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
        },
    )
    requests_mock.post(
        f"{base}/oauth2/v2.0/token", json={"access_token": "sp-1", "expires_in": 3600}
    )
    double.accept_bearer("sp-1")
    monkeypatch.delenv("INTAKE_DEVOPS_PAT")
    monkeypatch.setenv("INTAKE_DEVOPS_TENANT_ID", tenant)
    monkeypatch.setenv("INTAKE_DEVOPS_CLIENT_ID", "app-id-of-intake")
    monkeypatch.setenv("INTAKE_DEVOPS_CLIENT_SECRET", "a-client-secret-value")
    monkeypatch.setenv("INTAKE_LOGIN_AUTHORITY", authority)
    assert main(["doctor"]) == 0
    lines = devops_lines(capsys.readouterr().out)
    assert lines[0] == "✓ DevOps: token acquired for the service principal (app app-id-of-intake)"


def test_an_sla_state_or_due_field_the_type_lacks_is_a_cross_with_the_fix(
    double, monkeypatch, capsys
):
    monkeypatch.setenv("INTAKE_SLA_PAUSE_STATES", '["Waiting"]')
    monkeypatch.setenv("INTAKE_SLA_DUE_FIELD", "Custom.SLADue")
    assert main(["doctor"]) == 1
    lines = devops_lines(capsys.readouterr().out)
    crosses = [line for line in lines if line.startswith("✗")]
    assert crosses == [
        "✗ DevOps: SLA states exist in 'Issue' (missing: Waiting; it has: New, In Planning, "
        "Active, Waiting on Client, Closed, On Hold)",
        "✗ DevOps: SLA due field exists in 'Issue' (Custom.SLADue is not a field of 'Issue')",
    ]
    assert lines[lines.index(crosses[0]) + 1].startswith("    fix: set INTAKE_SLA_RUNNING_STATES")


def test_an_on_hold_state_the_type_lacks_is_a_cross_with_the_fix(double, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_STATE_ON_HOLD", "Parked")
    assert main(["doctor"]) == 1
    cross, fix = the_cross(capsys)
    assert cross == (
        "✗ DevOps: On Hold state exists in 'Issue' (missing: Parked; it has: New, In Planning, "
        "Active, Waiting on Client, Closed, On Hold)"
    )
    assert fix.startswith("    fix: set INTAKE_STATE_ON_HOLD")


def test_a_waiting_state_the_type_lacks_is_a_cross_naming_the_setting(double, monkeypatch, capsys):
    monkeypatch.setenv("INTAKE_STATE_WAITING_CLIENT", "Pending Customer")
    assert main(["doctor"]) == 1
    cross, fix = the_cross(capsys)
    assert cross == (
        "✗ DevOps: waiting-on-client state exists in 'Issue' (missing: Pending Customer; it "
        "has: New, In Planning, Active, Waiting on Client, Closed, On Hold)"
    )
    assert "INTAKE_STATE_WAITING_CLIENT" in fix


def test_a_resolution_field_the_type_lacks_is_a_cross_and_empty_means_no_check(
    double, monkeypatch, capsys
):
    monkeypatch.setenv("INTAKE_RESOLUTION_FIELD", "Custom.Resolution")
    assert main(["doctor"]) == 1
    cross, fix = the_cross(capsys)
    assert cross == (
        "✗ DevOps: resolution field exists in 'Issue' (Custom.Resolution is not a field of 'Issue')"
    )
    assert "INTAKE_RESOLUTION_FIELD" in fix
    monkeypatch.setenv("INTAKE_RESOLUTION_FIELD", "")
    assert main(["doctor"]) == 0
    assert "resolution field" not in capsys.readouterr().out
