"""Middleware: your own step around each model call, each tool call and the answer, without forking the graph.

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
and the tool selection (:class:`ToolSelection`) run outside your hooks, so they see the history
and the tools as the model will; the tools' own narrowing and guards (:class:`NarrowedTools`,
:class:`QuestionGuard`) and pick mode's output tool (agentmesh.graphs.pick.PickAnswer) run
inside them.

``review_tool_calls`` sees all the calls one model reply proposes, before any runs, and names
those not to run (:class:`ToolCallsRequest`; a policy by user, a budget, a rate limit). The
person's approval of dangerous calls is such a step (:class:`ApprovalStep`), the last one asked:
a person is asked only about calls your reviews let through, and no review can approve a call
for them. A tool call's ``wrap_tool_call`` hooks run after every review.

Whatever a hook returns, secrets are scrubbed from tool results, and every tool result reaches
the model marked as data, those a hook adds included.

``wrap_answer`` sees the answer a run arrived at before anyone does (:class:`AnswerRequest`:
its text, why the run stopped, this run's evidence) and returns the :class:`Answer` to show,
or asks the model once more (``Answer(retry=note)``). The claim check is such a step
(:class:`ClaimCheckStep`), and the outermost one: an answer a hook rewrites is checked like the
model's own, so no hook can show an unsupported claim as fact under ``strict``.

``before_turn`` sees a new question before anything is retrieved and may answer it at once
(a canned reply, a refusal); the first hook that answers ends the turn. The semantic cache is
such a step (:class:`SemanticCacheStep`), the last to be asked. ``after_answer`` sees the answer
as shown, after every ``wrap_answer`` step and so after the claim check: where a cache stores,
and an audit log writes, wherever the hook sits in the list.

>>> class Signed(Middleware):
...     def wrap_answer(self, request, handler):
...         answer = handler(request)
...         return replace(answer, text=answer.text + " (from our handbook)")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from langgraph.types import interrupt

from agentmesh.claims import NOT_FOUND, AnswerCheck, Claim, Evidence, evidence_answer
from agentmesh.graphs.history import Summarizer, fit_history, retrieval_query
from agentmesh.records import is_remembered
from agentmesh.prompts import CHECK_RETRY_PROMPT
from agentmesh.records import Citation, RunContext

__all__ = ["Middleware", "ModelRequest", "ToolRequest", "ToolCallsRequest", "AnswerRequest", "Answer", "TurnRequest", "chain_model_call",
           "chain_tool_call", "chain_answer", "first_answer", "QuestionGuard", "NarrowedTools", "HistoryBudget", "ClaimCheckStep",
           "SemanticCacheStep", "UnappliedWordsStep", "narrowing", "evidence_citations", "merge_citations", "overriding",
           "declined_calls", "ApprovalStep", "ToolSelection", "ToolSelector", "APPROVAL_MODES", "needs_approval", "approved_ids",
           "grouped_unread"]


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


@dataclass(frozen=True)
class ToolCallsRequest:
    """The tool calls one model reply proposes, before any of them runs."""

    calls: list[dict[str, Any]]
    tools: dict[str, BaseTool] = field(repr=False)
    """The agent's tools by name (a call may name none of them)."""
    state: dict[str, Any] = field(repr=False)
    run: RunContext | None = None


@dataclass(frozen=True)
class AnswerRequest:
    """The answer a run has arrived at, before anyone sees it."""

    text: str
    stop_reason: str
    """"answered", "not_found", "evidence_only", "step_limit" or "error_budget"."""
    evidence: list[Evidence] = field(repr=False)
    """This run's evidence items (grounding facts, tool rows and outputs, the question)."""
    state: dict[str, Any] = field(repr=False)
    run: RunContext | None = None
    picked: bool = False
    """The text quotes evidence lines the model picked (``answer_style = "pick"``): it cites exactly those."""
    may_retry: bool = False
    """The model may still be asked again this turn (``Answer(retry=...)``): once, within the step limit."""

    def override(self, **changes: Any) -> "AnswerRequest":
        return replace(self, **changes)


@dataclass(frozen=True)
class Answer:
    """What is shown: the text, why the run stopped, its citations and its checked claims."""

    text: str
    stop_reason: str
    citations: list[Citation] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    """Cited or written URIs that are no node of the knowledge graph."""
    claims: list[Claim] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    """Kept with the answer; a cache hit's record is under ``"cached"``."""
    retry: str = ""
    """Not shown: the model is asked again with this note as the last message. Honoured only
    when the request's ``may_retry``; otherwise the answer is shown as it is."""


