"""``make reliability``: run the fault matrix and print its figures (the README's table).

python -m tests.faults.report
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

from intake.adapters import retry
from intake.config import Settings
from tests.conftest import SAMPLE
from tests.faults.matrix import SENT_ITEMS_LAG, intake_flows, run_matrix


def main() -> int:
    logging.disable(logging.CRITICAL)  # the matrix fails on purpose, thousands of times
    retry.set_testing(True)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="intake-matrix-")))
    started = time.perf_counter()
    figures = run_matrix(intake_flows(SAMPLE), settings)
    elapsed = time.perf_counter() - started
    rows = [
        (
            "scenarios (operation x fault kind x occurrence, 2 flows, 2 remote models)",
            figures.scenarios,
        ),
        ("faults injected", figures.faults_injected),
        ("requests lost", figures.losses),
        ("duplicate side effects (closed windows)", figures.duplicates),
        ("ended by queue retries alone", figures.resolved_by["retries"]),
        (
            "ended by the timer (dead worker's lease, unsure email, lost enqueue)",
            figures.resolved_by["timer"],
        ),
        ("ended by a replay (failed or poisoned, then replayed)", figures.resolved_by["replay"]),
        ("never ended", figures.resolved_by["never"]),
    ]
    for name, count in sorted(figures.window_hits.items()):
        rows.append((f"open-window hits: extra {name} (Teams protocol model)", count))
    width = max(len(name) for name, _ in rows)
    print(
        f"Fault matrix of the intake flow ({elapsed:.1f} s; Sent Items lag {SENT_ITEMS_LAG:.0f} s)"
    )
    for name, count in rows:
        print(f"  {name:<{width}}  {count:>6}")
    for outcome in figures.failures:
        print(f"  FAILED {outcome.scenario.name}: {outcome.status} {outcome.counts}")
    return 1 if figures.failures else 0


if __name__ == "__main__":
    sys.exit(main())
