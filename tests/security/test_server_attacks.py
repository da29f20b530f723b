"""Attacks between users of one `agentmesh serve`: with per-user tokens, a thread is its maker's.

A real socket, the official OpenAI client and httpx; two users, alice and bob, each with a token."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.messages import AIMessage
from openai import AuthenticationError, OpenAI

from agentmesh import Agent, Settings
from agentmesh.apps.server import BackgroundServer, create_app
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings

ALICE, BOB = "alice-token-0123456789", "bob-token-9876543210ab"
SECRET_QUESTION = "What is our Q3 payroll for the Zurich team?"


@pytest.fixture
def served(tmp_path, example_kg):
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=["kg_search"], cache=False,
                             server_tokens={"alice": ALICE, "bob": BOB})
    model = FakeToolChatModel(responses=[AIMessage("An answer.")] * 8)
    agent = Agent(settings, model=model, embeddings=HashingEmbeddings())
    with BackgroundServer(create_app(agent)) as server:
        yield server, agent


def ask(server, key, text, thread="shared-name"):
    openai = OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
    return openai.chat.completions.create(model="agentmesh", messages=[{"role": "user", "content": text}],
                                          extra_headers={"X-Thread-Id": thread})


def get(server, key, path):
    return httpx.get(server.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_attack_server_read_another_users_thread(served):
    server, agent = served
    ask(server, ALICE, SECRET_QUESTION)
    assert SECRET_QUESTION in get(server, ALICE, "/api/threads/shared-name").text
    # bob names alice's thread id: it is not hers to him, and the list shows him nothing of hers
    assert get(server, BOB, "/api/threads/shared-name").status_code == 404
    assert get(server, BOB, "/api/threads").json() == []
    assert [t["thread_id"] for t in get(server, ALICE, "/api/threads").json()] == ["shared-name"]
    # writing to that id gives bob a thread of his own; alice's history is untouched
    ask(server, BOB, "Hello from bob")
    assert "Hello from bob" not in get(server, ALICE, "/api/threads/shared-name").text
    assert SECRET_QUESTION not in get(server, BOB, "/api/threads/shared-name").text
    # nor can he name the stored id behind it
    assert get(server, BOB, "/api/threads/user:alice%2Fshared-name").status_code in (400, 404)
    assert httpx.post(server.url + "/v1/chat/completions", timeout=10, headers={"Authorization": f"Bearer {BOB}",
                      "X-Thread-Id": "user:alice/shared-name"},
                      json={"model": "agentmesh", "messages": [{"role": "user", "content": "hi"}]}).status_code == 400
    assert SECRET_QUESTION not in str(agent.history("user:bob/shared-name"))


def test_per_user_tokens_are_required_and_unknown_ones_refused(served):
    server, _ = served
    with pytest.raises(AuthenticationError):
        ask(server, "not-a-token-of-anyone", "hi")
    assert httpx.get(server.url + "/api/threads", timeout=10).status_code == 401
    reply = ask(server, ALICE, "hi", thread="t1")
    assert reply.choices[0].message.content == "An answer."


def test_per_user_tokens_are_checked_when_settings_load():
    from agentmesh.errors import ConfigError

    with pytest.raises(ConfigError, match="shorter than 16"):
        Settings.load(server_tokens={"alice": "short"})
    with pytest.raises(ConfigError, match="share a token"):
        Settings.load(server_tokens={"alice": ALICE, "bob": ALICE})
