"""Write cache_pairs.json: question pairs about the LLM domain that a semantic cache must tell apart
(near misses: the same words but one, and that one changes the answer) or must match (paraphrases).

Each pair is {"a", "b", "same": bool, "kind"}; a paraphrase also has its "intent" (what is
asked, of which model): two paraphrases of one intent ask the same thing too, so a cache that
answers "Who built X?" with the entry "Who develops X?" is right. The kinds of near miss are the false hits
measured on a cache before its checks existed (issue 13), plus some the checks were not
written for (other metrics, other properties of the same model). The paraphrases vary the
wording the way people do: another verb, another order, a synonym, a possessive.
tests/test_cache_pairs.py keeps the file labelled and in step with this script.

    python bench/data/build_cache_pairs.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ["GPT-4o", "Claude 2.1", "Mixtral 8x7B Instruct", "Llama 3.2 11B", "Gemma", "Qwen 72B Chat", "Phi-2",
          "Command R+", "Falcon 40B", "Mistral 7B Instruct", "Grok-1", "MPT-7B"]

NEAR_MISSES = [  # (kind, a, b): the cached question, and the one it must not answer
    ("direction", "How many input tokens can {m} take?", "How many output tokens can {m} take?"),
    ("direction", "What does {m} charge per 1M input tokens?", "What does {m} charge per 1M output tokens?"),
    ("superlative", "What is the cheapest way to run {m}?", "What is the most expensive way to run {m}?"),
    ("superlative", "Which benchmark is {m} best at?", "Which benchmark is {m} worst at?"),
    ("comparison", "Which models are larger than {m}?", "Which models are smaller than {m}?"),
    ("comparison", "Which models have a longer context window than {m}?", "Which models have a shorter context window than {m}?"),
    ("before/after", "Which models came out before {m}?", "Which models came out after {m}?"),
    ("lifecycle", "When was {m} released?", "When was {m} deprecated?"),
    ("terms of use", "Can {m} be used for commercial purposes?", "Can {m} be used for research purposes?"),
    ("free/paid", "Is there a free tier for {m}?", "Is there a paid tier for {m}?"),
    ("currency", "What is the price of {m} in euros?", "What is the price of {m} in dollars?"),
    ("time unit", "What is the typical latency of {m} in milliseconds?", "What is the typical latency of {m} in seconds?"),
    ("unit", "How many tokens fit in the context window of {m}?", "How many words fit in the context window of {m}?"),
    ("rate", "What does hosting {m} cost per hour?", "What does hosting {m} cost per token?"),
    ("change", "Did the price of {m} increase this year?", "Did the price of {m} decrease this year?"),
    ("property", "Who develops {m}?", "Which licence does {m} use?"),
    ("property", "What is the context window of {m}?", "How many parameters does {m} have?"),
    ("metric", "What is the MMLU score of {m}?", "What is the HumanEval score of {m}?"),
]
MODEL_PAIRS = [  # (kind, a, b): another model, or a variant of it
    ("variant", "What is the context window of GPT-4?", "What is the context window of GPT-4 Turbo?"),
    ("variant", "How much does GPT-4o cost per 1M input tokens?", "How much does GPT-4o mini cost per 1M input tokens?"),
    ("variant", "Who develops Mixtral 8x7B?", "Who develops Mixtral 8x22B?"),
    ("variant", "What is the MMLU score of Claude 3 Opus?", "What is the MMLU score of Claude 3 Haiku?"),
    ("variant", "Which licence does Llama 2 use?", "Which licence does Llama 2 Chat use?"),
    ("variant", "Is Gemini Pro open weights?", "Is Gemini Ultra open weights?"),
    ("variant", "What is the context window of Claude 2?", "What is the context window of Claude 2.1?"),
    ("variant", "When was Mistral 7B released?", "When was Mistral 7B Instruct released?"),
    ("another model", "Who develops Phi-2?", "Who develops Phi-3 Medium?"),
    ("another model", "What is the GSM8K score of GPT-4?", "What is the GSM8K score of Gemma?"),
    ("role", "Who is the CEO of Mistral AI?", "Who is the CTO of Mistral AI?"),
    ("role", "Who is the founder of Anthropic?", "Who is the chairman of Anthropic?"),
    ("negation", "Which models have open weights?", "Which models do not have open weights?"),
    ("order", "Is GPT-4 better than Claude 2 at coding?", "Is Claude 2 better than GPT-4 at coding?"),
    ("number", "Which models have at least 32K context?", "Which models have at least 128K context?"),
    ("comparison", "Which models have more than 70B parameters?", "Which models have fewer than 70B parameters?"),
]
PARAPHRASES = [  # (intent, a, b): questions of one intent about one model ask the same thing
    ("developer", "Who develops {m}?", "Which company makes {m}?"),
    ("developer", "Who is the developer of {m}?", "Who built {m}?"),
    ("context", "What is the context window of {m}?", "How long is the context window of {m}?"),
    ("context", "What is the context length of {m}?", "How much context can {m} handle?"),
    ("licence", "Which licence does {m} use?", "What licence is {m} published under?"),
    ("released", "When was {m} released?", "When did {m} come out?"),
    ("released", "What is the release date of {m}?", "When was {m} launched?"),
    ("parameters", "How many parameters does {m} have?", "What is the parameter count of {m}?"),
    ("open", "Are the weights of {m} open?", "Is {m} an open-weight model?"),
    ("mmlu", "What is the MMLU score of {m}?", "How does {m} score on MMLU?"),
    ("humaneval", "What is {m}'s HumanEval score?", "What does {m} score on HumanEval?"),
    ("humaneval", "What is the HumanEval score of {m}?", "How well does {m} do on HumanEval?"),
    ("about", "Tell me about {m}.", "What is {m}?"),
]
FIXED_PARAPHRASES = [
    ("Which model is the cheapest?", "Which model is least expensive?"),
    ("Who is the CEO of Mistral AI?", "Who is the chief executive of Mistral AI?"),
    ("Which is the biggest open model?", "Which open model is the largest?"),
    ("What does GPT-4o cost in USD?", "What does GPT-4o cost in dollars?"),
    ("Which model has the highest MMLU score?", "Which model has the top MMLU score?"),
    ("Which models have open weights?", "Which models are open-weight?"),
    ("How many models does the database list?", "How many models are in the database?"),
    ("Which developer has the most models?", "Which company makes the most models?"),
]


def pairs() -> list[dict]:
    out: list[dict] = []
    for round_ in range(6):  # each near-miss template with six different models
        for t, (kind, a, b) in enumerate(NEAR_MISSES):
            m = MODELS[(t + 5 * round_) % len(MODELS)]
            out.append({"a": a.format(m=m), "b": b.format(m=m), "same": False, "kind": kind})
    out += [{"a": a, "b": b, "same": False, "kind": kind} for kind, a, b in MODEL_PAIRS]
    for round_ in range(len(MODELS)):  # each paraphrase template with every model
        for t, (intent, a, b) in enumerate(PARAPHRASES):
            m = MODELS[(7 * t + 5 * round_) % len(MODELS)]
            out.append({"a": a.format(m=m), "b": b.format(m=m), "same": True, "kind": "paraphrase", "intent": f"{intent}:{m}"})
    out += [{"a": a, "b": b, "same": True, "kind": "paraphrase", "intent": ""} for a, b in FIXED_PARAPHRASES]
    seen, unique = set(), []
    for pair in out:
        if (pair["a"], pair["b"]) not in seen:
            seen.add((pair["a"], pair["b"]))
            unique.append(pair)
    return unique


def render(items: list[dict]) -> str:
    return json.dumps(items, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    items = pairs()
    (HERE / "cache_pairs.json").write_text(render(items), encoding="utf-8")
    print(f"wrote {len(items)} pairs: {sum(not p['same'] for p in items)} near misses, {sum(p['same'] for p in items)} paraphrases")
