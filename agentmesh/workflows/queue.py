"""Workflows on a real queue: steps and ``for_each`` items run on ``agentmesh worker`` processes,
dispatched through Celery (RabbitMQ by default; any broker Celery takes).

``agentmesh run flow.yaml --queue`` drives the run as before: the same LangGraph graph,
checkpointed after every step, so a killed driver resumes with ``--resume``. What changes is who
does the work. A step is sent to the queue as one task, and a loop as one task per item, all at
once, so N workers run N items at a time. Template steps are rendered by the driver.

What happens to each item is kept in the **item store** (``queue_store``: a SQLAlchemy URL;
by default the threads' PostgreSQL, else ``<home>/queue.sqlite``, which only workers on the
same machine can reach). Each item has one row there, and a row once written is never written
again.

- A task is acknowledged only after its item's result is committed (``acks_late``). When a
  worker dies mid-item, RabbitMQ hands the task to another worker (``task_reject_on_worker_lost``),
  which runs it again.
- A task whose item is already committed does no work. This covers a worker that committed and
  died before its acknowledgement, a driver that resumes, and a task sent twice. Nothing runs
  again once committed.
- Every attempt is journalled with its worker and times (``attempts``), so what ran where, and
  how often, can be read back. ``bench/workflow_queue.py`` counts lost and repeated items from
  this journal.
- A step that fails commits its error, and the driver stops with it, as a local run would.
  ``--resume`` sends the failed items again.

Whoever can put a message on the broker must not be able to run code on a worker, so a task
carries no flow and no code (:mod:`agentmesh.workflows._task`):

- It names its flow by the file's path inside a ``queue_flows`` folder, with the file's SHA-256.
  A worker looks the name up in its own ``queue_flows`` folders (symlinks resolved, nothing
  outside them), reads and hashes the file itself, and refuses a task whose hash differs.
- The driver signs the whole task with ``queue_secret`` (HMAC-SHA256 over its canonical JSON);
  a worker refuses an unsigned task, one signed with another secret, and one changed after it
  was signed, before it reads anything else. The secret itself never leaves the two processes.
- A task expires ``queue_task_ttl`` seconds after it is sent; within that time a task sent
  again does no work once its item is committed (see above).
- ``python:`` steps name a function in a file inside the flow's folder, never a module.

Workers need what the steps need: the same settings (model, ``kg``, ``db``, ``queue_store``,
``queue_secret``) and the flows' folders. A worker refuses a task that names another item store.
An agent step whose run needs approval for a dangerous tool fails on a worker, since nobody is
there to ask. Set ``approval = "auto"`` or ``"deny"`` for queued runs, or run the flow without
``--queue``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from agentmesh.errors import ConfigError
from agentmesh.workflows._task import TaskRefused, find_flow, flow_name, new_task, sign, verify
from agentmesh.workflows.spec import WorkflowError

__all__ = ["ItemStore", "QueueStepRunner", "Worker", "celery_app", "check_broker", "broker_shown", "item_store",
           "queue_secret", "TASK_NAME"]

TASK_NAME = "agentmesh.workflow_item"
_log = logging.getLogger(__name__)


def queue_secret(settings: Any) -> str:
    """``queue_secret``, or a ConfigError saying how to make one (driver and workers need the same)."""
    if settings.queue_secret is None:
        raise ConfigError("queued runs need queue_secret, the same on the driver and every worker (tasks are signed "
                          "with it): make one with python -c 'import secrets; print(secrets.token_urlsafe(32))' and "
                          "set AGENTMESH_QUEUE_SECRET, or queue_secret in an agentmesh.toml only you can read")
    return settings.queue_secret.get_secret_value()


def _store_url(settings: Any) -> str:
    if settings.queue_store:
        return settings.queue_store.get_secret_value()
    threads = str(settings.threads or "")
    if threads.startswith("postgresql"):
        return threads.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"sqlite:///{settings.data_dir() / 'queue.sqlite'}"


def _identity(url: str) -> str:
    """A name of the store that holds no password: driver and worker compare it."""
    from sqlalchemy.engine import make_url

    shown = make_url(url).set(password=None).render_as_string(hide_password=False)
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


class ItemStore:
    """Each queued item's committed result, and a journal of every attempt (SQLAlchemy: SQLite
    on one machine, PostgreSQL across machines)."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.url, self.identity = url, _identity(url)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, pool_pre_ping=True,
                                       **({"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}))
        meta = sa.MetaData()
        self.items = sa.Table(
            "agentmesh_queue_items", meta,
            sa.Column("run_id", sa.String(64), primary_key=True), sa.Column("step", sa.String(200), primary_key=True),
            sa.Column("idx", sa.Integer, primary_key=True), sa.Column("status", sa.String(10), nullable=False),
            sa.Column("result", sa.Text, nullable=False), sa.Column("worker", sa.String(200), nullable=False),
            sa.Column("committed_at", sa.Float, nullable=False))
        self.attempts = sa.Table(
            "agentmesh_queue_attempts", meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), sa.Column("run_id", sa.String(64), index=True),
            sa.Column("step", sa.String(200)), sa.Column("idx", sa.Integer), sa.Column("worker", sa.String(200)),
            sa.Column("started_at", sa.Float), sa.Column("finished_at", sa.Float, nullable=True),
            sa.Column("outcome", sa.String(10), nullable=True))
        try:
            meta.create_all(self.engine)
        except sa.exc.DBAPIError:  # another process made them between our check and our CREATE
            meta.create_all(self.engine)

    def committed(self, run_id: str, step: str) -> dict[int, tuple[str, Any]]:
        """The committed items of a step: index -> (status, result)."""
        import sqlalchemy as sa

        t = self.items
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.idx, t.c.status, t.c.result).where(t.c.run_id == run_id, t.c.step == step))
            return {idx: (status, json.loads(result)) for idx, status, result in rows}

    def begin(self, run_id: str, step: str, idx: int, worker: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(self.attempts.insert().values(run_id=run_id, step=step, idx=idx, worker=worker,
                                                              started_at=time.time())).inserted_primary_key[0]

    def commit(self, attempt: int, run_id: str, step: str, idx: int, worker: str, status: str, result: Any) -> bool:
        """Write the item's result unless one is already there (the first commit wins); True if this one did."""
        import sqlalchemy as sa

        row = dict(run_id=run_id, step=step, idx=idx, status=status, worker=worker, committed_at=time.time(),
                   result=json.dumps(result, ensure_ascii=False, default=str))
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(self.items.insert().values(**row))
                won = True
            except sa.exc.IntegrityError:
                won = False
            conn.execute(self.attempts.update().where(self.attempts.c.id == attempt)
                         .values(finished_at=time.time(), outcome=status if won else "duplicate"))
        return won

    def forget_errors(self, run_id: str, step: str) -> None:
        """Failed items of a step are sent again on resume: their error rows go."""
        t = self.items
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.run_id == run_id, t.c.step == step, t.c.status == "error"))

    def journal(self, run_id: str) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        t = self.attempts
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t).where(t.c.run_id == run_id).order_by(t.c.id))]


