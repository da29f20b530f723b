"""A ``for_each`` of agent steps on the queue: 1, 2 and 4 ``agentmesh worker`` processes on
RabbitMQ, against the same flow run in this process without the queue (the baseline, measured
in the same run). Then a worker is killed mid-run, and the item journal is read back to count
items lost and items run to the end twice.

The agent is real; its model is a fake OpenAI-compatible server with a fixed latency per call,
so the time is the model's, as with a real one.

    python bench/workflow_queue.py [--items 200] [--latency 0.1] [--workers 1,2,4]

Needs RabbitMQ at 127.0.0.1:5672 (guest/guest) or ``--broker URL``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from agentmesh import Settings
from agentmesh.models.testing import FakeOpenAIServer
from agentmesh.workflows import StepRunner, Workflow
from agentmesh.workflows.queue import QueueStepRunner, celery_app, item_store


def flow(n: int, folder: Path) -> Workflow:
    """A flow file in the workers' queue_flows folder (a task names the file)."""
    path = folder / f"ask-{n}.yaml"
    path.write_text(json.dumps({"inputs": {"n": n}, "steps": [
        {"id": "ask", "for_each": "{{ range(inputs.n) | list }}", "agent": "Summarise document {{ item }}."},
        {"id": "count", "template": "{{ steps.ask | length }}"},
    ]}))
    return Workflow.load(path)


def start_workers(n: int, env: dict[str, str], folder: Path) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-m", "agentmesh.apps.cli", "worker"], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
             for _ in range(n)]
    app = celery_app(Settings.load())
    deadline = time.monotonic() + 90
    while len(app.control.ping(timeout=0.5) or []) < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit("the workers did not come up")
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def warm(procs, env, folder):
    """One small run so each worker has built its agent before the clock starts."""
    runner = QueueStepRunner(Settings.load(), poll=0.02)
    flow(len(procs) * 2, folder).run(runner, _saver(), run_id=f"warm-{uuid.uuid4().hex[:6]}")


def _saver():
    from langgraph.checkpoint.memory import InMemorySaver

    return InMemorySaver()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per model call")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="agentmesh-bench-queue-"))
    with FakeOpenAIServer([{"content": "A short summary.", "delay": args.latency}]) as model:
        env = {**os.environ, "AGENTMESH_HOME": str(folder / "home"), "AGENTMESH_QUEUE_URL": args.broker,
               "AGENTMESH_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}", "AGENTMESH_MODEL": "local:fake-model",
               "AGENTMESH_BASE_URL": model.base_url, "AGENTMESH_TOOLS": "", "AGENTMESH_CACHE": "false",
               "AGENTMESH_EMBEDDINGS": "hashing", "AGENTMESH_QUEUE_SECRET": secrets.token_urlsafe(32),
               "AGENTMESH_QUEUE_FLOWS": str(folder)}
        os.environ.update({k: v for k, v in env.items() if k.startswith("AGENTMESH_")})
        work = flow(args.items, folder)

        from agentmesh.agent import Agent

        agent = Agent(Settings.load())
        agent.run("warm up")
        started = time.perf_counter()
        local = work.run(StepRunner(agent_factory=lambda: agent), _saver(), run_id="local")
        base = time.perf_counter() - started
        print(f"{args.items} agent items, {args.latency * 1000:.0f} ms per model call")
        print(f"{'':<22}{'seconds':>9}{'items/s':>9}{'vs 1 worker':>13}{'vs no queue':>13}")
        print(f"{'no queue (in-process)':<22}{base:>9.2f}{args.items / base:>9.1f}{'':>13}{1.0:>12.2f}x")
        one = None
        for n in [int(x) for x in args.workers.split(",")]:
            procs = start_workers(n, env, folder)
            try:
                warm(procs, env, folder)
                started = time.perf_counter()
                result = work.run(QueueStepRunner(Settings.load(), poll=0.02), _saver(), run_id=f"w{n}-{uuid.uuid4().hex[:6]}")
                took = time.perf_counter() - started
            finally:
                stop(procs)
            assert result.outputs["count"] == local.outputs["count"]
            one = one or took
            print(f"{f'{n} worker(s)':<22}{took:>9.2f}{args.items / took:>9.1f}{one / took:>12.2f}x{base / took:>12.2f}x")

        # a worker killed mid-run: what the journal says happened to every item
        procs = start_workers(2, env, folder)
        run_id = f"kill-{uuid.uuid4().hex[:6]}"
        store = item_store(Settings.load())
        killed = []

        def progress(step, status, detail):
            if status != "items" or killed or int(detail.split("/")[0]) < args.items // 4:
                return
            victim = f":{procs[0].pid}"
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # kill it mid-item: when it has begun one and not finished it
                if any(a["worker"].endswith(victim) and a["finished_at"] is None for a in store.journal(run_id)):
                    break
                time.sleep(0.005)
            os.killpg(procs[0].pid, signal.SIGKILL)
            killed.append(procs[0].pid)

        try:
            warm(procs, env, folder)
            result = work.run(QueueStepRunner(Settings.load(), progress=progress, poll=0.02, timeout=120), _saver(),
                              run_id=run_id)
        finally:
            stop(procs)
        journal = store.journal(run_id)
        completed = Counter(a["idx"] for a in journal if a["finished_at"] is not None)
        committed = store.committed(run_id, "ask")
        lost = sum(1 for i in range(args.items) if i not in committed)
        twice = sum(1 for count in completed.values() if count > 1)
        cut = sum(1 for a in journal if a["finished_at"] is None)
        print(f"killed a worker after {args.items // 4} items: items lost {lost}, items run to the end twice {twice}, "
              f"attempts cut off by the kill and run again elsewhere {cut}, result complete "
              f"{result.outputs['count'] == str(args.items) or result.outputs['count'] == args.items}")


if __name__ == "__main__":
    main()
