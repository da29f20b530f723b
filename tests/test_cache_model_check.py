"""cache_model_check: the configured model is asked, last, whether a cached question and the new
one ask the same thing; the call is in the usage ledger; failures and doubt refuse the hit."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.messages import AIMessage

from agentmesh import Agent, Settings
from agentmesh.errors import ConfigError
from agentmesh.memory.verify import EQUIVALENCE_PROMPT, ModelEquivalenceCheck
from agentmesh.models.routed import UsageLedger
from agentmesh.models.testing import FakeOpenAIServer, FakeToolChatModel, HashingEmbeddings

ANSWER = "Anthropic develops Claude 2.1."


def agent_at(tmp_path, example_kg, server, **extra) -> Agent:
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=["kg_search"], model="local:fake-model",
                             base_url=server.base_url, cache_model_check=True, **extra)
    return Agent(settings, embeddings=HashingEmbeddings())


def test_a_yes_serves_the_hit_and_the_call_is_in_the_ledger(tmp_path, example_kg):
    with FakeOpenAIServer([{"content": ANSWER}, {"content": "YES"}]) as server:
        agent = agent_at(tmp_path, example_kg, server)
        assert agent.run("Who develops Claude 2.1?").stop_reason == "answered"
        served = agent.run("who develops Claude 2.1 ?")
        asked = server.requests[-1]["messages"]
    assert served.stop_reason == "cached" and served.answer == ANSWER
    assert asked[0]["content"] == EQUIVALENCE_PROMPT
    assert asked[1]["content"] == "A: who develops Claude 2.1 ?\nB: Who develops Claude 2.1?"
    rows = [r for r in UsageLedger(tmp_path / "home" / "usage.sqlite").rows() if r[1] == "cache-check"]
    assert len(rows) == 1 and rows[0][7] == "ok" and rows[0][3] > 0 and rows[0][6] > 0  # tokens and latency


@pytest.mark.parametrize("reply", [{"content": "NO"}, {"content": "Probably yes"}, {"status": 500}])
def test_no_doubt_or_a_failure_refuses_the_hit(tmp_path, example_kg, reply):
    with FakeOpenAIServer([{"content": ANSWER}, reply, {"content": "Anthropic does."}]) as server:
        agent = agent_at(tmp_path, example_kg, server)
        agent.run("Who develops Claude 2.1?")
        second = agent.run("who develops Claude 2.1 ?")
    assert second.stop_reason != "cached"
    assert second.answer == "Anthropic does."  # the run went to the model


def test_a_private_question_is_not_sent_to_the_check_and_not_served(tmp_path, example_kg):
    with FakeOpenAIServer([{"content": ANSWER}, {"content": "Anthropic does."}]) as server:
        agent = agent_at(tmp_path, example_kg, server)
        agent.run("Who develops Claude 2.1?")
        second = agent.run("who develops Claude 2.1 ?", private=True)
        prompts = [m["content"] for r in server.requests for m in r["messages"] if m["role"] == "system"]
    assert second.stop_reason != "cached" and EQUIVALENCE_PROMPT not in prompts


def test_verdicts_are_remembered_per_pair_and_it_is_refused_with_the_embedded_model(tmp_path):
    model = FakeToolChatModel(responses=[AIMessage("yes")])
    check = ModelEquivalenceCheck(model)
    assert check.refuses("Who makes Mixtral?", "Who develops Mixtral?") is None
    assert check.refuses("who makes  mixtral?", "Who develops Mixtral?") is None and len(model.calls) == 1
    with pytest.raises(ConfigError, match="embedded 135M model cannot judge"):
        Agent(Settings.load(home=tmp_path / "home", tools=[], cache_model_check=True))


def _judged_cache(kind, tmp_path, minilm, request):
    from agentmesh.memory.cache import SemanticCache

    judge = FakeToolChatModel(responses=[AIMessage("no, they differ")])
    checks = [ModelEquivalenceCheck(judge)]
    if kind == "file":
        cache = SemanticCache(tmp_path / "cache", minilm, threshold=0.5, checks=checks)
    else:
        from _net import REDIS_URL

        from agentmesh.memory.redis_cache import RedisSemanticCache

        cache = RedisSemanticCache(REDIS_URL, minilm, prefix=request.getfixturevalue("redis_prefix"), threshold=0.5,
                                   checks=checks)
    return cache, judge


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_the_judges_no_raises_that_entrys_bar_so_further_questions_are_refused_without_asking(
        kind, tmp_path, minilm, request):
    """vCache's per-entry threshold, learnt from the judge: a question further from the entry than
    one the judge turned down is refused without a model call; a closer one is still asked."""
    cache, judge = _judged_cache(kind, tmp_path, minilm, request)
    try:
        cache.put("which company develops mixtral", "Mistral AI.", scope="s")
        near, further = "which company trains mixtral", "which company trains and sells mixtral models"
        vectors = np.array(minilm.embed_documents(["which company develops mixtral", near, further]))
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] > 0.5  # the test's premise
        assert cache.get(near, scope="s") is None and len(judge.calls) == 1
        assert cache.get(further, scope="s") is None and len(judge.calls) == 1  # not asked again
        assert cache.last_refusals[0][1].startswith("marked wrong before")
        assert cache.get("which company develops mixtral ?", scope="s") is None and len(judge.calls) == 2
    finally:
        cache.close()


def test_a_judge_that_fails_teaches_the_cache_nothing(tmp_path, minilm):
    from agentmesh.memory.cache import SemanticCache

    class Down:
        def invoke(self, messages):
            raise ConnectionError("judge unreachable")

    cache = SemanticCache(tmp_path / "cache", minilm, threshold=0.5, checks=[ModelEquivalenceCheck(Down())])
    try:
        cache.put("which company develops mixtral", "Mistral AI.", scope="s")
        assert cache.get("which company trains mixtral", scope="s") is None
        assert cache.last_refusals[0][1].startswith("the equivalence check could not run")
        assert cache.get("which company trains and sells mixtral models", scope="s") is None
        assert cache.last_refusals[0][1].startswith("the equivalence check could not run")  # asked, not learnt
    finally:
        cache.close()


# -- vCache's bounded error: the judge's verdicts, pooled per scope, say where it need not be asked --

def test_the_bound_is_clopper_pearsons_exact_upper_bound():
    from agentmesh.memory.verify import JudgeBound

    bound = JudgeBound(error=0.02, confidence=0.95)
    assert bound.trusted_from([(0.99, True)] * 149) == 0.99  # 0.98^149 < 0.05
    assert bound.trusted_from([(0.99, True)] * 148) > 1  # 0.98^148 > 0.05: not yet
    assert bound.trusted_from([(0.99, True)] * 148 + [(0.995, False)]) > 1  # a refusal at the top: nowhere
    # from 0.97 up, 300 verdicts with one refusal bound it below 2%; with 0.90 added, 40 refusals do not
    verdicts = [(0.98, True)] * 299 + [(0.97, False)] + [(0.90, False)] * 40 + [(0.90, True)] * 60
    assert bound.trusted_from(verdicts) == 0.97
    assert JudgeBound(error=0).trusted_from([(0.99, True)] * 1000) > 1  # 0: always ask


class CountingJudge:
    """A judge that says yes, counting how often it is asked."""

    judge = True

    def __init__(self) -> None:
        self.calls = 0

    def refuses(self, query: str, cached: str) -> str | None:
        self.calls += 1
        return None


def _bounded_cache(kind, tmp_path, minilm, request, judge, **bound):
    from agentmesh.memory.verify import JudgeBound

    options = {"threshold": 0.5, "checks": [judge], "judge_bound": JudgeBound(**bound)}
    if kind == "file":
        from agentmesh.memory.cache import SemanticCache

        return SemanticCache(tmp_path / "cache", minilm, **options)
    from _net import REDIS_URL

    from agentmesh.memory.redis_cache import RedisSemanticCache

    return RedisSemanticCache(REDIS_URL, minilm, prefix=request.getfixturevalue("redis_prefix"), **options)


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_once_the_verdicts_bound_the_error_the_judge_is_no_longer_asked_from_that_cosine_up(
        kind, tmp_path, minilm, request):
    """At 20% error and 50% confidence, four yeses bound it (0.8^4 < 0.5): the fifth lookup at
    that cosine is served unasked, a question further away is still asked, and the verdicts
    outlive the process (a file beside the scope's store, or Redis)."""
    judge = CountingJudge()
    cache = _bounded_cache(kind, tmp_path, minilm, request, judge, error=0.2, confidence=0.5, explore=0.0)
    cached, close, further = "which company develops mixtral", "which company trains mixtral", "which firm trains mixtral models"
    try:
        cache.put(cached, "Mistral AI.", scope="s")
        for n in range(1, 5):
            assert cache.get(close, scope="s").answer == "Mistral AI." and judge.calls == n
        assert cache.get(close, scope="s").answer == "Mistral AI." and judge.calls == 4  # served unasked
        assert cache.info()["judge_trusted"] == 1 and cache.info()["judge_asked"] == 4
    finally:
        cache.close()
    cache = _bounded_cache(kind, tmp_path, minilm, request, judge, error=0.2, confidence=0.5, explore=0.0)
    try:
        assert cache.get(close, scope="s") is not None and judge.calls == 4  # remembered
        vectors = np.array(minilm.embed_documents([cached, close, further]))
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] > 0.5  # the test's premise
        assert cache.get(further, scope="s") is not None and judge.calls == 5  # below the bound: asked
    finally:
        cache.close()


def test_a_share_of_the_trusted_hits_is_still_judged_and_zero_error_always_asks(tmp_path, minilm, request):
    for bound, asked in (({"explore": 1.0}, 6), ({"error": 0.0}, 6), ({"explore": 0.0}, 4)):
        judge = CountingJudge()
        cache = _bounded_cache("file", tmp_path / str(bound), minilm, request, judge,
                               **{"error": 0.2, "confidence": 0.5, **bound})
        try:
            cache.put("which company develops mixtral", "Mistral AI.", scope="s")
            for _ in range(6):
                assert cache.get("which company trains mixtral", scope="s") is not None
        finally:
            cache.close()
        assert judge.calls == asked, bound
