"""The OpenAI-compatible route (vLLM, Ollama, llama.cpp server, OpenAI) against a fake server on 127.0.0.1."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.errors import ModelUnavailableError, UnknownModelError
from agentmesh.models.providers import make_chat_model
from agentmesh.models.testing import FakeOpenAIServer, HashingEmbeddings


def test_tool_calls_from_the_server_are_parsed():
    script = [{"tool_calls": [{"name": "kg_search", "arguments": {"query": "Mixtral", "k": 2}}]}]
    with FakeOpenAIServer(script) as server:
        model = make_chat_model(Settings.load(model="local:fake-model", base_url=server.base_url))
        message = model.invoke([HumanMessage("find Mixtral")])

    assert message.tool_calls[0]["name"] == "kg_search"
    assert message.tool_calls[0]["args"] == {"query": "Mixtral", "k": 2}
    assert server.requests[0]["model"] == "fake-model"


def test_streamed_tool_calls_are_parsed():
    script = [{"tool_calls": [{"name": "sql", "arguments": {"query": "SELECT 1"}}]}]
    with FakeOpenAIServer(script) as server:
        model = make_chat_model(Settings.load(model="local:fake-model", base_url=server.base_url))
        chunks = list(model.stream([HumanMessage("one")]))

    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.tool_calls == [{"name": "sql", "args": {"query": "SELECT 1"}, "id": full.tool_calls[0]["id"], "type": "tool_call"}]


def test_agent_runs_tools_through_the_openai_route(example_db):
    script = [
        {"tool_calls": [{"name": "sql", "arguments": {"query": "SELECT COUNT(*) AS n FROM models"}}]},
        {"content": "There are 26 models."},
    ]
    with FakeOpenAIServer(script) as server:
        settings = Settings.load(model="local:fake-model", base_url=server.base_url, db=example_db, tools=["sql"])
        agent = Agent(settings, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
        result = agent.run("How many models?")

    assert result.answer == "There are 26 models."
    assert result.tool_calls[0].ok and result.tool_calls[0].output.splitlines() == ["n", "26"]
    # the second request carries the tool result back to the server, as OpenAI's protocol wants
    tool_turn = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert tool_turn[0]["content"] == "<data>\nn\n26\n</data>"  # marked as data for the model
    assert server.requests[0]["tools"][0]["function"]["name"] == "sql"


def test_openai_needs_a_key():
    with pytest.raises(ModelUnavailableError, match="OPENAI_API_KEY"):
        make_chat_model(Settings.load(model="openai:gpt-4o-mini"))


def test_openai_key_from_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = make_chat_model(Settings.load(model="openai:gpt-4o-mini"))
    assert model.model_name == "gpt-4o-mini"


def test_local_needs_a_base_url():
    with pytest.raises(ModelUnavailableError, match="base_url"):
        make_chat_model(Settings.load(model="local:llama3"))


def test_unknown_provider():
    with pytest.raises(UnknownModelError, match="unknown model 'mistral-7b'"):
        make_chat_model(Settings.load(model="mistral-7b"))


def test_json_tool_calling_for_a_server_without_native_tools(example_db):
    script = [
        {"content": '{"tool": "sql", "arguments": {"query": "SELECT COUNT(*) AS n FROM models"}}'},
        {"content": "There are 26 models."},
    ]
    with FakeOpenAIServer(script) as server:
        settings = Settings.load(
            model="local:fake-model", base_url=server.base_url, tool_calling="json", db=example_db, tools=["sql"]
        )
        agent = Agent(settings, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
        result = agent.run("How many models?")

    decide, answer = server.requests
    assert "tools" not in decide
    schema = decide["response_format"]["json_schema"]["schema"]
    assert {"answer": {"const": True}} in [o["properties"] for o in schema["anyOf"]]
    assert [o["properties"]["tool"] for o in schema["anyOf"][1:]] == [{"const": "sql"}]
    # the answer turn is plain text: results folded into the system message, the question last
    assert "response_format" not in answer and answer["messages"][-1] == {"role": "user", "content": "How many models?"}
    assert "Result of tool sql:\n<data>\nn\n26\n</data>" in answer["messages"][0]["content"]
    assert result.answer == "There are 26 models."
    assert [(c.name, c.ok) for c in result.tool_calls] == [("sql", True)]
