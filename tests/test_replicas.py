"""Two `agentmesh serve` replicas on two hosts, sharing one PostgreSQL, one Redis and one Oxigraph
server: turns of one thread stay in order across hosts, a thread, a cache entry and an approval
move from one host to the other.

Each host is a network namespace made by the test (``ip netns``, a veth pair into one bridge), so the replicas
share nothing but what crosses the network: their data homes, file locks and processes are
their own. The services here listen on 127.0.0.1 only; a small TCP relay in the test gives each
host a gateway address that leads to them, as a router would."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from agentmesh import Agent, Settings
from agentmesh.models.testing import FakeOpenAIServer, FakeToolChatModel, HashingEmbeddings
from tests._net import free_port

PG_URL = os.environ.get("AGENTMESH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_DB = 7  # the tests' own Redis database, emptied first
TOKEN = "replica-token-0123456789"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "llm-landscape"
SERVE_PORT = 8000


def _sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True)


class Relay:
    """TCP relays from each host's gateway address to services on this machine's 127.0.0.1."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.servers: list[asyncio.AbstractServer] = []
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def forward(self, listen_host: str, port: int) -> None:
        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(reader, writer):
            try:
                target_reader, target_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, target_writer), pipe(target_reader, writer))

        async def start():
            self.servers.append(await asyncio.start_server(handle, listen_host, port))

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        async def stop():
            for server in self.servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


GATEWAY = "10.213.0.1"  # inside 10.213.0.0/16, which tests/conftest.py lets tests reach (it never leaves this machine)


class Lan:
    """A bridge in this machine's namespace with the gateway address: the hosts' one network."""

    def __init__(self) -> None:
        self.bridge = f"ambr{os.getpid() % 100000}"

    def create(self) -> None:
        _sh("ip", "link", "del", self.bridge)
        _run(["ip", "link", "add", self.bridge, "type", "bridge"], ["ip", "addr", "add", f"{GATEWAY}/24", "dev", self.bridge],
             ["ip", "link", "set", self.bridge, "up"])

    def destroy(self) -> None:
        _sh("ip", "link", "del", self.bridge)


class Host:
    """A network namespace on the LAN, with its own address."""

    def __init__(self, name: str, index: int, lan: Lan) -> None:
        self.ns, self.veth, self.lan = name, f"amv{os.getpid() % 100000}{index}", lan
        self.address = f"10.213.0.{index + 1}"

    def create(self) -> None:
        _sh("ip", "netns", "del", self.ns)  # a run killed earlier may have left it
        inside = ["ip", "netns", "exec", self.ns]
        _run(["ip", "netns", "add", self.ns],
             ["ip", "link", "add", self.veth, "type", "veth", "peer", "name", f"{self.veth}p"],
             ["ip", "link", "set", f"{self.veth}p", "netns", self.ns],
             ["ip", "link", "set", self.veth, "master", self.lan.bridge], ["ip", "link", "set", self.veth, "up"],
             [*inside, "ip", "addr", "add", f"{self.address}/24", "dev", f"{self.veth}p"],
             [*inside, "ip", "link", "set", f"{self.veth}p", "up"], [*inside, "ip", "link", "set", "lo", "up"])

    def destroy(self) -> None:
        _sh("ip", "link", "del", self.veth)
        _sh("ip", "netns", "del", self.ns)

    @property
    def url(self) -> str:
        return f"http://{self.address}:{SERVE_PORT}"


def _run(*commands: list[str]) -> None:
    for cmd in commands:
        done = _sh(*cmd)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")


