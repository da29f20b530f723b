"""``agentmesh serve``: the agent over HTTP.

* ``POST /v1/chat/completions``: OpenAI-compatible, streamed by SSE when ``stream`` is true.
  The server keeps each thread's history: the thread id comes from the ``X-Thread-Id`` header,
  else from the ``user`` field, else a new thread is made (and returned in ``X-Thread-Id``).
  Only the last user message of the request is new input. Answers carry an ``agentmesh`` field
  (citations, tool calls, run id, pending approvals). A thread waiting for approval takes
  "approve" or "reject" as its next message.
* ``GET /v1/models``, ``GET /healthz``, ``GET /metrics`` (Prometheus text format).
* ``GET /``: the web chat page; ``/api/...``: its event stream, threads and approvals.
* ``POST /slack/events``: the Slack app, when a bot token and signing secret are configured.

A bearer token guards every endpoint but ``/healthz``, the page itself and Slack's (which
checks Slack's signature instead). In front of them all, :class:`~agentmesh.apps.origin_guard.OriginGuard`
answers only requests that name this server in ``Host`` (loopback, or ``server_public_names``) and
takes changes only from its own page's ``Origin`` (DNS rebinding, cross-site requests); the page's
approvals also carry the page's own token. ``server_token`` is one token for one tenant: its holders
share every thread. ``server_tokens = {user = token}`` gives each user a token of their own, and
a thread belongs to the user who made it: another user who names the same thread id gets a
thread of their own, and ``/api/threads`` lists only the caller's. Without a token the server refuses to bind
to anything but a loopback address. Runs execute in worker threads (``server_concurrency``
at once), so requests never block each other; two requests on the same thread are served
one after the other, so a thread's history stays in order.
"""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict

from agentmesh.apps.access import OWNER_PREFIX, bearer_principal, stored_thread, thread_lock, turn_lock, turn_locks
from agentmesh.apps.events import aiter_events
from agentmesh.apps.origin_guard import PAGE_TOKEN_SLOT, OriginGuard, page_token, page_token_matches
from agentmesh.errors import AgentmeshError, ConfigError, KnowledgeGraphUnavailableError, ThreadBusyError

__all__ = ["create_app", "app_from_env", "check_bind", "thread_lock", "turn_lock", "bearer_principal", "stored_thread",
           "BackgroundServer"]

PUBLIC_PATHS = frozenset({"/", "/healthz", "/slack/events", "/favicon.ico", "/.well-known/agent-card.json"})
_DECISIONS = {"approve", "approved", "yes", "y", "ok", "reject", "rejected", "no", "n"}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    user: str | None = None


class WebChat(BaseModel):
    message: str
    thread_id: str | None = None


class Decision(BaseModel):
    decision: Any = "reject"
    reason: str | None = None


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if token:
        return
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ConfigError(
        f"refusing to listen on {host} without a token: anyone who can reach it could use the agent and its tools; "
        "set server_token (AGENTMESH_SERVER_TOKEN) or bind to 127.0.0.1"
    )


def app_from_env() -> FastAPI:
    """The app as ``agentmesh serve --workers N`` builds it in each worker process: settings
    from ``AGENTMESH_*`` (the command passes its options that way) and ``AGENTMESH_SERVE_CONFIG``."""
    import os

    from agentmesh.agent import Agent
    from agentmesh.config import Settings

    config = os.environ.get("AGENTMESH_SERVE_CONFIG")
    settings = Settings.load(Path(config) if config else None)
    return create_app(Agent(settings))


