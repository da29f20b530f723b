"""Build eval.jsonl, the question set of the example domain, from the data itself.

Each lookup's expectation is read from landscape.sqlite, so it is right by construction, and
tests/test_example.py rebuilds the file and checks it against both landscape.sqlite and
landscape.ttl. The set has four kinds of questions:
- lookups: who develops a model, its licence, its context window;
- lookups of what only the database holds: a model's MMLU score, its prices per 1M tokens;
- values worked out from looked-up ones: the MMLU gap between two models, a cost from a model's prices;
- aggregates: the highest and lowest benchmark scores and prices, and counts;
- aggregates under conditions the question sets: a developer or a licence, a bound on a number
  ("Which model under 10B parameters has the best MMLU score?"), each answered here by plain SQL;
- questions whose answer is not in the data (a context window the sources do not give, a CEO);
- the hand-written two-tool questions of questions.json.

    python examples/llm-landscape/build_eval.py          # writes eval.jsonl
    agentmesh eval examples/llm-landscape/eval.jsonl
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

HERE = Path(__file__).resolve().parent

_SCORES = "FROM benchmarks b JOIN models m ON m.id = b.model_id "
CONDITIONED = [  # (question, the SQL a person would write for it: its first row is the answer)
    ("Which Mistral AI model has the highest MMLU score?",
     "SELECT m.name, b.mmlu " + _SCORES + "JOIN developers d ON d.id = m.developer_id "
     "WHERE d.name = 'Mistral AI' AND b.mmlu IS NOT NULL ORDER BY b.mmlu DESC LIMIT 1"),
    ("Which model under 10B parameters has the best MMLU score?",
     "SELECT m.name, b.mmlu " + _SCORES + "WHERE m.params_b < 10 AND b.mmlu IS NOT NULL ORDER BY b.mmlu DESC LIMIT 1"),
    ("Which model with more than 100B parameters has the highest MMLU score?",
     "SELECT m.name, b.mmlu " + _SCORES + "WHERE m.params_b > 100 AND b.mmlu IS NOT NULL ORDER BY b.mmlu DESC LIMIT 1"),
    ("Which proprietary model has the lowest MMLU score?",
     "SELECT m.name, b.mmlu " + _SCORES + "WHERE m.license_id = 'Proprietary' AND b.mmlu IS NOT NULL ORDER BY b.mmlu LIMIT 1"),
    ("Which open-weight model with at least 32K context has the best HumanEval score?",
     "SELECT m.name, b.humaneval " + _SCORES + "WHERE m.open_weights = 1 AND m.context_window >= 32000 "
     "AND b.humaneval IS NOT NULL ORDER BY b.humaneval DESC LIMIT 1"),
    ("Which model with a context window of at least 100K tokens is cheapest per 1M output tokens?",
     "SELECT m.name, p.output_per_1m_usd FROM prices p JOIN models m ON m.id = p.model_id "
     "WHERE m.context_window >= 100000 AND p.output_per_1m_usd IS NOT NULL ORDER BY p.output_per_1m_usd LIMIT 1"),
    ("How many Apache 2.0 models have a context window of at least 32K?",
     "SELECT count(*) FROM models WHERE license_id = 'Apache-2.0' AND context_window >= 32000"),
    ("How many MIT-licensed models are there?", "SELECT count(*) FROM models WHERE license_id = 'MIT'"),
    ("How many models from OpenAI does the database list?",
     "SELECT count(*) FROM models m JOIN developers d ON d.id = m.developer_id WHERE d.name = 'OpenAI'"),
]


def questions(db: Path = HERE / "landscape.sqlite") -> list[dict]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT m.name, d.name, l.name, m.context_window FROM models m JOIN developers d ON d.id = m.developer_id "
        "JOIN licenses l ON l.id = m.license_id ORDER BY m.name").fetchall()
    items: list[dict] = []
    for name, developer, licence, window in rows:
        items.append({"question": f"Who develops {name}?", "values": [developer], "tags": ["lookup"]})
        items.append({"question": f"Which licence does {name} use?", "values": [licence], "tags": ["lookup"]})
        if window is None:
            items.append({"question": f"What is the context window of {name}?", "absent": True, "tags": ["absent"]})
        else:
            items.append({"question": f"What is the context window of {name}?", "values": [str(window)], "tags": ["lookup"]})
    # values only the database holds: a named model's benchmark score and prices (and a score it lacks)
    for name, mmlu in conn.execute("SELECT m.name, b.mmlu FROM models m LEFT JOIN benchmarks b ON b.model_id = m.id "
                                   "WHERE b.mmlu IS NOT NULL OR m.name IN ('GPT-4o', 'Claude 2.1', 'Phi-2') ORDER BY m.name"):
        question = f"What is the MMLU score of {name}?"
        items.append({"question": question, "absent": True, "tags": ["absent", "sql-lookup"]} if mmlu is None else
                     {"question": question, "values": [f"{mmlu:g}"], "tags": ["sql-lookup"]})
    for name, inp, out in conn.execute("SELECT m.name, p.input_per_1m_usd, p.output_per_1m_usd FROM prices p "
                                       "JOIN models m ON m.id = p.model_id ORDER BY m.name"):
        items.append({"question": f"What does {name} cost per 1M input tokens?", "values": [f"{inp:g}"], "tags": ["sql-lookup"]})
        items.append({"question": f"What does {name} cost per 1M output tokens?", "values": [f"{out:g}"], "tags": ["sql-lookup"]})
    # worked out from looked-up values: the gap between two models' scores, a cost from one model's prices
    mmlu = dict(conn.execute("SELECT m.name, b.mmlu FROM models m JOIN benchmarks b ON b.model_id = m.id"))
    for first, second in (("GPT-4", "Qwen 72B Chat"), ("Mixtral 8x7B Instruct", "Mistral 7B Instruct"),
                          ("GPT-3.5 Turbo", "Llama 2 70B Chat")):
        items.append({"question": f"What is the MMLU gap between {first} and {second}?",
                      "values": [f"{mmlu[first] - mmlu[second]:.1f}"], "tags": ["worked-out"]})
    prices = {n: (i, o) for n, i, o in conn.execute(
        "SELECT m.name, p.input_per_1m_usd, p.output_per_1m_usd FROM prices p JOIN models m ON m.id = p.model_id")}
    for name, (inp, out) in (("Mistral Large", (1, 2)), ("Phi-3 Medium", (3, 1))):
        total = inp * prices[name][0] + out * prices[name][1]
        items.append({"question": f"How much does {name} cost for {inp}M input and {out}M output tokens?",
                      "values": [f"{total:.2f}"], "tags": ["worked-out"]})
    for column, label in (("mmlu", "MMLU"), ("humaneval", "HumanEval"), ("gsm8k", "GSM8K")):
        (best, score), = conn.execute(
            f"SELECT m.name, b.{column} FROM benchmarks b JOIN models m ON m.id = b.model_id "
            f"WHERE b.{column} IS NOT NULL ORDER BY b.{column} DESC LIMIT 1").fetchall()
        items.append({"question": f"Which model has the highest {label} score?", "values": [best, f"{score:g}"],
                      "tags": ["aggregate"]})
    (cheap, price), = conn.execute(
        "SELECT m.name, p.input_per_1m_usd FROM prices p JOIN models m ON m.id = p.model_id "
        "WHERE p.input_per_1m_usd IS NOT NULL ORDER BY p.input_per_1m_usd, m.name LIMIT 1").fetchall()
    items.append({"question": "Which model is cheapest per 1M input tokens?", "values": [cheap, f"{price:g}"],
                  "tags": ["aggregate"]})
    (open_count,), = conn.execute("SELECT count(*) FROM models WHERE open_weights = 1").fetchall()
    items.append({"question": "How many models in the database have open weights?", "values": [str(open_count)],
                  "tags": ["aggregate"]})
    (count,), = conn.execute("SELECT count(*) FROM models").fetchall()
    items.append({"question": "How many models does the database list?", "values": [str(count)], "tags": ["aggregate"]})
    for question, sql in CONDITIONED:
        row = conn.execute(sql).fetchone()
        items.append({"question": question, "values": [v if isinstance(v, str) else f"{v:g}" for v in row],
                      "tags": ["conditions"]})
    for question in ("Who is the CEO of Mistral AI?", "What is the MMLU score of GPT-5?",
                     "How many employees does Anthropic have?"):
        items.append({"question": question, "absent": True, "tags": ["absent"]})
    conn.close()
    for item in json.loads((HERE / "questions.json").read_text()):
        items.append({"question": item["question"], "expected": item["expected"], "tags": ["two-tool", *item.get("tools", [])]})
    return items


def render(items: list[dict]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


if __name__ == "__main__":
    (HERE / "eval.jsonl").write_text(render(questions()), encoding="utf-8")
    print(f"wrote {HERE / 'eval.jsonl'}")
