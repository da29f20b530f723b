"""agentmesh as an MCP client: a real MCP server process (tests/data/mcp_fixture_server.py), on
stdio and on streamable HTTP, its tools called by the fake model through the whole agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

pytest.importorskip("mcp", reason="the MCP SDK is in the dev extra: pip install -e '.[dev]'")

from agentmesh import Agent, Settings  # noqa: E402
from agentmesh.errors import ConfigError  # noqa: E402
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call  # noqa: E402
from agentmesh.records import Citation  # noqa: E402
from agentmesh.tools.mcp import McpClients, McpServerError  # noqa: E402
from _net import free_port, wait_listening  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "mcp_fixture_server.py"
TOKEN = "fixture-token-0123456789"


def stdio(**options) -> dict:
    return {"command": sys.executable, "args": [str(FIXTURE)], **options}


def agent(tmp_path, servers: dict, responses: list, **settings) -> Agent:
    s = Settings.load(home=tmp_path / "home", tools=[], cache=False, mcp_servers=servers, **settings)
    return Agent(s, model=FakeToolChatModel(responses=responses), embeddings=HashingEmbeddings())


@pytest.fixture
def http_server(tmp_path):
    """The fixture server on streamable HTTP at 127.0.0.1, requiring a bearer token."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(FIXTURE), "--http", str(port), "--token", TOKEN],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_listening(port, proc, "the fixture MCP server", timeout=30)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(10)


def test_a_stdio_servers_tool_result_reaches_the_answer_and_its_citation(tmp_path):
    with agent(tmp_path, {"atlas": stdio(tools=["capital", "add"])},
               [tool_call("atlas_capital", "c1", country="Freedonia"), AIMessage("The capital of Freedonia is Fredville.")]) as a:
        assert sorted(t.name for t in a.tools) == ["atlas_add", "atlas_capital"]  # prefixed, and only those asked for
        result = a.run("What is the capital of Freedonia?")
    assert result.answer == "The capital of Freedonia is Fredville."
    (call,) = result.tool_calls
    assert call.ok and call.output == "The capital of Freedonia is Fredville."
    assert Citation(kind="mcp", ref="mcp://atlas/capital", detail='{"country": "Freedonia"}') in result.citations
    assert result.supported  # the claim check found "Fredville" in the MCP tool's output


def test_a_streamable_http_server_with_a_bearer_token(tmp_path, http_server):
    servers = {"remote": {"url": http_server, "bearer_token": TOKEN}}
    with agent(tmp_path, servers, [tool_call("remote_capital", "c1", country="Sylvania"), AIMessage("Sylvan City.")]) as a:
        result = a.run("Capital of Sylvania?")
    assert result.tool_calls[0].output == "The capital of Sylvania is Sylvan City."
    assert result.citations[0].ref == "mcp://remote/capital"


def test_a_wrong_token_is_an_error_naming_the_server(tmp_path, http_server):
    with pytest.raises(McpServerError, match="MCP server 'remote' could not start .*url http://127.0.0.1"):
        McpClients(Settings.load(mcp_servers={"remote": {"url": http_server, "bearer_token": "wrong"}}).mcp_servers).tools()


def test_a_server_that_dies_mid_call_is_a_tool_error_and_the_run_finishes(tmp_path):
    with agent(tmp_path, {"atlas": stdio()}, [tool_call("atlas_crash", "c1"), tool_call("atlas_capital", "c2", country="Freedonia"),
                                              AIMessage("The capital of Freedonia is Fredville.")], top_k_tools=10) as a:
        result = a.run("Capital of Freedonia?")
    crash, again = result.tool_calls
    assert not crash.ok and "MCP server 'atlas' closed the connection during 'crash'" in crash.output
    assert again.ok and "Fredville" in again.output  # started again for the next call
    assert result.stop_reason == "answered" and result.answer == "The capital of Freedonia is Fredville."


def test_a_call_slower_than_the_timeout_is_a_tool_error_naming_the_server(tmp_path):
    with agent(tmp_path, {"atlas": stdio(timeout=1)}, [tool_call("atlas_sleep", "c1", seconds=30), AIMessage("Too slow.")],
               top_k_tools=10) as a:
        started = time.monotonic()
        result = a.run("Wake me")
    assert time.monotonic() - started < 20
    assert "MCP server 'atlas' did not answer 'sleep' within 1 s" in result.tool_calls[0].output


def test_an_error_result_is_a_tool_error_the_model_sees(tmp_path):
    with agent(tmp_path, {"atlas": stdio(tools=["fail"])}, [tool_call("atlas_fail", "c1", reason="no disk"), AIMessage("It failed.")]) as a:
        result = a.run("Try it")
    assert not result.tool_calls[0].ok and "fixture failure: no disk" in result.tool_calls[0].output


def test_a_tool_not_declared_read_only_asks_first(tmp_path):
    """'add' has no readOnlyHint, so it asks; 'capital' says it is read-only, so it runs."""
    with agent(tmp_path, {"atlas": stdio(tools=["capital", "add"])}, [tool_call("atlas_add", "c1", a=2, b=3), AIMessage("5")]) as a:
        result = a.run("2+3?")
        assert result.pending == [{"id": "c1", "name": "atlas_add", "args": {"a": 2, "b": 3}}]
        assert a.resume(result.thread_id, "approve").tool_calls[0].output == "5.0"