def shared_services(agent: Any, locks: Any) -> dict[str, dict[str, Any]]:
    """Each service this server keeps state in, whether it is shared with other replicas, and
    whether it answers now: ``{"threads": {"backend": "postgresql", "shared": True, "ok": True}, ...}``.
    An error is reported without the settings' secrets."""
    settings = agent.settings
    secrets = settings.secret_values()

    def probe(backend: str, shared: bool, check: Callable[[], Any] | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"backend": backend, "shared": shared, "ok": True}
        if check is not None:
            try:
                check()
            except Exception as exc:  # any failure to reach it is the answer
                message = f"{type(exc).__name__}: {exc}".strip()
                for secret in secrets:
                    message = message.replace(secret, "***")
                entry.update(ok=False, error=message[:300])
        return entry

    threads = str(settings.threads or "")
    services = {}
    if threads.startswith("postgresql"):
        def ping_postgres() -> None:
            import psycopg

            with psycopg.connect(threads.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3) as conn:
                conn.execute("SELECT 1")

        services["threads"] = probe("postgresql", True, ping_postgres)
    else:
        services["threads"] = probe("sqlite", False, None)
    cache = getattr(agent, "cache", None)
    if cache is not None:
        client = getattr(cache, "client", None)  # the Redis cache's connection
        services["cache"] = probe("redis" if client is not None else type(cache).__name__, client is not None,
                                  client.ping if client is not None else None)
    services["turn_lock"] = probe(locks.describe(), locks.kind in ("postgres", "redis"), locks.check)
    endpoint = getattr(getattr(agent, "knowledge", None), "endpoint", None)
    if endpoint is not None:  # a live graph: asked every question, so it must answer
        services["knowledge_graph"] = probe(f"sparql {endpoint.shown}", True, lambda: endpoint.ask("ASK {}"))
    return services


def _metrics():
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    registry = CollectorRegistry()
    return registry, {
        "requests": Counter("agentmesh_http_requests", "HTTP requests", ["path", "status"], registry=registry),
        "latency": Histogram("agentmesh_http_request_seconds", "Time to the last byte", ["path"], registry=registry,
                             buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)),
        "runs": Gauge("agentmesh_runs_in_progress", "Agent runs executing now", registry=registry),
        "answers": Counter("agentmesh_answers", "Finished runs by stop reason", ["stop_reason"], registry=registry),
    }


