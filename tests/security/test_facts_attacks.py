"""Attacks by one user on another user's remembered facts (issue 33, item 3).

One agent serves two real users, alice and bob, as ``serve`` with ``server_tokens`` does: each
run carries its user (``Agent.run(..., user=...)``) and a stored thread id under that user's name
(``stored_thread``). Alice remembers a secret; bob then tries every way the tools give him to
read it, her thread id, or to forget it. Each attack first shows that alice herself gets the
secret the same way, so a contained attack is one that is refused or finds nothing, not one that
failed for an unrelated reason."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.apps.access import stored_thread
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

SECRET = "The vault code of alice's team is KESTREL-7731."
WORD = "KESTREL"
ALICE_THREAD = "alice-private-thread-5ee1"
ANON_SECRET = "The operator's spare key hides under the OSPREY mat."


class Users:
    """One agent, as the server holds it, and a way to run one scripted turn as a user."""

    def __init__(self, example_kg, *, cache: bool = False) -> None:
        self.model = FakeToolChatModel(responses=[AIMessage("ok")])
        settings = Settings.load(kg=[example_kg], tools=["kg_search", "kg_path", "sparql", "remember", "forget"],
                                 top_k_tools=5, cache=cache)
        self.agent = Agent(settings, model=self.model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())

    def turn(self, user: str | None, message: str, *replies: AIMessage, thread: str = "t") -> str:
        """Run one turn as ``user``; return everything the model was shown in its last call
        (grounding, tool results) and the answer, as one text."""
        self.model.responses, self.model.i = [*replies, AIMessage("done")], 0
        start = len(self.model.calls)
        result = self.agent.run(message, thread_id=stored_thread(user, thread), user=user)
        seen = [m.text for call in self.model.calls[start:] for m in call]
        return "\n".join([*seen, result.answer])

    def remember(self, user: str | None, statement: str, thread: str = ALICE_THREAD, **args) -> None:
        self.turn(user, f"Remember: {statement}", tool_call("remember", statement=statement, **args), thread=thread)

    def tool_results(self, user: str | None, *calls: AIMessage, thread: str = "t") -> str:
        """Only what the tools returned to ``user`` (not the question or the script)."""
        self.model.responses, self.model.i = [*calls, AIMessage("done")], 0
        start = len(self.model.calls)
        self.agent.run("look it up", thread_id=stored_thread(user, thread), user=user)
        return "\n".join(m.text for call in self.model.calls[start:] for m in call if isinstance(m, ToolMessage))


@pytest.fixture
def users(example_kg):
    u = Users(example_kg)
    u.remember("alice", SECRET)
    return u


def _alice_graph(users: Users) -> str:
    """The named graph alice's fact is stored in (the attacker is assumed to know it)."""
    return next(q.graph_name.value for q in _stored(users) if WORD in q.object.value)


SPARQL_SHAPES = {
    "select_all": 'SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(CONTAINS(STR(?o), "KESTREL") || CONTAINS(STR(?o), "alice-private")) }',
    "graph_variable": 'SELECT ?g ?s ?o WHERE { GRAPH ?g { ?s ?p ?o } FILTER(CONTAINS(STR(?o), "KESTREL")) }',
    "thread_ids": "SELECT ?s ?t WHERE { ?s <urn:agentmesh:thread> ?t }",
    "construct": 'CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } FILTER(CONTAINS(STR(?o), "KESTREL")) }',
}


def _leaks(text: str) -> bool:
    return WORD in text or ALICE_THREAD in text


@pytest.mark.parametrize("shape", SPARQL_SHAPES)
def test_attack_facts_sparql_reads_another_users_fact(users, shape):
    query = SPARQL_SHAPES[shape]
    assert _leaks(users.tool_results("alice", tool_call("sparql", query=query)))  # the query finds it for her
    assert not _leaks(users.tool_results("bob", tool_call("sparql", query=query)))


def test_attack_facts_sparql_describe_of_another_users_fact(users):
    query = f"DESCRIBE <{_alice_fact(users)}>"
    assert _leaks(users.tool_results("alice", tool_call("sparql", query=query)))
    assert not _leaks(users.tool_results("bob", tool_call("sparql", query=query)))


@pytest.mark.parametrize("shape", ["graph_named", "from", "from_named", "ask"])
def test_attack_facts_sparql_names_another_users_graph(users, shape):
    graph = _alice_graph(users)
    query = {
        "graph_named": f"SELECT ?s ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
        "from": f"SELECT ?s ?o FROM <{graph}> WHERE {{ ?s ?p ?o }}",
        "from_named": f"SELECT ?s ?o FROM NAMED <{graph}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "ask": f'ASK {{ GRAPH <{graph}> {{ ?s ?p ?o FILTER(CONTAINS(STR(?o), "KESTREL")) }} }}',
    }[shape]
    seen = users.tool_results("bob", tool_call("sparql", query=query))
    assert not _leaks(seen)
    if shape == "ask":
        assert "true" not in seen.split()


