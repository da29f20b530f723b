"""langchain-tests' integration suite, run against the embedded model itself (SmolLM2-135M in
process, no network) and, below, against the JSON tool-calling wrapper and the routed model over
a llama.cpp server on 127.0.0.1: what it is promised to do, invoke, stream, batch, stop sequences, usage
metadata, tool calls through JSON-schema constrained output, structured output, it does with
real generation, as a LangChain user would meet it. Inputs it has no way to read (images,
audio, PDF) are declared unsupported, so the suite skips those tests and says why."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

pytest.importorskip("xllamacpp", reason="the embedded model needs xllamacpp (the default install has it)")


def _missing_model() -> str:
    from agentmesh.models.embedded import smollm2_path

    try:
        smollm2_path()
    except Exception as exc:  # visible in the report, never silent
        return f"embedded model not installed: {exc}"
    return ""


pytestmark = pytest.mark.skipif(bool(_missing_model()), reason=_missing_model() or "-")


class _SmolLM2Suite(ChatModelIntegrationTests):
    """What all three promise: a named tool_choice is forced, and replies (streamed or not) carry usage."""

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


@pytest.mark.asyncio
class TestEmbeddedChatModelIntegration(_SmolLM2Suite):
    @property
    def chat_model_class(self):
        from agentmesh.models.embedded import EmbeddedChatModel

        return EmbeddedChatModel

    @property
    def chat_model_params(self) -> dict:
        return {"max_tokens": 160}  # short replies: the suite checks their shape, not their length

    @property
    def supports_json_mode(self) -> bool:
        return True


# The same suite through the parts a user points at a model server of their own: a real
# llama.cpp server (xllamacpp's, the code `llama-server` runs) in a process of its own,
# listening on 127.0.0.1 with SmolLM2, reached by langchain-openai's ChatOpenAI over HTTP. Its
# chat template ignores native tools, as many small-model servers do, so tools go through the
# JSON tool-calling wrapper, alone and as the routed model builds it from a catalog entry.

_SERVE = """
import sys, threading, xllamacpp
params = xllamacpp.CommonParams()
params.model.path, params.port = sys.argv[1], int(sys.argv[2])
params.n_ctx, params.n_parallel, params.verbosity, params.warmup, params.cors_origins = 4096, 1, -1, False, ""
params.cpuparams.n_threads = params.cpuparams_batch.n_threads = int(sys.argv[3])
server = xllamacpp.Server(params)
threading.Event().wait()
"""
_llama_server: dict[str, object] = {}


def _server_url() -> str:
    """One llama.cpp server process for the module, started on first use on a free loopback port."""
    if "url" not in _llama_server:
        import os
        import subprocess
        import sys

        from _net import free_port, wait_listening
        from agentmesh.models.embedded import smollm2_path

        port = free_port()
        threads = str(min(4, os.cpu_count() or 1))
        proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(smollm2_path()), str(port), threads],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # verbosity -1: it says nothing
        _llama_server["proc"] = proc
        wait_listening(port, proc, "llama.cpp server", timeout=120)
        import time

        import httpx

        deadline = time.monotonic() + 120
        while httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code != 200:  # 503 while it loads
            if time.monotonic() > deadline:
                pytest.fail("llama.cpp server did not load SmolLM2 within 120 s")
            time.sleep(0.2)
        _llama_server["url"] = f"http://127.0.0.1:{port}/v1"
    return str(_llama_server["url"])


@pytest.fixture(scope="module", autouse=True)
def _stop_llama_server():
    yield
    proc = _llama_server.pop("proc", None)
    _llama_server.pop("url", None)
    if proc is not None:
        proc.kill()
        proc.wait(timeout=30)


def _chat_openai():
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(base_url=_server_url(), api_key="not-needed", model="smollm2", temperature=0,
                      max_tokens=384, max_retries=0, timeout=120, stream_usage=True)


@pytest.mark.asyncio
class TestJsonToolCallingModelIntegration(_SmolLM2Suite):
    """The wrapper over ChatOpenAI: tool calls, structured output and usage, all over HTTP."""

    @property
    def chat_model_class(self):
        from agentmesh.models.json_tools import JsonToolCallingModel

        return JsonToolCallingModel

    @property
    def chat_model_params(self) -> dict:
        return {"inner": _chat_openai()}


@pytest.mark.asyncio
class TestRoutedChatModelIntegration(_SmolLM2Suite):
    """The routed model over a catalog holding that server as a local model without native tools:
    the route, the health probe, the ledger and the wrapper the router builds, all in the path."""

    @property
    def chat_model_class(self):
        from agentmesh.models.routed import RoutedChatModel

        return RoutedChatModel

    @property
    def chat_model_params(self) -> dict:
        from agentmesh.models.catalog import Catalog, ModelSpec
        from agentmesh.models.router import PolicyRouter

        local = ModelSpec(name="llama-server", provider="openai-compatible", model="smollm2", context_window=4096,
                          input_per_1m=0.0, output_per_1m=0.0, latency_s=0.3, tokens_per_s=75.0, tier=0,
                          local=True, tool_calls=False, endpoint=_server_url())
        catalog = Catalog([local])
        return {"catalog": catalog, "router": PolicyRouter(catalog), "max_output_tokens": 384}
