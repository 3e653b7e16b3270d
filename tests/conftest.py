"""Shared fixtures: settings on a temporary data dir, fake worlds, a running local host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intake.config import Settings
from tests import specs
from tests.fakes import FakeWorld

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "forms" / "sample-submission.json").read_text())


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``specs(...)`` (``tests.specs.needs_specs``) is skipped, before its
    fixtures run, when one of its specs cannot be had (a failure where specs are required)."""
    for marker in item.iter_markers("specs"):
        for name in marker.args:
            specs.spec_path(name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in specs.summary_lines():
        terminalreporter.write_line(line, yellow=True)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's INTAKE_* variables or writes to ./.intake."""
    import os

    for name in list(os.environ):
        if name.startswith("INTAKE_") and name != "INTAKE_SPECS_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def world(settings: Settings) -> FakeWorld:
    return FakeWorld(settings)


def sample_submission(**answers: Any) -> dict[str, Any]:
    """The bundled sample submission, with some answers replaced (by field name).

    The sample is a signed-in form's (its ``responder`` is the client): replacing the typed
    client email makes it an open form's response, with no responder. ``None`` leaves the
    question unanswered (its key absent), as Forms sends an unanswered question."""
    from intake.config import load_field_map

    submission = json.loads(json.dumps(SAMPLE))
    fields = load_field_map(Settings().field_map_path)["forms"][submission["formId"]]["fields"]
    for name, value in answers.items():
        if name in ("formId", "responseId"):
            submission[name] = value
        elif value is None:
            submission["response"].pop(fields[name], None)
            if name == "client_email":
                submission["response"].pop("responder", None)
        elif name == "client_email":
            submission["response"].pop("responder", None)
            submission["response"][fields[name]] = value
        else:
            submission["response"][fields[name]] = value
    return submission


@pytest.fixture
def local_host(tmp_path: Path) -> Iterator[Any]:
    """A local host on a free port over a fresh SQLite file, as ``make dev`` runs it."""
    from tests.e2e.client import LocalHostClient

    with LocalHostClient.started(tmp_path / "host") as client:
        yield client


def submitted_request(world: FakeWorld, submission: dict[str, Any] = SAMPLE) -> str:
    """A request of ``submission`` whose intake steps are done (card posted) on the fake
    world, its queue emptied; its id."""
    from intake import workflow

    receipt = workflow.submit_request(
        json.dumps(submission).encode(), "application/json", world.services
    )
    workflow.run_steps(receipt.request_id, world.services)
    world.queue.messages.clear()
    return receipt.request_id


@pytest.fixture
def request_id(world: FakeWorld) -> str:
    """A request whose intake steps are done (card posted) on the fake world; queue emptied."""
    return submitted_request(world)
