"""The agent graph's steps, each a named node that receives the graph's parts explicitly.

:func:`agentmesh.graphs.agent.build_agent_graph` makes the parts once (:class:`GraphParts`: the
middleware chains, the tools, the limits) and compiles three nodes over them, as LangGraph's own
prebuilt agents do (its ``ToolNode`` is such a class)::

    parts = GraphParts(model_call=CallModel(model), tool_call=CallTool(tools), answer_call=Cite(None), tools=tuple(tools))
    Act(parts)(state, runtime)        # -> Command(goto="tools" | "answer" | END, update=...)

* :class:`Act` (``act``): a new question's first step starts the turn (:func:`start_turn`), then
  the model answers or proposes tool calls, through the model-call middleware;
* :class:`RunTools` (``tools``): the calls the reviews let through run, in parallel, each through
  the tool-call middleware; a failure is an observation. Then back to ``act``, or to ``answer``
  once the error budget is spent (:meth:`RunTools.after_tools`);
* :class:`AnswerNode` (``answer``): the final text (a pick rendered, a limit said), through the
  answer middleware, and the ``after_answer`` hooks.

The innermost step of each chain is a node's part too: :class:`CallModel`, :class:`CallTool`,
:class:`Cite`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage
from langchain_core.runnables.config import ContextThreadPoolExecutor
from langchain_core.tools import BaseTool
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from agentmesh.claims import (ANSWER_TOOL, NOT_FOUND, PARTIAL_HEADER, complete, cut_repetition, facts_of, picked,
                              picked_answer, picks_for, quotable, row_names, uncovered, unworked, unworked_answer, worked_out)
from agentmesh.answering.picking import cut_short
from agentmesh.graphs.evidence import TurnEvidence, call_citations
from agentmesh.graphs.history import repair_tool_pairs, retrieval_query
from agentmesh.graphs.middleware import (Answer, AnswerHandler, AnswerRequest, Middleware, ModelHandler, ModelRequest,
                                         ToolCallsRequest, ToolHandler, ToolRequest, TurnRequest, declined_calls,
                                         evidence_citations, first_answer, merge_citations)
from agentmesh.graphs.pick import pick_call
from agentmesh.graphs.state import AgentState, Citation
from agentmesh.prompts import (DATA_BLOCK, DECLINED_OBSERVATION, ERROR_BUDGET_MESSAGE, GROUNDING_BLOCK, NO_GROUNDING,
                               STEP_LIMIT_MESSAGE, SYSTEM_PROMPT, TOOL_ERROR_OBSERVATION, UNKNOWN_TOOL_OBSERVATION)
from agentmesh.records import RetrievedNode, RunContext

__all__ = ["GraphParts", "Act", "RunTools", "AnswerNode", "CallModel", "CallTool", "Cite", "start_turn", "checked_nodes", "shown_citations",
           "render_grounding", "escape_data", "mark_as_data", "NOT_RUN_OBSERVATION", "BEFORE_TURN", "Retriever", "NodeCheck",
           "Remembered"]

Retriever = Callable[[str], list[dict[str, Any]]]
NodeCheck = Callable[[str], bool]
Remembered = Callable[[str, list[dict[str, Any]], "RunContext | None"], list[dict[str, Any]]]
NOT_RUN_OBSERVATION = "Not run: the step limit was reached."
BEFORE_TURN = "agentmesh_before_turn"
"""``response_metadata`` key of an answer given before the turn (a cache hit, a hook's reply)."""
_URI_IN_TEXT = re.compile(r"<?(https?://[^\s<>\"')\]]+)>?")
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_DATA_TAG = re.compile(r"<(/?)(data\b)", re.IGNORECASE)


@dataclass(frozen=True)
class GraphParts:
    """What the agent graph's nodes call, made once by ``build_agent_graph``: the three
    middleware chains (each ending in its innermost step), the agent's tools, the hooks asked
    before a turn and after an answer, and the run's limits."""

    model_call: ModelHandler
    """The model-call middleware around :class:`CallModel`."""
    tool_call: ToolHandler
    """The tool-call middleware around :class:`CallTool`."""
    answer_call: AnswerHandler
    """The answer middleware around :class:`Cite`."""
    tools: tuple[BaseTool, ...] = ()
    reviewers: tuple[Middleware, ...] = ()
    """The ``review_tool_calls`` steps, yours then the approval."""
    turn_hooks: tuple[Middleware, ...] = ()
    """The ``before_turn`` steps, yours then the cache."""
    after_hooks: tuple[Middleware, ...] = ()
    """The ``after_answer`` steps, the cache then yours."""
    answer_hooks: bool = False
    """Some answer step reads the evidence (the claim check, a hook of yours)."""
    evidence: TurnEvidence = field(default_factory=TurnEvidence)
    retrieve: Retriever | None = None
    remembered: Remembered | None = None
    """Adds the asking user's remembered facts to the grounding (agentmesh.memory.facts)."""
    is_node: NodeCheck | None = None
    redact: Callable[[str], str] | None = None
    read: Callable[[str], Any] | None = None
    """Reads the question against the data once a turn (a tool's ``read`` metadata: ``sql_answer``'s)."""
    answers: frozenset[str] = frozenset()
    """The tools whose rows answer the question by how they were made (metadata ``answers``)."""
    readers: frozenset[str] = frozenset()
    """The tools that run only the question's own whole reading (metadata ``read``): their rows are the answer."""
    selected: bool = False
    """A selector chooses the tools to offer at the turn's first model call (ToolSelection)."""
    max_steps: int = 6
    max_tool_errors: int = 3
    max_parallel_tools: int = 4
    answer_style: str = "free"
    searched: str = "the knowledge graph or the tools' results"

    @property
    def by_name(self) -> dict[str, BaseTool]:
        return {tool.name: tool for tool in self.tools}


def escape_data(text: str) -> str:
    """Retrieved text cannot close (or open) its own <data> block: its tags are defused."""
    return _DATA_TAG.sub(lambda m: f"&lt;{m.group(1)}{m.group(2)}", text)


def mark_as_data(message: AnyMessage) -> AnyMessage:
    """A tool result as the model sees it: inside <data> ... </data> (the stored message is unchanged)."""
    if not isinstance(message, ToolMessage) or not isinstance(message.content, str):
        return message
    return message.model_copy(update={"content": DATA_BLOCK.format(content=escape_data(message.content))})


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


def _private(state: dict[str, Any]) -> bool:
    return bool((state.get("run") or {}).get("private"))


def _run(runtime: Runtime[RunContext]) -> RunContext | None:
    return runtime.context if isinstance(runtime.context, RunContext) else None


def _changed(state: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` without the channels it would leave as they are (each channel written costs at
    every checkpoint); one not yet in the state is written, so the state always has them all."""
    return {k: v for k, v in update.items() if k == "messages" or k not in state or state[k] != v}


def _last_human(messages: Sequence[AnyMessage]) -> HumanMessage | None:
    return next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)


def _tool_error(call: dict[str, Any], exc: Exception) -> ToolMessage:
    text = TOOL_ERROR_OBSERVATION.format(name=call["name"], error=str(exc).strip() or type(exc).__name__)
    return ToolMessage(text, tool_call_id=call["id"], name=call["name"], status="error")


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


# -- act ----------------------------------------------------------------------------------------
def start_turn(parts: GraphParts, state: AgentState, run: RunContext | None, human: HumanMessage) -> tuple[dict[str, Any], bool]:
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
    early = first_answer(parts.turn_hooks, TurnRequest(question, state, run, private, first_turn)) if question else None
    if early is not None:
        hit = early.metadata.get("cached")
        meta = {"cached": True, "similarity": hit.get("similarity")} if hit else {"stop_reason": early.stop_reason}
        meta[BEFORE_TURN] = True  # no model wrote it: not streamed as tokens
        return {**reset, "answer": early.text, "citations": [c.model_dump() for c in early.citations],
                "stop_reason": early.stop_reason, "cached": hit, "claims": [c.model_dump() for c in early.claims],
                "messages": [AIMessage(early.text, response_metadata=meta)]}, True
    query = retrieval_query(messages, question)
    grounding = parts.retrieve(query) if parts.retrieve is not None and query else []
    if parts.remembered is not None and query:  # the asking user's own remembered facts, nobody else's
        grounding = parts.remembered(query, grounding, run)
    reading = parts.read(question) if parts.read is not None and question else None
    # with a selector, the tools to offer are chosen at the turn's first model call (ToolSelection)
    return {**reset, "grounding": grounding, "tools": None if parts.selected else list(parts.by_name),
            "reading": reading.to_dict() if reading is not None else None}, False


class Act:
    """The ``act`` node, the model's step; a new question's first one starts the turn
    (:func:`start_turn`) in the same step, because each LangGraph step costs a checkpoint write.
    Goes to ``tools`` when the model proposes calls within the step limit, else to ``answer``."""

    def __init__(self, parts: GraphParts) -> None:
        self.parts = parts

    def __call__(self, state: AgentState, runtime: Runtime[RunContext]) -> Command:
        parts, run = self.parts, _run(runtime)
        before, turn = state, {}
        human = _last_human(state.get("messages", []))
        if human is not None and (state.get("run") or {}).get("turn") != human.id:
            turn, answered = start_turn(parts, state, run, human)
            if answered:
                return Command(goto=END, update=turn)
            state = {**state, **turn}
        system = SystemMessage(SYSTEM_PROMPT.format(grounding=render_grounding(state.get("grounding", []))))
        history = repair_tool_pairs(state["messages"])
        feedback = state.get("check_feedback", "")
        retry = [HumanMessage(feedback)] if feedback else []  # the answer step's note (the claims that failed)
        # all the agent's tools: the middleware cut them to the turn's choice (ToolSelection), to
        # what fits the question (NarrowedTools), and in pick mode to the output tool (PickAnswer)
        request = ModelRequest([system, *history, *retry], list(parts.tools), state, run)
        response = parts.model_call(request)
        steps = state.get("steps", 0) + 1
        update = {**turn, **request.updates, "messages": [response], "steps": steps, "check_feedback": ""}
        return Command(goto=self.route(response, steps), update=_changed(before, update))

    def route(self, response: AIMessage, steps: int) -> str:
        if pick_call(response) is not None:
            return "answer"
        if isinstance(response, AIMessage) and response.tool_calls and steps < self.parts.max_steps:
            return "tools"
        return "answer"


class CallModel:
    """The model call itself, innermost of the model-call middleware. Tool results are marked as
    data here, so none reaches the model unmarked, whatever a hook put in the request."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    def __call__(self, request: ModelRequest) -> AIMessage:
        request = request.override(messages=[mark_as_data(m) for m in request.messages])
        if not request.tools:
            runnable = self.model
        elif request.tool_choice is not None:
            runnable = self.model.bind_tools(request.tools, tool_choice=request.tool_choice)
        else:
            runnable = self.model.bind_tools(request.tools)
        run, state = request.run, request.state
        if run is None and not _private(state):  # a graph run without agentmesh's context (tests, benches)
            return runnable.invoke(request.messages)
        # the run's context reaches the model in the call's metadata, never inside a message
        run = run or RunContext(thread_id="")
        context = RunContext(run.thread_id, (state.get("run") or {}).get("id", run.run_id), _private(state), run.user)
        return runnable.invoke(request.messages, config={"metadata": context.metadata()})


# -- tools --------------------------------------------------------------------------------------
class CallTool:
    """The tool call itself, innermost of the tool-call middleware: a failure is an observation,
    not the end of the run; a call to no tool of the agent says which there are."""

    def __init__(self, tools: Sequence[BaseTool]) -> None:
        self.names = list(dict.fromkeys(t.name for t in tools))

    def __call__(self, request: ToolRequest) -> ToolMessage:
        call, tool = request.call, request.tool
        if tool is None:
            text = UNKNOWN_TOOL_OBSERVATION.format(name=call["name"], available=", ".join(self.names) or "none")
            return ToolMessage(text, tool_call_id=call["id"], name=call["name"], status="error")
        try:
            result = tool.invoke({**call, "type": "tool_call"})
        except Exception as exc:
            return _tool_error(call, exc)
        if not isinstance(result, ToolMessage):
            result = ToolMessage(str(result), tool_call_id=call["id"], name=call["name"])
        return result


class RunTools:
    """The ``tools`` node: the reviews decide which of the last reply's calls may run (the
    approval last, which may interrupt the run to ask), then those run, in parallel, each through
    the tool-call middleware; each declined call gets its reason as an error observation. Tool
    results are scrubbed of secrets; a private tool's output makes the thread private."""

    def __init__(self, parts: GraphParts) -> None:
        self.parts = parts
        self.by_name = parts.by_name

    def run_one(self, call: dict[str, Any], state: dict[str, Any], run: RunContext | None) -> tuple[ToolMessage, bool]:
        try:
            result = self.parts.tool_call(ToolRequest(call, self.by_name.get(call["name"]), state, run))
        except Exception as exc:  # a failing middleware is an observation too
            result = _tool_error(call, exc)
        if self.parts.redact is not None and isinstance(result.content, str):  # whatever a hook returned, secrets are scrubbed
            result.content = self.parts.redact(result.content)
        return result, result.status != "error"

    def __call__(self, state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        parts, by_name = self.parts, self.by_name
        calls = state["messages"][-1].tool_calls
        run = _run(runtime)
        declined = declined_calls(parts.reviewers, ToolCallsRequest(list(calls), by_name, state, run))
        runnable = [c for c in calls if c["id"] not in declined]
        if len(runnable) <= 1:
            ran = [self.run_one(c, state, run) for c in runnable]
        else:
            # each call in its own copy of this step's context: a tool reads its run (the user) from there
            with ContextThreadPoolExecutor(max_workers=min(parts.max_parallel_tools, len(runnable))) as pool:
                ran = list(pool.map(lambda c: self.run_one(c, state, run), runnable))
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
        if any((getattr(by_name.get(c["name"]), "metadata", None) or {}).get("private") for c in runnable):
            # its output may only reach local models, for the rest of the thread
            update["run"] = {**(state.get("run") or {}), "private": True}
        return update

    def after_tools(self, state: AgentState) -> str:
        """Where the run goes next: back to the model, or to the answer once the error budget is spent."""
        return "answer" if state.get("tool_errors", 0) > self.parts.max_tool_errors else "act"




# -- answer -------------------------------------------------------------------------------------
class AnswerNode:
    """The ``answer`` node: the text to show and why the run stopped (a pick rendered from its
    evidence, the model's text, or the step limit or error budget said plainly), then the answer
    middleware, which may replace it or send it back to the model once (``Answer(retry=...)``:
    to ``act``), then the ``after_answer`` hooks with the answer as shown."""

    def __init__(self, parts: GraphParts) -> None:
        self.parts = parts

    def __call__(self, state: AgentState, runtime: Runtime[RunContext]) -> Command:
        parts = self.parts
        max_steps, max_tool_errors, searched, retrieve = parts.max_steps, parts.max_tool_errors, parts.searched, parts.retrieve
        messages = state["messages"]
        last = messages[-1]
        new_messages: list[AnyMessage] = []
        pick = pick_call(last)
        if (pick is None and parts.answer_style == "pick" and isinstance(last, AIMessage) and last.id and not last.tool_calls
                and state.get("tool_errors", 0) <= max_tool_errors):
            # pick mode shows no text a model wrote (it wrote some when its constrained call was cut
            # off): a reply that picks nothing picks nothing
            pick = {"name": ANSWER_TOOL, "args": {"evidence": []}, "id": last.id}
        evidence = parts.evidence(state) if pick is not None or parts.answer_hooks else []  # the items pick mode offered
        if pick is None and evidence and (redone := worked_out(state.get("question", ""), evidence)) is not None:
            # the model's own arithmetic (a gap, a cost, a share), redone by the framework: what the
            # claim check holds a worked-out number to
            evidence = [*evidence, redone]
        if pick is not None:
            # the answer is the picked lines, rendered; it replaces the call in the thread
            question = state.get("question", "")
            chosen = picked(quotable(question, evidence, answering=parts.answers), pick["args"].get("evidence") or [])
            if chosen:  # what else the question asks of the things it names, if the model left it out
                chosen = complete(question, evidence, chosen, max(picks_for(question), len(chosen)),
                                  answering=parts.answers, whole=parts.readers)
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
            if stop == "answered" and (cut := cut_short(chosen, evidence)):
                # "on line of: Alder Estuary Bridge" of a node that showed only some of its "on line of"
                stop = "evidence_only"
                text = unworked_answer("others of " + ", ".join(f"'{c}'" for c in cut), chosen, PARTIAL_HEADER)
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
        run = _run(runtime)
        own = isinstance(last, AIMessage) and bool(last.id)  # the model's message carries the answer: it can be replaced
        may_retry = own and state.get("check_retries", 0) < 1 and state.get("steps", 0) < max_steps
        request = AnswerRequest(text, stop, evidence, state, run, picked=pick is not None, may_retry=may_retry)
        result = parts.answer_call(request)
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
        result = shown_citations(parts.is_node, result)
        for hook in parts.after_hooks:
            hook.after_answer(request, result)
        update = {"answer": result.text, "stop_reason": result.stop_reason, "citations": [c.model_dump() for c in result.citations],
                  "unverified": result.unverified, "messages": new_messages, "claims": [c.model_dump() for c in result.claims]}
        return Command(goto=END, update=update)


class Cite:
    """The innermost answer step: the citations of the text as it stands, and the URIs it cites
    or writes that ``is_node`` says are no node of the graph."""

    def __init__(self, is_node: NodeCheck | None) -> None:
        self.is_node = is_node

    def __call__(self, request: AnswerRequest) -> Answer:
        text, stop, state, is_node = request.text, request.stop_reason, request.state, self.is_node
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
            citations = checked_nodes(is_node, citations, again=True)
            unverified = [c.ref for c in citations if c.verified is False]
            cited = {c.ref for c in citations}
            for uri in dict.fromkeys(m.rstrip(".,;") for m in _URI_IN_TEXT.findall(text)):
                if uri not in cited and not is_node(uri):
                    unverified.append(uri)
        return Answer(text, stop, citations=citations, unverified=unverified)


def checked_nodes(is_node: NodeCheck | None, citations: list[Citation], again: bool) -> list[Citation]:
    """The node citations checked against the graph (``again``: those checked before too)."""
    if is_node is None:
        return citations
    return [c.model_copy(update={"verified": is_node(c.ref)}) if c.kind == "node" and (again or c.verified is None) else c
            for c in citations]


def shown_citations(is_node: NodeCheck | None, result: Answer) -> Answer:
    """Each citation once, and a node one a hook added checked against the graph like the rest."""
    citations = checked_nodes(is_node, merge_citations(result.citations), again=False)
    unverified = list(dict.fromkeys([*result.unverified, *(c.ref for c in citations if c.verified is False)]))
    return replace(result, citations=citations, unverified=unverified)
