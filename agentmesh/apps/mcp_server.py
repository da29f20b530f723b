"""``agentmesh mcp serve``: agentmesh as an MCP server, for other assistants (an IDE agent, Claude
Desktop, another team's bot).

Tools (each only when its resource is configured):

* ``ask``: the whole grounded agent. Returns the answer with its citations and each claim's
  check, as structured content (and the same as JSON text). A dangerous call the agent wants
  to make is declined, since an MCP client has no way to approve it, unless the server was
  started with ``--allow-dangerous``;
* ``kg_search``, ``sparql``: the knowledge graph; ``sql``, ``sql_schema``: the database, read-only
  whatever ``sql_writes`` says; ``python`` only with ``--allow-dangerous``.

Resources: ``agentmesh://classes`` (the graph's classes and how many nodes each has) and
``agentmesh://node/{uri}``, a node's label, description and facts, where ``{uri}`` is the node's
URI percent-encoded (completion suggests them by label); a session may subscribe to them and
hears ``notifications/resources/updated`` when a run changes the graph (remembers a fact).
Prompt: ``grounded_question``.
``mcp_extensions`` (``module:function``, each given the FastMCP server) add tools, resources and
prompts of your own.

Over HTTP (streamable HTTP at ``/mcp``) the same tokens as ``agentmesh serve`` apply: without a
token the server binds to loopback only and checks the Host header (DNS rebinding); with
``server_tokens`` each user's ``ask`` threads are their own.
"""

# no "from __future__ import annotations": FastMCP reads the tools' annotations at run time, and Context is imported lazily

import json
import uuid
import weakref
from typing import Any, Callable, Sequence
from urllib.parse import quote, unquote

import anyio
from pydantic import BaseModel, Field

from agentmesh.assembly import Components, wants_knowledge
from agentmesh.config import Settings
from agentmesh.errors import AgentmeshError, ToolError

__all__ = ["AskResult", "build_mcp_server", "mcp_http_app", "node_resource_uri"]

NODE_PREFIX = "agentmesh://node/"
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
INSTRUCTIONS = (
    "agentmesh answers from an organisation's own knowledge graph and data. Call 'ask' for a grounded answer with "
    "citations; its 'supported' field says whether every claim was found in the evidence. 'kg_search', 'sparql' "
    "and 'sql' query the sources directly."
)


class AskResult(BaseModel):
    """What ``ask`` returns."""

    answer: str
    supported: bool = Field(description="Every claim of the answer was found in this run's evidence.")
    citations: list[dict[str, Any]]
    claims: list[dict[str, Any]] = Field(description="Each claim with whether it is supported and by which evidence.")
    tool_calls: list[dict[str, Any]]
    stop_reason: str
    thread_id: str = Field(description="Pass it back to continue the conversation.")
    run_id: str


def node_resource_uri(uri: str) -> str:
    """The resource of a node: ``agentmesh://node/<percent-encoded URI>``."""
    return NODE_PREFIX + quote(uri, safe="")


class _Parts:
    """The server's agent and tools, built on first use (the model loads only when ``ask`` is called)."""

    def __init__(self, settings: Settings, components: Components | None, allow_dangerous: bool) -> None:
        self.settings = settings
        # the exposed tools read only, whatever the settings allow the agent
        self.components = components or Components.from_settings(settings.model_copy(update={"sql_writes": False}))
        self.allow_dangerous = allow_dangerous
        self.exposed = _exposed(settings, allow_dangerous)
        self._agent: Any = None
        self._tools: dict[str, Any] | None = None

    @property
    def agent(self) -> Any:
        if self._agent is None:
            from agentmesh.agent import Agent

            approval = "auto" if self.allow_dangerous else "deny"  # nobody to ask: decline, unless allowed
            settings = self.settings.model_copy(update={"approval": approval})
            shared = self.components  # one graph and one embedder in memory, for the tools and the agent
            self._agent = Agent(components=Components.from_settings(
                settings, embeddings=shared.embeddings, knowledge=shared.knowledge))
        return self._agent

    def tool(self, name: str) -> Any:
        if self._tools is None:
            from agentmesh.tools import ToolContext, default_registry

            c = self.components
            context = ToolContext.from_settings(c.settings, knowledge=c.knowledge)
            names = [n for n in ("kg_search", "sparql", "sql", "sql_schema", "python") if n in self.exposed]
            self._tools = {t.name: t for t in default_registry.build(names, context, extras=False)}
        if name not in self._tools:
            raise ToolError(f"the tool '{name}' is not available here")
        return self._tools[name]

    def close(self) -> None:
        if self._agent is not None:
            self._agent.close()
        self.components.close()


