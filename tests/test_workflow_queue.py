"""Workflows on a real queue: `agentmesh worker` processes on this machine's RabbitMQ run a
flow's steps and loop items; a worker killed mid-item loses nothing and nothing committed runs
again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from langchain_core.messages import AIMessage

from agentmesh import Settings
from agentmesh.workflows import StepRunner, Workflow, WorkflowError
from agentmesh.workflows._task import new_task, sign
from agentmesh.workflows.queue import QueueStepRunner, Worker, celery_app, item_store

PG_URL = os.environ.get("AGENTMESH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BROKER = os.environ.get("AGENTMESH_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
SECRET = "queue-test-secret-" + "s" * 30

WORK = """
import os, time
def square(x, log, pause=0.1):
    with open(log, "a") as f:
        f.write(f"start {x} {os.getpid()}\\n")
    time.sleep(pause)
    if x < 0:
        raise ValueError(f"no square for {x}")
    with open(log, "a") as f:
        f.write(f"end {x} {os.getpid()}\\n")
    return x * x
"""


def _broker_or_skip() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        (pytest.fail if os.environ.get("AGENTMESH_REQUIRE_SERVICES") else pytest.skip)(
            f"queue tests need RabbitMQ at 127.0.0.1:5672: {exc}")


@pytest.fixture
def queued(tmp_path, monkeypatch):
    """Settings for a queue of this test's own (so no other run's tasks reach its workers)."""
    _broker_or_skip()
    env = {"AGENTMESH_HOME": str(tmp_path / "home"), "AGENTMESH_QUEUE_NAME": f"test-{uuid.uuid4().hex[:10]}",
           "AGENTMESH_QUEUE_URL": BROKER, "AGENTMESH_QUEUE_SECRET": SECRET, "AGENTMESH_QUEUE_FLOWS": str(tmp_path),
           "AGENTMESH_TOOLS": "", "AGENTMESH_CACHE": "false"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "work.py").write_text(textwrap.dedent(WORK))
    yield env
    try:  # the test's queue goes with it
        with celery_app(Settings.load()).connection_for_write() as conn:
            conn.default_channel.queue_delete(env["AGENTMESH_QUEUE_NAME"])
    except Exception:  # noqa: BLE001 - never declared, or the broker went away
        pass


@contextmanager
def workers(n: int, tmp_path: Path, env: dict[str, str], concurrency: int = 1):
    """``n`` real `agentmesh worker` processes; waits until each answers a ping."""
    procs = [subprocess.Popen([sys.executable, "-m", "agentmesh.apps.cli", "worker", "--concurrency", str(concurrency)], cwd=tmp_path,
                              env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True) for _ in range(n)]
    try:
        app = celery_app(Settings.load())
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=0.5) or []) < n:
            for proc in procs:
                assert proc.poll() is None, f"agentmesh worker exited: {proc.stdout.read()}"
            assert time.monotonic() < deadline, "the workers did not come up"
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)


def loop_flow(tmp_path: Path, values: list[int], pause: float) -> Workflow:
    """A flow file in the workers' queue_flows folder (a task names the file; it never carries a flow)."""
    path = tmp_path / f"loop-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump({"inputs": {"numbers": values}, "steps": [
        {"id": "square", "for_each": "{{ inputs.numbers }}", "python": "work.py:square",
         "args": {"x": "{{ item }}", "log": str(tmp_path / "work.log"), "pause": pause}},
        {"id": "total", "template": "{{ steps.square | sum }}"},
    ]}))
    return Workflow.load(path)


def signed(flow: Workflow, worker: Worker, step: str, index: int, context: dict, **changes) -> dict:
    """The task `agentmesh run --queue` would send for one item of ``flow``."""
    task = new_task(run_id=context["run_id"], step=step, index=index, flow=flow.path.name, flow_sha256=flow.sha256,
                    store=worker.store.identity, context=context, ttl=60)
    return sign({**task, **changes}, SECRET)


def log_lines(tmp_path: Path, kind: str) -> list[tuple[int, int]]:
    path = tmp_path / "work.log"
    lines = path.read_text().split("\n") if path.exists() else []
    return [(int(x), int(pid)) for k, x, pid in (line.split() for line in lines if line) if k == kind]


def test_two_workers_run_a_loop_and_give_what_a_local_run_gives(queued, tmp_path):
    from langgraph.checkpoint.memory import InMemorySaver

    flow = loop_flow(tmp_path, list(range(12)), 0.1)
    local = flow.run(StepRunner(), InMemorySaver(), run_id="local")
    (tmp_path / "work.log").unlink()
    seen = []
    with workers(2, tmp_path, queued):
        runner = QueueStepRunner(Settings.load(), progress=lambda *event: seen.append(event), poll=0.05, timeout=30)
        result = flow.run(runner, InMemorySaver(), run_id="queued")
    assert result.outputs == local.outputs and result.outputs["total"] == sum(x * x for x in range(12))
    ends = log_lines(tmp_path, "end")
    assert sorted(x for x, _ in ends) == list(range(12))  # each item once
    assert len({pid for _, pid in ends}) == 2  # on both workers, not in the driver
    assert os.getpid() not in {pid for _, pid in ends}
    assert ("square", "items", "12/12 done") in seen  # progress as items complete


