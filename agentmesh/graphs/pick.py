"""Answering by picking evidence (``answer_style = "pick"``): the model chooses this run's
evidence lines through an output tool whose argument is an enum of them, and the answer is
rendered from the chosen items alone, so a small model cannot put an invented value into it."""

from __future__ import annotations

import uuid
from typing import Any, Mapping, Sequence

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentmesh.answering.profile import _name_words
from agentmesh.claims import ANSWER_TOOL, answerable, picks_for, quotable, unworked
from agentmesh.graphs.evidence import TABLE_TOOLS, RowConditions, TurnEvidence
from agentmesh.graphs.middleware import Middleware, ModelHandler, ModelRequest, grouped_unread, narrowing

__all__ = ["pick_tool", "pick_call", "PickAnswer", "determined_calls"]


def pick_tool(quotes: Sequence[str], most: int = 3) -> BaseTool:
    """The output tool of ``answer_style = "pick"``: its one argument is a list of this run's
    evidence lines (a JSON-schema enum, so a constrained model cannot write any other)."""
    schema = {
        "type": "object",
        "properties": {"evidence": {"type": "array", "items": {"type": "string", "enum": list(quotes)}, "maxItems": most,
                                    "description": "the lines that answer the question; none if no line does"}},
        "required": ["evidence"],
    }

    def answer_from_evidence(evidence: list[str]) -> str:
        return "\n".join(evidence)  # never run: the answer step renders the picked lines itself

    return StructuredTool.from_function(
        answer_from_evidence, name=ANSWER_TOOL, args_schema=schema,
        description="Answer the question with the evidence lines that state the answer (an empty list if none does).",
    )


def pick_call(message: AnyMessage) -> dict[str, Any] | None:
    if isinstance(message, AIMessage):
        return next((c for c in message.tool_calls if c["name"] == ANSWER_TOOL), None)
    return None


class PickAnswer(Middleware):
    """The built-in step of pick mode, innermost before each model call: the model never
    writes the answer. When this run's evidence holds lines for the question, the output tool
    (:func:`pick_tool`) is offered with them: alone when the evidence already answers, or after
    a tool result, or on a retry; else beside the tools, one of which must be called. With
    nothing to pick and nothing left to try, no model is called: the answer is an empty pick
    (not found). ``skip``: the tools whose results are not evidence (``sql_schema``).

    Two choices are the framework's, not the model's, because the question alone makes them: a
    tool that narrows itself to the question and whose lists then fix every argument is called
    without asking the model (:func:`determined_calls`); and the rows of a tool in ``answers``
    (``metadata={"answers": True}``: what it returns for a call its guard let through is what the
    question asks, as ``sql_lookup``'s values of the named row) are picked without asking it.

    ``evidence``: the turn's evidence, shared with the graph's answer step (built from ``skip``
    and ``tables`` when not given), so the lines offered are the items the answer is made of.
    A question the turn's reading (``state["reading"]``) reads whole is answered by its tool
    alone; one it finds asks a value per group is answered by no other tool's determined call
    (none of them groups: one total answers another question; see
    :func:`agentmesh.graphs.middleware.grouped_unread`)."""

    def __init__(self, skip: frozenset[str] = frozenset(), answers: frozenset[str] = frozenset(),
                 tables: Mapping[str, RowConditions | None] | frozenset[str] = TABLE_TOOLS,
                 evidence: TurnEvidence | None = None) -> None:
        self.skip, self.answers, self.tables = skip, answers, tables
        self.evidence = evidence if evidence is not None else TurnEvidence(skip, tables)

    def wrap_model_call(self, request: ModelRequest, handler: ModelHandler) -> AIMessage:
        state = request.state
        question = str(state.get("question", ""))
        evidence = self.evidence(state)
        quotes = quotable(question, evidence, answering=self.answers)
        messages = state.get("messages", [])
        after_tools = bool(messages) and isinstance(messages[-1], ToolMessage)
        may_call = bool(request.tools) and not state.get("check_feedback") and not after_tools
        answered = bool(quotes) and answerable(question, evidence)
        # a worked-out value (a gap, a cost) is never in the graph's facts, whatever else they answer
        calls = determined_calls(request.tools) if may_call else []
        # a tool that read the whole question against the data (sql_answer: every word used, one
        # reading) is called though graph lines look like answers, when those lines are about
        # another thing than the one the reading names: they share words, it reads all
        readings = [t.metadata["read"](question) for t in request.tools
                    if t.name in {c["name"] for c in calls} and callable((t.metadata or {}).get("read"))]
        whole = bool(readings) and not any(_states(e, r) for r in readings for e in quotes.values())
        readers = {t.name for t in request.tools if callable((t.metadata or {}).get("read"))}
        # the question read whole: the reading's own tool answers it, not another narrowing's parse of
        # the same words besides (sql_rank's, sql_lookup's); one value per group asked: no other groups
        if any(r.complete for r in readings) or grouped_unread(state):
            calls = [c for c in calls if c["name"] in readers]
        if calls and (not answered or whole or unworked(question, [])):
            return AIMessage("", tool_calls=calls)  # the question fixes every argument: the model's choice adds nothing
        answering = [q for q, e in quotes.items() if e.kind == "row" and e.source.partition(":")[0] in self.answers]
        if answering and not state.get("check_feedback"):
            return _pick(answering)
        if quotes:
            tool = pick_tool(list(quotes), picks_for(question))
            if not may_call or answered:
                return handler(request.override(tools=[tool], tool_choice=ANSWER_TOOL))
            return handler(request.override(tools=[tool, *request.tools], tool_choice="any"))
        if may_call:
            return handler(request.override(tool_choice="any"))
        # nothing that answers the question, and nothing left to try: no model call
        return _pick([])



