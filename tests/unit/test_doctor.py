"""``python -m intake doctor`` in local mode: one line per check, and its exit status."""

from __future__ import annotations

from intake.__main__ import main


def test_local_mode_checks_the_data_folder_and_the_field_map(capsys):
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("✓ local: data folder writable")
    assert lines[2].startswith("✓ local: field map loads (1 form(s): sample-production-support)")
    assert lines[3].startswith("✓ local: SLA business calendar (UTC, 5 open days a week")
    assert lines[-1] == "All 3 checks passed."


def test_a_broken_field_map_is_a_cross_with_the_fix_and_exit_1(capsys, monkeypatch, tmp_path):
    broken = tmp_path / "field-map.json"
    broken.write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("INTAKE_FIELD_MAP_PATH", str(broken))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ local: field map loads (Expecting property name" in out
    assert "    fix: set INTAKE_FIELD_MAP_PATH to a JSON file like forms/field-map.json" in out
    assert "1 of 3 checks failed." in out


def test_partial_credentials_stop_the_doctor_with_exit_2(capsys, monkeypatch):
    monkeypatch.setenv("INTAKE_DEVOPS_ORG_URL", "https://dev.azure.com/contoso")
    assert main(["doctor"]) == 2
    out = capsys.readouterr().out
    assert "INTAKE_DEVOPS_PROJECT is required when INTAKE_DEVOPS_ORG_URL is set" in out
    assert "Traceback" not in out
