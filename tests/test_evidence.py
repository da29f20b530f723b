"""A turn's evidence is built once and grown as tool results arrive: pick mode's offers, the
answer, the claim check and the citations read the same items, and a table's rows carry their
cells as data."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

import agentmesh.graphs.evidence as evidence_module
from agentmesh.claims import ANSWER_TOOL, ClaimChecker, row_names
from agentmesh.graphs.agent import build_agent_graph
from agentmesh.graphs.evidence import TurnEvidence, run_evidence
from agentmesh.models.testing import FakeToolChatModel, tool_call
from agentmesh.records import Evidence
from tests.test_answer_pick import sql
from tests.test_claims import LABELS, MIXTRAL, PHI

TABLE = "name | output_per_1m_usd\nLlama 3.2 11B | 0.37\nGPT-4o | 10.0"
ROW = "name | output_per_1m_usd: Llama 3.2 11B | 0.37"


def turn(*results: str) -> dict:
    """A thread's state as the graph holds it: ids on every message, a sql call and result each."""
    messages = [HumanMessage("Which model is cheapest?", id="h1")]
    for i, text in enumerate(results):
        messages += [AIMessage("", id=f"a{i}", tool_calls=[{"name": "sql", "args": {"query": f"SELECT {i}"}, "id": f"c{i}"}]),
                     ToolMessage(text, tool_call_id=f"c{i}", name="sql", id=f"r{i}")]
    return {"messages": messages, "grounding": [MIXTRAL, PHI], "question": "Which model is cheapest?"}


def test_the_turns_evidence_is_the_same_as_built_anew():
    evidence = TurnEvidence()
    for state in (turn(), turn(TABLE), turn(TABLE, "name\nPhi-2")):
        assert evidence(state) == run_evidence(state)


def test_a_tool_result_is_read_once_and_the_items_already_made_are_kept(monkeypatch):
    read = []
    source = evidence_module.tool_source
    monkeypatch.setattr(evidence_module, "tool_source", lambda name, args: read.append(args) or source(name, args))
    evidence = TurnEvidence()
    first = evidence(turn(TABLE))
    again = evidence(turn(TABLE, "name\nPhi-2"))
    assert read == [{"query": "SELECT 0"}, {"query": "SELECT 1"}]
    assert all(a is b for a, b in zip(first[:-1], again))  # the question stays last


def test_a_result_replaced_in_the_thread_is_read_anew():
    evidence = TurnEvidence()
    evidence(turn(TABLE))
    state = turn("name | output_per_1m_usd\nMixtral 8x7B | 0.7")
    assert [e.text for e in evidence(state) if e.kind == "row"] == ["name | output_per_1m_usd: Mixtral 8x7B | 0.7"]


def test_a_row_carries_its_cells_as_data_and_dumps_as_before():
    row = next(e for e in run_evidence(turn(TABLE)) if e.kind == "row")
    assert (row.text, row.columns, row.values) == (ROW, ["name", "output_per_1m_usd"], ["Llama 3.2 11B", "0.37"])
    assert set(row.model_dump()) == {"id", "kind", "text", "source", "subject"}
    assert row_names([row]) == row_names([Evidence(id="x", kind="row", text=ROW)]) == ["Llama 3.2 11B"]


def test_pick_mode_offers_and_answers_from_one_build_of_the_evidence(monkeypatch):
    built = []
    grounding = evidence_module.grounding_evidence
    monkeypatch.setattr(evidence_module, "grounding_evidence", lambda nodes: built.append(len(nodes)) or grounding(nodes))
    model = FakeToolChatModel(responses=[tool_call("sql", query="SELECT name, output_per_1m_usd FROM models"),
                                         tool_call(ANSWER_TOOL, evidence=[ROW])])
    graph = build_agent_graph(model, [sql], retrieve=lambda q: [dict(MIXTRAL), dict(PHI)], check_answer=ClaimChecker(LABELS),
                              answer_policy="strict", answer_style="pick", checkpointer=InMemorySaver())
    state = graph.invoke({"messages": [HumanMessage("Which hosted model is cheapest per 1M output tokens?")]},
                         {"configurable": {"thread_id": "t"}})
    assert state["answer"] == ROW and state["stop_reason"] == "answered"
    assert len(model.calls) == 2 and built == [2]  # two offers and the answer: the grounding read once
