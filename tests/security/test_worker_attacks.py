"""Attacks on `agentmesh worker`: whoever can put a message on the broker must not run code.

One real worker process on this machine's RabbitMQ serves every attack of this file, from a
queue of its own. Each attack puts one message on that queue, the way anybody who can log in to
the broker can, then a legitimate run follows it through the same queue: the worker takes one
task at a time, in order, so when the legitimate run is done the attack has been handled. The
attack is contained when the file its code would create does not exist, and the worker's log or
item store says why it refused. An attack that finds no worker, or a worker that died, fails.

A message the attacker writes carries both what today's worker reads (``spec``, ``base_dir``,
``digest``) and what the signed format carries (``flow``, ``flow_sha256``, ``signature``), so
every attack here is aimed at the worker before and after the fix.

The signed format, written out here as a second implementation, so a change to it shows:
HMAC-SHA256 with ``queue_secret`` over the task's canonical JSON (every field but
``signature``, keys sorted, no spaces, UTF-8).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from agentmesh import Settings
from agentmesh.workflows import Workflow
from agentmesh.workflows.queue import TASK_NAME, QueueStepRunner, celery_app, item_store

BROKER = os.environ.get("AGENTMESH_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
SECRET = "worker-attack-secret-" + "k" * 24  # 45 bytes, as `secrets.token_urlsafe(32)` would give
WRONG = "someone-elses-secret-" + "w" * 24

STEPS = """
from pathlib import Path

def touch(name, where):
    with open(Path(where) / name, "a") as f:
        f.write("ran\\n")
    return name
"""
EVIL = """
def run(marker):
    open(marker, "a").write("ran\\n")
    return "ran"