@dataclass(frozen=True)
class TurnRequest:
    """A new question, before anything is retrieved or any model is called."""

    question: str
    state: dict[str, Any] = field(repr=False)
    run: RunContext | None = None
    private: bool = False
    """The thread's data may reach local models only."""
    first_turn: bool = True
    """The thread's first question (a follow-up's meaning depends on the conversation)."""


ModelHandler = Callable[[ModelRequest], AIMessage]
ToolHandler = Callable[[ToolRequest], ToolMessage]
AnswerHandler = Callable[[AnswerRequest], Answer]


class Middleware:
    """Subclass and override either hook; the defaults pass the request on unchanged."""

    def wrap_model_call(self, request: ModelRequest, handler: ModelHandler) -> AIMessage:
        return handler(request)

    def wrap_tool_call(self, request: ToolRequest, handler: ToolHandler) -> ToolMessage:
        return handler(request)

    def wrap_answer(self, request: AnswerRequest, handler: AnswerHandler) -> Answer:
        return handler(request)

    def review_tool_calls(self, request: ToolCallsRequest) -> dict[str, str]:
        """The calls not to run, ``{call id: reason}``; the model sees each reason. Asked once per
        model reply, before any of its calls runs (they then run in parallel). A reply stopped by
        an approval ``interrupt()`` is reviewed again when it resumes: keep this a function of the
        request."""
        return {}

    def before_turn(self, request: TurnRequest) -> Answer | None:
        """An answer to give at once, without retrieval or a model call; None to go on."""
        return None

    def after_answer(self, request: AnswerRequest, answer: Answer) -> None:
        """Called with the answer as it is shown (checked), once per turn that reached the answer
        step; not for an answer given before the turn, nor for one sent back for a retry."""


def overriding(middleware: Sequence[Middleware], hook: str) -> list[Middleware]:
    """The middleware whose class overrides ``hook`` ("wrap_answer", ...), in list order: the
    others would only pass the call on."""
    return [m for m in middleware if getattr(type(m), hook) is not getattr(Middleware, hook)]


def first_answer(middleware: Sequence[Middleware], request: TurnRequest) -> Answer | None:
    """The first answer a middleware's ``before_turn`` gives, in list order; None if none does."""
    for hook in overriding(middleware, "before_turn"):
        if (answer := hook.before_turn(request)) is not None:
            return answer
    return None


def declined_calls(middleware: Sequence[Middleware], request: ToolCallsRequest) -> dict[str, str]:
    """``{call id: reason}`` for the calls the middleware's ``review_tool_calls`` decline, in list
    order: each hook sees only the calls still to run, and no hook can bring back one declined
    before it. A hook that fails declines every call still to run (a check that cannot answer
    is a no); an approval ``interrupt()`` passes through."""
    declined: dict[str, str] = {}
    for hook in overriding(middleware, "review_tool_calls"):
        remaining = [c for c in request.calls if c["id"] not in declined]
        if not remaining:
            break
        ids = {c["id"] for c in remaining}
        try:
            decided = hook.review_tool_calls(replace(request, calls=remaining)) or {}
        except GraphBubbleUp:  # interrupt(): the run stops here and asks
            raise
        except Exception as exc:
            decided = {i: f"the check {type(hook).__name__} failed: {str(exc).strip() or type(exc).__name__}" for i in ids}
        declined.update({i: str(reason or "declined") for i, reason in decided.items() if i in ids})
    return declined


def chain_model_call(middleware: Sequence[Middleware], call: ModelHandler) -> ModelHandler:
    """``call`` wrapped by each middleware's ``wrap_model_call``, the first one outermost."""
    for hook in reversed(overriding(middleware, "wrap_model_call")):
        call = _bind(hook.wrap_model_call, call)
    return call


def chain_tool_call(middleware: Sequence[Middleware], call: ToolHandler) -> ToolHandler:
    """``call`` wrapped by each middleware's ``wrap_tool_call``, the first one outermost."""
    for hook in reversed(overriding(middleware, "wrap_tool_call")):
        call = _bind(hook.wrap_tool_call, call)
    return call


def chain_answer(middleware: Sequence[Middleware], call: AnswerHandler) -> AnswerHandler:
    """``call`` wrapped by each middleware's ``wrap_answer``, the first one outermost."""
    for hook in reversed(overriding(middleware, "wrap_answer")):
        call = _bind(hook.wrap_answer, call)
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


