"""GET /api/health (issue 11, item 14): the version, and per connected system the outcome of
its last real call as the retry layer recorded it; no remote call, no secret."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import azure.functions as func
import pytest

from intake import __version__, bootstrap, health
from intake.adapters.retry import set_testing, with_retries
from intake.config import Settings
from intake.errors import ExternalRejected, ExternalUnavailable, StaleWorkItem, Throttled

ROOT = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_registry():
    health.calls.forget()
    health.calls.clock = lambda: NOON
    set_testing(True)
    yield
    set_testing(False)
    health.calls.forget()
    bootstrap.override(None)


def fail_with(exc: Exception):
    def call():
        raise exc

    return call


def test_the_version_is_the_projects() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert __version__ == project["version"]


def test_the_retry_layer_records_each_systems_last_outcome_on_the_one_clock() -> None:
    assert with_retries(lambda: 42, system="devops") == 42
    assert health.calls.last("devops") == health.CallOutcome(True, NOON)

    with pytest.raises(ExternalUnavailable):
        with_retries(fail_with(ExternalUnavailable("down", system="graph")), system="graph")
    assert health.calls.last("graph") == health.CallOutcome(False, NOON, "unavailable")

    with pytest.raises(Throttled):
        with_retries(fail_with(Throttled("slow", system="teams", retry_after=0)), system="teams")
    assert health.calls.last("teams").problem == "throttled"


@pytest.mark.parametrize(
    ("error", "ok", "problem"),
    [
        (ExternalRejected("401", system="devops", remote_status=401), False, "credentials refused"),
        (ExternalRejected("403", system="devops", remote_status=403), False, "credentials refused"),
        # The system answered: a missing work item or a stale revision is not an outage.
        (ExternalRejected("404", system="devops", remote_status=404), True, ""),
        (StaleWorkItem("412", system="devops", remote_status=412), True, ""),
    ],
)
def test_a_refusal_counts_as_a_failure_only_when_our_credentials_are_refused(
    error, ok, problem
) -> None:
    with pytest.raises(type(error)):
        with_retries(fail_with(error), system="devops")
    assert health.calls.last("devops") == health.CallOutcome(ok, NOON, problem)


def real_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        devops_org_url="https://dev.azure.com/contoso",
        devops_project="Support",
        devops_pat="pat-value-that-must-never-show",
    )


def test_the_report_lists_connected_systems_with_their_last_call_and_no_secret(tmp_path) -> None:
    settings = real_settings(tmp_path)
    before = health.report(settings)
    assert before["status"] == "ok" and before["version"] == __version__
    (devops,) = [s for s in before["systems"] if s["system"] == "devops"]
    assert devops == {"system": "devops", "adapter": "remote", "lastCall": None}
    assert {s["adapter"] for s in before["systems"] if s["system"] != "devops"} == {"local"}

    with pytest.raises(ExternalUnavailable):
        with_retries(fail_with(ExternalUnavailable("down", system="devops")), system="devops")
    after = health.report(settings)
    assert after["status"] == "degraded"
    (devops,) = [s for s in after["systems"] if s["system"] == "devops"]
    assert devops["lastCall"] == {"ok": False, "at": NOON.isoformat(), "problem": "unavailable"}
    text = json.dumps(after)
    assert "pat-value" not in text and "contoso" not in text


def test_a_local_system_never_reports_a_call(tmp_path) -> None:
    with_retries(lambda: None, system="devops")  # an outcome for a system not connected here
    report = health.report(Settings(data_dir=tmp_path))
    assert report["status"] == "ok"
    assert all(s["adapter"] == "local" and s["lastCall"] is None for s in report["systems"])


def test_the_endpoint_answers_200_with_the_report_and_makes_no_call(tmp_path, monkeypatch) -> None:
    from functions.health import health as endpoint

    settings = real_settings(tmp_path)
    services = bootstrap.build(settings)
    bootstrap.override(services)
    health.calls.clock = lambda: NOON  # override() set the services' clock; keep ours here
    monkeypatch.setattr(
        "requests.Session.request", lambda *a, **k: pytest.fail("a probe made a remote call")
    )
    request = func.HttpRequest(method="GET", url="/api/health", body=b"", headers={})

    answer = endpoint(request)

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = json.loads(answer.get_body())
    assert body["version"] == __version__ and body["status"] == "ok"


def test_settings_that_cannot_load_answer_503(monkeypatch) -> None:
    from functions.health import health as endpoint

    bootstrap.override(None)
    monkeypatch.setenv("INTAKE_DEVOPS_PAT", "pat-without-an-organisation")
    answer = endpoint(func.HttpRequest(method="GET", url="/api/health", body=b"", headers={}))
    assert answer.status_code == 503
    assert b"pat-without" not in answer.get_body()
