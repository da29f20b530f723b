"""`agentmesh serve`: the official OpenAI client against a real socket, auth, threads, approvals, metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from openai import AuthenticationError, OpenAI
from typer.testing import CliRunner

from agentmesh import Agent, Settings
from agentmesh.apps.server import BackgroundServer, check_bind, create_app
from agentmesh.errors import ConfigError
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

ANSWER = "Claude 2.1 reads 200000 tokens."
TOKEN = "s3cret-token"


def make_agent(tmp_path, example_kg, responses, tools=None, **settings):
    s = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=tools or ["kg_search"], cache=False, **settings)
    model = FakeToolChatModel(responses=responses, stream_words=True)
    return Agent(s, model=model, embeddings=HashingEmbeddings())


USAGE = {"input_tokens": 120, "output_tokens": 9, "total_tokens": 129}


@pytest.fixture
def served(tmp_path, example_kg):
    agent = make_agent(tmp_path, example_kg, [AIMessage(ANSWER, usage_metadata=USAGE)])
    with BackgroundServer(create_app(agent, token=TOKEN)) as server:
        yield server, agent


def client(server, key=TOKEN) -> OpenAI:
    return OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def test_the_openai_client_gets_a_whole_answer_with_citations(served):
    server, _ = served
    reply = client(server).chat.completions.create(model="agentmesh", messages=[{"role": "user", "content": "Context window of Claude 2.1?"}])

    assert reply.choices[0].message.content == ANSWER
    assert reply.choices[0].finish_reason == "stop"
    extra = reply.model_extra["agentmesh"]
    assert any(c["ref"].endswith("/Claude-2.1") for c in extra["citations"])
    assert extra["run_id"] and extra["stop_reason"] == "answered"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (120, 9, 129)


def test_the_openai_client_gets_a_streamed_answer_piece_by_piece(served):
    server, _ = served
    stream = client(server).chat.completions.create(
        model="agentmesh", stream=True, messages=[{"role": "user", "content": "Context window of Claude 2.1?"}],
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0  # the usage chunk, as OpenAI sends it
    chunks = chunks[:-1]

    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) == len(ANSWER.split())  # word by word, as the model wrote it
    assert "".join(pieces) == ANSWER
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert any(c["ref"].endswith("/Claude-2.1") for c in chunks[-1].model_extra["agentmesh"]["citations"])


def test_without_the_token_every_api_call_gets_401_but_health_does_not(served):
    server, _ = served
    with pytest.raises(AuthenticationError):
        client(server, key="wrong").chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}])
    assert httpx.post(server.url + "/v1/chat/completions", json={"messages": []}).status_code == 401
    assert httpx.get(server.url + "/metrics").status_code == 401
    assert httpx.get(server.url + "/api/threads").status_code == 401
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


def test_the_user_field_or_header_keeps_a_thread(served):
    server, agent = served
    c = client(server)
    c.chat.completions.create(model="x", user="alice", messages=[{"role": "user", "content": "Context window of Claude 2.1?"}])
    c.chat.completions.create(model="x", user="alice", messages=[{"role": "user", "content": "And Claude 2?"}])
    raw = c.chat.completions.with_raw_response.create(
        model="x", messages=[{"role": "user", "content": "Hello"}], extra_headers={"X-Thread-Id": "bob"}
    )
    assert raw.headers["x-thread-id"] == "bob"
    questions = [m.text for m in agent.history("alice") if m.type == "human"]
    assert questions == ["Context window of Claude 2.1?", "And Claude 2?"]
    assert [m.text for m in agent.history("bob") if m.type == "human"] == ["Hello"]


def test_models_health_and_metrics(served):
    server, agent = served
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert [m.id for m in client(server).models.list()] == [agent.model_name]
    client(server).chat.completions.create(model="x", messages=[{"role": "user", "content": "Claude 2.1?"}])
    text = httpx.get(server.url + "/metrics", headers=auth).text
    assert 'agentmesh_http_requests_total{path="/v1/chat/completions",status="200"} 1.0' in text
    assert 'agentmesh_answers_total{stop_reason="answered"} 1.0' in text


def test_requests_on_different_threads_run_at_the_same_time(tmp_path, example_kg):
    barrier = threading.Barrier(2, timeout=10)  # passes only if both runs are in flight at once

    @tool
    def wait_for_the_other() -> str:
        """Wait until another request is running too."""
        barrier.wait()
        return "both running"

    # both first model calls happen before either second one: the tool holds each run until both arrive
    script = [tool_call("wait_for_the_other"), tool_call("wait_for_the_other"), AIMessage("done"), AIMessage("done")]
    agent = make_agent(tmp_path, example_kg, script, tools=[])
    agent = Agent(agent.settings, model=agent.model, embeddings=HashingEmbeddings(), tools=[wait_for_the_other])
    with BackgroundServer(create_app(agent)) as server:
        results = []

        def ask(user: str) -> None:
            reply = OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0).chat.completions.create(
                model="x", user=user, messages=[{"role": "user", "content": "go"}])
            results.append(reply.model_extra["agentmesh"]["tool_calls"][0]["output"])

        workers = [threading.Thread(target=ask, args=(u,)) for u in ("a", "b")]
        for w in workers:
            w.start()
        for w in workers:
            w.join(20)
    assert results == ["both running", "both running"]


def test_a_dangerous_call_waits_for_approve_in_the_same_thread(tmp_path, example_kg):
    responses = [tool_call("python", "p1", code="print(2 ** 10)"), AIMessage("It is 1024.")]
    agent = make_agent(tmp_path, example_kg, responses, tools=["python"])
    with BackgroundServer(create_app(agent)) as server:
        c = OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
        first = c.chat.completions.create(model="x", user="t", messages=[{"role": "user", "content": "2^10?"}])
        assert "Approval needed" in first.choices[0].message.content
        assert first.model_extra["agentmesh"]["pending"][0]["name"] == "python"
        other = httpx.post(server.url + "/v1/chat/completions", json={"user": "t", "messages": [{"role": "user", "content": "hm?"}]})
        assert other.status_code == 409 and "approve" in other.json()["detail"]
        done = c.chat.completions.create(model="x", user="t", messages=[{"role": "user", "content": "approve"}])
    assert done.choices[0].message.content == "It is 1024."
    assert done.model_extra["agentmesh"]["tool_calls"][0]["output"].strip() == "1024"


def test_bad_requests_are_clear(served):
    server, _ = served
    auth = {"Authorization": f"Bearer {TOKEN}"}
    empty = httpx.post(server.url + "/v1/chat/completions", headers=auth, json={"messages": [{"role": "system", "content": "x"}]})
    assert empty.status_code == 400 and "no user message" in empty.json()["detail"]
    assert httpx.post(server.url + "/v1/chat/completions", headers=auth, content=b"{not json").status_code == 422
    huge = httpx.post(server.url + "/v1/chat/completions", headers=auth,
                      json={"messages": [{"role": "user", "content": "x" * 100_001}]})
    assert huge.status_code == 413 and "at most 100,000" in huge.json()["detail"]
    assert httpx.post(server.url + "/api/chat", headers=auth, json={"message": "y" * 100_001}).status_code == 413


def test_it_refuses_to_listen_beyond_localhost_without_a_token(monkeypatch):
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "token")
    with pytest.raises(ConfigError, match="without a token"):
        check_bind("0.0.0.0", None)
    from agentmesh.apps import cli

    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(cli.app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "refusing to listen on 0.0.0.0 without a token" in result.output


def test_without_a_thread_the_conversation_in_the_request_is_the_history(served):
    server, agent = served
    raw = client(server).chat.completions.with_raw_response.create(model="x", messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who develops Claude 2.1?"},
        {"role": "assistant", "content": "Anthropic."},
        {"role": "user", "content": "What is its context window?"},
    ])
    thread = raw.headers["x-thread-id"]
    turns = [(m.type, m.text) for m in agent.history(thread) if m.type in ("human", "ai")]
    assert turns[:3] == [("human", "Who develops Claude 2.1?"), ("ai", "Anthropic."), ("human", "What is its context window?")]
    # and the follow-up was grounded together with the question it refers back to
    assert any("Claude-2.1" in str(c) for c in raw.parse().model_extra["agentmesh"]["citations"])


def test_a_private_request_is_marked_private_in_its_thread(served):
    server, agent = served
    client(server).chat.completions.create(model="x", user="secret", messages=[{"role": "user", "content": "Claude 2.1?"}],
                                           extra_headers={"X-Agentmesh-Private": "true"})
    state = agent.graph.get_state({"configurable": {"thread_id": "secret"}}).values
    assert state["run"]["private"] is True  # kept in the thread's state for its later turns
    first = next(m for m in state["messages"] if m.type == "human")
    assert first.additional_kwargs == {}  # the run's context never rides inside a message


@contextmanager
def agentmesh_serve(tmp_path, args, env_extra, timeout=90):
    """`agentmesh serve` in its own process group on a free port; yields the base URL and a list
    that holds the command's output once it has stopped."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AGENTMESH_HOME": str(tmp_path / "home"), "AGENTMESH_EMBEDDINGS": "hashing", **env_extra}
    proc = subprocess.Popen([sys.executable, "-m", "agentmesh.apps.cli", "serve", "--port", str(port), *args],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output: list[str] = []
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "agentmesh serve did not start"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", output
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the whole group: --workers starts children
        output.append(proc.communicate(timeout=30)[0])


def test_agentmesh_serve_from_the_command_line_end_to_end(tmp_path, example_kg):
    """The real command: `agentmesh serve` in its own process, its model a fake OpenAI-compatible
    server, the official client in front."""
    from agentmesh.models.testing import FakeOpenAIServer

    with FakeOpenAIServer([{"content": "Claude 2.1 reads 200000 tokens."}]) as model_server:
        args = ["--kg", str(example_kg), "--model", "local:fake-model", "--base-url", model_server.base_url]
        with agentmesh_serve(tmp_path, args, {"AGENTMESH_SERVER_TOKEN": TOKEN, "AGENTMESH_TOOLS": "kg_search"}) as (url, output):
            c = OpenAI(base_url=f"{url}/v1", api_key=TOKEN, max_retries=0)
            reply = c.chat.completions.create(model="agentmesh", messages=[{"role": "user", "content": "Context window of Claude 2.1?"}])
            streamed = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
                model="agentmesh", stream=True, messages=[{"role": "user", "content": "Context window of Claude 2.1?"}]) if ch.choices)
    assert reply.choices[0].message.content == "Claude 2.1 reads 200000 tokens."
    assert streamed == "Claude 2.1 reads 200000 tokens."
    assert "token required" in output[0] and TOKEN not in output[0]  # the token itself is never printed


