"""The cache serves only what it can show equal: every content word of each question matched in the
other (deny by default), a lexicon that is the user's file, and a measured error bound."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentmesh.memory.cache import SemanticCache
from agentmesh.memory.verify import Lexicon, WordCheck
from agentmesh.memory.wording import Reader, unmatched

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "llm-landscape"

UNNAMED = [  # near misses of kinds no lexicon names: opposite verbs, places, languages, roles, stages, metrics
    ("How do I open a savings account?", "How do I close a savings account?"),
    ("Which river is the longest in Europe?", "Which river is the longest in Asia?"),
    ("How do you say thank you in French?", "How do you say thank you in German?"),
    ("Who is the goalkeeper of the national team?", "Who is the coach of the national team?"),
    ("What happens after the seeds germinate?", "What happens after the seeds flower?"),
    ("What is the boiling point of ethanol?", "What is the freezing point of ethanol?"),
    ("How do I import contacts into my phone?", "How do I delete contacts from my phone?"),
    ("Is the museum open on public holidays?", "Is the museum crowded on public holidays?"),
    ("Do I need a visa for Vietnam?", "Do you know why I need a visa for Vietnam?"),
]
SAME = [  # wording only: inflections, numbers written another way, question words said another way, request frames
    ("Who develops Mixtral?", "Which company developed Mixtral?"),
    ("Who is the developer of Phi-2?", "Who develops Phi-2?"),
    ("How many moons does Mars have?", "What is the number of moons of Mars?"),
    ("Which films won three awards?", "Which films won 3 awards?"),
    ("When was the bridge built?", "In what year was the bridge built?"),
    ("Can you tell me the capital of Peru?", "What is the capital of Peru?"),
    ("How many tokens can GPT-4o take?", "How many tokens does GPT-4o take?"),
    ("Do I need a visa for Vietnam?", "Do you know if I need a visa for Vietnam?"),
    ("Is the museum open today?", "Any idea whether the museum is open today?"),
]


@pytest.mark.parametrize("a,b", UNNAMED)
def test_a_near_miss_no_list_names_is_refused_with_no_lexicon(a, b):
    check = WordCheck(wordnet=False)
    assert check.refuses(a, b) and check.refuses(b, a)


@pytest.mark.parametrize("a,b", SAME)
def test_a_difference_of_wording_is_not_refused(a, b):
    check = WordCheck(wordnet=False)
    assert check.refuses(a, b) is None and check.refuses(b, a) is None


def test_degree_and_modals_count():
    read = Reader(wordnet=False)
    assert unmatched(read("Which model is larger?"), read("Which model is the largest?")) == (["larger"], ["largest"])
    assert unmatched(read("Should I take aspirin?"), read("Can I take aspirin?")) == (["should"], ["can"])
    assert unmatched(read("Which is the most expensive?"), read("Which is the least expensive?")) \
        == (["most expensive"], ["least expensive"])


@pytest.fixture(scope="module")
def check():
    """The word rule with WordNet's synonyms; skipped, saying why, where its data is not installed. One for the
    module: reading WordNet's files takes a second or two, and the check keeps no state a test could leave."""
    from agentmesh.memory.wording import WordNet

    net = WordNet.find()
    if net is None:
        pytest.skip("WordNet's data is not installed (Debian: apt-get install wordnet-base)")
    return WordCheck(wordnet=net)


def assert_same(check, *pairs):
    """Each pair is shown the same, both ways round."""
    for a, b in pairs:
        assert check.refuses(a, b) is None and check.refuses(b, a) is None, (a, b)


def assert_refused(check, *pairs):
    """Each pair is refused, both ways round."""
    for a, b in pairs:
        assert check.refuses(a, b) and check.refuses(b, a), (a, b)


def test_wordnet_synonyms_match_when_its_data_is_installed(check):
    assert check.refuses("How do I buy a car?", "How do I purchase a car?") is None
    assert check.refuses("How do I buy a car?", "How do I sell a car?")  # WordNet keeps opposites apart


def test_a_phrase_wordnet_holds_as_one_is_matched_whole(check):
    assert check.refuses("How do I get rid of ants?", "How do I eliminate ants?") is None
    assert check.refuses("How do I put off a meeting?", "How do I postpone a meeting?") is None
    assert check.refuses("How do I get rid of ants?", "How do I get ants?")  # part of the phrase is not the phrase
    assert check.refuses("How do I put off a meeting?", "How do I put on a meeting?")
    assert check.refuses("How do I work out at home?", "How do I work at home?")