"""


def _broker_or_skip() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        (pytest.fail if os.environ.get("AGENTMESH_REQUIRE_SERVICES") else pytest.skip)(
            f"worker attacks need RabbitMQ at 127.0.0.1:5672: {exc}")


def canonical(task: dict) -> bytes:
    return json.dumps(task, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(task: dict, secret: str = SECRET) -> dict:
    body = {k: v for k, v in task.items() if k != "signature"}
    return {**body, "signature": hmac.new(secret.encode(), canonical(body), hashlib.sha256).hexdigest()}


def old_digest(spec: dict) -> str:
    """The digest today's worker compares a message's spec with: the attacker computes it itself."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Site:
    root: Path
    flows: Path
    """The worker's one queue_flows folder."""
    outside: Path
    """The attacker's folder: no flow or code from here may run."""
    markers: Path
    env: dict[str, str]
    log: Path

    def settings(self) -> Settings:
        return Settings.load()

    def worker_log(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    _broker_or_skip()
    root = tmp_path_factory.mktemp("worker-attacks")
    flows, outside, markers = root / "flows", root / "outside", root / "markers"
    for folder in (flows, outside, markers):
        folder.mkdir()
    (flows / "steps.py").write_text(STEPS)
    (flows / "flow.yaml").write_text(yaml.safe_dump({"inputs": {"name": "legit"}, "steps": [
        {"id": "touch", "python": "steps.py:touch", "args": {"name": "{{ inputs.name }}", "where": str(markers)}}]}))
    (outside / "evil.py").write_text(EVIL)
    (outside / "flow.yaml").write_text(yaml.safe_dump({"inputs": {"marker": "x"}, "steps": [
        {"id": "touch", "python": "evil.py:run", "args": {"marker": "{{ inputs.marker }}"}}]}))
    (flows / "linked").symlink_to(outside, target_is_directory=True)
    env = {"AGENTMESH_HOME": str(root / "home"), "AGENTMESH_QUEUE_NAME": f"attack-{uuid.uuid4().hex[:10]}",
           "AGENTMESH_QUEUE_URL": BROKER, "AGENTMESH_QUEUE_SECRET": SECRET, "AGENTMESH_QUEUE_FLOWS": str(flows),
           "AGENTMESH_TOOLS": "", "AGENTMESH_CACHE": "false"}
    log = root / "worker.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMESH_")}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "agentmesh.apps.cli", "worker", "--loglevel", "INFO"],
                                cwd=root, env={**clean, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    site = Site(root, flows, outside, markers, env, log)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        app, deadline = celery_app(Settings.load()), time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            assert proc.poll() is None, f"agentmesh worker exited: {site.worker_log()}"
            assert time.monotonic() < deadline, f"the worker did not come up: {site.worker_log()}"
        yield site
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        try:
            with celery_app(Settings.load()).connection_for_write() as conn:
                conn.default_channel.queue_delete(env["AGENTMESH_QUEUE_NAME"])
        except Exception:  # noqa: BLE001 - never declared, or the broker went away
            pass
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def queue(site, monkeypatch):
    """This test's process talks to the module's worker (the conftest gave it a home of its own)."""
    for key, value in site.env.items():
        monkeypatch.setenv(key, value)
    return site


def task(site: Site, flow: str = "flow.yaml", *, inputs: dict | None = None, expires: float | None = None,
         spec: dict | None = None, base_dir: Path | None = None, sha: str | None = None) -> dict:
    """A message naming ``flow``, with what today's worker reads beside it: ``spec`` (default:
    the flow file's own) and ``base_dir`` (default: the worker's folder)."""
    path = site.flows / flow
    if spec is None:
        spec = yaml.safe_load(path.read_text())
    run_id = uuid.uuid4().hex[:12]
    return {"version": 1, "id": uuid.uuid4().hex, "expires": expires or time.time() + 600, "run_id": run_id,
            "step": "touch", "index": -1, "flow": flow,
            "flow_sha256": sha or hashlib.sha256(path.read_bytes()).hexdigest(),
            "store": item_store(site.settings()).identity,
            "context": {"inputs": inputs or {}, "steps": {}, "run_id": run_id},
            "spec": spec, "base_dir": str(base_dir or site.flows), "source": flow, "digest": old_digest(spec)}


def send(site: Site, message: dict) -> None:
    celery_app(site.settings()).send_task(TASK_NAME, args=[message], queue=site.env["AGENTMESH_QUEUE_NAME"])


def legitimate_run(site: Site) -> None:
    """A run of the worker's own flow through the same queue, after the attack: when it is done,
    the worker has handled the attack (one task at a time, in order)."""
    from langgraph.checkpoint.memory import InMemorySaver

    name = f"legit-{uuid.uuid4().hex[:8]}"
    flow = Workflow.load(site.flows / "flow.yaml")
    flow.run(QueueStepRunner(site.settings(), poll=0.05, timeout=60), InMemorySaver(), inputs={"name": name},
             run_id=uuid.uuid4().hex[:12])
    assert (site.markers / name).read_text() == "ran\n", "the worker did not run the legitimate flow"


def attack(site: Site, message: dict) -> None:
    send(site, message)
    legitimate_run(site)


def committed_error(site: Site, message: dict) -> str:
    status, result = item_store(site.settings()).committed(message["run_id"], message["step"])[message["index"]]
    assert status == "error"
    return str(result)


def marker(site: Site) -> Path:
    return site.markers / f"attack-{uuid.uuid4().hex[:8]}"


# -- messages from someone without the secret ------------------------------------------------------


def test_attack_worker_unsigned_task(queue):
    target = marker(queue)
    attack(queue, task(queue, inputs={"name": target.name}))
    assert not target.exists()
    assert "no signature" in queue.worker_log()


def test_attack_worker_task_signed_with_another_key(queue):
    target = marker(queue)
    attack(queue, sign(task(queue, inputs={"name": target.name}), WRONG))
    assert not target.exists()
    assert "signature does not match" in queue.worker_log()


def test_attack_worker_signed_task_altered_after_signing(queue):
    """Someone on the broker takes a signed task and changes what it does (here: its input)."""
    target = marker(queue)
    signed = sign(task(queue, inputs={"name": "harmless"}))
    signed["context"] = {**signed["context"], "inputs": {"name": target.name}}
    attack(queue, signed)
    assert not target.exists() and not (queue.markers / "harmless").exists()
    assert "signature does not match" in queue.worker_log()


def test_attack_worker_message_brings_its_own_flow(queue):
    """Unsigned, the message names a spec and a base_dir of its own choosing, with its own digest."""
    target = marker(queue)
    spec = yaml.safe_load((queue.outside / "flow.yaml").read_text())
    attack(queue, task(queue, spec=spec, base_dir=queue.outside, inputs={"marker": str(target)}))
    assert not target.exists()


def test_attack_worker_replays_an_expired_task(queue):
    """A task copied off the broker long ago (its item never committed) is sent again."""
    target = marker(queue)
    attack(queue, sign(task(queue, inputs={"name": target.name}, expires=time.time() - 5)))
    assert not target.exists()
    assert "expired" in queue.worker_log()


# -- signed tasks: even the secret's holder runs only the worker's own flows ----------------------


def test_attack_worker_signed_task_carries_a_spec_of_its_own(queue):
    """The signed task names the worker's flow but carries another spec and base_dir, with the
    digest of that spec: the worker runs its own file, never the message's spec."""
    target = marker(queue)
    spec = yaml.safe_load((queue.outside / "flow.yaml").read_text())
    message = task(queue, spec=spec, base_dir=queue.outside, inputs={"marker": str(target), "name": "own-file"})
    attack(queue, sign(message))
    assert not target.exists()
    assert (queue.markers / "own-file").exists()  # the worker's flow.yaml ran instead


def test_attack_worker_digest_computed_by_the_sender(queue):
    """The task says the flow is the attacker's (its digest computed over the attacker's file);
    the worker hashes its own file and refuses the difference."""
    target = marker(queue)
    spec = yaml.safe_load((queue.outside / "flow.yaml").read_text())
    own = hashlib.sha256((queue.outside / "flow.yaml").read_bytes()).hexdigest()
    message = sign(task(queue, spec=spec, base_dir=queue.outside, sha=own, inputs={"marker": str(target), "name": "no"}))
    attack(queue, message)
    assert not target.exists() and not (queue.markers / "no").exists()
    assert "differs" in committed_error(queue, message)


@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink"])
def test_attack_worker_flow_outside_its_folders(queue, where):
    target = marker(queue)
    name = {"dotdot": "../outside/flow.yaml", "absolute": str(queue.outside / "flow.yaml"),
            "symlink": "linked/flow.yaml"}[where]
    spec = yaml.safe_load((queue.outside / "flow.yaml").read_text())
    message = task(queue, spec=spec, base_dir=queue.outside, inputs={"marker": str(target)},
                   sha=hashlib.sha256((queue.outside / "flow.yaml").read_bytes()).hexdigest())
    message = sign({**message, "flow": name})
    attack(queue, message)
    assert not target.exists()
    assert "queue_flows" in committed_error(queue, message)


def python_flow(site: Site, name: str, ref: str, args: dict) -> str:
    """A flow file in the worker's own folder with one python step (a careless or hostile author)."""
    (site.flows / name).write_text(yaml.safe_dump({"steps": [{"id": "touch", "python": ref, "args": args}]}))
    return name


def test_attack_worker_python_step_names_os_system(queue):
    target = marker(queue)
    message = sign(task(queue, python_flow(queue, "os-system.yaml", "os:system", {"command": f"touch {target}"})))
    attack(queue, message)
    assert not target.exists()
    assert "file.py:function" in committed_error(queue, message)


def test_attack_worker_python_step_names_subprocess_run(queue):
    target = marker(queue)
    message = sign(task(queue, python_flow(queue, "subprocess.yaml", "subprocess:run", {"args": ["touch", str(target)]})))
    attack(queue, message)
    assert not target.exists()
    assert "file.py:function" in committed_error(queue, message)


@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink"])
def test_attack_worker_python_file_outside_the_flow_folder(queue, where):
    target = marker(queue)
    ref = {"dotdot": "../outside/evil.py:run", "absolute": f"{queue.outside / 'evil.py'}:run",
           "symlink": "linked/evil.py:run"}[where]
    message = sign(task(queue, python_flow(queue, f"python-{where}.yaml", ref, {"marker": str(target)})))
    attack(queue, message)
    assert not target.exists()
    assert "must stay inside the flow's folder" in committed_error(queue, message)


# -- the worker's own start -------------------------------------------------------------------------


def start_worker(tmp_path: Path, env: dict[str, str], wait: float = 20.0) -> tuple[int | None, str]:
    """Start `agentmesh worker` with only ``env`` of agentmesh's settings; its exit code (None if it
    was still running after ``wait`` seconds, and was killed) and its output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMESH_")}
    work = tmp_path / "start"
    work.mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "agentmesh.apps.cli", "worker"], cwd=work,
                            env={**clean, "AGENTMESH_HOME": str(tmp_path / "home"), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=wait)
        return proc.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate(timeout=30)
        return None, output


def test_attack_worker_started_without_a_secret(tmp_path, site):
    code, output = start_worker(tmp_path, {"AGENTMESH_QUEUE_URL": BROKER, "AGENTMESH_QUEUE_FLOWS": str(site.flows),
                                           "AGENTMESH_QUEUE_NAME": f"nobody-{uuid.uuid4().hex[:8]}"})
    assert code == 2, f"the worker started without queue_secret: {output}"
    assert "queue_secret" in output and "secrets.token_urlsafe(32)" in output


def test_attack_worker_started_without_a_broker_url(tmp_path, site):
    """No queue_url: today's default would be RabbitMQ's guest:guest on this machine."""
    code, output = start_worker(tmp_path, {"AGENTMESH_QUEUE_SECRET": SECRET, "AGENTMESH_QUEUE_FLOWS": str(site.flows),
                                           "AGENTMESH_QUEUE_NAME": f"nobody-{uuid.uuid4().hex[:8]}"})
    assert code == 2, f"the worker started without queue_url: {output}"
    assert "queue_url" in output


def test_worker_started_without_flow_folders_refuses(tmp_path, site):
    code, output = start_worker(tmp_path, {"AGENTMESH_QUEUE_URL": BROKER, "AGENTMESH_QUEUE_SECRET": SECRET,
                                           "AGENTMESH_QUEUE_NAME": f"nobody-{uuid.uuid4().hex[:8]}"})
    assert code == 2 and "queue_flows" in output and "--flows" in output


def test_worker_with_a_short_secret_refuses(tmp_path, site):
    code, output = start_worker(tmp_path, {"AGENTMESH_QUEUE_URL": BROKER, "AGENTMESH_QUEUE_SECRET": "short-secret",
                                           "AGENTMESH_QUEUE_FLOWS": str(site.flows),
                                           "AGENTMESH_QUEUE_NAME": f"nobody-{uuid.uuid4().hex[:8]}"})
    assert code == 2 and "at least 32 bytes" in output and "short-secret" not in output


def test_worker_warns_about_the_brokers_guest_login(site):
    """guest:guest reaches RabbitMQ from this machine only: anyone here can read and drop tasks
    (not make the worker run anything: tasks are signed). The worker says so when it starts."""
    log = site.worker_log()
    assert "guest" in log and "anyone who can log in to the broker" in log


def test_a_replayed_task_whose_item_is_committed_runs_nothing(queue):
    """Replay within the expiry: the item store commits each item once, so nothing runs again."""
    name = f"once-{uuid.uuid4().hex[:8]}"
    message = sign(task(queue, inputs={"name": name}))
    attack(queue, message)
    attack(queue, message)
    assert (queue.markers / name).read_text() == "ran\n"


def test_the_secret_is_in_no_task_and_no_log(queue):
    """The driver's task on the broker carries a signature, never the secret; the worker's log
    (at INFO) never shows it."""
    from kombu import Connection

    settings = queue.settings()
    name = f"secret-{uuid.uuid4().hex[:8]}"
    quiet = f"quiet-{uuid.uuid4().hex[:8]}"  # a queue no worker reads: the driver's message stays there
    runner = QueueStepRunner(settings.model_copy(update={"queue_name": quiet}), poll=0.05, timeout=0.5)
    from langgraph.checkpoint.memory import InMemorySaver

    with pytest.raises(Exception):  # noqa: B017 - nobody runs it: the driver gives up
        Workflow.load(queue.flows / "flow.yaml").run(runner, InMemorySaver(), inputs={"name": name}, run_id="quiet")
    with Connection(BROKER) as conn:
        channel = conn.channel()
        message = channel.basic_get(quiet, no_ack=True)
        channel.queue_delete(quiet)
    body = message.body if isinstance(message.body, str) else message.body.decode()
    assert '"signature"' in body and SECRET not in body
    legitimate_run(queue)
    assert SECRET not in queue.worker_log()
