"""``python -m bench.timeline [N]``: where the time of single requests goes.

Runs N requests (default 5) one at a time in the benchmark's world and prints, for the last
one, every port call (store, queue, work items, mailer, channel) and every answer of a double,
in milliseconds since the POST was sent. A measuring tool, not a benchmark: the port calls are
wrapped, which costs a little.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import requests

from bench.doubles import Network
from bench.world import running_world, submission


class Traced:
    """Any port, unchanged, plus (name, thread, started, ended) of each call."""

    def __init__(self, name: str, port: Any, events: list[tuple[str, str, float, float]]) -> None:
        self._name, self._port, self._events = name, port, events

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._port, attribute)
        if not callable(value) or attribute.startswith("_"):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                label = f"{self._name}.{attribute}"
                self._events.append(
                    (label, threading.current_thread().name, started, time.perf_counter())
                )

        return call


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 5
    events: list[tuple[str, str, float, float]] = []
    with running_world(Network(delay=0.050), queue_workers=4) as world:
        services = world.host.services
        for port in ("store", "queue", "work_items", "mailer", "channel"):
            setattr(services, port, Traced(port, getattr(services, port), events))
        with requests.Session() as http:
            for number in range(count):
                events.clear()
                started = time.perf_counter()
                answer = http.post(
                    f"{world.base_url}/api/intake",
                    data=submission(number, "timeline"),
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                )
                acked = time.perf_counter()
                world.store.wait_done(answer.json()["requestId"], timeout=60)
                time.sleep(0.05)
        rows = [("POST -> 202", "client", started, acked)]
        rows += list(events)
        for name, loopback in world.loopbacks.items():
            rows += [
                (f"{name} {a.method} {a.path[-60:]} {a.status}", "double", a.started, a.at)
                for a in loopback.count(started)
            ]
    for label, thread, begin, end in sorted(rows, key=lambda row: row[2]):
        print(
            f"{(begin - started) * 1000:8.1f} {(end - started) * 1000:8.1f}"
            f" {(end - begin) * 1000:7.1f}  {thread[:14]:14} {label}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
