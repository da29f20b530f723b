"""OpenTelemetry traces of each run, beside agentmesh's own PROV-O traces.

Configured the standard way, and off when nothing asks for it:

* ``OTEL_TRACES_EXPORTER=console`` or ``otlp`` (``none``: off); ``OTEL_EXPORTER_OTLP_ENDPOINT``
  (or ``..._TRACES_ENDPOINT``) alone means otlp, over HTTP/protobuf (``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``
  needs ``opentelemetry-exporter-otlp-proto-grpc``); ``OTEL_SERVICE_NAME`` (default ``agentmesh``),
  ``OTEL_RESOURCE_ATTRIBUTES``; ``OTEL_SDK_DISABLED=true`` turns it all off;
* an application that set its own global ``TracerProvider`` gets agentmesh's spans there, with no
  variable set;
* ``pip install 'agentmesh[otel]'``.

Spans follow the OpenTelemetry GenAI semantic conventions: ``invoke_agent agentmesh`` for a run,
one span per graph step (``act``, ``tools``, ``answer``), ``chat <model>`` for each model
call (``gen_ai.request.model``, ``gen_ai.usage.input_tokens`` / ``output_tokens``...) and
``execute_tool <name>`` for each tool call (``gen_ai.tool.name``, ``gen_ai.tool.call.id``). The run
span carries agentmesh's own attributes: ``agentmesh.thread_id``, ``agentmesh.run_id``,
``agentmesh.cache.hit``, ``agentmesh.route.reason``, ``agentmesh.claims.supported`` /
``.unsupported``, ``agentmesh.citations``, ``agentmesh.stop_reason``.

Prompts, answers, tool arguments and tool results are recorded only when
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``, and then with every configured secret
scrubbed; secrets are never recorded.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from agentmesh.errors import ConfigError

__all__ = ["Telemetry", "telemetry_from_env", "CAPTURE_CONTENT_ENV"]

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_SCOPE = "agentmesh"
_MAX_CONTENT = 8_000
_configured = threading.Lock()


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _exporter_name() -> str:
    return os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()


def _asked_for() -> bool:
    """The environment asks for traces: an exporter other than ``none``, or an OTLP endpoint alone."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    exporter = _exporter_name()
    return not _truthy("OTEL_SDK_DISABLED") and exporter != "none" and bool(exporter or endpoint)


def _configure_provider() -> bool:
    """Set the global TracerProvider from the environment, once per process. False: tracing is off."""
    from opentelemetry import trace

    if _truthy("OTEL_SDK_DISABLED"):
        return False
    with _configured:
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return True  # the application configured its own (or we did, earlier): use it
        if not _asked_for():
            return False
        exporter_name = _exporter_name()
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
        except ImportError:
            raise ConfigError("OpenTelemetry is asked for (OTEL_* variables) but not installed: "
                              "pip install 'agentmesh[otel]'") from None
        resource = Resource.create({} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "agentmesh"})
        provider = TracerProvider(resource=resource)
        for name in [n.strip() for n in (exporter_name or "otlp").split(",") if n.strip()]:
            if name == "console":
                # written when each span ends, to stderr: a CLI's answer on stdout stays clean
                import sys

                provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
            elif name == "otlp":
                provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
            elif name != "none":
                raise ConfigError(f"OTEL_TRACES_EXPORTER={name!r}: agentmesh knows 'otlp', 'console' and 'none'")
        trace.set_tracer_provider(provider)
        return True


def _otlp_exporter() -> Any:
    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf").strip().lower()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ConfigError("OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs pip install opentelemetry-exporter-otlp-proto-grpc "
                              "(or use http/protobuf, the default)") from None
        return OTLPSpanExporter()
    if protocol not in ("http/protobuf", "http"):
        raise ConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: use http/protobuf (default) or grpc")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ConfigError("OTLP export needs pip install 'agentmesh[otel]'") from None
    return OTLPSpanExporter()


def telemetry_from_env(redact: Callable[[str], str] | None = None) -> "Telemetry | None":
    """The run tracer the environment asks for, or None (off: no span is made, nothing is paid)."""
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        if _asked_for():
            raise ConfigError("OpenTelemetry is asked for (OTEL_* variables) but not installed: "
                              "pip install 'agentmesh[otel]'") from None
        return None
    if not _configure_provider():
        return None
    return Telemetry(capture_content=_truthy(CAPTURE_CONTENT_ENV), redact=redact)


