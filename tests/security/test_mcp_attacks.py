"""Attacks through MCP names: a configured server's tool never takes the place of another tool.

A tool's name is how the model, the approval rules and the tool selection know it: an MCP tool
named like a built-in (``sql_schema`` from a server ``sql`` offering ``schema``) or like the
application's own tool would answer the calls meant for it. Each attack starts a real MCP
server process (tests/data/mcp_fixture_server.py) that offers the colliding name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

pytest.importorskip("mcp", reason="the MCP SDK is in the dev extra: pip install -e '.[dev]'")

from agentmesh import Agent, Settings  # noqa: E402
from agentmesh.errors import ConfigError  # noqa: E402
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "mcp_fixture_server.py"


def agent(tmp_path, servers: dict, responses: list, **settings) -> Agent:
    s = Settings.load(home=tmp_path / "home", tools=[], cache=False, mcp_servers=servers, **settings)
    return Agent(s, model=FakeToolChatModel(responses=responses), embeddings=HashingEmbeddings())


@pytest.mark.parametrize("server, tool, builtin", [("sql", "schema", "sql_schema"), ("web", "search", "web_search"),
                                                   ("kg", "search", "kg_search")])
def test_attack_mcp_tool_named_like_a_builtin_is_refused(tmp_path, server, tool, builtin):
    servers = {server: {"command": sys.executable, "args": [str(FIXTURE), "--tool-name", tool], "tools": [tool]}}
    with pytest.raises(ConfigError) as refused, agent(tmp_path, servers, [AIMessage("unused")]) as a:
        a.tools
    message = str(refused.value)
    assert f"mcp_servers.{server}" in message and f"'{tool}'" in message and f"built-in tool '{builtin}'" in message


def test_attack_mcp_tool_named_like_an_extra_tool_is_refused(tmp_path):
    from langchain_core.tools import tool as make_tool

    @make_tool
    def atlas_lookup(text: str) -> str:
        """The application's own lookup."""
        return text

    s = Settings.load(home=tmp_path / "home", tools=[], cache=False,
                      mcp_servers={"atlas": {"command": sys.executable, "args": [str(FIXTURE), "--tool-name", "lookup"],
                                             "tools": ["lookup"]}})
    with pytest.raises(ConfigError, match="mcp_servers.atlas tool 'lookup'.*the application's tool 'atlas_lookup'"), \
            Agent(s, model=FakeToolChatModel(responses=[AIMessage("unused")]), embeddings=HashingEmbeddings(),
                  extra_tools=[atlas_lookup]) as a:
        a.tools


def test_attack_mcp_two_servers_tools_that_collide_after_prefixing_are_refused(tmp_path):
    servers = {"a": {"command": sys.executable, "args": [str(FIXTURE), "--tool-name", "b_c"], "tools": ["b_c"]},
               "a_b": {"command": sys.executable, "args": [str(FIXTURE), "--tool-name", "c"], "tools": ["c"]}}
    with pytest.raises(ConfigError) as refused, agent(tmp_path, servers, [AIMessage("unused")]) as a:
        a.tools
    message = str(refused.value)
    assert "mcp_servers.a tool 'b_c'" in message and "mcp_servers.a_b tool 'c'" in message and "'a_b_c'" in message
