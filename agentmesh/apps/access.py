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

from agentmesh.errors import ConfigError

__all__ = ["OWNER_PREFIX", "bearer_principal", "stored_thread", "thread_lock", "turn_lock"]

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
async def turn_lock(lock_dir: Path, thread_id: str) -> AsyncIterator[None]:
    """A thread's turn: one at a time in this process, and across processes sharing the data home."""
    async with thread_lock(thread_id), _process_lock(lock_dir, thread_id):
        yield


_locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()


def thread_lock(thread_id: str) -> asyncio.Lock:
    """One lock per live thread id: turns of a thread run one at a time."""
    lock = _locks.get(thread_id)
    if lock is None:
        lock = _locks[thread_id] = asyncio.Lock()
    return lock


@asynccontextmanager
async def _process_lock(folder: Path, thread_id: str) -> AsyncIterator[None]:
    """The thread's lock across processes (``serve --workers N``, or two servers on one data
    home): an exclusive flock on a file named by the thread, waited for off the event loop."""
    import fcntl

    path = folder / f"{hashlib.sha256(thread_id.encode()).hexdigest()[:32]}.lock"
    handle = open(path, "a")
    try:
        await anyio.to_thread.run_sync(fcntl.flock, handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing drops the lock