class Telemetry:
    """Makes the spans of runs; :meth:`run` wraps one run, :meth:`handler` follows its steps."""

    def __init__(self, *, capture_content: bool = False, redact: Callable[[str], str] | None = None,
                 tracer_provider: Any = None) -> None:
        from opentelemetry import trace

        self.provider = tracer_provider  # None: the global one
        self.tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        self.capture_content = capture_content
        self._redact = redact or (lambda text: text)

    def instrument_app(self, app: Any) -> None:
        """The server's HTTP spans (FastAPI instrumentation), parents of the runs they serve."""
        try:
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        except ImportError:
            raise ConfigError("tracing the server needs pip install 'agentmesh[otel]' "
                              "(opentelemetry-instrumentation-fastapi)") from None
        FastAPIInstrumentor.instrument_app(app, tracer_provider=self.provider, excluded_urls="healthz,metrics")

    def content(self, value: Any) -> str:
        """``value`` as recorded content: JSON, secrets scrubbed, cut to a bounded size."""
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        text = self._redact(text)
        return text if len(text) <= _MAX_CONTENT else text[:_MAX_CONTENT] + "...[cut]"

    @contextmanager
    def run(self, *, thread_id: str, run_id: str, model: str, question: str | None = None) -> Iterator[Any]:
        """The span of one run (a child of the caller's current span, e.g. the server's HTTP span)."""
        from opentelemetry.trace import SpanKind

        attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "agentmesh",
                      "gen_ai.request.model": model, "gen_ai.conversation.id": thread_id,
                      "agentmesh.thread_id": thread_id, "agentmesh.run_id": run_id}
        if self.capture_content and question is not None:
            attributes["gen_ai.input.messages"] = self.content([{"role": "user", "parts": [{"type": "text", "content": question}]}])
        with self.tracer.start_as_current_span("invoke_agent agentmesh", kind=SpanKind.INTERNAL, attributes=attributes,
                                               record_exception=True, set_status_on_exception=True) as span:
            yield span

    def finish(self, span: Any, result: Any) -> None:
        """The run's outcome on its span (an AgentResult)."""
        attrs = {
            "agentmesh.stop_reason": result.stop_reason,
            "agentmesh.cache.hit": result.cached is not None,
            "agentmesh.citations": len(result.citations),
            "agentmesh.claims.supported": sum(1 for c in result.claims if c.supported),
            "agentmesh.claims.unsupported": sum(1 for c in result.claims if not c.supported),
            "agentmesh.steps": result.steps,
            "gen_ai.response.model": result.model,
            "gen_ai.usage.input_tokens": int(result.usage.get("input_tokens", 0)),
            "gen_ai.usage.output_tokens": int(result.usage.get("output_tokens", 0)),
        }
        reasons = [c.get("reason") for c in result.model_calls if c.get("reason")]
        if reasons:
            attrs["agentmesh.route.reason"] = reasons[-1]
        if result.pending:
            attrs["agentmesh.approval.pending"] = len(result.pending)
        if self.capture_content and result.answer:
            attrs["gen_ai.output.messages"] = self.content([{"role": "assistant", "parts": [{"type": "text", "content": result.answer}]}])
        span.set_attributes(attrs)

    def handler(self) -> "_SpanHandler":
        """A LangChain callback handler making the step, model and tool spans of one run, under the current span."""
        from opentelemetry import context, trace

        return _SpanHandler(self, trace.set_span_in_context(trace.get_current_span(), context.get_current()))