@pytest.fixture(scope="module")
def network():
    """Two hosts, a relay to PostgreSQL and Redis from each, and a shared Oxigraph server holding the example graph."""
    # CI sets AGENTMESH_REQUIRE_SERVICES: there the hosts must be made, never skipped
    skip = pytest.fail if os.environ.get("AGENTMESH_REQUIRE_SERVICES") else pytest.skip
    if sys.platform != "linux" or shutil.which("ip") is None:
        skip("two-host tests need Linux network namespaces (ip netns, from iproute2)")
    if os.geteuid() != 0:
        skip("two-host tests need root to make network namespaces (ip netns add)")
    if shutil.which("oxigraph") is None:
        skip("the shared SPARQL server is Oxigraph's: pip install oxigraph")
    try:
        import psycopg
        import redis

        psycopg.connect(PG_URL, connect_timeout=3).close()
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}", socket_connect_timeout=3).flushdb()
    except Exception as exc:  # noqa: BLE001
        skip(f"two-host tests need PostgreSQL at {PG_URL} and Redis at 127.0.0.1:6379: {exc}")
    lan = Lan()
    hosts = [Host(f"amhost{os.getpid()}{c}", i, lan) for i, c in ((1, "a"), (2, "b"))]
    try:
        lan.create()
        for host in hosts:
            host.create()
    except RuntimeError as exc:
        for host in hosts:
            host.destroy()
        lan.destroy()
        lan.destroy()
        skip(f"cannot make network namespaces here: {exc}")
    sparql_port = free_port()
    oxigraph = subprocess.Popen(["oxigraph", "serve", "--bind", f"127.0.0.1:{sparql_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    relay = Relay()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"http://127.0.0.1:{sparql_port}/store?default", content=(EXAMPLE / "landscape.ttl").read_bytes(),
                           headers={"Content-Type": "text/turtle"}, timeout=10).raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and oxigraph.poll() is None, "oxigraph serve did not start"
                time.sleep(0.2)
        for port in (5432, 6379, sparql_port):
            relay.forward(GATEWAY, port)
        yield {"hosts": hosts, "relay": relay, "sparql_port": sparql_port}
    finally:
        relay.close()
        oxigraph.terminate()
        oxigraph.wait(10)
        for host in hosts:
            host.destroy()
        lan.destroy()


@contextmanager
def replicas(network, tmp_path, model: FakeOpenAIServer, **env_extra: str):
    """`agentmesh serve` on both hosts, each with its own data home, reaching PostgreSQL, Redis,
    Oxigraph and the model only through its gateway."""
    model_port = int(model.base_url.rsplit(":", 1)[1].split("/")[0])
    network["relay"].forward(GATEWAY, model_port)
    procs = []
    try:
        for host in network["hosts"]:
            gw = GATEWAY
            env = {**os.environ, "AGENTMESH_HOME": str(tmp_path / host.ns), "AGENTMESH_EMBEDDINGS": "hashing",
                   "AGENTMESH_SERVER_TOKEN": TOKEN, "AGENTMESH_TOOLS": "kg_search",
                   "AGENTMESH_THREADS": PG_URL.replace("127.0.0.1", gw),
                   "AGENTMESH_CACHE_URL": f"redis://{gw}:6379/{REDIS_DB}",
                   # the graph stays at the shared Oxigraph (live); each replica builds the same node index from it
                   "AGENTMESH_KG_ENDPOINTS": f"http://{gw}:{network['sparql_port']}/query",
                   "AGENTMESH_KG_ENDPOINT_MODE": "live", **env_extra}
            env.pop("AGENTMESH_KG", None)
            procs.append(subprocess.Popen(
                ["ip", "netns", "exec", host.ns, sys.executable, "-m", "agentmesh.apps.cli", "serve", "--host", host.address,
                 "--port", str(SERVE_PORT), "--model", "local:fake-model", "--base-url", f"http://{gw}:{model_port}/v1"],
                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True))
        for host, proc in zip(network["hosts"], procs):
            deadline, last = time.monotonic() + 90, "no answer"
            while True:
                try:
                    health = httpx.get(f"{host.url}/healthz", timeout=2, trust_env=False)
                    if health.status_code == 200:
                        break
                    last = health.text
                except httpx.HTTPError as exc:
                    last = repr(exc)
                assert proc.poll() is None, f"serve on {host.ns} exited: {proc.stdout.read()}"
                if time.monotonic() > deadline:
                    proc.terminate()
                    pytest.fail(f"serve on {host.ns} did not start ({last}): {proc.communicate(timeout=30)[0]}")
                time.sleep(0.2)
        yield [httpx.Client(base_url=h.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120, trust_env=False)
               for h in network["hosts"]]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.communicate(timeout=30)


def ask(client: httpx.Client, text: str, thread: str | None = None) -> dict:
    body = {"model": "agentmesh", "messages": [{"role": "user", "content": text}]}
    reply = client.post("/v1/chat/completions", json=body, headers={"X-Thread-Id": thread} if thread else {})
    assert reply.status_code == 200, reply.text
    return reply.json()


def history_kinds(tmp_path, thread: str) -> list[str]:
    agent = Agent(Settings.load(home=tmp_path / "reader", threads=PG_URL, tools=[], cache=False),
                  model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings())
    return [m.type for m in agent.history(thread) if m.type in ("human", "ai")]


def concurrent_turns(clients, thread: str, n: int = 6) -> list[str]:
    """``n`` turns on one thread at once, alternating between the hosts."""
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda i: ask(clients[i % 2], f"Question {i}?", thread)["choices"][0]["message"]["content"],
                             range(n)))


