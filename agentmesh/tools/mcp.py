"""The tools of MCP servers as agent tools.

Each server in ``mcp_servers`` (a command serving MCP on stdio, or a streamable-HTTP URL) is
started the first time its tools are asked for, kept open for the agent's life, and closed with
it. Its tools become LangChain tools named ``<server>_<tool>``; each call is cited as
``mcp://<server>/<tool>`` with its arguments, goes through the agent's approval rules and tool
selection like any tool, and a server that cannot start, times out or dies gives an error that
names the server (a tool error the model sees, during a run; the run goes on).

Built on the ``mcp`` SDK itself rather than ``langchain-mcp-adapters``: the adapters open a new
session for every call unless the caller keeps sessions open in its own async code, while the
agent graph calls tools synchronously from worker threads. Here one event-loop thread holds one
long-lived session per server, and synchronous callers hand it their calls.

>>> clients = McpClients(settings.mcp_servers)          # doctest: +SKIP
>>> [t.name for t in clients.tools()]                  # doctest: +SKIP
['files_read_file', 'files_list_directory']
>>> clients.close()                                    # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

from langchain_core.tools import BaseTool, StructuredTool

from agentmesh.config import McpServer
from agentmesh.errors import AgentmeshError, ConfigError, ToolError
from agentmesh.records import Citation

__all__ = ["McpClients", "McpServerError", "McpToolInfo", "tool_name", "MAX_OUTPUT_CHARS"]

MAX_OUTPUT_CHARS = 20_000
"""Longest tool output passed to the model; the rest is cut (and the cut is said)."""
_NAME = re.compile(r"[^A-Za-z0-9_-]")


class McpServerError(AgentmeshError):
    """An MCP server could not start, list its tools or answer a call."""


@dataclass(frozen=True)
class McpToolInfo:
    """A tool one server offers, as ``agentmesh mcp list`` shows it."""

    server: str
    name: str
    """The agent's name for it: ``<server>_<tool>``."""
    tool: str
    """The server's own name."""
    description: str
    asks_first: bool


def tool_name(server: str, tool: str) -> str:
    """``<server>_<tool>``, with what tool-calling APIs refuse in a name replaced, at most 64 characters."""
    return _NAME.sub("_", f"{server}_{tool}")[:64]


def _requires_mcp() -> None:
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ConfigError("mcp_servers needs the MCP SDK: pip install 'agentmesh[mcp]'") from None


