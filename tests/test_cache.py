"""The semantic cache: paraphrases hit, traps miss, scopes never mix, a graph change invalidates."""

from __future__ import annotations

import re
import time

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS
from typer.testing import CliRunner

from agentmesh import Agent, Settings
from agentmesh.apps.cli import app
from agentmesh.knowledge import KnowledgeBase
from agentmesh.memory.cache import SemanticCache, cache_scope
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call


@pytest.fixture
def cache(tmp_path, minilm):
    c = SemanticCache(tmp_path / "cache", minilm)
    yield c
    c.close()


def test_a_paraphrase_hits(cache):
    cache.put("Which company develops Mixtral 8x7B?", "Mistral AI.", scope="s")
    hit = cache.get("Who is the developer of Mixtral 8x7B?", scope="s")
    assert hit is not None and hit.answer == "Mistral AI." and hit.similarity >= cache.threshold
    assert hit.question == "Which company develops Mixtral 8x7B?"


@pytest.mark.parametrize("trap", [
    "Which company develops Mixtral 8x22B?",        # another model: names differ
    "Which company does not develop Mixtral 8x7B?",  # negation
    "What does Mixtral 8x7B cost per million tokens?",  # another question about the same thing
])
def test_near_misses_do_not_hit(cache, trap):
    cache.put("Which company develops Mixtral 8x7B?", "Mistral AI.", scope="s")
    assert cache.get(trap, scope="s") is None


def test_a_reversed_question_does_not_hit(cache):
    cache.put("Is GPT-4 better than Claude 2 at coding?", "Yes.", scope="s")
    assert cache.get("Is Claude 2 better than GPT-4 at coding?", scope="s") is None


def test_nothing_hits_across_scopes(cache):
    a, b = cache_scope(model="m1", kg="v1"), cache_scope(model="m2", kg="v1")
    cache.put("Who develops Qwen 72B Chat?", "Alibaba Cloud.", scope=a)
    assert cache.get("Who develops Qwen 72B Chat?", scope=a) is not None
    assert cache.get("Who develops Qwen 72B Chat?", scope=b) is None


def test_entries_expire(tmp_path, minilm):
    # a TTL well above one lookup's time on a loaded 2-core machine (0.2 s expired before the first lookup)
    c = SemanticCache(tmp_path / "ttl", minilm, ttl=1.5)
    c.put("Who develops Phi-2?", "Microsoft Research.", scope="s")
    assert c.get("Who develops Phi-2?", scope="s") is not None
    time.sleep(1.7)
    assert c.get("Who develops Phi-2?", scope="s") is None
    c.close()


def test_size_is_bounded(tmp_path):
    c = SemanticCache(tmp_path / "small", HashingEmbeddings(), max_size=10)
    for i in range(30):
        c.put(f"question number {i} about item {i}", "x", scope="s")
    assert len(c) <= 10
    c.close()


def make_agent(example_kg, model, tmp_path, minilm, kb=None):
    settings = Settings.load(kg=[example_kg], tools=["kg_search", "python"], top_k_tools=2, approval="auto")
    return Agent(settings, model=model, embeddings=minilm, knowledge=kb, checkpointer=InMemorySaver())


def test_a_hit_skips_the_model_and_is_marked(example_kg, tmp_path, minilm):
    model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")])
    agent = make_agent(example_kg, model, tmp_path, minilm)
    first = agent.run("What is the context window of Claude 2.1?")
    second = agent.run("What context window does Claude 2.1 have?")

    assert len(model.calls) == 1  # the second answer never reached the model
    assert first.cached is None and second.stop_reason == "cached"
    assert second.answer == "Claude 2.1 reads 200000 tokens."
    assert second.cached["question"] == "What is the context window of Claude 2.1?"
    assert [c.ref for c in second.citations] == [c.ref for c in first.citations]
    from agentmesh.runs.provenance import AM, load_trace

    trace = load_trace(agent.traces_dir, second.run_id)
    assert (AM[f"run/{second.run_id}"], AM.cacheHit, Literal(True)) in trace


def test_a_person_marks_a_cached_answer_wrong_in_the_repl_and_over_http(example_kg, tmp_path, minilm):
    from fastapi.testclient import TestClient

    from agentmesh.apps.server import create_app

    model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens."), AIMessage("A fresh answer.")])
    agent = make_agent(example_kg, model, tmp_path, minilm)
    agent.run("What is the context window of Claude 2.1?")
    served = agent.run("What context window does Claude 2.1 have?", thread_id="t1")
    assert served.stop_reason == "cached"
    client = TestClient(create_app(agent), base_url="http://127.0.0.1")  # serve answers to loopback names only
    response = client.post("/api/threads/t1/cache-wrong")
    assert response.status_code == 200, response.text
    assert response.json()["removed"] == "What is the context window of Claude 2.1?"
    assert client.post("/api/threads/t1/cache-wrong").status_code == 409  # nothing cached to mark any more
    again = agent.run("What context window does Claude 2.1 have?", thread_id="t2")
    assert again.stop_reason == "answered" and again.answer == "A fresh answer."


