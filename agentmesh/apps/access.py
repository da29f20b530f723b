"""Who may call the server's faces, whose thread a request names, and whose turn it is: shared by
``agentmesh serve`` (HTTP, the web page, Slack, A2A) and ``agentmesh mcp serve``."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import weakref
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import anyio

from agentmesh.errors import ConfigError, ThreadBusyError

__all__ = ["OWNER_PREFIX", "bearer_principal", "stored_thread", "thread_lock", "turn_lock", "turn_locks", "TurnLocks",
           "FileTurnLocks", "PostgresTurnLocks", "RedisTurnLocks"]

OWNER_PREFIX = "user:"
"""Stored thread ids of per-user threads start with this; clients may not name such ids."""


def bearer_principal(settings: Any, token: str | None = None) -> Callable[[str], str | None] | None:
    """Who an ``Authorization`` header says the caller is, by the settings' tokens (``token``,
    else ``server_token``; and ``server_tokens``): a user name, "" for the shared token, None for
    neither. None instead of a function when no token is configured (nothing to check)."""
    if token is None and settings.server_token is not None:
        token = settings.server_token.get_secret_value()
    users = {user: secret.get_secret_value().encode() for user, secret in settings.server_tokens.items()}
    if not (token or users):
        return None

    def principal(given: str) -> str | None:
        presented = given.removeprefix("Bearer ").encode() if given.startswith("Bearer ") else b""
        found = None
        for user, secret in users.items():  # compare with every token: the time taken says nothing
            if hmac.compare_digest(presented, secret):
                found = user
        if token and hmac.compare_digest(presented, token.encode()):
            found = ""
        return found

    return principal


def stored_thread(user: str | None, thread_id: str) -> str:
    """The stored id of a thread a caller names: a user's threads live under their name."""
    if thread_id.startswith(OWNER_PREFIX):
        raise ConfigError(f"thread ids may not start with {OWNER_PREFIX!r}")
    return f"{OWNER_PREFIX}{user}/{thread_id}" if user else thread_id


@asynccontextmanager
async def turn_lock(locks: "TurnLocks | Path", thread_id: str) -> AsyncIterator[None]:
    """A thread's turn: one at a time in this process, then across every process ``locks`` reaches
    (a folder: processes sharing that data home; :func:`turn_locks` picks PostgreSQL or Redis for
    replicas on several machines)."""
    locks = locks if isinstance(locks, TurnLocks) else FileTurnLocks(locks)
    async with thread_lock(thread_id), locks.hold(thread_id):
        yield


_locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()


def thread_lock(thread_id: str) -> asyncio.Lock:
    """One lock per live thread id: turns of a thread run one at a time."""
    lock = _locks.get(thread_id)
    if lock is None:
        lock = _locks[thread_id] = asyncio.Lock()
    return lock


class TurnLocks:
    """Where a thread's turn is held beyond this process. ``hold(thread_id)`` is an async context
    manager; ``check()`` raises if the service behind it cannot be reached (``/healthz``)."""

    kind = "none"

    def hold(self, thread_id: str) -> Any:
        raise NotImplementedError

    def check(self) -> None:
        """Nothing to reach by default."""

    def describe(self) -> str:
        return self.kind


def _key(thread_id: str) -> bytes:
    return hashlib.sha256(thread_id.encode()).digest()


class FileTurnLocks(TurnLocks):
    """An exclusive flock on a file named by the thread, in a folder every process on this machine
    shares (``serve --workers N``, two servers on one data home). It does not reach other machines."""

    kind = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / f"{_key(thread_id).hex()[:32]}.lock", "a")
        try:
            await anyio.to_thread.run_sync(fcntl.flock, handle, fcntl.LOCK_EX)  # waited for off the event loop
            yield
        finally:
            handle.close()  # closing drops the lock

    def describe(self) -> str:
        return f"file ({self.folder})"


