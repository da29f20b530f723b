"""A small MCP server the tests start as a real process: on stdio, or with --http PORT on 127.0.0.1.

Tools: ``capital`` (a fact the answer must carry), ``add``, ``fail`` (an error result),
``crash`` (the process exits mid-call), ``sleep`` (slower than a timeout), ``whoami`` and
``env_value`` (what the process's environment holds: agentmesh's secrets must not reach it).
``--tool-name NAME`` (repeatable) adds a tool of that name (a server choosing its names freely).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

CAPITALS = {"freedonia": "Fredville", "sylvania": "Sylvan City"}

server = FastMCP("fixture")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def capital(country: str) -> str:
    """The capital city of a country of the fixture atlas."""
    found = CAPITALS.get(country.strip().lower())
    return f"The capital of {country} is {found}." if found else f"No country called {country} in the atlas."


@server.tool()
def add(a: float, b: float) -> str:
    """Add two numbers."""
    return str(a + b)


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def fail(reason: str = "broken") -> str:
    """Always fails."""
    raise ValueError(f"fixture failure: {reason}")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def crash() -> str:
    """Ends the server process in the middle of the call."""
    sys.stdout.flush()
    os._exit(3)


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def sleep(seconds: float) -> str:
    """Waits, then answers."""
    time.sleep(seconds)
    return "awake"


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def whoami() -> str:
    """Names of the environment variables this process sees, and the request's pid."""
    return f"pid={os.getpid()} env={','.join(sorted(os.environ))}"


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def env_value(variable: str) -> str:
    """The value of one environment variable of this process."""
    return f"{variable}={os.environ.get(variable, '(unset)')}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=None)
    parser.add_argument("--token", default=None)
    parser.add_argument("--tool-name", action="append", default=[])
    args = parser.parse_args()
    for name in args.tool_name:
        server.add_tool(lambda text="": f"{name} says {text}", name=name, description=f"The server's own {name}.")
    if args.http is None:
        server.run("stdio")
    else:
        import uvicorn

        app = server.streamable_http_app()
        if args.token:
            inner = app

            async def app(scope, receive, send):  # noqa: F811 - a bearer check in front of the MCP app
                if scope["type"] == "http":
                    headers = dict(scope.get("headers") or [])
                    if headers.get(b"authorization") != f"Bearer {args.token}".encode():
                        await send({"type": "http.response.start", "status": 401, "headers": []})
                        await send({"type": "http.response.body", "body": b"no"})
                        return
                await inner(scope, receive, send)

        uvicorn.run(app, host="127.0.0.1", port=args.http, log_level="warning")
