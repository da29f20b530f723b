"""False flags of the claim check: an oracle model that is always right, in varied wording.

The claim check exists to catch wrong answers, but it must not cry wolf at right ones: a
person who sees correct answers marked "unsupported" learns to ignore the marks. This runs
every answerable question of examples/llm-landscape/eval.jsonl through the real agent (real
knowledge graph, real SQLite file, real python sandbox) with a scripted model that:

* for lookups, answers from the grounding in one of several phrasings ("X is developed by Y",
  "Y builds X", "about 32K tokens", "Apache 2.0" for Apache-2.0, ...);
* for aggregates and the two-tool questions, first calls the tools a careful model would
  (the right SQL, the arithmetic in python), then writes the expected answer in its own words.

It prints how many of these correct answers the check marks unsupported (``answer_check =
flag``) and how many strict mode would have replaced. Target: at most 5% false flags.

    python bench/oracle.py [--show 10]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "llm-landscape"

DEVELOPER = ["{model} is developed by {value}.", "{value} develops {model}.", "It comes from {value}.",
             "{model} was built by {value}.", "The developer is {value}."]
LICENCE = ["{model} is released under the {value} licence.", "Its licence is {value}.", "{model} uses {value}.",
           "The weights are published under {value}."]
WINDOW = ["{model} has a context window of {value:,} tokens.", "Its context window is {short} tokens.",
          "{model} reads up to {value} tokens.", "About {short} tokens."]
LICENCE_SPELLINGS = {"Apache-2.0": "Apache 2.0", "MIT": "MIT"}
SCORE = ["{model} scores {value} on MMLU.", "Its MMLU score is {value}.", "{value} points on MMLU.",
         "{model} reaches an MMLU score of {value}."]
RANKED = ["{0} comes out on top here, at {1}.", "It is {0} ({1}).", "{0}, with {1}.", "The answer is {0}: {1}."]
COUNTED = ["There are {0}.", "{0} of them.", "The database lists {0}.", "I count {0}."]
PRICE = ["{model} costs ${value} per 1M {what} tokens.", "It is {value} USD per million {what} tokens.",
         "${value} for each 1M {what} tokens.", "The {what} price of {model} is ${value} per 1M tokens."]

SQL_ANSWERS: dict[str, tuple[list[tuple[str, dict[str, Any]]], str]] = {
    # question: (tool calls in order, the answer written after them)
    "Which model has the highest MMLU score?": (
        [("sql", {"query": "SELECT m.name, b.mmlu FROM benchmarks b JOIN models m ON m.id = b.model_id ORDER BY b.mmlu DESC LIMIT 1"})],
        "{0} has the highest MMLU score: {1}."),
    "Which model has the highest HumanEval score?": (
        [("sql", {"query": "SELECT m.name, b.humaneval FROM benchmarks b JOIN models m ON m.id = b.model_id "
                           "WHERE b.humaneval IS NOT NULL ORDER BY b.humaneval DESC LIMIT 1"})],
        "The best HumanEval score, {1}, belongs to {0}."),
    "Which model has the highest GSM8K score?": (
        [("sql", {"query": "SELECT m.name, b.gsm8k FROM benchmarks b JOIN models m ON m.id = b.model_id "
                           "WHERE b.gsm8k IS NOT NULL ORDER BY b.gsm8k DESC LIMIT 1"})],
        "{0} scores highest on GSM8K, with {1}."),
    "Which model is cheapest per 1M input tokens?": (
        [("sql", {"query": "SELECT m.name, p.input_per_1m_usd FROM prices p JOIN models m ON m.id = p.model_id "
                           "WHERE p.input_per_1m_usd IS NOT NULL ORDER BY p.input_per_1m_usd, m.name LIMIT 1"})],
        "{0} is the cheapest, at ${1} per 1M input tokens."),
    "How many models in the database have open weights?": (
        [("sql", {"query": "SELECT count(*) FROM models WHERE open_weights = 1"})],
        "{0} models in the database have open weights."),
    "How many models does the database list?": (
        [("sql", {"query": "SELECT count(*) FROM models"})], "The database lists {0} models."),
    "Which licence does Mixtral 8x7B Instruct use, and who develops it?": (
        [], "Mixtral 8x7B Instruct is published under Apache 2.0 and developed by Mistral AI."),
    "Who develops Qwen 72B Chat?": ([], "Alibaba Cloud is behind Qwen 72B Chat."),
    "What is the context window of Claude 2.1?": ([], "Claude 2.1 can take 200K tokens of context."),
    "Which model is Zephyr 7B based on?": ([], "Zephyr 7B is a fine-tune of Mistral 7B Instruct."),
    "Which open-weight models have the longest context window?": (
        [("sql", {"query": "SELECT name, context_window FROM models WHERE open_weights = 1 AND context_window = "
                           "(SELECT max(context_window) FROM models WHERE open_weights = 1)"})],
        "Llama 4 Scout and Command R+ share the longest window among open models: 128,000 tokens."),
    "Which open-weight model has the best HumanEval score?": (
        [("sql", {"query": "SELECT m.name, b.humaneval FROM models m JOIN benchmarks b ON b.model_id = m.id "
                           "WHERE m.open_weights = 1 ORDER BY b.humaneval DESC LIMIT 1"})],
        "Among open-weight models, Mixtral 8x7B Instruct has the best HumanEval score (40.2)."),
    "Which Apache-2.0 model with at least 32K context has the best MMLU score, and when was it released?": (
        [("sql", {"query": "SELECT m.name, b.mmlu, m.release_month FROM models m JOIN benchmarks b ON b.model_id = m.id "
                           "JOIN licenses l ON l.id = m.license_id WHERE l.id = 'Apache-2.0' AND m.context_window >= 32000 "
                           "ORDER BY b.mmlu DESC LIMIT 1"})],
        "Mixtral 8x7B Instruct, with an MMLU of 70.6; it came out in December 2023."),
    "Which hosted model is cheapest per 1M output tokens, and under which licence are its weights published?": (
        [("sql", {"query": "SELECT m.name, p.output_per_1m_usd, l.name FROM prices p JOIN models m ON m.id = p.model_id "
                           "JOIN licenses l ON l.id = m.license_id WHERE p.output_per_1m_usd IS NOT NULL "
                           "ORDER BY p.output_per_1m_usd LIMIT 1"})],
        "Llama 3.2 11B is cheapest at $0.37 per 1M output tokens, and its weights use the Llama Community License."),
    "How much does GPT-4o cost for 2M input and 500K output tokens?": (
        [("sql", {"query": "SELECT p.input_per_1m_usd, p.output_per_1m_usd FROM prices p JOIN models m ON m.id = p.model_id "
                           "WHERE m.name = 'GPT-4o'"}),
         ("python", {"code": "print(2 * 2.50 + 0.5 * 10.00)"})],
        "That comes to $10.00 in all."),
    "What is the MMLU gap between GPT-4 and the best open-weight model, and who develops that open model?": (
        [("sql", {"query": "SELECT m.name, b.mmlu, d.name FROM models m JOIN benchmarks b ON b.model_id = m.id "
                           "JOIN developers d ON d.id = m.developer_id WHERE m.name = 'GPT-4' OR m.id = (SELECT m2.id FROM "
                           "models m2 JOIN benchmarks b2 ON b2.model_id = m2.id WHERE m2.open_weights = 1 "
                           "ORDER BY b2.mmlu DESC LIMIT 1)"}),
         ("python", {"code": "print(round(86.4 - 74.4, 1))"})],
        "GPT-4 leads by 12.0 points; the best open model is Qwen 72B Chat, developed by Alibaba Cloud."),
    "What share of Mixtral 8x7B's parameters is active per token?": (
        [("python", {"code": "print(round(12.9 / 46.7 * 100, 1))"})], "About 27.6% of its parameters are active per token."),
}


def _short(window: int) -> str:
    if window % 1024 == 0:
        return f"{window // 1024}K"
    return f"{window // 1000}K" if window % 1000 == 0 else f"{window:,}"


class OracleModel(BaseChatModel):
    """Answers each eval question correctly: tool calls first where a careful model would make them."""

    answers: dict[str, tuple[list[tuple[str, dict[str, Any]]], str]]

    @property
    def _llm_type(self) -> str:
        return "agentmesh-bench-oracle"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "OracleModel":
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        question = next(m.text for m in reversed(messages) if isinstance(m, HumanMessage))
        calls, answer = self.answers[question]
        done = [m for m in messages[next(i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], HumanMessage)):]
                if isinstance(m, ToolMessage)]
        if len(done) < len(calls):
            name, args = calls[len(done)]
            message = AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}"}])
        else:
            rows = _first_row(done[0].text) if done and "{0}" in answer else []
            message = AIMessage(answer.format(*rows))
        return ChatResult(generations=[ChatGeneration(message=message)])


def _first_row(text: str) -> list[str]:
    """The first data row of a sql tool result (a table with a header line)."""
    lines = [line for line in re.sub(r"</?data>", "", text).splitlines() if line.strip() and not set(line) <= set("-+| ")]
    body = lines[1] if len(lines) > 1 else lines[0]
    return [cell.strip() for cell in re.split(r"\s*\|\s*|\t", body.strip("| ")) if cell.strip()]


def answers(items: list[dict[str, Any]]) -> dict[str, tuple[list, str]]:
    import sys

    sys.path.insert(0, str(EXAMPLE))
    try:
        from build_eval import CONDITIONED  # the SQL a person would write for each conditioned question
    finally:
        sys.path.pop(0)
    conditioned = dict(CONDITIONED)
    out: dict[str, tuple[list, str]] = {}
    for n, item in enumerate(items):
        question = item["question"]
        if question in SQL_ANSWERS:
            out[question] = SQL_ANSWERS[question]
            continue
        if question in conditioned:
            phrasings = COUNTED if question.startswith("How many") else RANKED
            out[question] = ([("sql", {"query": conditioned[question]})], phrasings[n % len(phrasings)])
            continue
        if m := re.fullmatch(r"Who develops (.+)\?", question):
            out[question] = ([], DEVELOPER[n % len(DEVELOPER)].format(model=m[1], value=item["values"][0]))
        elif m := re.fullmatch(r"Which licence does (.+) use\?", question):
            value = LICENCE_SPELLINGS.get(item["values"][0], item["values"][0])
            out[question] = ([], LICENCE[n % len(LICENCE)].format(model=m[1], value=value))
        elif m := re.fullmatch(r"What is the MMLU score of (.+)\?", question):
            out[question] = ([("sql_lookup", {"names": [m[1]], "columns": ["mmlu"]})],
                             SCORE[n % len(SCORE)].format(model=m[1], value=item["values"][0]))
        elif m := re.fullmatch(r"What does (.+) cost per 1M (input|output) tokens\?", question):
            out[question] = ([("sql_lookup", {"names": [m[1]], "columns": [f"{m[2]}_per_1m_usd"]})],
                             PRICE[n % len(PRICE)].format(model=m[1], value=item["values"][0], what=m[2]))
        elif m := re.fullmatch(r"What is the MMLU gap between (.+) and (.+)\?", question):
            out[question] = ([("sql_lookup", {"names": [m[1], m[2]], "columns": ["mmlu"]})],
                             f"{m[1]} is {item['values'][0]} points ahead of {m[2]} on MMLU.")
        elif m := re.fullmatch(r"How much does (.+) cost for (\d+)M input and (\d+)M output tokens\?", question):
            out[question] = ([("sql_lookup", {"names": [m[1]], "columns": ["input_per_1m_usd", "output_per_1m_usd"]})],
                             f"That comes to ${item['values'][0]} in all.")
        elif m := re.fullmatch(r"What is the context window of (.+)\?", question):
            window = int(item["values"][0])
            out[question] = ([], WINDOW[n % len(WINDOW)].format(model=m[1], value=window, short=_short(window)))
        else:
            raise SystemExit(f"no oracle answer for {question!r}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=10, help="print this many false flags")
    args = parser.parse_args()

    from agentmesh import Agent, Settings
    from agentmesh.evaluation import load_questions, score_answer

    items = [item for item in map(vars, load_questions(EXAMPLE / "eval.jsonl")) if not item["absent"]]
    oracle = OracleModel(answers=answers(items))
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.load(kg=[EXAMPLE / "landscape.ttl"], db=EXAMPLE / "landscape.sqlite", cache=False,
                                 approval="auto", answer_check="flag", home=Path(home))
        agent = Agent(settings, model=oracle)
        rows = []
        for item in items:
            result = agent.run(item["question"], thread_id=f"oracle-{uuid.uuid4().hex[:8]}")
            rows.append((item, result.answer, score_answer(result.answer, item), [c.text for c in result.unsupported]))
    correct = [r for r in rows if r[2]]
    flagged = [r for r in correct if r[3]]
    print(f"oracle answers: {len(rows)}, scored correct: {len(correct)}")
    print(f"false flags: {len(flagged)}/{len(correct)} ({len(flagged) / max(len(correct), 1):.1%}); target <= 5%")
    by_tag: dict[str, list[int]] = {}
    for item, _, _, unsupported in correct:
        counts = by_tag.setdefault(item["tags"][0], [0, 0])
        counts[0] += 1
        counts[1] += bool(unsupported)
    for tag, (n, bad) in sorted(by_tag.items()):
        print(f"  {tag:<10} {bad}/{n} flagged")
    for item, answer, _, unsupported in flagged[: args.show]:
        print(f"  - {item['question']}\n    answer: {answer}\n    unsupported: {unsupported}")
    wrong = [r for r in rows if not r[2]]
    for item, answer, _, _ in wrong[: args.show]:
        print(f"  (oracle scored wrong, fix the script) {item['question']} -> {answer}")


if __name__ == "__main__":
    main()
