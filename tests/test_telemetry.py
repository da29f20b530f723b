"""OpenTelemetry: the spans of a run (GenAI semantic conventions), content only on opt-in and never
a secret, the standard OTEL_* configuration (OTLP to a fake collector on 127.0.0.1, console), and
the server's HTTP span as the parent of the run."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import StructuredTool

pytest.importorskip("opentelemetry.sdk", reason="OpenTelemetry is in the dev extra: pip install -e '.[dev]'")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import StatusCode  # noqa: E402

from agentmesh import Agent, Settings  # noqa: E402
from agentmesh.assembly import Components  # noqa: E402
from agentmesh.graphs.agent import redactor  # noqa: E402
from agentmesh.models.testing import FakeOpenAIServer, FakeToolChatModel, HashingEmbeddings, tool_call  # noqa: E402
from agentmesh.runs.telemetry import Telemetry, telemetry_from_env  # noqa: E402

SECRET = "sk-test-secret-0123456789"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def traced_agent(tmp_path, provider, responses, *, capture=False, tools=("kg_search",), example_kg=None, **settings):
    s = Settings.load(home=tmp_path / "home", kg=[example_kg] if example_kg else [], tools=list(tools), cache=False,
                      api_key=SECRET, **settings)
    telemetry = Telemetry(capture_content=capture, redact=redactor(s.secret_values()), tracer_provider=provider)
    parts = Components.from_settings(s, model=FakeToolChatModel(responses=responses), embeddings=HashingEmbeddings(),
                                     telemetry=telemetry)
    return Agent(components=parts)


def by_name(exporter):
    found = {}
    for span in exporter.get_finished_spans():
        found.setdefault(span.name, []).append(span)
    return found


def test_a_run_is_one_span_with_its_steps_model_calls_and_tool_calls_below(tmp_path, spans, example_kg):
    provider, exporter = spans
    agent = traced_agent(tmp_path, provider, [tool_call("kg_search", "c1", query="Claude 2.1"),
                                              AIMessage("Claude 2.1 reads 200000 tokens.")], example_kg=example_kg)
    result = agent.run("What is the context window of Claude 2.1?")
    found = by_name(exporter)
    (run,) = found["invoke_agent agentmesh"]
    assert run.parent is None
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["agentmesh.thread_id"] == result.thread_id == run.attributes["gen_ai.conversation.id"]
    assert run.attributes["agentmesh.run_id"] == result.run_id
    assert run.attributes["agentmesh.cache.hit"] is False
    assert run.attributes["agentmesh.citations"] == len(result.citations) >= 1
    assert run.attributes["agentmesh.claims.supported"] == len(result.claims) and run.attributes["agentmesh.claims.unsupported"] == 0
    assert run.attributes["agentmesh.stop_reason"] == "answered"
    steps = {s.attributes["agentmesh.step"] for name, group in found.items() if name.startswith("step ") for s in group}
    assert steps == {"act", "tools", "answer"}
    assert all(s.parent.span_id == run.context.span_id for name, group in found.items() if name.startswith("step ") for s in group)
    chats = found["chat fake-tool-model"]
    assert len(chats) == 2 and all(c.attributes["gen_ai.operation.name"] == "chat" for c in chats)
    assert chats[0].attributes["gen_ai.request.model"] == "fake-tool-model"
    act_ids = {s.context.span_id for s in found["step act"]}
    assert all(c.parent.span_id in act_ids for c in chats)  # a model call sits in its act step
    (tool,) = found["execute_tool kg_search"]
    assert tool.attributes["gen_ai.tool.name"] == "kg_search" and tool.attributes["gen_ai.tool.call.id"] == "c1"
    assert tool.parent.span_id == found["step tools"][0].context.span_id
    assert {s.context.trace_id for s in exporter.get_finished_spans()} == {run.context.trace_id}


def test_model_usage_is_recorded_on_the_model_call_span(tmp_path, spans):
    provider, exporter = spans
    answer = AIMessage("Hi.", usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
                       response_metadata={"model_name": "fake-tool-model", "route_reason": "cheapest adequate"})
    traced_agent(tmp_path, provider, [answer], tools=()).run("Hello?")
    (chat,) = by_name(exporter)["chat fake-tool-model"]
    assert chat.attributes["gen_ai.usage.input_tokens"] == 12 and chat.attributes["gen_ai.usage.output_tokens"] == 3
    assert chat.attributes["agentmesh.route.reason"] == "cheapest adequate"
    (run,) = by_name(exporter)["invoke_agent agentmesh"]
    assert run.attributes["gen_ai.usage.input_tokens"] == 12 and run.attributes["agentmesh.route.reason"] == "cheapest adequate"


def test_a_failing_tool_call_is_an_error_span(tmp_path, spans):
    provider, exporter = spans

    def broken(text: str) -> str:
        """Always fails."""
        raise RuntimeError("disk on fire")

    s = Settings.load(home=tmp_path / "home", tools=[], cache=False)
    telemetry = Telemetry(tracer_provider=provider)
    parts = Components.from_settings(s, model=FakeToolChatModel(responses=[tool_call("broken", "c1", text="x"), AIMessage("No.")]),
                                     embeddings=HashingEmbeddings(), telemetry=telemetry,
                                     extra_tools=[StructuredTool.from_function(broken)])
    Agent(components=parts).run("Try")
    (tool,) = by_name(exporter)["execute_tool broken"]
    assert tool.status.status_code == StatusCode.ERROR and tool.attributes["error.type"] == "RuntimeError"


def test_content_is_left_out_unless_asked_for(tmp_path, spans, example_kg):
    provider, exporter = spans
    agent = traced_agent(tmp_path, provider, [tool_call("kg_search", "c1", query="Claude 2.1"), AIMessage("200000 tokens.")],
                         example_kg=example_kg)
    agent.run("What is the context window of Claude 2.1?")
    recorded = json.dumps([dict(s.attributes) for s in exporter.get_finished_spans()])
    assert "Claude 2.1" not in recorded and "200000" not in recorded
    assert "gen_ai.input.messages" not in recorded and "gen_ai.tool.call.result" not in recorded


def test_content_when_asked_for_never_holds_a_secret(tmp_path, spans, example_kg):
    provider, exporter = spans
    agent = traced_agent(tmp_path, provider, [tool_call("kg_search", "c1", query=f"Claude 2.1 {SECRET}"),
                                              AIMessage(f"200000 tokens. The key is {SECRET}.")],
                         capture=True, example_kg=example_kg)
    agent.run(f"What is the context window of Claude 2.1? My key is {SECRET}")
    found = by_name(exporter)
    recorded = json.dumps([dict(s.attributes) for s in exporter.get_finished_spans()])
    assert SECRET not in recorded
    assert "context window of Claude 2.1" in found["invoke_agent agentmesh"][0].attributes["gen_ai.input.messages"]
    assert "Claude 2.1" in found["execute_tool kg_search"][0].attributes["gen_ai.tool.call.result"]
    assert "gen_ai.output.messages" in found["chat fake-tool-model"][-1].attributes


def test_off_when_nothing_asks_for_it(monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert telemetry_from_env() is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert telemetry_from_env() is None


def test_an_agent_without_tracing_has_no_callback_in_its_runs(tmp_path):
    seen = []

    class Spy(FakeToolChatModel):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            seen.append([type(h).__name__ for h in (run_manager.handlers if run_manager else [])])
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    agent = Agent(Settings.load(home=tmp_path / "home", tools=[], cache=False), model=Spy(responses=[AIMessage("ok")]),
                  embeddings=HashingEmbeddings())
    assert agent.telemetry is None
    agent.run("hi")
    assert seen and "_SpanHandler" not in seen[0]


class _Collector(BaseHTTPRequestHandler):
    """A fake OTLP/HTTP collector: keeps each ExportTraceServiceRequest it is sent."""

    received: list = []

    def do_POST(self):  # noqa: N802
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).received.append((self.path, request))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


SERVER_TOKEN = "server-token-abcdef0123456789"


def _ask(tmp_path, example_kg, model_server, env, question="Context window of Claude 2.1?"):
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [sys.executable, "-m", "agentmesh.apps.cli", "ask", question, "--kg", str(example_kg),
         "--model", "local:fake-model", "--base-url", model_server.base_url],
        env={**base, "AGENTMESH_HOME": str(tmp_path / "home"), "AGENTMESH_EMBEDDINGS": "hashing", "AGENTMESH_TOOLS": "kg_search",
             "AGENTMESH_API_KEY": SECRET, "AGENTMESH_SERVER_TOKEN": SERVER_TOKEN, **env},
        capture_output=True, text=True, timeout=120)


def test_otlp_export_to_a_collector_configured_by_the_standard_variables(tmp_path, example_kg):
    _Collector.received = []
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    try:
        with FakeOpenAIServer([{"content": "Claude 2.1 reads 200000 tokens."}]) as model_server:
            # content on, and the question carries both secrets: neither may reach a span
            done = _ask(tmp_path, example_kg, model_server, {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
                "OTEL_SERVICE_NAME": "kb-bot", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"},
                question=f"Context window of Claude 2.1? (key {SECRET}, token {SERVER_TOKEN})")
    finally:
        collector.shutdown()
    assert done.returncode == 0, done.stderr
    assert _Collector.received, "no spans reached the collector"
    assert {path for path, _ in _Collector.received} == {"/v1/traces"}
    names, services, values = set(), set(), []
    for _, request in _Collector.received:
        for resource_spans in request.resource_spans:
            services |= {a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    names.add(span.name)
                    values += [str(a.value) for a in span.attributes]
    assert services == {"kb-bot"}
    assert {"invoke_agent agentmesh", "step act", "chat fake-model"} <= names
    assert any("Context window of Claude 2.1" in v for v in values)  # the content was recorded...
    assert not any(SECRET in v or SERVER_TOKEN in v for v in values)  # ...without the secrets


def test_console_export_goes_to_stderr_and_the_answer_stays_clean(tmp_path, example_kg):
    with FakeOpenAIServer([{"content": "Claude 2.1 reads 200000 tokens."}]) as model_server:
        done = _ask(tmp_path, example_kg, model_server, {"OTEL_TRACES_EXPORTER": "console"})
    assert done.returncode == 0, done.stderr
    assert '"name": "invoke_agent agentmesh"' in done.stderr and '"service.name": "agentmesh"' in done.stderr
    assert "invoke_agent" not in done.stdout and "Claude 2.1 reads 200000 tokens." in done.stdout


def test_an_unknown_exporter_is_a_clear_error(tmp_path, example_kg):
    with FakeOpenAIServer([{"content": "x"}]) as model_server:
        done = _ask(tmp_path, example_kg, model_server, {"OTEL_TRACES_EXPORTER": "zipkin"})
    assert done.returncode == 2 and "OTEL_TRACES_EXPORTER='zipkin'" in done.stderr


def test_the_servers_http_span_is_the_parent_of_the_run(tmp_path, spans):
    pytest.importorskip("opentelemetry.instrumentation.fastapi", reason="in the otel extra")
    import httpx

    from agentmesh.apps.server import BackgroundServer, create_app

    provider, exporter = spans
    agent = traced_agent(tmp_path, provider, [AIMessage("Hello there.")], tools=())
    with BackgroundServer(create_app(agent)) as server:
        reply = httpx.post(f"{server.url}/v1/chat/completions", json={"model": "agentmesh", "messages": [
            {"role": "user", "content": "hi"}]}, timeout=30)
    assert reply.status_code == 200
    finished = exporter.get_finished_spans()
    ids = {s.context.span_id: s for s in finished}
    (run,) = [s for s in finished if s.name == "invoke_agent agentmesh"]
    chain, parent = [], run.parent
    while parent is not None and parent.span_id in ids:
        chain.append(ids[parent.span_id])
        parent = ids[parent.span_id].parent
    assert chain and chain[-1].attributes.get("http.route") == "/v1/chat/completions"
    assert chain[-1].kind.name == "SERVER"
