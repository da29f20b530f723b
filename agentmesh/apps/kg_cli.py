"""``agentmesh kg``: load, index, search, inspect and query a knowledge graph; ``agentmesh trace``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text
from rich.table import Table

from agentmesh.apps.common import ConfigOpt, err, one_line_errors, out
from agentmesh.errors import ConfigError

__all__ = ["kg_app", "trace_app"]

kg_app = typer.Typer(help="Load, index, search and query the knowledge graph.", no_args_is_help=True)
trace_app = typer.Typer(help="Inspect the provenance trace of a run.", no_args_is_help=True)

KgArg = typer.Argument(None, help="RDF files or folders (default: the 'kg' setting).")
KgOpt = typer.Option(None, "--kg", help="RDF file or folder (repeatable; default: the 'kg' setting).")


def _settings(config: Optional[Path], kg: Optional[list[Path]]):
    from agentmesh.config import Settings

    settings = Settings.load(config, kg=kg or None)
    if not settings.kg and not settings.kg_endpoints:
        raise ConfigError("no knowledge graph given; pass RDF files or folders, or set 'kg' (or 'kg_endpoints') in agentmesh.toml")
    return settings


class _Rate(ProgressColumn):
    """Nodes embedded per second so far."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} nodes/s" if speed else "", style="cyan")


