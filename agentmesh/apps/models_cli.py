"""``agentmesh models list|test|usage`` and ``agentmesh trace show``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from agentmesh.apps.common import ConfigOpt, one_line_errors, out

__all__ = ["models_app", "trace_show"]

models_app = typer.Typer(help="The model catalog: list, health-check, usage and cost.", no_args_is_help=True)


def _catalog(config: Optional[Path]):
    from agentmesh.config import Settings
    from agentmesh.models.catalog import Catalog

    settings = Settings.load(config)
    return settings, Catalog.load(*([settings.catalog] if settings.catalog else []))


@models_app.command("list")
def models_list(config: Optional[Path] = ConfigOpt) -> None:
    """Every model of the catalog with its tier, prices, window and whether it can be used here."""
    from agentmesh.models.routed import available_models, detect_gpu

    with one_line_errors():
        _, catalog = _catalog(config)
        missing = available_models(catalog)
    table = Table()
    for column in ("model", "tier", "where", "$/1M in", "$/1M out", "window", "tools", "usable here"):
        table.add_column(column)
    for spec in sorted(catalog, key=lambda s: (s.tier, s.name)):
        table.add_row(spec.name, str(spec.tier), "local" if spec.local else "hosted", f"{spec.input_per_1m:g}",
                      f"{spec.output_per_1m:g}", f"{spec.context_window:,}", "native" if spec.tool_calls else "json",
                      "[green]yes[/]" if spec.name not in missing else f"[yellow]{escape(missing[spec.name])}[/]")
    out.print(table)
    out.print(f"GPU: {escape(detect_gpu() or 'none detected')}")


@models_app.command("test")
def models_test(config: Optional[Path] = ConfigOpt, timeout: float = typer.Option(2.0, "--timeout")) -> None:
    """Check that each usable model's server answers (GET /models), with the round-trip time."""
    from agentmesh.models.routed import available_models, probe

    with one_line_errors():
        _, catalog = _catalog(config)
        missing = available_models(catalog)
    table = Table()
    for column in ("model", "endpoint", "answers", "ms"):
        table.add_column(column)
    for spec in catalog:
        if spec.name in missing:
            table.add_row(spec.name, escape(spec.endpoint or "-"), f"[dim]skipped: {escape(missing[spec.name])}[/]", "")
            continue
        ok, ms, detail = probe(spec, timeout=timeout)
        table.add_row(spec.name, escape(spec.endpoint or "in-process"), "[green]yes[/]" if ok else f"[red]no ({detail})[/]",
                      f"{ms:.0f}" if spec.endpoint else "")
    out.print(table)


@models_app.command("usage")
def models_usage(config: Optional[Path] = ConfigOpt, thread: Optional[str] = typer.Option(None, "--thread", "-t"),
                 run: Optional[str] = typer.Option(None, "--run", "-r")) -> None:
    """Calls, tokens, cost and latency per model (overall, for a thread or for a run), from the ledger."""
    from agentmesh.models.routed import UsageLedger

    with one_line_errors():
        settings, _ = _catalog(config)
        rows = UsageLedger(settings.data_dir() / "usage.sqlite").usage(thread, run)
    table = Table()
    for column in ("model", "calls", "failures", "tokens in", "tokens out", "cost $", "mean ms"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.model, str(r.calls), str(r.failures), f"{r.input_tokens:,}", f"{r.output_tokens:,}",
                      f"{r.cost_usd:.4f}", f"{r.mean_latency_ms:.0f}")
    out.print(table if rows else "no routed model calls recorded yet (model = 'auto')")


def trace_show(run_id: str = typer.Argument(..., help="The run id printed by 'agentmesh ask'."),
               config: Optional[Path] = ConfigOpt) -> None:
    """A run's steps: the question, retrieval, model choices with reasons, tool calls, the answer."""
    from rdflib import RDFS

    from agentmesh.config import Settings
    from agentmesh.runs.provenance import AM, PROV, load_trace

    with one_line_errors():
        g = load_trace(Settings.load(config).data_dir("traces"), run_id)
    run = AM[f"run/{run_id}"]
    started, ended = g.value(run, PROV.startedAtTime), g.value(run, PROV.endedAtTime)
    out.print(f"[bold]run {run_id}[/] · {started} → {ended} · stop: {g.value(run, AM.stopReason)}")
    out.print(f"question: {escape(str(g.value(AM[f'run/{run_id}/question'], PROV.value)))}")
    if g.value(run, AM.cacheHit):
        out.print(f"cache hit: like {escape(str(g.value(run, AM.cachedQuestion)))!r} "
                  f"(similarity {g.value(run, AM.cacheSimilarity)})")
    used = sorted(str(g.value(u, RDFS.label) or u) for u in g.objects(AM[f"run/{run_id}/ground"], PROV.used)
                  if not str(u).startswith(str(AM)))
    out.print(f"retrieved: {escape(', '.join(used)) or '-'}")
    n = 1
    while (AM[f"run/{run_id}/model/{n}"], None, None) in g:
        step = AM[f"run/{run_id}/model/{n}"]
        fallbacks = [str(f) for f in g.objects(step, AM.fallbackAfter)]
        reason = str(g.value(step, AM.routeReason) or "")
        out.print(f"{escape(str(g.value(step, RDFS.label)))}" + (f" — {escape(reason)}" if reason else "")
                  + (f" (after: {escape('; '.join(fallbacks))})" if fallbacks else ""))
        n += 1
    n = 1
    while (AM[f"run/{run_id}/tool/{n}"], None, None) in g:
        tool = AM[f"run/{run_id}/tool/{n}"]
        ok = "ok" if str(g.value(tool, AM.succeeded)).lower() == "true" else "failed"
        out.print(f"tool {n}: {escape(str(g.value(tool, RDFS.label)))}({escape(str(g.value(tool, AM.arguments)))}) → {ok}")
        n += 1
    out.print(f"answer: {escape(str(g.value(AM[f'run/{run_id}/answer'], PROV.value)))}")
