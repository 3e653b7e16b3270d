"""Start-up mistakes said in one line, never a traceback (issue 11, item 12): a second
``make dev`` on a busy port, and a list or object setting that is not JSON."""

from __future__ import annotations

import socket

import pytest

from intake.__main__ import main
from intake.config import load_settings
from intake.errors import ConfigurationError


def test_a_busy_port_is_one_line_naming_it_and_intake_port(capsys, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("INTAKE_PORT", str(port))

        code = main(["dev"])

    out, err = capsys.readouterr()
    assert code != 0
    lines = (out + err).strip().splitlines()
    assert len(lines) == 1, lines
    assert str(port) in lines[0] and "INTAKE_PORT" in lines[0] and "in use" in lines[0]
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("variable", "value", "shape"),
    [
        ("INTAKE_PEOPLE", "not json", "JSON list"),
        ("INTAKE_PEOPLE", '{"name": "Alex"}', "JSON list"),
        ("INTAKE_SEVERITY_PRIORITY", "High=2", "JSON object"),
        ("INTAKE_CLIENT_STATE_LABELS", '["Closed"]', "JSON object"),
        ("INTAKE_TAGS", '["intake", ', "comma-separated"),
    ],
)
def test_a_structured_setting_that_cannot_be_read_is_one_line_and_doctor_exits_non_zero(
    variable, value, shape, monkeypatch, capsys
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    (line,) = str(refused.value).splitlines()
    assert line.startswith(f"{variable} is not") and shape in line

    assert main(["doctor"]) != 0
    out, err = capsys.readouterr()
    assert variable in out + err and "Traceback" not in out + err


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        (
            "INTAKE_SCRUM_MASTERS",
            "morgan@contoso.example",
            "scrum_masters",
            ["morgan@contoso.example"],
        ),
        ("INTAKE_TAGS", "intake, support", "tags", ["intake", "support"]),
        ("INTAKE_TAGS", '["intake", "support"]', "tags", ["intake", "support"]),
        (
            "INTAKE_SCRUM_MASTERS",
            "a@x.example,b@x.example",
            "scrum_masters",
            ["a@x.example", "b@x.example"],
        ),
    ],
)
def test_a_list_of_strings_may_be_a_plain_comma_separated_list(
    variable, value, field, expected, monkeypatch
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(load_settings(), field) == expected


def test_json_objects_still_read(monkeypatch) -> None:
    monkeypatch.setenv("INTAKE_SEVERITY_PRIORITY", '{"Critical": 1, "Low": 4}')
    assert load_settings().severity_priority == {"Critical": 1, "Low": 4}
