"""The ``agentmesh`` command line: ``ask`` one question, or ``chat`` in a thread."""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from agentmesh.apps.common import ConfigOpt, decide, err, error_line, one_line_errors, out
from agentmesh.apps.kg_cli import kg_app, trace_app
from agentmesh.apps.mcp_cli import mcp_app
from agentmesh.apps.memory_cli import cache_app, facts_app, threads_app
from agentmesh.apps.models_cli import models_app, trace_show
from agentmesh.apps.run_cli import run as run_command
from agentmesh.apps.run_cli import worker as worker_command

__all__ = ["app", "main"]

app = typer.Typer(
    name="agentmesh",
    help="Grounded assistants over your own knowledge graph and data. "
    "Settings come from ./agentmesh.toml and AGENTMESH_* variables; options override both.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(kg_app, name="kg")
app.add_typer(trace_app, name="trace")
app.add_typer(cache_app, name="cache")
app.add_typer(threads_app, name="threads")
app.add_typer(facts_app, name="facts")
app.add_typer(models_app, name="models")
app.add_typer(mcp_app, name="mcp")
trace_app.command("show")(trace_show)

ModelOpt = typer.Option(None, "--model", "-m", help="'embedded', 'openai:<name>' or 'local:<name>' (with --base-url).")
BaseUrlOpt = typer.Option(None, "--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
KgOpt = typer.Option(None, "--kg", help="RDF file or folder to ground answers in (repeatable).")
DbOpt = typer.Option(None, "--db", help="Database for the sql tool: a SQLite file or a SQLAlchemy URL.")


def _agent(config: Optional[Path], model: Optional[str], base_url: Optional[str], kg: Optional[list[Path]], db: Optional[str]):
    from agentmesh.config import Settings

    return _agent_for(Settings.load(config, model=model, base_url=base_url, kg=kg or None, db=db))


def _agent_for(settings):
    from agentmesh.agent import Agent

    with err.status("loading model and knowledge graph..."):
        return Agent(settings)


def _print_result(result) -> None:
    out.print(Panel(escape(result.answer or "(no answer)"), title=f"answer · {escape(result.model)}", title_align="left"))
    if result.tool_calls:
        table = Table(title="tools called", title_justify="left", show_lines=False)
        table.add_column("tool")
        table.add_column("arguments")
        table.add_column("result", overflow="fold")
        for call in result.tool_calls:
            status = "[green]ok[/]" if call.ok else "[red]error[/]"
            preview = call.output.replace("\n", " ")[:160]
            table.add_row(call.name, escape(json.dumps(call.args)[:200]), f"{status} {escape(preview)}")
        out.print(table)
    if result.citations:
        out.print("[bold]citations[/]")
        for i, c in enumerate(result.citations, 1):
            detail = c.detail if c.kind == "node" else c.detail.replace("\n", " ")[:200]
            if c.verified is False:
                detail += "  [yellow](not in the graph)[/]"
            out.print(f"  [{i}] {c.kind}: {escape(c.ref)}  {escape(detail)}")
    else:
        out.print("[dim]no citations: the answer names no knowledge-graph node and no SQL or code ran[/]")
    if result.cached:
        out.print(f"[dim]answered from the semantic cache (like: {escape(str(result.cached.get('question', '')))!r}, "
                  f"similarity {result.cached.get('similarity')})[/]")
    for call in result.model_calls:
        if "below what the task needs" in call.get("reason", ""):
            err.print(f"[yellow]warning: {escape(call['model'])} answered, below the quality this question needs: "
                      f"{escape(call['reason'])}[/]")
    for uri in result.unverified:
        err.print(f"[yellow]warning: {escape(uri)} is not a node of the knowledge graph[/]")
    if result.unsupported:
        err.print("[yellow bold]not supported by the evidence (do not take these as fact):[/]")
        for claim in result.unsupported:
            err.print(f"[yellow]  ✗ {escape(claim.text)}[/]")
    if result.stop_reason == "evidence_only":  # the model's answer failed the check, or none could be checked
        err.print("[yellow]no checked answer: shown instead is what the evidence says[/]")
    elif result.stop_reason == "not_found":
        err.print("[yellow]no checked answer: nothing in the evidence answers this[/]")
    elif result.stop_reason not in ("answered", "cached"):
        err.print(f"[yellow]stopped: {result.stop_reason}[/]")
    out.print(f"[dim]run {result.run_id} · provenance: agentmesh trace export {result.run_id}[/]")


@app.command()
def ask(
    question: Optional[str] = typer.Argument(None, help="The question to answer; '-' reads it from standard input."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Read the question from this file (a long one, say)."),
    model: Optional[str] = ModelOpt,
    base_url: Optional[str] = BaseUrlOpt,
    kg: Optional[list[Path]] = KgOpt,
    db: Optional[str] = DbOpt,
    config: Optional[Path] = ConfigOpt,
    thread: Optional[str] = typer.Option(None, "--thread", "-t", help="Continue this thread instead of a new one."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    approve: Optional[bool] = typer.Option(
        None, "--approve/--reject",
        help="Approve (or reject) every dangerous tool call without asking. Default: ask on a terminal, reject otherwise.",
    ),
) -> None:
    """Answer one question; print the answer, the tools called and the citations."""
    question = _question(question, file)
    with one_line_errors():
        with _agent(config, model, base_url, kg, db) as agent:
            pending = agent.pending(thread) if thread else []
            if pending:  # an earlier run waits for a decision: settle it first
                err.print("[yellow]this thread has an earlier run waiting for approval[/]")
            while pending:
                pending = agent.resume(thread, decide(pending, approve)).pending
            # a one-shot question gets a thread of its own kind, so chat's /threads does not list it
            result = agent.run(question, thread_id=thread or f"ask-{uuid.uuid4().hex}")
            while result.pending:
                result = agent.resume(result.thread_id, decide(result.pending, approve))
    if as_json:
        out.print_json(json.dumps(result.to_dict(), default=str))
    else:
        _print_result(result)


@app.command()
def profile(
    kg: Optional[list[Path]] = KgOpt,
    db: Optional[str] = DbOpt,
    config: Optional[Path] = ConfigOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON (for tools)."),
) -> None:
    """Show what your data says about itself: each table's label, measures and units, categories,
    dates and foreign-key paths; each graph class and predicate with its labels and comments.
    Built when the database is opened and kept in the data home; the lexicon file overrides it."""
    from agentmesh.assembly import Components
    from agentmesh.config import Settings

    with one_line_errors():
        settings = Settings.load(config, kg=kg or None, db=db)
        if settings.db is None and not settings.kg and not settings.kg_endpoints:
            error_line("no data to profile: pass --db (a SQLite file or a SQLAlchemy URL) or --kg, or set db or kg in settings")
            raise typer.Exit(2)
        parts = Components.from_settings(settings)
        with err.status("reading the data..."):
            found = parts.data_profile
    if as_json:
        out.print_json(found.to_json())
        return
    _print_profile(found)


@app.command()
def init(
    db: Optional[str] = DbOpt,
    kg: Optional[list[Path]] = KgOpt,
    out_file: Path = typer.Option(Path("agentmesh.toml"), "--out", help="The settings file to write."),
    force: bool = typer.Option(False, "--force", help="Replace an existing settings file."),
    check: bool = typer.Option(True, "--check/--no-check", help="Ask the suggested questions to see which it answers."),
) -> None:
    """Start on your own data: write a settings file for --db and --kg, index the graph, print what
    the data says about itself (agentmesh profile), and suggest questions, each asked once to show
    which the configured model answers."""
    from agentmesh.assembly import Components
    from agentmesh.config import Settings

    if db is None and not kg:
        error_line("nothing to start from: pass --db (a SQLite file or a SQLAlchemy URL) and/or --kg FILE")
        raise typer.Exit(2)
    if out_file.exists() and not force:
        error_line(f"'{out_file}' exists; pass --force to replace it, or --out another file")
        raise typer.Exit(2)
    lines = ['# written by agentmesh init; every key is listed in README.md', 'model = "embedded"']
    if db is not None:
        lines.append(f"db = {json.dumps(db)}")
    lines.append(f"kg = {json.dumps([str(p) for p in kg or []])}")
    lines.append("# lexicon = \"lexicon.toml\"   # words your data cannot say (README: 'A lexicon')")
    with one_line_errors():
        settings = Settings.load(None, db=db, kg=kg or None)  # checked before anything is written
        text = "\n".join(lines) + "\n"
        tmp = out_file.with_name(out_file.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_file)
        parts = Components.from_settings(settings)
        with err.status("indexing and reading the data..."):
            if settings.kg:
                parts.knowledge  # noqa: B018 - builds and stores the node index
            found = parts.data_profile
    out.print(f"wrote {escape(str(out_file))}")
    _print_profile(found)
    questions = suggested_questions(found, parts.database)
    if not questions:
        return
    if not check:
        out.print("questions to try:\n" + "\n".join(f"  {escape(q)}" for q in questions))
        return
    from agentmesh.agent import Agent

    with err.status("asking the suggested questions..."), Agent(settings, components=parts) as agent:
        results = [(q, agent.run(q)) for q in questions]
    for question, result in results:
        answered = result.stop_reason == "answered" and result.supported
        mark = "[green]answers[/]" if answered else "[yellow]cannot answer yet[/]"
        out.print(f"{mark}  {escape(question)}" + (f"\n    {escape(result.answer.splitlines()[0][:120])}" if answered else ""))


def suggested_questions(found: Any, database: Any, most: int = 5) -> list[str]:
    """Questions the data can answer, made from its profile: a measure of a named row, a count."""
    questions: list[str] = []
    index = getattr(database, "label_index", None) if database is not None else None
    for name, table in found.tables.items():
        names = (index.values.get(name) or []) if index is not None else []
        if table.label.own and names and table.measures:
            first = table.measures[0]
            said = [w for w in first.column.split("_") if w and w.lower() != first.unit.lower()]  # "length_km" -> "length"
            questions.append(f"What is the {' '.join(said) or first.column} of {names[0]}?")
        if table.rows:
            questions.append(f"How many {name.replace('_', ' ')} are there?")
        if len(questions) >= most:
            break
    for term in getattr(found, "graph", [])[:2]:
        if term.labels and len(questions) < most:
            questions.append(f"What is {term.labels[0]}?")
    return questions[:most]


def _print_profile(found) -> None:
    def cut(text: str, width: int = 60) -> str:
        return text if len(text) <= width else text[:width - 3] + "..."

    if found.tables:
        table = Table(title=f"database {escape(found.database)}", title_justify="left", show_lines=True)
        for column in ("table", "rows", "label", "measures (unit)", "categories", "dates", "reaches"):
            table.add_column(column, overflow="fold")
        for name, t in found.tables.items():
            label = f"{escape(t.label.shown)}\n[dim]{t.label.kind}[/]" if t.label.kind != "none" else "[dim]-[/]"
            if t.names:  # other names of its rows: codes people also say
                label += f"\n[dim]also named by[/] {escape(', '.join(t.names))}"
            measures = "\n".join(f"{m.column} ({m.unit})" if m.unit else m.column for m in t.measures)
            categories = "\n".join(cut(f"{c.column}: {', '.join(map(str, c.values))}") for c in t.categories)
            table.add_row(escape(name), f"{t.rows:,}", label, escape(measures), escape(categories),
                          escape(", ".join(t.dates)), escape(", ".join(t.paths)))
        out.print(table)
    if found.graph:
        graph = Table(title="knowledge graph: classes and predicates", title_justify="left")
        for column in ("kind", "term", "labels", "altLabels", "comment"):
            graph.add_column(column, overflow="fold")
        for term in found.graph:
            graph.add_row(term.kind, escape(term.uri), escape(", ".join(term.labels)), escape(", ".join(term.alt_labels)),
                          escape(cut(" ".join(term.comments), 80)))
        out.print(graph)
    if found.lexicon:
        out.print(f"[dim]lexicon: {escape(found.lexicon)}[/]")


def _question(question: Optional[str], file: Optional[Path]) -> str:
    """The question from the argument, standard input ('-') or --file; exits 2 with a clear line if none."""
    if file is not None and question not in (None, "-"):
        error_line("give the question as an argument or with --file, not both")
        raise typer.Exit(2)
    try:
        if file is not None:
            question = file.read_text(encoding="utf-8")
        elif question == "-":
            question = sys.stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        error_line(f"cannot read the question from {file or 'standard input'}: {exc}")
        raise typer.Exit(2) from None
    if not question or not question.strip():
        error_line('the question is empty; pass it in quotes (agentmesh ask "..."), or use - or --file')
        raise typer.Exit(2)
    return question.strip()


@app.command()
def chat(
    model: Optional[str] = ModelOpt,
    base_url: Optional[str] = BaseUrlOpt,
    kg: Optional[list[Path]] = KgOpt,
    db: Optional[str] = DbOpt,
    config: Optional[Path] = ConfigOpt,
    thread: Optional[str] = typer.Option(None, "--thread", "-t", help="Resume this thread."),
) -> None:
    """Chat in a thread that keeps its history across turns and sessions. /help lists the commands."""
    from agentmesh.apps.repl import ChatREPL

    with one_line_errors():
        agent = _agent(config, model, base_url, kg, db)
    repl = ChatREPL(agent, console=out, thread_id=thread, make_agent=lambda name: _agent(config, name, base_url, kg, db))
    try:
        repl.run()
    finally:
        repl.agent.close()  # (the agent of the last /model)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; beyond localhost a token is required."),
    port: int = typer.Option(8000, "--port", "-p"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes, each with its own agent."),
    token: Optional[str] = typer.Option(None, "--token", envvar="AGENTMESH_SERVER_TOKEN", show_envvar=True,
                                        help="Bearer token clients must send (default: settings' server_token)."),
    model: Optional[str] = ModelOpt,
    base_url: Optional[str] = BaseUrlOpt,
    kg: Optional[list[Path]] = KgOpt,
    db: Optional[str] = DbOpt,
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Serve the agent: an OpenAI-compatible API (/v1/chat/completions), a web chat page (/), and Slack when configured."""
    from agentmesh.config import Settings

    with one_line_errors():
        settings = Settings.load(config, model=model, base_url=base_url, kg=kg or None, db=db)
        token = token or (settings.server_token.get_secret_value() if settings.server_token else None)
        try:
            from agentmesh.apps.server import check_bind, create_app
        except ImportError as exc:
            error_line(f"the server needs its extras ({exc.name} is missing): pip install 'agentmesh[server]'")
            raise typer.Exit(2) from None
        check_bind(host, token or ("per-user tokens" if settings.server_tokens else None))
        if workers > 1:
            _serve_workers(workers, host, port, token, config, model, base_url, kg, db, settings)
            return
        agent = _agent_for(settings)
        app_ = create_app(agent, token=token)
    import uvicorn

    slack = app_.state.slack is not None
    err.print(f"[dim]agentmesh serve · http://{host}:{port}/ · model {escape(agent.model_name)}"
              f"{' · token required' if token else ''}{' · Slack at /slack/events' if slack else ''}[/]")
    try:
        uvicorn.run(app_, host=host, port=port, log_level="info")
    finally:
        agent.close()  # the cache's store, the MCP servers' processes


app.command("run")(run_command)
app.command("worker")(worker_command)


@app.command()
def slack(
    model: Optional[str] = ModelOpt,
    base_url: Optional[str] = BaseUrlOpt,
    kg: Optional[list[Path]] = KgOpt,
    db: Optional[str] = DbOpt,
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Answer on Slack over Socket Mode: no public URL needed (slack_bot_token + slack_app_token)."""
    import time

    with one_line_errors():
        try:
            from agentmesh.apps.slack import run_socket_mode
        except ImportError as exc:
            error_line(f"Slack needs its extra ({exc.name} is missing): pip install 'agentmesh[slack]'")
            raise typer.Exit(2) from None
        agent = _agent(config, model, base_url, kg, db)
        handler = run_socket_mode(agent)
    err.print(f"[dim]agentmesh slack · Socket Mode connected · model {escape(agent.model_name)} · Ctrl-C stops[/]")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        handler.close()


def _serve_workers(workers, host, port, token, config, model, base_url, kg, db, settings) -> None:
    """N worker processes, each with its own agent, built from the environment by app_from_env.
    They share the data home: threads (SQLite WAL, or PostgreSQL), and a per-thread file lock so
    two workers never run the same thread at once."""
    import os

    import uvicorn

    overrides = {"AGENTMESH_MODEL": model, "AGENTMESH_BASE_URL": base_url, "AGENTMESH_DB": db,
                 "AGENTMESH_KG": ",".join(str(Path(p).resolve()) for p in kg) if kg else None,
                 "AGENTMESH_SERVER_TOKEN": token, "AGENTMESH_SERVE_CONFIG": str(config.resolve()) if config else None,
                 "AGENTMESH_HOME": str(settings.home)}
    os.environ.update({k: v for k, v in overrides.items() if v})
    err.print(f"[dim]agentmesh serve · http://{host}:{port}/ · {workers} workers"
              f"{' · token required' if token else ''}[/]")
    uvicorn.run("agentmesh.apps.server:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="info")


@app.command(name="eval")
def eval_command(
    file: Path = typer.Argument(..., help="Questions with their expectations: JSON list or JSON Lines."),
    model: Optional[str] = ModelOpt,
    base_url: Optional[str] = BaseUrlOpt,
    kg: Optional[list[Path]] = KgOpt,
    db: Optional[str] = DbOpt,
    config: Optional[Path] = ConfigOpt,
    report: Optional[Path] = typer.Option(None, "--report", help="Write a Markdown report here."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every answer and the summary as JSON here."),
    fail_under: Optional[float] = typer.Option(None, "--fail-under", min=0.0, max=1.0,
                                               help="Exit 1 when the share of correct answers is below this."),
    limit: int = typer.Option(0, "--limit", min=0, help="Only the first N questions."),
    parallel: int = typer.Option(1, "--parallel", "-j", min=1, max=64,
                                 help="Questions asked at a time (for a hosted or GPU-served model)."),
    judge: Optional[str] = typer.Option(None, "--judge", help="A model (as --model names one) that scores the "
                                        "questions whose expectation is free text; rules score the rest."),
) -> None:
    """Score the agent on questions whose answers you know: correct, wrong and shown as fact,
    flagged, abstained; latency, tokens and cost (by the model catalog's prices). Each question
    runs in a fresh thread, cache off.

    \b
    FILE: one question per line (JSON Lines), or a JSON list of them.
    "expected": free text; its numbers and names must appear in the answer.
    "values": every one must appear. "regex": the answer must match.
    "absent": true: the data does not hold it; the agent must say so.
    "tags": the scores are also given per tag.

    \b
    {"question": "Who develops Qwen 72B Chat?", "expected": "Alibaba Cloud"}
    {"question": "Which model is best?", "values": ["GPT-4", "86.4"], "tags": ["rank"]}
    {"question": "What is the MMLU gap?", "regex": "\\b12(\\.0)?\\b"}
    {"question": "Who is the CEO of Mistral AI?", "absent": true}"""
    from rich.progress import Progress

    from agentmesh.config import Settings
    from agentmesh.evaluation import evaluate, load_questions

    with one_line_errors():
        items = load_questions(file)[: limit or None]
        settings = Settings.load(config, model=model, base_url=base_url, kg=kg or None, db=db, cache=False)
        agent = _agent_for(settings)
        from agentmesh.models.catalog import Catalog

        catalog = Catalog.load(*([settings.catalog] if settings.catalog else []))
        grader = None
        if judge:
            from agentmesh.assembly import build_model
            from agentmesh.evaluation import model_judge

            grader = model_judge(build_model(settings.model_copy(update={"model": judge})))
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("asking", total=len(items))
            result = evaluate(agent, items, progress=lambda row: bar.advance(task), parallel=parallel, catalog=catalog,
                              judge=grader)
    table = Table(title=f"agentmesh eval · {file.name} · {agent.model_name}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in result.table():
        table.add_row(name, value)
    out.print(table)
    for row in result.results:
        if row.outcome == "wrong":
            err.print(f"[red]wrong, shown as fact:[/] {escape(row.question)} -> {escape(row.answer[:160])}")
    if report:
        report.write_text(result.markdown(), encoding="utf-8")
    if json_out:
        json_out.write_text(result.to_json(), encoding="utf-8")
    if fail_under is not None and result.correct_rate < fail_under:
        err.print(f"[red]{result.correct_rate:.0%} correct, under --fail-under {fail_under:.0%}[/]")
        raise typer.Exit(1)


@app.command()
def gc(
    days: float = typer.Option(30.0, "--days", help="Remove what was not used for this many days."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Remove old knowledge-graph stores, node indexes and cache scopes from the data home.
    Threads, facts and traces are never touched; nothing a running process holds is removed."""
    from agentmesh.config import Settings
    from agentmesh.maintenance import leftovers, remove

    with one_line_errors():
        home = Settings.load(config).home
    found = leftovers(home, older_than_days=days)
    if not found:
        out.print(f"[dim]nothing unused for {days:g} days under {escape(str(home))}[/]")
        return
    table = Table(title=f"unused for {days:g}+ days under {home}", title_justify="left")
    for col in ("kind", "folder", "last used", "size"):
        table.add_column(col)
    import datetime

    for item in found:
        when = datetime.datetime.fromtimestamp(item.last_used).strftime("%Y-%m-%d")
        name = item.path.name + (" [yellow](in use: kept)[/]" if item.held else "")
        table.add_row(item.kind, name, when, f"{item.size / 1e6:.1f} MB")
    out.print(table)
    free = [i for i in found if not i.held]
    if dry_run or not free:
        return
    if not yes and not typer.confirm(f"Remove {len(free)} folders ({sum(i.size for i in free) / 1e6:.1f} MB)?"):
        raise typer.Exit(1)
    removed = remove(free)
    out.print(f"removed {len(removed)} folders, {sum(i.size for i in removed) / 1e6:.1f} MB")


@app.command()
def plugins(
    kind: Optional[str] = typer.Argument(None, help="Only this kind: models, embeddings, tools, caches, checkpointers, retrievers."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The parts installed, built-ins and plugins alike: each one's kind, name, distribution and entry point."""
    from agentmesh import plugins as registry

    with one_line_errors():
        if kind is not None and kind not in registry.registries:
            from agentmesh.errors import ConfigError

            raise ConfigError(f"no plugin kind '{kind}'; use one of: {', '.join(registry.registries)}")
        found = [p for p in registry.installed() if kind is None or p.kind == kind]
    if as_json:
        out.print_json(json.dumps([asdict(p) for p in found]))
        return
    table = Table(title="installed parts (a setting names one by its name)", title_justify="left")
    for column in ("kind", "name", "from", "entry point", "setting"):
        table.add_column(column)
    for p in found:
        source = p.source if p.source == "agentmesh" else f"[bold]{escape(p.source)}[/]"
        table.add_row(p.kind, escape(p.name), source, escape(p.target), registry.registries[p.kind].setting)
    out.print(table)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
