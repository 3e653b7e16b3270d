"""``python -m bench.timeline [N]``: where the time of single requests goes.

Runs N requests (default 5) one at a time in the benchmark's world. Prints, for the slowest one
after the first (which warms up imports, tokens and discovery), every port call (store, queue,
work items, mailer, channel) and every answer of a double, in milliseconds since the POST was
sent; then, over all N, the median start and end of each kind of call. A measuring tool, not a
benchmark: the port calls are wrapped, which costs a little.
"""

from __future__ import annotations

import statistics
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
        runs: list[list[tuple[str, str, float, float]]] = []
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
                done = world.store.wait_done(answer.json()["requestId"], timeout=60)
                time.sleep(0.05)
                rows = [("POST -> 202", "client", started, acked), ("done", "", done, done)]
                rows += list(events)
                for name, loopback in world.loopbacks.items():
                    rows += [
                        (
                            f"{name} {a.method} {_shape(a.path)} {a.status}",
                            "double",
                            a.started,
                            a.at,
                        )
                        for a in loopback.count(started)
                    ]
                runs.append([(r[0], r[1], r[2] - started, r[3] - started) for r in rows])
    runs = runs[1:] or runs  # the first one warms up, as in the benchmark
    slowest = max(runs, key=lambda rows: next(r[3] for r in rows if r[0] == "done"))
    for label, thread, begin, end in sorted(slowest, key=lambda row: row[2]):
        print(f"{_span(begin, end)}  {thread[:14]:14} {label}")
    print(f"\nmedian over {count} requests (n: how many such calls per request)")
    kinds: dict[str, list[tuple[float, float, int]]] = {}
    for rows in runs:
        seen: dict[str, int] = {}
        for label, _, begin, end in sorted(rows, key=lambda row: row[2]):
            seen[label] = seen.get(label, 0) + 1
            kinds.setdefault(f"{label} #{seen[label]}", []).append((begin, end, 1))
    for label, spans in sorted(
        kinds.items(), key=lambda kv: statistics.median(s[0] for s in kv[1])
    ):
        begin = statistics.median(s[0] for s in spans)
        end = statistics.median(s[1] for s in spans)
        print(f"{_span(begin, end)}  n={len(spans):<3} {label}")
    return 0


def _span(begin: float, end: float) -> str:
    return f"{begin * 1000:8.1f} {end * 1000:8.1f} {(end - begin) * 1000:7.1f}"


def _shape(path: str) -> str:
    """A path with its numbers taken out, so the same call of every request has one label."""
    return "/".join("{n}" if part.isdigit() else part for part in path.split("/"))[-60:]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