def _exposed(settings: Settings, allow_dangerous: bool) -> set[str]:
    names = {"ask"}
    if wants_knowledge(settings):
        names |= {"kg_search", "sparql"}
    if settings.db:
        names |= {"sql", "sql_schema"}
    if allow_dangerous and "python" in settings.tools:
        names.add("python")
    return names


def build_mcp_server(settings: Settings, *, allow_dangerous: bool = False, components: Components | None = None,
                     user_of: Callable[[Any], str | None] | None = None, host: str = "127.0.0.1", port: int = 8765,
                     dns_rebinding_protection: bool = True, extensions: Sequence[str] = ()) -> Any:
    """The FastMCP server. ``user_of(request)``: the authenticated user of an HTTP request (None: none).
    ``extensions``: ``module:function`` names, each called with the FastMCP server to add tools,
    resources or prompts of its own (``@server.tool()``...)."""
    try:
        from mcp.server.fastmcp import Context, FastMCP
        from mcp.server.transport_security import TransportSecuritySettings
        from mcp.types import Completion, ResourceTemplateReference, ToolAnnotations
    except ImportError:
        raise AgentmeshError("agentmesh mcp serve needs the MCP SDK: pip install 'agentmesh[mcp]'") from None

    from agentmesh import __version__
    from agentmesh.apps.access import stored_thread, turn_lock, turn_locks

    parts = _Parts(settings, components, allow_dangerous)
    exposed = parts.exposed
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=dns_rebinding_protection,
        allowed_hosts=[f"127.0.0.1:{port}", f"localhost:{port}", "127.0.0.1", "localhost"],
        allowed_origins=[f"http://127.0.0.1:{port}", f"http://localhost:{port}"],
    )
    server = FastMCP("agentmesh", instructions=INSTRUCTIONS, host=host, port=port, transport_security=security,
                     log_level="WARNING")
    server._mcp_server.version = __version__
    server.agentmesh_parts = parts  # (closed by the caller)
    read_only = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
    locks = turn_locks(settings)

    levels: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()  # each session's logging/setLevel

    @server._mcp_server.set_logging_level()
    async def set_level(level: str) -> None:
        levels[server._mcp_server.request_context.session] = LOG_LEVELS.index(level)

    async def log(ctx: Context, level: str, message: str) -> None:
        """A log notification to this session, if it asked for this level (default: warnings and worse)."""
        if LOG_LEVELS.index(level) >= levels.get(ctx.session, LOG_LEVELS.index("warning")):
            await ctx.session.send_log_message(level=level, data=message, logger="agentmesh")

    # resources/subscribe: a session hears notifications/resources/updated for what it subscribed to
    # whenever the knowledge graph changes (a run remembered or forgot a fact)
    subscriptions: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()
    low = server._mcp_server

    @low.subscribe_resource()
    async def subscribe(uri: Any) -> None:
        uri = str(uri)
        if uri.startswith(NODE_PREFIX):
            await anyio.to_thread.run_sync(lambda: _node(parts.components, unquote(uri[len(NODE_PREFIX):])))  # exists?
        subscriptions.setdefault(low.request_context.session, set()).add(uri)

    @low.unsubscribe_resource()
    async def unsubscribe(uri: Any) -> None:
        subscriptions.get(low.request_context.session, set()).discard(str(uri))

    capabilities = low.get_capabilities

    def with_subscribe(*args: Any, **kwargs: Any) -> Any:  # FastMCP 1.x always says subscribe=false
        found = capabilities(*args, **kwargs)
        if found.resources is not None:
            found.resources.subscribe = True
        return found

    low.get_capabilities = with_subscribe

    async def graph_changed() -> None:
        for session, uris in list(subscriptions.items()):
            for uri in sorted(uris):
                try:
                    await session.send_resource_updated(uri)
                except Exception:  # noqa: BLE001 - a session that went away hears nothing
                    break

    def graph_version() -> str | None:
        kb = parts.components.knowledge if wants_knowledge(settings) else None
        return kb.version if kb is not None else None

    def caller(ctx: Context) -> str | None:
        request = getattr(ctx.request_context, "request", None)
        return user_of(request) if (user_of is not None and request is not None) else None

    async def run_tool(name: str, args: dict[str, Any]) -> str:
        def call() -> str:
            return str(parts.tool(name).invoke(args))  # (invoked with plain arguments, a tool returns its content only)

        try:
            return await anyio.to_thread.run_sync(call)
        except ToolError:
            raise
        except AgentmeshError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(annotations=ToolAnnotations(readOnlyHint=not allow_dangerous, destructiveHint=allow_dangerous,
                                             openWorldHint=False), structured_output=True)
    async def ask(question: str, ctx: Context, thread_id: str | None = None) -> AskResult:
        """Answer a question from the organisation's knowledge graph and data, with citations and a check of
        each claim. Pass thread_id back to ask a follow-up in the same conversation."""
        if not question.strip():
            raise ToolError("the question is empty")
        if len(question) > settings.server_max_chars:
            raise ToolError(f"the question has {len(question):,} characters; at most {settings.server_max_chars:,} are taken")
        user = caller(ctx)
        shown = thread_id or f"mcp-{uuid.uuid4().hex}"
        stored = stored_thread(user, shown)
        async with turn_lock(locks, stored):
            before = await anyio.to_thread.run_sync(graph_version)
            result = await anyio.to_thread.run_sync(lambda: parts.agent.run(question, thread_id=stored, user=user))
        if subscriptions and await anyio.to_thread.run_sync(graph_version) != before:
            await graph_changed()
        await log(ctx, "info", f"run {result.run_id}: {result.stop_reason}, {len(result.tool_calls)} tool calls, "
                               f"{len(result.citations)} citations, {len(result.unsupported)} unsupported claims")
        if result.unsupported:
            await log(ctx, "warning", f"run {result.run_id}: the answer has claims its evidence does not support")
        data = result.to_dict()
        return AskResult(
            answer=result.answer, supported=result.supported, citations=data["citations"], claims=data["claims"],
            tool_calls=[{"name": t.name, "args": t.args, "ok": t.ok} for t in result.tool_calls],
            stop_reason=result.stop_reason, thread_id=shown, run_id=result.run_id,
        )

    if "kg_search" in exposed:
        @server.tool(annotations=read_only)
        async def kg_search(query: str, k: int = 5) -> str:
            """Search the knowledge graph for entities by name or description; returns their URIs,
            descriptions and facts."""
            return await run_tool("kg_search", {"query": query, "k": max(1, min(k, 20))})

        @server.tool(annotations=read_only)
        async def sparql(query: str) -> str:
            """Run one read-only SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE) on the knowledge graph."""
            return await run_tool("sparql", {"query": query})

    if "sql" in exposed:
        @server.tool(annotations=read_only)
        async def sql(query: str) -> str:
            """Run one read-only SQL query on the database and get the rows back."""
            return await run_tool("sql", {"query": query})

        @server.tool(annotations=read_only)
        async def sql_schema() -> str:
            """The database's tables, columns, types, keys and a few sample rows."""
            return await run_tool("sql_schema", {})

    if "python" in exposed:
        @server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False))
        async def python(code: str) -> str:
            """Run Python 3 code in agentmesh's sandbox (no network, limited time and memory); returns its output."""
            return await run_tool("python", {"code": code})

    if wants_knowledge(settings):
        @server.resource("agentmesh://classes", name="classes", mime_type="application/json",
                         description="The knowledge graph's classes, with labels and how many nodes each has.")
        async def classes() -> str:
            return await anyio.to_thread.run_sync(lambda: json.dumps(_classes(parts.components), ensure_ascii=False))

        @server.resource(NODE_PREFIX + "{uri}", name="node", mime_type="application/json",
                         description="A node of the knowledge graph: label, description and facts. {uri} is the node's "
                                     "URI, percent-encoded.")
        async def node(uri: str) -> str:
            return await anyio.to_thread.run_sync(lambda: json.dumps(_node(parts.components, unquote(uri)), ensure_ascii=False))

        @server.completion()
        async def complete(ref: Any, argument: Any, context: Any) -> Completion | None:
            if not isinstance(ref, ResourceTemplateReference) or ref.uri != NODE_PREFIX + "{uri}" or argument.name != "uri":
                return None
            found = await anyio.to_thread.run_sync(lambda: _complete(parts.components, unquote(argument.value or "")))
            return Completion(values=[quote(u, safe="") for u in found[:100]], total=len(found), hasMore=len(found) > 100)

    for extension in extensions:  # your own tools, resources and prompts on the same server
        _load_extension(extension)(server)

    @server.prompt(description="Ask agentmesh a question and answer only from what it finds.")
    def grounded_question(question: str) -> str:
        return (f"Answer this question using agentmesh's 'ask' tool: {question}\n"
                "Give its answer with the citations it returns. If it says it could not find the answer, or "
                "'supported' is false, say so instead of answering from your own knowledge.")

    return server