def test_how_and_an_adjective_ask_the_value_wordnet_names_for_it(check):
    """ "How tall" asks what "what is the height of" asks (WordNet: "tall" is a value of stature, a sense
    of "height"); two adjectives of one attribute ("hot"/"cold") stay apart, and so do other attributes."""
    assert_same(check, ("How tall is Mount Everest?", "What is the height of Mount Everest?"),
                       ("How deep is the Mariana Trench?", "What is the depth of the Mariana Trench?"),
                       ("How old is the Earth?", "What is the age of the Earth?"),
                       ("How heavy is an elephant?", "What is the weight of an elephant?"))
    assert_refused(check, ("How hot is Death Valley?", "How cold is Death Valley?"),
                          ("How deep is the lake?", "How shallow is the lake?"),
                          ("How tall is Mount Everest?", "Is Mount Everest tall?"),
                          ("How tall is Mount Everest?", "What is the width of Mount Everest?"),
                          ("How old is the Earth?", "What is the size of the Earth?"))


def test_a_hyphenated_word_says_what_wordnet_says_of_it_written_whole(check):
    assert check.refuses("Where can I buy a second-hand bike?", "Where can I buy a used bike?") is None  # secondhand: used
    assert check.refuses("Where can I buy a second-hand bike?", "Where can I buy a new bike?")
    assert check.refuses("Where can I buy a second-hand bike?", "Where can I buy a second bike?")


def test_which_and_a_noun_wordnet_names_a_person_asks_who(check):
    assert check.refuses("Which woman was the first to fly solo across the Atlantic?",
                         "Who was the first woman to fly solo across the Atlantic?") is None
    assert check.refuses("Which woman won the race?", "Who won the race?")  # the noun is still a word to match
    assert check.refuses("Which player did the coach pick?", "Which player picked the coach?")  # object against subject


def test_who_in_the_passive_with_an_agent_asks_the_object(check):
    """"Who was sued by Apple?" asks whom Apple sued, not who sued Apple; with no other agent ("by whom") the
    passive asks the subject, and "which vitamin" is no person, so its two voices stay alike."""
    assert check.refuses("Who sued Apple in 2019?", "Who was sued by Apple in 2019?")
    assert check.refuses("Which player picked the coach?", "Which player was picked by the coach?")
    assert_same(check, ("Whom did Apple sue in 2019?", "Who was sued by Apple in 2019?"),
                       ("Which player did the coach pick?", "Which player was picked by the coach?"),
                       ("Who wrote Don Quixote?", "By whom was Don Quixote written?"),
                       ("Which vitamin does the skin produce in sunlight?", "Which vitamin is produced by the skin in sunlight?"))


def test_least_says_most_of_the_antonym(check):
    """"Least expensive" is "cheapest" and "less difficult" is "easier" (WordNet's antonyms); "least" is still not
    "most", and "less" is not "more" of another adjective."""
    assert_same(check, ("What is the cheapest way to travel across Europe?", "What is the least expensive way to travel across Europe?"),
                       ("Which language is less difficult to learn?", "Which language is easier to learn?"))
    assert_refused(check, ("What is the most expensive way to travel?", "What is the least expensive way to travel?"),
                          ("Which language is less difficult to learn?", "Which language is harder to learn?"),
                          ("Which language is least difficult to learn?", "Which language is easier to learn?"))


def test_wordnet_relates_words_past_their_first_senses(check):
    """A first sense of one word that is any sense of the other ("compose" / "write"), an adjective similar
    to another ("terrible" / "bad") and a derivation naming the act ("assessment" / "assess") are wording."""
    assert_same(check, ("Who composed the Moonlight Sonata?", "Who wrote the Moonlight Sonata?"),
                       ("Is it a terrible idea to quit my job?", "Is it a bad idea to quit my job?"),
                       ("How is the assessment of students done?", "How are students assessed?"),
                       ("When is the deployment of the new app?", "When do they deploy the new app?"))


def test_an_adjective_matches_the_noun_it_pertains_to(check):
    """WordNet's pertainym ("lunar" pertains to the moon, "Chinese" to China, "cardiac" to the heart) is the noun
    said as an adjective; another adjective of the same kind still refuses ("solar", "Japanese", "respiratory")."""
    assert_same(check, ("How hot is the lunar surface?", "How hot is the surface of the moon?"),
                       ("What is the Chinese population?", "What is the population of China?"),
                       ("What does a cardiac arrest feel like?", "What does a heart arrest feel like?"))
    assert_refused(check, ("How hot is the lunar surface?", "How hot is the solar surface?"),
                          ("What is the Chinese population?", "What is the population of Japan?"),
                          ("What does a cardiac arrest feel like?", "What does a respiratory arrest feel like?"))