def create_app(agent: Any, *, token: str | None = None, concurrency: int | None = None, slack: Any = None) -> FastAPI:
    """The FastAPI app for ``agent``. ``token``: required bearer token (default: settings'
    ``server_token``). ``slack``: a Slack app from :func:`agentmesh.apps.slack.create_slack_app`;
    by default one is made when the settings hold a Slack bot token and signing secret."""
    settings = agent.settings
    if slack is None and settings.slack_bot_token is not None and settings.slack_signing_secret is not None:
        try:
            from agentmesh.apps.slack import create_slack_app
        except ImportError as exc:
            raise ConfigError(f"Slack is configured but {exc.name} is missing: pip install 'agentmesh[slack]'") from None
        slack = create_slack_app(agent)
    principal = bearer_principal(settings, token)
    guarded = principal is not None

    def caller(request: Request) -> str | None:
        """The authenticated user of ``request`` (None for the shared token or none), for the run's context."""
        return getattr(request.state, "user", "") or None

    def owned(request: Request, thread_id: str) -> str:
        """The stored id of a thread the caller names: a user's threads live under their name."""
        try:
            return stored_thread(getattr(request.state, "user", ""), thread_id)
        except ConfigError as exc:
            raise HTTPException(400, detail=str(exc)) from None

    def shown(request: Request, stored: str) -> str | None:
        """The id the caller knows a stored thread by, or None if it is not theirs."""
        user = getattr(request.state, "user", "")
        if user:
            mine = f"{OWNER_PREFIX}{user}/"
            return stored[len(mine):] if stored.startswith(mine) else None
        return None if stored.startswith(OWNER_PREFIX) else stored
    limiter = anyio.CapacityLimiter(concurrency or settings.server_concurrency)
    locks = turn_locks(settings)
    registry, metric = _metrics()
    app = FastAPI(title="agentmesh", version="0.1.0")
    app.state.agent = agent
    if getattr(agent, "telemetry", None) is not None:
        agent.telemetry.instrument_app(app)  # HTTP spans, parents of the run spans
    app.state.slack = slack  # None when Slack is not served

    @app.middleware("http")
    async def guard_and_measure(request: Request, call_next):
        path = request.url.path
        started = time.perf_counter()
        if guarded and path not in PUBLIC_PATHS:
            request.state.user = principal(request.headers.get("authorization", ""))
            if request.state.user is None:
                metric["requests"].labels(path=_route(request), status="401").inc()
                return JSONResponse({"error": {"message": "missing or wrong bearer token", "type": "authentication_error"}},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
        response = await call_next(request)
        metric["requests"].labels(path=_route(request), status=str(response.status_code)).inc()
        metric["latency"].labels(path=_route(request)).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(AgentmeshError)
    async def agentmesh_error(_request: Request, exc: AgentmeshError):
        if isinstance(exc, KnowledgeGraphUnavailableError):  # the live graph's endpoint, not the request, is at fault
            return JSONResponse({"error": {"message": str(exc), "type": type(exc).__name__}}, status_code=503,
                                headers={"Retry-After": "10"})
        status = 409 if isinstance(exc, ThreadBusyError) else 400
        return JSONResponse({"error": {"message": str(exc), "type": type(exc).__name__}}, status_code=status)

    if settings.a2a:  # the agent card is public (PUBLIC_PATHS), the JSON-RPC endpoint behind the tokens
        from agentmesh.apps.a2a import add_a2a_routes

        add_a2a_routes(app, agent, locks=locks)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        """Up, and which shared services (threads, cache, turn locks) this replica reaches: 503 when
        one it is configured with cannot be reached, so a load balancer stops sending it turns."""
        import os

        services = await anyio.to_thread.run_sync(lambda: shared_services(agent, locks))
        ok = all(s["ok"] for s in services.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "model": agent.model_name,
                             "knowledge_graph": agent.knowledge is not None, "pid": os.getpid(), "services": services},
                            status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": agent.model_name, "object": "model", "created": 0, "owned_by": "agentmesh"}]}

    async def events(message: str | None, thread_id: str, resume: Any = None, private: bool = False,
                     tokens: bool = True, context: Any = (), user: str | None = None) -> AsyncIterator[dict]:
        """The run's events, holding the thread's lock and counting the run."""
        async with turn_lock(locks, thread_id):
            metric["runs"].inc()
            try:
                async for event in aiter_events(agent, message, thread_id, resume=resume, private=private, limiter=limiter,
                                                tokens=tokens, context=context, user=user):
                    if event["type"] == "done":
                        metric["answers"].labels(stop_reason=event["stop_reason"]).inc()
                        stored = str(event.get("thread_id") or "")
                        if stored.startswith(OWNER_PREFIX):  # the client knows its thread without the owner part
                            event = {**event, "thread_id": stored.split("/", 1)[1]}
                    yield event
            finally:
                metric["runs"].dec()

    def check_size(text: str) -> None:
        if len(text) > settings.server_max_chars:
            raise HTTPException(413, detail=f"the message has {len(text):,} characters; this server takes at most "
                                            f"{settings.server_max_chars:,} (setting server_max_chars)")

    async def input_for(thread_id: str, text: str, named: str) -> tuple[str | None, Any]:
        """A new message, or the decision on calls waiting for approval (``named``: the client's id)."""
        pending = await anyio.to_thread.run_sync(agent.pending, thread_id)  # a checkpointer read: off the loop
        if not pending:
            return text, None
        word = text.strip().lower().rstrip(".!")
        if word not in _DECISIONS:
            calls = ", ".join(f"{c['name']} {json.dumps(c['args'])[:200]}" for c in pending)
            raise HTTPException(409, detail=f"thread {named} is waiting for approval of: {calls}; reply 'approve' or 'reject'")
        return None, word

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, request: Request):
        users = [m for m in body.messages if m.role == "user"]
        if not users or not users[-1].text().strip():
            raise HTTPException(400, detail="messages holds no user message with text")
        check_size("".join(m.text() for m in body.messages))
        named = request.headers.get("x-thread-id") or body.user
        thread_id = named or uuid.uuid4().hex
        stored = owned(request, thread_id)
        private = request.headers.get("x-agentmesh-private", "").lower() in ("1", "true", "yes")
        message, resume = await input_for(stored, users[-1].text(), thread_id)
        # no thread named: the client sends the whole conversation, so its earlier turns start the new thread
        context = () if named else _earlier_turns(body.messages)
        created, completion_id = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
        headers = {"X-Thread-Id": thread_id}
        if body.stream:
            include_usage = bool((body.stream_options or {}).get("include_usage"))
            run = events(message, stored, resume, private, context=context, user=caller(request))
            return StreamingResponse(_openai_stream(run,
                                                    completion_id, created, agent.model_name, include_usage),
                                     media_type="text/event-stream", headers={**headers, "Cache-Control": "no-cache"})
        collected = await _collect(events(message, stored, resume, private, tokens=False, context=context,
                                             user=caller(request)))
        return JSONResponse({
            "id": completion_id, "object": "chat.completion", "created": created, "model": collected["model"] or agent.model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": collected["text"]}, "finish_reason": "stop"}],
            "usage": collected["usage"],
            "agentmesh": collected["extra"],
        }, headers=headers)

    # -- the web page and its API -------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> Response:
        token, cookie = page_token(request)  # the page sends it back with its approvals
        html = resources.files("agentmesh.apps").joinpath("static/index.html").read_text(encoding="utf-8")
        response = HTMLResponse(html.replace(PAGE_TOKEN_SLOT, token), headers={"Cache-Control": "no-store"})
        response.set_cookie(cookie, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    @app.post("/api/chat")
    async def web_chat(body: WebChat, request: Request):
        if not body.message.strip():
            raise HTTPException(400, detail="the message is empty")
        check_size(body.message)
        thread_id = body.thread_id or uuid.uuid4().hex
        stored = owned(request, thread_id)
        if await anyio.to_thread.run_sync(agent.pending, stored):
            raise HTTPException(409, detail="this thread is waiting for an approval decision")
        return StreamingResponse(_named_sse(events(body.message, stored)), media_type="text/event-stream",
                                 headers={"X-Thread-Id": thread_id, "Cache-Control": "no-cache"})

    @app.post("/api/threads/{thread_id}/approval")
    async def web_approval(thread_id: str, body: Decision, request: Request):
        if not page_token_matches(request):
            raise HTTPException(403, detail="an approval on the web page needs the page's own token (header "
                                            "X-Agentmesh-Page, equal to the cookie the page was served with): reload "
                                            "the page. API clients approve by replying 'approve' in the thread "
                                            "(/v1/chat/completions)")
        stored = owned(request, thread_id)
        if not await anyio.to_thread.run_sync(agent.pending, stored):
            raise HTTPException(409, detail=f"thread {thread_id} has no tool call waiting for approval")
        decision = {"decision": body.decision, "reason": body.reason} if body.reason else body.decision
        return StreamingResponse(_named_sse(events(None, stored, resume=decision, user=caller(request))), media_type="text/event-stream",
                                 headers={"X-Thread-Id": thread_id, "Cache-Control": "no-cache"})

    @app.post("/api/threads/{thread_id}/cache-wrong")
    async def cache_wrong(thread_id: str, request: Request) -> dict[str, Any]:
        """The last answer of the thread came from the cache and was wrong: remove that entry."""
        stored = owned(request, thread_id)
        async with thread_lock(stored):
            try:
                marked = await anyio.to_thread.run_sync(agent.mark_cached_wrong, stored)
            except AgentmeshError as exc:
                raise HTTPException(409, detail=str(exc)) from None
        return {"thread_id": thread_id, "removed": marked["cached_question"], "now_needs": round(marked["now_needs"], 4)}

    @app.get("/api/threads")
    async def threads(request: Request) -> list[dict[str, Any]]:
        from agentmesh.memory.conversation import list_threads

        keep = lambda stored: shown(request, stored) is not None  # noqa: E731 - the caller's threads only
        found = await anyio.to_thread.run_sync(lambda: list_threads(agent.checkpointer, where=keep))
        return [{"thread_id": shown(request, t.thread_id), "title": t.last_question, "messages": t.messages,
                 "updated": t.updated} for t in found]

    @app.get("/api/threads/{thread_id}")
    async def thread(thread_id: str, request: Request) -> dict[str, Any]:
        from langchain_core.messages import AIMessage, HumanMessage

        stored = owned(request, thread_id)
        history = await anyio.to_thread.run_sync(agent.history, stored)
        if not history:
            raise HTTPException(404, detail=f"no thread {thread_id}")
        messages = [{"role": "user" if isinstance(m, HumanMessage) else "assistant", "text": m.text}
                    for m in history if isinstance(m, HumanMessage) or (isinstance(m, AIMessage) and m.text and not m.tool_calls)]
        return {"thread_id": thread_id, "messages": messages, "pending": agent.pending(stored)}

    if slack is not None:
        from agentmesh.apps.slack import mount_slack

        mount_slack(app, slack)
    # added last, so outermost: a request naming another host, or a change from another site's
    # page, is refused before the token check, the metrics or any route (the API, A2A, Slack)
    app.add_middleware(OriginGuard, public_names=settings.server_public_names)
    return app


def _earlier_turns(messages: list[ChatMessage]) -> list[Any]:
    """The user and assistant turns before the last user message, as LangChain messages
    (system messages are left out: agentmesh writes its own)."""
    from langchain_core.messages import AIMessage, HumanMessage

    last = max(i for i, m in enumerate(messages) if m.role == "user")
    turns = []
    for m in messages[:last]:
        if m.role == "user" and m.text().strip():
            turns.append(HumanMessage(m.text()))
        elif m.role == "assistant" and m.text().strip():
            turns.append(AIMessage(m.text()))
    return turns


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


async def _collect(stream: AsyncIterator[dict]) -> dict[str, Any]:
    text, model, extra, usage = "", "", {}, {}
    async for event in stream:
        if event["type"] == "answer":
            text = event["text"]
        elif event["type"] == "citations":
            extra["citations"] = event["citations"]
        elif event["type"] == "claims":
            extra["claims"] = event["claims"]
        elif event["type"] == "done":
            model = event["model"]
            extra.update(thread_id=event["thread_id"], run_id=event["run_id"], stop_reason=event["stop_reason"],
                         pending=event["pending"], tool_calls=event["tool_calls"])
            usage = event.get("usage") or {}
    if extra.get("pending"):
        text = _approval_text(extra["pending"])
    return {"text": text, "model": model, "extra": extra, "usage": _openai_usage(usage)}


def _openai_usage(usage: dict[str, int]) -> dict[str, int]:
    return {"prompt_tokens": usage.get("input_tokens", 0), "completion_tokens": usage.get("output_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0)}


def _approval_text(pending: list[dict]) -> str:
    calls = "; ".join(f"{c['name']} {json.dumps(c['args'], ensure_ascii=False)[:300]}" for c in pending)
    return f"Approval needed before running: {calls}. Reply 'approve' or 'reject' in this thread."


async def _openai_stream(stream: AsyncIterator[dict], completion_id: str, created: int, model: str,
                         include_usage: bool = False) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    extra: dict[str, Any] = {}
    usage: dict[str, int] = {}
    try:
        async for event in stream:
            kind = event["type"]
            if kind == "token":
                yield chunk({"content": event["text"]})
            elif kind == "answer" and not event["streamed"]:
                yield chunk({"content": event["text"]})
            elif kind == "citations":
                extra["citations"] = event["citations"]
            elif kind == "claims":
                extra["claims"] = event["claims"]
            elif kind == "done":
                extra.update(thread_id=event["thread_id"], run_id=event["run_id"], stop_reason=event["stop_reason"],
                             pending=event["pending"], tool_calls=event["tool_calls"])
                usage = event.get("usage") or {}
                if event["pending"]:
                    yield chunk({"content": _approval_text(event["pending"])})
                model = event["model"] or model
    except AgentmeshError as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': type(exc).__name__}})}\n\n"
        return
    yield chunk({}, "stop", agentmesh=extra)
    if include_usage:  # as OpenAI does: a last chunk with no choices and the token counts
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [], "usage": _openai_usage(usage)}
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


async def _named_sse(stream: AsyncIterator[dict]) -> AsyncIterator[str]:
    try:
        async for event in stream:
            yield f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False, default=str)}\n\n"
    except AgentmeshError as exc:
        yield f"event: error\ndata: {json.dumps({'type': 'error', 'message': str(exc)})}\n\n"



class BackgroundServer:
    """Run an ASGI app with uvicorn in a thread on ``host`` (a free port): for tests, benchmarks
    and notebooks. ``with BackgroundServer(app) as server: httpx.get(server.url + "/healthz")``."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", **uvicorn_options)
        self._server = uvicorn.Server(config)
        self._thread = None
        self.url = ""

    def __enter__(self) -> "BackgroundServer":
        import threading

        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
