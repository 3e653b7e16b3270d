"""Tests about the code: the import graph of ``intake/`` points one way, use cases stay free of
SDKs, pure rule modules do no I/O, and function_app only registers.

Entry points (functions/, intake/bot, intake/cli, intake/dev) -> use cases -> rules and models
-> ports <- adapters; ``intake/bootstrap.py`` (the composition root) picks the adapters. The
graph is read from the source with ``ast``: every import counts, those inside functions too
(an import deferred for cold start is still a dependency), except those under
``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from functools import cache
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
    "intake/replay.py",
    "intake/step_runner.py",
    "intake/messages.py",
    "intake/inbound.py",
    "intake/inbound_mail.py",
]
ENTRY_POINTS = ("intake.__main__", "intake.bot", "intake.cli", "intake.dev")
COMPOSITION_ROOT = "intake.bootstrap"
PORTS = "intake.ports"
# Rules and values: computed from their inputs, no I/O of any kind (no files, network, clock,
# log). New rule modules (an SLA rule set) belong here.
RULE_MODULES = [
    "intake.models",
    "intake.messages",
    "intake.errors",
    "intake.triage_rules",
    "intake.text_rules",
    "intake.calendar",
    "intake.client_status",
    "intake.clock_view",
    "intake.status_token",
    "intake.submission",
    "intake.description",
    "intake.hook_subscriptions",
]
IO_MODULES = (
    "os",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "glob",
    "socket",
    "ssl",
    "http",
    "urllib",
    "sqlite3",
    "subprocess",
    "threading",
    "asyncio",
    "multiprocessing",
    "logging",
    "time",
    "importlib",
    "jinja2",
    *BANNED,
)
IO_CALLS = ("open", "print", "input")
CLOCK_READS = ("now", "utcnow", "today")
# The one place a rule module may read the clock: ``models.utcnow`` is the wall clock itself,
# the default of ``Services.clock`` (everything else asks ``services.clock()``).
CLOCK_OWNER = ("intake.models", "utcnow")
# Entry points that use local adapters beyond their ports, by name, and why. Nothing else
# outside ``intake/adapters`` and the composition root imports an adapter.
ADAPTER_USERS = {
    # The local host stands in for the Functions host: it drains the SQLite queue itself
    # (receive, complete, fail: what Azure does for the real queue). Local mode only.
    "intake.dev.host": {"intake.adapters.local_queue"},
    # /dev/api moves the local clock, acts on the local board as a person would and drops an
    # email into the local inbox; it refuses (409) when the services do not run on them.
    # Local mode only.
    "intake.dev.driving": {
        "intake.adapters.local_board",
        "intake.adapters.local_clock",
        "intake.adapters.local_inbox",
    },
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


# --- the import graph ---------------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in (ROOT / "intake").rglob("*.py")}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def raw_imports(tree: ast.AST, name: str, *, package: bool) -> set[str]:
    """Every module name ``tree`` imports, at any depth, outside ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    here = name if package else name.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@cache
def imports_of(name: str) -> frozenset[str]:
    """The ``intake`` modules ``name`` imports (a package's ``from intake import x``: ``x``)."""
    path = modules()[name]
    tree = ast.parse(path.read_text())
    found = set()
    for target in raw_imports(tree, name, package=path.name == "__init__.py"):
        while target and target not in modules():
            target = target.rpartition(".")[0]
        if target and target != name and target != "intake":
            found.add(target)
    return frozenset(found)