class _SpanHandler(BaseCallbackHandler):
    """LangChain's callbacks (fired by LangGraph for each node, model and tool) as spans. Spans are
    started with an explicit parent, never made current: tools run on worker threads."""

    run_inline = True  # called in the thread of the event, in order

    def __init__(self, telemetry: Telemetry, root: Any) -> None:
        self.t = telemetry
        self._root = root
        self._spans: dict[UUID, Any] = {}
        self._parents: dict[UUID, Any] = {}  # a run without a span of its own: its nearest ancestor's context
        self._lock = threading.Lock()

    def _parent(self, parent_run_id: UUID | None) -> Any:
        from opentelemetry import trace

        with self._lock:
            if parent_run_id is None:
                return self._root
            if parent_run_id in self._spans:
                return trace.set_span_in_context(self._spans[parent_run_id], self._root)
            return self._parents.get(parent_run_id, self._root)

    def _start(self, run_id: UUID, parent_run_id: UUID | None, name: str, attributes: dict[str, Any]) -> Any:
        span = self.t.tracer.start_span(name, context=self._parent(parent_run_id), attributes=attributes)
        with self._lock:
            self._spans[run_id] = span
        return span

    def _pass_through(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        parent = self._parent(parent_run_id)
        with self._lock:
            self._parents[run_id] = parent

    def _end(self, run_id: UUID, error: BaseException | None = None, attributes: dict[str, Any] | None = None) -> None:
        from opentelemetry.trace import Status, StatusCode

        with self._lock:
            span = self._spans.pop(run_id, None)
            self._parents.pop(run_id, None)
        if span is None:
            return
        if attributes:
            span.set_attributes(attributes)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.set_attribute("error.type", type(error).__name__)
        span.end()

    # -- graph steps ------------------------------------------------------------------------------
    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None,
                       metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        node = (metadata or {}).get("langgraph_node")
        if node and kwargs.get("name") == node:  # a node of the graph, not its inner runnables
            self._start(run_id, parent_run_id, f"step {node}",
                        {"agentmesh.step": node, "langgraph.step": int((metadata or {}).get("langgraph_step", 0))})
        else:
            self._pass_through(run_id, parent_run_id)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        from langgraph.errors import GraphBubbleUp

        self._end(run_id, None if isinstance(error, GraphBubbleUp) else error)  # an approval interrupt is no error

    # -- model calls ------------------------------------------------------------------------------
    def on_chat_model_start(self, serialized: Any, messages: list[list[Any]], *, run_id: UUID,
                            parent_run_id: UUID | None = None, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        meta = metadata or {}
        params = kwargs.get("invocation_params") or {}
        model = str(meta.get("ls_model_name") or params.get("model") or params.get("model_name") or "unknown")
        attributes: dict[str, Any] = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                                      "gen_ai.provider.name": str(meta.get("ls_provider") or "unknown")}
        for key, name in (("ls_temperature", "gen_ai.request.temperature"), ("ls_max_tokens", "gen_ai.request.max_tokens")):
            if meta.get(key) is not None:
                attributes[name] = meta[key]
        if self.t.capture_content and messages:
            attributes["gen_ai.input.messages"] = self.t.content(
                [{"role": _role(m), "parts": [{"type": "text", "content": _text(m)}]} for m in messages[0]])
        self._start(run_id, parent_run_id, f"chat {model}", attributes)

    def on_llm_start(self, serialized: Any, prompts: list[str], *, run_id: UUID, parent_run_id: UUID | None = None,
                     **kwargs: Any) -> None:
        self._pass_through(run_id, parent_run_id)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        attributes: dict[str, Any] = {}
        generation = response.generations[0][0] if response.generations and response.generations[0] else None
        message = getattr(generation, "message", None)
        if message is not None:
            usage = getattr(message, "usage_metadata", None) or {}
            if usage:
                attributes["gen_ai.usage.input_tokens"] = int(usage.get("input_tokens", 0))
                attributes["gen_ai.usage.output_tokens"] = int(usage.get("output_tokens", 0))
            meta = getattr(message, "response_metadata", None) or {}
            if meta.get("model_name"):
                attributes["gen_ai.response.model"] = str(meta["model_name"])
            if meta.get("finish_reason"):
                attributes["gen_ai.response.finish_reasons"] = [str(meta["finish_reason"])]
            if meta.get("route_reason"):
                attributes["agentmesh.route.reason"] = str(meta["route_reason"])
            calls = getattr(message, "tool_calls", None) or []
            if calls:
                attributes["agentmesh.tool_calls"] = [c["name"] for c in calls]
            if self.t.capture_content:
                attributes["gen_ai.output.messages"] = self.t.content(
                    [{"role": "assistant", "parts": [{"type": "text", "content": _text(message)}]
                      + [{"type": "tool_call", "name": c["name"], "arguments": c["args"]} for c in calls]}])
        self._end(run_id, attributes=attributes)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # -- tool calls -------------------------------------------------------------------------------
    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, parent_run_id: UUID | None = None,
                      inputs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        name = str(kwargs.get("name") or (serialized or {}).get("name") or "tool")
        attributes: dict[str, Any] = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                                      "gen_ai.tool.type": "function"}
        if kwargs.get("tool_call_id"):
            attributes["gen_ai.tool.call.id"] = str(kwargs["tool_call_id"])
        if self.t.capture_content:
            attributes["gen_ai.tool.call.arguments"] = self.t.content(inputs if inputs is not None else input_str)
        self._start(run_id, parent_run_id, f"execute_tool {name}", attributes)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        attributes: dict[str, Any] = {}
        if self.t.capture_content:
            attributes["gen_ai.tool.call.result"] = self.t.content(getattr(output, "content", output))
        failed = getattr(output, "status", None) == "error"
        self._end(run_id, RuntimeError("tool error") if failed else None, attributes)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)


def _role(message: Any) -> str:
    return {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}.get(getattr(message, "type", ""), "user")


def _text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, list):
        return " ".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)