ToolSelector = Callable[[str], list[str]]
"""(what the question asks, with what it refers back to) -> the names of the tools to offer, best first."""


class ToolSelection(Middleware):
    """A built-in step before each model call: of the agent's own ``tools``, only those
    ``select`` chooses for the question are offered, so a small model chooses among few. Every
    tool that narrows itself to the question and fits it (``narrow``, as ``sql_rank`` for "the
    highest X") comes first, in the place of the last ones chosen by similarity: a fitting choice
    from a list beats free SQL for a small model, whatever the embeddings say. Other tools in
    the request (the pick-mode output tool) pass.

    The choice is made once per turn, at its first model call, and kept in the thread's state
    (``tools``), so a retry or a second step offers the same tools and the trace shows them.
    ``build_agent_graph(select_tools=...)`` puts it outside your hooks: they see the tools the
    model will be offered, and may cut or add."""

    def __init__(self, select: ToolSelector, tools: Sequence[BaseTool]) -> None:
        self.select, self.tools = select, {t.name: t for t in tools}

    def chosen(self, state: dict[str, Any]) -> list[str]:
        """The names offered this turn: those kept in ``state["tools"]``, else chosen now."""
        if state.get("tools") is not None:
            return list(state["tools"])
        question = str(state.get("question", ""))
        query = retrieval_query(state.get("messages", []), question)
        if not query:
            return list(self.tools)
        # a tool that changes state (metadata "asked_by": its verbs) is offered only to a question that asks for it
        self_asked = {n for n, t in self.tools.items() if _asked_for(t, question)}
        if grouped_unread(state):  # a tool that narrows by its own parse gives one value, another question's answer
            self_asked = {n for n in self_asked if narrowing(self.tools[n]) is None or callable(self.tools[n].metadata.get("read"))}
        offered = [n for n in self.select(query) if n in self.tools and n in self_asked]
        # every tool that fits, those similarity chose among them, then the rest of its choice
        fitting = [n for n in dict.fromkeys([*offered, *self.tools]) if n in self_asked and _fits(self.tools[n], question)]
        return [*fitting, *(n for n in offered if n not in fitting)][:max(len(offered), len(fitting))]

    def wrap_model_call(self, request: ModelRequest, handler: ModelHandler) -> AIMessage:
        chosen = self.chosen(request.state)
        request.updates["tools"] = chosen
        keep = set(chosen)
        return handler(request.override(tools=[t for t in request.tools if t.name in keep or t.name not in self.tools]))


def grouped_unread(state: Mapping[str, Any]) -> bool:
    """The turn's reading (``state["reading"]``) found the question asks one value per group
    ("how many businesses are located in each neighbourhood") and did not read it whole: a tool
    that narrows itself by its own parse (``sql_rank``, ``sql_lookup``) gives one value, which
    answers another question, so it is neither offered (:class:`ToolSelection`) nor called
    without the model (:class:`agentmesh.graphs.pick.PickAnswer`)."""
    reading = state.get("reading") or {}
    return bool(reading.get("group")) and not reading.get("complete")


def _asked_for(tool: BaseTool, question: str) -> bool:
    """A tool that changes state names the verbs that ask for it (``metadata={"asked_by": (...)}``):
    it is for a question that says one of them. Every other tool is for any question."""
    verbs = (tool.metadata or {}).get("asked_by")
    if not verbs:
        return True
    said = set(re.findall(r"[a-z]+", question.lower()))
    return any(word.startswith(verb) for verb in verbs for word in said)


def _fits(tool: BaseTool, question: str) -> bool:
    narrow = narrowing(tool)
    return bool(question) and narrow is not None and narrow(question) is not None


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


APPROVAL_MODES = ("ask", "auto", "deny")


def needs_approval(tool: BaseTool | None, args: dict[str, Any]) -> bool:
    """True when ``tool`` is marked dangerous for these arguments (its ``approval`` metadata: True,
    or a predicate over the call's arguments, e.g. "this SQL writes")."""
    if tool is None:
        return False
    rule = (tool.metadata or {}).get("approval", False)
    return bool(rule(args)) if callable(rule) else bool(rule)


