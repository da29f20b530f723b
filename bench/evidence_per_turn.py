"""How often one turn's evidence is built, and how many evidence items are made doing it.

A turn's evidence (the grounding's facts, each row of the tool results, the question) is what
pick mode offers the model before each model call, what the answer is rendered from and what the
claim check holds it to. Each scripted turn below (a fake model, a table tool, two grounding
nodes) runs twice in this process: as before, each step building the evidence anew
(``TurnEvidence.turns = 0``), and with the turn's evidence built once and grown as tool results
arrive. Counted: the steps that asked for the evidence, the grounding read into items, the tool
results read, and the ``Evidence`` items made (the same item made again is work done twice).

    python bench/evidence_per_turn.py
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import Any, Iterator

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

import agentmesh.graphs.evidence as evidence_module
from agentmesh.claims import ANSWER_TOOL, ClaimChecker
from agentmesh.graphs.agent import build_agent_graph
from agentmesh.graphs.evidence import TurnEvidence
from agentmesh.models.testing import FakeToolChatModel, tool_call

NODES = [
    {"uri": "https://example.org/llm/Mixtral", "label": "Mixtral 8x7B", "description": "A mixture of experts.",
     "score": 0.9, "facts": ["Mixtral 8x7B - developer: Mistral AI", "Mixtral 8x7B - license: Apache 2.0"]},
    {"uri": "https://example.org/llm/Phi-2", "label": "Phi-2", "description": "A small model.", "score": 0.8,
     "facts": ["Phi-2 - developer: Microsoft", "Phi-2 - license: MIT"]},
]
ROW = "name | output_per_1m_usd: Llama 3.2 11B | 0.37"


@tool
def sql(query: str) -> str:
    """Run SQL on the models database."""
    return "name | output_per_1m_usd\nLlama 3.2 11B | 0.37\nGPT-4o | 10.0\nMixtral 8x7B | 0.7"


SCENARIOS: dict[str, tuple[str, list[AIMessage]]] = {
    "pick, one tool step": ("pick", [tool_call("sql", query="SELECT name, output_per_1m_usd FROM models"),
                                     tool_call(ANSWER_TOOL, evidence=[ROW])]),
    "pick, two tool steps": ("pick", [tool_call("sql", query="SELECT name FROM models"),
                                      tool_call("sql", query="SELECT name, output_per_1m_usd FROM models"),
                                      tool_call(ANSWER_TOOL, evidence=[ROW])]),
    "free, one tool step": ("free", [tool_call("sql", query="SELECT name, output_per_1m_usd FROM models"),
                                     AIMessage("Llama 3.2 11B is the cheapest, at 0.37 per 1M output tokens.")]),
}


@contextmanager
def counted() -> Iterator[Counter]:
    """Counts, while the block runs: the steps that asked for the turn's evidence (``asked``),
    the grounding read into items (``grounding``), the tool results read (``results``: each names
    its call with ``tool_source``) and the ``Evidence`` items made in ``agentmesh.graphs.evidence``."""
    counts: Counter = Counter()
    made, source, grounding = evidence_module.Evidence, evidence_module.tool_source, evidence_module.grounding_evidence
    asked = TurnEvidence.__call__

    def counting(name: str, inner: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return inner(*args, **kwargs)
        return call

    evidence_module.Evidence = counting("items", made)  # type: ignore[assignment]
    evidence_module.tool_source = counting("results", source)  # type: ignore[assignment]
    evidence_module.grounding_evidence = counting("grounding", grounding)  # type: ignore[assignment]
    TurnEvidence.__call__ = counting("asked", asked)  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        evidence_module.Evidence, evidence_module.tool_source = made, source  # type: ignore[assignment]
        evidence_module.grounding_evidence = grounding  # type: ignore[assignment]
        TurnEvidence.__call__ = asked  # type: ignore[method-assign]


def run(style: str, script: list[AIMessage]) -> Counter:
    model = FakeToolChatModel(responses=list(script))
    graph = build_agent_graph(model, [sql], retrieve=lambda q: [dict(n) for n in NODES],
                              check_answer=ClaimChecker(["Mixtral 8x7B", "Phi-2", "Llama 3.2 11B", "GPT-4o"]),
                              answer_policy="flag", answer_style=style, checkpointer=InMemorySaver())
    with counted() as counts:
        state = graph.invoke({"messages": [HumanMessage("Which hosted model is cheapest per 1M output tokens?")]},
                             {"configurable": {"thread_id": "t"}})
    counts["model calls"] = len(model.calls)
    assert state["answer"], state
    return counts


def main() -> None:
    remembered = TurnEvidence.turns
    print(f"{'turn':<22}{'':<10}{'model calls':>12}{'asked':>7}{'grounding reads':>17}{'tool results read':>19}{'items made':>12}")
    for name, (style, script) in SCENARIOS.items():
        for how, turns in (("each step", 0), ("once", remembered)):
            TurnEvidence.turns = turns
            try:
                c = run(style, script)
            finally:
                TurnEvidence.turns = remembered
            print(f"{name if turns == 0 else '':<22}{how:<10}{c['model calls']:>12}{c['asked']:>7}{c['grounding']:>17}"
                  f"{c['results']:>19}{c['items']:>12}")


if __name__ == "__main__":
    main()
