"""The official contract files, by name: from $INTAKE_SPECS_DIR, else downloaded once and
checked against the sha256 pinned in ``specs.lock.json``. Where the publisher also ships a
file in an npm package (the lock's ``npm`` entry: package, file, sha256 of that copy), a
machine that cannot reach the pinned URL takes it from there with ``npm pack`` — the npm
registry is reachable wherever ``make test`` installs the npm packages.

A fresh machine may reach neither: then a test that needs a spec is skipped with one line
saying which file and how to get it, and the schema checks that unit tests make on the side
(``tests.adaptive_cards.assert_valid_card``) are left out and counted in the run's summary.
Where the specs are promised — ``INTAKE_SPECS_DIR`` is set (``.ci/run`` sets it) or
``INTAKE_REQUIRE_SPECS=1`` — a missing spec fails instead: CI never passes on skips."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import pytest

LOCK = Path(__file__).with_name("specs.lock.json")
CACHE = Path(__file__).resolve().parent.parent / ".specs-cache"
DOWNLOAD_TIMEOUT = 15.0

# Read once at import: the tests' autouse fixture clears INTAKE_* variables before each test.
SPECS_DIR = os.environ.get("INTAKE_SPECS_DIR") or None
REQUIRED = SPECS_DIR is not None or os.environ.get("INTAKE_REQUIRE_SPECS", "") not in ("", "0")

# Why a spec could not be had (tried once per run: a blocked host is not asked again).
unavailable: dict[str, str] = {}
# Side checks left out for want of a spec, by spec name (for the run's summary).
checks_left_out: Counter[str] = Counter()


def how_to_get(name: str) -> str:
    url = json.loads(LOCK.read_text())["files"][name]["url"]
    return (
        f"set INTAKE_SPECS_DIR to a folder holding {name}, or allow downloading {url} "
        "(INTAKE_REQUIRE_SPECS=1 turns this skip into a failure)"
    )


def _missing(name: str, why: str) -> NoReturn:
    unavailable[name] = why
    message = f"spec {name} unavailable ({why}): {how_to_get(name)}"
    if REQUIRED:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def spec_path(name: str) -> Path:
    """The local path of an official file, verified against its pinned hash. Skips the
    calling test when it cannot be had (fails instead when specs are required)."""
    pinned = json.loads(LOCK.read_text())["files"][name]
    if name in unavailable:
        _missing(name, unavailable[name])
    path = Path(SPECS_DIR) / name if SPECS_DIR else CACHE / name
    if not path.exists():
        if SPECS_DIR:
            pytest.fail(f"{name} is missing from INTAKE_SPECS_DIR={SPECS_DIR}", pytrace=False)
        try:
            with urllib.request.urlopen(pinned["url"], timeout=DOWNLOAD_TIMEOUT) as answer:  # noqa: S310
                content = answer.read()
            if hashlib.sha256(content).hexdigest() != pinned["sha256"]:
                _missing(name, "the download does not have the pinned sha256")
        except OSError as exc:
            from_npm = _from_npm(pinned.get("npm"))
            if from_npm is None:
                _missing(name, f"cannot download it: {exc}")
            content = from_npm
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(content)
        partial.replace(path)  # never a half-written file in the cache
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest not in _pinned_digests(pinned):
        pytest.fail(f"{path} has sha256 {digest}, not the pinned {pinned['sha256']}")
    return path


def _pinned_digests(pinned: dict[str, Any]) -> set[str]:
    return {pinned["sha256"]} | ({pinned["npm"]["sha256"]} if "npm" in pinned else set())


def _from_npm(source: dict[str, str] | None) -> bytes | None:
    """The file from its npm package (``npm pack``: the registry's own client), checked
    against the sha256 pinned for that copy; None when it cannot be had."""
    npm = shutil.which("npm")
    if source is None or npm is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        try:
            packed = subprocess.run(
                [npm, "pack", source["package"], "--pack-destination", folder, "--silent"],
                capture_output=True,
                text=True,
                timeout=180,
                check=True,
            )
            tarball = Path(folder) / packed.stdout.strip().splitlines()[-1]
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(source["file"])
                content = member.read() if member is not None else b""
        except (OSError, subprocess.SubprocessError, tarfile.TarError, KeyError, IndexError):
            return None
    if hashlib.sha256(content).hexdigest() != source["sha256"]:
        return None
    return content


def spec_available(name: str) -> bool:
    """Whether a spec can be had; False (never a skip) when it cannot and is not required."""
    try:
        spec_path(name)
    except pytest.skip.Exception:
        return False
    return True


@cache
def load_spec(name: str) -> Any:
    """A pinned JSON spec (the DevOps files start with a UTF-8 BOM, hence utf-8-sig)."""
    return json.loads(spec_path(name).read_text(encoding="utf-8-sig"))


def needs_specs(*names: str) -> pytest.MarkDecorator:
    """Mark a test (or a module, as ``pytestmark``) that cannot run without these specs: it
    is skipped before its fixtures run (some check the spec on teardown)."""
    return pytest.mark.specs(*names)


def summary_lines() -> list[str]:
    """One line per spec that could not be had, for the end of the run."""
    return [
        f"spec {name} unavailable ({why}); tests needing it skipped"
        + (
            f", {checks_left_out[name]} schema checks left out of other tests"
            if checks_left_out[name]
            else ""
        )
        + f": {how_to_get(name)}"
        for name, why in sorted(unavailable.items())
    ]