def test_cache_wrong_in_the_repl(example_kg, tmp_path, minilm):
    import io

    from rich.console import Console

    from agentmesh.apps.repl import ChatREPL

    model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")])
    agent = make_agent(example_kg, model, tmp_path, minilm)
    agent.run("What is the context window of Claude 2.1?")
    out = io.StringIO()
    repl = ChatREPL(agent, console=Console(file=out, width=200), thread_id="t1", read_line=lambda _: "/exit")
    repl._cache("wrong")
    assert "did not come from the cache" in out.getvalue()
    assert agent.run("What context window does Claude 2.1 have?", thread_id="t1").stop_reason == "cached"
    repl._cache("wrong")
    assert "removed the cached answer to 'What is the context window of Claude 2.1?'" in out.getvalue()
    assert len(agent.cache) == 0


def test_answers_that_ran_code_are_not_cached(example_kg, tmp_path, minilm):
    model = FakeToolChatModel(responses=[tool_call("python", code="2 * 21"), AIMessage("42.")])
    agent = make_agent(example_kg, model, tmp_path, minilm)
    agent.run("What is two times twenty-one?")
    agent.run("What is two times twenty-one?")
    assert len(model.calls) == 4  # asked twice, both times through the model


def test_follow_up_turns_do_not_use_the_cache(example_kg, tmp_path, minilm):
    model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")])
    agent = make_agent(example_kg, model, tmp_path, minilm)
    agent.run("What is the context window of Claude 2.1?", thread_id="t1")
    agent.run("Hello there", thread_id="t2")
    agent.run("What is the context window of Claude 2.1?", thread_id="t2")  # second turn of t2
    assert len(model.calls) == 3


def test_a_change_to_the_graph_invalidates(example_kg, tmp_path, minilm):
    kb = KnowledgeBase.open([example_kg], minilm, cache_dir=tmp_path / "kg", writable=True)
    model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")])
    agent = make_agent(example_kg, model, tmp_path, minilm, kb=kb)
    agent.run("What is the context window of Claude 2.1?")
    agent.run("What is the context window of Claude 2.1?")
    assert len(model.calls) == 1
    kb.update(add=[(URIRef("https://example.org/llm/Claude-2.1"), RDFS.comment, Literal("Updated."))])
    agent.run("What is the context window of Claude 2.1?")
    assert len(model.calls) == 2


def test_cache_cli_stats_and_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTMESH_EMBEDDINGS", "hashing")
    settings = Settings.load()
    c = SemanticCache(settings.data_dir("cache"), HashingEmbeddings())
    c.put("Who develops Gemma?", "Google DeepMind.", scope="s")
    c.get("Who develops Gemma?", scope="s")
    c.close()
    runner = CliRunner(env={"COLUMNS": "200"})
    stats = runner.invoke(app, ["cache", "stats"])
    assert stats.exit_code == 0 and "entries" in stats.output and "hit rate" in stats.output
    cleared = runner.invoke(app, ["cache", "clear", "--yes"])
    assert cleared.exit_code == 0 and "cleared 1 cached answers" in cleared.output
    assert re.search(r"entries\W+0\W", runner.invoke(app, ["cache", "stats"]).output)


CHANGES = {
    "unchanged": {},
    "tool set": {"tools": ["kg_search", "sql", "sql_schema"]},
    "database": {"db": "SECOND_DB"},
    "top_k_nodes": {"top_k_nodes": 3},
    "prompts": {"prompts": True},
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_to_what_answers_depend_on_invalidates(change, example_kg, example_db, tmp_path, minilm, monkeypatch):
    """Two agents on one data home (one cache file): an answer cached under one set of prompts,
    tools, database or retrieval depth is never served under another. The unchanged case hits,
    so the test can tell."""
    import shutil

    second_db = tmp_path / "second.sqlite"
    shutil.copy(example_db, second_db)
    base = {"kg": [example_kg], "tools": ["kg_search", "sql", "sql_schema", "python"], "db": example_db,
            "top_k_nodes": 5, "home": tmp_path / "home", "approval": "auto"}
    question = "What is the context window of Claude 2.1?"

    def agent(**overrides):
        model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")])
        return Agent(Settings.load(**{**base, **overrides}), model=model, embeddings=minilm,
                     checkpointer=InMemorySaver()), model

    first, _ = agent()
    first.run(question)
    first.cache.close()
    overrides = {k: (second_db if v == "SECOND_DB" else v) for k, v in CHANGES[change].items() if k != "prompts"}
    if "prompts" in CHANGES[change]:
        import agentmesh.agent as agent_module

        monkeypatch.setattr(agent_module, "PROMPTS_VERSION", agent_module.PROMPTS_VERSION + "-next")
    second, model = agent(**overrides)
    result = second.run(question)
    if change == "unchanged":
        assert result.stop_reason == "cached" and model.calls == []
    else:
        assert result.stop_reason != "cached" and len(model.calls) == 1