def approved_ids(decision: Any, calls: Sequence[dict[str, Any]]) -> dict[str, str]:
    """``{call id: "" if approved else the reason}`` from a resume value: True/False,
    "approve"/"reject", ``{"decision": ..., "reason": ...}``, or a dict by call id of any of these.
    Anything unclear, and a call the decision does not name, is a no."""

    def one(value: Any) -> str:
        reason = ""
        if isinstance(value, dict):
            reason, value = str(value.get("reason") or ""), value.get("decision", value.get("approve"))
        if isinstance(value, str):
            value = value.strip().lower() in ("approve", "approved", "yes", "y", "true", "ok")
        return "" if value is True else (reason or "rejected")

    if isinstance(decision, dict) and any(c["id"] in decision for c in calls):
        return {c["id"]: one(decision.get(c["id"], False)) for c in calls}
    return {c["id"]: one(decision) for c in calls}


class ApprovalStep(Middleware):
    """The built-in review of tool calls, the last one asked: a call to a tool marked dangerous
    (:func:`needs_approval`) runs only with a person's yes. ``ask``: the run stops with one
    ``interrupt({"type": "approval", "calls": [...]})`` for all such calls of the reply, and
    resumes with ``Command(resume=decision)`` (:func:`approved_ids`); ``auto`` runs them without
    asking; ``deny`` never runs them.

    ``build_agent_graph(approval=...)`` puts it after your ``review_tool_calls`` hooks, so a person
    is asked only about calls your hooks let through, and none of them can approve a call for
    the person."""

    def __init__(self, mode: str = "ask") -> None:
        if mode not in APPROVAL_MODES:
            raise ValueError(f"approval must be one of {', '.join(APPROVAL_MODES)}, not {mode!r}")
        self.mode = mode

    def review_tool_calls(self, request: ToolCallsRequest) -> dict[str, str]:
        risky = [c for c in request.calls if needs_approval(request.tools.get(c["name"]), c["args"])]
        if not risky or self.mode == "auto":
            return {}
        if self.mode == "deny":
            return {c["id"]: "approval is set to 'deny'" for c in risky}
        # the node stops here; on resume it runs again from the top and interrupt() returns the decision
        decision = interrupt({"type": "approval", "calls": [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in risky]})
        return {i: r for i, r in approved_ids(decision, risky).items() if r}


def evidence_citations(evidence: Sequence[Evidence], text: str,
                       by_source: dict[str, list[Citation]] | None = None) -> list[Citation]:
    """The nodes and queries whose evidence lines ``text`` quotes, each once. ``by_source``: the
    citations a tool call gave with its result, by the call's evidence source (``sql_rank``'s SQL,
    which its arguments do not show)."""
    cited: list[Citation] = []
    for e in evidence:
        if e.kind == "question" or e.text not in text:
            continue
        if by_source and e.source in by_source:
            cited += by_source[e.source]
        elif e.source.startswith("http"):
            cited.append(Citation(kind="node", ref=e.source, detail=e.subject, verified=True))
        elif e.source.startswith(("sql:", "sparql:")):
            kind, _, query = e.source.partition(": ")
            cited.append(Citation(kind=kind, ref=kind, detail=query))
    return merge_citations(cited)


def merge_citations(*groups: Sequence[Citation | dict[str, Any]]) -> list[Citation]:
    """The citations of ``groups`` in order, each once (``Citation.key``: a node by its URI, a
    query or code by its text); dicts, as the thread's state holds them, are read as citations."""
    seen: set[tuple[str, str, str]] = set()
    merged: list[Citation] = []
    for item in (i for group in groups for i in group):
        citation = item if isinstance(item, Citation) else Citation(**item)
        if citation.key() not in seen:
            seen.add(citation.key())
            merged.append(citation)
    return merged


ANSWER_POLICIES = ("strict", "flag", "off")


