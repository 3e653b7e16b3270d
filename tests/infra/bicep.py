"""Reading Bicep files with a real Bicep grammar (tree-sitter-bicep), since the Bicep compiler
cannot be installed here (it downloads its binary from GitHub). Each helper reads the syntax tree,
not the text: comments, strings and nesting cannot fool it the way a regular expression can.
The checks return lists of problems so that tests can also prove they catch broken files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser, Tree

INFRA = Path(__file__).resolve().parent.parent.parent / "infra"
RESOURCE_TYPE = re.compile(r"^[A-Za-z]+\.[A-Za-z]+(/[A-Za-z]+)+@\d{4}-\d{2}-\d{2}(-preview)?$")


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bicep.language()))


def parse(source: str | Path) -> Tree:
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    return _parser().parse(text.encode("utf-8"))


def text(node: Node) -> str:
    return (node.text or b"").decode("utf-8")


def walk(node: Node) -> list[Node]:
    nodes = [node]
    for child in node.children:
        nodes.extend(walk(child))
    return nodes


def syntax_errors(tree: Tree) -> list[str]:
    return [
        f"line {node.start_point[0] + 1}: {'missing' if node.is_missing else 'cannot parse'} "
        f"{text(node)[:40]!r}"
        for node in walk(tree.root_node)
        if node.type == "ERROR" or node.is_missing
    ]


def string_value(node: Node) -> str:
    """A literal string's value (no interpolation)."""
    assert node.type == "string", node.type
    return "".join(text(c) for c in node.children if c.type == "string_content")


def key(prop: Node) -> str:
    first = prop.children[0]
    return string_value(first) if first.type == "string" else text(first)


def properties(obj: Node) -> dict[str, Node]:
    """An object's direct properties: key -> value node (nested objects are not flattened)."""
    assert obj.type == "object", obj.type
    return {key(prop): prop.children[-1] for prop in obj.children if prop.type == "object_property"}


def body(declaration: Node) -> Node:
    """The object of a resource/module declaration (inside `if (...)` or `[for ...]` too)."""
    for node in walk(declaration)[1:]:
        if node.type == "object":
            return node
    raise AssertionError(f"no body in {text(declaration)[:60]}")


def object_at(obj: Node, *path: str) -> Node:
    for name in path:
        obj = properties(obj)[name]
    return obj


@dataclass(frozen=True)
class Param:
    name: str
    has_default: bool
    secure: bool


def declarations(tree: Tree, kind: str) -> dict[str, Node]:
    """Top-level declarations of one kind (parameter, variable, resource, module, output)."""
    found = {}
    for node in tree.root_node.children:
        if node.type == f"{kind}_declaration":
            found[text(node.children[1])] = node
    return found


def params(tree: Tree) -> dict[str, Param]:
    result = {}
    children = tree.root_node.children
    for index, node in enumerate(children):
        if node.type != "parameter_declaration":
            continue
        before = children[index - 1] if index else None
        decorators = text(before) if before is not None and before.type == "decorators" else ""
        name = text(node.children[1])
        has_default = any(c.type == "=" for c in node.children)
        result[name] = Param(name, has_default, "@secure()" in decorators)
    return result


def identifiers_used(tree: Tree) -> set[str]:
    """Names referenced in expressions: not declaration names, not object keys, not members."""
    used = set()
    for node in walk(tree.root_node):
        if node.type != "identifier" or node.parent is None:
            continue
        parent = node.parent
        if parent.type.endswith("_declaration") and parent.children[1] == node:
            continue
        if parent.type == "object_property" and parent.children[0] == node:
            continue
        used.add(text(node))
    return used


def unused_params(tree: Tree) -> list[str]:
    used = identifiers_used(tree)
    return sorted(name for name in params(tree) if name not in used)


def bad_resource_types(tree: Tree) -> list[str]:
    return [
        f"{name}: {string_value(node.children[2])!r}"
        for name, node in declarations(tree, "resource").items()
        if not RESOURCE_TYPE.match(string_value(node.children[2]))
    ]


def module_problems(path: Path) -> list[str]:
    """Each module's file exists, gets only parameters it declares, and all it requires."""
    problems = []
    for name, node in declarations(parse(path), "module").items():
        target = path.parent / string_value(node.children[2])
        if not target.exists():
            problems.append(f"module {name}: {target} does not exist")
            continue
        declared = params(parse(target))
        passed = set(properties(object_at(body(node), "params")))
        for extra in sorted(passed - set(declared)):
            problems.append(f"module {name}: passes {extra}, which {target.name} does not declare")
        for param in declared.values():
            if not param.has_default and param.name not in passed:
                problems.append(f"module {name}: does not pass required {param.name}")
    return problems


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))
