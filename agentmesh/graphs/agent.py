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
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage
from langchain_core.runnables.config import ContextThreadPoolExecutor
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agentmesh.claims import (ANSWER_TOOL, NOT_FOUND, PARTIAL_HEADER, AnswerCheck, complete, cut_repetition, facts_of, picked,
                              picked_answer, picks_for, quotable, row_names, uncovered, unworked, unworked_answer, worked_out)
from agentmesh.graphs.evidence import TurnEvidence, call_citations, not_evidence, run_evidence, table_tools
from agentmesh.graphs.history import Summarizer, repair_tool_pairs, retrieval_query
from agentmesh.graphs.middleware import (ANSWER_POLICIES, UnappliedWordsStep, APPROVAL_MODES, Answer, AnswerRequest, ApprovalStep, CacheLookup,
                                         CacheStore, ClaimCheckStep, HistoryBudget, Middleware, ModelRequest, NarrowedTools,
                                         QuestionGuard, SemanticCacheStep, ToolCallsRequest, ToolRequest, ToolSelection,
                                         ToolSelector, TurnRequest, approved_ids, chain_answer, chain_model_call,
                                         chain_tool_call, declined_calls, evidence_citations, first_answer, merge_citations,
                                         needs_approval, overriding)
from agentmesh.graphs.pick import PickAnswer, pick_call, pick_tool
from agentmesh.graphs.state import AgentState, Citation
from agentmesh.records import RetrievedNode, RunContext
from agentmesh.prompts import (
    DATA_BLOCK,
    DECLINED_OBSERVATION,
    ERROR_BUDGET_MESSAGE,
    GROUNDING_BLOCK,
    NO_GROUNDING,
    STEP_LIMIT_MESSAGE,
    SYSTEM_PROMPT,
    TOOL_ERROR_OBSERVATION,
    UNKNOWN_TOOL_OBSERVATION,
)

__all__ = ["build_agent_graph", "render_grounding", "recursion_limit_for", "needs_approval", "approved_ids",
           "NOT_RUN_OBSERVATION", "APPROVAL_MODES", "escape_data", "mark_as_data", "run_evidence", "not_evidence", "redactor",
           "ANSWER_STYLES", "pick_tool", "ToolSelector", "BEFORE_TURN"]

Retriever = Callable[[str], list[dict[str, Any]]]
NodeCheck = Callable[[str], bool]
_URI_IN_TEXT = re.compile(r"<?(https?://[^\s<>\"')\]]+)>?")
NOT_RUN_OBSERVATION = "Not run: the step limit was reached."
BEFORE_TURN = "agentmesh_before_turn"
"""``response_metadata`` key of an answer given before the turn (a cache hit, a hook's reply)."""
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def recursion_limit_for(max_steps: int) -> int:
    """LangGraph super-steps needed for ``max_steps`` model calls (act + tools each), with room."""
    return 2 * max_steps + 8


_DATA_TAG = re.compile(r"<(/?)(data\b)", re.IGNORECASE)


def escape_data(text: str) -> str:
    """Retrieved text cannot close (or open) its own <data> block: its tags are defused."""
    return _DATA_TAG.sub(lambda m: f"&lt;{m.group(1)}{m.group(2)}", text)


def _tool_error(call: dict[str, Any], exc: Exception) -> ToolMessage:
    text = TOOL_ERROR_OBSERVATION.format(name=call["name"], error=str(exc).strip() or type(exc).__name__)
    return ToolMessage(text, tool_call_id=call["id"], name=call["name"], status="error")


def _private(state: dict[str, Any]) -> bool:
    return bool((state.get("run") or {}).get("private"))


def mark_as_data(message: AnyMessage) -> AnyMessage:
    """A tool result as the model sees it: inside <data> ... </data> (the stored message is unchanged)."""
    if not isinstance(message, ToolMessage) or not isinstance(message.content, str):
        return message
    return message.model_copy(update={"content": DATA_BLOCK.format(content=escape_data(message.content))})


ANSWER_STYLES = ("free", "pick")


