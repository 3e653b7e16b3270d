"""``python -m intake package`` (``make package``): the Teams app zip, with the bot id filled in.

The zip holds ``manifest.json`` and the two icons at its root, as Teams wants them. The bot id
and the app's public URL come from ``INTAKE_BOT_APP_ID`` and ``INTAKE_PUBLIC_BASE_URL`` (both are
outputs of ``azd up``: ``azd env get-values``) or from the options. They are read here, not
through ``Settings``: packaging needs these two values, not a complete configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from intake.config import PROJECT_ROOT

APP_PACKAGE = PROJECT_ROOT / "appPackage"
FILES = ("manifest.json", "color.png", "outline.png")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
PLACEHOLDER = re.compile(r"\$\{\{([A-Z_]+)\}\}")


class PackageError(Exception):
    """A value the package needs is missing or malformed; the message says which and where."""


def register(commands: Any) -> None:
    parser = commands.add_parser("package", help="build the Teams app package (zip)")
    parser.add_argument("--bot-app-id", default=os.environ.get("INTAKE_BOT_APP_ID", ""))
    parser.add_argument("--base-url", default=os.environ.get("INTAKE_PUBLIC_BASE_URL", ""))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "dist" / "intake-teams-app.zip")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    try:
        path = build_package(arguments.bot_app_id, arguments.base_url, arguments.out)
    except PackageError as exc:
        print(f"Cannot build the Teams app package: {exc}")
        return 2
    print(f"Teams app package: {path}  (upload it in Teams: Apps > Manage your apps > Upload)")
    return 0


def fill_manifest(bot_app_id: str, base_url: str, source: Path = APP_PACKAGE) -> dict[str, Any]:
    """The manifest with every ``${{NAME}}`` placeholder replaced; refuses one left over."""
    bot_app_id = bot_app_id.strip()
    if not bot_app_id:
        raise PackageError(
            "INTAKE_BOT_APP_ID is not set. Set it to the Azure Bot's app id "
            "(`azd env get-values` shows it after `azd up`), or pass --bot-app-id."
        )
    if not GUID.match(bot_app_id):
        raise PackageError(f"INTAKE_BOT_APP_ID must be a GUID, not {bot_app_id!r}")
    parts = urlsplit(base_url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise PackageError(
            "INTAKE_PUBLIC_BASE_URL must be the app's https URL (e.g. "
            "https://func-intake-xyz.azurewebsites.net; `azd env get-values` shows it), "
            "or pass --base-url."
        )
    values = {
        "BOT_APP_ID": bot_app_id,
        "PUBLIC_BASE_URL": f"https://{parts.netloc}",
        "PUBLIC_HOST": parts.hostname,
    }
    text = (source / "manifest.json").read_text(encoding="utf-8")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise PackageError(f"manifest.json has a placeholder nobody fills: {match.group(0)}")
        return values[name]

    manifest: dict[str, Any] = json.loads(PLACEHOLDER.sub(value, text))
    return manifest


def build_package(bot_app_id: str, base_url: str, out: Path, source: Path = APP_PACKAGE) -> Path:
    """Write the zip to ``out`` (its folder is created) and return its path."""
    manifest = fill_manifest(bot_app_id, base_url, source)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
        for name in FILES[1:]:
            package.write(source / name, arcname=name)
    return out
