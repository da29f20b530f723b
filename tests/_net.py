"""Helpers for tests that start a server process: a free port, and waiting until it listens."""

from __future__ import annotations

import os
import socket

import pytest

REDIS_URL = os.environ.get("AGENTMESH_TEST_REDIS", "redis://127.0.0.1:6379/0")
"""The Redis the tests use (CI has one at this address); the conftest's ``redis_prefix`` skips without it."""


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc, what: str, timeout: float = 60.0) -> None:
    """Wait until ``proc`` accepts connections on ``port``; fail with its output if it exits or is late."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None:
            stream = proc.stdout or proc.stderr
            pytest.fail(f"{what} exited: {stream.read() if stream else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not start within {timeout:g} s")
        time.sleep(0.1)
