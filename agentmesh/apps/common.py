"""What the CLI's commands share: consoles, one-line errors, common options."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from agentmesh.errors import AgentmeshError

__all__ = ["out", "err", "error_line", "one_line_errors", "ConfigOpt", "decide"]

out = Console()
err = Console(stderr=True)
ConfigOpt = typer.Option(None, "--config", "-c", help="Settings file (default: ./agentmesh.toml if present).")


def error_line(message: str) -> None:
    """One line on stderr, never wrapped, so scripts can grep it."""
    err.print(f"[bold red]error:[/] {escape(' '.join(message.split()))}", soft_wrap=True, highlight=False)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn agentmesh errors into one line on stderr and exit status 2."""
    try:
        yield
    except AgentmeshError as exc:
        error_line(str(exc))
        raise typer.Exit(2) from None


def decide(pending: list[dict], preset: Optional[bool] = None) -> dict[str, bool]:
    """The person's decision on each pending call: ``preset`` if given, else asked on a terminal;
    with no terminal to ask on, every call is rejected (and said so)."""
    decisions = {}
    for call in pending:
        shown = f"{escape(call['name'])} {escape(json.dumps(call['args'], ensure_ascii=False)[:400])}"
        if preset is not None:
            decisions[call["id"]] = preset
            err.print(f"[yellow]{'approved' if preset else 'rejected'} (--{'approve' if preset else 'reject'}):[/] {shown}")
        elif sys.stdin.isatty():
            err.print(f"[bold yellow]approval needed:[/] {shown}")
            decisions[call["id"]] = typer.confirm("Run it?", default=False, err=True)
        else:
            decisions[call["id"]] = False
            err.print(f"[yellow]rejected (no terminal to ask; pass --approve to allow):[/] {shown}")
    return decisions
