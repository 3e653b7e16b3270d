"""The Teams app package: the manifest is valid against the official v1.29 schema once filled,
the icons have the sizes Teams requires, and ``python -m intake package`` builds the zip."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from intake.__main__ import main
from intake.cli.package import APP_PACKAGE, PackageError, build_package, fill_manifest
from tests.specs import load_spec

BOT_ID = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
BASE_URL = "https://func-intake-abc123.azurewebsites.net"


def manifest_errors(manifest: object) -> list[str]:
    # The schema says draft-04 but uses const and if/then: Draft7, and no check_schema (FACTS §1).
    schema = load_spec("teams/MicrosoftTeams.schema.v1.29.json")
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(manifest)
    ]


def test_the_filled_manifest_is_valid_against_the_official_schema() -> None:
    manifest = fill_manifest(BOT_ID, BASE_URL)

    assert manifest_errors(manifest) == []
    assert manifest["id"] == manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["bots"][0]["scopes"] == ["team"]  # a bot needs the team scope for channels
    assert manifest["validDomains"] == ["func-intake-abc123.azurewebsites.net"]


def test_the_schema_check_catches_a_wrong_manifest() -> None:
    manifest = fill_manifest(BOT_ID, BASE_URL)
    manifest["manifestVersion"] = "1.28"  # Draft4 would ignore `const`: this proves Draft7 runs
    manifest["bots"][0]["scopes"] = ["groupchat"]

    errors = manifest_errors(manifest)
    assert any(e.startswith("manifestVersion") for e in errors)
    assert any(e.startswith("bots/0/scopes/0") for e in errors)


def png_pixels(path: Path) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and RGBA pixels of one of our PNGs (8-bit RGBA, filter 0: how we write)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks[kind] = chunks.get(kind, b"") + data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 6), "RGBA, 8 bits"
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + 4 * width
    pixels = []
    for row in range(height):
        line = raw[row * stride : (row + 1) * stride]
        assert line[0] == 0, "filter 0"
        pixels += [tuple(line[1 + 4 * i : 5 + 4 * i]) for i in range(width)]
    return width, height, pixels


def test_the_icons_have_the_sizes_teams_requires() -> None:
    manifest = json.loads((APP_PACKAGE / "manifest.json").read_text())
    color_w, color_h, color = png_pixels(APP_PACKAGE / manifest["icons"]["color"])
    outline_w, outline_h, outline = png_pixels(APP_PACKAGE / manifest["icons"]["outline"])

    assert (color_w, color_h) == (192, 192)
    assert (outline_w, outline_h) == (32, 32)
    assert all(alpha == 255 for *_, alpha in color)
    # The outline: white on transparent, and both are really there.
    assert all(pixel[:3] == (255, 255, 255) for pixel in outline)
    alphas = {pixel[3] for pixel in outline}
    assert 0 in alphas and 255 in alphas


def test_package_builds_the_zip_with_the_bot_id(tmp_path: Path) -> None:
    out = build_package(BOT_ID, BASE_URL + "/", tmp_path / "dist" / "app.zip")

    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert package.read("color.png") == (APP_PACKAGE / "color.png").read_bytes()
    assert "${{" not in json.dumps(manifest)
    assert manifest["developer"]["websiteUrl"] == BASE_URL
    assert manifest_errors(manifest) == []


def test_package_without_a_bot_id_says_what_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "app.zip"

    code = main(["package", "--base-url", BASE_URL, "--out", str(out)])

    assert code == 2
    assert "INTAKE_BOT_APP_ID is not set" in capsys.readouterr().out
    assert not out.exists()


def test_package_refuses_a_bot_id_that_is_not_a_guid() -> None:
    with pytest.raises(PackageError, match="GUID"):
        fill_manifest("my-bot", BASE_URL)


def test_package_refuses_a_base_url_that_is_not_https() -> None:
    with pytest.raises(PackageError, match="https"):
        fill_manifest(BOT_ID, "http://127.0.0.1:7071")


def test_package_reads_the_bot_id_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_BOT_APP_ID", BOT_ID)
    monkeypatch.setenv("INTAKE_PUBLIC_BASE_URL", BASE_URL)
    out = tmp_path / "app.zip"

    assert main(["package", "--out", str(out)]) == 0

    with zipfile.ZipFile(out) as package:
        assert json.loads(package.read("manifest.json"))["bots"][0]["botId"] == BOT_ID
