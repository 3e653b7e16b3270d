"""``python -m intake dev``: run the local host on embedded defaults until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from intake import bootstrap
from intake.config import load_settings
from intake.errors import ConfigurationError


def register(commands: Any) -> None:
    parser = commands.add_parser("dev", help="run the local host (http://127.0.0.1:7071)")
    parser.add_argument("--port", type=int, help="overrides INTAKE_PORT")
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        overrides = {"port": arguments.port} if arguments.port else {}
        settings = load_settings(**overrides)
    except ConfigurationError as exc:
        print(f"Intake cannot start; fix these settings:\n{exc}")
        return 2
    from function_app import app
    from intake.dev.host import LocalHost

    host = LocalHost(app, bootstrap.build(settings))
    address, port = host.start(settings.host, settings.port)
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