def item_store(settings: Any) -> ItemStore:
    return ItemStore(_store_url(settings))


def broker_shown(settings: Any) -> str:
    """The broker's URL without its password, for messages."""
    from kombu.utils.url import maybe_sanitize_url

    return maybe_sanitize_url(settings.queue_url.get_secret_value())


def check_broker(app: Any, settings: Any) -> None:
    """Connect once, or fail with the broker named (a worker would otherwise retry in silence)."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=2, interval_start=0.5, interval_step=0.5, timeout=10)
    except Exception as exc:  # noqa: BLE001 - whatever the transport raises
        raise ConfigError(f"cannot reach the queue's broker at {broker_shown(settings)} ({type(exc).__name__}: {exc}); "
                          "is RabbitMQ running? (setting queue_url)") from None


def celery_app(settings: Any, *, worker: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    """The Celery app on ``queue_url``. Tasks are acknowledged late and requeued when their
    worker is lost; each worker takes one task at a time (no prefetch), so a slow item never
    holds back queued ones. Results go to the item store, not to a Celery result backend."""
    try:
        from celery import Celery
    except ImportError:
        raise ConfigError("workflows on a queue need Celery: pip install 'agentmesh[queue]'") from None
    app = Celery("agentmesh", broker=settings.queue_url.get_secret_value(), set_as_current=False)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=settings.queue_name, task_serializer="json", accept_content=["json"],
        task_ignore_result=True, broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        broker_connection_timeout=10,
    )
    if worker is not None:
        def workflow_item(payload: dict[str, Any]) -> str:
            return worker(payload)

        app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)(workflow_item)
    return app


class QueueStepRunner:
    """The driver's side: a step runner that sends work to the queue and waits for it to be
    committed. ``run`` does one step, ``run_many`` a loop's items, all sent at once."""

    parallel = True

    def __init__(self, settings: Any, *, progress: Callable[[str, str, str], None] | None = None,
                 poll: float = 0.2, quiet: float = 30.0, timeout: float | None = None) -> None:
        self.settings = settings
        self._secret = queue_secret(settings)
        self.store = item_store(settings)
        self.app = celery_app(settings)
        self.progress = progress
        self.poll, self.quiet, self.timeout = poll, quiet, timeout
        self.run_id = ""

    def describe_store(self) -> str:
        return "the driver's workflow store"

    def report(self, step: str, status: str, detail: str = "") -> None:
        if self.progress is not None:
            self.progress(step, status, detail)

    def run(self, step: Any, flow: Any, context: dict[str, Any], index: int | None) -> Any:
        if step.kind == "template":
            return flow.render(str(step.spec), context, step.id)
        return self.run_many(step, flow, [context], [None])[0]

    def run_many(self, step: Any, flow: Any, contexts: Sequence[dict[str, Any]], indexes: Sequence[int | None]) -> list[Any]:
        if step.kind == "template":
            return [flow.render(str(step.spec), c, step.id) for c in contexts]
        run_id = self.run_id
        if getattr(flow, "path", None) is None or not flow.sha256:
            raise WorkflowError(f"step {step.id}: a queued run needs its flow from a file (Workflow.load(path)): a "
                                "task names the file, and a worker runs only flow files from its queue_flows folders")
        name = flow_name(flow.path, self.settings.queue_flows or [flow.path.parent])
        self.store.forget_errors(run_id, step.id)
        slots = [-1 if i is None else i for i in indexes]
        done = self.store.committed(run_id, step.id)
        for slot, context in zip(slots, contexts):
            if slot in done:
                continue
            task = new_task(run_id=run_id, step=step.id, index=slot, flow=name, flow_sha256=flow.sha256,
                            store=self.store.identity, context=json.loads(json.dumps(context, default=str)),
                            ttl=self.settings.queue_task_ttl)
            try:
                self.app.send_task(TASK_NAME, args=[sign(task, self._secret)], queue=self.settings.queue_name)
            except Exception as exc:  # kombu's OperationalError and the transports' own: the broker is not there
                raise WorkflowError(f"step {step.id}: cannot send work to the broker at {broker_shown(self.settings)} "
                                    f"({type(exc).__name__}: {exc}); is it running? (setting queue_url)") from None
        total, shown, loop = len(slots), -1, indexes[0] is not None
        self.report(step.id, "queued", f"{total - len(done)} of {total} items sent to the workers" if loop else "sent to a worker")
        moved, warned = time.monotonic(), False
        while True:
            done = self.store.committed(run_id, step.id)
            finished = sum(1 for s in slots if s in done)
            if finished != shown:
                if loop:
                    self.report(step.id, "items", f"{finished}/{total} done")
                shown, moved = finished, time.monotonic()
            elif not warned and time.monotonic() - moved > self.quiet:
                self.report(step.id, "waiting", f"no item finished for {self.quiet:g} s: is `agentmesh worker` running "
                                                f"on queue {self.settings.queue_name!r} of this broker?")
                warned = True
            failed = [(s, done[s][1]) for s in slots if s in done and done[s][0] == "error"]
            if failed:
                slot, message = failed[0]
                raise WorkflowError(str(message))
            if finished == total:
                return [done[s][1] for s in slots]
            if self.timeout is not None and time.monotonic() - moved > self.timeout:
                raise WorkflowError(f"step {step.id}: {total - finished} of {total} items unfinished after "
                                    f"{self.timeout:g} s without progress; resume the run to send them again")
            time.sleep(self.poll)


