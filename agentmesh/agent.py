"""Agent: settings, model, knowledge graph, tools and memory wired into one compiled graph.

>>> from agentmesh import Agent, Settings
>>> agent = Agent(Settings.load(kg=["examples/llm-landscape/landscape.ttl"]))   # doctest: +SKIP
>>> agent.run("Which licence does Mixtral 8x7B use?").answer                     # doctest: +SKIP
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Sequence

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.errors import GraphRecursionError
from langgraph.types import Command

from agentmesh.answering.lexicon import using_lexicon
from agentmesh.assembly import Components
from agentmesh.claims import Claim, ClaimChecker
from agentmesh.config import Settings
from agentmesh.errors import AgentmeshError, ConfigError
from agentmesh.events import Event, events_of
from agentmesh.graphs.agent import BEFORE_TURN, build_agent_graph, recursion_limit_for, redactor
from agentmesh.graphs.middleware import Middleware
from agentmesh.ports import AnswerCache, Retriever
from agentmesh.records import Citation, RetrievedNode, RunContext
from agentmesh.knowledge import KnowledgeBase
from agentmesh._home import tighten
from agentmesh.runs.provenance import RunRecord, save_trace
from agentmesh.memory.cache import CacheHit, cache_scope
from agentmesh.memory.facts import merge_recalled
from agentmesh.memory.verify import KnowledgeCheck
from agentmesh.prompts import PROMPTS_VERSION, SUMMARIZE_PROMPT, SYSTEM_PROMPT
from agentmesh.models.providers import translate_model_error
from agentmesh.models.json_tools import DECLINED_CALL
from agentmesh.tools import ToolRegistry
from agentmesh.tools.selection import EmbeddingToolSelector

__all__ = ["Agent", "AgentResult", "ToolActivity", "CACHEABLE_TOOLS"]

DURABILITY = "sync"
"""Each step's checkpoint is written before the next step starts. LangGraph's default ("async")
writes it while the next step runs, so a process killed during a tool call could lose the
question and the model's call with it."""

CACHEABLE_TOOLS = frozenset({"kg_search", "kg_path", "sparql", "search", "sql_schema"})
"""Tools whose results change only with versioned data (the graph, the documents). Answers that
used any other tool (python, sql on a live database, web search) are never cached; a tool may
say otherwise with ``metadata={"cacheable": True}``."""


