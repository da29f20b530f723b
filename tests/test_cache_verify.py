"""Before a hit is served: contrasting questions are refused, paraphrases are not, the right
entry can be the second nearest, and a person's "that was wrong" changes the next decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentmesh.memory.cache import SemanticCache
from agentmesh.memory.verify import ContrastCheck, KnowledgeCheck, Lexicon, WordCheck

EXAMPLE_KG = Path(__file__).resolve().parent.parent / "examples" / "llm-landscape" / "landscape.ttl"
EXAMPLE_LEXICON = Lexicon.load(EXAMPLE_KG.parent / "cache_lexicon.toml")
CONTRASTS = {  # each class of near miss a cache served before the check existed
    "direction": ("How many input tokens does GPT-4o accept?", "How many output tokens does GPT-4o accept?"),
    "superlative": ("Which model is the cheapest?", "Which model is the most expensive?"),
    "size": ("Which is the largest open model?", "Which is the smallest open model?"),
    "highest/lowest": ("Which model has the highest MMLU score?", "Which model has the lowest MMLU score?"),
    "unit": ("How many tokens fit in Claude 2.1's context?", "How many words fit in Claude 2.1's context?"),
    "time unit": ("What is the latency of GPT-4o in milliseconds?", "What is the latency of GPT-4o in seconds?"),
    "currency": ("What does GPT-4o cost per 1M tokens in euros?", "What does GPT-4o cost per 1M tokens in dollars?"),
    "rate": ("What does a GPU cost per hour?", "What does a GPU cost per token?"),
    "lifecycle": ("When was GPT-4 released?", "When was GPT-4 deprecated?"),
    "terms of use": ("Is Llama 2 allowed for commercial use?", "Is Llama 2 allowed for research use?"),
    "free/paid": ("Which models are free?", "Which models are paid?"),
    "comparison": ("Which models have more than 32K context?", "Which models have fewer than 32K context?"),
    "change": ("Did prices increase in 2024?", "Did prices decrease in 2024?"),
    "before/after": ("Which models came out before Llama 2?", "Which models came out after Llama 2?"),
    "variant": ("What is the context window of GPT-4 Turbo?", "What is the context window of GPT-4?"),
    "role": ("Who is the CEO of Mistral AI?", "Who is the CTO of Mistral AI?"),
    "over/under a figure": ("Which models cost under $1 per 1M tokens?", "Which models cost over $1 per 1M tokens?"),
    "day": ("Which models were released on a Wednesday?", "Which models were released on a Friday?"),
    "month": ("Which models came out in December 2023?", "Which models came out in Nov 2023?"),
    "compass": ("Which data centres are in northwest Europe?", "Which data centres are in southwest Europe?"),
}
PARAPHRASES = [
    ("Which model is the cheapest?", "Which model is least expensive?"),
    ("Who is the CEO of Mistral AI?", "Who is the chief executive of Mistral AI?"),
    ("Which is the biggest open model?", "Which open model is the largest?"),
    ("When did GPT-4 come out?", "When was GPT-4 released?"),
    ("What does GPT-4o cost in USD?", "What does GPT-4o cost in dollars?"),
    # "under" compares only before a figure
    ("Which licence does Grok-1 use?", "What licence is Grok-1 published under?"),
    # a compound says what its parts say
    ("Are the weights of GPT-4o open?", "Is GPT-4o an open-weight model?"),
    # the full stop is not part of the last word
    ("Tell me about Mistral 7B Instruct.", "What is Mistral 7B Instruct?"),
    # a month said short or long; "may" the verb is no month
    ("Which models came out in Dec 2023?", "Which models were released in December 2023?"),
    ("Which model may I use commercially?", "Which model can I use commercially?"),
]


@pytest.mark.parametrize("kind", sorted(CONTRASTS))
def test_each_contrast_class_is_refused_both_ways_with_no_lexicon_at_all(kind):
    """The word rule refuses them by itself: no list of this field's contrasts is needed."""
    a, b = CONTRASTS[kind]
    check = WordCheck()
    assert check.refuses(a, b) and check.refuses(b, a)


@pytest.mark.parametrize("kind", sorted(CONTRASTS))
def test_the_example_lexicon_names_each_contrast_class(kind):
    a, b = CONTRASTS[kind]
    check = ContrastCheck(EXAMPLE_LEXICON)
    assert check.refuses(a, b) and check.refuses(b, a)
    assert WordCheck(EXAMPLE_LEXICON).refuses(a, b)


@pytest.mark.parametrize("a,b", PARAPHRASES)
def test_paraphrases_are_not_refused_with_the_example_lexicon(a, b):
    assert WordCheck(EXAMPLE_LEXICON).refuses(a, b) is None
    assert ContrastCheck(EXAMPLE_LEXICON).refuses(a, b) is None


def test_a_full_stop_does_not_change_the_names_a_question_holds(tmp_path, minilm):
    """Guards and the knowledge check read "Falcon 40B." as "Falcon 40B?"."""
    from agentmesh.knowledge import KnowledgeBase
    from agentmesh.memory.cache import _guards_pass

    assert _guards_pass("Tell me about Falcon 40B.", "What is Falcon 40B?")
    kb = KnowledgeBase.open([EXAMPLE_KG], minilm, cache_dir=tmp_path / "kg")
    assert kb.named_nodes("Tell me about MPT-7B.") == kb.named_nodes("What is MPT-7B?") != set()
    assert KnowledgeCheck(kb.named_nodes).refuses("Tell me about MPT-7B.", "What is MPT-7B?") is None


