"""A fresh machine that reaches neither INTAKE_SPECS_DIR nor the spec hosts: tests needing a
spec are skipped with one line naming it and how to get it, unit tests' side checks on cards
are left out (counted), and where specs are required (CI) a missing one fails instead."""

from __future__ import annotations

import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests import adaptive_cards, specs

NAME = "adaptivecards/adaptive-card-1.5.0.json"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """No INTAKE_SPECS_DIR, an empty cache, and every download refused (as DNS fails here)."""
    asked: list[str] = []

    def refuse(url: str, timeout: float) -> Any:
        asked.append(url)
        raise OSError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(specs, "SPECS_DIR", None)
    monkeypatch.setattr(specs, "REQUIRED", False)
    monkeypatch.setattr(specs, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(specs, "unavailable", {})
    monkeypatch.setattr(specs, "checks_left_out", Counter())
    specs.load_spec.cache_clear()
    yield asked
    specs.load_spec.cache_clear()


def test_a_spec_that_cannot_be_downloaded_skips_with_one_line_naming_it_and_the_fix(offline):
    with pytest.raises(pytest.skip.Exception) as skipped:
        specs.load_spec(NAME)

    message = str(skipped.value)
    assert "\n" not in message
    assert NAME in message and "INTAKE_SPECS_DIR" in message
    assert "raw.githubusercontent.com" in message  # the pinned URL to allow
    # Asked once per run: a blocked host does not cost a timeout per test.
    with pytest.raises(pytest.skip.Exception):
        specs.spec_path(NAME)
    assert len(offline) == 1
    (line,) = specs.summary_lines()
    assert line.startswith(f"spec {NAME} unavailable") and "INTAKE_SPECS_DIR" in line


def test_where_specs_are_required_a_spec_that_cannot_be_had_fails(offline, monkeypatch):
    monkeypatch.setattr(specs, "REQUIRED", True)

    with pytest.raises(pytest.fail.Exception, match=NAME):
        specs.spec_path(NAME)


def test_a_file_missing_from_intake_specs_dir_fails_and_is_not_downloaded(
    offline, monkeypatch, tmp_path
):
    monkeypatch.setattr(specs, "SPECS_DIR", str(tmp_path / "specs"))
    monkeypatch.setattr(specs, "REQUIRED", True)

    with pytest.raises(pytest.fail.Exception, match="missing from INTAKE_SPECS_DIR"):
        specs.spec_path(NAME)
    assert offline == []


def test_specs_are_required_when_intake_specs_dir_or_intake_require_specs_is_set():
    import os
    import subprocess
    import sys

    probe = "import tests.specs as s; print(s.REQUIRED)"
    root = Path(__file__).resolve().parents[2]

    def required(**env: str) -> str:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
        answer = subprocess.run(
            [sys.executable, "-c", probe],
            env={**clean, **env},
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        return answer.stdout.strip()

    assert required() == "False"
    assert required(INTAKE_SPECS_DIR="/somewhere") == "True"
    assert required(INTAKE_REQUIRE_SPECS="1") == "True"
    assert required(INTAKE_REQUIRE_SPECS="0") == "False"


def test_a_unit_tests_card_check_goes_on_without_the_schema_and_is_counted(offline):
    card = {"type": "AdaptiveCard", "version": "1.5", "body": []}

    adaptive_cards.assert_valid_card(card)  # no skip, no failure: the test goes on

    assert specs.checks_left_out[NAME] == 1
    with pytest.raises(AssertionError):
        adaptive_cards.assert_valid_card({**card, "version": "1.6"})  # what it can check, it does


def test_a_spec_an_npm_package_ships_is_taken_from_it_checked_against_its_own_hash(
    monkeypatch, tmp_path
):
    """``npm pack`` (faked: no network in unit tests) brings the package's tarball; the file
    is taken from it only when it has the sha256 pinned for that copy."""
    import hashlib
    import io
    import subprocess
    import tarfile

    content = b'{"$schema": "http://json-schema.org/draft-07/schema#"}'

    def fake_npm(command, **kwargs):
        assert command[1:3] == ["pack", "@publisher/schemas@1.0.0"]
        folder = Path(command[command.index("--pack-destination") + 1])
        with tarfile.open(folder / "publisher-schemas-1.0.0.tgz", "w:gz") as archive:
            info = tarfile.TarInfo("package/schemas/x.json")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        return subprocess.CompletedProcess(command, 0, "publisher-schemas-1.0.0.tgz\n", "")

    monkeypatch.setattr(subprocess, "run", fake_npm)
    monkeypatch.setattr(specs.shutil, "which", lambda name: "/usr/bin/npm")
    source = {
        "package": "@publisher/schemas@1.0.0",
        "file": "package/schemas/x.json",
        "sha256": hashlib.sha256(content).hexdigest(),
    }

    assert specs._from_npm(source) == content
    assert specs._from_npm({**source, "sha256": "0" * 64}) is None
    assert specs._from_npm({**source, "file": "package/other.json"}) is None
    assert specs._from_npm(None) is None