def _open(settings, *, kind: str | None = None, on_stale: str = "rebuild", show_progress: bool = True):
    from agentmesh.assembly import build_embeddings, open_knowledge

    embeddings = build_embeddings(settings)
    with Progress(
        TextColumn("embedding node texts"), BarColumn(), MofNCompleteColumn(), _Rate(), TimeRemainingColumn(),
        console=err, transient=True, disable=not show_progress,
    ) as bar:
        task = bar.add_task("embed", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        # the agent's own knowledge (the remembered facts included), so the index built here is the one it uses
        return open_knowledge(settings, embeddings, kind=kind, on_stale=on_stale, progress=progress)


@kg_app.command("load")
def kg_load(
    paths: Optional[list[Path]] = KgArg,
    refresh: bool = typer.Option(False, "--refresh", help="Fetch the 'kg_endpoints' mirrors again, however fresh."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Parse RDF files (and mirror SPARQL endpoints) into the on-disk store (done once; later runs reuse it)."""
    from agentmesh.assembly import knowledge_sources
    from agentmesh.knowledge import KnowledgeStore

    with one_line_errors():
        settings = _settings(config, paths)
        if settings.kg_endpoint_mode == "live":
            raise ConfigError("kg_endpoint_mode is 'live': the graph stays at its endpoint, nothing is loaded here; "
                              "build its node index with: agentmesh kg index (and agentmesh kg sync for changes)")
        started = time.perf_counter()
        store = KnowledgeStore.open(knowledge_sources(settings, refresh=refresh), cache_dir=settings.data_dir("kg") / "stores")
    manifest = json.loads((store.path / "manifest.json").read_text())
    out.print(
        f"{len(store):,} triples from {len(store.sources) - 1} file(s) and the remembered facts · parsed in {manifest['load_seconds']:.2f}s "
        f"· opened in {time.perf_counter() - started:.2f}s · store {store.content_hash} at {escape(str(store.path))}"
    )


@kg_app.command("index")
def kg_index(
    paths: Optional[list[Path]] = KgArg,
    kind: Optional[str] = typer.Option(None, "--kind", help="auto (default), flat or hnsw."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Build or refresh the node index, re-embedding only nodes whose text changed."""
    with one_line_errors():
        settings = _settings(config, paths)
        if kind not in (None, "auto", "flat", "hnsw"):
            raise ConfigError(f"--kind '{kind}': use auto, flat or hnsw")
        started = time.perf_counter()
        kb = _open(settings, kind=kind)
    m = kb.index.manifest
    table = Table(title="node index", title_justify="left", show_header=False)
    for name, value in [
        ("nodes", f"{m.count + kb.skipped:,}"),
        ("described", f"{m.count:,}"),
        ("skipped (no label or description)", f"{kb.skipped:,}"),
        ("embedded now", f"{kb.embedded_now:,}"),
        ("reused", f"{m.count - kb.embedded_now:,}"),
        ("index", f"{m.kind} · {m.dimension} dims · {m.embedding_model}"),
        ("throughput", f"{kb.embedded_now / m.build_seconds:,.0f} nodes/s ({m.build_seconds:.2f}s to build)"
                       if kb.embedded_now and m.build_seconds else "nothing embedded"),
        ("graph", f"{len(kb.store):,} triples · version {kb.version}"),
        ("time", f"{time.perf_counter() - started:.2f}s"),
    ]:
        table.add_row(name, value)
    out.print(table)


@kg_app.command("sync")
def kg_sync(config: Optional[Path] = ConfigOpt) -> None:
    """Live graphs (kg_endpoint_mode = "live"): read the endpoint's labels and descriptions again
    and re-embed only the nodes that changed or are new."""
    from agentmesh.assembly import build_embeddings, open_live_knowledge

    with one_line_errors():
        settings = _settings(config, None)
        if settings.kg_endpoint_mode != "live":
            raise ConfigError("kg sync is for kg_endpoint_mode = 'live'; a mirrored endpoint is fetched again with: "
                              "agentmesh kg load --refresh")
        started, wall = time.perf_counter(), time.time()
        kb = open_live_knowledge(settings, build_embeddings(settings))  # opening syncs when the index is old
        before = kb.state["synced_at"]
        synced_on_open = before >= wall
        embedded = kb.embedded_now if synced_on_open else kb.sync(page_size=settings.kg_endpoint_page_size,
                                                                  changes=settings.kg_endpoint_changes)
    out.print(f"synced {escape(kb.endpoint.shown)}: {len(kb.index.nodes):,} nodes, {embedded:,} re-embedded "
              f"(changed or new), {time.perf_counter() - started:.2f}s"
              + ("" if synced_on_open else f"; the sync before was {wall - before:,.0f}s ago"))


@kg_app.command("search")
def kg_search(
    query: str = typer.Argument(..., help="What to look for."),
    kg: Optional[list[Path]] = KgOpt,
    k: int = typer.Option(5, "-k", min=1, help="How many nodes (1 or more)."),
    hops: int = typer.Option(1, "--hops", min=1, max=2, help="1: the node's facts; 2: also its neighbours'."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Show the nodes the agent would ground a question in, with scores and facts."""
    with one_line_errors():
        kb = _open(_settings(config, kg))
        nodes = kb.retrieve(query, k=k, hops=hops, min_relative_score=0.0)
    table = Table(show_lines=True)
    table.add_column("score", justify="right")
    table.add_column("node")
    table.add_column("facts", overflow="fold")
    for node in nodes:
        table.add_row(f"{node.score:.3f}", f"{escape(node.label)}\n[dim]{escape(node.uri)}[/]", escape("; ".join(node.facts)))
    out.print(table)


@kg_app.command("stats")
def kg_stats(kg: Optional[list[Path]] = KgOpt, config: Optional[Path] = ConfigOpt) -> None:
    """Triples, nodes, described and skipped nodes, and the index's manifest."""
    from agentmesh.knowledge.describe import describe_nodes

    with one_line_errors():
        kb = _open(_settings(config, kg))
        texts, skipped = describe_nodes(kb.store, kb.config)
    m = kb.index.manifest
    out.print(
        f"triples {len(kb.store):,} · subjects {len(kb.store.subjects()):,} · described {len(texts):,} · "
        f"skipped {skipped:,}\nindex {m.kind}, {m.count:,} nodes, {m.embedding_model} ({m.dimension} dims), "
        f"graph version {m.graph_hash}, built {time.strftime('%Y-%m-%d %H:%M', time.localtime(m.built_at))}"
    )


@kg_app.command("sparql")
def kg_sparql(
    query: str = typer.Argument(..., help="A SELECT, ASK, CONSTRUCT or DESCRIBE query."),
    kg: Optional[list[Path]] = KgOpt,
    limit: int = typer.Option(200, "--limit", help="Row cap."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds before the query is stopped."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Run a read-only SPARQL query (updates and SERVICE are refused)."""
    from agentmesh.tools.sparql import run_sparql

    with one_line_errors():
        kb = _open(_settings(config, kg))
        result = run_sparql(kb, query, timeout=timeout, row_limit=limit)
    out.print(escape(result.render()))


@trace_app.command("export")
def trace_export(
    run_id: str = typer.Argument(..., help="The run id printed by 'agentmesh ask'."),
    fmt: str = typer.Option("turtle", "--format", "-f", help="turtle, svg or json-ld."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Export a run's provenance graph (PROV-O) as Turtle or JSON-LD, or draw it as SVG."""
    from agentmesh.config import Settings
    from agentmesh.runs.provenance import load_trace, trace_svg

    with one_line_errors():
        if fmt not in ("turtle", "svg", "json-ld"):
            raise ConfigError(f"--format '{fmt}': use turtle, svg or json-ld")
        graph = load_trace(Settings.load(config).data_dir("traces"), run_id)
        text = trace_svg(graph) if fmt == "svg" else graph.serialize(format=fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {escape(str(output))}")
    else:
        typer.echo(text)
