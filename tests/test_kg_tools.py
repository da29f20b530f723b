"""kg_search, kg_path and the read-only sparql tool against real stores."""

from __future__ import annotations

import pytest

from agentmesh.errors import ReadOnlyViolationError, ToolError
from agentmesh.knowledge import KnowledgeBase
from agentmesh.models.testing import HashingEmbeddings
from agentmesh.tools.knowledge import make_kg_path, make_kg_search
from agentmesh.tools.sparql import check_query, make_sparql_tool, run_sparql

LLM = "https://example.org/llm/"
APACHE_MODELS = f"""
PREFIX ex: <{LLM}>
SELECT ?m WHERE {{ ?m ex:license ex:Apache-2.0 ; ex:contextWindow ?c FILTER(?c >= 32000) }} ORDER BY ?m
"""


@pytest.fixture(params=["disk", "memory"])
def kb(request, example_kg, tmp_path):
    cache = tmp_path / "kg" if request.param == "disk" else None
    return KnowledgeBase.open([example_kg], HashingEmbeddings(), cache_dir=cache)


def call(tool, **args):
    return tool.invoke({"name": tool.name, "args": args, "id": "1", "type": "tool_call"})


def test_sparql_select_with_labels_and_citations(kb):
    message = call(make_sparql_tool(kb), query=APACHE_MODELS)
    assert message.text.splitlines() == [
        "m",
        f"<{LLM}MPT-7B> (MPT-7B)",
        f"<{LLM}Mixtral-8x22B> (Mixtral 8x22B)",
        f"<{LLM}Mixtral-8x7B-Instruct> (Mixtral 8x7B Instruct)",
    ]
    kinds = [(c["kind"], c["ref"]) for c in message.artifact]
    assert kinds[0][0] == "sparql" and (("node", f"{LLM}MPT-7B") in kinds)


def test_sparql_ask_construct_describe(kb):
    assert run_sparql(kb, f"ASK {{ <{LLM}Phi-2> ?p ?o }}").render() == "true"
    construct = run_sparql(kb, f"CONSTRUCT {{ ?m <{LLM}developer> ?d }} WHERE {{ ?m <{LLM}developer> ?d }}")
    assert construct.form == "CONSTRUCT" and len(construct.rows) == 26
    assert run_sparql(kb, f"DESCRIBE <{LLM}Phi-2>").rows


@pytest.mark.parametrize(
    "query",
    [
        f"INSERT DATA {{ <{LLM}x> <{LLM}y> <{LLM}z> }}",
        f"DELETE WHERE {{ <{LLM}Phi-2> ?p ?o }}",
        "CLEAR ALL",
        "DROP DEFAULT",
        "LOAD <http://example.com/evil.ttl>",
        "DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
    ],
)
def test_sparql_updates_are_refused_and_the_graph_is_unchanged(kb, query):
    before = len(kb.store)
    with pytest.raises(ReadOnlyViolationError, match="refused"):
        run_sparql(kb, query)
    assert len(kb.store) == before


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://dbpedia.org/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE SILENT <http://x.org/q> { ?s ?q ?r } } }",
])
def test_sparql_service_is_refused(kb, query):
    with pytest.raises(ReadOnlyViolationError, match="SERVICE"):
        run_sparql(kb, query)


def test_sparql_syntax_error_says_where():
    with pytest.raises(ToolError, match="line 1"):
        check_query("SELECT ?s WHERE { ?s ?p }}")


def test_sparql_row_cap(kb):
    result = run_sparql(kb, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", row_limit=5)
    assert len(result.rows) == 5 and result.truncated
    assert "only the first 5 rows" in result.render()


def test_sparql_time_limit(example_kg, tmp_path):
    kb = KnowledgeBase.open([example_kg], HashingEmbeddings(), cache_dir=tmp_path / "kg")
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    with pytest.raises(ToolError, match="longer than 1s"):
        run_sparql(kb, heavy, timeout=1)


def test_kg_path_tool(kb):
    message = call(make_kg_path(kb), source="Zephyr 7B", target="Mistral AI")
    assert "Zephyr 7B --based on--> Mistral 7B Instruct" in message.text
    assert {c["ref"] for c in message.artifact} == {f"{LLM}Zephyr-7B", f"{LLM}Mistral-7B-Instruct", f"{LLM}MistralAI"}


def test_kg_search_tool(kb):
    message = call(make_kg_search(kb), query="Claude 2.1")
    assert message.text.startswith(f"<{LLM}Claude-2.1> Claude 2.1:")
    assert message.artifact[0] == {"kind": "node", "ref": f"{LLM}Claude-2.1", "detail": "Claude 2.1", "verified": None}
