"""The embedded default for real: MiniLM embeddings and SmolLM2 under llama.cpp (no network)."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.graphs.agent import render_grounding
from agentmesh.prompts import SYSTEM_PROMPT


def test_minilm_embeds_meaning(minilm):
    a, b, c = minilm.embed(["Which model has the longest context window?",
                            "What LLM can read the most tokens at once?",
                            "The invoice was paid by bank transfer."])
    assert a.shape == (384,)
    assert np.isclose(np.linalg.norm(a), 1.0, atol=1e-4)
    assert float(a @ b) > float(a @ c) + 0.2


def test_minilm_batches_match_single_texts(minilm):
    texts = [f"sentence number {i} about models" for i in range(70)]
    batch = minilm.embed(texts)
    one = np.asarray(minilm.embed_query(texts[65]))
    assert np.allclose(batch[65], one, atol=1e-4)


@pytest.fixture(scope="module")
def smollm2():
    pytest.importorskip("xllamacpp")
    from agentmesh.models.embedded import EmbeddedChatModel, smollm2_path

    try:
        smollm2_path()
    except Exception as exc:  # visible in the report, never silent
        pytest.skip(f"embedded model not installed: {exc}")
    return EmbeddedChatModel(max_tokens=96)


@tool
def kg_search(query: str) -> str:
    """Search the knowledge graph of language models."""
    return "Mixtral 8x7B Instruct: license Apache 2.0"


def test_constrained_tool_call_always_parses(smollm2):
    bound = smollm2.bind_tools([kg_search], tool_choice="required")
    message = bound.invoke([HumanMessage("Look up the licence of Mixtral 8x7B.")])
    assert message.tool_calls and message.tool_calls[0]["name"] == "kg_search"
    assert isinstance(message.tool_calls[0]["args"]["query"], str)


def test_plain_answer_uses_the_facts_given(smollm2):
    node = {"uri": "https://example.org/llm/Claude-2.1", "label": "Claude 2.1",
            "description": "Anthropic model with a long context window.", "facts": ["context window (tokens): 200000"]}
    system = SystemMessage(SYSTEM_PROMPT.format(grounding=render_grounding([node])))
    message = smollm2.invoke([system, HumanMessage("What is the context window of Claude 2.1?")])
    assert "200" in message.text


def test_agent_answers_offline_with_a_citation(smollm2, example_kg, example_db):
    settings = Settings.load(kg=[example_kg], db=example_db)
    agent = Agent(settings, model=smollm2, checkpointer=InMemorySaver())
    result = agent.run("What is the context window of Claude 2.1?")
    assert result.stop_reason == "answered" and result.answer
    assert any(c.ref == "https://example.org/llm/Claude-2.1" for c in result.citations)


def test_the_embedded_model_answers_by_picking_evidence_through_the_grammar(smollm2, example_kg, example_db):
    """The real llama.cpp grammar: the pick's enum of evidence lines reaches it, and what comes
    back is one of those lines, rendered; a question the data cannot answer ends as not found."""
    agent = Agent(Settings.load(kg=[example_kg], db=example_db), model=smollm2, checkpointer=InMemorySaver())
    assert agent.answer_style == "pick"
    result = agent.run("What is the context window of Claude 2.1?")
    # its fact or its description: both evidence lines of Claude 2.1 that hold the context window
    assert result.answer in ("Claude 2.1 — context window (tokens): 200000",
                             "Claude 2.1 — Successor of Claude 2 that doubled the context window to 200K tokens.")
    assert result.stop_reason == "answered"
    assert result.supported and [c.ref for c in result.citations] == ["https://example.org/llm/Claude-2.1"]
    assert agent.run("Who is the CEO of Mistral AI?", thread_id="ceo").stop_reason == "not_found"


def test_the_embedded_model_streams_the_same_text_it_returns_whole(smollm2):
    prompt = [HumanMessage("Say hello in one short sentence.")]
    pieces = [chunk.text for chunk in smollm2.stream(prompt)]
    assert len([p for p in pieces if p]) > 3  # token by token, not one block
    assert "".join(pieces).strip() == smollm2.invoke(prompt).text  # same seed, same text


def test_the_agent_streams_the_embedded_answer_as_tokens(smollm2, example_kg):
    from agentmesh.apps.events import run_events

    # a written answer streams; a picked one (the embedded model's default) is rendered whole
    # the embedded model passed in is judged by what it is (constrained: strict checks hold the
    # answer back until checked); flag lets a written answer stream
    agent = Agent(Settings.load(kg=[example_kg], tools=["kg_search"], answer_style="free", answer_check="flag"),
                  model=smollm2, checkpointer=InMemorySaver())
    events = list(run_events(agent, "What is the context window of Claude 2.1?", "t"))
    tokens = "".join(e["text"] for e in events if e["type"] == "token")
    (answer,) = [e for e in events if e["type"] == "answer"]
    assert answer["streamed"] and tokens.strip() == answer["text"].strip()  # no JSON decision text leaked


def test_a_named_node_beats_a_similar_one(minilm, example_kg):
    from agentmesh.knowledge import KnowledgeBase

    kb = KnowledgeBase.open([example_kg], minilm)
    assert kb.retrieve("Tell me about Claude 2", k=1)[0].label == "Claude 2"
    assert kb.retrieve("What is the context window of Claude 2.1?", k=1)[0].label == "Claude 2.1"


def test_a_question_longer_than_the_context_window_says_the_limit(smollm2, tmp_path, monkeypatch):
    """llama.cpp answers with a raw error dict; the person gets the sizes and what to do, exit 2.
    (The model writes the answer here, so that it is asked at all: picking from no evidence, with no
    tool that fits the question, ends "not found" without a model call.)"""
    from typer.testing import CliRunner

    from agentmesh.apps.cli import app

    (tmp_path / "long.txt").write_text("Summarise this. " + "word " * 3000)
    monkeypatch.setenv("AGENTMESH_N_CTX", "1024")
    monkeypatch.setenv("AGENTMESH_ANSWER_STYLE", "free")
    result = CliRunner().invoke(app, ["ask", "--file", str(tmp_path / "long.txt")])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "more than the embedded model's context window of 1024 tokens (setting n_ctx)" in said
    assert "{" not in said  # no raw reply


def test_structured_output_with_the_raw_reply(smollm2):
    from pydantic import BaseModel

    class Licence(BaseModel):
        """The licence a model is published under."""

        model: str
        licence: str

    chat = smollm2.with_structured_output(Licence, include_raw=True)
    out = chat.invoke("Mixtral 8x7B Instruct is published under Apache 2.0. Which licence?")
    assert set(out) == {"raw", "parsed", "parsing_error"} and out["parsing_error"] is None
    assert isinstance(out["parsed"], Licence) and out["raw"].usage_metadata["output_tokens"] > 0
    with pytest.raises(ValueError, match="method must be"):
        smollm2.with_structured_output(Licence, method="xml")
