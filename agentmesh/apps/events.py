"""One run of the agent as JSON events, for the HTTP API, the web page and the REPL: the typed
events of :mod:`agentmesh.events` (``Agent.events``), each as its ``to_dict()``.

:func:`run_events` is synchronous (a generator); :func:`aiter_events` runs it in a worker
thread for asyncio servers, so a slow model never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator, Iterator

import anyio

from agentmesh.events import OUTPUT_LIMIT

__all__ = ["run_events", "aiter_events", "OUTPUT_LIMIT"]

_running: set[asyncio.Future] = set()


def run_events(agent: Any, message: str | None, thread_id: str, *, resume: Any = None, private: bool = False,
               stop: threading.Event | None = None, tokens: bool = True, context: Any = (),
               user: str | None = None) -> Iterator[dict[str, Any]]:
    """Run ``message`` (or resume with ``resume`` when ``message`` is None) and yield each event as a dict.
    ``stop``: set it to end the run after the current step (a client went away, Ctrl-C)."""
    events = agent.events(message, thread_id, private=private, resume=resume, tokens=tokens, context=context, user=user)
    try:
        for event in events:
            if stop is not None and stop.is_set():
                return
            yield event.to_dict()
    finally:
        events.close()


async def aiter_events(agent: Any, message: str | None, thread_id: str, *, resume: Any = None, private: bool = False,
                       limiter: anyio.CapacityLimiter | None = None, tokens: bool = True,
                       context: Any = (), user: str | None = None) -> AsyncIterator[dict[str, Any]]:
    """:func:`run_events` in a worker thread; leaving the loop early stops the run after its current step."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for event in run_events(agent, message, thread_id, resume=resume, private=private, stop=stop, tokens=tokens,
                                     context=context, user=user):
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except BaseException as exc:  # handed to the reader, which raises it
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, done)

    task = asyncio.ensure_future(anyio.to_thread.run_sync(work, limiter=limiter))
    try:
        while True:
            item = await queue.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the worker ends after its current step; its checkpoint is already written
        if not task.done():  # keep a reference until it ends (asyncio holds tasks weakly)
            _running.add(task)
            task.add_done_callback(_running.discard)
