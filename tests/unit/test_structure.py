"""Tests about the code: the workflow stays free of SDKs; function_app only registers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BANNED = ("azure", "msal", "requests", "microsoft_agents", "aiohttp", "jwt")
PURE_MODULES = [
    "intake/workflow.py",
    "intake/models.py",
    "intake/ports.py",
    "intake/submission.py",
    "intake/triage_card.py",
    "intake/emails.py",
    "intake/description.py",
    "intake/triage.py",
    "intake/triage_rules.py",
    "intake/triage_views.py",
    "intake/request_steps.py",
    "intake/attempts.py",
    "intake/decision_steps.py",
    "intake/inbound.py",
    "intake/inbound_mail.py",
]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", PURE_MODULES)
def test_the_use_cases_import_no_sdk(module):
    assert imported_roots(ROOT / module).isdisjoint(BANNED)


def test_only_bootstrap_imports_adapters():
    for path in (ROOT / "intake").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(("intake/adapters/", "intake/dev/")) or relative in (
            "intake/bootstrap.py",
        ):
            continue
        source = path.read_text()
        assert (
            "intake.adapters" not in source
            or "intake.adapters.retry" in source
            or relative.startswith("intake/cli/")
        ), relative


def test_function_app_only_creates_the_app_and_registers_blueprints():
    tree = ast.parse((ROOT / "function_app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Assign):
            assert ast.unparse(node.value).startswith("func.FunctionApp(")
            continue
        assert isinstance(node, ast.Expr), ast.unparse(node)
        assert ast.unparse(node.value).startswith("app.register_functions("), ast.unparse(node)
