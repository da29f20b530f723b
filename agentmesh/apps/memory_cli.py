"""``agentmesh cache``: the semantic cache's statistics, and clearing it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from agentmesh.apps.common import ConfigOpt, one_line_errors, out

__all__ = ["cache_app"]

cache_app = typer.Typer(help="Inspect or clear the semantic cache of answers.", no_args_is_help=True)


def _cache(config: Optional[Path]):
    from agentmesh.config import Settings
    from agentmesh.memory.cache import SemanticCache
    from agentmesh.models.embeddings import make_embeddings

    settings = Settings.load(config)
    return SemanticCache(settings.data_dir("cache"), make_embeddings(settings.embeddings), threshold=settings.cache_threshold,
                         ttl=settings.cache_ttl, max_size=settings.cache_max_size)


@cache_app.command("stats")
def cache_stats(config: Optional[Path] = ConfigOpt) -> None:
    """Entries, scopes, hits, misses and the hit rate."""
    with one_line_errors():
        cache = _cache(config)
        info = cache.info()
        cache.close()
    table = Table(show_header=False)
    for key, value in info.items():
        table.add_row(key.replace("_", " "), escape(str(value)))
    out.print(table)


@cache_app.command("clear")
def cache_clear(config: Optional[Path] = ConfigOpt, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")) -> None:
    """Delete every cached answer."""
    with one_line_errors():
        cache = _cache(config)
        entries = len(cache)
        if not yes and not typer.confirm(f"Delete {entries} cached answers?"):
            raise typer.Exit(1)
        cache.clear()
        cache.close()
    out.print(f"cleared {entries} cached answers")
