"""Fakes for testing agents without a model, a key or a network. Shipped for users too.

>>> from langchain_core.messages import AIMessage
>>> from agentmesh.models.testing import FakeToolChatModel, tool_call
>>> model = FakeToolChatModel(responses=[tool_call("sql", query="SELECT 1"), AIMessage("one")])
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Sequence

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agentmesh.models.json_tools import as_tool_call_chunks

__all__ = ["FakeToolChatModel", "HashingEmbeddings", "FakeOpenAIServer", "FakeEmbeddingServer", "tool_call"]


def tool_call(name: str, _id: str | None = None, **args: Any) -> AIMessage:
    """An AIMessage asking for one tool call; combine several with ``tool_calls(...)``."""
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": _id or f"call_{uuid.uuid4().hex[:8]}"}])


class FakeToolChatModel(FakeMessagesListChatModel):
    """Replays ``responses`` in order (cycling), accepts ``bind_tools``, and records each call.

    ``calls`` holds the message lists the model received; ``offered`` the tool names bound
    for each call, ``choices`` their ``tool_choice``. Works with invoke, stream and LangGraph. ``stream_words``: when streamed
    (LangGraph's "messages" mode), a text reply comes word by word, ``word_delay`` apart.
    """

    calls: list[list[BaseMessage]] = Field(default_factory=list)
    offered: list[list[str]] = Field(default_factory=list)
    choices: list[Any] = Field(default_factory=list)
    """The ``tool_choice`` of each call (None when the tools were bound without one)."""
    stream_words: bool = False
    word_delay: float = 0.0

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        """As LangChain's models do: a ``RunnableBinding`` whose calls carry the tools (this model is unchanged)."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, **({"tool_choice": tool_choice} if tool_choice is not None else {}), **kwargs)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        return {**super()._get_ls_params(stop=stop, **kwargs), "ls_model_name": kwargs.get("model") or "fake-tool-model"}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        self.offered.append([t["function"]["name"] for t in kwargs.get("tools", [])])
        self.choices.append(kwargs.get("tool_choice"))
        result = super()._generate(messages, stop, run_manager, **kwargs)
        # a copy each time: LangGraph assigns ids to the messages it stores, and a replayed
        # object carrying a stored id would replace that message instead of adding a new one
        for generation in result.generations:
            generation.message = generation.message.model_copy(deep=True)
        return result

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any):
        message = self._generate(messages, stop, run_manager, **kwargs).generations[0].message
        calls = as_tool_call_chunks(getattr(message, "tool_calls", []) or [])
        text = message.text
        pieces = re.findall(r"\S+\s*|\s+", text) if self.stream_words and text and not calls else [text]
        for i, piece in enumerate(pieces):
            if i and self.word_delay:
                time.sleep(self.word_delay)
            last = i == len(pieces) - 1
            chunk = AIMessageChunk(content=piece, id=message.id, tool_call_chunks=calls if i == 0 else [],
                                   response_metadata=message.response_metadata if i == 0 else {},
                                   usage_metadata=getattr(message, "usage_metadata", None) if last else None)
            yield ChatGenerationChunk(message=chunk)


