"""``python -m intake <command>``: dev (the local host), replay (stuck and poisoned requests),
doctor (check the configured systems), package (the Teams app zip), status (links to the
clients' status pages: print one, revoke them)."""

from __future__ import annotations

import argparse
import sys

from intake.cli import dev, doctor, hooks, package, replay, status

# The help's own words: the module docstring's reST backticks read badly in a terminal.
DESCRIPTION = (
    "Intake's command line: dev (the local host), replay (stuck and poisoned requests), "
    "doctor (check the configured systems), package (the Teams app zip), status (links to "
    "the clients' status pages: print one, revoke them), hooks (the DevOps service hooks)."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intake", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    dev.register(commands)
    replay.register(commands)
    doctor.register(commands)
    package.register(commands)
    status.register(commands)
    hooks.register(commands)
    arguments = parser.parse_args(argv)
    result: int = arguments.run(arguments)
    return result


if __name__ == "__main__":
    sys.exit(main())
