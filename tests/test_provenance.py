"""Each run leaves a PROV-O graph holding the question, the nodes used, the tools and the answer."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from rdflib import Graph, Literal, URIRef

from agentmesh import Agent, Settings
from agentmesh.runs.provenance import AM, PROV, load_trace, trace_svg
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

LLM = "https://example.org/llm/"


def make_agent(example_kg, example_db, responses):
    settings = Settings.load(kg=[example_kg], db=example_db, tools=["kg_search", "sql"], top_k_tools=2)
    return Agent(settings, model=FakeToolChatModel(responses=responses), embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())


def test_the_trace_holds_the_cited_uris_and_tool_activity(example_kg, example_db):
    agent = make_agent(example_kg, example_db, [
        tool_call("kg_search", query="Claude 2.1"),
        AIMessage("Claude 2.1 reads 200000 tokens; it is made by Anthropic."),
    ])
    result = agent.run("Context window of Claude 2.1?")

    g = load_trace(agent.traces_dir, result.run_id)
    answer = AM[f"run/{result.run_id}/answer"]
    derived = set(g.objects(answer, PROV.wasDerivedFrom))
    cited = {URIRef(c.ref) for c in result.citations if c.kind == "node"}
    assert {URIRef(LLM + "Claude-2.1"), URIRef(LLM + "Anthropic")} <= cited
    assert cited <= derived
    tool = AM[f"run/{result.run_id}/tool/1"]
    assert (tool, PROV.used, URIRef(LLM + "Claude-2.1")) in g
    assert (AM[f"run/{result.run_id}/tool/1/result"], PROV.wasGeneratedBy, tool) in g
    assert (AM[f"run/{result.run_id}/question"], PROV.value, Literal("Context window of Claude 2.1?")) in g
    ground = AM[f"run/{result.run_id}/ground"]
    assert URIRef(LLM + "Claude-2.1") in set(g.objects(ground, PROV.used))
    # the Turtle on disk parses on its own
    assert len(Graph().parse(agent.traces_dir / f"{result.run_id}.ttl")) == len(g)


def test_uris_that_are_not_nodes_are_flagged(example_kg, example_db):
    agent = make_agent(example_kg, example_db, [
        AIMessage(f"See <{LLM}Claude-2.1> and <{LLM}Claude-9> for details."),
    ])
    result = agent.run("Tell me about Claude 2.1")

    assert result.unverified == [f"{LLM}Claude-9"]
    node = next(c for c in result.citations if c.ref == f"{LLM}Claude-2.1")
    assert node.verified is True


def test_the_trace_draws_as_svg(example_kg, example_db):
    agent = make_agent(example_kg, example_db, [AIMessage("Claude 2.1 it is.")])
    result = agent.run("Claude 2.1?")
    svg = trace_svg(load_trace(agent.traces_dir, result.run_id))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "Claude 2.1" in svg and "answer" in svg
