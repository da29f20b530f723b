"""Long-term facts: remembered in one thread, found by grounding in another, listed and forgotten."""

from __future__ import annotations

import pytest
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


def test_a_users_graph_names_neither_the_user_nor_the_thread(tmp_path):
    from agentmesh.memory.facts import FactStore, is_private_graph

    facts = FactStore(tmp_path / "facts.nq")
    alice, in_thread = facts.graph("alice"), facts.graph("alice", "t-secret-1", "thread")
    assert "alice" not in alice and "t-secret-1" not in in_thread and is_private_graph(alice) and is_private_graph(in_thread)
    assert facts.graph(None) == FACTS_GRAPH and alice != facts.graph("bob")
    assert FactStore(tmp_path / "other" / "facts.nq").graph("alice") != alice  # keyed by a secret of this data home
    assert (tmp_path / "facts.key").stat().st_mode & 0o077 == 0


def test_each_user_lists_and_forgets_only_their_own_facts(tmp_path):
    from agentmesh.errors import AgentmeshError
    from agentmesh.memory.facts import FactStore

    facts = FactStore(tmp_path / "facts.nq")
    mine = facts.remember("Our release train leaves on Tuesdays.", "t1", user="alice")
    theirs = facts.remember("Our release train leaves on Tuesdays.", "t9", user="bob")
    assert mine.uri != theirs.uri
    assert [f.uri for f in facts.list(user="alice")] == [mine.uri] and facts.list() == []
    with pytest.raises(AgentmeshError, match="no fact matches"):
        facts.forget(mine.uri, user="bob")
    assert facts.forget("release train", user="bob").uri == theirs.uri
    assert [f.uri for f in facts.everyone()] == [mine.uri]


def test_a_thread_scoped_fact_is_seen_in_its_thread_only(tmp_path):
    from agentmesh.memory.facts import FactStore

    facts = FactStore(tmp_path / "facts.nq")
    facts.remember("This plan's budget is 40k.", "t1", user="alice", scope="thread")
    assert [f.scope for f in facts.list(user="alice", thread_id="t1")] == ["thread"]
    assert facts.list(user="alice", thread_id="t2") == []
    assert len(facts.list(user="alice")) == 1  # all of alice's, for her own listing


def test_sparql_on_a_graph_in_memory_sees_the_callers_facts_only(tmp_path, example_kg):
    from agentmesh.knowledge import KnowledgeBase
    from agentmesh.memory.facts import FactStore
    from agentmesh.models.testing import HashingEmbeddings
    from agentmesh.tools.sparql import run_sparql

    facts = FactStore(tmp_path / "facts.nq")
    facts.remember("The pager rota lives in Opsgenie.", "t1", user="alice")
    kb = KnowledgeBase.open([example_kg, facts.path], HashingEmbeddings())  # no cache_dir: an in-memory store
    query = 'SELECT ?s WHERE { ?s ?p ?o FILTER(CONTAINS(STR(?o), "Opsgenie")) }'
    assert run_sparql(kb, query, graphs=facts.graphs("alice", "t1")).rows
    assert not run_sparql(kb, query, graphs=facts.graphs("bob", "t1")).rows
    assert not run_sparql(kb, query).rows
    assert all("Opsgenie" not in n.description for n in kb.retrieve("pager rota Opsgenie", k=50))  # not in the index


def test_sparql_refuses_from_clauses():
    from agentmesh.errors import ReadOnlyViolationError
    from agentmesh.tools.sparql import check_query

    for query in ("SELECT ?s FROM <urn:x> WHERE { ?s ?p ?o }", "SELECT ?s FROM NAMED <urn:x> WHERE { GRAPH ?g { ?s ?p ?o } }"):
        with pytest.raises(ReadOnlyViolationError, match="FROM and FROM NAMED"):
            check_query(query)
