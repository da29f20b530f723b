"""Routing each model call to a model, by policy; deterministic, and every choice explained.

The policy, in order:
1. privacy: a request marked private (a thread, a tool or a tool's output) goes to local
   models only;
2. fit: prompt plus expected output must fit the context window;
3. capability: tool calls (native, or JSON mode for our constrained tool calling);
4. budget: the call's cost must fit what is left of the money and token budgets;
5. quality: the task asks for a tier (quick chat 1, code 2, long document 2, reasoning 3, or
   the request's own ``min_tier``); models below it are kept only as a last resort, and the
   decision says so, so the embedded CPU model is never used silently when quality was asked;
6. among adequate models, the cheapest expected cost wins; then the lowest expected latency,
   within the latency target when one is given; local before hosted on a tie.

``Router`` is a protocol: a learned router only has to implement ``route``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from agentmesh.ports import Router

from agentmesh.errors import ModelUnavailableError
from agentmesh.models.catalog import Catalog, ModelSpec

__all__ = ["Task", "RouteRequest", "Budget", "Decision", "Router", "PolicyRouter", "infer_task", "TASK_TIERS"]

Task = Literal["chat", "code", "long_document", "reasoning"]
TASK_TIERS: dict[str, int] = {"chat": 1, "code": 2, "long_document": 2, "reasoning": 3}
_CODE = re.compile(r"```|\b(def|class|function|python|sql|regex|bug|stack ?trace|compile|refactor|unit tests?|javascript|typescript|code)\b", re.I)
_REASONING = re.compile(r"\b(prove|proof|derive|step by step|why does|trade-?offs?|plan|strategy|compare .* and|which .* better|analy[sz]e)\b", re.I)


def infer_task(text: str, prompt_tokens: int) -> Task:
    """A cheap guess of the kind of task, from the request's words and length."""
    if prompt_tokens > 6000:
        return "long_document"
    if _CODE.search(text):
        return "code"
    if _REASONING.search(text):
        return "reasoning"
    return "chat"


@dataclass
class RouteRequest:
    text: str
    prompt_tokens: int
    max_output_tokens: int = 512
    task: Task | None = None
    private: bool = False
    needs_tools: bool = False
    min_tier: int | None = None
    latency_target_s: float | None = None

    def required_tier(self) -> int:
        task = self.task or infer_task(self.text, self.prompt_tokens)
        return self.min_tier if self.min_tier is not None else TASK_TIERS[task]


@dataclass
class Budget:
    """What may still be spent; None means unlimited."""

    money_usd: float | None = None
    tokens: int | None = None

    def allows(self, cost: float, tokens: int) -> bool:
        return (self.money_usd is None or cost <= self.money_usd + 1e-12) and (self.tokens is None or tokens <= self.tokens)

    def spend(self, cost: float, tokens: int) -> None:
        if self.money_usd is not None:
            self.money_usd -= cost
        if self.tokens is not None:
            self.tokens -= tokens


@dataclass
class Decision:
    model: ModelSpec
    reason: str
    fallbacks: list[ModelSpec] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    estimated_cost: float = 0.0
    below_requested_tier: bool = False


class PolicyRouter:
    """The rule-based router described in the module docstring."""

    def __init__(self, catalog: Catalog, *, allow_below_tier: bool = True) -> None:
        self.catalog = catalog
        self.allow_below_tier = allow_below_tier

    def route(self, request: RouteRequest, budget: Budget | None = None, unavailable: frozenset[str] = frozenset()) -> Decision:
        budget = budget or Budget()
        need = request.required_tier()
        tokens = request.prompt_tokens + request.max_output_tokens
        rejected: dict[str, str] = {}
        usable: list[ModelSpec] = []
        for spec in self.catalog:
            cost = spec.cost(request.prompt_tokens, request.max_output_tokens)
            if spec.name in unavailable:
                rejected[spec.name] = "unavailable (health check or circuit breaker)"
            elif request.private and not spec.local:
                rejected[spec.name] = "private data stays on local models"
            elif tokens > spec.context_window:
                rejected[spec.name] = f"needs {tokens:,} tokens, window is {spec.context_window:,}"
            elif request.needs_tools and not (spec.tool_calls or spec.json_mode):
                rejected[spec.name] = "no tool calling"
            elif not budget.allows(cost, tokens):
                rejected[spec.name] = f"${cost:.4f} / {tokens:,} tokens exceed the budget left"
            else:
                usable.append(spec)

        def key(spec: ModelSpec) -> tuple:
            slow = request.latency_target_s is not None and spec.expected_seconds(request.max_output_tokens) > request.latency_target_s
            return (slow, spec.cost(request.prompt_tokens, request.max_output_tokens),
                    spec.expected_seconds(request.max_output_tokens), not spec.local, spec.name)

        adequate = sorted((s for s in usable if s.tier >= need), key=key)
        weaker = sorted((s for s in usable if s.tier < need), key=lambda s: (-s.tier, *key(s)))
        for spec in weaker:
            rejected.setdefault(spec.name, f"tier {spec.tier} is below the tier {need} this task needs")
        ordered = adequate + (weaker if self.allow_below_tier else [])
        if not ordered:
            raise ModelUnavailableError(
                "no model can take this request: " + "; ".join(f"{n}: {r}" for n, r in sorted(rejected.items()))
            )
        chosen = ordered[0]
        cost = chosen.cost(request.prompt_tokens, request.max_output_tokens)
        if chosen.tier >= need:
            reason = (f"tier {chosen.tier} >= {need} needed; cheapest adequate at ${cost:.4f}"
                      + ("; private: local only" if request.private else ""))
        else:
            reason = f"no model of tier {need} is usable; falling back to tier {chosen.tier} (below what the task needs)"
        return Decision(chosen, reason, ordered[1:], rejected, cost, chosen.tier < need)
