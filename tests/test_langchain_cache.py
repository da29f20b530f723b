"""agentmesh's semantic cache behind LangChain's BaseCache: the langchain-tests suites, and a chat
model whose calls go through set_llm_cache get agentmesh's scoping and checks."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

langchain_tests = pytest.importorskip("langchain_tests.integration_tests", reason="pip install langchain-tests")
pytest_asyncio = pytest.importorskip("pytest_asyncio", reason="langchain-tests' async suite needs pytest-asyncio")

from agentmesh.memory.cache import SemanticCache  # noqa: E402
from agentmesh.memory.langchain_cache import AgentmeshLLMCache, split_prompt  # noqa: E402
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings  # noqa: E402


class TestAgentmeshLLMCache(langchain_tests.SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, tmp_path):
        inner = SemanticCache(tmp_path / "cache", HashingEmbeddings())
        yield AgentmeshLLMCache(inner)
        inner.close()


@pytest.mark.asyncio  # the suite's tests are coroutines; pytest-asyncio runs them in strict mode
class TestAgentmeshLLMCacheAsync(langchain_tests.AsyncCacheTestSuite):
    @pytest_asyncio.fixture
    async def cache(self, tmp_path):
        inner = SemanticCache(tmp_path / "cache", HashingEmbeddings())
        yield AgentmeshLLMCache(inner)
        inner.close()


def test_the_question_is_the_last_user_message_and_the_rest_is_scope(tmp_path, minilm):
    from langchain_core.globals import set_llm_cache

    inner = SemanticCache(tmp_path / "cache", minilm)
    set_llm_cache(AgentmeshLLMCache(inner))
    try:
        model = FakeToolChatModel(responses=[AIMessage("128,000 tokens."), AIMessage("16,384 tokens."),
                                             AIMessage("Other instructions.")], cache=True)
        system = SystemMessage("Answer briefly.")
        first = model.invoke([system, HumanMessage("How many input tokens can GPT-4o take?")])
        paraphrase = model.invoke([system, HumanMessage("What number of input tokens does GPT-4o take?")])
        assert paraphrase.text == first.text == "128,000 tokens." and len(model.calls) == 1  # served from the cache
        near_miss = model.invoke([system, HumanMessage("How many output tokens can GPT-4o take?")])
        assert near_miss.text == "16,384 tokens." and len(model.calls) == 2  # the word check refused: 'output' has no match
        other = model.invoke([SystemMessage("Answer at length."), HumanMessage("How many input tokens can GPT-4o take?")])
        assert other.text == "Other instructions." and len(model.calls) == 3  # another system prompt: another scope
    finally:
        set_llm_cache(None)
        inner.close()


def test_split_prompt_reads_a_serialised_message_list():
    from langchain_core.load import dumps

    question, context = split_prompt(dumps([SystemMessage("s"), HumanMessage("q1"), AIMessage("a1"), HumanMessage("q2")]))
    assert question == "q2" and "q1" in context and "q2" not in context
    assert split_prompt("Plain text prompt") == ("Plain text prompt", "")


def test_a_stored_entry_revives_only_as_generations(tmp_path):
    """An entry holding anything else (a serialised document here; a chat model could carry a
    base_url) is a miss, not an object built from the store."""
    import json

    from langchain_core.documents import Document
    from langchain_core.load import dumps

    inner = SemanticCache(tmp_path / "cache", HashingEmbeddings())
    cache = AgentmeshLLMCache(inner)
    try:
        question, scope = cache._key("Sample prompt", "llm")
        smuggled = json.loads(dumps([Document(page_content="not an answer")]))
        inner.put(question, "x", scope, generations=smuggled)
        assert cache.lookup("Sample prompt", "llm") is None
    finally:
        inner.close()