def test_serve_with_two_workers_keeps_each_thread_in_order(tmp_path, example_kg):
    """Two worker processes behind one port: concurrent turns on one thread run one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from agentmesh.models.testing import FakeOpenAIServer

    # a slow model: overlapping turns on one thread would interleave if nothing serialized them
    with FakeOpenAIServer([{"content": "An answer.", "delay": 0.3}]) as model_server:
        args = ["--workers", "2", "--kg", str(example_kg), "--model", "local:fake-model", "--base-url", model_server.base_url]
        with agentmesh_serve(tmp_path, args, {"AGENTMESH_TOOLS": "kg_search", "AGENTMESH_CACHE": "false"}) as (url, _):
            c = OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=60)

            def ask(i: int) -> str:
                return c.chat.completions.create(model="x", user="shared", messages=[{"role": "user", "content": f"Question {i}?"}]
                                                 ).choices[0].message.content

            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(ask, range(6)))
    assert answers == ["An answer."] * 6
    agent = Agent(Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False),
                  model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings())
    kinds = [m.type for m in agent.history("shared") if m.type in ("human", "ai")]
    assert kinds == ["human", "ai"] * 6  # each turn whole, none interleaved with another


def test_the_agentmesh_field_carries_the_answers_claims(tmp_path, example_kg):
    agent = make_agent(tmp_path, example_kg, [AIMessage("Claude 2.1 reads 200000 words, says Amazon.")])
    with BackgroundServer(create_app(agent, token=TOKEN)) as server:
        reply = client(server).chat.completions.create(
            model="agentmesh", messages=[{"role": "user", "content": "Context window of Claude 2.1?"}])
    claims = reply.model_extra["agentmesh"]["claims"]
    unsupported = {c["text"] for c in claims if c["status"] == "unsupported"}
    assert {"Amazon", "200000 (words)"} <= unsupported
    assert any(c["status"] == "supported" and c["text"] == "Claude 2.1" for c in claims)


def test_the_authenticated_user_reaches_the_model_call_in_the_run_context(tmp_path, example_kg):
    """The run's context (thread, run, user) comes to a model in its call's metadata, never in a message."""
    seen = []

    class Recording(FakeToolChatModel):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            seen.append(dict(run_manager.metadata) if run_manager else {})
            return super()._generate(messages, stop, run_manager, **kwargs)

    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=["kg_search"], cache=False,
                             server_tokens={"alice": "alice-token-0123456789"})
    agent = Agent(settings, model=Recording(responses=[AIMessage("Anthropic.")]), embeddings=HashingEmbeddings())
    with BackgroundServer(create_app(agent)) as server:
        reply = client(server, key="alice-token-0123456789").chat.completions.create(
            model="x", user="t1", messages=[{"role": "user", "content": "Who develops Claude 2.1?"}])
    assert reply.choices[0].message.content == "Anthropic."
    meta = seen[-1]
    assert meta["agentmesh_user"] == "alice" and meta["agentmesh_thread_id"] == "user:alice/t1"
    assert meta["agentmesh_run_id"] == reply.model_extra["agentmesh"]["run_id"]
