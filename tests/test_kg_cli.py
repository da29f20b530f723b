"""``agentmesh kg ...`` and ``agentmesh trace export`` through the CLI runner."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import AIMessage
from rdflib import Graph
from typer.testing import CliRunner

from agentmesh.apps.cli import app
from agentmesh import plugins
from agentmesh.models.testing import FakeToolChatModel

runner = CliRunner(env={"COLUMNS": "240"})


@pytest.fixture(autouse=True)
def hashing(monkeypatch):
    monkeypatch.setenv("AGENTMESH_EMBEDDINGS", "hashing")


def test_load_then_index_then_reuse(example_kg):
    loaded = runner.invoke(app, ["kg", "load", str(example_kg)])
    assert loaded.exit_code == 0, loaded.output
    assert "302 triples from 1 file(s) and the remembered facts" in loaded.output

    first = runner.invoke(app, ["kg", "index", str(example_kg)])
    assert first.exit_code == 0, first.output
    assert re.search(r"nodes\W+59", first.output)
    assert re.search(r"embedded now\W+50", first.output)

    again = runner.invoke(app, ["kg", "index", str(example_kg)])
    assert re.search(r"embedded now\W+0", again.output) and re.search(r"reused\W+50", again.output)


def test_kg_index_builds_the_index_the_agent_uses(example_kg, tmp_path):
    """`kg index` left out the remembered facts that the agent adds, and the index folder is
    keyed by the sources: the agent rebuilt its own index and never used the one built here."""
    from agentmesh import Agent, Settings
    from agentmesh.models.testing import FakeToolChatModel

    built = runner.invoke(app, ["kg", "index", str(example_kg)])
    assert built.exit_code == 0, built.output
    indexes = sorted((tmp_path / "home" / "kg").glob("index-*"))
    assert len(indexes) == 1
    agent = Agent(Settings.load(kg=[example_kg], cache=False), model=FakeToolChatModel(responses=[]))
    assert agent.knowledge.embedded_now == 0  # reused, not rebuilt
    assert sorted((tmp_path / "home" / "kg").glob("index-*")) == indexes


def test_search_shows_nodes_and_facts(example_kg):
    result = runner.invoke(app, ["kg", "search", "Mixtral 8x7B Instruct", "--kg", str(example_kg), "-k", "2"])
    assert result.exit_code == 0, result.output
    assert "https://example.org/llm/Mixtral-8x7B-Instruct" in result.output
    assert "license: Apache 2.0" in result.output


def test_stats(example_kg):
    result = runner.invoke(app, ["kg", "stats", "--kg", str(example_kg)])
    assert result.exit_code == 0, result.output
    assert "triples 302" in result.output and "described 50" in result.output and "index flat" in result.output


def test_sparql_runs_and_refuses_updates(example_kg):
    ok = runner.invoke(app, ["kg", "sparql", "SELECT (COUNT(?m) AS ?n) WHERE { ?m a <https://example.org/llm/Model> }", "--kg", str(example_kg)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.split() == ["n", "26"]
    refused = runner.invoke(app, ["kg", "sparql", "CLEAR ALL", "--kg", str(example_kg)])
    assert refused.exit_code == 2 and "refused" in refused.output


def test_malformed_rdf_names_file_line_and_reason(tmp_path):
    bad = tmp_path / "bad.nt"
    bad.write_text("<http://e.org/a> <http://e.org/b> <http://e.org/c> .\n<http://e.org/a> <http://e.org/b> .\n")
    result = runner.invoke(app, ["kg", "load", str(bad)])
    assert result.exit_code == 2
    assert "bad.nt' line 2:" in result.output


def test_no_graph_given_is_an_error():
    result = runner.invoke(app, ["kg", "stats"])
    assert result.exit_code == 2 and "no knowledge graph given" in result.output


def test_trace_export_after_ask(example_kg, monkeypatch):
    monkeypatch.setitem(plugins.models._local, "fake", lambda name, s: FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200K tokens.")]))
    asked = runner.invoke(app, ["ask", "Claude 2.1 context?", "-m", "fake", "--kg", str(example_kg)])
    assert asked.exit_code == 0, asked.output
    run_id = re.search(r"run ([0-9a-f]{16})", asked.output).group(1)

    turtle = runner.invoke(app, ["trace", "export", run_id])
    assert turtle.exit_code == 0, turtle.output
    g = Graph().parse(data=turtle.output, format="turtle")
    assert any("Claude-2.1" in str(o) for o in g.objects())

    svg = runner.invoke(app, ["trace", "export", run_id, "--format", "svg"])
    assert svg.output.startswith("<svg")
    missing = runner.invoke(app, ["trace", "export", "nope"])
    assert missing.exit_code == 2 and "no trace for run 'nope'" in missing.output
