"""``agentmesh run flow.yaml``: run a workflow, or resume one that stopped."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from agentmesh.apps.common import ConfigOpt, decide, err, error_line, one_line_errors, out

__all__ = ["run", "worker"]


def _inputs(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            error_line(f"--input takes key=value, got {pair!r}")
            raise typer.Exit(2)
        try:
            values[key.strip()] = json.loads(raw)  # numbers, lists, objects
        except json.JSONDecodeError:
            values[key.strip()] = raw  # plain text
    return values


def run(
    flow: Path = typer.Argument(..., help="The workflow file (YAML)."),
    inputs: list[str] = typer.Option([], "--input", "-i", help="key=value (JSON or text); overrides the flow's inputs."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue the run RUN_ID where it stopped."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Name the new run (default: random)."),
    approve: Optional[bool] = typer.Option(None, "--approve/--reject", help="Decide dangerous tool calls of agent steps."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="The model of agent steps (default: the 'model' setting)."),
    kg: Optional[list[Path]] = typer.Option(None, "--kg", help="RDF file or folder agent steps ground in (repeatable)."),
    db: Optional[str] = typer.Option(None, "--db", help="Database of sql steps and the sql tool: a SQLite file or a SQLAlchemy URL."),
    config: Optional[Path] = ConfigOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the outputs as JSON at the end."),
    queue: bool = typer.Option(False, "--queue", help="Send steps and loop items to `agentmesh worker` processes "
                                                      "through the broker (setting queue_url)."),
) -> None:
    """Run a workflow: its steps call the agent, tools or Python functions; outputs go to files."""
    from agentmesh.assembly import Components
    from agentmesh.config import Settings
    from agentmesh.workflows import StepRunner, Workflow, WorkflowError

    with one_line_errors():
        workflow = Workflow.load(flow)
        settings = Settings.load(config, model=model, kg=kg or None, db=db)
        parts = Components(settings)  # built on first use: a flow of tool steps loads no model

        def agent_factory():
            from agentmesh.agent import Agent

            with err.status("loading model and knowledge graph..."):
                return Agent(components=parts)

        def progress(step: str, status: str, detail: str) -> None:
            colour = {"done": "green", "skipped": "yellow", "start": "dim"}.get(status, "cyan")
            err.print(f"[{colour}]{status:>7}[/] {escape(step)} [dim]{escape(detail)}[/]", highlight=False)

        store = settings.data_dir() / "workflows.sqlite"
        if queue:
            from agentmesh.workflows.queue import QueueStepRunner

            runner = QueueStepRunner(settings, progress=progress)
        else:
            runner = StepRunner(agent_factory=agent_factory, tools_factory=parts.light_tools, progress=progress, store=str(store))
        checkpointer = parts.workflow_checkpointer
        if resume:
            print(f"resuming run {resume}", file=sys.stderr, flush=True)
            result = workflow.resume(runner, checkpointer, resume, decision=None)
        else:
            import uuid

            run_id = run_id or uuid.uuid4().hex[:12]
            # printed before any step runs, so a killed run can be resumed by its id
            print(f"run {run_id} · resume with: agentmesh run {flow} --resume {run_id}", file=sys.stderr, flush=True)
            try:
                result = workflow.run(runner, checkpointer, inputs=_inputs(inputs), run_id=run_id)
            except WorkflowError as exc:
                if "step " in str(exc) and " failed" in str(exc):  # earlier steps' outputs are kept
                    exc.args = (f"{exc}; after fixing it, continue with: agentmesh run {flow} --resume {run_id}",)
                raise
        while result.status == "waiting":
            if approve is None and not sys.stdin.isatty():
                error_line(f"run {result.run_id} waits for approval of a tool call; decide with: "
                           f"agentmesh run {flow} --resume {result.run_id} --approve (or --reject)")
                raise typer.Exit(3)
            decisions = decide(result.pending, approve)
            result = workflow.resume(runner, checkpointer, result.run_id, decision=decisions)
    for step, path in result.files.items():
        out.print(f"[bold]{escape(step)}[/] → {escape(path)}")
    if as_json:
        out.print_json(json.dumps({"run_id": result.run_id, "outputs": result.outputs, "files": result.files,
                                   "skipped": result.skipped}, default=str))
    err.print(f"[green]run {result.run_id} done[/]")


def worker(
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="Items this worker runs at once (threads)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="The model of agent steps (default: the 'model' setting)."),
    kg: Optional[list[Path]] = typer.Option(None, "--kg", help="RDF file or folder agent steps ground in (repeatable)."),
    db: Optional[str] = typer.Option(None, "--db", help="Database of sql steps: a SQLite file or a SQLAlchemy URL."),
    config: Optional[Path] = ConfigOpt,
    loglevel: str = typer.Option("WARNING", "--loglevel", help="Celery's log level."),
    flows: Optional[list[Path]] = typer.Option(None, "--flows", help="A folder of flow files this worker runs "
                                                                     "(repeatable; default: the queue_flows setting)."),
) -> None:
    """Run workflow steps and loop items that `agentmesh run --queue` sends (a Celery worker).

    It runs only tasks signed with queue_secret that name a flow file inside its queue_flows
    folders (or --flows), and refuses to start without queue_url, queue_secret and a folder."""
    import os
    import socket
    import threading

    from agentmesh.assembly import Components
    from agentmesh.config import Settings
    from agentmesh.errors import ConfigError
    from agentmesh.workflows import StepRunner
    from agentmesh.workflows.queue import Worker, broker_shown, celery_app, check_broker

    with one_line_errors():
        settings = Settings.load(config, model=model, kg=kg or None, db=db, queue_flows=flows or None)
        if "queue_url" not in settings.model_fields_set:
            raise ConfigError("a worker needs its broker named: set queue_url (AGENTMESH_QUEUE_URL, e.g. "
                              "amqp://agentmesh:PASSWORD@broker-host:5672//); it does not fall back to RabbitMQ's "
                              "default guest login on this machine")
        if _guest_login(settings.queue_url.get_secret_value()):
            err.print("[yellow]warning:[/] queue_url logs in as RabbitMQ's default guest:guest, so anyone who can log "
                      "in to the broker (every user of the broker's machine) can read the tasks' inputs and drop or "
                      "delay them; they cannot make this worker run anything (tasks are signed with queue_secret). "
                      "Give agentmesh a user of its own: rabbitmqctl add_user agentmesh PASSWORD", soft_wrap=True, highlight=False)
        parts = Components(settings)
        agent_lock, agents = threading.Lock(), []

        def shared_agent():  # one agent per worker process, built when the first agent step comes
            from agentmesh.agent import Agent

            with agent_lock:
                if not agents:
                    agents.append(Agent(components=parts))
                return agents[0]

        job = Worker(settings, runner_factory=lambda: StepRunner(agent_factory=shared_agent, tools_factory=parts.light_tools))
        app = celery_app(settings, worker=job)
        app.conf.worker_hijack_root_logger = True  # the worker's own log (lost connections, retries) is shown
        check_broker(app, settings)
        err.print(f"agentmesh worker {job.name} · {escape(broker_shown(settings))} · queue {escape(settings.queue_name)} · "
                  f"{concurrency} at a time · flows from {escape(', '.join(str(f) for f in job.folders))} · "
                  f"items kept in {escape(job.store.engine.url.render_as_string(hide_password=True))}", highlight=False)
    # a thread pool even for one at a time: the worker's event loop keeps sending heartbeats while
    # an item runs (in Celery's solo pool a long item stalls them and the broker drops the connection)
    app.worker_main(["worker", "--pool", "threads", "--concurrency", str(concurrency),
                     "--queues", settings.queue_name, "--loglevel", loglevel, "--without-gossip", "--without-mingle",
                     "--hostname", f"agentmesh-{socket.gethostname()}-{os.getpid()}@%h"])


def _guest_login(url: str) -> bool:
    """True when ``url`` logs in to an AMQP broker as guest:guest (also when it names no user:
    Celery then logs in as guest)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if not parts.scheme.startswith(("amqp", "pyamqp")):
        return False
    user, password = unquote(parts.username or "guest"), unquote(parts.password or "guest")
    return user == "guest" and password == "guest"
