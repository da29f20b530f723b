"""agentmesh's agent graph vs a bare three-node LangGraph graph, same fake model, same tool.

Both run the same scripted conversation (one tool call, then an answer) N times, in this
process, with and without an in-memory checkpointer. Prints per-run times and the ratio.
Target: agentmesh at most 1.15x the bare graph.

    python bench/agent_overhead.py [--runs 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agentmesh.graphs.agent import build_agent_graph
from agentmesh.models.testing import FakeToolChatModel, tool_call


@tool
def lookup(key: str) -> str:
    """Look up a key."""
    return f"value of {key}"


def script() -> list[AIMessage]:
    return [tool_call("lookup", key="a"), AIMessage("The value of a.")]


def bare_graph(model, checkpointer):
    """model -> tools -> model -> respond: the smallest graph doing the same job."""

    def call_model(state: MessagesState):
        return {"messages": [model.bind_tools([lookup]).invoke(state["messages"])]}

    def respond(state: MessagesState):
        return {"messages": []}

    g = StateGraph(MessagesState)
    g.add_node("model", call_model)
    g.add_node("tools", ToolNode([lookup]))
    g.add_node("respond", respond)
    g.add_edge(START, "model")
    g.add_conditional_edges("model", tools_condition, {"tools": "tools", END: "respond"})
    g.add_edge("tools", "model")
    g.add_edge("respond", END)
    return g.compile(checkpointer=checkpointer)


def timed(graph, runs: int, checkpointed: bool) -> list[float]:
    times = []
    for i in range(runs):
        config = {"configurable": {"thread_id": f"t{i}"}} if checkpointed else {}
        start = time.perf_counter()
        state = graph.invoke({"messages": [HumanMessage("what is a?")]}, config)
        times.append(time.perf_counter() - start)
        assert state["messages"][-1].text == "The value of a."
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    print(f"{args.runs} runs each; one tool call + one answer per run; fake model")
    print(f"{'variant':<28}{'bare ms/run':>12}{'agentmesh ms/run':>18}{'ratio':>8}")
    for checkpointed in (False, True):
        saver = (lambda: InMemorySaver()) if checkpointed else (lambda: None)
        bare = bare_graph(FakeToolChatModel(responses=script()), saver())
        ours = build_agent_graph(FakeToolChatModel(responses=script()), [lookup], checkpointer=saver())
        timed(bare, 50, checkpointed), timed(ours, 50, checkpointed)  # warm up
        # interleave rounds so that machine noise hits both alike
        bare_t, ours_t = [], []
        for _ in range(5):
            bare_t += timed(bare, args.runs // 5, checkpointed)
            ours_t += timed(ours, args.runs // 5, checkpointed)
        b, o = statistics.median(bare_t) * 1e3, statistics.median(ours_t) * 1e3
        name = "in-memory checkpointer" if checkpointed else "no checkpointer"
        print(f"{name:<28}{b:>12.3f}{o:>18.3f}{o / b:>7.2f}x")


if __name__ == "__main__":
    main()
