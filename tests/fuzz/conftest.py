"""Hypothesis profiles for the fuzzers: a bounded run in ``make test``, a long one in
``make fuzz`` (``HYPOTHESIS_PROFILE=fuzz``). Counts each case and prints the total."""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

FUZZ_SCALE = {"bounded": 1, "fuzz": 20}
settings.register_profile(
    "bounded",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=False,
)
settings.register_profile(
    "fuzz",
    parent=settings.get_profile("bounded"),
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "bounded")
settings.load_profile(PROFILE if PROFILE in FUZZ_SCALE else "bounded")
CASES: Counter[str] = Counter()


def examples(bounded: int) -> int:
    """How many examples a fuzzer runs under the current profile."""
    return bounded * FUZZ_SCALE.get(PROFILE, 1)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if CASES:
        parts = ", ".join(f"{name} {n}" for name, n in sorted(CASES.items()))
        terminalreporter.write_line(f"fuzzed {sum(CASES.values())} cases ({parts})")
