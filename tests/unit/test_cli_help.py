"""``python -m intake --help`` reads as plain text and tells the port the local host will
really use (issue 11, item 16)."""

from __future__ import annotations

import pytest

from intake.__main__ import main


def help_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_the_help_has_no_rest_markup(capsys) -> None:
    text = help_text(["--help"], capsys)
    assert "``" not in text
    assert "dev" in text and "doctor" in text


def test_the_help_names_the_default_port_and_how_to_change_it(capsys) -> None:
    text = " ".join(help_text(["--help"], capsys).split())
    assert "127.0.0.1:7071" in text and "INTAKE_PORT" in text


def test_the_help_names_the_port_set_in_intake_port(capsys, monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_PORT", "8089")
    text = " ".join(help_text(["--help"], capsys).split())
    assert "127.0.0.1:8089" in text and "7071" not in text
    dev = " ".join(help_text(["dev", "--help"], capsys).split())
    assert "INTAKE_PORT" in dev