@pytest.mark.parametrize("lock", ["auto", "redis"])
def test_concurrent_turns_on_one_thread_through_both_hosts_stay_in_order(network, tmp_path, lock):
    """auto: threads are in PostgreSQL, so the turn lock is its advisory lock; redis: the shared cache's Redis."""
    with FakeOpenAIServer([{"content": "An answer.", "delay": 0.3}]) as model:
        with replicas(network, tmp_path, model, AGENTMESH_TURN_LOCK=lock, AGENTMESH_CACHE="false") as clients:
            health = [c.get("/healthz").json() for c in clients]
            thread = f"shared-{uuid.uuid4().hex[:8]}"
            answers = concurrent_turns(clients, thread)
    assert answers == ["An answer."] * 6
    assert history_kinds(tmp_path, thread) == ["human", "ai"] * 6  # each turn whole, none lost or interleaved
    for report in health:
        assert report["status"] == "ok"
        assert report["services"]["threads"] == {"backend": "postgresql", "shared": True, "ok": True}
        assert report["services"]["turn_lock"]["shared"] and report["services"]["turn_lock"]["ok"]
        assert report["services"]["turn_lock"]["backend"] == ("postgres advisory lock" if lock == "auto" else "redis lock")
        assert report["services"]["knowledge_graph"]["ok"] and report["services"]["knowledge_graph"]["shared"]


def test_without_a_lock_both_hosts_reach_turns_interleave(network, tmp_path):
    """The control: a file lock holds only on its own machine, so the same traffic through two
    hosts loses or interleaves turns. It is what the shared lock above prevents."""
    with FakeOpenAIServer([{"content": "An answer.", "delay": 0.3}]) as model:
        with replicas(network, tmp_path, model, AGENTMESH_TURN_LOCK="file", AGENTMESH_CACHE="false") as clients:
            thread = f"shared-{uuid.uuid4().hex[:8]}"
            concurrent_turns(clients, thread)
    assert history_kinds(tmp_path, thread) != ["human", "ai"] * 6


def test_a_thread_a_cache_entry_and_an_approval_move_between_hosts(network, tmp_path):
    script = [{"content": "Hello Ada."}, {"content": "Your name is Ada."},
              {"content": "Anthropic develops Claude 2.1."},
              {"tool_calls": [{"name": "python", "arguments": {"code": "print(6 * 7)"}}]}, {"content": "It is 42."}]
    with FakeOpenAIServer(script) as model:
        with replicas(network, tmp_path, model, AGENTMESH_TOOLS="kg_search,python") as (a, b):
            thread = f"ada-{uuid.uuid4().hex[:8]}"
            ask(a, "My name is Ada.", thread)
            second = ask(b, "What is my name?", thread)  # host B continues host A's thread
            assert second["choices"][0]["message"]["content"] == "Your name is Ada."
            seen = [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "user"]
            assert any("My name is Ada." in text for text in seen)

            made = ask(a, "Who develops Claude 2.1?")
            calls = len(model.requests)
            served = ask(b, "Who develops Claude 2.1?")  # the entry A made, served by B without the model
            assert made["agentmesh"]["stop_reason"] == "answered"
            assert served["choices"][0]["message"]["content"] == "Anthropic develops Claude 2.1."
            assert served["agentmesh"]["stop_reason"] == "cached" and len(model.requests) == calls
            assert not list(tmp_path.glob("*/kg/endpoints/*.nt"))  # live: no replica copied the graph

            work = f"calc-{uuid.uuid4().hex[:8]}"
            waiting = ask(a, "Compute six times seven with python.", work)
            assert waiting["agentmesh"]["pending"] and waiting["agentmesh"]["pending"][0]["name"] == "python"
            approved = ask(b, "approve", work)  # approved on the other host: it runs there
            assert approved["choices"][0]["message"]["content"] == "It is 42."
            assert any(m["role"] == "tool" and "42" in str(m["content"]) for m in model.requests[-1]["messages"])