@dataclass
class ToolActivity:
    """One tool call of a run: what was asked and what came back."""

    name: str
    args: dict[str, Any]
    ok: bool
    output: str
    citations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AgentResult:
    """The outcome of one question."""

    answer: str
    citations: list[Citation]
    tool_calls: list[ToolActivity]
    thread_id: str
    model: str
    steps: int
    stop_reason: str
    grounding: list[dict[str, Any]] = field(default_factory=list)
    run_id: str = ""
    cached: dict[str, Any] | None = None
    """The cache hit that answered (its question and similarity), or None."""
    model_calls: list[dict[str, Any]] = field(default_factory=list)
    """Each model call of this turn: the model that answered, the router's reason, fallbacks."""
    unverified: list[str] = field(default_factory=list)
    """URIs cited or written in the answer that are not nodes of the knowledge graph."""
    usage: dict[str, int] = field(default_factory=dict)
    """Tokens of this turn's model calls: ``input_tokens``, ``output_tokens``, ``total_tokens``."""
    pending: list[dict[str, Any]] = field(default_factory=list)
    """Tool calls waiting for a person's approval (``stop_reason == "approval_required"``):
    each ``{"id", "name", "args"}``. Continue with :meth:`Agent.resume`."""

    claims: list[Claim] = field(default_factory=list)
    """The answer's claims, each checked against this run's evidence (empty when the check is off)."""
    answer_profile: str = ""
    """How this answer was made: ``constrained`` (the framework read the question and picked) or
    ``open`` (the model chose tools and wrote the answer); see agentmesh.answering.profiles."""
    reading: dict[str, Any] | None = None
    """The question as read against the data profile, once per turn (what it asks, the words it
    could not use); None without a database. See agentmesh.answering.reading."""
    declined_calls: list[dict[str, Any]] = field(default_factory=list)
    """Tool calls the model chose and the JSON tool-calling wrapper declined, each ``{"tool",
    "arguments", "reason"}``: numeric arguments that nothing in the conversation gave."""

    @property
    def needs_approval(self) -> bool:
        return bool(self.pending)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (``ask --json``, MCP's ``ask``, A2A), ``supported`` included."""
        data = asdict(self)
        data["citations"] = [c.model_dump(mode="json") for c in self.citations]
        data["claims"] = [c.model_dump(mode="json") for c in self.claims]
        data["supported"] = self.supported
        return data

    @property
    def supported(self) -> bool:
        """Every claim of the answer is supported by an evidence item of this run."""
        return all(c.supported for c in self.claims)

    @property
    def unsupported(self) -> list[Claim]:
        return [c for c in self.claims if not c.supported]


class Agent:
    """A grounded, tool-calling assistant. Every part can be passed in; the rest comes from settings."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: BaseChatModel | None = None,
        embeddings: Embeddings | None = None,
        knowledge: KnowledgeBase | None = None,
        retriever: Retriever | None = None,
        tools: Sequence[BaseTool] | None = None,
        extra_tools: Sequence[BaseTool] = (),
        registry: ToolRegistry | None = None,
        checkpointer: Any = None,
        web_search: Any = None,
        cache: AnswerCache | None | bool = None,
        components: Components | None = None,
        middleware: Sequence[Middleware] = (),
    ) -> None:
        """Parts passed in replace those the settings name; ``components`` hands over a whole
        :class:`~agentmesh.assembly.Components` (then the other parts must not be given).
        ``middleware``: your own steps around each model and tool call (agentmesh.graphs.middleware)."""
        if components is None:
            components = Components.from_settings(
                settings, model=model, embeddings=embeddings, knowledge=knowledge, retriever=retriever, tools=tools,
                checkpointer=checkpointer, cache=cache, extra_tools=extra_tools,
                registry=registry, web_search=web_search)
        elif settings is not None and settings is not components.settings:
            raise TypeError("Agent(settings, components=...): the settings are the components' own; pass one of them")
        self.components = parts = components
        self.settings = s = parts.settings
        self.model = parts.model
        self.knowledge = parts.knowledge
        self.retriever = parts.retriever
        self.facts = parts.facts
        self.tools = parts.tools
        self.checkpointer = parts.checkpointer
        self.cache = parts.cache
        self.telemetry = parts.telemetry
        self.answer_profile = profile = parts.answer_profile
        self.lexicon = parts.lexicon
        self.answer_check = parts.answer_check
        selector = None
        if len(self.tools) > profile.tools_per_question or (
                profile.tool_floor > 0.0 and any(not (t.metadata or {}).get("general") for t in self.tools)):
            selector = EmbeddingToolSelector(self.tools, self.embeddings, k=profile.tools_per_question,
                                             min_score=profile.tool_floor)
        retrieve = None
        if self.retriever is not None and s.top_k_nodes > 0:
            source, k, hops = self.retriever, s.top_k_nodes, s.kg_hops
            retrieve = lambda question: [asdict(node) for node in source.retrieve(question, k=k, hops=hops)]  # noqa: E731
        remembered = None
        if retrieve is not None and isinstance(self.retriever, KnowledgeBase) and s.kg_endpoint_mode != "live":
            remembered = self._remembered
        self._scope_kg = self._data_version()
        # what an answer depends on besides the question: a change to any of these never serves it again
        self.cache_scope = cache_scope(
            model=self.model_name, prompts=PROMPTS_VERSION, system=SYSTEM_PROMPT, tools=sorted(t.name for t in self.tools),
            db=str(s.db), top_k_nodes=s.top_k_nodes,
            # a retriever of one's own is part of the scope; the graph's scope stays as it was (its cache is kept)
            **({} if isinstance(self.retriever, KnowledgeBase) or self.retriever is None
               else {"retriever": type(self.retriever).__qualname__}),
            # so is a checker of one's own: the cache stores only what the checker let through
            **({} if type(self.answer_check) is ClaimChecker else {"checker": type(self.answer_check).__qualname__}),
        )
        self._base_scope = self.cache_scope
        self.cache_scope = cache_scope(base=self._base_scope, kg=self._scope_kg)
        # the cache's knowledge check, built once: it reads the knowledge base, which reloads in place
        named = getattr(self.retriever, "named_nodes", None)
        self._cache_checks = [KnowledgeCheck(named)] if named is not None else []
        self._model_check = self._equivalence_check(s, passed_model=model is not None) if self.cache is not None else None
        # strict checks and picked answers in the constrained profile; flagged claims and the model's own text in the open one
        self.answer_policy = profile.answer_check
        self.answer_style = profile.answer_style
        has_node = getattr(self.retriever, "has_node", None)
        self.graph = build_agent_graph(
            self.model,
            self.tools,
            retrieve=retrieve,
            remembered=remembered,
            select_tools=selector,
            is_node=has_node,
            cache_lookup=self._cache_lookup if self.cache is not None else None,
            cache_store=self._cache_store if self.cache is not None else None,
            uncacheable_tools=frozenset(t.name for t in self.tools if not (t.metadata or {}).get("cacheable", t.name in CACHEABLE_TOOLS)),
            history_budget=profile.history_budget,
            summarize=self._summarize,
            max_steps=s.max_steps,
            max_tool_errors=s.max_tool_errors,
            approval=s.approval,
            checkpointer=self.checkpointer,
            redact=redactor(s.secret_values()),
            check_answer=self.answer_check,
            answer_policy=self.answer_policy,
            answer_style=self.answer_style,
            searched=_searched(self.retriever is not None, [t.name for t in self.tools]),
            middleware=list(middleware),
        )

    def close(self) -> None:
        """Close the parts this agent opened: the cache's store and the MCP servers (their processes end)."""
        self.components.close()

    def __enter__(self) -> "Agent":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def workflow_checkpointer(self) -> Any:
        """Where this agent's workflow runs are kept (``<home>/workflows.sqlite``), made once."""
        return self.components.workflow_checkpointer

    def reload_knowledge(self) -> None:
        """Reload the knowledge graph (after facts changed); tools and grounding see it at once."""
        self.components.reload_knowledge()

    def _remembered(self, question: str, grounding: list[dict[str, Any]], run: RunContext | None) -> list[dict[str, Any]]:
        """``grounding`` with the remembered facts of ``run``'s user (and thread) that match ``question``."""
        s = self.settings
        mine = self.facts.recall(question, self.embeddings, user=run.user if run else None,
                                 thread_id=run.thread_id if run else "", k=s.top_k_nodes)
        if not mine:
            return grounding
        nodes = merge_recalled([RetrievedNode.from_dict(n) for n in grounding], mine, s.top_k_nodes)
        return [asdict(n) for n in nodes]

    def _data_version(self) -> str | None:
        version = getattr(self.retriever, "version", None)
        return str(version) if version is not None else None

    def _summarize(self, summary: str, messages: Sequence[Any]) -> str:
        """Fold ``messages`` into the running summary with the agent's own model."""
        transcript = "\n".join(f"{type(m).__name__.removesuffix('Message').lower()}: {m.text[:2000]}" for m in messages)
        reply = self.model.invoke([SystemMessage(SUMMARIZE_PROMPT.format(summary=summary or "(none)")), HumanMessage(transcript)])
        return reply.text.strip()

    def _equivalence_check(self, s: Settings, *, passed_model: bool) -> Any:
        """The model's check of a cache hit (``cache_model_check``), last after the rules and the graph."""
        if not s.cache_model_check:
            return None
        if s.model.startswith("embedded") and not passed_model:
            raise ConfigError("cache_model_check asks the model whether two questions are the same; the embedded "
                              "135M model cannot judge that reliably: use it with a real model, or turn it off")
        from agentmesh.memory.verify import ModelEquivalenceCheck
        from agentmesh.models.catalog import Catalog
        from agentmesh.models.routed import UsageLedger

        routed = getattr(self.model, "ledger", None) is not None  # a routed model records its own calls
        catalog, cost = Catalog.load(), None
        for name in (s.model, self.model_name):  # the catalog knows a model by its setting or its name
            try:
                cost = catalog[name].cost
                break
            except ConfigError:
                continue
        return ModelEquivalenceCheck(self.model, ledger=None if routed else UsageLedger(s.data_dir() / "usage.sqlite"),
                                     name=self.model_name, cost=cost)

    def _cache_lookup(self, question: str, private: bool = False) -> dict[str, Any] | None:
        checks = self._cache_checks
        if self._model_check is not None:
            if private:  # the check would send the question to the model: a private one is not served from the cache
                return None
            checks = [*checks, self._model_check]
        hit = self.cache.get(question, self._current_scope(), checks=checks)
        if hit is None:
            return None
        return {"answer": hit.answer, "similarity": hit.similarity, "question": hit.question,
                "citations": hit.payload.get("citations", []), "scope": hit.scope, "entry_id": hit.entry_id}

    def mark_cached_wrong(self, thread_id: str) -> dict[str, Any]:
        """A person says the last answer of ``thread_id``, served from the cache, was wrong: the
        entry is removed and its question needs a closer match from now on (``/cache wrong``,
        ``POST /api/threads/{id}/cache-wrong``). Returns what was removed."""
        if self.cache is None:
            raise AgentmeshError("the semantic cache is off (setting 'cache'): nothing to mark")
        snapshot = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        cached = (snapshot.values if snapshot else {}).get("cached")
        if not cached or "entry_id" not in cached:
            raise AgentmeshError(f"the last answer of thread {thread_id!r} did not come from the cache")
        question = next((m.text for m in reversed(snapshot.values.get("messages", [])) if isinstance(m, HumanMessage)), "")
        hit = CacheHit(cached["answer"], cached["question"], float(cached["similarity"]), {}, scope=cached["scope"],
                       entry_id=cached["entry_id"], query=question)
        need = self.cache.mark_wrong(hit)
        self.graph.update_state({"configurable": {"thread_id": thread_id}}, {"cached": None})
        return {"question": question, "cached_question": hit.question, "similarity": hit.similarity, "now_needs": need}

    def _cache_store(self, question: str, answer: str, citations: list[dict[str, Any]]) -> None:
        self.cache.put(question, answer, self._current_scope(), citations=citations, model=self.model_name)

    def _current_scope(self) -> str:
        # the graph may change under a running agent (KnowledgeBase.update): the scope follows it
        version = self._data_version()
        if version != self._scope_kg:
            self._scope_kg = version
            self.cache_scope = cache_scope(base=self._base_scope, kg=self._scope_kg)
        return self.cache_scope

    @property
    def embeddings(self) -> Embeddings:
        return self.components.embeddings

    @property
    def model_name(self) -> str:
        return str(getattr(self.model, "model_name", None) or getattr(self.model, "model", None) or self.settings.model)

    def _config(self, thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": recursion_limit_for(self.settings.max_steps)}

    def _input(self, message: str, context: Sequence[Any] = ()) -> dict[str, Any]:
        return {"messages": [*context, HumanMessage(message)]}

    def run(self, message: str, thread_id: str | None = None, *, private: bool = False, user: str | None = None) -> AgentResult:
        """Answer ``message`` in thread ``thread_id`` (a new thread when None). ``private``: this
        message (and so the rest of the thread) may only reach local models. ``user``: who asks
        (a server's authenticated user), for the run's context. When a dangerous tool call needs
        approval the result has ``pending`` calls; answer with :meth:`resume`."""
        run = RunContext(thread_id or uuid.uuid4().hex, uuid.uuid4().hex[:16], private, user)
        return self._invoke(self._input(message), run)

    def resume(self, thread_id: str, decision: Any = True) -> AgentResult:
        """Continue a run stopped for approval. ``decision``: True/"approve", False/"reject",
        ``{"decision": "reject", "reason": "..."}``, or a dict of these by call id."""
        return self._invoke(Command(resume=decision), self._pending_run(thread_id))

    @contextmanager
    def _traced(self, run: RunContext, config: dict[str, Any], question: str | None) -> Iterator[Callable[[AgentResult], None]]:
        """The run's OpenTelemetry span, when tracing is on: its steps, model and tool calls become
        child spans (through a callback handler in ``config``); the caller reports the result.
        The domain's lexicon is the one in effect for the run (agentmesh.answering.lexicon)."""
        telemetry = self.telemetry
        with using_lexicon(self.lexicon):
            if telemetry is None:
                yield lambda _result: None
                return
            with telemetry.run(thread_id=run.thread_id, run_id=run.run_id, model=self.model_name, question=question) as span:
                config["callbacks"] = [telemetry.handler()]
                yield lambda result: telemetry.finish(span, result)

    def _invoke(self, payload: Any, run: RunContext) -> AgentResult:
        started = time.time()
        config = self._config(run.thread_id)
        with self._traced(run, config, _question_of(payload)) as report:
            try:
                state = self.graph.invoke(payload, config, context=run, durability=DURABILITY)
            except Exception as exc:
                raise self._translate(exc) from exc
            result = self._result(state, run.thread_id, started, run.run_id)
            report(result)
        return result

    async def arun(self, message: str, thread_id: str | None = None, *, private: bool = False,
                   user: str | None = None) -> AgentResult:
        """Async :meth:`run`."""
        run = RunContext(thread_id or uuid.uuid4().hex, uuid.uuid4().hex[:16], private, user)
        return await self._ainvoke(self._input(message), run)

    async def aresume(self, thread_id: str, decision: Any = True) -> AgentResult:
        """Async :meth:`resume`."""
        return await self._ainvoke(Command(resume=decision), self._pending_run(thread_id))

    async def _ainvoke(self, payload: Any, run: RunContext) -> AgentResult:
        started = time.time()
        config = self._config(run.thread_id)
        with self._traced(run, config, _question_of(payload)) as report:
            try:
                state = await self.graph.ainvoke(payload, config, context=run, durability=DURABILITY)
            except Exception as exc:
                raise self._translate(exc) from exc
            result = self._result(state, run.thread_id, started, run.run_id)
            report(result)
        return result

    def pending(self, thread_id: str) -> list[dict[str, Any]]:
        """The tool calls of ``thread_id`` waiting for approval (empty when none)."""
        snapshot = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        return [call for item in (snapshot.interrupts if snapshot else ()) for call in _approval_calls(item.value)]

    def _pending_run(self, thread_id: str, user: str | None = None) -> RunContext:
        """The context of the stopped run (its id and privacy are in the thread's state), read in one look."""
        snapshot = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        if not any(_approval_calls(item.value) for item in (snapshot.interrupts if snapshot else ())):
            raise AgentmeshError(f"thread {thread_id!r} has no tool call waiting for approval")
        values = snapshot.values or {}
        run = values.get("run") or {}
        return RunContext(thread_id, str(run.get("id") or uuid.uuid4().hex[:16]), bool(run.get("private")), user)

    def stream(self, message: str | None, thread_id: str | None = None, *, private: bool = False,
               resume: Any = None, mode: str = "updates", context: Sequence[Any] = (),
               user: str | None = None) -> Iterator[tuple[str, Any]]:
        """Yield events as the run goes: ``(node, update)`` as each node finishes,
        ``("__interrupt__", [pending calls])`` when approval is needed, with ``mode="messages"``
        also ``("token", text)`` for each piece of the model's text, and last ``("result",
        AgentResult)`` (its trace saved, as with :meth:`run`). ``message=None`` with
        ``resume=decision`` continues a run stopped for approval. ``context``: earlier turns
        (Human/AI messages) to add to the thread before ``message``, for clients that send the
        whole conversation each time instead of naming a thread."""
        thread_id = thread_id or uuid.uuid4().hex
        if message is None:
            run = self._pending_run(thread_id, user)
            payload: Any = Command(resume=resume)
        else:
            run = RunContext(thread_id, uuid.uuid4().hex[:16], private, user)
            payload = self._input(message, context)
        run_id = run.run_id
        modes = ["updates", "messages"] if mode == "messages" else ["updates"]
        started = time.time()
        config = self._config(thread_id)
        with self._traced(run, config, message) as report:
            try:
                for kind, chunk in self.graph.stream(payload, config, context=run, stream_mode=modes, durability=DURABILITY):
                    if kind == "messages":
                        piece, meta = chunk
                        if (meta.get("langgraph_node") == "act" and isinstance(piece, AIMessage) and piece.text
                                and not piece.response_metadata.get(BEFORE_TURN)):  # a model's text, not a cache hit's
                            yield "token", piece.text
                        continue
                    for node, update in chunk.items():
                        if node == "__interrupt__":
                            yield node, [c for item in update for c in _approval_calls(item.value)]
                        else:
                            yield node, update or {}
                snapshot = self.graph.get_state(config)
            except Exception as exc:
                raise self._translate(exc) from exc
            values = dict(snapshot.values or {})
            if snapshot.interrupts:
                values["__interrupt__"] = snapshot.interrupts
            result = self._result(values, thread_id, started, run_id)
            report(result)
        yield "result", result

    def events(self, message: str | None, thread_id: str | None = None, *, private: bool = False, resume: Any = None,
               tokens: bool = True, context: Sequence[Any] = (), user: str | None = None) -> Iterator[Event]:
        """The run as typed events (agentmesh.events): tokens, tool calls started and finished,
        approvals needed, the answer, its citations and claims, and last ``Done(result)``.
        ``tokens=False`` leaves out ``Token`` events (and LangGraph's cost of tracing them).
        Under the strict answer check no tokens are streamed: an answer is shown once checked."""
        tokens = tokens and self.answer_policy != "strict"
        stream = self.stream(message, thread_id, private=private, resume=resume, mode="messages" if tokens else "updates",
                             context=context, user=user)
        try:
            yield from events_of(stream)
        finally:
            stream.close()

    def history(self, thread_id: str) -> list[Any]:
        """The messages of a thread so far."""
        snapshot = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        return list(snapshot.values.get("messages", [])) if snapshot and snapshot.values else []

    def _translate(self, exc: Exception) -> Exception:
        if isinstance(exc, AgentmeshError):
            return exc
        if isinstance(exc, GraphRecursionError):
            return AgentmeshError(
                f"the run exceeded LangGraph's recursion limit; lower max_steps (now {self.settings.max_steps})"
            )
        return translate_model_error(exc, self.settings) or exc

    @property
    def traces_dir(self):
        return self.components.traces_dir

    def _result(self, state: dict[str, Any], thread_id: str, started: float, run_id: str) -> AgentResult:
        pending = [c for item in state.get("__interrupt__", ()) for c in _approval_calls(item.value)]
        messages = state.get("messages", [])
        start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
        turn = messages[start:]
        outputs = {m.tool_call_id: m for m in turn if isinstance(m, ToolMessage)}
        activity = []
        for message in turn:
            if isinstance(message, AIMessage):
                for call in message.tool_calls:
                    out = outputs.get(call["id"])
                    cited = out.artifact if out is not None and isinstance(out.artifact, list) else []
                    activity.append(
                        ToolActivity(call["name"], call["args"], out is not None and out.status != "error", out.text if out else "", cited)
                    )
        model_calls = [
            {"model": m.response_metadata.get("model_name", self.model_name), "reason": m.response_metadata.get("route_reason", ""),
             "fallback_after": m.response_metadata.get("fallback_after", []),
             "rejected": m.response_metadata.get("route_rejected", {})}
            for m in turn if isinstance(m, AIMessage) and not m.response_metadata.get("stop_reason") and not m.response_metadata.get("cached")
        ]
        declined = [m.response_metadata[DECLINED_CALL] for m in turn
                    if isinstance(m, AIMessage) and m.response_metadata.get(DECLINED_CALL)]
        result = AgentResult(
            declined_calls=declined,
            answer_profile=self.answer_profile.name,
            reading=state.get("reading"),
            answer=state.get("answer", ""),
            citations=[Citation(**c) for c in state.get("citations", [])],
            tool_calls=activity,
            thread_id=thread_id,
            model=model_calls[-1]["model"] if model_calls else self.model_name,
            steps=state.get("steps", 0),
            stop_reason=state.get("stop_reason", "answered"),
            grounding=state.get("grounding", []),
            run_id=run_id,
            cached=state.get("cached"),
            model_calls=model_calls,
            unverified=list(state.get("unverified", [])),
            claims=[Claim(**c) for c in state.get("claims", [])],
            pending=pending,
            usage=_usage(turn),
        )
        if pending:  # the run is not over: its trace is written when it ends
            result.answer, result.stop_reason = "", "approval_required"
            return result
        record = RunRecord(
            run_id=result.run_id, thread_id=thread_id, question=state.get("question", ""), answer=result.answer,
            model=result.model, started=started, ended=time.time(), retrieved=result.grounding,
            tool_calls=[asdict(a) for a in activity], citations=state.get("citations", []), stop_reason=result.stop_reason,
            claims=state.get("claims", []),
            cached=result.cached, model_calls=model_calls, answer_profile=self.answer_profile.name,
            reading=result.reading,
        )
        save_trace(self.traces_dir, record)
        # what the run's parts wrote in the data home (index, store, cache files: RocksDB makes its
        # files 0644 whatever the umask) is made 0600 here; its folders are 0700 from the start
        tighten(self.settings.home)
        return result


def _question_of(payload: Any) -> str | None:
    """The new question of a run's input (None for a resume)."""
    messages = payload.get("messages") if isinstance(payload, dict) else None
    return messages[-1].content if messages and isinstance(messages[-1].content, str) else None


def _approval_calls(value: Any) -> list[dict[str, Any]]:
    return list(value.get("calls", [])) if isinstance(value, dict) and value.get("type") == "approval" else []


def _usage(messages: Sequence[Any]) -> dict[str, int]:
    total = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    for message in messages:
        for key, value in ((getattr(message, "usage_metadata", None) or {}).items() if isinstance(message, AIMessage) else ()):
            if key in total and isinstance(value, int):
                total[key] += value
    return total


def _searched(knowledge: bool, tools: list[str]) -> str:
    """What a run can look in, for the "I could not find that in ..." answer."""
    places = (["the knowledge graph"] if knowledge else []) + (["the database"] if "sql" in tools else []) + (
        ["the documents"] if "search" in tools else [])
    if not places:
        return "the evidence available to me"
    return places[0] if len(places) == 1 else ", ".join(places[:-1]) + " or " + places[-1]