def test_wordnet_relations_keep_roles_opposites_and_rare_senses_apart(check):
    """A derivation naming a person is not the act ("trainee" is not who trains; "employer" and "employee" both
    come from "employ"), two rare senses are not enough ("hot" / "warm" share one about a children's game), and
    words WordNet opposes refuse though they share a sense ("teach" causes "learn")."""
    assert_refused(check, ("Who trains the team?", "Who is the trainee of the team?"),
                          ("What rights does an employee have?", "What rights does an employer have?"),
                          ("Is the soup hot?", "Is the soup warm?"),
                          ("How do I teach French online?", "How do I learn French online?"),
                          ("Is it a good idea to quit my job?", "Is it a bad idea to quit my job?"))
    assert_same(check, ("Is a man hugging a woman?", "Is the woman being hugged by a man?"),
                       ("Have you answered your own question?", "Did you answer your own question?"))


def test_an_abbreviation_english_knows_is_left_to_the_word_rule(check):
    """The names guard lets "TV" through when WordNet knows it, so the word rule can match it by sense; another
    abbreviation, or the same letters as a plain word on the other side ("IT" / "it"), is still refused."""
    from agentmesh.memory.cache import _guards_pass

    def served(a, b):
        return _guards_pass(a, b) and check.refuses(a, b) is None

    assert served("How much is a TV in Japan?", "How much is a television in Japan?")
    assert served("What does DNA stand for?", "What does deoxyribonucleic acid stand for?")
    assert not served("How much is a TV in Japan?", "How much is a radio in Japan?")
    assert not served("What does DNA stand for?", "What does RNA stand for?")
    assert not served("What is IT?", "What is it?")
    assert not served("What does WHO do?", "What does who do?")


@pytest.fixture
def cache(tmp_path, minilm):
    c = SemanticCache(tmp_path / "cache", minilm, threshold=0.7)
    yield c
    c.close()


def test_the_cache_refuses_a_near_miss_it_would_have_served(tmp_path, minilm, cache):
    """Above the threshold, and no contrast list names "Europe"/"Asia": the word rule refuses it."""
    cached, query = "Which river is the longest in Europe?", "Which river is the longest in Asia?"
    unchecked = SemanticCache(tmp_path / "unchecked", minilm, checks=[], threshold=0.7)
    try:
        for c in (unchecked, cache):
            c.put(cached, "The Volga.", scope="s")
        assert unchecked.get(query, scope="s") is not None, "pick a pair above the threshold"
        assert cache.get(query, scope="s") is None
        assert "'asia' has no match" in cache.last_refusals[0][1]
        info = cache.info()
        assert info["refused"] == 1 and info["refused_words"] == 1
    finally:
        unchecked.close()


def test_a_reading_that_shows_two_questions_equal_stands_for_the_word_rule(cache):
    class Reading:
        def refuses(self, query, cached):
            return None

        def shows_same(self, query, cached):
            return {query, cached} == {"Who runs Acme?", "Who is the boss of Acme?"}

    cache.put("Who runs Acme?", "Ada.", scope="s")
    assert cache.get("Who is the boss of Acme?", scope="s") is None  # "runs" vs "boss": unmatched
    assert cache.get("Who is the boss of Acme?", scope="s", checks=[Reading()]).answer == "Ada."


def test_marked_wrong_serves_raise_the_bound_past_max_error(tmp_path, minilm):
    cache = SemanticCache(tmp_path / "cache", minilm, threshold=0.7, max_error=0.01)
    try:
        cache.put("Who develops Mixtral 8x7B?", "Mistral AI.", scope="s")
        hit = cache.get("Which company develops Mixtral 8x7B?", scope="s")
        assert hit is not None and cache.bound() == 0.7
        cache.mark_wrong(hit)  # 1 wrong of 1 served: far above 1%
        assert cache.measured_error() == 1.0 and cache.bound() > hit.similarity
        cache.put("Who develops Gemma?", "Google DeepMind.", scope="s")
        assert cache.get("Which company is the developer of Gemma?", scope="s") is None  # its entry was never marked
        assert cache.last_refusals[0][1].startswith("below the cache's error bound")
        assert cache.get("Who develops Gemma?", scope="s") is not None  # identical: above any bound
        info = cache.info()
        assert info["refused_bound"] == 1 and info["marked_wrong"] == 1 and info["bound"] > 0.7
        cache.close()
        again = SemanticCache(tmp_path / "cache", minilm, threshold=0.7, max_error=0.01)  # measured, kept
        assert again.bound() == cache.bound()
        again.close()
    finally:
        cache.close()