def _load_extension(name: str) -> Callable[[Any], None]:
    """``module:function`` imported, or a clear error naming it."""
    import importlib

    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise AgentmeshError(f"MCP server extension {name!r}: write it as module:function")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise AgentmeshError(f"MCP server extension {name!r} cannot be loaded: {exc}") from None
    if not callable(found):
        raise AgentmeshError(f"MCP server extension {name!r} is not a function")
    return found


def _classes(components: Components) -> list[dict[str, Any]]:
    kb = components.knowledge
    if kb is None:
        return []
    rows = kb.store.query("SELECT ?class (COUNT(DISTINCT ?node) AS ?n) WHERE { ?node a ?class } GROUP BY ?class ORDER BY DESC(?n)")
    out = []
    for row in rows:  # (pyoxigraph terms: .value is the IRI or the literal's lexical form)
        uri = row[0].value
        out.append({"uri": uri, "label": kb.label(uri), "nodes": int(row[1].value), "resource": node_resource_uri(uri)})
    return out


def _node(components: Components, uri: str) -> dict[str, Any]:
    kb = components.knowledge
    try:
        known = kb is not None and kb.has_node(uri)
    except ValueError:  # not an IRI at all
        known = False
    if not known:
        from mcp.shared.exceptions import McpError
        from mcp.types import ErrorData

        raise McpError(ErrorData(code=-32002, message=f"no node <{uri}> in the knowledge graph"))
    facts, links = kb.facts(uri)
    row = kb.index.by_uri.get(uri)
    description = kb.index.nodes[row].description if row is not None else ""
    return {"uri": uri, "label": kb.label(uri), "description": description, "facts": facts,
            "links": [{"uri": u, "label": label, "resource": node_resource_uri(u)} for u, label in links]}


