"""The cost of OpenTelemetry tracing on a run: the same Agent run (fake model, one tool call, an
answer) with tracing off, and on with spans kept in memory (a batch processor, as with OTLP).

Both variants run in this process, interleaved in rounds; prints ms/run and the ratio to off.

    python bench/telemetry_overhead.py [--runs 600]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentmesh import Agent, Settings
from agentmesh.assembly import Components
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call
from agentmesh.runs.telemetry import Telemetry


@tool
def lookup(key: str) -> str:
    """Look up a key."""
    return f"value of {key}"


class Looping(FakeToolChatModel):
    """Replays the script forever (a tool call, then the answer)."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        if self.i >= len(self.responses):
            self.i = 0
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def agent(home: str, telemetry: Telemetry | None) -> Agent:
    settings = Settings.load(home=home, tools=[], cache=False, top_k_nodes=0)
    model = Looping(responses=[tool_call("lookup", key="a"), AIMessage("The value of a.")])
    return Agent(components=Components.from_settings(settings, model=model, embeddings=HashingEmbeddings(),
                                                     extra_tools=[lookup], telemetry=telemetry))


def timed(a: Agent, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = a.run("what is a?")
        times.append(time.perf_counter() - start)
        assert result.answer == "The value of a.", result.answer
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=600)
    args = parser.parse_args()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    with tempfile.TemporaryDirectory() as off_home, tempfile.TemporaryDirectory() as on_home:
        off, on = agent(off_home, None), agent(on_home, Telemetry(tracer_provider=provider))
        timed(off, 30), timed(on, 30)  # warm up
        off_t, on_t = [], []
        for _ in range(5):  # interleaved, so machine noise hits both alike
            off_t += timed(off, args.runs // 5)
            on_t += timed(on, args.runs // 5)
    provider.force_flush()
    spans = len(exporter.get_finished_spans())
    o, n = statistics.median(off_t) * 1e3, statistics.median(on_t) * 1e3
    print(f"{args.runs} runs each; one tool call + one answer per run; fake model; {spans / (args.runs + 30):.0f} spans per traced run")
    print(f"{'variant':<34}{'ms/run':>10}{'ratio':>8}")
    print(f"{'tracing off':<34}{o:>10.3f}{1:>7.2f}x")
    print(f"{'tracing on (batch, in memory)':<34}{n:>10.3f}{n / o:>7.2f}x")
    provider.shutdown()


if __name__ == "__main__":
    main()