class HashingEmbeddings(Embeddings):
    """Deterministic bag-of-words embeddings: texts sharing words are similar. No model needed."""

    model_id = "hashing-bow"

    def __init__(self, dimension: int = 256) -> None:
        self.dimension = dimension

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vec[int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text).tolist()


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-reply (a killed process, a timeout) is not an error of the fake."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _LocalServer:
    """An HTTP server of the fakes below on 127.0.0.1, in a thread; a context manager."""

    def _serve(self) -> None:
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> Any:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeOpenAIServer(_LocalServer):
    """An OpenAI-compatible chat server on 127.0.0.1 that replays a script.

    Each script item is a dict: ``{"content": "..."}``, ``{"tool_calls": [{"name": ..., "arguments":
    {...}}]}``, ``{"status": 500, "body": "..."}`` for a failure, ``{"raw": "not json"}`` for a
    malformed body (``"headers"`` adds response headers, e.g. Retry-After); a tool call may give
    ``"raw_arguments"`` (a string, possibly invalid JSON). Any item may add ``"delay": seconds`` and
    ``"finish_reason"`` (e.g. ``"length"``: a reply cut off at the token limit). The last item repeats. Requests
    are kept in ``requests``. Use as a context manager::

        with FakeOpenAIServer([{"content": "hi"}]) as server:
            ChatOpenAI(base_url=server.base_url, api_key="x", model="fake").invoke("hello")
    """

    def __init__(self, script: Sequence[dict[str, Any]], model: str = "fake-model") -> None:
        self.script = list(script) or [{"content": ""}]
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._serve()

    def _next(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(request)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    data = {"object": "list", "data": [{"id": server.model, "object": "model", "owned_by": "fake"}]}
                    self._send(200, json.dumps(data).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                item = server._next(request)
                if item.get("delay"):
                    time.sleep(item["delay"])
                if "status" in item:
                    body = item.get("body") or json.dumps({"error": {"message": f"fake error {item['status']}"}})
                    self._send(item["status"], body.encode(), headers=item.get("headers"))
                    return
                if "raw" in item:
                    self._send(200, item["raw"].encode())
                    return
                message: dict[str, Any] = {"role": "assistant", "content": item.get("content")}
                if item.get("tool_calls"):
                    message["tool_calls"] = [
                        {
                            "id": call.get("id") or f"call_{uuid.uuid4().hex[:8]}",
                            "type": "function",
                            "function": {
                                "name": call["name"],
                                "arguments": call["raw_arguments"] if "raw_arguments" in call else json.dumps(call.get("arguments", {})),
                            },
                        }
                        for call in item["tool_calls"]
                    ]
                finish = item.get("finish_reason") or ("tool_calls" if item.get("tool_calls") else "stop")
                if request.get("stream"):
                    self._stream(message, finish)
                    return
                body = {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request.get("model", server.model),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
                self._send(200, json.dumps(body).encode())

            def _stream(self, message: dict[str, Any], finish: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": server.model}
                deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
                for word in re.findall(r"\S+\s*", message.get("content") or ""):
                    deltas.append({"content": word})
                for i, call in enumerate(message.get("tool_calls") or []):
                    deltas.append({"tool_calls": [{"index": i, **call}]})
                for delta in deltas:
                    chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

        return Handler


class FakeEmbeddingServer(_LocalServer):
    """An OpenAI-compatible ``/v1/embeddings`` server on 127.0.0.1: vectors of
    :class:`HashingEmbeddings`, after ``latency`` seconds per request (plus ``per_text`` per
    text), as a GPU server answers. ``failures``: statuses to answer the first requests with
    (each with ``Retry-After: 0``); ``max_batch``: a larger batch gets HTTP 413. It counts
    ``requests``, the texts of each (``batches``), when each arrived (``arrivals``), and the
    most requests it had in flight at once (``peak``)."""

    def __init__(self, *, latency: float = 0.0, per_text: float = 0.0, failures: Sequence[int] = (),
                 max_batch: int | None = None, dimension: int = 64) -> None:
        self.latency, self.per_text, self.max_batch = latency, per_text, max_batch
        self.failures = list(failures)
        self.embedder = HashingEmbeddings(dimension)
        self.requests = 0
        self.batches: list[int] = []
        self.arrivals: list[float] = []
        self.auth: list[str] = []
        self.peak = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._serve()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers: the client reuses connections

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                texts = request.get("input")
                texts = [texts] if isinstance(texts, str) else list(texts or [])
                with server._lock:
                    server.requests += 1
                    server.batches.append(len(texts))
                    server.arrivals.append(time.monotonic())
                    server.auth.append(self.headers.get("Authorization", ""))
                    failure = server.failures.pop(0) if server.failures else None
                    server._in_flight += 1
                    server.peak = max(server.peak, server._in_flight)
                try:
                    time.sleep(server.latency + server.per_text * len(texts))
                    if failure is not None:
                        self._send(failure, {"error": {"message": f"fake error {failure}"}}, {"Retry-After": "0"})
                    elif server.max_batch is not None and len(texts) > server.max_batch:
                        self._send(413, {"error": {"message": f"batch of {len(texts)} over {server.max_batch}"}})
                    else:
                        vectors = np.asarray(server.embedder.embed(texts), dtype=np.float32)
                        if request.get("encoding_format") == "base64":  # what the openai client asks for by default
                            import base64

                            rows = [base64.b64encode(v.tobytes()).decode() for v in vectors]
                        else:
                            rows = [v.tolist() for v in vectors]
                        data = [{"object": "embedding", "index": i, "embedding": r} for i, r in enumerate(rows)]
                        self._send(200, {"object": "list", "data": data, "model": request.get("model", "fake"),
                                         "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}})
                finally:
                    with server._lock:
                        server._in_flight -= 1

        return Handler
