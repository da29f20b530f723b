"""This run's evidence: what an answer may quote and rest its claims on.

The grounding nodes' facts and descriptions, each row or passage of this turn's tool results,
and the question, as :class:`~agentmesh.records.Evidence` items; and the citations a tool call
gave with its result, by the call."""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool

from agentmesh.claims import ROW_WHERE, tool_source
from agentmesh.records import Citation, Evidence, RetrievedNode

__all__ = ["run_evidence", "not_evidence", "table_tools", "TABLE_TOOLS", "RowConditions", "this_turn", "call_citations"]


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
    results (but those of the tools in ``skip``), and the question."""
    items: list[Evidence] = []
    for node in state.get("grounding", []):
        uri, label = node["uri"], node.get("label", "")
        items.append(Evidence(id=f"n{len(items)}", kind="fact", text=label, subject=label, source=uri))
        if node.get("description"):
            items.append(Evidence(id=f"n{len(items)}", kind="description", text=node["description"], subject=label, source=uri))
        for fact in node.get("facts", []):
            items.append(Evidence(id=f"n{len(items)}", kind="fact", text=fact, subject=label, source=uri))
    messages, calls = this_turn(state.get("messages", []))
    for message in messages:
        if (not isinstance(message, ToolMessage) or message.status == "error" or not isinstance(message.content, str)
                or message.name in skip):
            continue
        args = calls.get(message.tool_call_id, {}).get("args")
        source = tool_source(message.name, args)
        if message.name in tables:  # each row with its header: the columns say the units
            lines = message.content.splitlines()
            conditions = tables.get(message.name) if isinstance(tables, Mapping) else None
            said = conditions(args or {}) if conditions else []
            where = ROW_WHERE.format(", ".join(said)) if said else ""
            kind, parts = "row", [f"{lines[0]}: {row}{where}" for row in lines[1:] if not row.startswith("(")]
        elif message.name == "kg_search":  # nodes as the grounding has them: each fact an item of its node
            for line in message.content.splitlines():
                node = RetrievedNode.parse(line)
                if node is None:
                    items.append(Evidence(id=f"t{len(items)}", kind="passage", text=line.strip(), source=source))
                    continue
                uri, label, description, facts = node.uri, node.label, node.description, node.facts
                if description:
                    items.append(Evidence(id=f"t{len(items)}", kind="description", text=description, subject=label, source=uri))
                items += [Evidence(id=f"t{len(items)}", kind="fact", text=f, subject=label, source=uri) for f in facts]
            continue
        elif message.name in ("search", "web_search"):
            kind, parts = "passage", re.split(r"\n\s*\n|\n(?=<http)", message.content)
        else:
            kind, parts = "output", [message.content]
        items += [Evidence(id=f"t{len(items)}", kind=kind, text=p.strip(), source=source) for p in parts if p.strip()]
    if state.get("question"):
        items.append(Evidence(id="q", kind="question", text=state["question"]))
    return items


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