class ClaimCheckStep(Middleware):
    """The built-in answer step: the answer's claims checked against this run's evidence by
    ``check`` (agentmesh.claims.ClaimChecker, or any ``AnswerCheck`` of agentmesh.ports).

    ``policy``: ``flag`` records the claims (unsupported ones are shown as such); ``strict``
    never shows an unsupported claim as fact: the model is asked once more, told which claims
    failed, then the answer is replaced by the evidence lines that match the question, or by
    "I could not find that" naming ``searched``; ``off`` checks nothing. An evidence answer's
    quotes are checked too, but not held to answering the question.

    ``build_agent_graph(check_answer=..., answer_policy=...)`` puts it outermost, so an answer
    your hooks rewrite is checked like the model's."""

    def __init__(self, check: AnswerCheck, policy: str = "flag", searched: str = "the knowledge graph or the tools' results") -> None:
        if policy not in ANSWER_POLICIES:
            raise ValueError(f"answer_policy must be one of {', '.join(ANSWER_POLICIES)}, not {policy!r}")
        self.check, self.policy, self.searched = check, policy, searched

    def wrap_answer(self, request: AnswerRequest, handler: AnswerHandler) -> Answer:
        answer = handler(request)
        if self.policy == "off" or answer.retry or not answer.text.strip():
            return answer
        if answer.stop_reason == "evidence_only":  # quotes, checked; they claim no answer
            return replace(answer, claims=[c for c in self.check.check(answer.text, request.evidence) if c.kind != "answer"])
        if answer.stop_reason != "answered":
            return answer
        claims = list(self.check.check(answer.text, request.evidence))
        claims += [Claim(text=uri, kind="entity", status="unsupported") for uri in answer.unverified]  # a URI that is no node: invented
        failed = [c for c in claims if c.status == "unsupported"]
        if not failed or self.policy != "strict":
            return replace(answer, claims=claims)
        if request.may_retry:
            listed = "; ".join(dict.fromkeys(f"'{c.text}'" for c in failed))
            return replace(answer, claims=claims, retry=CHECK_RETRY_PROMPT.format(claims=listed))
        fallback = evidence_answer(str(request.state.get("question", "")), request.evidence, self.searched)
        stop = "not_found" if fallback == NOT_FOUND.format(searched=self.searched) else "evidence_only"
        # the fallback quotes evidence and says it is no answer: its quotes are checked,
        # but "names nothing beyond the question" is not held against it
        quoted = [c for c in self.check.check(fallback, request.evidence) if c.kind != "answer"]
        return Answer(fallback, stop, citations=evidence_citations(request.evidence, fallback), claims=quoted)


class UnappliedWordsStep(Middleware):
    """The built-in last word on "not found": when the question's reading (the ``read`` metadata
    of a tool, ``sql_answer``'s) left words unread or found no one interpretation, the answer says
    what it could not apply, rather than only that nothing was found; and where the rest of the
    reading composes, its rows are shown beside it as evidence, not as the answer ("I found the
    count of paper per year, but could not apply 'published'"). Where two columns fit the question
    alike, each reading's rows are shown side by side, as evidence. Outermost: it sees what the
    strict check let through."""

    def __init__(self, tool: BaseTool, searched: str = "the knowledge graph or the tools' results",
                 answering: frozenset[str] | None = None) -> None:
        self.read, self.partial, self.searched = tool.metadata["read"], tool.metadata.get("partial"), searched
        self.alternatives = tool.metadata.get("alternatives")
        self.answering = answering

    def wrap_answer(self, request: AnswerRequest, handler: AnswerHandler) -> Answer:
        answer = handler(request)
        question = str(request.state.get("question", ""))
        if answer.retry or not question or answer.stop_reason not in ("not_found", "answered"):
            return answer
        reading = self.read(question)
        unread, why = reading.unapplied()
        if reading.complete or not (unread or why):
            return answer
        words = [f"'{w}'" for w in unread]
        if answer.stop_reason == "answered":
            return self._unchecked_rows(request, answer, words, why)
        each = self.alternatives(question) if callable(self.alternatives) else ("", [])
        if len(each[1]) > 1:  # columns that fit alike: each reading's rows side by side, none as the answer
            place, shown = each
            text = (NOT_FOUND.format(searched=self.searched) + f" The question fits the data in {len(shown)} ways "
                    f"({place}), and I cannot tell which you mean. Each, as evidence, not an answer:")
            for n, (summary, rows, _) in enumerate(shown, 1):
                text += f"\n({n}) {summary}:\n{rows}"
            options = dict(self.read(question).choices).get(place, [])
            if options:  # how to say which, where nothing asks (agentmesh ask, a bot)
                said = " or ".join(f'"(meaning: {o})"' for o in options)
                text += f"\nTo say which, ask again with {said} after the question."
            return Answer(text, "evidence_only", citations=[*answer.citations, *(Citation(**c) for _, _, c in shown)])
        text = NOT_FOUND.format(searched=self.searched)
        if words:
            text += f" The question says {', '.join(words)}, which I could not match to anything in the data."
        if why:
            text += " " + "; ".join(why).capitalize() + "."
        found = self.partial(reading) if callable(self.partial) else None
        if found is None:
            return replace(answer, text=text)
        rows, citation = found
        text += (f"\nWhat I found without {'them' if len(words) > 1 else 'it'} ({reading.summary()}), "
                 f"which does not answer the question as asked:\n{rows}")
        if words:  # the user's way to say a word restricts nothing here ("published": every paper is)
            text += (f"\nIf {', '.join(words)} {'restrict' if len(words) > 1 else 'restricts'} nothing in your data, "
                     "add it to known_words in your lexicon file (the lexicon setting) and ask again.")
        return Answer(text, "evidence_only", citations=[*answer.citations, Citation(**citation)], claims=[])

    def _unchecked_rows(self, request: AnswerRequest, answer: Answer, words: list[str], why: list[str]) -> Answer:
        """In the constrained profile (picked answers), rows of a query the model wrote are no answer to
        a question the reading could not read whole: nothing checked that the query means the question
        (a 135M model's "SELECT 1 AS num_projects, ..." holds its own rows). Shown as evidence."""
        if self.answering is None or not request.picked:
            return answer
        rows = [c.evidence for c in answer.claims if c.supported and c.evidence is not None and c.evidence.kind == "row"]
        written = [e for e in rows if e.source.split(":", 1)[0].strip() not in self.answering]
        if not written:
            return answer
        text = (f"I could not check that a query answers this question: it says {', '.join(words)}, which I could not "
                f"match to anything in the data. The rows the query returned, which may not answer it:\n{answer.text}"
                if words else f"I could not check that a query answers this question ({'; '.join(why)}). "
                f"The rows the query returned, which may not answer it:\n{answer.text}")
        return replace(answer, text=text, stop_reason="evidence_only",
                       claims=[c for c in answer.claims if c.kind != "answer"])


