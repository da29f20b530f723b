"""The knowledge graph: formats, descriptions, hybrid retrieval, the saved index and its staleness."""

from __future__ import annotations


import pytest
from rdflib import Graph

from agentmesh.errors import KnowledgeGraphError, KnowledgeGraphNotFoundError, KnowledgeGraphSyntaxError
from agentmesh.knowledge import KnowledgeBase, KnowledgeStore
from agentmesh.knowledge.describe import describe_nodes
from agentmesh.models.testing import HashingEmbeddings

FORMATS = {"nt": "nt", "rdf": "xml", "jsonld": "json-ld", "ttl": "turtle"}


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_every_triple_format_loads(small_kg, tmp_path, suffix):
    source = Graph().parse(small_kg, format="turtle")
    path = tmp_path / f"copy.{suffix}"
    path.write_text(source.serialize(format=FORMATS[suffix]), encoding="utf-8")

    store = KnowledgeStore.from_paths([path])

    assert len(store) == len(source) == 9


@pytest.mark.parametrize("suffix,fmt", [("nq", "nquads"), ("trig", "trig")])
def test_quad_formats_load_into_the_union_graph(tmp_path, suffix, fmt):
    path = tmp_path / f"data.{suffix}"
    if suffix == "nq":
        path.write_text('<http://e.org/a> <http://www.w3.org/2000/01/rdf-schema#label> "A" <http://e.org/g1> .\n')
    else:
        path.write_text('<http://e.org/g1> { <http://e.org/a> <http://www.w3.org/2000/01/rdf-schema#label> "A" . }\n')
    store = KnowledgeStore.from_paths([path])
    assert len(store) == 1
    texts, _ = describe_nodes(store)
    assert [t.label for t in texts] == ["A"]


def test_folder_loads_every_rdf_file(small_kg, tmp_path):
    folder = tmp_path / "kg"
    folder.mkdir()
    (folder / "a.ttl").write_text(small_kg.read_text())
    (folder / "b.nt").write_text('<http://e.org/x> <http://www.w3.org/2000/01/rdf-schema#label> "X" .\n')
    (folder / "notes.txt").write_text("not rdf")
    assert len(KnowledgeStore.from_paths([folder])) == 10


def test_errors_name_the_file(tmp_path):
    with pytest.raises(KnowledgeGraphNotFoundError, match="missing.ttl"):
        KnowledgeStore.from_paths([tmp_path / "missing.ttl"])
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://e.org/> .\nex:a ex:b .\n")
    with pytest.raises(KnowledgeGraphSyntaxError, match=r"bad.ttl' line 2"):
        KnowledgeStore.from_paths([bad])
    odd = tmp_path / "data.csv"
    odd.write_text("a,b")
    with pytest.raises(KnowledgeGraphError, match="unknown format '.csv'"):
        KnowledgeStore.from_paths([odd])


def test_description_fallbacks_and_skipped_nodes(small_kg):
    store = KnowledgeStore.from_paths([small_kg])
    texts, skipped = describe_nodes(store)
    by_uri = {t.uri.rsplit("/", 1)[-1]: t for t in texts}

    assert by_uri["billing"].text == "Billing database: Stores invoices and payments for all customers."
    assert by_uri["teamA"].label == "Team A"  # skos:prefLabel
    assert by_uri["teamA"].description == "The payments team."  # rdfs:comment
    assert "orphan" not in by_uri and "ownedBy" not in by_uri
    assert skipped == 2  # the orphan (no text) and the property with only a label


def test_exact_label_match_ranks_first(small_kg):
    kb = KnowledgeBase.open([small_kg], HashingEmbeddings())
    nodes = kb.retrieve("what does the CRM hold about customers and payments?", k=3)
    assert nodes[0].label == "CRM"
    assert nodes[0].uri == "http://example.org/crm"


def test_retrieved_nodes_carry_label_resolved_facts(small_kg):
    kb = KnowledgeBase.open([small_kg], HashingEmbeddings())
    billing = kb.retrieve("Billing database", k=1)[0]
    assert billing.facts == ["owned by: Team A"]
    assert billing.links == [("http://example.org/teamA", "Team A")]




