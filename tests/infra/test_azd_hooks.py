"""azure.yaml's hooks: the preprovision hook as it was, and the postprovision hook that makes
the DevOps service hook subscriptions, run here with stand-ins for azd's Python."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
POSTPROVISION = ROOT / "infra" / "hooks" / "postprovision.sh"


def hooks() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "azure.yaml").read_text())
    return dict(loaded["hooks"])


def test_the_preprovision_hook_stops_azd_when_it_fails():
    assert hooks()["preprovision"] == {
        "posix": {
            "shell": "sh",
            "run": "./infra/hooks/preprovision.sh",
            "interactive": True,
            "continueOnError": False,
        }
    }


def test_the_postprovision_hook_runs_the_script_and_never_stops_azd():
    assert hooks()["postprovision"] == {
        "posix": {
            "shell": "sh",
            "run": "./infra/hooks/postprovision.sh",
            "continueOnError": True,
        }
    }
    for hook in hooks().values():
        script = ROOT / hook["posix"]["run"]
        assert script.is_file() and os.access(script, os.X_OK), script
        assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0


def run_postprovision(
    tmp_path: Path, python_exit: int, **env: str
) -> subprocess.CompletedProcess[str]:
    """The script in ``tmp_path`` as the repository, its ``.venv/bin/python`` a stand-in
    that records its arguments and exits with ``python_exit``."""
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    python = venv / "python"
    python.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/ran"\nexit {python_exit}\n')
    python.chmod(0o755)
    shell = shutil.which("sh")
    assert shell is not None
    return subprocess.run(
        [shell, str(POSTPROVISION)],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


DEVOPS = {"INTAKE_DEVOPS_ORG_URL": "https://dev.azure.com/contoso"}


def test_without_a_hook_secret_nothing_is_made_and_azd_goes_on(tmp_path):
    done = run_postprovision(tmp_path, 0, **DEVOPS)
    assert done.returncode == 0
    assert "the 5-minute sweep finds changes" in done.stdout
    assert not (tmp_path / "ran").exists()


def test_with_a_secret_it_runs_hooks_create(tmp_path):
    done = run_postprovision(tmp_path, 0, **DEVOPS, INTAKE_DEVOPS_HOOK_SECRET="s" * 40)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ran").read_text().split() == ["-m", "intake", "hooks", "create"]


def test_a_failure_tells_how_to_run_it_by_hand(tmp_path):
    done = run_postprovision(tmp_path, 1, **DEVOPS, INTAKE_DEVOPS_HOOK_SECRET="s" * 40)
    assert done.returncode == 1
    assert "python -m intake hooks create" in done.stderr
    assert "azd env get-values" in done.stderr


@pytest.mark.parametrize("variable", ["INTAKE_DEVOPS_HOOK_SECRET"])
def test_the_secret_is_never_echoed(tmp_path, variable):
    done = run_postprovision(tmp_path, 1, **DEVOPS, **{variable: "very-secret-value-0123456789"})
    assert "very-secret-value" not in done.stdout + done.stderr
