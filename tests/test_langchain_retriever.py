"""The knowledge graph as a LangChain retriever (the langchain-tests suite every retriever
integration runs), and a LangChain retriever as the agent's grounding."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_tests.integration_tests import RetrieversIntegrationTests

from agentmesh import Agent, Settings
from agentmesh.knowledge import KnowledgeBase, KnowledgeGraphRetriever
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "llm-landscape" / "landscape.ttl"


@lru_cache(maxsize=1)
def _knowledge() -> KnowledgeBase:
    folder = Path(tempfile.mkdtemp(prefix="agentmesh-retriever-"))  # a suite's properties cannot take fixtures
    atexit.register(shutil.rmtree, folder, True)
    return KnowledgeBase.open([EXAMPLE], HashingEmbeddings(), cache_dir=folder)


@pytest.mark.asyncio  # the suite's async test is a coroutine; pytest-asyncio runs it (strict mode)
class TestKnowledgeGraphRetriever(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[KnowledgeGraphRetriever]:
        return KnowledgeGraphRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"knowledge": _knowledge()}

    @property
    def retriever_query_example(self) -> str:
        return "Who develops Mixtral 8x7B?"


def test_the_documents_carry_the_nodes():
    docs = _knowledge().as_retriever(k=2).invoke("Mixtral 8x7B Instruct")
    assert docs[0].id == docs[0].metadata["uri"] and docs[0].metadata["label"].startswith("Mixtral")
    assert any("developer" in fact for fact in docs[0].metadata["facts"])


def test_an_agent_grounds_in_a_langchain_vector_store():
    store = InMemoryVectorStore(HashingEmbeddings())
    store.add_documents([Document("Osmium is the densest naturally occurring element.", id="urn:x:osmium",
                                  metadata={"title": "Osmium"}),
                         Document("Lithium is the lightest metal.", id="urn:x:lithium", metadata={"title": "Lithium"})])
    model = FakeToolChatModel(responses=[AIMessage("Osmium.")])
    agent = Agent(Settings.load(cache=False, tools=[]), model=model, retriever=store.as_retriever(search_kwargs={"k": 1}),
                  embeddings=HashingEmbeddings())
    result = agent.run("Which element is the densest?")
    assert [g["uri"] for g in result.grounding] == ["urn:x:osmium"]
    assert "densest naturally occurring" in " ".join(m.text for m in model.calls[0])