class PostgresTurnLocks(TurnLocks):
    """A PostgreSQL advisory lock per thread, on the server that keeps the threads: every replica
    using that database takes its turns in order. The lock lives in the session holding it, so a
    replica that dies mid-turn frees the thread when its connection drops; a turn waits at most
    ``timeout`` seconds for it (PostgreSQL's ``lock_timeout``), then fails with a clear error."""

    kind = "postgres"

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.timeout = timeout

    async def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError:
            raise ConfigError("turn locks in PostgreSQL need: pip install 'agentmesh[postgres]'") from None
        return await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=10)

    @asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        import psycopg

        key = int.from_bytes(_key(thread_id)[:8], "big", signed=True)  # advisory locks take a signed bigint
        conn = await self._connect()  # one connection per turn: its session owns the lock
        try:
            try:
                await conn.execute(f"SET lock_timeout = '{int(self.timeout * 1000)}ms'")
                await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            except psycopg.errors.LockNotAvailable:
                raise ThreadBusyError(f"thread {thread_id!r} stayed busy for {self.timeout:g} s "
                                      "(another replica's turn on it; setting turn_lock_timeout)") from None
            try:
                yield
            finally:
                if not conn.closed:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        finally:
            await conn.close()

    def check(self) -> None:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")

    def describe(self) -> str:
        return "postgres advisory lock"


class RedisTurnLocks(TurnLocks):
    """A Redis lock per thread (redis-py's ``Lock``: a token checked by a Lua script on release),
    for replicas that share a Redis cache. The lock has a lease of ``lease`` seconds that a held
    turn renews, so a replica that dies frees the thread within one lease; a turn waits at most
    ``timeout`` seconds for it."""

    kind = "redis"

    def __init__(self, url: str, timeout: float, lease: float = 30.0) -> None:
        self.url, self.timeout, self.lease = url, timeout, lease

    @asynccontextmanager
    async def hold(self, thread_id: str) -> AsyncIterator[None]:
        try:
            from redis import asyncio as aioredis
            from redis.exceptions import LockError
        except ImportError:
            raise ConfigError("turn locks in Redis need: pip install 'agentmesh[redis]'") from None
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=10)
        lock = client.lock(f"agentmesh:turn:{_key(thread_id).hex()[:32]}", timeout=self.lease,
                           blocking_timeout=self.timeout)
        try:
            if not await lock.acquire():
                raise ThreadBusyError(f"thread {thread_id!r} stayed busy for {self.timeout:g} s "
                                      "(another replica's turn on it; setting turn_lock_timeout)")

            async def renew() -> None:
                while True:
                    await asyncio.sleep(self.lease / 3)
                    await lock.reacquire()  # the lease starts again: a long turn keeps its thread

            renewing = asyncio.ensure_future(renew())
            try:
                yield
            finally:
                renewing.cancel()
                try:
                    await lock.release()
                except LockError:
                    pass  # the lease ran out (the turn outlived a lost connection): nothing left to free
        finally:
            await client.aclose()

    def check(self) -> None:
        import redis

        redis.Redis.from_url(self.url, socket_connect_timeout=3, socket_timeout=3).ping()

    def describe(self) -> str:
        return "redis lock"


def turn_locks(settings: Any) -> TurnLocks:
    """The turn locks ``settings.turn_lock`` names; ``auto`` takes the service replicas already
    share: PostgreSQL when threads are kept there, else Redis when the cache is, else a file lock
    in the data home (processes on one machine)."""
    kind = settings.turn_lock
    threads = str(settings.threads or "")
    cache_url = settings.cache_url.get_secret_value() if settings.cache_url is not None else ""
    if kind == "auto":
        kind = "postgres" if threads.startswith("postgresql") else "redis" if cache_url else "file"
    if kind == "postgres":
        if not threads.startswith("postgresql"):
            raise ConfigError("turn_lock = 'postgres' needs threads in PostgreSQL (threads = 'postgresql://...')")
        return PostgresTurnLocks(threads, settings.turn_lock_timeout)
    if kind == "redis":
        if not cache_url:
            raise ConfigError("turn_lock = 'redis' needs cache_url (redis://host:6379/0)")
        return RedisTurnLocks(cache_url, settings.turn_lock_timeout)
    return FileTurnLocks(settings.data_dir("locks"))
