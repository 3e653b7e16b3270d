"""``make reliability``: run the fault matrices and print their figures (the README's table).

python -m tests.faults.report
"""

from __future__ import annotations

import importlib
import logging
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from intake.adapters import retry
from intake.config import Settings
from tests.conftest import SAMPLE
from tests.faults.decisions import decision_flows, with_two_scrum_masters
from tests.faults.matrix import SENT_ITEMS_LAG, Figures, Flow, intake_flows, run_matrix

# The tests whose cases are counted as figures: (module, test name) -> what they try.
FORGED_TOKENS = "tests.unit.test_messages_trigger"
STAFF_REFUSED = ("tests.unit.test_card_limits", "test_anyone_but_a_scrum_master_invoking")


def cases(test: Callable[..., Any]) -> int:
    """How many cases a test function runs: the product of its parametrize lists."""
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    return math.prod(len(m.args[1]) for m in marks)


def counted(module_name: str, words: str) -> int:
    """The cases of every test in ``module_name`` whose name contains ``words``."""
    module = importlib.import_module(module_name)
    return sum(
        cases(test)
        for name, test in vars(module).items()
        if name.startswith("test_") and words in name and callable(test)
    )


def matrix_rows(title: str, flows: list[Flow], settings: Settings) -> tuple[list[str], Figures]:
    started = time.perf_counter()
    figures = run_matrix(flows, settings)
    elapsed = time.perf_counter() - started
    rows: list[tuple[str, int]] = [
        (
            f"scenarios (operation x fault kind x occurrence, {len(flows)} flows, 2 remote models)",
            figures.scenarios,
        ),
        ("faults injected", figures.faults_injected),
        ("lost (not done, or an effect missing)", figures.losses),
        ("duplicate or unwanted side effects (closed windows)", figures.duplicates),
        ("ended by queue retries alone", figures.resolved_by["retries"]),
        ("ended by the timer (dead worker's lease, lost message)", figures.resolved_by["timer"]),
        ("ended by a replay (failed or poisoned, then replayed)", figures.resolved_by["replay"]),
        ("never ended", figures.resolved_by["never"]),
    ]
    for name, count in sorted(figures.window_hits.items()):
        rows.append((f"open-window hits: extra {name} (Teams protocol model)", count))
    width = max(len(name) for name, _ in rows)
    lines = [f"{title} ({elapsed:.1f} s; Sent Items lag {SENT_ITEMS_LAG:.0f} s)"]
    lines += [f"  {name:<{width}}  {count:>6}" for name, count in rows]
    lines += [
        f"  FAILED {o.scenario.name}: {o.status} {o.counts} expected {o.expected}"
        for o in figures.failures
    ]
    return lines, figures


def bad_input_lines() -> str:
    """The HTTP bad-input battery and the fuzzers' explicit examples, counted from the tests."""
    from tests.e2e import test_bad_input
    from tests.fuzz import test_intake_hypothesis as fuzz

    hardening = len(test_bad_input.HARDENING_INPUTS) + len(test_bad_input.HARDENING_ENVELOPE)
    activities = len(test_bad_input.BAD_ACTIVITIES)
    examples = sum(
        len(getattr(test, "hypothesis_explicit_examples", []))
        for name, test in vars(fuzz).items()
        if name.startswith("test_")
    )
    return "\n".join(
        [
            "Bad input refused over HTTP (4xx problem+json, nothing recorded)",
            f"  bad-input battery cases                       {len(test_bad_input.BAD_INPUTS):>6}",
            f"  of which issue 11 (surrogates, long integers,   {hardening:>4}",
            "    wrong JSON types, line separators, UTF-16 length; in answers, keys,",
            "    the envelope and the responder)",
            f"  bad activities refused over HTTP (4xx)        {activities:>6}",
            f"  fuzzers' explicit examples                    {examples:>6}",
            f"  nasty strings every structured fuzz draws from {len(fuzz.NASTY_STRINGS):>5}",
        ]
    )


def main() -> int:
    logging.disable(logging.CRITICAL)  # the matrices fail on purpose, thousands of times
    retry.set_testing(True)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="intake-matrix-")))
    failed = False
    for title, flows, flow_settings in (
        ("Fault matrix of the intake flow", intake_flows(SAMPLE), settings),
        (
            "Fault matrix of the decision flow (each decision, double clicks, a race, staff)",
            decision_flows(SAMPLE),
            with_two_scrum_masters(settings),
        ),
    ):
        lines, figures = matrix_rows(title, flows, flow_settings)
        print("\n".join(lines))
        failed = failed or bool(figures.failures)
    print("Callers refused")
    print(f"  forged bot tokens tried (401, nothing done)   {counted(FORGED_TOKENS, 'refused'):>6}")
    print(f"  staff invoking scrum-master verbs (refused)   {counted(*STAFF_REFUSED):>6}")
    print(bad_input_lines())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
