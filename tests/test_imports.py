"""No import cycle among agentmesh's modules, counting the imports that run when a module loads.

A module-level import runs when its module is first imported; two modules that reach each other
that way load half-initialised, in an order that depends on which one a user imports first. The
imports counted are those at module level (also inside ``if``/``try``/``with`` blocks and class
bodies, which run at load time), plus what Python runs implicitly: importing ``a.b.c`` first runs
the packages ``a.b`` (their ``__init__``). Not counted: imports inside functions (they run on a
call, when every module is loaded) and those under ``if TYPE_CHECKING:`` (they never run). The root
``agentmesh/__init__`` is the facade every import starts from; it counts only where a module
imports a name from it (``from agentmesh import Settings``), not for ``from agentmesh import
plugins`` (a submodule) nor implicitly.

tests/test_layers.py is the stricter neighbour: it also counts imports inside functions, and keeps
each layer to the ones below it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "agentmesh"


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at load time, at ``path``:``line``."""

    source: str
    target: str
    path: Path
    line: int


def modules(package: Path) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its own name, not ``__init__``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _load_time_imports(body: list[ast.stmt]):
    """The import statements of ``body`` that run when the module loads."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _load_time_imports(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody"):
                yield from _load_time_imports(getattr(node, field, None) or [])
            for handler in getattr(node, "handlers", None) or []:
                yield from _load_time_imports(handler.body)
            for case in getattr(node, "cases", None) or []:
                yield from _load_time_imports(case.body)


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def load_time_edges(package: Path) -> list[Edge]:
    """The imports among ``package``'s modules that run at load time (see the module docstring)."""
    found = modules(package)
    root = package.name
    edges = []
    for name, path in found.items():
        is_package = path.name == "__init__.py"
        for node in _load_time_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                module = _absolute(node, name, is_package)
                targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in found else module
                           for alias in node.names]
            for target in targets:
                while target and target not in found:  # "import a.b.name" where name is no module
                    target = target.rpartition(".")[0]
                if not target:
                    continue
                named = [target]
                parent = target.rpartition(".")[0]
                while parent and parent != root:  # the packages Python runs first
                    named.append(parent)
                    parent = parent.rpartition(".")[0]
                edges += [Edge(name, t, path, node.lineno) for t in named
                          if t != name and not (t != target and name.startswith(t + "."))]
    return edges


def cycles(package: Path) -> list[str]:
    """Each import cycle of ``package``, one line per step: ``a imports b (a.py:12)``."""
    graph = nx.DiGraph()
    for edge in load_time_edges(package):
        if not graph.has_edge(edge.source, edge.target):
            graph.add_edge(edge.source, edge.target, at=f"{edge.path.relative_to(package.parent)}:{edge.line}")
    found = []
    for cycle in nx.simple_cycles(graph):
        start = cycle.index(min(cycle))
        cycle = cycle[start:] + cycle[:start]
        steps = zip(cycle, cycle[1:] + cycle[:1])
        found.append(" -> ".join(f"{a} imports {b} ({graph.edges[a, b]['at']})" for a, b in steps))
    return sorted(found)


def test_no_import_cycle_among_agentmesh_modules():
    found = cycles(PACKAGE)
    assert not found, f"{len(found)} import cycle(s):\n" + "\n".join(found)


def test_the_check_sees_a_cycle_and_ignores_lazy_and_typing_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.a import A\n")
    (package / "a.py").write_text("from pkg.sub.c import C\nA = 1\n")
    (package / "sub" / "__init__.py").write_text("from pkg.sub.b import B\n")
    (package / "sub" / "b.py").write_text("try:\n    from pkg.a import A\nexcept ImportError:\n    pass\nB = 1\n")
    (package / "sub" / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n"
        "def f():\n    from pkg.a import A\nC = 1\n")
    # a imports pkg.sub.c, which first runs pkg/sub/__init__, which imports b, which imports a
    assert cycles(package) == ["pkg.a imports pkg.sub (pkg/a.py:1) -> pkg.sub imports pkg.sub.b (pkg/sub/__init__.py:1)"
                               " -> pkg.sub.b imports pkg.a (pkg/sub/b.py:2)"]
    (package / "sub" / "__init__.py").write_text("")
    assert cycles(package) == []