def test_a_bound_of_one_wrong_in_many_stays_at_the_threshold(cache):
    from agentmesh.memory.cache import _error_bound

    assert _error_bound([0.9] * 200, [0.9], 0.01, 0.8) == 0.8  # 0.5%: within 1%
    assert _error_bound([0.9] * 50 + [0.95] * 50, [0.9, 0.91], 0.01, 0.8) > 0.91  # 2%: the cut goes above both


def test_the_judges_no_counts_as_a_wrong_serve_avoided(cache):
    from agentmesh.memory.verify import Judged

    class Judge:
        judge = True

        def refuses(self, query, cached):
            return Judged("the judge: different")

    cache.put("Who develops Gemma?", "Google DeepMind.", scope="s")
    assert cache.get("Which company develops Gemma?", scope="s", checks=[Judge()]) is None
    assert cache.measured_error() == 1.0 and cache.info()["refused_judge"] == 1


def test_the_lexicon_is_a_file_in_settings(tmp_path, monkeypatch):
    from agentmesh import Settings
    from agentmesh.assembly import build_cache
    from agentmesh.errors import ConfigError
    from agentmesh.models.testing import HashingEmbeddings

    (tmp_path / "agentmesh.toml").write_text('cache_lexicon = "words.toml"\ncache_max_error = 0.05\n')
    (tmp_path / "words.toml").write_text('contrasts = ["gold silver"]\nfiller = ["plan"]\n[synonyms]\n"top tier" = "gold"\n')
    monkeypatch.setenv("AGENTMESH_HOME", str(tmp_path / "home"))
    settings = Settings.load(tmp_path / "agentmesh.toml")
    cache = build_cache(settings, HashingEmbeddings())
    try:
        assert cache.max_error == 0.05 and cache.lexicon.synonyms == {"top tier": "gold"}
        check = cache.checks[0]
        assert check.refuses("Which plan includes top tier support?", "Which includes gold support?") is None
    finally:
        cache.close()
    (tmp_path / "words.toml").write_text('contrast = ["gold silver"]\n')
    with pytest.raises(ConfigError, match="unknown key"):
        build_cache(Settings.load(tmp_path / "agentmesh.toml"), HashingEmbeddings())


def test_the_example_lexicon_loads():
    lexicon = Lexicon.load(EXAMPLE / "cache_lexicon.toml")
    assert frozenset({"input", "output"}) in lexicon.contrasts and lexicon.synonyms["least expensive"] == "cheapest"


def test_the_cache_imports_nothing_from_the_answer_path():
    code = ("import sys, agentmesh.memory.cache, agentmesh.memory.redis_cache, agentmesh.memory.verify; "
            "print(sorted(m for m in sys.modules if m == 'agentmesh.claims' or m.startswith('agentmesh.claims.')))")
    # agentmesh/__init__ imports the agent (and so claims): load the cache modules without the package's __init__
    probe = ("import importlib.util, sys, types; pkg = types.ModuleType('agentmesh'); pkg.__path__ = ['agentmesh']; "
             "sys.modules['agentmesh'] = pkg; " + code)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cache_stats_show_refusals_by_reason_and_the_bound(tmp_path, monkeypatch):
    from agentmesh import Settings
    from agentmesh.apps.cli import app
    from agentmesh.models.testing import HashingEmbeddings

    monkeypatch.setenv("AGENTMESH_EMBEDDINGS", "hashing")
    settings = Settings.load()
    c = SemanticCache(settings.data_dir("cache"), HashingEmbeddings())
    c.put("Who develops Gemma?", "Google DeepMind.", scope="s")
    c.get("Who develops Gemma?", scope="s")
    c.close()
    out = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["cache", "stats"]).output
    for row in ("hits", "refused words", "refused bound", "marked wrong", "measured error", "max error", "bound"):
        assert row in out, row


def test_the_cache_imports_nothing_from_the_answer_path():
    """Issue 35: the cache's rules are its own; it reads general English (agentmesh.english) and
    WordNet, never the answer path's word lists, tools or graphs."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "agentmesh"
    cache_modules = ["cache", "verify", "wording", "asking", "wordnet", "figures", "lemmas", "redis_cache", "langchain_cache"]
    outside = ("agentmesh.answering", "agentmesh.claims", "agentmesh.tools", "agentmesh.graphs", "agentmesh.agent")
    found = []
    for name in cache_modules:
        tree = ast.parse((root / "memory" / f"{name}.py").read_text())
        for node in ast.walk(tree):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"memory/{name}.py imports {m}" for m in modules if m.startswith(outside)]
    assert not found, found