def test_a_user_extends_the_lexicon():
    a, b = "Which plan includes gold support?", "Which plan includes silver support?"
    assert ContrastCheck().refuses(a, b) is None  # a list of contrasts misses what it does not name
    assert WordCheck().refuses(a, b)  # the word rule does not need it named
    assert ContrastCheck(Lexicon().extend(contrasts=[["gold", "silver", "bronze"]])).refuses(a, b) == "'gold' vs 'silver'"


@pytest.fixture
def cache(tmp_path, minilm):
    c = SemanticCache(tmp_path / "cache", minilm)
    yield c
    c.close()


@pytest.mark.parametrize("kind", ["direction", "superlative", "variant", "currency", "lifecycle"])
def test_the_cache_refuses_a_near_miss_it_would_have_served(tmp_path, minilm, kind):
    """The cosine is above the threshold, so without the check the other answer is served."""
    cached, query = CONTRASTS[kind]
    unchecked = SemanticCache(tmp_path / "unchecked", minilm, checks=[], threshold=0.75)
    checked = SemanticCache(tmp_path / "checked", minilm, threshold=0.75)
    for c in (unchecked, checked):
        c.put(cached, "the other answer", scope="s")
    try:
        assert unchecked.get(query, scope="s") is not None, "pick a pair above the threshold"
        assert checked.get(query, scope="s") is None
        assert checked.last_refusals and checked.last_refusals[0][0] == cached
        assert checked.info()["refused"] == 1
    finally:
        unchecked.close(), checked.close()


def test_the_second_nearest_entry_is_served_when_the_first_contrasts(tmp_path, minilm):
    cache = SemanticCache(tmp_path / "cache", minilm, lexicon=EXAMPLE_LEXICON)  # "context length" = "context window"
    cache.threshold = 0.7
    cache.put("What is the context window of GPT-4?", "8,192 tokens.", scope="s")        # cosine 0.91, another model
    cache.put("GPT-4 Turbo context length?", "128,000 tokens.", scope="s")              # cosine 0.76, the same question
    hit = cache.get("What is the context window of GPT-4 Turbo?", scope="s")
    assert hit is not None and hit.answer == "128,000 tokens."
    assert [q for q, _ in cache.last_refusals] == ["What is the context window of GPT-4?"]
    cache.close()  # written to disk, opened again trying only the nearest entry
    single = SemanticCache(cache.folder, cache.embeddings, threshold=0.7, candidates=1, lexicon=EXAMPLE_LEXICON)
    try:
        assert single.get("What is the context window of GPT-4 Turbo?", scope="s") is None
        assert [q for q, _ in single.last_refusals] == ["What is the context window of GPT-4?"]
    finally:
        single.close()


def test_marking_a_hit_wrong_removes_it_and_raises_its_bar(cache):
    cache.threshold = 0.7
    cache.put("Which company develops Mixtral 8x7B?", "Mistral AI.", scope="s")
    hit = cache.get("Who is the developer of Mixtral 8x7B?", scope="s")
    assert hit is not None
    need = cache.mark_wrong(hit)
    assert need > hit.similarity and cache.get("Who is the developer of Mixtral 8x7B?", scope="s") is None
    assert len(cache) == 0 and cache.info()["marked_wrong"] == 1
    # the answer comes back later: that question is not served it again, a closer one is
    cache.put("Which company develops Mixtral 8x7B?", "Mistral AI.", scope="s")
    assert cache.get("Who is the developer of Mixtral 8x7B?", scope="s") is None
    assert cache.last_refusals[0][1].startswith("marked wrong before")
    assert cache.get("Which company develops Mixtral 8x7B ?", scope="s") is not None
    # and the bar survives a restart
    cache.close()
    again = SemanticCache(cache.folder, cache.embeddings, threshold=0.7)
    try:
        assert again.get("Who is the developer of Mixtral 8x7B?", scope="s") is None
        assert again.last_refusals[0][1].startswith("marked wrong before")
    finally:
        again.close()


def test_knowledge_check_compares_named_nodes_and_asked_property(example_kg, tmp_path, minilm):
    from agentmesh.knowledge import KnowledgeBase

    from agentmesh.claims import asked_fields

    kb = KnowledgeBase.open([example_kg], minilm, cache_dir=tmp_path / "kg")
    # the facts a question asks for come from the example's lexicon (its `asks`), in effect in these tests
    check = KnowledgeCheck(kb.named_nodes, asks=asked_fields)
    assert check.refuses("Who develops Mixtral 8x7B?", "Who develops Mixtral 8x22B?").startswith("names")
    assert check.refuses("Who develops Claude 2?", "Which licence does Claude 2 use?").startswith("asks for")
    assert check.refuses("Who develops Claude 2?", "Which company makes Claude 2?") is None
    assert check.refuses("Who develops Claude 2?", "Who develops Claude 2.1?").startswith("names")
    # "how many" before a property asks that property; before anything else it asks a count
    assert check.refuses("How many parameters does Claude 2 have?", "What is the parameter count of Claude 2?") is None
    assert check.refuses("How many models does Anthropic develop?", "Which models does Anthropic develop?").startswith("asks for")
