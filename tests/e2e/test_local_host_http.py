"""The local host's own HTTP (issue 11, item 11): chunked bodies are read, a length that is
not a number gets a 400 problem (not a dropped connection), and a burst of 50 connections at
once is all answered."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import pytest
import requests

from intake.dev.host import LocalHttpServer
from tests.conftest import SAMPLE

pytestmark = pytest.mark.e2e


def exchange(base_url: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a fresh connection; the status, headers and body of the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(raw)
        answer = connection.makefile("rb")
        status = int(answer.readline().split()[1])
        headers = {}
        while (line := answer.readline().decode()) not in ("\r\n", ""):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = answer.read(int(headers.get("content-length", "0")))
    return status, headers, body


def chunked(payload: bytes, size: int) -> bytes:
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    # One chunk extension and one trailer field: read and dropped.
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces)
    return body + b"0\r\nX-Trailer: yes\r\n\r\n"


def test_a_chunked_submission_is_read_whole_and_accepted(local_host: Any) -> None:
    payload = json.dumps(SAMPLE).encode()
    status, _, body = exchange(
        local_host.base_url,
        b"POST /api/intake HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked(payload, 100),
    )
    assert status == 202, body
    request_id = json.loads(body)["requestId"]
    # The whole body arrived: the sample's title, not a truncated or empty submission.
    status_page = local_host.status(request_id)
    assert status_page["requestId"] == request_id


def test_requests_streams_a_generator_as_chunks_and_it_is_accepted(local_host: Any) -> None:
    payload = json.dumps(SAMPLE).encode()
    answer = requests.post(
        f"{local_host.base_url}/api/intake",
        data=(payload[i : i + 64] for i in range(0, len(payload), 64)),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize(
    ("name", "framing"),
    [
        ("length not a number", b"Content-Length: abc\r\n\r\n{}"),
        ("negative length", b"Content-Length: -5\r\n\r\n{}"),
        ("bad chunk size", b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        ("chunk longer than said", b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XY\r\n0\r\n\r\n"),
    ],
)
def test_a_body_that_cannot_be_delimited_gets_a_400_problem_and_the_connection_closes(
    local_host: Any, name: str, framing: bytes
) -> None:
    status, headers, body = exchange(
        local_host.base_url,
        b"POST /api/intake HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + framing,
    )
    assert status == 400, name
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 400
    assert headers.get("connection") == "close"
    assert local_host.get("/dev/api/queue")["queue"] == []  # nothing recorded


def test_the_listen_backlog_takes_a_burst_of_connections() -> None:
    assert LocalHttpServer.request_queue_size >= 50


def test_fifty_simultaneous_connections_are_all_answered(local_host: Any) -> None:
    host, port = local_host.base_url.removeprefix("http://").split(":")
    start = threading.Barrier(50)
    statuses: list[int | str] = []

    def one() -> None:
        start.wait(timeout=10)
        try:
            with socket.create_connection((host, int(port)), timeout=10) as connection:
                connection.sendall(
                    b"GET /api/requests/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                statuses.append(int(connection.makefile("rb").readline().split()[1]))
        except OSError as exc:
            statuses.append(type(exc).__name__)

    threads = [threading.Thread(target=one) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(statuses) == 50
    assert all(isinstance(s, int) and s < 500 for s in statuses), statuses


def test_the_health_probe_answers_200_with_the_version_and_local_systems(local_host: Any) -> None:
    from intake import __version__

    answer = requests.get(f"{local_host.base_url}/api/health", timeout=10)

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert {s["system"] for s in body["systems"]} >= {"devops", "graph", "teams"}
    assert all(s["adapter"] == "local" for s in body["systems"])
