"""The import boundary README.md draws: each stage imports only earlier ones, and no module
imports another that imports it back. Read from the source (ast), imports inside functions
included, those under ``if TYPE_CHECKING:`` not (they never run). Fast."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The stages, in the order data flows (README.md, "Architecture").
STAGES = [
    "cohort", "models", "training", "saliency", "criteria", "science", "store", "engine",
    "studies", "checks", "report",
]  # fmt: skip


def _runtime_imports(tree: ast.Module) -> list[tuple[int, str]]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def _modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (ROOT / "salcheck").rglob("*.py")
    }


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def test_no_import_runs_back_up_the_stages():
    modules = _modules()
    back = []
    for name, path in modules.items():
        here = _stage(name)
        for line, target in _runtime_imports(ast.parse(path.read_text())):
            there = _stage(target) if target in modules else None
            if here is not None and there is not None and there > here:
                back.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert back == []


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo += graph.get(node, set())
    return False


@pytest.mark.parametrize("scope", ["top level", "everywhere"])
def test_no_module_imports_one_that_imports_it_back(scope):
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        if scope == "top level":
            tree = ast.Module([n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)], [])
        for _, target in _runtime_imports(tree):
            # a package's __init__ re-exports its modules: an edge to a module, not the package
            if target in modules and target != name and not name.startswith(target + "."):
                graph.setdefault(name, set()).add(target)
    circles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if _reaches(graph, b, a))
    assert circles == []
