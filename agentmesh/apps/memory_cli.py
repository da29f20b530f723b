"""``agentmesh cache`` (statistics, clearing), ``threads`` (list, show, delete) and ``facts`` (list, add, forget)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from agentmesh.apps.common import ConfigOpt, one_line_errors, out

__all__ = ["cache_app", "threads_app", "facts_app"]

cache_app = typer.Typer(help="Inspect or clear the semantic cache of answers.", no_args_is_help=True)


def _cache(config: Optional[Path]):
    from agentmesh.assembly import build_cache, build_embeddings
    from agentmesh.config import Settings

    settings = Settings.load(config)
    return build_cache(settings, build_embeddings(settings))


@cache_app.command("stats")
def cache_stats(config: Optional[Path] = ConfigOpt) -> None:
    """Entries, scopes, hits, misses, refusals by reason, marked-wrong serves, the hit rate and the
    error bound (the cosine a hit needs now, from the measured wrong-serve rate and cache_max_error)."""
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


threads_app = typer.Typer(help="List, show and delete conversation threads.", no_args_is_help=True)


def _checkpointer(config: Optional[Path]):
    from agentmesh.assembly import build_checkpointer
    from agentmesh.config import Settings

    return build_checkpointer(Settings.load(config))


@threads_app.command("list")
def threads_list(config: Optional[Path] = ConfigOpt, limit: int = typer.Option(50, "--limit", "-n"),
                 kind: Optional[list[str]] = typer.Option(None, "--kind", "-k",
                                                          help="Only these kinds: chat, ask, workflow, eval, slack, server (repeatable).")) -> None:
    """The most recent threads: id, kind, messages, last question."""
    from agentmesh.errors import ConfigError
    from agentmesh.memory.conversation import THREAD_KINDS, list_threads

    with one_line_errors():
        known = {"chat", *THREAD_KINDS.values()}
        if kind and set(kind) - known:
            raise ConfigError(f"--kind {', '.join(sorted(set(kind) - known))}: use {', '.join(sorted(known))}")
        threads = list_threads(_checkpointer(config), limit=limit, kinds=kind or None)
    table = Table()
    for column in ("thread", "kind", "messages", "updated", "last question"):
        table.add_column(column)
    for t in threads:
        table.add_row(t.thread_id, t.kind, str(t.messages), t.updated[:19], escape(t.last_question[:80]))
    out.print(table if threads else "no threads yet")


@threads_app.command("show")
def threads_show(thread_id: str = typer.Argument(...), config: Optional[Path] = ConfigOpt) -> None:
    """Every message of a thread."""
    from agentmesh.errors import ConfigError

    with one_line_errors():
        state = _checkpointer(config).get({"configurable": {"thread_id": thread_id}})
        if state is None:
            raise ConfigError(f"no thread '{thread_id}'; see: agentmesh threads list")
    for message in state.get("channel_values", {}).get("messages", []):
        role = type(message).__name__.removesuffix("Message").lower()
        calls = "".join(f" [{c['name']}({c['args']})]" for c in getattr(message, "tool_calls", []) or [])
        out.print(f"[bold]{role}[/]: {escape(message.text)}{escape(calls)}")


@threads_app.command("delete")
def threads_delete(thread_id: str = typer.Argument(...), config: Optional[Path] = ConfigOpt) -> None:
    """Delete a thread and all its checkpoints."""
    from agentmesh.errors import ConfigError
    from agentmesh.memory.conversation import delete_thread

    with one_line_errors():
        saver = _checkpointer(config)
        if saver.get({"configurable": {"thread_id": thread_id}}) is None:
            raise ConfigError(f"no thread '{thread_id}'; see: agentmesh threads list")
        delete_thread(saver, thread_id)
    out.print(f"deleted thread {thread_id}")


facts_app = typer.Typer(help="Long-term facts: list, add and forget.", no_args_is_help=True)


def _facts(config: Optional[Path]):
    from agentmesh.assembly import Components
    from agentmesh.config import Settings

    return Components(Settings.load(config)).facts


@facts_app.command("list")
def facts_list(config: Optional[Path] = ConfigOpt) -> None:
    """Every fact the assistant was asked to remember."""
    with one_line_errors():
        facts = _facts(config).list()
    table = Table()
    for column in ("id", "fact", "stored", "thread"):
        table.add_column(column)
    for fact in facts:
        table.add_row(fact.id, escape(fact.text), fact.created, fact.thread_id)
    out.print(table if facts else "no facts yet")


@facts_app.command("add")
def facts_add(statement: str = typer.Argument(..., help="One self-contained sentence."), config: Optional[Path] = ConfigOpt) -> None:
    """Remember a fact (as the remember tool does)."""
    with one_line_errors():
        fact = _facts(config).remember(statement, thread_id="cli")
    out.print(f"remembered {fact.id}: {escape(fact.text)}")


@facts_app.command("forget")
def facts_forget(fact: str = typer.Argument(..., help="An id from 'facts list', or words of the fact."),
                 config: Optional[Path] = ConfigOpt) -> None:
    """Forget a fact."""
    with one_line_errors():
        gone = _facts(config).forget(fact)
    out.print(f"forgot {gone.id}: {escape(gone.text)}")
