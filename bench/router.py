"""Routing simulation: always-strongest vs always-cheapest vs agentmesh's policy router.

48 requests written for this benchmark, each labelled with the cheapest tier that answers it
well (1 small, 2 medium, 3 strong), with plausible prompt and answer sizes. The router sees only
the text and the sizes (it infers the task itself). Reported: total cost, the share of requests
sent to an adequate tier, and the routing decision's own cost per call. Two fleets: hosted models
only, and hosted plus a local GPU server. Target: >= 50% cheaper than always-strongest with
>= 95% of requests on an adequate tier.

    python bench/router.py
"""

from __future__ import annotations

import time

from agentmesh.models.catalog import Catalog
from agentmesh.models.router import PolicyRouter, RouteRequest

# (text, prompt tokens, output tokens, cheapest adequate tier)
REQUESTS = [
    ("Who develops Qwen 72B Chat?", 300, 60, 1),
    ("What is the context window of Claude 2.1?", 300, 40, 1),
    ("Hi! What can you do?", 80, 120, 1),
    ("Translate 'good morning' into German", 60, 20, 1),
    ("List the Apache-2.0 models in our catalogue", 900, 200, 1),
    ("What licence does Mixtral use?", 280, 40, 1),
    ("Give me three name ideas for a staging cluster", 90, 80, 1),
    ("When was GPT-4o released?", 250, 30, 1),
    ("What does MMLU measure?", 200, 150, 1),
    ("Thanks, that's all for today", 60, 20, 1),
    ("What is our on-call rota for next week?", 700, 120, 1),
    ("Convert 45 degrees Celsius to Fahrenheit", 70, 30, 1),
    ("Where are invoices stored?", 400, 60, 1),
    ("Which team owns the billing database?", 350, 40, 1),
    ("Summarise this paragraph in one sentence: the release moved to Tuesday because QA found two blockers.", 120, 40, 1),
    ("What's the difference between open weights and open source, briefly?", 150, 200, 1),
    ("Write a SQL query listing models with MMLU above 70", 900, 150, 2),
    ("Fix this bug: my python function returns None instead of the sum", 600, 300, 2),
    ("Write a regex that matches ISO dates", 100, 120, 2),
    ("Refactor this class into two smaller ones ```class A: ...```", 1500, 900, 2),
    ("Write unit tests for the date parser", 1200, 900, 2),
    ("Explain this stack trace and suggest a fix", 1800, 500, 2),
    ("Translate this Python snippet to TypeScript", 700, 500, 2),
    ("Write a function that deduplicates a list of dicts by key", 200, 300, 2),
    ("Compile a bash script that rotates the logs daily", 150, 300, 2),
    ("Summarise the attached 40-page contract and list the termination clauses", 30_000, 1200, 2),
    ("Summarise this design document for an executive audience", 12_000, 800, 2),
    ("Extract all deadlines from these meeting notes", 9_000, 500, 2),
    ("Read this log file and tell me when the errors started", 20_000, 400, 2),
    ("Summarise these three customer interviews into themes", 15_000, 900, 2),
    ("Which of our two database designs is better for write-heavy loads? Analyse the trade-offs", 1500, 1000, 3),
    ("Prove that the scheduling heuristic never double-books a room", 800, 1200, 3),
    ("Plan a migration strategy from MySQL to PostgreSQL with zero downtime", 600, 1500, 3),
    ("Why does the cache hit rate drop after a deploy? Analyse the likely causes", 900, 900, 3),
    ("Derive the expected cost per request under both pricing models, step by step", 700, 1000, 3),
    ("Compare the risks of open-weight and hosted models for our medical records and recommend one", 900, 1200, 3),
    ("Step by step, work out how many GPUs we need for 200 requests per second", 500, 900, 3),
    ("Analyse this incident timeline and identify the root cause", 4000, 1000, 3),
    ("Which is better for us, fine-tuning or RAG? Weigh the trade-offs", 600, 1100, 3),
    ("Plan the rollout of the new billing system across three regions", 800, 1300, 3),
    ("How many models have open weights?", 400, 40, 1),
    ("Name the developer of Phi-2", 200, 20, 1),
    ("What is 15% of 340?", 60, 20, 1),
    ("Rename these variables to snake_case in this code", 400, 300, 2),
    ("Draft a short friendly reply to this customer email", 500, 250, 1),
    ("Give the price per 1M output tokens of GPT-4o", 300, 30, 1),
    ("Write a Python script that backs up the SQLite database nightly", 200, 500, 2),
    ("Why does our p95 latency spike at 9am? Analyse the graphs' description", 2500, 900, 3),
]


def simulate(fleet_name: str, catalog: Catalog, unavailable: frozenset[str]) -> None:
    router = PolicyRouter(catalog)
    fleet = [s for s in catalog if s.name not in unavailable]
    strongest = max(fleet, key=lambda s: (s.tier, s.output_per_1m))
    cheapest = min(fleet, key=lambda s: (s.input_per_1m + s.output_per_1m, -s.tier))
    rows = {"always strongest": [], "always cheapest": [], "agentmesh router": []}
    started = time.perf_counter()
    decisions = [router.route(RouteRequest(t, p, o), unavailable=unavailable) for t, p, o, _ in REQUESTS]
    per_call_us = (time.perf_counter() - started) / len(REQUESTS) * 1e6
    for (text, p, o, need), decision in zip(REQUESTS, decisions):
        for name, spec in (("always strongest", strongest), ("always cheapest", cheapest), ("agentmesh router", decision.model)):
            fits = p + o <= spec.context_window
            rows[name].append((spec.cost(p, o) if fits else 0.0, fits and spec.tier >= need))
    base = sum(c for c, _ in rows["always strongest"])
    print(f"\n== {fleet_name}: strongest = {strongest.name}, cheapest = {cheapest.name}")
    print(f"{'strategy':<20}{'total $':>10}{'vs strongest':>14}{'adequate':>10}")
    for name, results in rows.items():
        total = sum(c for c, _ in results)
        adequate = sum(ok for _, ok in results) / len(results)
        print(f"{name:<20}{total:>10.4f}{(1 - total / base) * 100:>12.1f}% {adequate * 100:>8.1f}%")
    print(f"routing decision: {per_call_us:.0f} µs per call ({len(catalog)} models in the catalog)")


def main() -> None:
    catalog = Catalog.load()
    print(f"{len(REQUESTS)} labelled requests: " + ", ".join(f"tier {t}: {sum(r[3] == t for r in REQUESTS)}" for t in (1, 2, 3)))
    local = frozenset(spec.name for spec in catalog if spec.local)
    simulate("hosted models only", catalog, local)
    # the seed documents price no hosted mid-tier model; gpt-4o-mini's figures are OpenAI's list price
    simulate("hosted, seed figures only (no gpt-4o-mini)", catalog, local | {"gpt-4o-mini"})
    simulate("hosted + a local GPU server (vLLM)", catalog, local - {"local-vllm-qwen2.5-7b"})


if __name__ == "__main__":
    main()