class Worker:
    """What one ``agentmesh worker`` process does with a task: refuse it unless it is signed with
    ``queue_secret`` and names a flow file in ``queue_flows`` whose bytes hash as the driver's
    did; skip it if its item is committed; else run it with this process's agent and tools and
    commit the result."""

    def __init__(self, settings: Any, *, runner_factory: Callable[[], Any]) -> None:
        self.settings = settings
        self._secret = queue_secret(settings)
        if not settings.queue_flows:
            raise ConfigError("a worker runs only flows from folders it is given, and was given none: set queue_flows "
                              "= [\"path/to/flows\"] (AGENTMESH_QUEUE_FLOWS) or pass --flows DIR")
        self.folders = [Path(f).resolve() for f in settings.queue_flows]
        self.store = item_store(settings)
        self._runner_factory = runner_factory
        self._runner: Any = None
        self._lock = threading.Lock()
        self._flows: dict[tuple[Path, str], Any] = {}
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, payload: Any) -> str:
        try:
            task = verify(payload, self._secret)
        except TaskRefused as exc:
            _log.warning("refused task %s: %s", _shown(payload), exc)
            if not exc.authentic:
                return "refused"
            return self._refuse(payload, str(exc))
        run_id, step_id, slot = task["run_id"], task["step"], task["index"]
        if task["store"] != self.store.identity:
            raise ConfigError(f"task for run {run_id} names another item store than this worker's queue_store: "
                              "driver and workers must share one")
        if slot in self.store.committed(run_id, step_id):
            return "already committed"
        try:
            flow = self._flow(task["flow"], task["flow_sha256"])
            step = next((s for s in flow.steps if s.id == step_id), None)
            if step is None:
                raise WorkflowError(f"flow {task['flow']!r} on this worker has no step {step_id!r}")
        except WorkflowError as exc:
            _log.warning("refused task %s: %s", _shown(task), exc)
            return self._refuse(task, str(exc))
        attempt = self.store.begin(run_id, step_id, slot, self.name)
        with self._lock:
            if self._runner is None:
                self._runner = self._runner_factory()
            runner = self._runner
        runner.run_id = run_id
        runner.can_ask = False
        try:
            output, status = runner.run(step, flow, task["context"], None if slot < 0 else slot), "done"
        except Exception as exc:  # noqa: BLE001 - the driver shows it as the step's failure
            output, status = str(exc), "error"
        self.store.commit(attempt, run_id, step_id, slot, self.name, status, output)
        return status

    def _flow(self, name: str, sha256: str) -> Any:
        """The flow file ``name`` in this worker's folders, read and hashed here; parsed once per version."""
        from agentmesh.workflows.runner import Workflow

        path = find_flow(name, self.folders)
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise WorkflowError(f"flow {name!r} on this worker ({path}) differs from the driver's: the same file must be "
                                "in queue_flows on the driver and on every worker")
        key = (path, sha256)
        if key not in self._flows:
            self._flows[key] = Workflow.parse(data, path)
        return self._flows[key]

    def _refuse(self, task: dict[str, Any], message: str) -> str:
        """A signed task this worker will not run: its item's error, for the driver to show."""
        run_id, step_id, slot = task["run_id"], task["step"], task["index"]
        if task.get("store") == self.store.identity and slot not in self.store.committed(run_id, step_id):
            attempt = self.store.begin(run_id, step_id, slot, self.name)
            self.store.commit(attempt, run_id, step_id, slot, self.name, "error",
                              f"step {step_id}: a worker refused it: {message}")
        return "refused"


def _shown(payload: Any) -> str:
    """A task's names for the log (never its context: inputs may be private)."""
    if not isinstance(payload, dict):
        return f"({type(payload).__name__})"
    fields = {k: str(payload.get(k))[:80] for k in ("id", "run_id", "step", "index", "flow")}
    return " ".join(f"{k}={v!r}" for k, v in fields.items())
