"""local.settings.json.example (for `func start`) lists every setting, and loads as a valid
local-mode configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intake.config import Settings

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "local.settings.json.example"


def test_the_example_lists_every_setting_and_nothing_else() -> None:
    data = json.loads(EXAMPLE.read_text())
    values = data["Values"]

    assert data["IsEncrypted"] is False
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    listed = {name for name in values if name.startswith("INTAKE_")}
    expected = {f"INTAKE_{name.upper()}" for name in Settings.model_fields}
    assert sorted(expected - listed) == [], "settings missing from the example"
    assert sorted(listed - expected) == [], "example entries config.py does not read"


def test_the_example_loads_as_local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in json.loads(EXAMPLE.read_text())["Values"].items():
        if name.startswith("INTAKE_"):
            monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.is_local
    assert settings.field_map_path.exists()
    assert settings.model_dump(exclude={"data_dir", "field_map_path"}) == Settings.model_construct(
        **{
            name: field.get_default(call_default_factory=True)
            for name, field in Settings.model_fields.items()
        }
    ).model_dump(exclude={"data_dir", "field_map_path"})