class _Loop:
    """One event loop on a daemon thread; synchronous code hands it coroutines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="agentmesh-mcp", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class _Connection:
    """One server's session, opened and closed inside one task of the loop (the SDK's transports
    are anyio context managers, which must be left by the task that entered them)."""

    def __init__(self, name: str, config: McpServer, loop: _Loop, log: Path | None) -> None:
        self.name, self.config, self._loop, self.log = name, config, loop, log
        self._session: Any = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._lock = threading.Lock()
        self.tools: list[Any] = []

    # -- inside the loop --------------------------------------------------------------------------
    async def _transport(self, stack: AsyncExitStack) -> Any:
        c = self.config
        if c.command is not None:
            from mcp import StdioServerParameters
            from mcp.client.stdio import get_default_environment, stdio_client

            env = {**get_default_environment(), **{k: v.get_secret_value() for k, v in c.env.items()}}
            params = StdioServerParameters(command=c.command, args=c.args, env=env, cwd=str(c.cwd) if c.cwd else None)
            # the server's own log (its stderr) goes to a file, never onto the person's screen
            log = stack.enter_context(self.log.open("a", encoding="utf-8", errors="replace") if self.log is not None
                                      else open(os.devnull, "w"))  # noqa: SIM115
            return await stack.enter_async_context(stdio_client(params, errlog=log))
        import httpx
        from mcp.client.streamable_http import streamable_http_client

        headers = {k: v.get_secret_value() for k, v in c.headers.items()}
        if c.bearer_token is not None:
            headers["Authorization"] = f"Bearer {c.bearer_token.get_secret_value()}"
        http = await stack.enter_async_context(httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(c.timeout, read=max(c.timeout, 30.0)), follow_redirects=True))
        return await stack.enter_async_context(streamable_http_client(c.url, http_client=http))

    async def _serve(self, ready: asyncio.Future) -> None:
        from mcp import ClientSession
        from mcp.types import Implementation

        from agentmesh import __version__

        self._stop = asyncio.Event()
        try:
            async with AsyncExitStack() as stack:
                streams = await self._transport(stack)
                session = await stack.enter_async_context(ClientSession(
                    streams[0], streams[1], client_info=Implementation(name="agentmesh", version=__version__)))
                await session.initialize()
                tools, cursor = [], None
                while True:
                    page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
                    tools += page.tools
                    cursor = page.nextCursor
                    if not cursor:
                        break
                self.tools, self._session = tools, session
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - whatever ended the session is the caller's answer
            if not ready.done():
                ready.set_exception(exc)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            self._session = None

    async def _start(self) -> None:
        ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._serve(ready))
        await ready

    async def _close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing: nothing left to tell
                pass
        self._task = self._stop = None

    # -- from any thread --------------------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            self._loop.run(self._close(), 15)  # a session that died: clear it before starting again
            try:
                self._loop.run(self._start(), self.config.startup_timeout)
            except FutureTimeout:
                self._loop.run(self._close(), 15)
                raise McpServerError(f"MCP server '{self.name}' did not start within {self.config.startup_timeout:g} s "
                                     f"({self._where()})") from None
            except Exception as exc:  # noqa: BLE001
                self._loop.run(self._close(), 15)
                raise McpServerError(f"MCP server '{self.name}' could not start ({self._where()}): {_reason(exc)}"
                                     f"{self._log_tail()}") from None

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        """The server's ``CallToolResult`` for one call; a transport failure closes the session
        (the next call starts the server again) and is an McpServerError."""
        import httpx
        from mcp.shared.exceptions import McpError
        from mcp.types import CONNECTION_CLOSED

        self.open()
        session, timeout = self._session, self.config.timeout
        if session is None:
            raise McpServerError(f"MCP server '{self.name}' closed its connection")
        try:
            return self._loop.run(session.call_tool(tool, arguments, read_timeout_seconds=timedelta(seconds=timeout)),
                                  timeout + 5)
        except FutureTimeout:
            self.reset()
            raise McpServerError(self._late(tool)) from None
        except McpError as exc:
            if exc.error.code == CONNECTION_CLOSED:
                self.reset()
                raise McpServerError(f"MCP server '{self.name}' closed the connection during '{tool}' "
                                     f"(it may have crashed); it will be started again on the next call{self._log_tail()}") from None
            if exc.error.code == httpx.codes.REQUEST_TIMEOUT:  # the SDK's own read timeout
                self.reset()
                raise McpServerError(self._late(tool)) from None
            raise McpServerError(f"MCP server '{self.name}' refused '{tool}': {exc.error.message}") from None
        except Exception as exc:  # noqa: BLE001 - a broken stream, a reset socket: the session is gone
            self.reset()
            raise McpServerError(f"MCP server '{self.name}' failed during '{tool}': {_reason(exc)}") from None

    def reset(self) -> None:
        self._session = None
        try:
            self._loop.run(self._close(), 15)
        except Exception:  # noqa: BLE001
            pass

    def _late(self, tool: str) -> str:
        # a server that missed its deadline may be stuck: its session is closed, so later calls do not queue behind it
        return (f"MCP server '{self.name}' did not answer '{tool}' within {self.config.timeout:g} s "
                "(timeout); its session was closed and opens again on the next call")

    def _log_tail(self, lines: int = 5) -> str:
        if self.log is None or not self.log.is_file():
            return ""
        tail = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:]
        return f"; the end of its log ({self.log}):\n" + "\n".join(tail) if tail else ""

    def _where(self) -> str:
        c = self.config
        return f"command {c.command!r}" if c.command is not None else f"url {c.url}"


def _reason(exc: BaseException) -> str:
    """The innermost message of an exception (anyio wraps a transport's failure in groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc).strip() or type(exc).__name__


def _text(result: Any) -> str:
    """A tool result as text: its text parts, a note for each image or audio part, embedded
    resources' text, and the structured content when there is no text."""
    parts = []
    for item in result.content or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {item.mimeType}, not shown]")
        elif kind == "resource":
            res = item.resource
            parts.append(getattr(res, "text", None) or f"[resource {res.uri} ({getattr(res, 'mimeType', '') or 'binary'})]")
        elif kind == "resource_link":
            parts.append(f"[resource {item.uri}]")
    if not parts and result.structuredContent is not None:
        parts.append(json.dumps(result.structuredContent, ensure_ascii=False, default=str))
    text = "\n".join(parts).strip()
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + f"\n[... cut: the output had {len(text)} characters]"
    return text


def _asks_first(config: McpServer, tool: Any) -> bool:
    if tool.name in config.dangerous_tools:
        return True
    if tool.name in config.safe_tools:
        return False
    if config.dangerous is not None:
        return config.dangerous
    hints = tool.annotations
    return not (hints is not None and hints.readOnlyHint is True)