def test_a_worker_killed_mid_item_loses_nothing_and_repeats_nothing_committed(queued, tmp_path):
    """Threads' PostgreSQL keeps the items here, as it would across machines."""
    import psycopg

    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {PG_URL}: {exc}")
    queued = {**queued, "AGENTMESH_QUEUE_STORE": PG_URL.replace("postgresql://", "postgresql+psycopg://")}
    os.environ["AGENTMESH_QUEUE_STORE"] = queued["AGENTMESH_QUEUE_STORE"]
    try:
        from langgraph.checkpoint.memory import InMemorySaver

        flow = loop_flow(tmp_path, list(range(10)), 0.6)
        run_id = f"kill-{uuid.uuid4().hex[:8]}"
        with workers(2, tmp_path, queued, concurrency=2) as procs:
            victim = procs[0]
            killed: list[int] = []

            def progress(step, status, detail):
                if status == "items" and not killed and detail != "0/10 done":
                    # the victim is mid-item now or soon: wait until the log shows it started one
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline:
                        # freeze the victim first, then read the log: an item it had started could
                        # otherwise finish between the read and the kill, and run to its end twice
                        os.killpg(victim.pid, signal.SIGSTOP)
                        started = {x for x, pid in log_lines(tmp_path, "start") if pid == victim.pid}
                        ended = {x for x, pid in log_lines(tmp_path, "end") if pid == victim.pid}
                        if started - ended:
                            os.killpg(victim.pid, signal.SIGKILL)
                            killed.extend(started - ended)
                            return
                        os.killpg(victim.pid, signal.SIGCONT)
                        time.sleep(0.02)

            result = flow.run(QueueStepRunner(Settings.load(), progress=progress, poll=0.05, timeout=30), InMemorySaver(), run_id=run_id)
        assert killed, "the victim never started an item"
        assert result.outputs["square"] == [x * x for x in range(10)]  # lost: none
        ends = [x for x, _ in log_lines(tmp_path, "end")]
        assert sorted(ends) == list(range(10))  # run to the end exactly once each
        journal = item_store(Settings.load()).journal(run_id)
        lost_attempt = [a for a in journal if a["idx"] == killed[0] and a["finished_at"] is None]
        assert len(lost_attempt) == 1  # the killed worker's attempt, never finished
        finished = [a["idx"] for a in journal if a["outcome"] == "done"]
        assert sorted(finished) == list(range(10))
        # the killed item was run again by the other worker
        assert [a["worker"] for a in journal if a["idx"] == killed[0] and a["outcome"] == "done"] != [lost_attempt[0]["worker"]]
    finally:
        del os.environ["AGENTMESH_QUEUE_STORE"]


def test_a_failed_item_stops_the_run_and_resume_sends_only_what_failed(queued, tmp_path):
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver()
    flow = loop_flow(tmp_path, [1, 2, -3, 4], 0.05)
    with workers(1, tmp_path, queued):
        runner = QueueStepRunner(Settings.load(), poll=0.05, timeout=30)
        with pytest.raises(WorkflowError, match=r"step square\[2\] \(python\) failed: ValueError: no square for -3"):
            flow.run(runner, saver, run_id="r1")
        # the run stops at the first failure, as a local run does; items already sent still finish
        store, deadline = item_store(Settings.load()), time.monotonic() + 20
        while sum(status == "done" for status, _ in store.committed("r1", "square").values()) < 3:
            assert time.monotonic() < deadline, "the other items did not finish"
            time.sleep(0.05)
        assert sorted(x for x, _ in log_lines(tmp_path, "end")) == [1, 2, 4]
        # still failing on resume: sent again (and only it), fails again
        with pytest.raises(WorkflowError, match="no square for -3"):
            flow.resume(runner, saver, "r1")
    starts = [x for x, _ in log_lines(tmp_path, "start")]
    assert sorted(starts) == [-3, -3, 1, 2, 4]


def test_a_task_whose_item_is_committed_does_no_work(tmp_path, monkeypatch):
    """A redelivered task (its worker died after committing, a driver resumed): skipped."""
    monkeypatch.setenv("AGENTMESH_HOME", str(tmp_path / "home"))
    (tmp_path / "work.py").write_text(textwrap.dedent(WORK))
    settings = Settings.load(tools=[], cache=False, queue_secret=SECRET, queue_flows=[tmp_path])
    flow = loop_flow(tmp_path, [5], 0.0)
    worker = Worker(settings, runner_factory=StepRunner)
    context = {"inputs": flow.inputs, "steps": {}, "run_id": "r", "item": 5, "index": 0}
    payload = signed(flow, worker, "square", 0, context)
    assert worker(payload) == "done"
    assert worker(payload) == "already committed"
    assert log_lines(tmp_path, "end") == [(5, os.getpid())]
    assert [a["outcome"] for a in worker.store.journal("r")] == ["done"]
    assert worker.store.committed("r", "square") == {0: ("done", 25)}
    from agentmesh.errors import ConfigError

    with pytest.raises(ConfigError, match="another item store"):
        worker(signed(flow, worker, "square", 1, context, store="0000"))
    # the worker hashes its own copy of the flow file: another version is refused, and the driver is told
    assert worker(signed(flow, worker, "square", 1, context, flow_sha256="0" * 64)) == "refused"
    status, message = worker.store.committed("r", "square")[1]
    assert status == "error" and "differs from the driver's" in message
    assert log_lines(tmp_path, "end") == [(5, os.getpid())]  # nothing else ran