@pytest.mark.parametrize(("options", "asks"), [
    ({"dangerous": True}, {"capital": True, "add": True}),
    ({"dangerous": False}, {"capital": False, "add": False}),
    ({"safe_tools": ["add"]}, {"capital": False, "add": False}),
    ({"dangerous_tools": ["capital"]}, {"capital": True, "add": True}),
])
def test_approval_rules_per_server_and_per_tool(options, asks):
    with McpClients(Settings.load(mcp_servers={"atlas": stdio(tools=["capital", "add"], **options)}).mcp_servers) as clients:
        assert {t.tool: t.asks_first for t in clients.listing()} == asks


def test_agentmeshs_own_secrets_do_not_reach_the_server_process(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-mcp-servers")
    monkeypatch.setenv("AGENTMESH_SERVER_TOKEN", "server-token-0123456789")
    with McpClients(Settings.load(mcp_servers={"atlas": stdio(env={"ATLAS_KEY": "given-on-purpose"})}).mcp_servers) as clients:
        seen = next(t for t in clients.tools() if t.name == "atlas_whoami").invoke({})
    names = seen.split("env=")[1].split(",")
    assert "ATLAS_KEY" in names  # what the server's settings give it
    assert "OPENAI_API_KEY" not in names and "AGENTMESH_SERVER_TOKEN" not in names


def test_closing_the_agent_ends_the_server_process(tmp_path):
    a = agent(tmp_path, {"atlas": stdio(tools=["whoami"])}, [])
    pid = int(a.tools[0].invoke({}).split()[0].removeprefix("pid="))
    os.kill(pid, 0)  # running
    a.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail("the MCP server process outlived the agent")


def test_nothing_starts_until_the_tools_are_needed(tmp_path):
    """Settings naming a server that cannot start load fine; the error comes with the tools, naming the server."""
    settings = Settings.load(home=tmp_path / "home", mcp_servers={"ghost": {"command": str(tmp_path / "no-such-program")}})
    clients = McpClients(settings.mcp_servers)
    with pytest.raises(McpServerError, match="MCP server 'ghost' could not start .*no-such-program"):
        clients.tools()
    clients.close()


def test_a_server_that_exits_at_start_shows_the_end_of_its_log(tmp_path):
    servers = {"broken": {"command": sys.executable, "args": ["-c", "import sys; print('missing config file x.yaml', file=sys.stderr)"]}}
    with pytest.raises(McpServerError, match="(?s)MCP server 'broken' could not start.*missing config file x.yaml"):
        McpClients(Settings.load(mcp_servers=servers).mcp_servers, log_dir=tmp_path).tools()


@pytest.mark.parametrize(("server", "message"), [
    ({"command": "x", "url": "http://127.0.0.1:1/mcp"}, "exactly one of 'command'"),
    ({}, "exactly one of 'command'"),
    ({"url": "ftp://example.org"}, "not an http"),
    ({"command": "x", "comand": "typo"}, "comand"),
])
def test_a_bad_server_entry_is_a_config_error_naming_it(server, message):
    with pytest.raises(ConfigError, match=f"mcp_servers.s.*{message}"):
        Settings.load(mcp_servers={"s": server})


def test_a_tools_filter_naming_a_missing_tool_is_an_error():
    with McpClients(Settings.load(mcp_servers={"atlas": stdio(tools=["capitol"])}).mcp_servers) as clients:
        with pytest.raises(ConfigError, match="mcp_servers.atlas.tools names capitol.*it offers: add, capital"):
            clients.tools()


def test_a_secret_of_the_servers_settings_is_scrubbed_from_what_it_returns(tmp_path):
    """A server given a key in its settings that echoes it back: the key never reaches the thread."""
    with agent(tmp_path, {"atlas": stdio(tools=["env_value"], env={"ATLAS_KEY": "atlas-secret-value"})},
               [tool_call("atlas_env_value", "c1", variable="ATLAS_KEY"), AIMessage("Done.")]) as a:
        result = a.run("Show the key")
        stored = json.dumps([m.content for m in a.graph.get_state({"configurable": {"thread_id": result.thread_id}}).values["messages"]])
    assert result.tool_calls[0].output.startswith("ATLAS_KEY=") and "atlas-secret-value" not in result.tool_calls[0].output
    assert "atlas-secret-value" not in stored


def test_mcp_list_shows_servers_and_tools(tmp_path):
    from typer.testing import CliRunner

    from agentmesh.apps.cli import app

    config = tmp_path / "agentmesh.toml"
    config.write_text(f"[mcp_servers.atlas]\ncommand = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(FIXTURE))}]\n"
                      'tools = ["capital", "add"]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["mcp", "list", "-c", str(config)], env={"AGENTMESH_HOME": str(tmp_path / "h"), "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "atlas_capital" in result.output and "atlas_add" in result.output and "stdio" in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert "yes" in lines["atlas_add"] and "no" in lines["atlas_capital"].split("│")[3]


def test_mcp_list_without_servers_says_how_to_add_one(tmp_path):
    from typer.testing import CliRunner

    from agentmesh.apps.cli import app

    result = CliRunner().invoke(app, ["mcp", "list"], env={"AGENTMESH_HOME": str(tmp_path / "h")})
    assert result.exit_code == 1 and "mcp_servers" in result.output