def test_attack_facts_sparql_service_to_another_users_graph(users):
    graph = _alice_graph(users)
    seen = users.tool_results("bob", tool_call("sparql", query=f"SELECT ?o WHERE {{ SERVICE <{graph}> {{ ?s ?p ?o }} }}"))
    assert not _leaks(seen) and "refused" in seen


def test_attack_facts_kg_search_surfaces_another_users_fact(users):
    assert WORD in users.tool_results("alice", tool_call("kg_search", query="vault code of the team", k=20))
    assert WORD not in users.tool_results("bob", tool_call("kg_search", query="vault code of the team", k=20))


def test_attack_facts_grounding_surfaces_another_users_fact(users):
    assert WORD in users.turn("alice", "What is the vault code of the team?")
    assert not _leaks(users.turn("bob", "What is the vault code of the team?"))


def test_attack_facts_forget_removes_another_users_fact(users):
    users.tool_results("bob", tool_call("forget", fact="vault code"))
    assert SECRET in _stored_texts(users)
    assert WORD in users.turn("alice", "What is the vault code of the team?")


def test_attack_facts_forget_by_uri_removes_another_users_fact(users):
    users.tool_results("bob", tool_call("forget", fact=_alice_fact(users)))
    assert SECRET in _stored_texts(users)


def test_attack_facts_same_statement_by_two_users_is_two_facts(users):
    """Bob remembers alice's very sentence (he guessed it), then forgets "his": hers stays."""
    users.remember("bob", SECRET, thread="b1")
    users.tool_results("bob", tool_call("forget", fact="vault code"))
    assert WORD in users.turn("alice", "What is the vault code of the team?")


def test_attack_facts_thread_scoped_fact_shows_in_another_thread(example_kg):
    u = Users(example_kg)
    u.remember("alice", "The draft budget for this plan is PELICAN-42.", thread="t1", scope="thread")
    assert "PELICAN" in u.turn("alice", "What is the draft budget for this plan?", thread="t1")
    assert "PELICAN" not in u.turn("alice", "What is the draft budget for this plan?", thread="t2")
    query = 'SELECT ?o WHERE { ?s ?p ?o FILTER(CONTAINS(STR(?o), "PELICAN")) }'
    assert "PELICAN" not in u.tool_results("alice", tool_call("sparql", query=query), thread="t2")


def test_attack_facts_anonymous_run_reads_a_users_fact(users):
    assert not _leaks(users.turn(None, "What is the vault code of the team?"))
    assert not _leaks(users.tool_results(None, tool_call("sparql", query=SPARQL_SHAPES["select_all"])))


def test_attack_facts_user_reads_the_anonymous_facts(users):
    users.remember(None, ANON_SECRET, thread="cli")
    query = 'SELECT ?o WHERE { ?s ?p ?o FILTER(CONTAINS(STR(?o), "OSPREY")) }'
    assert "OSPREY" in users.tool_results(None, tool_call("sparql", query=query))
    assert "OSPREY" not in users.tool_results("bob", tool_call("sparql", query=query))
    assert "OSPREY" not in users.turn("bob", "Where does the operator's spare key hide?")


def test_attack_facts_parallel_tool_calls_run_as_nobody(users):
    """Two tool calls in one reply run on a thread pool: each must still run as bob, not as the
    anonymous principal (whose facts bob must not read either)."""
    users.remember(None, ANON_SECRET, thread="cli")
    query = 'SELECT ?o WHERE { ?s ?p ?o FILTER(CONTAINS(STR(?o), "OSPREY") || CONTAINS(STR(?o), "KESTREL")) }'
    both = AIMessage("", tool_calls=[{"name": "sparql", "args": {"query": query}, "id": "c1"},
                                     {"name": "kg_search", "args": {"query": "spare key vault code", "k": 20}, "id": "c2"}])
    seen = users.tool_results("bob", both)
    assert "OSPREY" not in seen and WORD not in seen


def test_attack_facts_kg_path_confirms_another_users_fact(users):
    uri = _alice_fact(users)
    seen = users.tool_results("bob", tool_call("kg_path", source=uri, target="https://example.org/llm/Claude-2.1"))
    assert uri not in seen


def test_attack_facts_cached_answer_of_another_user(example_kg):
    u = Users(example_kg, cache=True)
    u.remember("alice", SECRET)
    assert WORD in u.turn("alice", "What is the vault code of the team?", AIMessage("The vault code is KESTREL-7731."))
    assert WORD not in u.turn("bob", "What is the vault code of the team?", AIMessage("I do not know."))


# -- helpers that read the facts file as its owner would (not through a user's tools) ----------
def _stored(users: Users):
    import pyoxigraph as ox

    return list(ox.parse(path=str(users.agent.facts.path), format=ox.RdfFormat.N_QUADS))


def _stored_texts(users: Users) -> list[str]:
    return [q.object.value for q in _stored(users) if q.predicate.value == "http://purl.org/dc/terms/description"]


def _alice_fact(users: Users) -> str:
    """The URI of alice's fact (the attacker is assumed to know it)."""
    return next(q.subject.value for q in _stored(users) if WORD in q.object.value)