def test_a_task_is_signed_whole_and_the_secret_is_not_in_it():
    from agentmesh.workflows._task import TaskRefused, verify

    task = sign(new_task(run_id="r", step="s", index=2, flow="f.yaml", flow_sha256="a" * 64, store="x",
                         context={"inputs": {"n": [1, 2.5, "ü"]}, "steps": {}, "run_id": "r"}, ttl=60), SECRET)
    assert SECRET not in json.dumps(task)
    assert verify(json.loads(json.dumps(task, indent=1)), SECRET) == task  # key order and spacing do not matter
    for field, value in [("run_id", "r2"), ("step", "t"), ("index", 3), ("flow", "g.yaml"), ("flow_sha256", "b" * 64),
                         ("store", "y"), ("expires", task["expires"] + 9e9), ("id", "other"), ("extra", "field"),
                         ("context", {**task["context"], "inputs": {"n": [1, 2.5, "u"]}})]:
        with pytest.raises(TaskRefused, match="signature does not match"):
            verify({**task, field: value}, SECRET)
    with pytest.raises(TaskRefused, match="signature does not match"):
        verify(task, SECRET.upper())
    with pytest.raises(TaskRefused, match="expired"):
        verify(task, SECRET, now=task["expires"] + 1)


def test_a_worker_needs_the_secret_and_its_flow_folders(tmp_path, monkeypatch):
    from agentmesh.errors import ConfigError

    with pytest.raises(ConfigError, match=r"queue_secret.*secrets.token_urlsafe\(32\)"):
        Worker(Settings.load(queue_flows=[tmp_path]), runner_factory=StepRunner)
    with pytest.raises(ConfigError, match="queue_flows .*--flows DIR"):
        Worker(Settings.load(queue_secret=SECRET), runner_factory=StepRunner)
    with pytest.raises(ConfigError, match="queue_secret"):
        QueueStepRunner(Settings.load())


def test_an_agent_step_that_needs_approval_fails_on_a_worker_and_says_why(tmp_path, monkeypatch, example_kg):
    from agentmesh import Agent
    from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings

    monkeypatch.setenv("AGENTMESH_HOME", str(tmp_path / "home"))
    settings = Settings.load(tools=["python"], cache=False, queue_secret=SECRET, queue_flows=[tmp_path])
    calls = AIMessage("", tool_calls=[{"name": "python", "args": {"code": "print(1)"}, "id": "c1"}])
    agent = Agent(settings, model=FakeToolChatModel(responses=[calls]), embeddings=HashingEmbeddings())
    (tmp_path / "ask.yaml").write_text("steps:\n  - id: ask\n    agent: Run some code.\n")
    flow = Workflow.load(tmp_path / "ask.yaml")
    worker = Worker(settings, runner_factory=lambda: StepRunner(agent_factory=lambda: agent))
    assert worker(signed(flow, worker, "ask", -1, {"inputs": {}, "steps": {}, "run_id": "r"})) == "error"
    status, message = worker.store.committed("r", "ask")[-1]
    assert status == "error" and "needs approval" in message and "approval = 'auto' or 'deny'" in message


def test_a_broker_that_is_not_there_is_a_clear_error_for_driver_and_worker(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from agentmesh.apps.cli import app
    from tests._net import free_port

    down = f"amqp://guest:broker-secret-9@127.0.0.1:{free_port()}//"  # nothing listens there
    monkeypatch.setenv("AGENTMESH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTMESH_QUEUE_URL", down)
    monkeypatch.setenv("AGENTMESH_QUEUE_SECRET", SECRET)
    monkeypatch.setenv("AGENTMESH_QUEUE_FLOWS", str(tmp_path))
    (tmp_path / "work.py").write_text(textwrap.dedent(WORK))
    from langgraph.checkpoint.memory import InMemorySaver

    with pytest.raises(WorkflowError, match=r"step square: cannot send work to the broker at amqp://guest:\*\*@127") as info:
        loop_flow(tmp_path, [1], 0.0).run(QueueStepRunner(Settings.load(), timeout=5), InMemorySaver(), run_id="down")
    assert "broker-secret-9" not in str(info.value)
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2 and "cannot reach the queue's broker" in result.output
    assert "broker-secret-9" not in result.output and SECRET not in result.output
