"""Azurite (the official Azure Storage emulator, from npm) for the storage adapters' tests.

The tests start it themselves: table and queue services in memory, on free loopback ports, one
process each for the whole session. Without node or ``node_modules/.bin/azurite-*`` the tests
fail, never skip: CI must prove the adapters against real Table and Queue protocols. Setting
``INTAKE_SKIP_AZURITE=1`` skips them on purpose (say so when you do).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"

# The emulator's well-known development account (public, documented by Microsoft).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
START_TIMEOUT = 30.0
# Read at import: the tests' autouse fixture clears INTAKE_* variables before each test.
SKIP = os.environ.get("INTAKE_SKIP_AZURITE") == "1"


@dataclass(frozen=True)
class Azurite:
    table_port: int
    queue_port: int

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{ACCOUNT};"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _binary(service: str) -> Path:
    if shutil.which("node") is None:
        pytest.fail(
            "node is not installed: the Azure Storage tests run against Azurite (npm). Install "
            "Node.js and run `make install`, or set INTAKE_SKIP_AZURITE=1 to skip them on purpose.",
            pytrace=False,
        )
    path = BIN / f"azurite-{service}"
    if not path.exists():
        pytest.fail(
            f"{path.relative_to(ROOT)} is missing: run `make install` (npm install brings "
            "Azurite), or set INTAKE_SKIP_AZURITE=1 to skip the Azure Storage tests on purpose.",
            pytrace=False,
        )
    return path


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def _service(service: str, workspace: Path) -> Iterator[int]:
    """Run one Azurite service until the block ends; yields its port."""
    binary = _binary(service)
    for _ in range(3):  # a free port can be taken between probing and binding: try another
        port = free_port()
        log = (workspace / f"{service}.log").open("wb")
        process = subprocess.Popen(
            [
                str(binary),
                "--silent",
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
                f"--{service}Host",
                "127.0.0.1",
                f"--{service}Port",
                str(port),
            ],
            cwd=workspace,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and not _answers(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None and _answers(port):
            try:
                yield port
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                log.close()
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()
    output = (workspace / f"{service}.log").read_text(errors="replace")[-2000:]
    pytest.fail(f"Azurite {service} did not start:\n{output}", pytrace=False)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite's table and queue services for the whole test session."""
    if SKIP:
        pytest.skip("INTAKE_SKIP_AZURITE=1: the Azure Storage tests are skipped on purpose")
    workspace = tmp_path_factory.mktemp("azurite")
    with ExitStack() as stack:
        table_port = stack.enter_context(_service("table", workspace))
        queue_port = stack.enter_context(_service("queue", workspace))
        yield Azurite(table_port, queue_port)
