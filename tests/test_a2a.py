"""agentmesh serve as an A2A server, driven by the official a2a-sdk client over a real HTTP socket:
the public agent card, a grounded answer with its citations, a follow-up in the same context, and
the bearer token on the JSON-RPC endpoint."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from langchain_core.messages import AIMessage

pytest.importorskip("a2a.client", reason="the A2A SDK is in the dev extra: pip install -e '.[dev]'")

from a2a.client import ClientConfig, ClientFactory  # noqa: E402
from a2a.helpers.proto_helpers import new_text_message  # noqa: E402
from a2a.types import Role, SendMessageRequest  # noqa: E402
from google.protobuf.json_format import MessageToDict  # noqa: E402

from agentmesh import Agent, Settings  # noqa: E402
from agentmesh.apps.server import BackgroundServer, create_app  # noqa: E402
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call  # noqa: E402

TOKEN = "a2a-token-0123456789abcdef"


def served(tmp_path, example_kg, responses, **settings):
    s = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=["kg_search"], cache=False, a2a=True,
                      server_token=TOKEN, **settings)
    agent = Agent(s, model=FakeToolChatModel(responses=responses), embeddings=HashingEmbeddings())
    return BackgroundServer(create_app(agent)), agent


async def converse(url, questions, token=TOKEN):
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        client = await ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create_from_url(url)
        replies, context = [], None
        for question in questions:
            message = new_text_message(question, context_id=context, role=Role.ROLE_USER)
            async for response in client.send_message(SendMessageRequest(message=message)):
                reply = MessageToDict(response.message)
                context = reply.get("contextId", context)
                replies.append(reply)
        await client.close()
        return replies


def test_the_agent_card_is_public_and_names_the_endpoint(tmp_path, example_kg):
    server, _ = served(tmp_path, example_kg, [AIMessage("x")], a2a_url="https://kb.example.com")
    with server:
        card = httpx.get(f"{server.url}/.well-known/agent-card.json", timeout=10).json()
    assert card["name"] == "agentmesh" and card["skills"][0]["id"] == "grounded_answer"
    assert card["supportedInterfaces"][0]["url"] == "https://kb.example.com/a2a"


def test_a_grounded_answer_with_citations_and_a_follow_up_in_the_same_context(tmp_path, example_kg):
    server, agent = served(tmp_path, example_kg, [
        tool_call("kg_search", "c1", query="Claude 2.1"), AIMessage("Claude 2.1 reads 200000 tokens."),
        AIMessage("Anthropic develops it.")])
    with server:
        first, second = asyncio.run(converse(server.url, ["Context window of Claude 2.1?", "And who develops it?"]))
    text, data = first["parts"][0]["text"], first["parts"][1]["data"]
    assert text == "Claude 2.1 reads 200000 tokens."
    assert data["supported"] is True and "https://example.org/llm/Claude-2.1" in [c["ref"] for c in data["citations"]]
    assert second["contextId"] == first["contextId"]
    # one context, one thread: the follow-up's run saw the first turn
    history = agent.history(f"a2a-{first['contextId']}")
    assert [m.content for m in history if m.type == "human"] == ["Context window of Claude 2.1?", "And who develops it?"]


def test_the_endpoint_needs_the_token(tmp_path, example_kg):
    server, _ = served(tmp_path, example_kg, [AIMessage("x")])
    with server:
        anonymous = httpx.post(f"{server.url}/a2a", json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}},
                               timeout=10)
        with pytest.raises(Exception):
            asyncio.run(converse(server.url, ["hi"], token="wrong-token-0123456789"))
    assert anonymous.status_code == 401
