"""Agent.events: one typed set of events for every face, decoded from the graph in one place."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.apps.events import run_events
from agentmesh.events import (Answer, ApprovalNeeded, Citations, Claims, Done, Token, ToolCallFinished,
                              ToolCallStarted)
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def wipe(table: str) -> str:
    """Delete a table."""
    return f"wiped {table}"


wipe.metadata = {"approval": True}


def _agent(responses, tools, **settings):
    model = FakeToolChatModel(responses=responses, stream_words=True)
    return Agent(Settings.load(cache=False, tools=[], answer_check="off", **settings), model=model,
                 embeddings=HashingEmbeddings(), extra_tools=tools, checkpointer=InMemorySaver())


def test_a_run_yields_typed_events_in_order():
    agent = _agent([tool_call("add", a=2, b=3), AIMessage("The sum is 5.")], [add])
    events = list(agent.events("What is 2 + 3?", "t1"))
    kinds = [type(e) for e in events]
    assert kinds[:2] == [ToolCallStarted, ToolCallFinished]
    assert Token in kinds and kinds[-4:] == [Answer, Citations, Claims, Done]
    assert events[1].ok and events[1].output == "5"
    answer = next(e for e in events if isinstance(e, Answer))
    assert answer.text == "The sum is 5." and answer.streamed and answer.stop_reason == "answered"
    assert "".join(e.text for e in events if isinstance(e, Token)).strip() == "The sum is 5."
    assert events[-1].result.answer == "The sum is 5."


def test_an_approval_stops_the_events_and_the_wire_form_is_the_same_set():
    agent = _agent([tool_call("wipe", table="models"), AIMessage("Done.")], [wipe])
    events = list(agent.events("Wipe the models table", "t2"))
    stop = next(e for e in events if isinstance(e, ApprovalNeeded))
    assert stop.calls[0]["name"] == "wipe" and events[-1].result.pending
    wire = list(run_events(agent, None, "t2", resume="approve"))
    assert [e["type"] for e in wire][-4:] == ["answer", "citations", "claims", "done"]
    assert wire[0] == {"type": "tool_result", "id": stop.calls[0]["id"], "name": "wipe", "ok": True, "output": "wiped models"}
