"""What the CLI's commands share: consoles, one-line errors, common options."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from agentmesh.errors import AgentmeshError

__all__ = ["out", "err", "error_line", "one_line_errors", "ConfigOpt"]

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
