"""`agentmesh mcp serve` as its own process, driven by the official MCP SDK client, on stdio and on
streamable HTTP; the agent's model is a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest

pytest.importorskip("mcp", reason="the MCP SDK is in the dev extra: pip install -e '.[dev]'")

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared.exceptions import McpError  # noqa: E402

from agentmesh.models.testing import FakeOpenAIServer  # noqa: E402
from _net import free_port, wait_listening  # noqa: E402

ALICE, BOB = "alice-token-0123456789", "bob-token-0123456789ab"
CLAUDE = "https://example.org/llm/Claude-2.1"


def _env(tmp_path, example_kg, example_db, model_server, **extra) -> dict:
    return {**os.environ, "AGENTMESH_HOME": str(tmp_path / "home"), "AGENTMESH_EMBEDDINGS": "hashing",
            "AGENTMESH_KG": str(example_kg), "AGENTMESH_DB": str(example_db), "AGENTMESH_MODEL": "local:fake-model",
            "AGENTMESH_BASE_URL": model_server.base_url, "AGENTMESH_TOOLS": "kg_search,sql,python", **extra}


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def _stdio_session(env, body, *flags):
    params = StdioServerParameters(command=sys.executable, args=["-m", "agentmesh.apps.cli", "mcp", "serve", "--stdio", *flags],
                                   env=env)
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)


@pytest.fixture
def model_server():
    with FakeOpenAIServer([{"content": "Claude 2.1 reads 200000 tokens."}]) as server:
        yield server


def test_over_stdio_list_tools_search_read_a_node_and_ask(tmp_path, example_kg, example_db, model_server):
    async def body(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        found = await session.call_tool("kg_search", {"query": "Claude 2.1", "k": 2})
        node = await session.read_resource(f"agentmesh://node/{quote(CLAUDE, safe='')}")
        classes = await session.read_resource("agentmesh://classes")
        refused = await session.call_tool("sql", {"query": "DELETE FROM models"})
        asked = await session.call_tool("ask", {"question": "What is the context window of Claude 2.1?"})
        follow = await session.call_tool("ask", {"question": "And its developer?", "thread_id": asked.structuredContent["thread_id"]})
        return tools, found, node, classes, refused, asked, follow

    tools, found, node, classes, refused, asked, follow = run(_stdio_session(_env(tmp_path, example_kg, example_db, model_server), body))
    assert set(tools) == {"ask", "kg_search", "sparql", "sql", "sql_schema"}  # python is dangerous: not offered
    assert tools["kg_search"].annotations.readOnlyHint is True
    assert not found.isError and f"<{CLAUDE}> Claude 2.1" in found.content[0].text
    facts = json.loads(node.contents[0].text)
    assert facts["label"] == "Claude 2.1" and "context window (tokens): 200000" in facts["facts"]
    assert {"uri": "https://example.org/llm/Model", "label": "LLM"}.items() <= json.loads(classes.contents[0].text)[0].items()
    assert refused.isError and "read-only" in refused.content[0].text  # read-only, whatever sql_writes says
    result = asked.structuredContent
    assert not asked.isError and result["answer"] == "Claude 2.1 reads 200000 tokens."
    assert result["supported"] is True and CLAUDE in [c["ref"] for c in result["citations"]]
    assert any(c["text"].startswith("200000") and c["status"] == "supported" for c in result["claims"])
    assert follow.structuredContent["thread_id"] == result["thread_id"]
    # the follow-up reached the model with the first turn in its history
    last = model_server.requests[-1]["messages"]
    assert any("context window of Claude 2.1" in str(m.get("content")) for m in last)


def test_a_session_that_sets_its_log_level_gets_each_runs_summary(tmp_path, example_kg, example_db, model_server):
    received = []

    async def on_log(params):
        received.append((params.level, params.data))

    async def body():
        params = StdioServerParameters(command=sys.executable, args=["-m", "agentmesh.apps.cli", "mcp", "serve", "--stdio"],
                                       env=_env(tmp_path, example_kg, example_db, model_server))
        with open(os.devnull, "w") as quiet:
            async with stdio_client(params, errlog=quiet) as (read, write):
                async with ClientSession(read, write, logging_callback=on_log) as session:
                    await session.initialize()
                    await session.call_tool("ask", {"question": "Context window of Claude 2.1?"})
                    quiet_runs = len(received)  # before setLevel: warnings only, and this run had none
                    await session.set_logging_level("info")
                    await session.call_tool("ask", {"question": "Which licence does Mixtral have?"})
                    return quiet_runs

    assert run(body()) == 0
    # the fake model's answer is about Claude, not Mixtral: the check flags it, and the log says so
    assert [level for level, _ in received] == ["info", "warning"]
    assert "answered" in received[0][1] and "claims its evidence does not support" in received[1][1]


def test_a_subscribed_session_hears_when_a_run_changes_the_graph(tmp_path, example_kg, example_db):
    updated = []

    async def on_message(message):
        root = getattr(message, "root", None)
        if getattr(root, "method", "") == "notifications/resources/updated":
            updated.append(str(root.params.uri))

    script = [{"tool_calls": [{"name": "remember", "arguments": {"statement": "Our team's default model is Claude 2.1."}}]},
              {"content": "Noted."}]
    node = f"agentmesh://node/{quote(CLAUDE, safe='')}"
    with FakeOpenAIServer(script) as model_server:
        env = _env(tmp_path, example_kg, example_db, model_server, AGENTMESH_TOOLS="kg_search,remember")
        params = StdioServerParameters(command=sys.executable, args=["-m", "agentmesh.apps.cli", "mcp", "serve", "--stdio"], env=env)

        async def body():
            with open(os.devnull, "w") as quiet:
                async with stdio_client(params, errlog=quiet) as (read, write):
                    async with ClientSession(read, write, message_handler=on_message) as session:
                        init = await session.initialize()
                        assert init.capabilities.resources.subscribe is True
                        await session.subscribe_resource("agentmesh://classes")
                        await session.subscribe_resource(node)
                        with pytest.raises(McpError, match="no node"):
                            await session.subscribe_resource("agentmesh://node/nope")
                        await session.call_tool("ask", {"question": "Remember: our team's default model is Claude 2.1."})
                        await asyncio.sleep(0.5)
                        heard = list(updated)
                        await session.unsubscribe_resource(node)
                        model_server.script[:] = [  # another fact, now subscribed to the classes only
                            {"tool_calls": [{"name": "remember", "arguments": {"statement": "Our backup model is Mixtral."}}]},
                            {"content": "Noted."}]
                        await session.call_tool("ask", {"question": "Remember: our team's default model is Claude 2.1, again."})
                        await asyncio.sleep(0.5)
                        return heard

        heard = run(body())
    assert sorted(heard) == sorted(["agentmesh://classes", node])
    assert updated[len(heard):] == ["agentmesh://classes"]


def test_a_missing_node_is_an_error_naming_it(tmp_path, example_kg, example_db, model_server):
    async def body(session):
        with pytest.raises(McpError, match="no node <https://example.org/nope>"):
            await session.read_resource(f"agentmesh://node/{quote('https://example.org/nope', safe='')}")
        return True

    assert run(_stdio_session(_env(tmp_path, example_kg, example_db, model_server), body))


def test_allow_dangerous_offers_python(tmp_path, example_kg, example_db, model_server):
    async def body(session):
        return {t.name for t in (await session.list_tools()).tools}

    env = _env(tmp_path, example_kg, example_db, model_server)
    assert "python" in run(_stdio_session(env, body, "--allow-dangerous"))


@contextmanager
def mcp_http(tmp_path, env, timeout=60):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "agentmesh.apps.cli", "mcp", "serve", "--http", f"127.0.0.1:{port}"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        wait_listening(port, proc, "agentmesh mcp serve", timeout)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


async def _http_session(url, token, body):
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)


def test_over_http_a_token_is_required_and_each_user_has_their_own_threads(tmp_path, example_kg, example_db, model_server):
    env = _env(tmp_path, example_kg, example_db, model_server,
               AGENTMESH_SERVER_TOKENS=json.dumps({"alice": ALICE, "bob": BOB}))
    with mcp_http(tmp_path, env) as url:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        accept = {"Accept": "application/json, text/event-stream"}
        assert httpx.post(url, json=init, headers=accept).status_code == 401
        assert httpx.post(url, json=init, headers={**accept, "Authorization": "Bearer wrong"}).status_code == 401

        async def ask(session, question):
            return (await session.call_tool("ask", {"question": question, "thread_id": "shared-name"})).structuredContent

        async def alice(session):
            tools = {t.name for t in (await session.list_tools()).tools}
            found = await session.call_tool("kg_search", {"query": "Claude 2.1"})
            return tools, found, await ask(session, "Alice asks about Claude 2.1's context window")

        tools, found, first = run(_http_session(url, ALICE, alice))
        assert {"ask", "kg_search", "sql"} <= tools and "Claude 2.1" in found.content[0].text
        assert first["thread_id"] == "shared-name"
        second = run(_http_session(url, BOB, lambda s: ask(s, "Bob asks something else")))
    assert second["thread_id"] == "shared-name"
    bobs_request = model_server.requests[-1]["messages"]
    assert not any("Alice asks" in str(m.get("content")) for m in bobs_request)  # Bob's thread is his own


def test_without_a_token_only_loopback_is_served(tmp_path, example_kg, example_db, model_server):
    env = _env(tmp_path, example_kg, example_db, model_server)
    proc = subprocess.run([sys.executable, "-m", "agentmesh.apps.cli", "mcp", "serve", "--http", "0.0.0.0:1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "refusing to listen on 0.0.0.0 without a token" in proc.stderr


def test_without_a_token_a_foreign_host_header_is_refused(tmp_path, example_kg, example_db, model_server):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not reach the loopback server."""
    with mcp_http(tmp_path, _env(tmp_path, example_kg, example_db, model_server)) as url:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        assert httpx.post(url, json=init, headers={**accept, "Host": "evil.example"}).status_code in (403, 421)
        assert httpx.post(url, json=init, headers=accept).status_code == 200


