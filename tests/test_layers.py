"""The import layers of ARCHITECTURE.md: each layer uses only those below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "agentmesh"
# what each layer may not import (its own layer and those below are fine)
FORBIDDEN = {
    "graphs": ("agentmesh.agent", "agentmesh.apps", "agentmesh.tools", "agentmesh.memory", "agentmesh.knowledge"),
    "models": ("agentmesh.agent", "agentmesh.apps", "agentmesh.tools", "agentmesh.memory", "agentmesh.knowledge",
               "agentmesh.graphs"),
    "knowledge": ("agentmesh.agent", "agentmesh.apps", "agentmesh.tools", "agentmesh.memory"),
    "tools": ("agentmesh.agent", "agentmesh.apps"),
    "memory": ("agentmesh.agent", "agentmesh.apps"),
}


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):  # also the imports inside functions
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    wrong = [f"{path.relative_to(PACKAGE.parent)} imports {name}"
             for path in sorted((PACKAGE / layer).rglob("*.py")) for name in imports(path)
             if name.startswith(FORBIDDEN[layer])]
    assert wrong == []