CacheLookup = Callable[[str, bool], "dict[str, Any] | None"]
"""(question, private) -> a cached answer's record (``answer``, ``citations``, ``similarity``, ...), or None."""
CacheStore = Callable[[str, str, list[dict[str, Any]]], None]
"""(question, answer, citations as dicts, the form the cache keeps) -> None."""


def _rests_on_remembered(state: dict[str, Any], answer: "Answer") -> bool:
    """The turn saw a remembered fact (in its grounding, a tool's evidence or the answer's
    citations): a fact is its user's alone, so an answer that may rest on it is never served to another."""
    refs = [n.get("uri", "") for n in state.get("grounding", [])] + [c.get("ref", "") for c in state.get("evidence", [])]
    refs += [c.ref for c in answer.citations]
    return any(is_remembered(ref) for ref in refs)


class SemanticCacheStep(Middleware):
    """The semantic cache as a step. Before a thread's first question, a hit answers it with no
    retrieval and no model call (``stop_reason`` "cached"); a follow-up is never served, since
    its meaning depends on the conversation. After the answer step, the answer is stored when it
    is a plain answer to a first question whose claims were all supported, no cited URI failed,
    and no tool with side effects or time-dependent results (``uncacheable``) took part.

    ``build_agent_graph(cache_lookup=..., cache_store=...)`` asks it last before a turn (your
    hooks may answer or refuse first). It stores in ``after_answer``, which sees the answer the
    claim check let through, so a cache step of your own in ``middleware`` behaves the same."""

    def __init__(self, lookup: CacheLookup | None, store: CacheStore | None = None,
                 uncacheable: frozenset[str] = frozenset()) -> None:
        self.lookup, self.store, self.uncacheable = lookup, store, uncacheable

    def before_turn(self, request: TurnRequest) -> Answer | None:
        if self.lookup is None or not request.first_turn or not request.question:
            return None
        hit = self.lookup(request.question, request.private)
        if hit is None:
            return None
        return Answer(hit["answer"], "cached", citations=merge_citations(hit.get("citations", [])), metadata={"cached": hit})

    def after_answer(self, request: AnswerRequest, answer: Answer) -> None:
        if self.store is not None and self._storable(request, answer):
            self.store(str(request.state.get("question", "")), answer.text, [c.model_dump() for c in answer.citations])

    def _storable(self, request: AnswerRequest, answer: Answer) -> bool:
        messages = request.state.get("messages", [])
        used = {c["name"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
        first_turn = sum(isinstance(m, HumanMessage) for m in messages) == 1
        return (first_turn and answer.stop_reason == "answered" and bool(answer.text) and not used & self.uncacheable
                and not answer.unverified and all(c.status == "supported" for c in answer.claims)
                and not _rests_on_remembered(request.state, answer))