def test_serve_needs_one_transport(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentmesh.apps.cli", "mcp", "serve"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "AGENTMESH_HOME": str(tmp_path)})
    assert proc.returncode == 2 and "give one of --stdio or --http" in proc.stderr


def test_an_extension_adds_its_own_tools_to_the_server(tmp_path, monkeypatch, example_kg):
    from mcp.shared.memory import create_connected_server_and_client_session

    from agentmesh import Settings
    from agentmesh.apps.mcp_server import build_mcp_server
    from agentmesh.errors import AgentmeshError

    (tmp_path / "team_tools.py").write_text(
        "def register(server):\n"
        "    @server.tool()\n"
        "    def on_call(team: str) -> str:\n"
        "        '''Who is on call for a team.'''\n"
        "        return f'{team}: Ada'\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], embeddings="hashing", tools=["kg_search"])
    server = build_mcp_server(settings, extensions=["team_tools:register"])

    async def body():
        async with create_connected_server_and_client_session(server._mcp_server) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            return names, await session.call_tool("on_call", {"team": "search"})

    names, called = run(body())
    assert {"ask", "kg_search", "on_call"} <= names and called.content[0].text == "search: Ada"
    for wrong, message in (("team_tools", "write it as module:function"), ("team_tools:nope", "cannot be loaded"),
                           ("no_such_module:f", "cannot be loaded")):
        with pytest.raises(AgentmeshError, match=f"MCP server extension '{wrong}'.*{message}"):
            build_mcp_server(settings, extensions=[wrong])
    server.agentmesh_parts.close()
