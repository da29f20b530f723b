"""This run's evidence: what an answer may quote and rest its claims on.

The grounding nodes' facts and descriptions, each row or passage of this turn's tool results,
and the question, as :class:`~agentmesh.records.Evidence` items; and the citations a tool call
gave with its result, by the call."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import Any, Callable, Mapping, Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool

from agentmesh.claims import ROW_WHERE, tool_source
from agentmesh.records import Citation, Evidence, RetrievedNode

__all__ = ["run_evidence", "TurnEvidence", "grounding_evidence", "tool_evidence", "not_evidence", "table_tools", "TABLE_TOOLS", "RowConditions", "this_turn", "call_citations"]


def this_turn(messages: Sequence[AnyMessage]) -> tuple[Sequence[AnyMessage], dict[str, dict[str, Any]]]:
    """The messages since the last question, and the tool calls among them by id."""
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
    turn = messages[start:]
    return turn, {c["id"]: c for m in turn if isinstance(m, AIMessage) for c in m.tool_calls}


def not_evidence(tools: Sequence[BaseTool]) -> frozenset[str]:
    """The tools whose results describe where to look, not the world (``metadata={"evidence":
    False}``: ``sql_schema``'s tables and columns): no answer quotes them, no claim rests on them."""
    return frozenset(t.name for t in tools if (t.metadata or {}).get("evidence") is False)


TABLE_TOOLS = frozenset({"sql", "sql_rank", "sql_lookup", "sparql"})
"""The built-in tools whose results are tables: a header line, then a row a line."""


RowConditions = Callable[[dict[str, Any]], list[str]]
"""A table tool's ``row_conditions``: from a call's arguments, what every row of its result meets."""


def table_tools(tools: Sequence[BaseTool]) -> dict[str, RowConditions | None]:
    """The tools whose results are tables (``metadata={"evidence": "rows"}``, and the built-in
    :data:`TABLE_TOOLS`): each row is an evidence item of its own, with the header, so a claim
    pairing a name with a value needs one row holding both, not one table. Each with its
    ``row_conditions`` (metadata): from a call's arguments, what every row of its result meets
    (``sql``: the WHERE's ``column = 'value'`` tests), said with each row."""
    found: dict[str, RowConditions | None] = dict.fromkeys(TABLE_TOOLS)
    for tool in tools:
        metadata = tool.metadata or {}
        if tool.name in TABLE_TOOLS or metadata.get("evidence") == "rows":
            found[tool.name] = metadata.get("row_conditions")
    return found


def run_evidence(state: dict[str, Any], skip: frozenset[str] = frozenset(),
                 tables: Mapping[str, RowConditions | None] | frozenset[str] = TABLE_TOOLS) -> list[Evidence]:
    """This run's evidence items: each fact and description of the grounding nodes, each row (of
    the ``tables`` tools, with what the call says of every row) or passage of this turn's tool
    results (but those of the tools in ``skip``), and the question. Built anew at each call:
    the graph's steps share one :class:`TurnEvidence` instead."""
    items = grounding_evidence(state.get("grounding", []))
    messages, calls = this_turn(state.get("messages", []))
    for message in messages:
        if isinstance(message, ToolMessage):
            items += tool_evidence(message, calls, len(items), skip, tables)
    return [*items, *_question(state)]


def grounding_evidence(grounding: Sequence[dict[str, Any]]) -> list[Evidence]:
    """The grounding nodes' items: each node's label, description and facts (ids ``n0``, ``n1``...)."""
    items: list[Evidence] = []
    for node in grounding:
        uri, label = node["uri"], node.get("label", "")
        items.append(Evidence(id=f"n{len(items)}", kind="fact", text=label, subject=label, source=uri))
        if node.get("description"):
            items.append(Evidence(id=f"n{len(items)}", kind="description", text=node["description"], subject=label, source=uri))
        for fact in node.get("facts", []):
            items.append(Evidence(id=f"n{len(items)}", kind="fact", text=fact, subject=label, source=uri))
    return items


def tool_evidence(message: ToolMessage, calls: Mapping[str, dict[str, Any]], start: int = 0, skip: frozenset[str] = frozenset(),
                  tables: Mapping[str, RowConditions | None] | frozenset[str] = TABLE_TOOLS) -> list[Evidence]:
    """One tool result's items, numbered from ``start`` (``t<n>``): none for a failed call, a
    result that is no text, or a tool in ``skip``. A table's rows each with its header, its
    cells as data (``columns``, ``values``) and what the call says of every row; ``kg_search``'s
    nodes as the grounding has them; a search's passages; any other result whole."""
    if message.status == "error" or not isinstance(message.content, str) or message.name in skip:
        return []
    items: list[Evidence] = []

    def add(**fields: Any) -> None:
        items.append(Evidence(id=f"t{start + len(items)}", **fields))

    args = calls.get(message.tool_call_id, {}).get("args")
    source = tool_source(message.name, args)
    if message.name in tables:  # each row with its header: the columns say the units
        lines = message.content.splitlines()
        conditions = tables.get(message.name) if isinstance(tables, Mapping) else None
        said = conditions(args or {}) if conditions else []
        where = ROW_WHERE.format(", ".join(said)) if said else ""
        columns = [c.strip() for c in lines[0].split("|")] if lines else []
        for row in lines[1:]:
            if row.startswith("("):  # "(no rows)", "(only the first 50 rows are shown)"
                continue
            values = [v.strip() for v in row.split("|")]
            add(kind="row", text=f"{lines[0]}: {row}{where}".strip(), source=source,
                **({"columns": columns, "values": values, "conditions": said} if len(values) == len(columns) else {}))
    elif message.name == "kg_search":  # nodes as the grounding has them: each fact an item of its node
        for line in message.content.splitlines():
            node = RetrievedNode.parse(line)
            if node is None:
                add(kind="passage", text=line.strip(), source=source)
                continue
            if node.description:
                add(kind="description", text=node.description, subject=node.label, source=node.uri)
            for fact in node.facts:
                add(kind="fact", text=fact, subject=node.label, source=node.uri)
    else:
        if message.name in ("search", "web_search"):
            kind, parts = "passage", re.split(r"\n\s*\n|\n(?=<http)", message.content)
        else:
            kind, parts = "output", [message.content]
        for part in parts:
            if part.strip():
                add(kind=kind, text=part.strip(), source=source)
    return items


def _question(state: dict[str, Any]) -> list[Evidence]:
    return [Evidence(id="q", kind="question", text=state["question"])] if state.get("question") else []


class TurnEvidence:
    """This turn's evidence (:func:`run_evidence`), built once and grown as tool results arrive:
    each step of the turn that needs it (pick mode's offer before each model call, the answer,
    the claim check, the citations) gets the same items, and no tool result is read twice.

    Remembered for the last :attr:`turns` turns, by the turn's question message, its question and
    grounding, and the tool results already read (their ids and texts): a thread changed in
    between (a result replaced, a turn forked) is built anew. A state whose messages have no ids
    (one made by hand, not by the graph) is always built anew."""

    turns = 256
    """How many turns are remembered (0: every call builds anew, as :func:`run_evidence`)."""

    def __init__(self, skip: frozenset[str] = frozenset(),
                 tables: Mapping[str, RowConditions | None] | frozenset[str] = TABLE_TOOLS) -> None:
        self.skip, self.tables = skip, tables
        self._built: OrderedDict[tuple[Any, ...], tuple[tuple[tuple[str, int], ...], list[Evidence]]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, state: dict[str, Any]) -> list[Evidence]:
        messages, calls = this_turn(state.get("messages", []))
        results = [m for m in messages if isinstance(m, ToolMessage)]
        human = messages[0] if messages and isinstance(messages[0], HumanMessage) else None
        if self.turns <= 0 or human is None or not human.id or any(not m.id for m in results):
            return run_evidence(state, self.skip, self.tables)
        grounding = state.get("grounding", [])
        key = (human.id, state.get("question", ""), _fingerprint(grounding))
        read = tuple((str(m.id), hash(m.content if isinstance(m.content, str) else repr(m.content))) for m in results)
        with self._lock:
            known = self._built.get(key)
        if known is not None and read[:len(known[0])] == known[0]:
            done, items = len(known[0]), list(known[1])
        else:
            done, items = 0, grounding_evidence(grounding)
        for message in results[done:]:
            items += tool_evidence(message, calls, len(items), self.skip, self.tables)
        with self._lock:
            self._built[key] = (read, items)
            self._built.move_to_end(key)
            while len(self._built) > self.turns:
                self._built.popitem(last=False)
        return [*items, *_question(state)]


def _fingerprint(grounding: Sequence[dict[str, Any]]) -> int:
    """The grounding's identity, by content (a turn's grounding is set once, at its start)."""
    return hash(json.dumps(grounding, sort_keys=True, default=str))


def call_citations(state: dict[str, Any]) -> dict[str, list[Citation]]:
    """This turn's tool calls' own citations (their results' artifacts: the SQL that ran, the
    code), by the evidence source of the call (``tool_source``)."""
    messages, calls = this_turn(state.get("messages", []))
    found: dict[str, list[Citation]] = {}
    for message in messages:
        if isinstance(message, ToolMessage) and isinstance(message.artifact, list):
            cited = [Citation(**c) for c in message.artifact if isinstance(c, dict) and c.get("kind") in ("sql", "sparql", "code")]
            if cited:
                found.setdefault(tool_source(message.name, calls.get(message.tool_call_id, {}).get("args")), []).extend(cited)
    return found