def test_a_question_about_a_property_prefers_properties(tmp_path):
    path = tmp_path / "onto.ttl"
    path.write_text(
        "@prefix ex: <http://e.org/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
        'ex:Salary a rdfs:Class ; rdfs:label "Salary" ; rdfs:comment "The salary paid for a job." .\n'
        'ex:baseSalary a rdf:Property ; rdfs:label "baseSalary" ; rdfs:comment "The salary paid for a job." .\n'
    )
    kb = KnowledgeBase.open([path], HashingEmbeddings())
    assert kb.retrieve("Which property gives the salary paid for a job?", k=1)[0].label == "baseSalary"
    assert kb.retrieve("Which type gives the salary paid for a job?", k=1)[0].label == "Salary"


BOILERS = (
    "@prefix ex: <http://e.org/> .\n@prefix tag: <http://e.org/tag/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
    'ex:Boiler a owl:Class ; rdfs:label "Boiler" ; rdfs:comment "A closed vessel that heats water with fuel or electricity." .\n'
    'ex:Boiler_Command a owl:Class ; rdfs:label "Boiler Command" ; rdfs:comment "A command to control a boiler." .\n'
    'tag:Boiler rdfs:label "Boiler" .\n'
)


def test_a_type_question_ending_with_a_class_name_gets_that_class(tmp_path, minilm):
    """"What class is a boiler?": the class called Boiler, not a longer class about boilers, nor a
    bare tag of the same name (a label alone says less than a defined term)."""
    path = tmp_path / "boilers.ttl"
    path.write_text(BOILERS, encoding="utf-8")
    kb = KnowledgeBase.open([path], minilm, cache_dir=tmp_path / "kg")
    assert kb.retrieve("What class is a boiler?", 3)[0].uri == "http://e.org/Boiler"
    # a class named inside the question, not at its end, gets no such push
    assert kb.retrieve("What class sends a command to control a boiler?", 1)[0].label == "Boiler Command"


def test_a_model_named_without_its_variant_suffix_ranks_first(example_kg, tmp_path, minilm):
    """"Mixtral 8x7B" means the Mixtral 8x7B Instruct node, not its larger sibling Mixtral 8x22B."""
    kb = KnowledgeBase.open([example_kg], minilm, cache_dir=tmp_path / "kg")
    assert kb.retrieve("Who develops Mixtral 8x7B?", 3)[0].label == "Mixtral 8x7B Instruct"
    assert kb.retrieve("What is the context window of Mistral 7B?", 3)[0].label == "Mistral 7B Instruct"
    assert kb.retrieve("Who develops Mixtral 8x22B?", 3)[0].label == "Mixtral 8x22B"


def test_a_thing_named_by_a_plain_word_ranks_first(example_kg, tmp_path, minilm):
    """"Gemma" has no digit or capital inside, but it is a model's name: its node comes first,
    and a question naming the longer "Gemma Terms of Use" gets that node instead."""
    kb = KnowledgeBase.open([example_kg], minilm, cache_dir=tmp_path / "kg")
    assert kb.retrieve("What is the context window of Gemma?", 3)[0].label == "Gemma"
    assert kb.retrieve("What do the Gemma Terms of Use allow?", 3)[0].label == "Gemma Terms of Use"


def test_a_node_is_written_and_read_back_by_one_format():
    """The grounding block, kg_search's result and the evidence reader share RetrievedNode's one
    line format: what render writes, parse reads back (a description with a colon included)."""
    from agentmesh.graphs.agent import render_grounding
    from agentmesh.knowledge import RetrievedNode

    node = RetrievedNode("https://example.org/llm/Phi-2", "Phi-2", "Small model: trained on textbooks", 0.9,
                         ["developer: Microsoft", "license: MIT"], [("https://example.org/llm/Microsoft", "Microsoft")])
    back = RetrievedNode.parse(node.render())
    assert (back.uri, back.label, back.description, back.facts) == (node.uri, node.label, node.description, node.facts)
    assert RetrievedNode.parse("Phi-2 is small.") is None
    stored = {"uri": node.uri, "label": node.label, "description": node.description, "score": 0.9, "facts": node.facts,
              "links": [list(node.links[0])]}  # as a checkpoint gives it back
    assert RetrievedNode.from_dict(stored) == node
    assert node.render() in render_grounding([stored])
