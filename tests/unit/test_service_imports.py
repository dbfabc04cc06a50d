"""Service modules depend on each other one way: no import cycle, not even through an import
inside a function (issue 12 item 4: applications ↔ entry was one, hidden in ``_act``)."""
from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "app" / "services"


def _imports(path: Path, names: set[str]) -> set[str]:
    """Service modules ``path`` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "app.services":
            found |= {a.name for a in node.names if a.name in names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app.services."):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("app.services.")}
    return found - {path.stem}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the path of modules, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_service_modules_import_each_other_without_a_cycle():
    modules = {p.stem: p for p in SERVICES.glob("*.py") if p.stem != "__init__"}
    graph = {name: _imports(path, set(modules)) for name, path in modules.items()}
    assert "applications" in graph and graph["entry"] >= {"applications"}  # the walk sees real imports
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])