class McpClients:
    """The configured MCP servers: their tools as LangChain tools, started on first use."""

    def __init__(self, servers: Mapping[str, McpServer], *, log_dir: Path | None = None) -> None:
        """``log_dir``: where each stdio server's own log (its stderr) is written, as ``<server>.log``."""
        self.servers, self.log_dir = dict(servers), log_dir
        self._loop: _Loop | None = None
        self._connections: dict[str, _Connection] = {}
        self._lock = threading.Lock()

    def _connection(self, name: str) -> _Connection:
        with self._lock:
            if name not in self._connections:
                _requires_mcp()
                if self._loop is None:
                    self._loop = _Loop()
                log = self.log_dir / f"{name}.log" if self.log_dir is not None else None
                self._connections[name] = _Connection(name, self.servers[name], self._loop, log)
            return self._connections[name]

    def listing(self) -> list[McpToolInfo]:
        """Every offered tool of every server (each server is started)."""
        found = []
        for server in self.servers:
            connection = self._connection(server)
            connection.open()
            for tool in self._offered(server, connection.tools):
                found.append(McpToolInfo(server, tool_name(server, tool.name), tool.name, tool.description or "",
                                         _asks_first(self.servers[server], tool)))
        return found

    def _offered(self, server: str, tools: list[Any]) -> list[Any]:
        wanted = self.servers[server].tools
        if wanted is None:
            return list(tools)
        missing = sorted(set(wanted) - {t.name for t in tools})
        if missing:
            raise ConfigError(f"mcp_servers.{server}.tools names {', '.join(missing)}, which the server does not offer; "
                              f"it offers: {', '.join(sorted(t.name for t in tools)) or 'nothing'}")
        return [t for t in tools if t.name in wanted]

    def tools(self, reserved: Mapping[str, str] | None = None) -> list[BaseTool]:
        """The agent tools of every server.

        ``reserved``: names other tools already have (name -> what it is, e.g. "built-in tool").
        A tool whose name is taken, by one of those or by another server's tool after prefixing,
        is refused naming both: it would answer the calls meant for the other."""
        reserved = dict(reserved or {})
        made: dict[str, BaseTool] = {}
        for server in self.servers:
            connection = self._connection(server)
            connection.open()
            for tool in self._offered(server, connection.tools):
                made_tool = self._tool(server, connection, tool)
                name, this = made_tool.name, f"mcp_servers.{server} tool '{tool.name}'"
                if name in reserved or name in made:
                    other = f"{reserved[name]} '{name}'" if name in reserved else (
                        f"mcp_servers.{made[name].metadata['mcp_server']} tool '{made[name].metadata['mcp_tool']}'")
                    raise ConfigError(f"{this} would be named '{name}', the name of {other}: it would answer the calls "
                                      f"meant for it. Rename the server in mcp_servers, or leave the tool out with "
                                      f"mcp_servers.{server}.tools")
                made[name] = made_tool
        return list(made.values())

    def _tool(self, server: str, connection: _Connection, tool: Any) -> BaseTool:
        config, remote = self.servers[server], tool.name

        def call(**arguments: Any) -> tuple[str, list[dict[str, Any]]]:
            try:
                result = connection.call(remote, arguments)
            except McpServerError as exc:
                raise ToolError(str(exc)) from None
            text = _text(result)
            if result.isError:
                raise ToolError(f"MCP server '{server}', tool '{remote}': {text or 'failed without a message'}")
            detail = json.dumps(arguments, ensure_ascii=False, sort_keys=True, default=str)[:500]
            return text or "(no output)", [Citation(kind="mcp", ref=f"mcp://{server}/{remote}", detail=detail).model_dump()]

        schema = dict(tool.inputSchema or {"type": "object", "properties": {}})
        schema.setdefault("properties", {})
        return StructuredTool(
            name=tool_name(server, remote), description=(tool.description or tool.title or remote).strip(),
            args_schema=schema, func=call, response_format="content_and_artifact",
            metadata={"approval": _asks_first(config, tool), "cacheable": config.cacheable, "mcp_server": server,
                      "mcp_tool": remote},
        )

    def close(self) -> None:
        """Close every session (a stdio server's process ends) and the loop."""
        with self._lock:
            connections, loop = list(self._connections.values()), self._loop
            self._connections, self._loop = {}, None
        for connection in connections:
            connection.reset()
        if loop is not None:
            loop.stop()

    def __enter__(self) -> "McpClients":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
