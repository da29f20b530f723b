"""The model catalog and the policy router: privacy, fit, budgets, tiers, explained choices."""

from __future__ import annotations

import pytest

from agentmesh.errors import ConfigError, ModelUnavailableError
from agentmesh.models.catalog import Catalog
from agentmesh.models.router import Budget, PolicyRouter, RouteRequest, infer_task


@pytest.fixture
def router():
    return PolicyRouter(Catalog.load())


def test_catalog_has_the_seed_figures():
    catalog = Catalog.load()
    assert (catalog["gpt-4o"].input_per_1m, catalog["gpt-4o"].output_per_1m) == (2.5, 10.0)
    assert catalog["embedded"].local and catalog["embedded"].tier == 0
    with pytest.raises(ConfigError, match="not in the catalog"):
        catalog["gpt-9"]


def test_user_catalog_extends_and_replaces(tmp_path):
    extra = tmp_path / "models.toml"
    extra.write_text('[[model]]\nname = "gpt-4o"\nprovider = "openai"\nmodel = "gpt-4o"\ncontext_window = 128000\n'
                     'input_per_1m = 2.0\noutput_per_1m = 8.0\nlatency_s = 1.0\ntokens_per_s = 300.0\ntier = 3\nlocal = false\n')
    assert Catalog.load(extra)["gpt-4o"].output_per_1m == 8.0
    extra.write_text('[[model]]\nname = "x"\ncolour = "red"\n')
    with pytest.raises(ConfigError, match="unknown keys colour"):
        Catalog.load(extra)


def test_quick_chat_goes_to_the_cheapest_adequate_model(router):
    decision = router.route(RouteRequest("Who develops Qwen?", prompt_tokens=300, max_output_tokens=100))
    assert decision.model.tier >= 1 and not decision.below_requested_tier
    assert decision.model.name == "local-vllm-qwen2.5-7b"  # free and adequate
    assert "cheapest adequate" in decision.reason


def test_reasoning_goes_to_a_strong_model(router):
    decision = router.route(RouteRequest("Prove that the greedy schedule is optimal, step by step", 500, 800),
                            unavailable=frozenset())
    assert decision.model.tier == 3 and decision.model.name == "mistral-large"  # cheaper than gpt-4o


def test_private_data_never_reaches_a_hosted_model(router):
    decision = router.route(RouteRequest("Prove the payroll totals, step by step", 500, 300, private=True))
    assert decision.model.local
    assert all(spec.local for spec in decision.fallbacks)
    assert decision.rejected["gpt-4o"] == "private data stays on local models"
    assert decision.below_requested_tier  # no local tier-3 model: said, not hidden


def test_long_prompts_go_to_a_larger_window(router):
    decision = router.route(RouteRequest("Summarise this contract", prompt_tokens=60_000, max_output_tokens=1000))
    assert decision.model.context_window >= 61_000
    assert "window is 32,768" in decision.rejected["local-vllm-qwen2.5-7b"]


def test_budget_is_never_exceeded_by_a_fallback(router):
    budget = Budget(money_usd=0.001)
    decision = router.route(RouteRequest("Refactor this python function", 2000, 1000), budget, unavailable=frozenset({"local-vllm-qwen2.5-7b"}))
    for spec in [decision.model, *decision.fallbacks]:
        assert spec.cost(2000, 1000) <= 0.001


def test_nothing_usable_is_a_clear_error(router):
    everything = frozenset(spec.name for spec in Catalog.load())
    with pytest.raises(ModelUnavailableError, match="no model can take this request"):
        router.route(RouteRequest("hi", 10, 10), unavailable=everything)


def test_embedded_only_when_nothing_better_and_flagged(router):
    others = frozenset(s.name for s in Catalog.load() if s.name != "embedded")
    decision = router.route(RouteRequest("Who develops Qwen?", 300, 100), unavailable=others)
    assert decision.model.name == "embedded" and decision.below_requested_tier
    assert "below what the task needs" in decision.reason
    strict = PolicyRouter(Catalog.load(), allow_below_tier=False)
    with pytest.raises(ModelUnavailableError):
        strict.route(RouteRequest("Who develops Qwen?", 300, 100), unavailable=others)


def test_routing_is_deterministic(router):
    request = RouteRequest("Write a SQL query for the top models", 800, 300)
    assert len({router.route(request).model.name for _ in range(20)}) == 1


def test_infer_task():
    assert infer_task("fix this bug in my python code", 100) == "code"
    assert infer_task("why does the trade-off matter? analyse it", 100) == "reasoning"
    assert infer_task("hello there", 100) == "chat"
    assert infer_task("anything", 10_000) == "long_document"
