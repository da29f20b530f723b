"""The semantic cache on a real Redis server (127.0.0.1:6379), shared between processes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from langchain_core.messages import AIMessage

from agentmesh import Agent, Settings
from agentmesh.models.testing import FakeToolChatModel

from _net import REDIS_URL


@pytest.fixture
def prefix(redis_prefix):
    return redis_prefix


def cache(minilm, prefix, **options):
    from agentmesh.memory.redis_cache import RedisSemanticCache

    return RedisSemanticCache(REDIS_URL, minilm, prefix=prefix, **options)


def test_an_answer_stored_by_one_process_is_found_by_another(minilm, prefix):
    writer = subprocess.run([sys.executable, "-c", f"""
from agentmesh.memory.redis_cache import RedisSemanticCache
from agentmesh.models.embeddings import MiniLMEmbeddings
c = RedisSemanticCache({REDIS_URL!r}, MiniLMEmbeddings(), prefix={prefix!r})
c.put("What is the context window of Claude 2.1?", "200000 tokens.", scope="s1", citations=[{{"kind": "node", "ref": "x"}}])
"""], capture_output=True, text=True, timeout=120)
    assert writer.returncode == 0, writer.stderr

    reader = cache(minilm, prefix)
    hit = reader.get("What context window does Claude 2.1 have?", "s1")

    assert hit is not None and hit.answer == "200000 tokens." and hit.similarity >= 0.82
    assert hit.payload["citations"] == [{"kind": "node", "ref": "x"}]
    assert reader.get("What is the context window of Claude 2.1?", "another-scope") is None  # scopes never mix
    assert reader.stats["hits"] == 1 and reader.stats["stores"] == 1


def test_the_guards_hold_in_redis_too(minilm, prefix):
    c = cache(minilm, prefix)
    c.put("What is the context window of GPT-4?", "8192 tokens.", scope="s")
    assert c.get("What is the context window of GPT-4o?", "s") is None      # another name
    assert c.get("What is the context window of GPT-4?", "s").answer == "8192 tokens."


def test_entries_expire_and_the_least_recently_used_go_first(minilm, prefix):
    short = cache(minilm, prefix, ttl=0.3)
    short.put("Who develops Phi-2?", "Microsoft.", scope="ttl")
    assert short.get("Who develops Phi-2?", "ttl") is not None
    time.sleep(0.5)
    assert short.get("Who develops Phi-2?", "ttl") is None  # Redis expired the entry

    small = cache(minilm, prefix, max_size=2)
    small.put("Who develops Phi-2?", "Microsoft.", scope="lru")
    small.put("Who develops Gemma?", "Google.", scope="lru")
    assert small.get("Who develops Phi-2?", "lru") is not None  # Phi-2 used: Gemma is now the oldest
    small.put("Who develops Grok-1?", "xAI.", scope="lru")
    assert small.get("Who develops Gemma?", "lru") is None
    assert small.get("Who develops Phi-2?", "lru") is not None and small.get("Who develops Grok-1?", "lru") is not None
    assert len(small) == 2  # the entry in "ttl" expired; two are left in "lru"
    assert set(small.scopes()) == {"ttl", "lru"}


def test_clear_removes_everything_under_the_prefix(minilm, prefix):
    c = cache(minilm, prefix)
    c.put("Who develops Phi-2?", "Microsoft.", scope="a")
    c.clear()
    assert len(c) == 0 and c.scopes() == [] and c.get("Who develops Phi-2?", "a") is None


def test_the_agent_uses_redis_when_cache_url_is_set(minilm, prefix, example_kg, tmp_path, monkeypatch):
    from agentmesh.memory import redis_cache

    monkeypatch.setattr(redis_cache.RedisSemanticCache.__init__, "__kwdefaults__",
                        {**redis_cache.RedisSemanticCache.__init__.__kwdefaults__, "prefix": prefix})
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache_url=REDIS_URL)
    model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")])
    agent = Agent(settings, model=model, embeddings=minilm)

    first = agent.run("What is the context window of Claude 2.1?")
    second = agent.run("What context window does Claude 2.1 have?")

    assert type(agent.cache).__name__ == "RedisSemanticCache"
    assert first.cached is None and second.stop_reason == "cached" and len(model.calls) == 1
    assert not (tmp_path / "home" / "cache").exists() or not list((tmp_path / "home" / "cache").glob("scope-*"))


def test_a_wrong_url_is_a_clear_error(minilm):
    from agentmesh.errors import ConfigError
    from agentmesh.memory.redis_cache import RedisSemanticCache

    with pytest.raises(ConfigError, match="Redis does not answer"):
        RedisSemanticCache("redis://127.0.0.1:1/0", minilm)


def test_redis_refuses_contrasts_and_shares_a_wrong_mark(minilm, prefix):
    from agentmesh.memory.verify import Lexicon

    lexicon = Lexicon(synonyms={"context length": "context window"})
    one, two = cache(minilm, prefix, threshold=0.7, lexicon=lexicon), cache(minilm, prefix, threshold=0.7, lexicon=lexicon)
    try:
        one.put("What is the context window of GPT-4?", "8,192 tokens.", scope="s")
        one.put("GPT-4 Turbo context length?", "128,000 tokens.", scope="s")
        hit = two.get("What is the context window of GPT-4 Turbo?", "s")  # the nearest is another model
        assert hit is not None and hit.answer == "128,000 tokens."
        assert [q for q, _ in two.last_refusals] == ["What is the context window of GPT-4?"]
        two.mark_wrong(hit)  # marked on one process, in force on the other
        assert one.get("What is the context window of GPT-4 Turbo?", "s") is None
        one.put("GPT-4 Turbo context length?", "128,000 tokens.", scope="s")
        assert one.get("What is the context window of GPT-4 Turbo?", "s") is None
        assert any(r.startswith("marked wrong before") for _, r in one.last_refusals)
        assert one.info()["marked_wrong"] == 1
    finally:
        one.close(), two.close()
