"""Evidence items as the tools' results become them: the name of the call an item came from, and
a row's cells ("name | mmlu: GPT-4 | 86.4" -> name: GPT-4, mmlu: 86.4).

>>> tool_source("sql", {"query": "SELECT 1"})
'sql: SELECT 1'
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from agentmesh.records import Evidence

__all__ = ["tool_source", "ROW_WHERE", "row_names"]


def tool_source(name: str, args: dict[str, Any] | None) -> str:
    """How an evidence item names the tool call it came from ("sql: SELECT ..."): the graph and
    the provenance trace both use it, so a claim's evidence can be found among the calls."""
    args = args or {}
    return f"{name}: {args.get('query') or args.get('code') or ''}".strip().rstrip(":")


ROW_WHERE = " (where {})"
"""After a row, what the query said of every row ("count(*): 3 (where license_id = MIT)"): a count
from a query on MIT's models is MIT's count, though no cell says MIT."""
_ROW_WHERE = re.compile(r" \(where [^()]*\)$")
_NAME_COLUMNS = ("name", "label", "title")


def _cells(e: Evidence) -> tuple[list[tuple[str, str]], str] | None:
    """A row item's (column, value) pairs and the thing it is about (its name, label or title
    column; "" if none): its cells as the evidence carries them, or, for a row made by hand,
    read from its text as run_evidence writes rows ("name | mmlu: GPT-4 | 86.4"); None for
    any other item."""
    if e.kind != "row":
        return None
    if e.columns:
        pairs = list(zip(e.columns, e.values))
    elif ": " in e.text:
        header, _, row = _ROW_WHERE.sub("", e.text).partition(": ")
        columns, values = [c.strip() for c in header.split("|")], [v.strip() for v in row.split("|")]
        if len(columns) != len(values):
            return None
        pairs = list(zip(columns, values))
    else:
        return None
    return pairs, next((v for c, v in pairs if c.lower() in _NAME_COLUMNS and v), "")


def row_names(items: Sequence[Evidence]) -> list[str]:
    """The names the picked rows give ("name | output_per_1m_usd: Llama 3.2 11B | 0.37" ->
    "Llama 3.2 11B"): the value of a column headed name, label or title."""
    names: list[str] = []
    for e in items:
        if (read := _cells(e)) is not None and read[1] and read[1] not in names:
            names.append(read[1])
    return names
