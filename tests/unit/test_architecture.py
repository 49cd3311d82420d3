"""The house's rules (tasks/__init__.py, docs/architecture.md, issue 14): each room of tasks/
imports only what it may, scoring stays pure, and no module-level import goes round in a circle.
Read from the source with `ast`, so a new import that breaks a rule fails here, naming it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tasks", "flows", "kinerja", "schemas")

# What each room of tasks/ may import (room = tasks.<first part>; anything outside the project,
# pandas or SQLAlchemy say, is not checked here). Imports for type checking only do not count.
ALLOWED = {
    "tasks.sources": {"kinerja", "schemas", "tasks.sources", "tasks.run_log", "tasks.transient"},
    "tasks.score": {"kinerja", "schemas", "tasks.score"},
    "tasks.warehouse": {"kinerja", "schemas", "tasks.warehouse", "tasks.run_log"},
    "tasks.reporting": {"kinerja", "schemas", "tasks.reporting", "tasks.warehouse"},
}
# The documented exceptions: the one Indonesian wording of every code (reporting's report_text)
# also fills the warehouse's label table of v_perubahan.
EXCEPTIONS = {("tasks.warehouse.change_labels", "tasks.reporting.report_text")}
# Scoring is pure: no I/O libraries, no Prefect, no database.
IMPURE = ("prefect", "sqlalchemy", "psycopg", "pymysql", "sqlite3", "great_expectations",
          "requests", "httpx", "os", "shutil", "subprocess", "jinja2", "openpyxl")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports() -> Iterator[tuple[str, str, bool]]:
    """(importing module, imported name, at module level) for every import of the project.
    `from package import module` imports the module, not the package's other names."""
    known = _known_modules()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module, typing_only = _module(path), _type_checking_only(tree)
            top = {id(n) for n in tree.body}
            for node in ast.walk(tree):
                if node.lineno in typing_only if hasattr(node, "lineno") else False:
                    continue
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [f"{node.module}.{a.name}" for a in node.names]
                    names = [n if n in known else node.module for n in names]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    continue
                for name in names:
                    yield module, name, id(node) in top


def _room(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "tasks" and len(parts) > 1 else parts[0]


def _known_modules() -> set[str]:
    return {_module(p) for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def test_each_room_imports_only_what_it_may():
    known = _known_modules()
    wrong = []
    for module, name, _ in imports():
        room = _room(module)
        if room not in ALLOWED or name.split(".")[0] not in PACKAGES:
            continue
        target = name if name in known else name.rpartition(".")[0]
        if _room(target) not in ALLOWED[room] and (module, target) not in EXCEPTIONS:
            wrong.append(f"{module} imports {name}")
    assert wrong == []


def test_scoring_is_pure():
    found = [f"{module} imports {name}" for module, name, _ in imports()
             if _room(module) == "tasks.score" and name.split(".")[0] in IMPURE]
    assert found == []


def test_no_module_level_import_circle():
    known = _known_modules()
    graph: dict[str, set[str]] = {m: set() for m in known}
    for module, name, top in imports():
        if not top:
            continue  # imported when called: cannot make an import-time circle
        target = name if name in known else name.rpartition(".")[0]
        if target in known and target != module:
            graph[module].add(target)
    # A package's __init__ importing its own modules is not a circle of the house.
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("rule", sorted(ALLOWED))
def test_every_room_is_a_package_saying_what_it_owns(rule):
    init = ROOT / Path(*rule.split(".")) / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc) > 80, f"{init} needs a docstring saying what the room owns"
