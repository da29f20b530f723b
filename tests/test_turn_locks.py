"""Turn locks that reach past one machine: a PostgreSQL advisory lock and a Redis lock, each
against the real server on this machine, and the choice among them that ``turn_lock`` makes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from agentmesh import Settings
from agentmesh.apps.access import FileTurnLocks, PostgresTurnLocks, RedisTurnLocks, turn_locks
from agentmesh.errors import ConfigError, ThreadBusyError

PG_URL = os.environ.get("AGENTMESH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("AGENTMESH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _reachable(kind: str) -> str | None:
    try:
        if kind == "postgres":
            PostgresTurnLocks(PG_URL, 1).check()
        else:
            RedisTurnLocks(REDIS_URL, 1).check()
    except Exception as exc:  # noqa: BLE001 - any failure means the service is not here
        return f"no {kind} server at {PG_URL if kind == 'postgres' else REDIS_URL}: {exc}"
    return None


def _locks(kind: str, timeout: float = 30.0, tmp_path=None):
    reason = None if kind == "file" else _reachable(kind)
    if reason:
        pytest.skip(reason)
    if kind == "postgres":
        return PostgresTurnLocks(PG_URL, timeout)
    if kind == "redis":
        return RedisTurnLocks(REDIS_URL, timeout, lease=1.0)
    return FileTurnLocks(tmp_path)


async def _turns(locks_a, locks_b, threads, hold: float = 0.25):
    """Two holders (as two replicas would be: separate lock objects, separate connections) take
    turns on ``threads`` at once; each turn's (thread, start, end)."""
    spans = []

    async def turn(locks, thread):
        async with locks.hold(thread):
            start = time.monotonic()
            await asyncio.sleep(hold)
            spans.append((thread, start, time.monotonic()))

    await asyncio.gather(*(turn(locks_a if i % 2 else locks_b, t) for i, t in enumerate(threads)))
    return spans


def _overlaps(spans):
    return sum(1 for i, (t1, s1, e1) in enumerate(spans) for (t2, s2, e2) in spans[i + 1:]
               if t1 == t2 and s1 < e2 and s2 < e1)


@pytest.mark.parametrize("kind", ["postgres", "redis", "file"])
def test_turns_on_one_thread_never_overlap_across_holders(kind, tmp_path):
    a, b = _locks(kind, tmp_path=tmp_path), _locks(kind, tmp_path=tmp_path)
    thread = f"t-{uuid.uuid4().hex}"
    spans = asyncio.run(_turns(a, b, [thread] * 6))
    assert len(spans) == 6 and _overlaps(spans) == 0


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_turns_on_different_threads_run_at_once(kind, tmp_path):
    a, b = _locks(kind), _locks(kind)
    started = time.monotonic()
    spans = asyncio.run(_turns(a, b, [f"t-{uuid.uuid4().hex}" for _ in range(6)], hold=0.5))
    assert len(spans) == 6 and time.monotonic() - started < 2.0  # six half-second turns, not three seconds


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_a_turn_that_waits_too_long_fails_with_a_clear_error(kind):
    holder, waiter = _locks(kind), _locks(kind, timeout=0.5)
    thread = f"t-{uuid.uuid4().hex}"

    async def main():
        async with holder.hold(thread):
            with pytest.raises(ThreadBusyError, match="stayed busy for 0.5 s.*turn_lock_timeout"):
                async with waiter.hold(thread):
                    pass
        async with waiter.hold(thread):  # free again once the holder is done
            return True

    assert asyncio.run(main())


def test_a_redis_turn_longer_than_the_lease_keeps_its_thread():
    """The lease is renewed while the turn runs: a second holder waits the whole turn out."""
    holder, waiter = _locks("redis"), _locks("redis")  # lease 1 s
    thread = f"t-{uuid.uuid4().hex}"

    async def main():
        got = []

        async def long_turn():
            async with holder.hold(thread):
                await asyncio.sleep(2.5)
                got.append(("long", time.monotonic()))

        async def second():
            await asyncio.sleep(0.2)
            async with waiter.hold(thread):
                got.append(("second", time.monotonic()))

        await asyncio.gather(long_turn(), second())
        return [name for name, _ in sorted(got, key=lambda g: g[1])]

    assert asyncio.run(main()) == ["long", "second"]