def _complete(components: Components, typed: str) -> list[str]:
    kb = components.knowledge
    if kb is None:
        return []
    typed = typed.strip().lower()
    return [n.uri for n in kb.index.nodes if n.uri.lower().startswith(typed) or n.label.lower().startswith(typed)]


def mcp_http_app(server: Any, principal: Callable[[str], str | None] | None) -> Any:
    """The streamable-HTTP app at ``/mcp``, behind the bearer check when ``principal`` is given
    (the authenticated user is put in the request's state for ``ask``)."""
    inner = server.streamable_http_app()
    if principal is None:
        return inner

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            user = principal(headers.get(b"authorization", b"").decode("latin-1"))
            if user is None:
                body = json.dumps({"error": "missing or wrong bearer token"}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
            scope.setdefault("state", {})["agentmesh_user"] = user or None
        await inner(scope, receive, send)

    return app


def user_of_request(request: Any) -> str | None:
    """The user :func:`mcp_http_app` found for ``request`` (None: the shared token, or none)."""
    return (getattr(request, "scope", None) or {}).get("state", {}).get("agentmesh_user")


def serve_stdio(settings: Settings, *, allow_dangerous: bool = False) -> None:
    server = build_mcp_server(settings, allow_dangerous=allow_dangerous, extensions=settings.mcp_extensions)
    try:
        server.run("stdio")
    finally:
        server.agentmesh_parts.close()


def serve_http(settings: Settings, host: str, port: int, *, allow_dangerous: bool = False) -> None:
    import uvicorn

    from agentmesh.apps.access import bearer_principal
    from agentmesh.apps.server import check_bind

    principal = bearer_principal(settings)
    check_bind(host, "set" if principal is not None else None)
    # without a token only loopback is served, and the Host header must name it (DNS rebinding)
    server = build_mcp_server(settings, allow_dangerous=allow_dangerous, user_of=user_of_request, host=host, port=port,
                              dns_rebinding_protection=principal is None, extensions=settings.mcp_extensions)
    try:
        uvicorn.run(mcp_http_app(server, principal), host=host, port=port, log_level="warning")
    finally:
        server.agentmesh_parts.close()