BUILTIN_MODEL_MIDDLEWARE: list[Middleware] = [NarrowedTools()]
"""Steps every agent takes around model calls, as middleware: tools narrowed to the question."""
BUILTIN_TOOL_MIDDLEWARE: list[Middleware] = [QuestionGuard()]
"""Steps every agent takes around tool calls, as middleware: a tool's own guard (``sql_rank``'s)."""


def render_grounding(nodes: Sequence[dict[str, Any]]) -> str:
    """The grounding block of the system prompt: each node one line, as a tool's result shows it
    (``RetrievedNode.render``), its tags defused."""
    if not nodes:
        return NO_GROUNDING
    return GROUNDING_BLOCK.format(facts="\n".join(escape_data(RetrievedNode.from_dict(n).render()) for n in nodes))


_RESET: dict[str, Any] = {"citations": [], "evidence": [], "unverified": [], "steps": 0, "claims": [], "check_retries": 0,
                          "check_feedback": "", "tool_errors": 0, "last_error": "", "answer": "", "stop_reason": "answered",
                          "cached": None, "grounding": [], "tools": None, "reading": None}
"""What each new question sets these channels to."""


def _changed(state: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` without the channels it would leave as they are (each channel written costs at
    every checkpoint); one not yet in the state is written, so the state always has them all."""
    return {k: v for k, v in update.items() if k == "messages" or k not in state or state[k] != v}


def _last_human(messages: Sequence[AnyMessage]) -> HumanMessage | None:
    return next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)


def _mentions(answer: str, label: str) -> bool:
    """True when the answer names the node: the whole label, or most of its words."""
    answer_l, label_l = answer.lower(), label.lower().strip()
    if not label_l:
        return False
    # whole label, not inside a longer name ("Claude 2" is not named by "Claude 2.1")
    if re.search(rf"(?<![\w.]){re.escape(label_l)}(?![\w]|\.\w)", answer_l):
        return True
    words = _TOKEN.findall(label_l)
    if len(words) < 2:
        return False
    present = set(_TOKEN.findall(answer_l))
    return sum(w in present for w in words) / len(words) >= 0.66


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
    tools_by_name = {tool.name: tool for tool in tools}
    skip = not_evidence(tools)  # sql_schema: where to look, not what is so
    tables = table_tools(tools)  # results read a row at a time
    turn_evidence = TurnEvidence(skip, tables)  # built once a turn, for pick mode's offers and the answer step
    readers = [t for t in tools if callable((t.metadata or {}).get("read"))]  # sql_answer: the question against the data

    def start_turn(state: AgentState, run: RunContext | None, human: HumanMessage) -> tuple[dict[str, Any], bool]:
        """A new question: the before-turn steps (your hooks, then the cache), then retrieval.
        Returns the state's update and whether the turn is already answered (a cache hit, or a
        hook's own reply: no retrieval, no model call)."""
        messages = state.get("messages", [])
        question = human.text
        # a thread once private stays private: its earlier turns are in every later prompt
        private = _private(state) or bool(run and run.private)
        marker = {**({"id": run.run_id} if run else {}), "private": private, "turn": human.id}
        reset = {**_RESET, "question": question, "run": marker}
        first_turn = sum(isinstance(m, HumanMessage) for m in messages) == 1  # follow-ups depend on history
        early = first_answer(turn_hooks, TurnRequest(question, state, run, private, first_turn)) if question else None
        if early is not None:
            hit = early.metadata.get("cached")
            meta = {"cached": True, "similarity": hit.get("similarity")} if hit else {"stop_reason": early.stop_reason}
            meta[BEFORE_TURN] = True  # no model wrote it: not streamed as tokens
            return {**reset, "answer": early.text, "citations": [c.model_dump() for c in early.citations],
                    "stop_reason": early.stop_reason, "cached": hit, "claims": [c.model_dump() for c in early.claims],
                    "messages": [AIMessage(early.text, response_metadata=meta)]}, True
        query = retrieval_query(messages, question)
        grounding = retrieve(query) if retrieve is not None and query else []
        if remembered is not None and query:  # the asking user's own remembered facts, nobody else's
            grounding = remembered(query, grounding, run)
        reading = readers[0].metadata["read"](question) if readers and question else None
        # with a selector, the tools to offer are chosen at the turn's first model call (ToolSelection)
        return {**reset, "grounding": grounding, "tools": None if selection else list(tools_by_name),
                "reading": reading.to_dict() if reading is not None else None}, False

    def act(state: AgentState, runtime: Runtime[RunContext]) -> Command:
        """The model's step; a new question's first one starts the turn (``start_turn``) in the
        same step, because each LangGraph step costs a checkpoint write."""
        run = runtime.context if isinstance(runtime.context, RunContext) else None
        before, turn = state, {}
        human = _last_human(state.get("messages", []))
        if human is not None and (state.get("run") or {}).get("turn") != human.id:
            turn, answered = start_turn(state, run, human)
            if answered:
                return Command(goto=END, update=turn)
            state = {**state, **turn}
        system = SystemMessage(SYSTEM_PROMPT.format(grounding=render_grounding(state.get("grounding", []))))
        history = repair_tool_pairs(state["messages"])
        feedback = state.get("check_feedback", "")
        retry = [HumanMessage(feedback)] if feedback else []  # the answer step's note (the claims that failed)
        # all the agent's tools: the middleware cut them to the turn's choice (ToolSelection), to
        # what fits the question (NarrowedTools), and in pick mode to the output tool (PickAnswer)
        request = ModelRequest([system, *history, *retry], list(tools), state, run)
        response = model_call(request)
        steps = state.get("steps", 0) + 1
        update = {**turn, **request.updates, "messages": [response], "steps": steps, "check_feedback": ""}
        return Command(goto=_after_act(response, steps), update=_changed(before, update))

    def call_model(request: ModelRequest) -> AIMessage:
        """The model call itself, innermost of the middleware. Tool results are marked as data
        here, so none reaches the model unmarked, whatever a hook put in the request."""
        request = request.override(messages=[mark_as_data(m) for m in request.messages])
        if not request.tools:
            runnable = model
        elif request.tool_choice is not None:
            runnable = model.bind_tools(request.tools, tool_choice=request.tool_choice)
        else:
            runnable = model.bind_tools(request.tools)
        run, state = request.run, request.state
        if run is None and not _private(state):  # a graph run without agentmesh's context (tests, benches)
            return runnable.invoke(request.messages)
        # the run's context reaches the model in the call's metadata, never inside a message
        run = run or RunContext(thread_id="")
        context = RunContext(run.thread_id, (state.get("run") or {}).get("id", run.run_id), _private(state), run.user)
        return runnable.invoke(request.messages, config={"metadata": context.metadata()})

    # the history budget and the tool selection first, so that your hooks see the history and
    # the tools as the model will
    budgeted = [HistoryBudget(history_budget, summarize)] if history_budget is not None else []
    selection = [ToolSelection(select_tools, tools)] if select_tools is not None and tools else []
    answers = frozenset(t.name for t in tools if (t.metadata or {}).get("answers") is True)
    picking = [PickAnswer(skip, answers, tables, turn_evidence)] if answer_style == "pick" else []
    model_call = chain_model_call([*budgeted, *selection, *middleware, *BUILTIN_MODEL_MIDDLEWARE, *picking], call_model)

    def _after_act(response: AIMessage, steps: int) -> str:
        if pick_call(response) is not None:
            return "answer"
        if isinstance(response, AIMessage) and response.tool_calls and steps < max_steps:
            return "tools"
        return "answer"

    def call_tool(request: ToolRequest) -> ToolMessage:
        """The tool call itself, innermost of the middleware: a failure is an observation, not the end of the run."""
        call, tool = request.call, request.tool
        if tool is None:
            text = UNKNOWN_TOOL_OBSERVATION.format(name=call["name"], available=", ".join(tools_by_name) or "none")
            return ToolMessage(text, tool_call_id=call["id"], name=call["name"], status="error")
        try:
            result = tool.invoke({**call, "type": "tool_call"})
        except Exception as exc:
            return _tool_error(call, exc)
        if not isinstance(result, ToolMessage):
            result = ToolMessage(str(result), tool_call_id=call["id"], name=call["name"])
        return result

    # built-in steps run inside yours: they see the call as your middleware left it
    tool_call = chain_tool_call([*middleware, *BUILTIN_TOOL_MIDDLEWARE], call_tool)
    # a person is asked last, about the calls your reviews let through; none of them can approve for the person
    reviewers = [*middleware, ApprovalStep(approval)]

    def run_one(call: dict[str, Any], state: dict[str, Any], run: RunContext | None) -> tuple[ToolMessage, bool]:
        try:
            result = tool_call(ToolRequest(call, tools_by_name.get(call["name"]), state, run))
        except Exception as exc:  # a failing middleware is an observation too
            result = _tool_error(call, exc)
        if redact is not None and isinstance(result.content, str):  # whatever a hook returned, secrets are scrubbed
            result.content = redact(result.content)
        return result, result.status != "error"

    def run_tools(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        calls = state["messages"][-1].tool_calls
        run = runtime.context if isinstance(runtime.context, RunContext) else None
        declined = declined_calls(reviewers, ToolCallsRequest(list(calls), tools_by_name, state, run))
        runnable = [c for c in calls if c["id"] not in declined]
        if len(runnable) <= 1:
            ran = [run_one(c, state, run) for c in runnable]
        else:
            # each call in its own copy of this step's context: a tool reads its run (the user) from there
            with ContextThreadPoolExecutor(max_workers=min(max_parallel_tools, len(runnable))) as pool:
                ran = list(pool.map(lambda c: run_one(c, state, run), runnable))
        by_id = {m.tool_call_id: (m, ok) for m, ok in ran}
        for call_id, reason in declined.items():
            name = next(c["name"] for c in calls if c["id"] == call_id)
            text = DECLINED_OBSERVATION.format(reason=f" ({reason})" if reason and reason != "rejected" else "")
            by_id[call_id] = (ToolMessage(text, tool_call_id=call_id, name=name, status="error",
                                          additional_kwargs={"declined": True}), True)
        outcomes = [by_id[c["id"]] for c in calls]
        errors = [m for m, ok in outcomes if not ok]
        produced = [c for m, ok in outcomes if ok and isinstance(m.artifact, list) for c in m.artifact]
        update: dict[str, Any] = {
            "messages": [m for m, _ in outcomes],
            "tool_errors": state.get("tool_errors", 0) + len(errors),
            "citations": [c.model_dump() for c in merge_citations(state.get("citations", []),
                                                                  [c for c in produced if c["kind"] != "node"])],
            "evidence": [c.model_dump() for c in merge_citations(state.get("evidence", []),
                                                                 [c for c in produced if c["kind"] == "node"])],
        }
        update = _changed(state, update)
        if errors:
            update["last_error"] = errors[-1].text
        if any((getattr(tools_by_name.get(c["name"]), "metadata", None) or {}).get("private") for c in runnable):
            # its output may only reach local models, for the rest of the thread
            update["run"] = {**(state.get("run") or {}), "private": True}
        return update

    def after_tools(state: AgentState) -> str:
        return "answer" if state.get("tool_errors", 0) > max_tool_errors else "act"

    def answer(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        messages = state["messages"]
        last = messages[-1]
        new_messages: list[AnyMessage] = []
        pick = pick_call(last)
        if (pick is None and answer_style == "pick" and isinstance(last, AIMessage) and last.id and not last.tool_calls
                and state.get("tool_errors", 0) <= max_tool_errors):
            # pick mode shows no text a model wrote (it wrote some when its constrained call was cut
            # off): a reply that picks nothing picks nothing
            pick = {"name": ANSWER_TOOL, "args": {"evidence": []}, "id": last.id}
        evidence = turn_evidence(state) if pick is not None or answer_hooks else []  # the items pick mode offered
        if pick is None and evidence and (redone := worked_out(state.get("question", ""), evidence)) is not None:
            # the model's own arithmetic (a gap, a cost, a share), redone by the framework: what the
            # claim check holds a worked-out number to
            evidence = [*evidence, redone]
        if pick is not None:
            # the answer is the picked lines, rendered; it replaces the call in the thread
            question = state.get("question", "")
            chosen = picked(quotable(question, evidence), pick["args"].get("evidence") or [])
            if chosen:  # what else the question asks of the things it names, if the model left it out
                chosen = complete(question, evidence, chosen, max(picks_for(question), len(chosen)))
            stop, text = ("answered", picked_answer(chosen)) if chosen else ("not_found", NOT_FOUND.format(searched=searched))
            rows = list(chosen)  # what the picks name, for the second part of the question
            if chosen and (what := unworked(question, chosen)):
                worked = worked_out(question, chosen) or worked_out(question, evidence)
                if worked is not None:  # a share, a cost or a gap, by arithmetic: the framework's, not the model's
                    evidence = [*evidence, worked]
                    chosen = [worked]
                    text = picked_answer(chosen)
                else:  # the parts of a share, not the share: shown as evidence
                    stop = "evidence_only"
                    text = unworked_answer(what, chosen)
            if stop == "answered" and chosen and (what := uncovered(question, chosen, evidence)):
                # the rest of the answer is about a thing a picked row names: looked up in the graph by
                # that name ("..., and under which licence?" of the cheapest model's row)
                found = [e for name in row_names(rows) for e in facts_of(name, what, retrieve(name))] if retrieve else []
                if found:
                    found = [e.model_copy(update={"id": f"l{i}"}) for i, e in enumerate(found)]
                    evidence, chosen = [*evidence, *found], [*chosen, *found]
                    text = picked_answer(chosen)
                else:  # half an answer is shown as such
                    stop = "evidence_only"
                    text = unworked_answer(what, chosen, PARTIAL_HEADER)
            last = AIMessage(text, id=last.id, response_metadata={**last.response_metadata, "stop_reason": stop,
                                                                  "picked": [e.id for e in chosen]})
            new_messages.append(last)
        elif state.get("tool_errors", 0) > max_tool_errors:
            stop, text = "error_budget", ERROR_BUDGET_MESSAGE.format(
                errors=state["tool_errors"], budget=max_tool_errors, last_error=state.get("last_error", "")
            )
        elif isinstance(last, AIMessage) and last.tool_calls:
            # close the unanswered calls so the thread stays a valid conversation for the next turn
            new_messages += [
                ToolMessage(NOT_RUN_OBSERVATION, tool_call_id=c["id"], name=c["name"], status="error")
                for c in last.tool_calls
            ]
            stop, text = "step_limit", STEP_LIMIT_MESSAGE.format(steps=state.get("steps", 0), limit=max_steps)
        else:
            stop, text = "answered", last.text if isinstance(last, AIMessage) else ""
            looped = cut_repetition(text)
            if looped != text and isinstance(last, AIMessage) and last.id:  # the thread keeps the cut answer too
                text = looped
                new_messages.append(AIMessage(text, id=last.id, response_metadata=last.response_metadata))
        if stop != "answered" and pick is None:
            new_messages.append(AIMessage(text, response_metadata={"stop_reason": stop}))
        run = runtime.context if isinstance(runtime.context, RunContext) else None
        own = isinstance(last, AIMessage) and bool(last.id)  # the model's message carries the answer: it can be replaced
        may_retry = own and state.get("check_retries", 0) < 1 and state.get("steps", 0) < max_steps
        request = AnswerRequest(text, stop, evidence, state, run, picked=pick is not None, may_retry=may_retry)
        result = answer_call(request)
        if result.retry and may_retry:  # not shown: the model answers again, told why
            return Command(goto="act", update={"check_retries": state.get("check_retries", 0) + 1, "check_feedback": result.retry,
                                               "messages": [RemoveMessage(id=last.id)]})
        if result.text != text:  # a step replaced the answer: the thread keeps what is shown
            shown = AIMessage(result.text, response_metadata={"stop_reason": result.stop_reason})
            if own and stop == "answered":
                new_messages = [RemoveMessage(id=last.id), shown]
            elif new_messages and isinstance(new_messages[-1], AIMessage) and not new_messages[-1].tool_calls:
                new_messages = [*new_messages[:-1], new_messages[-1].model_copy(update={
                    "content": result.text,
                    "response_metadata": {**new_messages[-1].response_metadata, "stop_reason": result.stop_reason}})]
            else:
                new_messages = [*new_messages, shown]
        result = shown_citations(result)
        for hook in after_hooks:
            hook.after_answer(request, result)
        update = {"answer": result.text, "stop_reason": result.stop_reason, "citations": [c.model_dump() for c in result.citations],
                  "unverified": result.unverified, "messages": new_messages, "claims": [c.model_dump() for c in result.claims]}
        return Command(goto=END, update=update)

    def cite(request: AnswerRequest) -> Answer:
        """The innermost answer step: the citations of the text as it stands, and the URIs it
        cites or writes that are no node of the graph."""
        text, stop, state = request.text, request.stop_reason, request.state
        if request.picked:  # what it quotes, exactly
            citations = evidence_citations(request.evidence, text, call_citations(state)) if stop in ("answered", "evidence_only") else []
        else:
            candidates = []
            for node in state.get("grounding", []):
                candidates.append(Citation(kind="node", ref=node["uri"], detail=node["label"]))
                candidates += [Citation(kind="node", ref=uri, detail=label) for uri, label in node.get("links", [])]
            candidates += merge_citations(state.get("evidence", []))
            mentioned = [c for c in candidates if stop == "answered" and _mentions(text, c.detail)]
            citations = merge_citations(mentioned, state.get("citations", []))
        unverified: list[str] = []
        if is_node is not None:
            citations = checked_nodes(citations, again=True)
            unverified = [c.ref for c in citations if c.verified is False]
            cited = {c.ref for c in citations}
            for uri in dict.fromkeys(m.rstrip(".,;") for m in _URI_IN_TEXT.findall(text)):
                if uri not in cited and not is_node(uri):
                    unverified.append(uri)
        return Answer(text, stop, citations=citations, unverified=unverified)

    def checked_nodes(citations: list[Citation], again: bool) -> list[Citation]:
        """The node citations checked against the graph (``again``: those checked before too)."""
        if is_node is None:
            return citations
        return [c.model_copy(update={"verified": is_node(c.ref)}) if c.kind == "node" and (again or c.verified is None) else c
                for c in citations]

    def shown_citations(result: Answer) -> Answer:
        """Each citation once, and a node one a hook added checked against the graph like the rest."""
        citations = checked_nodes(merge_citations(result.citations), again=False)
        unverified = list(dict.fromkeys([*result.unverified, *(c.ref for c in citations if c.verified is False)]))
        return replace(result, citations=citations, unverified=unverified)

    # the claim check outside your hooks: an answer they rewrite is checked like the model's
    checking = [ClaimCheckStep(check_answer, answer_policy, searched)] if check_answer is not None and answer_policy != "off" else []
    caching = [SemanticCacheStep(cache_lookup, cache_store, uncacheable_tools)] if cache_lookup or cache_store else []
    unapplied = [UnappliedWordsStep(readers[0], searched)] if readers else []
    answer_call = chain_answer([*unapplied, *checking, *middleware], cite)
    turn_hooks = [*middleware, *caching]  # your hooks may answer (or refuse) a question before the cache is asked
    after_hooks = overriding([*caching, *middleware], "after_answer")  # the cache stores what the check let through
    answer_hooks = bool(checking or after_hooks or overriding(middleware, "wrap_answer"))

    builder = StateGraph(AgentState, context_schema=RunContext)
    builder.add_node("act", act, destinations=("tools", "answer", END))
    builder.add_node("tools", run_tools)
    builder.add_node("answer", answer, destinations=("act", END))
    builder.add_edge(START, "act")
    builder.add_conditional_edges("tools", after_tools, ["act", "answer"])
    return builder.compile(checkpointer=checkpointer, name=name)