HOLD_AND_WAIT = """
import asyncio, sys
from agentmesh.apps.access import PostgresTurnLocks, RedisTurnLocks
kind, url, thread = sys.argv[1:4]
locks = PostgresTurnLocks(url, 30) if kind == "postgres" else RedisTurnLocks(url, 30, lease=1.0)
async def main():
    async with locks.hold(thread):
        print("held", flush=True)
        await asyncio.sleep(600)
asyncio.run(main())
"""


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_a_replica_killed_mid_turn_frees_its_thread(kind):
    """A crashed replica must not hold a thread forever: PostgreSQL drops the lock with the
    session, Redis lets the lease run out."""
    _locks(kind)
    thread = f"t-{uuid.uuid4().hex}"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLD_AND_WAIT), kind,
                             PG_URL if kind == "postgres" else REDIS_URL, thread], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        busy = _locks(kind, timeout=0.3)

        async def try_once():
            async with busy.hold(thread):
                pass

        with pytest.raises(ThreadBusyError):
            asyncio.run(try_once())
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        waiter = _locks(kind, timeout=10)
        started = time.monotonic()
        asyncio.run(_turns(waiter, waiter, [thread], hold=0))
        assert time.monotonic() - started < 5
    finally:
        proc.kill()
        proc.wait(10)


def test_auto_takes_the_service_replicas_already_share(tmp_path):
    base = {"home": tmp_path / "home"}
    assert isinstance(turn_locks(Settings.load(**base)), FileTurnLocks)
    assert isinstance(turn_locks(Settings.load(**base, threads=PG_URL)), PostgresTurnLocks)
    assert isinstance(turn_locks(Settings.load(**base, cache_url=REDIS_URL)), RedisTurnLocks)
    both = Settings.load(**base, threads=PG_URL, cache_url=REDIS_URL)
    assert isinstance(turn_locks(both), PostgresTurnLocks)  # the threads' own database first
    assert isinstance(turn_locks(both.model_copy(update={"turn_lock": "redis"})), RedisTurnLocks)
    assert isinstance(turn_locks(both.model_copy(update={"turn_lock": "file"})), FileTurnLocks)
    with pytest.raises(ConfigError, match="needs threads in PostgreSQL"):
        turn_locks(Settings.load(**base, turn_lock="postgres"))
    with pytest.raises(ConfigError, match="needs cache_url"):
        turn_locks(Settings.load(**base, turn_lock="redis"))


def test_healthz_says_which_shared_services_it_reaches(tmp_path, example_kg):
    import httpx

    from agentmesh import Agent
    from agentmesh.apps.server import BackgroundServer, create_app
    from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings

    _locks("postgres")
    agent = Agent(Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False, threads=PG_URL),
                  model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings())
    with BackgroundServer(create_app(agent)) as server:
        report = httpx.get(server.url + "/healthz").json()
    assert report["status"] == "ok"
    assert report["services"] == {"threads": {"backend": "postgresql", "shared": True, "ok": True},
                                  "turn_lock": {"backend": "postgres advisory lock", "shared": True, "ok": True}}

    local = Agent(Settings.load(home=tmp_path / "home2", kg=[example_kg], tools=[]),
                  model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings())
    with BackgroundServer(create_app(local)) as server:
        services = httpx.get(server.url + "/healthz").json()["services"]
    assert services["threads"] == {"backend": "sqlite", "shared": False, "ok": True}
    assert services["cache"]["shared"] is False and services["turn_lock"]["shared"] is False


def test_healthz_is_503_when_a_shared_service_is_down_and_never_shows_its_password(tmp_path, example_kg):
    import httpx

    from agentmesh import Agent
    from agentmesh.apps.server import BackgroundServer, create_app
    from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings
    from tests._net import free_port

    down = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    agent = Agent(Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False, cache_url=down),
                  model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings())
    with BackgroundServer(create_app(agent)) as server:
        reply = httpx.get(server.url + "/healthz")
    assert reply.status_code == 503 and reply.json()["status"] == "degraded"
    lock = reply.json()["services"]["turn_lock"]
    assert lock["backend"] == "redis lock" and lock["ok"] is False and "Connection" in lock["error"]
    assert "hunter2-secret" not in reply.text

    class Quoting(RedisTurnLocks):  # a driver whose error quotes the URL it was given, password and all
        def check(self):
            raise OSError(f"cannot reach {self.url}")

    from agentmesh.apps.server import shared_services

    report = shared_services(agent, Quoting(down, 1))["turn_lock"]
    assert report["ok"] is False and report["error"] == "OSError: cannot reach ***"
