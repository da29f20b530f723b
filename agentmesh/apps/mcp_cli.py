"""``agentmesh mcp list|serve``: the MCP servers agentmesh uses, and agentmesh as an MCP server."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from agentmesh.apps.common import ConfigOpt, err, error_line, one_line_errors, out

__all__ = ["mcp_app"]

mcp_app = typer.Typer(help="MCP: the servers whose tools the agent uses (list), and agentmesh as an MCP server (serve).",
                      no_args_is_help=True)


@mcp_app.command("list")
def mcp_list(config: Optional[Path] = ConfigOpt) -> None:
    """Start each server of 'mcp_servers' and show its tools, as the agent will name them."""
    from agentmesh.config import Settings
    from agentmesh.tools.mcp import McpClients

    with one_line_errors():
        settings = Settings.load(config)
        if not settings.mcp_servers:
            error_line("no MCP servers configured; add a [mcp_servers.<name>] table with 'command' or 'url' to agentmesh.toml")
            raise typer.Exit(1)
        servers = Table(title="servers", title_justify="left")
        for column in ("server", "transport", "where", "timeout"):
            servers.add_column(column)
        for name, server in settings.mcp_servers.items():
            where = " ".join([server.command, *server.args]) if server.command else str(server.url)
            servers.add_row(name, "stdio" if server.command else "streamable HTTP", escape(where), f"{server.timeout:g} s")
        out.print(servers)
        with McpClients(settings.mcp_servers, log_dir=settings.data_dir("mcp")) as clients:
            tools = clients.listing()
    table = Table(title="tools", title_justify="left")
    for column in ("tool", "server", "asks first", "description"):
        table.add_column(column)
    for tool in tools:
        table.add_row(tool.name, tool.server, "yes" if tool.asks_first else "no", escape(tool.description.split("\n")[0][:120]))
    out.print(table)


@mcp_app.command("serve")
def mcp_serve(
    stdio: bool = typer.Option(False, "--stdio", help="Serve on standard input/output (for a client that starts agentmesh)."),
    http: Optional[str] = typer.Option(None, "--http", help="Serve streamable HTTP at HOST:PORT/mcp, e.g. 127.0.0.1:8765."),
    allow_dangerous: bool = typer.Option(
        False, "--allow-dangerous",
        help="Expose the python tool, and let 'ask' run dangerous tool calls without approval (off: they are declined)."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Offer agentmesh to other assistants over MCP: tools ask, kg_search, sparql, sql, sql_schema; node resources."""
    from agentmesh.config import Settings

    if stdio == (http is not None):
        error_line("give one of --stdio or --http HOST:PORT")
        raise typer.Exit(2)
    with one_line_errors():
        try:
            from agentmesh.apps import mcp_server
        except ImportError as exc:
            error_line(f"agentmesh mcp serve needs its extra ({exc.name} is missing): pip install 'agentmesh[mcp]'")
            raise typer.Exit(2) from None
        settings = Settings.load(config)
        if stdio:
            mcp_server.serve_stdio(settings, allow_dangerous=allow_dangerous)
            return
        host, _, port = (http or "").rpartition(":")
        if not host or not port.isdigit():
            error_line(f"--http takes HOST:PORT, e.g. 127.0.0.1:8765; got {http!r}")
            raise typer.Exit(2)
        err.print(f"[dim]agentmesh MCP server at http://{escape(host)}:{port}/mcp · Ctrl-C stops[/]")
        mcp_server.serve_http(settings, host.strip("[]"), int(port), allow_dangerous=allow_dangerous)
