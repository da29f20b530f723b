"""The import layers of ARCHITECTURE.md: each layer uses only those below it, and no module
imports, even lazily inside a function, one that imports it back.

From the bottom: ``records`` (plain records) and ``errors``; ``ports`` (protocols, on records);
``plugins`` (entry points) and ``config``; ``models``, ``knowledge``, ``memory``, ``tools``,
``graphs``, ``workflows`` (a spec and its runner; it reaches the agent through a factory),
``runs`` (provenance traces) (each below uses nothing above); ``assembly`` (builds the parts from settings);
``agent``; ``apps`` (the faces)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "agentmesh"
_ABOVE_PARTS = ("agentmesh.agent", "agentmesh.apps", "agentmesh.assembly")
# what each layer may not import (its own layer and those below are fine)
FORBIDDEN = {
    "records": ("agentmesh.",),
    "ports": ("agentmesh.",),  # records only, checked below; the built-ins' types only under TYPE_CHECKING
    "plugins": ("agentmesh.",),  # errors only
    "graphs": (*_ABOVE_PARTS, "agentmesh.tools", "agentmesh.memory", "agentmesh.knowledge"),
    "models": (*_ABOVE_PARTS, "agentmesh.tools", "agentmesh.memory", "agentmesh.knowledge", "agentmesh.graphs"),
    "knowledge": (*_ABOVE_PARTS, "agentmesh.tools", "agentmesh.memory"),
    "tools": _ABOVE_PARTS,
    "memory": _ABOVE_PARTS,
    "assembly": ("agentmesh.agent", "agentmesh.apps"),
    "workflows": ("agentmesh.agent", "agentmesh.apps", "agentmesh.assembly", "agentmesh.tools", "agentmesh.memory"),
    "runs": (*_ABOVE_PARTS, "agentmesh.tools", "agentmesh.memory", "agentmesh.graphs", "agentmesh.workflows"),
}
ALLOWED = {"records": (), "ports": ("agentmesh.records",), "plugins": ("agentmesh.errors",)}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def imports(path: Path) -> list[str]:
    """The agentmesh modules ``path`` imports when it runs, also inside functions; imports made
    only for type checkers (``if TYPE_CHECKING:``) are left out."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for stmt in node.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from agentmesh import plugins" imports the module agentmesh.plugins
            found += [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names]
    return found


def _files(layer: str) -> list[Path]:
    single = PACKAGE / f"{layer}.py"
    return [single] if single.exists() else sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    wrong = [f"{path.relative_to(PACKAGE.parent)} imports {name}"
             for path in _files(layer) for name in imports(path)
             if name.startswith(FORBIDDEN[layer]) and name not in ALLOWED.get(layer, ())]
    assert wrong == []


def test_no_import_circles():
    graph = nx.DiGraph()
    for name, path in MODULES.items():
        for target in imports(path):
            # the package's own __init__ is the facade that imports everything; not a layer
            if target in MODULES and target not in (name, "agentmesh"):
                graph.add_edge(name, target)
    assert list(nx.simple_cycles(graph)) == []


def test_the_check_sees_a_circle(tmp_path):
    """The circle test is not vacuous: two modules importing each other inside functions are found."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def f():\n    from agentmesh.assembly import Components\n")
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from agentmesh.agent import Agent\n"
                 "def g():\n    from agentmesh import plugins\n")
    assert imports(a) == ["agentmesh.assembly"]
    assert imports(b) == ["typing", "agentmesh.plugins"]
