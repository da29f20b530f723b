"""Middleware: your own step around each model call and each tool call, without forking the graph.

In the spirit of LangChain's ``create_agent`` middleware: a hook receives the request and the
``handler`` that carries it out (the next hook, or the graph's own call), and returns the result.
It may change the request, call ``handler`` more than once, or answer without calling it.
Middleware adds no graph node, so a run costs no extra checkpoint writes.

>>> class Audit(Middleware):
...     def wrap_tool_call(self, request, handler):
...         result = handler(request)
...         log.append((request.call["name"], result.status))
...         return result
>>> agent = Agent(settings, middleware=[Audit()])                          # doctest: +SKIP

The first middleware in the list is the outermost. The history budget (:class:`HistoryBudget`)
runs outside your hooks, so they see the history as the model will; the tools' own narrowing
and guards (:class:`NarrowedTools`, :class:`QuestionGuard`) run inside them. A tool call's hooks
run after approval. Whatever a hook returns, secrets are scrubbed from tool results, and every
tool result reaches the model marked as data, those a hook adds included.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.tools import BaseTool

from agentmesh.graphs.history import Summarizer, fit_history
from agentmesh.records import RunContext

__all__ = ["Middleware", "ModelRequest", "ToolRequest", "chain_model_call", "chain_tool_call", "QuestionGuard", "NarrowedTools",
           "HistoryBudget", "narrowing"]


@dataclass(frozen=True)
class ModelRequest:
    """One model call: what is sent, which tools are offered, and the run it belongs to."""

    messages: list[BaseMessage]
    tools: list[BaseTool]
    state: dict[str, Any] = field(repr=False)
    """The thread's state at this step (read it; changes go through the returned message)."""
    run: RunContext | None = None
    tool_choice: Any = None
    """As ``bind_tools`` takes it: None (the model decides), "any" (some tool must be called) or a tool's name."""
    updates: dict[str, Any] = field(default_factory=dict, repr=False)
    """Changes to the thread's state a hook asks for (``request.updates["summary"] = ...``); the
    graph writes them with the model's reply. Copies made by ``override`` share it."""

    def override(self, **changes: Any) -> "ModelRequest":
        """A copy with ``messages``, ``tools`` or ``tool_choice`` replaced."""
        return replace(self, **changes)


@dataclass(frozen=True)
class ToolRequest:
    """One tool call the model made, and the tool that will run it (None: no such tool)."""

    call: dict[str, Any]
    tool: BaseTool | None
    state: dict[str, Any] = field(repr=False)
    run: RunContext | None = None

    def override(self, **changes: Any) -> "ToolRequest":
        return replace(self, **changes)


ModelHandler = Callable[[ModelRequest], AIMessage]
ToolHandler = Callable[[ToolRequest], ToolMessage]


class Middleware:
    """Subclass and override either hook; the defaults pass the request on unchanged."""

    def wrap_model_call(self, request: ModelRequest, handler: ModelHandler) -> AIMessage:
        return handler(request)

    def wrap_tool_call(self, request: ToolRequest, handler: ToolHandler) -> ToolMessage:
        return handler(request)


def chain_model_call(middleware: Sequence[Middleware], call: ModelHandler) -> ModelHandler:
    """``call`` wrapped by each middleware's ``wrap_model_call``, the first one outermost."""
    for hook in reversed([m for m in middleware if type(m).wrap_model_call is not Middleware.wrap_model_call]):
        call = _bind(hook.wrap_model_call, call)
    return call


def chain_tool_call(middleware: Sequence[Middleware], call: ToolHandler) -> ToolHandler:
    """``call`` wrapped by each middleware's ``wrap_tool_call``, the first one outermost."""
    for hook in reversed([m for m in middleware if type(m).wrap_tool_call is not Middleware.wrap_tool_call]):
        call = _bind(hook.wrap_tool_call, call)
    return call


def _bind(hook: Callable[[Any, Any], Any], inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda request: hook(request, inner)


class QuestionGuard(Middleware):
    """A built-in step before each tool call: a tool whose metadata holds ``guard``, a function
    ``(question, args) -> reason`` ("" when the call fits), is not run when its arguments do not
    fit the question; the model sees the reason as a tool error. ``sql_rank`` has one: its rows
    are true, so "the highest" for a question asking the lowest would pass every claim check."""

    def wrap_tool_call(self, request: ToolRequest, handler: ToolHandler) -> ToolMessage:
        guard = ((request.tool.metadata or {}) if request.tool is not None else {}).get("guard")
        if callable(guard):
            why = guard(str(request.state.get("question", "")), request.call.get("args") or {})
            if why:
                return ToolMessage(f"Not run: {why}.", tool_call_id=request.call["id"], name=request.call["name"],
                                   status="error")
        return handler(request)


def narrowing(tool: BaseTool) -> Callable[[str], BaseTool | None] | None:
    """The tool's ``narrow(question)`` (see :class:`NarrowedTools`), if it has one."""
    narrow = (tool.metadata or {}).get("narrow")
    return narrow if callable(narrow) else None


class NarrowedTools(Middleware):
    """A built-in step before each model call: a tool whose metadata holds ``narrow``, a function
    ``question -> tool or None``, is offered as the tool it returns for this question (its
    choices cut to those that fit), or not at all when it returns None."""

    def wrap_model_call(self, request: ModelRequest, handler: ModelHandler) -> AIMessage:
        question = str(request.state.get("question", ""))
        tools, changed = [], False
        for tool in request.tools:
            narrow = narrowing(tool)
            if narrow is not None and question:
                tool, changed = narrow(question), True
            if tool is not None:
                tools.append(tool)
        if not changed:
            return handler(request)
        names = {t.name for t in tools}
        choice = request.tool_choice
        if isinstance(choice, str) and choice not in ("any", "required", "auto", "none") and choice not in names:
            choice = None  # the named tool fits nothing in this question
        if not tools and choice in ("any", "required"):
            choice = None
        return handler(request.override(tools=tools, tool_choice=choice))


class HistoryBudget(Middleware):
    """A built-in step before each model call: the conversation fits ``budget`` tokens (the
    system prompt included). The oldest turns are folded into a running summary by
    ``summarize(old summary, messages)``, or left out and counted without one; the latest turn is
    always kept (agentmesh.graphs.history.fit_history). The summary and the number of turns it
    covers are kept in the thread's state, so each turn is summarised once.

    The strict answer check's note to the model (the last message while ``check_feedback`` is
    set) is not part of the history: it is never folded away."""

    def __init__(self, budget: int, summarize: Summarizer | None = None) -> None:
        self.budget, self.summarize = budget, summarize

    def wrap_model_call(self, request: ModelRequest, handler: ModelHandler) -> AIMessage:
        messages = list(request.messages)
        system = messages[:1] if messages and isinstance(messages[0], SystemMessage) else []
        note = messages[-1:] if request.state.get("check_feedback") and len(messages) > len(system) else []
        history = messages[len(system):len(messages) - len(note)]
        budget = max(self.budget - count_tokens_approximately(system), 0)
        fitted, summary, turns = fit_history(history, budget, summary=request.state.get("summary", ""),
                                             summarized_turns=request.state.get("summarized_turns", 0),
                                             summarize=self.summarize)
        request.updates.update(summary=summary, summarized_turns=turns)
        return handler(request.override(messages=[*system, *fitted, *note]))
