"""Answer check: the embedded default with `answer_check = off` vs `strict`, in one process.

Runs the example questions (examples/llm-landscape/questions.json) through the real embedded
model twice, each in a fresh thread with the cache off, and scores each answer against its
expectation by its key values, as ``agentmesh eval`` scores it (the numbers and names the
expected answer holds; an answer is right when it holds all of them). Reported per policy:
right, wrong and shown as fact, and replaced / "not found" (the check refused to show the model's answer), with p50 latency.
The figure to watch is *wrong and shown as fact*: the check exists to drive it to zero.

    python bench/answer_check.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from agentmesh import Agent, Settings
from agentmesh.evaluation import score_answer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "llm-landscape"


def run(policy: str, questions: list[dict], home: Path) -> list[dict]:
    settings = Settings.load(kg=[EXAMPLE / "landscape.ttl"], db=EXAMPLE / "landscape.sqlite", cache=False,
                             approval="auto", answer_check=policy, home=home)
    agent = Agent(settings)
    agent.run("What is the context window of Claude 2.1?")  # warm: model, index, sandbox
    rows = []
    for i, item in enumerate(questions):
        started = time.perf_counter()
        result = agent.run(item["question"], thread_id=f"{policy}-{i}")
        seconds = time.perf_counter() - started
        replaced = result.stop_reason in ("evidence_only", "not_found")
        ok = score_answer(result.answer, {"expected": item["expected"]})  # the scoring agentmesh eval uses
        rows.append({"question": item["question"], "answer": result.answer, "stop_reason": result.stop_reason,
                     "right": ok, "shown_wrong": not ok and not replaced, "replaced": replaced, "seconds": seconds,
                     "unsupported": [c.text for c in result.unsupported]})
    return rows


def summary(policy: str, rows: list[dict]) -> str:
    n = len(rows)
    p50 = statistics.median(r["seconds"] for r in rows)
    return (f"{policy:<7} {sum(r['right'] for r in rows):>3}/{n} right   "
            f"{sum(r['shown_wrong'] for r in rows):>3}/{n} wrong and shown as fact   "
            f"{sum(r['replaced'] for r in rows):>3}/{n} replaced or not found   p50 {p50:5.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--json", type=Path, help="write every answer here")
    args = parser.parse_args()
    questions = json.loads((EXAMPLE / "questions.json").read_text())
    questions = questions[: args.limit] if args.limit else questions
    results = {}
    with tempfile.TemporaryDirectory() as home:
        for policy in ("off", "strict"):
            results[policy] = run(policy, questions, Path(home) / policy)
    print(f"== {len(questions)} example questions, embedded default, cache off")
    for policy, rows in results.items():
        print(summary(policy, rows))
    off, strict = (sum(r["shown_wrong"] for r in results[p]) for p in ("off", "strict"))
    print(f"wrong answers shown as fact: strict/off = {strict}/{off}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
