"""Answering by picking evidence (``answer_style = "pick"``): the model chooses this run's
evidence lines through an output tool whose argument is an enum of them, and the answer is
rendered from the chosen items alone, so a small model cannot put an invented value into it."""

from __future__ import annotations

import uuid
from typing import Any, Sequence

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from agentmesh.claims import ANSWER_TOOL, answerable, picks_for, quotable
from agentmesh.graphs.evidence import run_evidence
from agentmesh.graphs.middleware import Middleware, ModelHandler, ModelRequest

__all__ = ["pick_tool", "pick_call", "PickAnswer"]


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
    (not found). ``skip``: the tools whose results are not evidence (``sql_schema``)."""

    def __init__(self, skip: frozenset[str] = frozenset()) -> None:
        self.skip = skip

    def wrap_model_call(self, request: ModelRequest, handler: ModelHandler) -> AIMessage:
        state = request.state
        question = str(state.get("question", ""))
        evidence = run_evidence(state, self.skip)
        quotes = quotable(question, evidence)
        messages = state.get("messages", [])
        may_call = bool(request.tools) and not state.get("check_feedback") and not (messages and isinstance(messages[-1], ToolMessage))
        if quotes:
            tool = pick_tool(list(quotes), picks_for(question))
            if not may_call or answerable(question, evidence):
                return handler(request.override(tools=[tool], tool_choice=ANSWER_TOOL))
            return handler(request.override(tools=[tool, *request.tools], tool_choice="any"))
        if may_call:
            return handler(request.override(tool_choice="any"))
        # nothing that answers the question, and nothing left to try: no model call
        return AIMessage("", tool_calls=[{"name": ANSWER_TOOL, "args": {"evidence": []}, "id": f"pick-{uuid.uuid4().hex[:12]}"}])
