"""One run of the agent as a stream of plain JSON events, shared by the HTTP API, the web page,
Slack and the REPL.

Events, in order of appearance (each a dict with ``type``):

* ``token``: ``text``, a piece of the model's text as it is written;
* ``tool_call``: ``id``, ``name``, ``args``, a call the model proposed;
* ``tool_result``: ``id``, ``name``, ``ok``, ``output`` (cut to 2,000 characters);
* ``approval``: ``calls``, dangerous calls waiting for a person (the run stops here);
* ``answer``: ``text``, ``stop_reason``, ``streamed`` (whether its text came as tokens);
* ``citations``: ``citations``, each ``{kind, ref, detail, verified}``;
* ``claims``: ``claims``, each ``{text, kind, status, evidence}`` (the answer check; empty when off);
* ``done``: ``thread_id``, ``run_id``, ``model``, ``stop_reason``, ``pending``, and the whole
  turn's ``tool_calls`` (``name``, ``args``, ``ok``, ``output``; a resumed run includes the
  calls made before it stopped).

:func:`run_events` is synchronous (a generator); :func:`aiter_events` runs it in a worker
thread for asyncio servers, so a slow model never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator, Iterator

import anyio
from langchain_core.messages import AIMessage, ToolMessage

__all__ = ["run_events", "aiter_events", "OUTPUT_LIMIT"]

OUTPUT_LIMIT = 2000
_running: set[asyncio.Future] = set()


FINAL_STOP_REASONS = ("answered", "cached", "step_limit", "error_budget", "evidence_only", "not_found")


def run_events(agent: Any, message: str | None, thread_id: str, *, resume: Any = None, private: bool = False,
               stop: threading.Event | None = None, tokens: bool = True, context: Any = ()) -> Iterator[dict[str, Any]]:
    """Run ``message`` (or resume with ``resume`` when ``message`` is None) and yield events.
    ``stop``: set it to end the run after the current step (a client went away, Ctrl-C).
    ``tokens=False`` leaves out ``token`` events (and LangGraph's cost of tracing them) for a
    caller that only wants the whole answer."""
    streamed: list[str] = []  # token texts of the current model step
    # under the strict answer check an answer is shown only once checked: its tokens are not streamed
    tokens = tokens and getattr(agent, "answer_policy", "flag") != "strict"
    stream = agent.stream(message, thread_id, private=private, resume=resume, mode="messages" if tokens else "updates",
                          context=context)
    try:
        for node, update in stream:
            if stop is not None and stop.is_set():
                return
            if node == "token":
                streamed.append(update)
                yield {"type": "token", "text": update}
            elif node == "act":
                last = update.get("messages", [None])[-1]
                if isinstance(last, AIMessage) and last.tool_calls:
                    streamed.clear()  # text before tool calls was thinking aloud, not the answer
                    for call in last.tool_calls:
                        yield {"type": "tool_call", "id": call["id"], "name": call["name"], "args": call["args"]}
            elif node == "tools":
                for out in update.get("messages", []):
                    if isinstance(out, ToolMessage):
                        yield {"type": "tool_result", "id": out.tool_call_id, "name": out.name, "ok": out.status != "error",
                               "output": out.text[:OUTPUT_LIMIT]}
            elif node == "__interrupt__":
                yield {"type": "approval", "calls": update}
            elif node in ("answer", "ground") and update.get("stop_reason") in FINAL_STOP_REASONS \
                    and (node == "answer" or update.get("stop_reason") == "cached"):
                text = update.get("answer", "")
                was_streamed = update.get("stop_reason") == "answered" and bool(streamed) and "".join(streamed).strip() == text.strip()
                yield {"type": "answer", "text": text, "stop_reason": update["stop_reason"], "streamed": was_streamed}
                yield {"type": "citations", "citations": update.get("citations", [])}
                yield {"type": "claims", "claims": update.get("claims", [])}
            elif node == "result":
                yield {"type": "done", "thread_id": update.thread_id, "run_id": update.run_id, "model": update.model,
                       "stop_reason": update.stop_reason, "pending": update.pending, "usage": update.usage,
                       "tool_calls": [{"name": a.name, "args": a.args, "ok": a.ok, "output": a.output[:OUTPUT_LIMIT]}
                                      for a in update.tool_calls]}
    finally:
        stream.close()


async def aiter_events(agent: Any, message: str | None, thread_id: str, *, resume: Any = None, private: bool = False,
                       limiter: anyio.CapacityLimiter | None = None, tokens: bool = True,
                       context: Any = ()) -> AsyncIterator[dict[str, Any]]:
    """:func:`run_events` in a worker thread; leaving the loop early stops the run after its current step."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for event in run_events(agent, message, thread_id, resume=resume, private=private, stop=stop, tokens=tokens,
                                     context=context):
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