def reachable(name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(imports_of(name))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(imports_of(current))
    return seen


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The import circles of ``graph`` (its strongly connected components, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def is_adapter(name: str) -> bool:
    return name.startswith("intake.adapters.")


def is_entry_point(name: str) -> bool:
    return any(name == e or name.startswith(f"{e}.") for e in ENTRY_POINTS)


def use_cases() -> set[str]:
    """The modules that work through the ports: every module importing ``intake.ports`` that
    is not an entry point, the composition root or an adapter (found, not listed, so a new
    use case is one the moment it asks for a port)."""
    return {
        name
        for name in modules()
        if PORTS in imports_of(name)
        and not (is_entry_point(name) or is_adapter(name) or name == COMPOSITION_ROOT)
    }


def test_the_import_graph_reads_imports_as_python_does():
    """The graph this file checks is the real one (a wrong graph would pass everything)."""
    assert "intake.ports" in imports_of("intake.workflow")
    assert "intake.adapters.local_queue" in imports_of(COMPOSITION_ROOT)  # deferred or not
    assert "intake.triage" in imports_of("intake.bot.endpoint")
    assert {"intake.workflow", "intake.triage", "intake.replay"} <= use_cases()
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from intake import triage\n"
    assert raw_imports(ast.parse(source), "intake.x", package=False) == {
        "typing",
        "typing.TYPE_CHECKING",
    }
    source = "def f():\n    from .adapters import retry\n"
    assert "intake.adapters.retry" in raw_imports(ast.parse(source), "intake.x", package=False)


def test_there_is_no_import_circle_in_intake():
    assert cycles({name: imports_of(name) for name in modules()}) == []


def test_the_circle_check_finds_circles():
    graph = {"a": ["b"], "b": ["c", "d"], "c": ["a"], "d": [], "e": ["e"]}
    assert cycles(graph) == [["a", "b", "c"]]  # (a module importing itself is no circle)


def test_no_adapter_imports_a_use_case_an_entry_point_or_the_composition_root():
    above = use_cases() | {COMPOSITION_ROOT} | {n for n in modules() if is_entry_point(n)}
    for name in sorted(n for n in modules() if is_adapter(n)):
        assert not (reachable(name) & above), name


def test_use_cases_and_rules_import_no_entry_point_and_no_adapter():
    for name in sorted(use_cases() | set(RULE_MODULES)):
        for target in imports_of(name):
            assert not is_adapter(target), (name, target)
            assert not is_entry_point(target), (name, target)
            assert target != COMPOSITION_ROOT, (name, target)


def test_rules_and_models_import_no_use_case_and_no_port():
    for name in RULE_MODULES:
        assert not (imports_of(name) & (use_cases() | {PORTS})), name


def test_only_bootstrap_imports_adapters():
    """Adapters import each other and the composition root picks them; the only others are
    the local host's modules named (with why) in ``ADAPTER_USERS``."""
    for name in sorted(modules()):
        if is_adapter(name) or name == COMPOSITION_ROOT:
            continue
        adapters = {target for target in imports_of(name) if is_adapter(target)}
        assert adapters <= ADAPTER_USERS.get(name, set()), name


def test_the_adapter_users_named_still_use_those_adapters():
    """No stale escape hatch: each exception above is still needed."""
    for name, adapters in ADAPTER_USERS.items():
        assert adapters <= imports_of(name), name


# --- pure rules do no I/O -----------------------------------------------------------------


def io_in(name: str, source: str | None = None) -> list[str]:
    """What in module ``name``'s own code (or ``source``) does I/O: an I/O module imported, a
    file opened, something printed, the clock read."""
    tree = ast.parse(modules()[name].read_text() if source is None else source)
    roots = {target.split(".")[0] for target in raw_imports(tree, name, package=False)}
    found = [f"imports {root}" for root in roots if root in IO_MODULES]

    def visit(node: ast.AST, owner: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            owner = node.name
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in IO_CALLS:
                found.append(f"calls {node.func.id}()")
            if (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in CLOCK_READS
                and (name, owner) != CLOCK_OWNER
            ):
                found.append(f"reads the clock ({ast.unparse(node.func)}) in {owner or name}")
        for child in ast.iter_child_nodes(node):
            visit(child, owner)

    visit(tree, "")
    return sorted(set(found))


@pytest.mark.parametrize("name", RULE_MODULES)
def test_a_rule_module_does_no_io(name):
    assert io_in(name) == []


def test_the_io_check_finds_io():
    """The check above can fail: it sees a rule module that starts doing I/O."""
    module = "intake.text_rules"
    source = modules()[module].read_text()
    leak = (
        "\n\ndef leak():\n    import socket\n    print(open('x').read())\n"
        "    return datetime.now()\n"
    )
    assert io_in(module, source + leak) == [
        "calls open()",
        "calls print()",
        "imports socket",
        "reads the clock (datetime.now) in leak",
    ]
    assert io_in(module, "from logging import getLogger\n") == ["imports logging"]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_the_use_cases_import_no_sdk(module):
    assert imported_roots(ROOT / module).isdisjoint(BANNED)


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
