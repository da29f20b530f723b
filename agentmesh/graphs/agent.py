"""The agent graph: act <-> tools -> answer.

Built from parts passed in (a chat model, tools, a retriever, a tool selector), so a test
can assemble it from fakes alone and a user can swap any part::

    graph = build_agent_graph(FakeToolChatModel(responses=[...]), [my_tool])
    graph.invoke({"messages": [("user", "hi")]})

* act: a new question's first step starts the turn: the ``before_turn`` steps, your
  middleware's then the semantic cache's (a hit answers at once, skipping the model; first
  turn of a thread only, as a follow-up's meaning depends on the conversation:
  agentmesh.graphs.middleware.SemanticCacheStep), then the knowledge-graph nodes for the
  question (URIs, labels, facts) are retrieved. In the same step, because every LangGraph step
  costs a checkpoint write (and, with ``durability="sync"``, a wait for it), the model answers
  or proposes tool calls, through the ``wrap_model_call`` steps: the history budget and the
  tool selection (the few tools most similar to the question, so small models choose among
  few: ToolSelection), then yours, then the tools' own narrowing and, in pick mode, the output
  tool (agentmesh.graphs.pick.PickAnswer). A new question is one whose message the thread's
  ``run["turn"]`` does not name yet;
* tools: first the ``review_tool_calls`` steps, yours then the built-in approval
  (agentmesh.graphs.middleware.ApprovalStep), decide which of the proposed calls may run: calls
  to tools marked dangerous (``metadata={"approval": True}``, or a predicate over the call's
  arguments, e.g. "this SQL writes") interrupt the graph (``approval="ask"``): the run stops
  with the pending calls and resumes with ``Command(resume=decision)``, where the decision is
  ``"approve"``/``"reject"``/a bool for all of them, or a dict by call id. ``approval="auto"``
  runs them without asking, ``"deny"`` never runs them. Then the calls run, in parallel, each
  through the ``wrap_tool_call`` steps; a failing call becomes an observation;
* answer: the final text and the citations it used; URIs cited or written in the answer that
  ``is_node`` rejects are flagged in ``unverified``. The step limit and the error budget end
  the run here with a clear message, never with a GraphRecursionError. Then the ``wrap_answer``
  steps, outermost first: the claim check, your middleware, and innermost the citations; then
  the ``after_answer`` steps with the answer as shown: the cache stores it unless a tool with
  side effects or time-dependent results took part (``uncacheable_tools``), or a claim or a
  cited URI failed the check.

Each node is a class of :mod:`agentmesh.graphs.nodes` (``Act``, ``RunTools``, ``AnswerNode``)
over the parts this function makes once (``GraphParts``: the middleware chains, the tools, the
limits), so a node can be read, and run in a test, alone.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph

from agentmesh.claims import AnswerCheck
from agentmesh.graphs.evidence import TurnEvidence, not_evidence, run_evidence, table_tools
from agentmesh.graphs.history import Summarizer
from agentmesh.graphs.middleware import (ANSWER_POLICIES, APPROVAL_MODES, ApprovalStep, CacheLookup, CacheStore, ClaimCheckStep,
                                         HistoryBudget, Middleware, NarrowedTools, QuestionGuard, SemanticCacheStep,
                                         ToolSelection, ToolSelector, UnappliedWordsStep, approved_ids, chain_answer,
                                         chain_model_call, chain_tool_call, needs_approval, overriding)
from agentmesh.graphs.nodes import (BEFORE_TURN, NOT_RUN_OBSERVATION, Act, AnswerNode, CallModel, CallTool, Cite, GraphParts,
                                    NodeCheck, Retriever, RunTools, escape_data, mark_as_data, render_grounding)
from agentmesh.graphs.pick import PickAnswer, pick_tool
from agentmesh.graphs.state import AgentState
from agentmesh.records import RunContext

__all__ = ["build_agent_graph", "render_grounding", "recursion_limit_for", "needs_approval", "approved_ids",
           "NOT_RUN_OBSERVATION", "APPROVAL_MODES", "escape_data", "mark_as_data", "run_evidence", "not_evidence", "redactor",
           "ANSWER_STYLES", "pick_tool", "ToolSelector", "BEFORE_TURN"]

def recursion_limit_for(max_steps: int) -> int:
    """LangGraph super-steps needed for ``max_steps`` model calls (act + tools each), with room."""
    return 2 * max_steps + 8


ANSWER_STYLES = ("free", "pick")


BUILTIN_MODEL_MIDDLEWARE: list[Middleware] = [NarrowedTools()]
"""Steps every agent takes around model calls, as middleware: tools narrowed to the question."""
BUILTIN_TOOL_MIDDLEWARE: list[Middleware] = [QuestionGuard()]
"""Steps every agent takes around tool calls, as middleware: a tool's own guard (``sql_rank``'s)."""


REDACTED = "[redacted secret]"


def redactor(secrets: Sequence[str]) -> Callable[[str], str] | None:
    """A function that replaces each of ``secrets`` in a text by ``[redacted secret]`` (None if none)."""
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not values:
        return None
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return lambda text: pattern.sub(REDACTED, text)


def build_agent_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool] = (),
    *,
    retrieve: Retriever | None = None,
    remembered: Callable[[str, list[dict[str, Any]], RunContext | None], list[dict[str, Any]]] | None = None,
    select_tools: ToolSelector | None = None,
    is_node: NodeCheck | None = None,
    cache_lookup: CacheLookup | None = None,
    cache_store: CacheStore | None = None,
    uncacheable_tools: frozenset[str] = frozenset(),
    history_budget: int | None = None,
    summarize: Summarizer | None = None,
    max_steps: int = 6,
    max_tool_errors: int = 3,
    max_parallel_tools: int = 4,
    approval: str = "ask",
    checkpointer: Any = None,
    name: str = "agentmesh",
    redact: Callable[[str], str] | None = None,
    check_answer: AnswerCheck | None = None,
    answer_policy: str = "flag",
    searched: str = "the knowledge graph or the tools' results",
    middleware: Sequence[Middleware] = (),
    answer_style: str = "free",
):
    """Compile the agent graph. See the module docstring for the nodes.

    ``remembered(question, grounding, run)`` adds the remembered facts of the run's user to the
    grounding (agentmesh.memory.facts); the graph ``retrieve`` reads holds no one's facts.

    ``redact`` scrubs each tool result before it enters the state (so checkpoints, traces and
    the model never hold a configured secret a tool happened to read).

    ``check_answer`` splits the final answer into claims checked against this run's evidence
    (agentmesh.claims). ``answer_policy``: ``flag`` records them (unsupported ones are shown as
    such); ``strict`` never shows an unsupported claim as fact: the model is told once which
    claims failed, then the answer is replaced by the evidence itself or a plain "not found";
    ``off`` skips the check.

    ``answer_style``: ``free``, the model writes the answer; ``pick``, the model answers by
    choosing this run's evidence lines through an output tool (``answer_from_evidence``, whose
    argument is an enum of the lines) and the answer is rendered from the chosen items alone,
    so a small model cannot put an invented value into it. In pick mode the model must call a
    tool or pick; after tool results (and on a strict retry) it may only pick.

    ``middleware``: hooks before a turn, around each model call, over each reply's tool calls
    (``review_tool_calls``), around each tool call and the answer (agentmesh.graphs.middleware),
    the first outermost; they add no graph node. The claim check
    is the built-in answer hook :class:`~agentmesh.graphs.middleware.ClaimCheckStep`, outside yours."""
    if answer_policy not in ANSWER_POLICIES:
        raise ValueError(f"answer_policy must be one of {', '.join(ANSWER_POLICIES)}, not {answer_policy!r}")
    if answer_style not in ANSWER_STYLES:
        raise ValueError(f"answer_style must be one of {', '.join(ANSWER_STYLES)}, not {answer_style!r}")
    skip = not_evidence(tools)  # sql_schema: where to look, not what is so
    tables = table_tools(tools)  # results read a row at a time
    turn_evidence = TurnEvidence(skip, tables)  # built once a turn, for pick mode's offers and the answer step
    readers = [t for t in tools if callable((t.metadata or {}).get("read"))]  # sql_answer: the question against the data

    # the history budget and the tool selection first, so that your hooks see the history and
    # the tools as the model will
    budgeted = [HistoryBudget(history_budget, summarize)] if history_budget is not None else []
    selection = [ToolSelection(select_tools, tools)] if select_tools is not None and tools else []
    answers = frozenset(t.name for t in tools if (t.metadata or {}).get("answers") is True)
    picking = [PickAnswer(skip, answers, tables, turn_evidence)] if answer_style == "pick" else []
    model_call = chain_model_call([*budgeted, *selection, *middleware, *BUILTIN_MODEL_MIDDLEWARE, *picking], CallModel(model))

    # built-in steps run inside yours: they see the call as your middleware left it
    tool_call = chain_tool_call([*middleware, *BUILTIN_TOOL_MIDDLEWARE], CallTool(tools))
    # a person is asked last, about the calls your reviews let through; none of them can approve for the person
    reviewers = [*middleware, ApprovalStep(approval)]

    # the claim check outside your hooks: an answer they rewrite is checked like the model's
    checking = [ClaimCheckStep(check_answer, answer_policy, searched)] if check_answer is not None and answer_policy != "off" else []
    caching = [SemanticCacheStep(cache_lookup, cache_store, uncacheable_tools)] if cache_lookup or cache_store else []
    unapplied = [UnappliedWordsStep(readers[0], searched, answering=answers)] if readers else []
    answer_call = chain_answer([*unapplied, *checking, *middleware], Cite(is_node))
    turn_hooks = [*middleware, *caching]  # your hooks may answer (or refuse) a question before the cache is asked
    after_hooks = overriding([*caching, *middleware], "after_answer")  # the cache stores what the check let through

    parts = GraphParts(
        model_call=model_call, tool_call=tool_call, answer_call=answer_call, tools=tuple(tools), reviewers=tuple(reviewers),
        turn_hooks=tuple(turn_hooks), after_hooks=tuple(after_hooks),
        answer_hooks=bool(checking or after_hooks or overriding(middleware, "wrap_answer")), evidence=turn_evidence,
        retrieve=retrieve, remembered=remembered, is_node=is_node, redact=redact,
        read=readers[0].metadata["read"] if readers else None, answers=answers,
        readers=frozenset(t.name for t in readers), selected=bool(selection), max_steps=max_steps,
        max_tool_errors=max_tool_errors, max_parallel_tools=max_parallel_tools, answer_style=answer_style, searched=searched,
    )
    builder = StateGraph(AgentState, context_schema=RunContext)
    builder.add_node("act", Act(parts), destinations=("tools", "answer", END))
    run_tools = RunTools(parts)
    builder.add_node("tools", run_tools)
    builder.add_node("answer", AnswerNode(parts), destinations=("act", END))
    builder.add_edge(START, "act")
    builder.add_conditional_edges("tools", run_tools.after_tools, ["act", "answer"])
    return builder.compile(checkpointer=checkpointer, name=name)
