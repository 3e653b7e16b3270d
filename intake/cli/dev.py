"""``python -m intake dev``: run the local host on embedded defaults until Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import threading
from typing import Any

from intake import bootstrap
from intake.cli.configured import configured_settings
from intake.config import Settings, load_settings
from intake.errors import ConfigurationError

DEFAULT_PORT = Settings.model_fields["port"].default


def register(commands: Any) -> None:
    # Where it will listen, as start-up reads it (the settings), not a constant: the help
    # must not promise 7071 to someone who set INTAKE_PORT. Settings that cannot be read
    # are start-up's to report, with their one line; the help then names the defaults.
    try:
        settings: Settings | None = load_settings()
    except ConfigurationError:
        settings = None
    if settings is not None and settings.port != DEFAULT_PORT:
        where = f"http://{settings.host}:{settings.port}, from INTAKE_PORT"
    else:
        host = settings.host if settings is not None else "127.0.0.1"
        where = f"http://{host}:{DEFAULT_PORT}; INTAKE_PORT or --port changes the port"
    parser = commands.add_parser("dev", help=f"run the local host ({where})")
    parser.add_argument(
        "--port",
        type=int,
        help=f"port to listen on (default: INTAKE_PORT, else {DEFAULT_PORT})",
    )
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    overrides = {"port": arguments.port} if arguments.port else {}
    settings = configured_settings(**overrides)
    if settings is None:
        return 2
    from function_app import app
    from intake.dev.host import LocalHost

    host = LocalHost(app, bootstrap.build(settings))
    try:
        address, port = host.start(settings.host, settings.port)
    except OSError as exc:
        # Most often a second `make dev`: one line, not the socket's traceback.
        reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc})"
        print(
            f"Intake cannot start: port {settings.port} on {settings.host} {reason}; "
            "stop what runs there or set INTAKE_PORT (or --port) to another port.",
            file=sys.stderr,
        )
        bootstrap.override(None)
        return 1
    mode = "local mode (no Azure, no credentials)" if settings.is_local else "real adapters"
    print(f"Intake is running on http://{address}:{port}/dev/ in {mode}.")
    print(f"State: {settings.database_path.resolve()}   Stop: Ctrl-C")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    host.stop()
    return 0
