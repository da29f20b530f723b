"""Long-term facts: remembered in one thread, found by grounding in another, listed and forgotten."""

from __future__ import annotations

from langchain_core.messages import AIMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver
from typer.testing import CliRunner

from agentmesh import Agent, Settings
from agentmesh.apps.cli import app
from agentmesh.memory.facts import FACTS_GRAPH
from agentmesh.models.embeddings import MiniLMEmbeddings
from agentmesh.models.testing import FakeToolChatModel, tool_call


def test_a_fact_remembered_in_one_thread_is_retrieved_in_another(example_kg):
    model = FakeToolChatModel(responses=[
        tool_call("remember", statement="My team owns the billing database."),
        AIMessage("I will remember that."),
        AIMessage("Your team owns it."),
    ])
    settings = Settings.load(kg=[example_kg], tools=["kg_search", "remember", "forget"], top_k_tools=3, cache=False)
    agent = Agent(settings, model=model, embeddings=MiniLMEmbeddings(), checkpointer=InMemorySaver())

    agent.run("Remember that my team owns the billing database.", thread_id="a")
    result = agent.run("Who owns the billing database?", thread_id="b")

    system = model.calls[-1][0]
    assert isinstance(system, SystemMessage) and "My team owns the billing database." in system.text
    fact_uri = agent.facts.list()[0].uri
    assert fact_uri in [node["uri"] for node in result.grounding]
    # stored as triples in the named graph
    assert agent.knowledge.store.has_node(fact_uri)
    assert any(str(q.graph_name.value) == FACTS_GRAPH for q in agent.knowledge.store.ox.quads_for_pattern(None, None, None, None)
               if q.subject.value == fact_uri)


def test_forget_removes_the_fact_from_the_graph(example_kg):
    model = FakeToolChatModel(responses=[tool_call("forget", fact="billing"), AIMessage("Forgotten.")])
    settings = Settings.load(kg=[example_kg], tools=["kg_search", "remember", "forget"], top_k_tools=3, cache=False)
    agent = Agent(settings, model=model, embeddings=MiniLMEmbeddings(), checkpointer=InMemorySaver())
    fact = agent.facts.remember("My team owns the billing database.")
    agent.reload_knowledge()
    assert agent.knowledge.store.has_node(fact.uri)

    agent.run("Forget that my team owns the billing database.")

    assert agent.facts.list() == []
    assert not agent.knowledge.store.has_node(fact.uri)


def test_facts_cli(tmp_path):
    runner = CliRunner(env={"COLUMNS": "200"})
    added = runner.invoke(app, ["facts", "add", "The staging cluster is called Kestrel."])
    assert added.exit_code == 0 and "remembered" in added.output
    listed = runner.invoke(app, ["facts", "list"])
    assert "The staging cluster is called Kestrel." in listed.output
    assert runner.invoke(app, ["facts", "forget", "Kestrel"]).exit_code == 0
    assert "no facts yet" in runner.invoke(app, ["facts", "list"]).output
    missing = runner.invoke(app, ["facts", "forget", "nothing like this"])
    assert missing.exit_code == 2 and "no fact matches" in missing.output
