"""``intake doctor``: read-only checks of each configured real system, one line each.

Each real adapter module offers ``doctor_checks(settings) -> list[Check]``; one place,
``bootstrap.doctor_checks``, gathers those of the systems that are configured (the adapters
never gather each other's). A check's ``probe`` returns a short detail on success and raises
on failure; the failure's message and the check's ``fix`` are printed, never a secret or a
trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    system: str
    name: str
    probe: Callable[[], str]
    fix: str


@dataclass(frozen=True)
class CheckResult:
    check: Check
    ok: bool
    detail: str

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        text = f"{mark} {self.check.system}: {self.check.name}"
        if self.detail:
            text += f" ({self.detail})"
        if not self.ok:
            text += f"\n    fix: {self.check.fix}"
        return text


def run_checks(checks: Iterable[Check]) -> list[CheckResult]:
    """Run every check, even after a failure, so one run shows everything to fix."""
    results = []
    for check in checks:
        try:
            detail = check.probe()
        except Exception as exc:  # noqa: BLE001 - a failed probe is a result, not a crash
            results.append(CheckResult(check, False, _short(exc)))
        else:
            results.append(CheckResult(check, True, detail))
    return results


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
