"""The agent graph: ground -> act <-> tools -> answer.

Built from parts passed in (a chat model, tools, a retriever, a tool selector), so a test
can assemble it from fakes alone and a user can swap any part::

    graph = build_agent_graph(FakeToolChatModel(responses=[...]), [my_tool])
    graph.invoke({"messages": [("user", "hi")]})

* ground: first the ``before_turn`` steps, your middleware's then the semantic cache's (a hit
  answers at once, skipping the model; first turn of a thread only, as a follow-up's meaning
  depends on the conversation: agentmesh.graphs.middleware.SemanticCacheStep); then retrieve the
  knowledge-graph nodes for the question (URIs, labels, facts), and select the tools to offer:
  the few most similar to the question, so small models choose among few. One node, because
  every LangGraph step costs a checkpoint write;
* act: the model answers or proposes tool calls;
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
import uuid
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agentmesh.graphs.middleware import (ANSWER_POLICIES, APPROVAL_MODES, Answer, ApprovalStep, ToolCallsRequest,
                                         approved_ids, declined_calls, needs_approval, AnswerRequest, CacheLookup, CacheStore, ClaimCheckStep,
                                         HistoryBudget, Middleware, ModelRequest, NarrowedTools, QuestionGuard,
                                         SemanticCacheStep, ToolRequest, TurnRequest, chain_answer,
                                         chain_model_call, chain_tool_call, evidence_citations, first_answer, merge_citations,
                                         narrowing, overriding)
from agentmesh.graphs.history import Summarizer, repair_tool_pairs
from agentmesh.graphs.state import AgentState, Citation
from agentmesh.records import RunContext
from agentmesh.claims import (
    ANSWER_TOOL,
    NOT_FOUND,
    AnswerCheck,
    Evidence,
    cut_repetition,
    picked,
    answerable,
    complete,
    picked_answer,
    picks_for,
    unworked,
    unworked_answer,
    worked_out,
    uncovered,
    row_names,
    facts_of,
    PARTIAL_HEADER,
    quotable,
    tool_source,
)
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
           "ANSWER_STYLES", "pick_tool"]

Retriever = Callable[[str], list[dict[str, Any]]]
NodeCheck = Callable[[str], bool]
_URI_IN_TEXT = re.compile(r"<?(https?://[^\s<>\"')\]]+)>?")
ToolSelector = Callable[[str], list[str]]
NOT_RUN_OBSERVATION = "Not run: the step limit was reached."
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


def _pick_call(message: AnyMessage) -> dict[str, Any] | None:
    if isinstance(message, AIMessage):
        return next((c for c in message.tool_calls if c["name"] == ANSWER_TOOL), None)
    return None


BUILTIN_MODEL_MIDDLEWARE: list[Middleware] = [NarrowedTools()]
"""Steps every agent takes around model calls, as middleware: tools narrowed to the question."""
BUILTIN_TOOL_MIDDLEWARE: list[Middleware] = [QuestionGuard()]
"""Steps every agent takes around tool calls, as middleware: a tool's own guard (``sql_rank``'s)."""


def _fits(tool: BaseTool, question: str) -> bool:
    narrow = narrowing(tool)
    return bool(question) and narrow is not None and narrow(question) is not None


def _this_turn(messages: Sequence[AnyMessage]) -> tuple[Sequence[AnyMessage], dict[str, dict[str, Any]]]:
    """The messages since the last question, and the tool calls among them by id."""
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
    turn = messages[start:]
    return turn, {c["id"]: c for m in turn if isinstance(m, AIMessage) for c in m.tool_calls}


def not_evidence(tools: Sequence[BaseTool]) -> frozenset[str]:
    """The tools whose results describe where to look, not the world (``metadata={"evidence":
    False}``: ``sql_schema``'s tables and columns): no answer quotes them, no claim rests on them."""
    return frozenset(t.name for t in tools if (t.metadata or {}).get("evidence") is False)


def run_evidence(state: dict[str, Any], skip: frozenset[str] = frozenset()) -> list[Evidence]:
    """This run's evidence items: each fact and description of the grounding nodes, each row or
    passage of this turn's tool results (but those of the tools in ``skip``), and the question."""
    items: list[Evidence] = []
    for node in state.get("grounding", []):
        uri, label = node["uri"], node.get("label", "")
        items.append(Evidence(id=f"n{len(items)}", kind="fact", text=label, subject=label, source=uri))
        if node.get("description"):
            items.append(Evidence(id=f"n{len(items)}", kind="description", text=node["description"], subject=label, source=uri))
        for fact in node.get("facts", []):
            items.append(Evidence(id=f"n{len(items)}", kind="fact", text=fact, subject=label, source=uri))
    messages, calls = _this_turn(state.get("messages", []))
    for message in messages:
        if (not isinstance(message, ToolMessage) or message.status == "error" or not isinstance(message.content, str)
                or message.name in skip):
            continue
        source = tool_source(message.name, calls.get(message.tool_call_id, {}).get("args"))
        if message.name in ("sql", "sql_rank", "sparql"):  # each row with its header: the columns say the units
            lines = message.content.splitlines()
            kind, parts = "row", [f"{lines[0]}: {row}" for row in lines[1:] if not row.startswith("(")]
        elif message.name == "kg_search":  # nodes as the grounding has them: each fact an item of its node
            for line in message.content.splitlines():
                node = _parse_node(line)
                if node is None:
                    items.append(Evidence(id=f"t{len(items)}", kind="passage", text=line.strip(), source=source))
                    continue
                uri, label, description, facts = node
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


def _call_citations(state: dict[str, Any]) -> dict[str, list[Citation]]:
    """This turn's tool calls' own citations (their results' artifacts: the SQL that ran, the
    code), by the evidence source of the call (``tool_source``)."""
    messages, calls = _this_turn(state.get("messages", []))
    found: dict[str, list[Citation]] = {}
    for message in messages:
        if isinstance(message, ToolMessage) and isinstance(message.artifact, list):
            cited = [Citation(**c) for c in message.artifact if isinstance(c, dict) and c.get("kind") in ("sql", "sparql", "code")]
            if cited:
                found.setdefault(tool_source(message.name, calls.get(message.tool_call_id, {}).get("args")), []).extend(cited)
    return found


_NODE_LINE = re.compile(r"^<(?P<uri>https?://[^>\s]+)> (?P<rest>.+)$")


def _parse_node(line: str) -> tuple[str, str, str, list[str]] | None:
    """A node as ``RetrievedNode.render`` writes it ("<uri> label: description [fact; fact]")."""
    match = _NODE_LINE.match(line.strip())
    if match is None:
        return None
    rest, facts = match["rest"], []
    if rest.endswith("]") and " [" in rest:
        rest, _, listed = rest.rpartition(" [")
        facts = [f.strip() for f in listed[:-1].split("; ") if f.strip()]
    label, _, description = rest.partition(": ")
    return match["uri"], label.strip(), description.strip(), facts


def render_grounding(nodes: Sequence[dict[str, Any]]) -> str:
    if not nodes:
        return NO_GROUNDING
    lines = []
    for node in nodes:
        line = f"<{node['uri']}> {node['label']}"
        if node.get("description"):
            line += f": {node['description']}"
        if node.get("facts"):
            line += " [" + "; ".join(node["facts"]) + "]"
        lines.append(escape_data(line))
    return GROUNDING_BLOCK.format(facts="\n".join(lines))


def _last_question(messages: Sequence[AnyMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    return ""


_REFERS_BACK = re.compile(r"\b(it|its|it's|they|them|their|this|that|these|those|he|she|his|her|one|ones)\b", re.I)


def _retrieval_query(messages: Sequence[AnyMessage], question: str) -> str:
    """What to retrieve for: the question, joined with the previous one when it refers back to it
    ("What is its context window?" after "Who develops Qwen 72B Chat?")."""
    humans = [m.text for m in messages if isinstance(m, HumanMessage)]
    if len(humans) >= 2 and _REFERS_BACK.search(question):
        return f"{humans[-2]} {question}"
    return question


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

    def ground(state: AgentState, runtime: Runtime[RunContext]) -> Command:
        """The before-turn steps (the cache), then retrieval and tool selection: the context the model will get.

        One node rather than three, because each LangGraph step costs a checkpoint write."""
        messages = state.get("messages", [])
        question = _last_question(messages)
        run = runtime.context if isinstance(runtime.context, RunContext) else None
        # a thread once private stays private: its earlier turns are in every later prompt
        private = _private(state) or bool(run and run.private)
        reset = {"question": question, **({"run": {"id": run.run_id, "private": private}} if run else {}),
                 "citations": [], "evidence": [], "unverified": [], "steps": 0, "claims": [], "check_retries": 0, "check_feedback": "",
                 "tool_errors": 0, "last_error": "", "answer": "", "stop_reason": "answered", "cached": None}
        first_turn = sum(isinstance(m, HumanMessage) for m in messages) == 1  # follow-ups depend on history
        early = first_answer(turn_hooks, TurnRequest(question, state, run, private, first_turn)) if question else None
        if early is not None:  # answered before retrieval: a cache hit, or a hook's own reply
            hit = early.metadata.get("cached")
            meta = {"cached": True, "similarity": hit.get("similarity")} if hit else {"stop_reason": early.stop_reason}
            return Command(goto=END, update={**reset, "answer": early.text, "citations": [c.model_dump() for c in early.citations],
                                             "stop_reason": early.stop_reason, "cached": hit,
                                             "claims": [c.model_dump() for c in early.claims],
                                             "messages": [AIMessage(early.text, response_metadata=meta)]})
        query = _retrieval_query(messages, question)
        grounding = retrieve(query) if retrieve is not None and query else []
        if select_tools is None or not tools_by_name:
            offered = list(tools_by_name)
        else:
            offered = [n for n in select_tools(query) if n in tools_by_name]
            # a tool that narrows itself to the question and fits it (sql_rank for "the highest X")
            # comes first, in the place of the last one chosen by similarity: a fitting choice from a
            # list beats free SQL for a small model, whatever the embeddings say
            fitting = [n for n, t in tools_by_name.items() if n not in offered and _fits(t, question)]
            if fitting:
                offered = [*fitting, *offered][:max(len(offered), len(fitting))]
        return Command(goto="act", update={**reset, "grounding": grounding, "tools": offered})

    def act(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        system = SystemMessage(SYSTEM_PROMPT.format(grounding=render_grounding(state.get("grounding", []))))
        history = repair_tool_pairs(state["messages"])
        offered = [tools_by_name[n] for n in state.get("tools", [])]
        feedback = state.get("check_feedback", "")
        retry = [HumanMessage(feedback)] if feedback else []  # the answer step's note (the claims that failed)
        run = runtime.context if isinstance(runtime.context, RunContext) else None
        prompt = [system, *history, *retry]
        choice = None
        if answer_style == "pick":
            # the model never writes the answer: it picks lines, or calls a tool while one may help
            question = state.get("question", "")
            evidence = run_evidence(state, skip)
            quotes = quotable(question, evidence)
            may_call = bool(offered) and not feedback and not (history and isinstance(history[-1], ToolMessage))
            if quotes:
                tool = pick_tool(list(quotes), picks_for(question))
                if not may_call or answerable(question, evidence):
                    offered, choice = [tool], ANSWER_TOOL
                else:
                    offered, choice = [tool, *offered], "any"
            elif may_call:
                choice = "any"
            else:  # nothing that answers the question, and nothing left to try: no model call
                nothing = AIMessage("", tool_calls=[{"name": ANSWER_TOOL, "args": {"evidence": []},
                                                        "id": f"pick-{uuid.uuid4().hex[:12]}"}])
                return {"messages": [nothing], "steps": state.get("steps", 0), "check_feedback": ""}
        request = ModelRequest(prompt, offered, state, run, tool_choice=choice)
        response = model_call(request)
        return {**request.updates, "messages": [response], "steps": state.get("steps", 0) + 1, "check_feedback": ""}

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

    # the history budget first, so that your hooks see the history as the model will
    budgeted = [HistoryBudget(history_budget, summarize)] if history_budget is not None else []
    model_call = chain_model_call([*budgeted, *middleware, *BUILTIN_MODEL_MIDDLEWARE], call_model)

    def after_act(state: AgentState) -> str:
        last = state["messages"][-1]
        if _pick_call(last) is not None:
            return "answer"
        if isinstance(last, AIMessage) and last.tool_calls and state.get("steps", 0) < max_steps:
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
            with ThreadPoolExecutor(max_workers=min(max_parallel_tools, len(runnable))) as pool:
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
        pick = _pick_call(last)
        evidence = run_evidence(state, skip) if pick is not None or answer_hooks else []  # once, for the pick and the answer steps
        if pick is not None:
            # the answer is the picked lines, rendered; it replaces the call in the thread
            question = state.get("question", "")
            chosen = picked(quotable(question, evidence), pick["args"].get("evidence") or [])
            if chosen:  # what else the question asks of the things it names, if the model left it out
                chosen = complete(question, evidence, chosen, max(picks_for(question), len(chosen)))
            stop, text = ("answered", picked_answer(chosen)) if chosen else ("not_found", NOT_FOUND.format(searched=searched))
            if chosen and (what := unworked(question, chosen)):
                worked = worked_out(question, chosen) or worked_out(question, evidence)
                if worked is not None:  # the share, by arithmetic on two facts: the framework's, not the model's
                    evidence = [*evidence, worked]
                    chosen = [worked]
                    text = picked_answer(chosen)
                else:  # the parts of a share, not the share: shown as evidence
                    stop = "evidence_only"
                    text = unworked_answer(what, chosen)
            elif chosen and (what := uncovered(question, chosen)):
                # the rest of the answer is about a thing a picked row names: looked up in the graph by
                # that name ("..., and under which licence?" of the cheapest model's row)
                found = [e for name in row_names(chosen) for e in facts_of(name, what, retrieve(name))] if retrieve else []
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
            citations = evidence_citations(request.evidence, text, _call_citations(state)) if stop in ("answered", "evidence_only") else []
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
            citations = [c.model_copy(update={"verified": is_node(c.ref)}) if c.kind == "node" else c for c in citations]
            unverified = [c.ref for c in citations if c.verified is False]
            cited = {c.ref for c in citations}
            for uri in dict.fromkeys(m.rstrip(".,;") for m in _URI_IN_TEXT.findall(text)):
                if uri not in cited and not is_node(uri):
                    unverified.append(uri)
        return Answer(text, stop, citations=citations, unverified=unverified)

    def shown_citations(result: Answer) -> Answer:
        """Each citation once, and a node one a hook added checked against the graph like the rest."""
        citations = merge_citations(result.citations)
        if is_node is not None:
            citations = [c.model_copy(update={"verified": is_node(c.ref)}) if c.kind == "node" and c.verified is None else c
                         for c in citations]
        unverified = list(dict.fromkeys([*result.unverified, *(c.ref for c in citations if c.verified is False)]))
        return replace(result, citations=citations, unverified=unverified)

    # the claim check outside your hooks: an answer they rewrite is checked like the model's
    checking = [ClaimCheckStep(check_answer, answer_policy, searched)] if check_answer is not None and answer_policy != "off" else []
    caching = [SemanticCacheStep(cache_lookup, cache_store, uncacheable_tools)] if cache_lookup or cache_store else []
    answer_call = chain_answer([*checking, *middleware], cite)
    turn_hooks = [*middleware, *caching]  # your hooks may answer (or refuse) a question before the cache is asked
    after_hooks = overriding([*caching, *middleware], "after_answer")  # the cache stores what the check let through
    answer_hooks = bool(checking or after_hooks or overriding(middleware, "wrap_answer"))

    builder = StateGraph(AgentState, context_schema=RunContext)
    builder.add_node("ground", ground, destinations=("act", END))
    builder.add_node("act", act)
    builder.add_node("tools", run_tools)
    builder.add_node("answer", answer, destinations=("act", END))
    builder.add_edge(START, "ground")
    builder.add_conditional_edges("act", after_act, ["tools", "answer"])
    builder.add_conditional_edges("tools", after_tools, ["act", "answer"])
    return builder.compile(checkpointer=checkpointer, name=name)
