"""The official contract files, by name: from $INTAKE_SPECS_DIR, else downloaded once and
checked against the sha256 pinned in ``specs.lock.json``."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import pytest

LOCK = Path(__file__).with_name("specs.lock.json")
CACHE = Path(__file__).resolve().parent.parent / ".specs-cache"


def spec_path(name: str) -> Path:
    """The local path of an official file, verified against its pinned hash."""
    pinned = json.loads(LOCK.read_text())["files"][name]
    folder = os.environ.get("INTAKE_SPECS_DIR")
    path = Path(folder) / name if folder else CACHE / name
    if not path.exists():
        if folder:
            pytest.fail(f"{name} is missing from INTAKE_SPECS_DIR={folder}")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(pinned["url"], timeout=30) as answer:  # noqa: S310
                path.write_bytes(answer.read())
        except OSError as exc:
            pytest.fail(
                f"cannot download {name} from {pinned['url']}: {exc}; "
                "set INTAKE_SPECS_DIR to a folder that has it"
            )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != pinned["sha256"]:
        pytest.fail(f"{path} has sha256 {digest}, not the pinned {pinned['sha256']}")
    return path


@cache
def load_spec(name: str) -> Any:
    """A pinned JSON spec (the DevOps files start with a UTF-8 BOM, hence utf-8-sig)."""
    return json.loads(spec_path(name).read_text(encoding="utf-8-sig"))
