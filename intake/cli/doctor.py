"""``python -m intake doctor``: check each configured real system with read-only calls."""

from __future__ import annotations

import argparse
from typing import Any

from intake import bootstrap
from intake.cli.configured import configured_settings
from intake.doctor import run_checks


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor", help="check the configured systems (read-only), one line per check"
    )
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    settings = configured_settings()
    if settings is None:
        return 2
    mode = "local mode" if settings.is_local else "real adapters where configured"
    print(f"Checking Intake ({mode}):")
    results = run_checks(bootstrap.doctor_checks(settings))
    for result in results:
        print(result.line())
    failed = sum(not result.ok for result in results)
    if failed:
        print(f"{failed} of {len(results)} checks failed.")
        return 1
    print(f"All {len(results)} checks passed.")
    return 0