def _states(item: Any, reading: Any) -> bool:
    """A graph fact about the row the reading names, whose name says the column it asks for
    ("Claude 2.1 - context window (tokens)" for context_window of Claude 2.1): the graph answers
    what the data would."""
    if item.kind != "fact" or ":" not in item.text:
        return False
    named = {e.value.lower() for e in reading.entities}
    field = item.text.split(":", 1)[0].lower()
    asked = {w for a in reading.asked for w in _name_words(a.column) if len(w) > 2}
    return item.subject.lower() in named and any(w in field for w in asked)


def _pick(lines: list[str]) -> AIMessage:
    """A pick made without the model."""
    return AIMessage("", tool_calls=[{"name": ANSWER_TOOL, "args": {"evidence": lines}, "id": f"pick-{uuid.uuid4().hex[:12]}"}])


def determined_calls(tools: Sequence[BaseTool]) -> list[dict[str, Any]]:
    """A call to each tool that narrows itself to the question (``narrow`` metadata, as
    ``sql_lookup`` and ``sql_rank`` do) and whose every argument its lists now fix: a single
    choice, or every choice of a list argument ("the input and output price"). They run in
    parallel: "the gap between GPT-4 and the best open model" takes a lookup and a ranking."""
    calls = []
    for tool in tools:
        if narrowing(tool) is None:
            continue
        schema = convert_to_openai_tool(tool)["function"].get("parameters", {})  # a pydantic or a JSON-schema tool alike
        properties, required = schema.get("properties", {}), schema.get("required", [])
        if not required:
            continue
        args = {}
        for name in required:
            value = _fixed(properties.get(name, {}))
            if value is None:
                break
            args[name] = value
        else:
            calls.append({"name": tool.name, "args": args, "id": f"call-{uuid.uuid4().hex[:12]}", "type": "tool_call"})
    return calls


def _fixed(prop: dict[str, Any]) -> Any:
    """The one value a property's schema allows, or None."""
    if "const" in prop:
        return prop["const"]
    if len(prop.get("enum", [])) == 1:
        return prop["enum"][0]
    if prop.get("type") == "array":
        items = prop.get("items", {})
        if "const" in items:
            return [items["const"]]
        if items.get("enum"):
            return list(items["enum"])
    return None
