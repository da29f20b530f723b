"""What a question says, word by word: the content words a cache hit has to account for.

A cached answer is served only when every content word of each question is matched by a word
of the other (:func:`unmatched`): the same lemma ("develops"/"developed"), an inflection, a number
written another way ("3"/"three", "1,000"/"one thousand"), a synonym from WordNet (when its data
is installed, see :class:`WordNet`) or from the user's lexicon, or a question word said another
way ("who" / "which company", "when" / "what year", "how many" / "the number of"). Words that
carry no content in a question ("the", "is", "please", "tell me") are skipped; everything else
counts, so a difference no list names (opposite verbs, other places, other languages) refuses.

This module holds general English only (figures written one way are in :mod:`agentmesh.memory.figures`,
WordNet's reader in :mod:`agentmesh.memory.wordnet`): function words, question words, number words, degree
("largest" is not "larger" is not "large") and common abbreviations of units, currencies, months
and titles. A field's own words (its synonyms and contrasts) come from the user's lexicon file
(``cache_lexicon``), never from here.

Lemmas come from ``lemminflect`` (``pip install 'agentmesh[words]'``: 0.8 MB of tables, ~12 µs a
word); without it a few suffix rules stand in. Synonyms come from Princeton WordNet 3.0's files when
present (Debian's ``wordnet-base``, or a folder named by ``AGENTMESH_WORDNET``): two words are synonyms
when one of the first senses of each is the same synset, or a first sense of one is any sense of the
other, or similar to it, or one is derived from the other as the act it names (:meth:`WordNet.related`),
unless WordNet opposes them (antonyms, a cause and its effect: "teach" / "learn").

>>> unmatched(read("Who develops Mixtral?"), read("Which company developed Mixtral?"))
([], [])
>>> unmatched(read("How many input tokens can GPT-4o take?"), read("How many output tokens can GPT-4o take?"))
(['input'], ['output'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, NamedTuple, Sequence

from agentmesh.english import PREPOSITIONS
from agentmesh.memory.asking import (ASKED_AS, COST_ASKED, HOW_MEASURED, OBJECT_QUESTION, PASSIVE_OBJECT, STRANDED, WH_PHRASES,
                                     known_for, person_asked, what_role)
from agentmesh.memory.figures import _NUMBER_WORDS, _ORDINALS, _words_value, figures, number_words_as_digits
from agentmesh.memory.lemmas import has_lemmatizer, known_lemmas as _known_lemmas, lemmas as _lemmas
from agentmesh.memory.wordnet import WordNet, default_wordnet

__all__ = ["Wording", "Reader", "read", "unmatched", "swapped", "spells", "WordNet", "FILLER", "ABBREVIATIONS",
           "number_words_as_digits", "figures", "known_abbreviation", "one_as_a"]

FILLER = frozenset("""
a an the of is are was were be been being am do does did done doing has have had having
i me my mine myself you your yours we us our it its they them their this that these those
what which please tell know let to for kindly exactly actually really just also so
thing things there here one ones anyone someone somebody anybody something anything by whats some any ever
""".split())
"""Words that carry no content in a question: articles, auxiliaries, pronouns, "what"/"which" and
the frame of a request ("please tell me about ..."), the passive's "by" ("by whom was it built") and "ever"
("has anyone ever climbed K2", "the first ever").
Prepositions other than "of", "to", "for" and "by" count: "from" is not "to" once one side says it,
and "who wrote about Hamlet" is not "who wrote Hamlet" ("tell me about" is a frame, see ``REQUEST``).""" 

_WH_NEXT = r"(?=\s+(?:what|how|why|who|whom|whose|when|where|which|if|whether)\b)"
REQUEST = re.compile(
    r"\b(?:can|could|would|will)\s+(?:you|u)(?:\s+(?:please|kindly))?(?:\s+mind)?(?:\s+(?:tell|telling|explain|explaining|let|letting|"
    r"show|showing|help|helping)(?:\s+me)?(?:\s+(?:understand|know))?)?\b"
    r"|\b(?:(?:i\s+(?:would|'d)\s+like\s+to\s+know|(?<!who\s)(?<!whom\s)(?<!what\s)(?<!which\s)(?<!where\s)(?<!how\s)do\s+you\s+(?:happen\s+to\s+)?know|does\s+any(?:one|body)\s+(?:happen\s+to\s+)?know"
    r"|any\s+idea|i\s+want\s+to\s+know)(?:\s+(?:if|whether))?|(?:any\s+chance\s+)?you\s+(?:happen\s+to\s+)?know" + _WH_NEXT +
    r"|(?:just\s+wondering|i\s+(?:was\s+|have\s+|am\s+)?(?:always\s+)?wonder(?:ing|ed)?)(?:\s+if)?"
    r"|tell\s+me(?:\s+about)?|show\s+me|give\s+me|explain\s+to\s+me"
    r"|(?:sorry|pardon\s+me|excuse\s+me)(?:\s+to\s+(?:bother|trouble)\s+you)?,?\s+but|(?:i\s+am|i'm)\s+curious(?:\s+to\s+know)?"
    r"|quick\s+(?:question|one)|just\s+curious|out\s+of\s+curiosity|(?:hey|hi|hello)(?:\s+there)?"
    r"|(?:thanks|thank\s+you)(?:\s+in\s+advance)?|good\s+(?:morning|afternoon|evening)(?=\s*[,!.])"
    r"|(?:honestly|so|well|basically)(?=\s*,)|question(?=\s*:)"
    r"|(?:i\s+)?need\s+(?:some\s+)?help(?=\s*[:,\-])"
    r"|(?:please\s+)?(?:briefly\s+|quickly\s+|simply\s+)?explain" + _WH_NEXT +
    r"|(?:i\s+(?:need|want|would\s+love|would\s+like)\s+to\s+(?:know|understand|find\s+out|learn)|help\s+me\s+(?:understand|find\s+out)"
    r"|(?:i\s+am\s+)?trying\s+to\s+(?:find\s+out|figure\s+out|understand|work\s+out)"
    r"|(?:can|could|may)\s+i\s+ask(?:\s+you)?)" + _WH_NEXT +
    r"|i\s+have\s+a\s+question\s*[:,\-])(?![\w'])")  # whole words: "hi" is no frame in "high" or "history"
"""The frame of a request: "can you tell me", "would you mind telling me", "sorry to bother you, but",
"I'm curious", "any idea", "do you happen to know" (with the "if" or "whether" after it; not after a question word:
"who do you know in Paris?" asks something), "I've always wondered",
"good morning," and a word that only opens a question ("honestly,", "so,", "question:"):
no content of their own. "Explain" is a frame only before a question word ("explain what a probation period is"), and
so are "I need to know", "I want to learn", "I'm trying to find out", "help me understand", "can I ask" ("can I ask
for a refund?" asks something); "I have a question" and "I need help" only before a colon or comma."""

MODALS = {"can": "?can", "could": "?can", "may": "?can", "might": "?can", "able": "?can",
          "should": "?should", "ought": "?should", "must": "?must", "will": "?will", "shall": "?will",
          "would": "?would"}
"""Modal verbs by meaning: "can" and "may" ask the same ("may I use it commercially?"), "should" asks
for advice, "must" for a duty, "will" about the future."""

QUESTION_WORDS = {"who": "?who", "whom": "?who", "whose": "?whose", "when": "?when", "where": "?where",
                  "why": "?why", "how": "?how"}
_CASED = [(re.compile(r"\bU\.S\.(?:A\.)?|\bUSA?\b"), "united states")]
"""Abbreviations that are another word in lower case ("US" is not "us")."""
_ACRONYM = re.compile(r"\b[A-Z][A-Za-z]*[A-Z][a-z]?\b")
"""A word written with two capitals or more ("NATO", "BSc", "GDP"): it may abbreviate the other question's words."""

ABBREVIATIONS = {
    "$": "dollar", "usd": "dollar", "us dollars": "dollar", "€": "euro", "eur": "euro", "£": "pound sterling",
    "gbp": "pound sterling", "¥": "yen", "jpy": "yen",
    "ms": "millisecond", "msec": "millisecond", "secs": "second", "sec": "second", "mins": "minute",
    "hrs": "hour", "hr": "hour", "yrs": "year", "yr": "year", "km": "kilometre", "kilometer": "kilometre",
    "kilometers": "kilometres", "kg": "kilogram", "cm": "centimetre", "mm": "millimetre", "meter": "metre",
    "meters": "metres", "lbs": "pound", "lb": "pound", "mph": "mile per hour", "kph": "kilometre per hour",
    "chars": "character", "approx": "approximately",
    "jan": "january", "feb": "february", "apr": "april", "jun": "june", "jul": "july", "aug": "august",
    "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
    "mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday",
    "chief executive officer": "ceo", "chief executive": "ceo", "chief technology officer": "cto",
    "chief financial officer": "cfo", "chief operating officer": "coo",
    "uk": "united kingdom", "eu": "european union", "e-mail": "email", "okay": "ok", "pls": "please", "plz": "please",
    "°c": "celsius", "°f": "fahrenheit", "degrees celsius": "celsius", "degrees fahrenheit": "fahrenheit",
    "degree celsius": "celsius", "degree fahrenheit": "fahrenheit", "max": "maximum", "hq": "headquarters", "info": "information",
    "g": "gram", "mg": "milligram", "ml": "millilitre", "govt": "government", "dept": "department",
    "ft": "foot", "oz": "ounce", "gb": "gigabyte", "mb": "megabyte", "tb": "terabyte", "kb": "kilobyte", "hz": "hertz",
    "ghz": "gigahertz", "mhz": "megahertz", "kw": "kilowatt", "kwh": "kilowatt hour",
    "avg": "average", "temp": "temperature", "temps": "temperatures", "tsp": "teaspoon", "tbsp": "tablespoon",
    "qty": "quantity", "pct": "percent", "sq": "square", "vs": "versus",
}
"""Common English abbreviations and spellings (units, currencies, months, titles, places). "US" is
read before lower case (``_CASED``); an acronym of the other question's words ("NATO", "BSc") is
matched by its letters (:func:`spells`)."""

_SPELLING = [(re.compile(p), r) for p, r in (
    (r"^([a-z]{3,})our(s|ed|ing|ite|ites|ful|able|less)?$", r"\1or\2"), (r"^([a-z]{3,})is(e|es|ed|ing|er|ers|ation|ations)$", r"\1iz\2"),
    (r"^([a-z]{3,})ys(e|es|ed|ing)$", r"\1yz\2"), (r"^([a-z]{2,})tre(s)?$", r"\1ter\2"), (r"^([a-z]{3,})mme(s)?$", r"\1m\2"),
    (r"^([a-z]{3,})ogue(s)?$", r"\1og\2"))]
"""British spelling to American ("colour", "fertiliser", "centre", "kilogramme", "catalogue"), applied to
both questions alike: a word that is not such a spelling is left as it is."""

_CONTRACTIONS = [(re.compile(p), r) for p, r in (
    (r"\bcan't\b|\bcannot\b", "can not"), (r"\bwon't\b", "will not"), (r"n't\b", " not"), (r"'re\b", " are"),
    (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"), (r"'m\b", " am"),
    (r"\b(what|who|where|when|how|it|that|there|here)'s\b", r"\1 is"), (r"'s\b", ""), (r"s'(?=\s|$)", "s"))]
_TOKEN = re.compile(r"[$€£¥]|°[cf]\b|[a-z0-9](?:[a-z0-9.+\-/']*[a-z0-9+])?")
_NUMBER_WORD = re.compile(r"^(\d+(?:\.\d+)?)-([a-z]+)$")
"""A number joined to a word ("2-bedroom", "20-foot"): the number and the word."""

_DIGITS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$")
_ORDINAL_DIGITS = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_DEGREE = {"best": ("good", "+sup"), "worst": ("bad", "+sup"), "better": ("good", "+cmp"), "worse": ("bad", "+cmp"),
           "most": ("much", "+sup"), "least": ("little", "+sup"), "more": ("much", "+cmp"), "less": ("little", "+cmp"),
           "fewer": ("few", "+cmp"), "fewest": ("few", "+sup")}
_NEGATION = frozenset({"not", "no", "never", "none", "nothing", "nobody", "neither", "nor", "without"})


_ONE_AS_A = re.compile(r"(?<![\w.,/\-])(?:one|1)\s+(?!(?:of|and|or|to|than|per|in|out|by|more|less|another|other|half|third|quarter|hundred"
                       r"|thousand|million|billion|trillion|dozen)\b)(?=[a-z])")


def one_as_a(text: str, said_as: str = "a ") -> str:
    """``text`` (lower case) with "one" or "1" before a noun said as "a" ("one woman" is "a woman"); not "one of the
    largest", "one or two", "one hundred", "twenty-one", "which one is", which count or are no article. "One"
    beside a modal is the pronoun ("how can one apply", "one should"): said as "someone", no number."""
    def said(match: re.Match[str]) -> str:
        before = re.findall(r"[a-z]+", text[: match.start()])
        after = re.match(r"[a-z]+", text[match.end():])
        if match.group(0).startswith("one") and ((before and before[-1] in MODALS) or (after and after.group(0) in MODALS)):
            return "someone "  # the pronoun: "one can check", "how can one apply"
        if (before and (before[-1] in ("a", "an") or not (before[-1] in FILLER or before[-1] in PREPOSITIONS
                                                          or before[-1] in QUESTION_WORDS))) or (
                after and (after.group(0) in FILLER or after.group(0) in MODALS)):
            return match.group(0)  # "twenty-one", "gate 1 opens", "a one hour massage": a number; "which one is": a pronoun
        return said_as
    return _ONE_AS_A.sub(said, text)


@dataclass(frozen=True)
class Wording:
    """The content words of a question, each with the keys by which the other question may match it."""

    text: str
    words: tuple[str, ...]
    keys: tuple[frozenset[str], ...]
    all_keys: frozenset[str]
    """What this question offers to the other's words: every word's keys (WordNet senses of a word's
    main part of speech and of its others kept apart, see :class:`WordNet`)."""
    folded: frozenset[str]
    """Every word after abbreviations and lexicon synonyms were folded, content or not (for contrasts)."""
    offers: tuple[frozenset[str], ...] = ()
    """Per word, what it offers (``all_keys`` is their union)."""
    acronyms: frozenset[str] = frozenset()
    """Words written in capitals ("nato", "bsc"), which may stand for several words of the other question."""
    known: tuple[bool, ...] = ()
    """Per word, whether it is an English word (a lemma table or WordNet has it): a word that is not
    may be a typo of the other question's word."""
    wide: tuple["_Wide", ...] = ()
    """Per word, WordNet's relations past its first senses (:func:`_wide`), read only for a word left unmatched."""
    after_to: tuple[bool, ...] = ()
    """Per word, whether "to" comes right before it ("convert fahrenheit to celsius"): see :func:`swapped`."""


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(phrases), key=len, reverse=True)  # "least expensive" before "less"
    if not ordered:
        return None
    return re.compile("|".join(rf"(?<![\w\-]){re.escape(p)}(?![\w\-])" if p[0].isalnum() else re.escape(p) for p in ordered))


class _Folder:
    """Abbreviations and the lexicon's synonyms folded to one word, longest phrase first."""

    def __init__(self, synonyms: Mapping[str, str]) -> None:
        self.table = {**ABBREVIATIONS, **{k.lower(): v.lower() for k, v in synonyms.items()}}
        self.pattern = _phrase_pattern(self.table)

    def __call__(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: f" {self.table[m.group(0)]} ", text)


class Reader:
    """Reads questions with one set of synonyms (a lexicon's, phrase -> word) and one WordNet
    (True: the installed one, if any; False: none), remembering the last ``memo`` readings: a
    cached question is read once, when it is stored, not at every lookup."""

    def __init__(self, synonyms: Mapping[str, str] | None = None, wordnet: "WordNet | bool | None" = True,
                 memo: int = 50_000, filler: Iterable[str] = ()) -> None:
        self.fold = _Folder(synonyms or {})
        self.filler = FILLER | frozenset(filler)
        self.wordnet = default_wordnet() if wordnet is True else (wordnet or None)
        self._memo: dict[str, Wording] = {}
        self._size = memo

    def __call__(self, text: str) -> Wording:
        found = self._memo.get(text)
        if found is None:
            if len(self._memo) >= self._size:
                self._memo.pop(next(iter(self._memo)))
            found = self._memo[text] = self._read(text)
        return found

    def _read(self, text: str) -> Wording:
        net = self.wordnet
        acronyms = frozenset(w.lower() for w in _ACRONYM.findall(text) if len(w) <= 6)
        for pattern, repl in _CASED:
            text = pattern.sub(repl, text)
        lowered = one_as_a(figures(text), " ?single ")  # matched by "a", "1" or nothing: see unmatched()
        for pattern, repl in _CONTRACTIONS:
            lowered = pattern.sub(repl, lowered)
        lowered = " ".join(REQUEST.sub(" ", lowered).replace(",", " ").split())
        lowered = HOW_MEASURED.sub("what ", self.fold(lowered))
        if m := STRANDED.match(lowered):
            lowered = f"{m.group('p')} {m.group('q')}{m.group('end')}"
        for pattern, key in WH_PHRASES:
            if key is None:
                lowered = pattern.sub(lambda m: " ?how " + m.group(0).split()[-1], lowered)
            else:
                lowered = pattern.sub(f" {key} ", lowered)
        lowered = COST_ASKED.sub(" ", lowered)
        for pattern, repl in ASKED_AS:
            lowered = pattern.sub(repl, lowered)
        lowered = known_for(lowered)
        object_question = bool(OBJECT_QUESTION.search(lowered))
        if net is not None:
            lowered, asked_object = person_asked(lowered, net)
            object_question = object_question or asked_object
        object_question = object_question or bool(PASSIVE_OBJECT.match(lowered))
        role = what_role(lowered)
        lowered = _NUMBER_WORDS.sub(lambda m: f" #{v} " if (v := _words_value(m.group(0))) is not None else m.group(0),
                                    lowered)
        tokens = re.findall(r"\?[a-z]+|#\d+|" + _TOKEN.pattern, lowered)
        if object_question:
            tokens.append("?object")
        if role:
            tokens.append(role)
        if tense := _tense(tokens):
            tokens.append(tense)
        words: list[str] = []
        keys: list[tuple[frozenset[str], frozenset[str]]] = []  # replaced, never changed in place: shared
        known: list[bool] = []
        wide: dict[int, _Wide] = {}
        folded: set[str] = set()
        seq: list[tuple[str, int | None]] = []  # every word said, filler too, with its content word's index
        i = 0
        while i < len(tokens):
            token = tokens[i]
            i += 1
            parts = [token]
            if "-" in token and not any(c.isdigit() for c in token):
                parts = [p for p in token.split("-") if p]  # "open-weight" says "open" and "weight"
            elif m := _NUMBER_WORD.match(token):
                parts = [m.group(1), m.group(2)]  # "2-bedroom" says 2 and "bedroom"
            whole = "".join(parts) if len(parts) > 1 else ""
            if token in ("?how", "how") and net is not None and i < len(tokens) and (attrs := net.attributes(tokens[i])):
                # "how tall" asks the value of stature: "what is the height of" asks the same (see _word_keys)
                adjective = tokens[i]
                i += 1
                folded.update(("?how", adjective))
                plain, offered = _word_keys(adjective, net)
                seq.append((adjective, len(words)))
                words.append(f"how {adjective}")
                keys.append(({"?how " + k for k in plain} | {"@" + a for a in attrs},
                             {"?how " + k for k in offered} | {"^" + a for a in attrs}))
                known.append(True)
                continue
            for part in parts:
                part = _american(part)
                folded.add(part)
                if part in self.filler:
                    seq.append((part, None))
                    continue
                if part in ("most", "least", "more", "less") and i < len(tokens) and _is_adjective(tokens[i]):
                    degree = {"most": "+sup", "least": "-sup", "more": "+cmp", "less": "-cmp"}[part]
                    nxt = _american(tokens[i])
                    i += 1
                    folded.add(nxt)
                    words.append(f"{part} {nxt}")
                    keys.append(_least_as_most(nxt, net, degree))
                    known.append(True)
                    continue
                seq.append((part, len(words)))
                wide[len(words)] = _wide(part, net)
                words.append(part)
                found = _shared_keys(part, net)
                if whole:  # "second-hand" is "secondhand", and says what WordNet says of it ("used")
                    found = _with_word(found, whole)
                    if net is not None and net.known(whole):
                        joined = _shared_keys(whole, net)
                        found = (found[0] | joined[0], found[1] | joined[1])
                        wide[len(words) - 1] = _joined_wide(wide[len(words) - 1], _wide(whole, net))
                keys.append(found)
                known.append(_known(part, net))
        for j in range(len(words) - 1):  # "data base" is "database"
            if all(w.isalpha() and w not in QUESTION_WORDS and w not in MODALS and w not in _NEGATION
                   for w in words[j:j + 2]):
                joined = words[j] + words[j + 1]
                for k in (j, j + 1):
                    keys[k] = _with_word(keys[k], joined)
        if net is not None:
            _phrase_senses(seq, words, keys, net)
        offers = tuple(frozenset(o) for _, o in keys)
        all_keys = frozenset().union(*offers) if offers else frozenset()
        after_to = [False] * len(words)
        for (before, _), (_, k) in zip(seq, seq[1:]):
            if k is not None and before == "to":
                after_to[k] = True
        return Wording(text, tuple(words), tuple(frozenset(k) for k, _ in keys), all_keys, frozenset(folded), offers,
                       acronyms, tuple(known), tuple(wide.get(k, _NO_WIDE) for k in range(len(words))), tuple(after_to))


_DEFAULT_READER: Reader | None = None


def read(text: str) -> Wording:
    """``text`` read with no lexicon and the installed WordNet (see :class:`Reader`)."""
    global _DEFAULT_READER
    if _DEFAULT_READER is None:
        _DEFAULT_READER = Reader()
    return _DEFAULT_READER(text)


def known_abbreviation(name: str) -> bool:
    """Whether ``name`` (lower case, "tv", "dna") is a word of the installed WordNet that is no function,
    question or modal word: a name the word rule can match by WordNet's senses ("TV" / "television")."""
    net = default_wordnet()
    return (net is not None and name.isalpha() and name not in FILLER and name not in QUESTION_WORDS and name not in MODALS
            and name not in _NEGATION and net.known(name))


def _phrase_senses(seq: Sequence[tuple[str, int | None]], words: Sequence[str],
                   keys: list[tuple[frozenset[str], frozenset[str]]], net: WordNet) -> None:
    """A phrase of two or three words that WordNet holds as one ("get rid of", "find out", "work out")
    gives its senses to each of its content words, so "get rid of ants" is matched by "eliminate
    ants": each of "get" and "rid" by "eliminate", and "eliminate" by either. A word of the phrase
    still needs a match of its own when the other question says only part of it ("work" / "work out")."""
    for n in (3, 2):
        for j in range(len(seq) - n + 1):
            span = seq[j:j + n]
            content = [w for _, w in span if w is not None]
            if len(content) < 2 or not all(p.isalpha() and p not in QUESTION_WORDS and p not in MODALS
                                           and p not in _NEGATION for p, _ in span):
                continue
            first, rest = span[0][0], " ".join(p for p, _ in span[1:])
            firsts = {first} | {lemma for forms in _lemmas(first).values() for lemma in forms}
            senses = [k for f in firsts for k in net.keys(f"{f} {rest}")]
            if not senses:
                continue
            for w in content:
                keys[w] = (keys[w][0] | {"~" + k for k, _ in senses} | {"=" + k for k, main in senses if main},
                           keys[w][1] | {"=" + k for k, _ in senses} | {"~" + k for k, main in senses if main})


def _is_adjective(word: str) -> bool:
    found = _known_lemmas(word)
    return "ADJ" in found or "ADV" in found


def _american(word: str) -> str:
    if len(word) < 5 or not word.isalpha():
        return word
    for pattern, repl in _SPELLING:
        if pattern.match(word):
            return pattern.sub(repl, word)
    return word


def _known(word: str, net: WordNet | None) -> bool:
    if not word.isalpha():
        return True  # a name or a number is never a typo
    return bool(_known_lemmas(word) if has_lemmatizer() else True) or (net is not None and net.known(word))


def _word_keys(word: str, net: WordNet | None, degree: str = "") -> tuple[set[str], set[str]]:
    """The keys of one content word (itself, its lemmas with their degree, its number, its
    question-word meaning, its WordNet senses), and what it offers to the other question's words:
    the same but for WordNet senses of a part of speech it is seldom used in (see :class:`WordNet`)."""
    keys = _plain_keys(word, degree)
    if net is None or word.startswith(("?", "#", "!")) or any(c.isdigit() for c in word):
        return keys, set(keys)
    main, other = set(), set()
    for lemma in list(keys):
        base = lemma.split("+")[0].split("-")[0]
        suffix = lemma[len(base):]
        for key, is_main in net.keys(base):
            (main if is_main else other).add(key + suffix)
    # "~" senses match any sense of the other word, "=" senses only a main one: a shared sense counts
    # when it is the main part of speech of one of the two words
    offers = keys | {"=" + k for k in main | other} | {"~" + k for k in main}
    # a noun that names what an adjective measures ("height") matches "how" and that adjective ("how tall"):
    # "^" and "@" keys each match only the other kind, so "how hot" and "how cold" do not match each other
    attrs = {a for lemma in keys for a in net.attribute_of(lemma.split("+")[0])}
    return (keys | {"~" + k for k in main | other} | {"=" + k for k in main} | {"^" + a for a in attrs},
            offers | {"@" + a for a in attrs})


@lru_cache(maxsize=50_000)
def _shared_keys(word: str, net: WordNet | None, degree: str = "") -> tuple[frozenset[str], frozenset[str]]:
    """:func:`_word_keys`, remembered: every reading that says a word holds the same two sets, not a copy
    (a reading is kept for each stored question)."""
    keys, offers = _word_keys(word, net, degree)
    return frozenset(keys), frozenset(offers)


def _least_as_most(adjective: str, net: WordNet | None, degree: str) -> tuple[frozenset[str], frozenset[str]]:
    """The keys of "most"/"least"/"more"/"less" and ``adjective``; "least" and "less" also say "most" and "more" of
    the adjective's WordNet antonyms ("least expensive" is "cheapest", "less difficult" is "easier")."""
    found = _shared_keys(adjective, net, degree)
    if net is None or not degree.startswith("-"):
        return found
    for antonym in sorted(net.opposed(adjective)):
        if _is_adjective(antonym):
            more = _shared_keys(antonym, net, "+" + degree[1:])
            found = (found[0] | more[0], found[1] | more[1])
    return found


@lru_cache(maxsize=50_000)
def _with_word(found: tuple[frozenset[str], frozenset[str]], word: str) -> tuple[frozenset[str], frozenset[str]]:
    """``found`` (a word's keys and offers) with ``word`` added to both, remembered like :func:`_shared_keys`."""
    return found[0] | {word}, found[1] | {word}


class _Wide(NamedTuple):
    """What WordNet says of a word past its first senses: per lemma, its keys and offers
    (:meth:`WordNet.related`, WordNet's own shared sets), its lemmas, and the words WordNet opposes to it."""

    related: tuple[tuple[frozenset[str], frozenset[str]], ...]
    lemmas: frozenset[str]
    against: frozenset[str]


_NO_WIDE = _Wide((), frozenset(), frozenset())


@lru_cache(maxsize=50_000)
def _wide(word: str, net: WordNet | None) -> _Wide:
    """What :meth:`WordNet.related` gives each of ``word``'s own lemmas (not an agent noun's verb: "employer" is
    not "employee"): every sense of its main part of speech, the words derived from it, the adjectives similar to
    it; and what :meth:`WordNet.opposed` opposes to them. Read only for a word its first senses left unmatched
    (:func:`_widely_matched`): a reading holds no copy of them."""
    if net is None or not word.isalpha() or word in MODALS or word in QUESTION_WORDS or word in _NEGATION \
            or word in _DEGREE or word in _ORDINALS:
        return _NO_WIDE
    lemmas = frozenset(lemma for lemma in _word_lemmas(word) if lemma.isalpha())
    return _Wide(tuple(net.related(lemma) for lemma in sorted(lemmas)), lemmas,
                 frozenset().union(*(net.opposed(lemma) for lemma in lemmas)))


def _joined_wide(part: _Wide, whole: _Wide) -> _Wide:
    """What WordNet says past the first senses of a part of a hyphenated word and of the word written whole."""
    return _Wide(part.related + whole.related, part.lemmas | whole.lemmas, part.against | whole.against)


def _wide_pair(x: Wording, i: int, y: Wording, j: int) -> bool:
    """Whether WordNet relates ``x.words[i]`` and ``y.words[j]`` past their first senses, and does not oppose
    them: antonyms, or one causing the other ("teach" causes "learn", though a rare sense of "learn" is "teach")."""
    if i >= len(x.wide) or j >= len(y.wide):
        return False
    wx, wy = x.wide[i], y.wide[j]
    if not wx.related or not wy.related or not wx.against.isdisjoint(wy.lemmas) or not wy.against.isdisjoint(wx.lemmas):
        return False
    return any(not own.isdisjoint(their_offer) or not offered.isdisjoint(their_own)
               for own, offered in wx.related for their_own, their_offer in wy.related)


def _widely_matched(x: Wording, i: int, y: Wording) -> bool:
    """Whether WordNet relates ``x.words[i]`` past its first senses to some word of ``y`` (:func:`_wide_pair`)."""
    return any(_wide_pair(x, i, y, j) for j in range(len(y.wide)))


_PRICE = frozenset({"cost", "price"})
"""Words that say what "how much is" asks: "How much is a ticket?" / "What does a ticket cost?" / "What is the
price of a ticket?". They match "how much is" only, never "how much" before a noun ("how much sugar is in it")."""


def _plain_keys(word: str, degree: str = "") -> set[str]:
    if word == "?single":
        return set(_ONE_KEYS)
    if word == "?in":
        return set(_IN_KEYS)
    if word == "?price":
        return {"?price", "?amount"}
    if word.startswith("?") or word.startswith("#"):
        return {word}
    if word in MODALS:
        return {MODALS[word]}
    if word in QUESTION_WORDS:
        return {QUESTION_WORDS[word]}
    if word in _NEGATION:
        return {"!not"}
    if word in _EACH:
        return {"?each"}
    keys = set() if degree else {word}  # "most expensive" is not "expensive"
    if _DIGITS.match(word):
        value = float(word.replace(",", ""))
        return {f"#{int(value) if value.is_integer() else value}"}
    if (m := _ORDINAL_DIGITS.match(word)) or word in _ORDINALS:
        keys.add(f"#{m.group(1) if m else _ORDINALS[word]}th")
    if any(c.isdigit() for c in word) or "." in word or "+" in word:
        return keys  # a name ("gpt-4o", "8x7b", "r+"): itself only
    if word in _DEGREE:
        base, suffix = _DEGREE[word]
        degree = degree or suffix
        word = base
        keys = {base + degree}
    lemmas: set[str] = set()
    for pos, forms in _lemmas(word).items():
        for lemma in forms:
            mark = ""
            if pos in ("ADJ", "ADV") and lemma != word and not degree:
                mark = "+sup" if word.endswith("st") else "+cmp" if word.endswith("r") else ""
            lemmas.add(lemma + (degree or mark))
            if not (degree or mark):
                lemmas.add(lemma)
            if pos in ("NOUN", "X") and lemma.endswith(("er", "or")) and len(lemma) > 5:
                stem = lemma[:-2]  # an agent noun says its verb: "developer" develops, "creator" creates, "winner" wins
                doubled = (stem[:-1],) if stem[-1] == stem[-2] and stem[-1] not in "aeioulsz" else ()
                for verb in (stem, stem + "e", *doubled):
                    if verb in _lemmas(verb).get("VERB", ()):  # "founder" founds, though "found" is also "find"
                        lemmas.add(verb)
    if lemmas & _PRICE:
        lemmas.add("?price")
    return keys | lemmas


_EACH = frozenset({"per", "each", "every"})
""""Per day", "each day" and "every day" say one thing."""
_PRESENT, _PAST = frozenset({"is", "are", "am", "do", "does"}), frozenset({"was", "were", "did"})
_TENSE_KEYS = frozenset({"?present", "?past"})
"""The tense the auxiliaries say ("Who is the mayor?" / "Who was the mayor?"), when they say one: matched by the same, or
by a question whose auxiliaries say none or both ("Who won?"), like a modal. "Have" and "had" say an aspect more than a
tense ("Have you answered?" asks what "Did you answer?" asks) and count for neither."""


def _tense(tokens: Sequence[str]) -> str:
    said = set(tokens)
    present, past = bool(said & _PRESENT), bool(said & _PAST)
    return "" if present == past else "?present" if present else "?past"


_ROLE_KEYS = frozenset({"?doer", "?patient"})
"""What a "what"/"which" question asks of its verb (:func:`~agentmesh.memory.asking.what_role`): matched by the same, or
by a question that says neither ("What is made by bees?" / "What is the product of bees?"), like a modal."""
_MODAL_KEYS = frozenset(MODALS.values())
_IN_KEYS = frozenset({"?in", "in"})
""""How many X does Y have": the "in" of "how many X are in Y", matched by "in" or by nothing ("the parameter count of Y"),
and a word between X and Y, so "how many tablespoons does a teaspoon have" / "how many teaspoons does a tablespoon have"
swaps roles (:func:`swapped`) rather than moving a compound whole; "on" on the other side stays unmatched."""
_ONE_KEYS = frozenset({"?single", "#1"})
""""One" before a noun: "a" said another way, so matched by "a" (no content word), "one" or "1"; another number
on the other side is unmatched there ("one egg" / "two eggs"), and the word stays in place for :func:`swapped`."""
_YEAR = re.compile(r"^#\d{4}$")
"""A year, which a compound puts first as its other objects ("the World Cup in 2010" / "the 2010 World Cup")."""
_LINKING = frozenset({"on", "in", "at", "for"})
"""Prepositions a noun compound drops: "the score on MMLU" is "the MMLU score"."""
_PREPOSITIONS = PREPOSITIONS


def unmatched(a: Wording, b: Wording) -> tuple[list[str], list[str]]:
    """The content words of ``a`` that nothing in ``b`` matches, and those of ``b`` nothing in ``a``
    matches. A modal verb is matched by the absence of any ("how many tokens can it take" asks
    what "how many tokens does it take" asks); another modal ("should", "must") refuses. Words
    left over may still be matched together: an acronym by the words it abbreviates ("NATO" /
    "North Atlantic Treaty Organization"), a typo by the word it misspells (one letter added,
    dropped, changed or swapped, in a word of six letters or more that is no English word), and a
    preposition a noun compound drops ("score on MMLU" / "MMLU score")."""
    a_modal, b_modal = bool(a.all_keys & _MODAL_KEYS), bool(b.all_keys & _MODAL_KEYS)
    a_role, b_role = bool(a.all_keys & _ROLE_KEYS), bool(b.all_keys & _ROLE_KEYS)
    a_tense, b_tense = bool(a.all_keys & _TENSE_KEYS), bool(b.all_keys & _TENSE_KEYS)
    left = [i for i, k in enumerate(a.keys) if not (k & b.all_keys or (k <= _MODAL_KEYS and not b_modal)
                                                    or (k <= _ROLE_KEYS and not b_role) or (k <= _TENSE_KEYS and not b_tense)
                                                    or k in (_ONE_KEYS, _IN_KEYS))]
    right = [i for i, k in enumerate(b.keys) if not (k & a.all_keys or (k <= _MODAL_KEYS and not a_modal)
                                                     or (k <= _ROLE_KEYS and not a_role) or (k <= _TENSE_KEYS and not a_tense)
                                                     or k in (_ONE_KEYS, _IN_KEYS))]
    if left or right:  # WordNet past the first senses, read only now: a word matched by it is matched
        left = [i for i in left if not _widely_matched(a, i, b)]
        right = [j for j in right if not _widely_matched(b, j, a)]
    if left or right:
        left, right = _leftovers(a, b, left, right)
    return [a.words[i] for i in left], [b.words[i] for i in right]


def _word_lemmas(word: str) -> frozenset[str]:
    return frozenset({word, *(f for forms in _lemmas(word).values() for f in forms)})


def swapped(a: Wording, b: Wording) -> tuple[str, str] | None:
    """Two runs of words of ``a`` that ``b`` says in each other's places, the rest in place: the
    roles swapped ("How many dollars is one euro worth?" / "How many euros is one dollar worth?").
    Not when one question is in the passive ("by") and the other not, nor when the two runs are
    next to each other (unless "to" joins them: "convert Fahrenheit to Celsius"): a phrase moved whole ("in Japan, what is ..." / "what is ... in Japan";
    "Grok-1's score" / "the score of Grok-1"; "AD 100" / "100 AD")."""
    if ("by" in a.folded) != ("by" in b.folded):
        return None
    asked = [i for i, k in enumerate(a.keys) if not all(x.startswith("?") for x in k)]  # "where" goes anywhere
    told = [j for j, k in enumerate(b.keys) if not all(x.startswith("?") for x in k)]
    n = len(asked)
    if n != len(told) or n < 2:
        return None
    used: set[int] = set()
    perm = []
    for i in asked:
        j = next((t for t, j in enumerate(told) if t not in used and (a.keys[i] & b.offers[j] or _wide_pair(a, i, b, j))), None)
        if j is None:
            return None
        used.add(j)
        perm.append(j)
    words = [a.words[i] for i in asked]
    p, q = 0, n
    while p < q and perm[p] == p:
        p += 1
    while q > p and perm[q - 1] == q - 1:
        q -= 1
    if p == q:
        return None
    moved = perm[p:q]
    for la in range(1, q - p):
        for lb in range(1, q - p - la + 1):
            lm = q - p - la - lb
            # a's A m B is b's B m A: A goes to the end of the span, B to its start
            want = list(range(q - la, q)) + list(range(p + lb, p + lb + lm)) + list(range(p, p + lb))
            if moved != want:
                continue
            if lm == 0 and not a.after_to[asked[p + la]]:  # next to each other: a phrase moved whole ("X's Y" / "Y
                return None  # of X"), not a role swapped; but "X to Y" / "Y to X" swaps where from and where to
            block_a, block_b = words[p:p + la], words[q - lb:q]
            if words[p + la:q - lb] in (["and"], ["or"]):  # "a man and a woman" / "a woman and a man"
                return None
            if block_a[0] in _PREPOSITIONS or block_b[0] in _PREPOSITIONS:
                return None  # a phrase with its preposition moved whole: "after cooking it, how long ..." / "how long ... after cooking it"
            return " ".join(block_a), " ".join(block_b)
    return None


def _leftovers(a: Wording, b: Wording, left: list[int], right: list[int]) -> tuple[list[int], list[int]]:
    for x, y, xs, ys in ((a, b, left, right), (b, a, right, left)):
        for i in list(ys):  # an acronym on one side, the words it abbreviates on the other
            if y.words[i] in y.acronyms and (run := _spelled_run(y.words[i], x.words, xs)):
                ys.remove(i)
                for j in run:
                    xs.remove(j)
    for i in list(left):  # a typo: one edit apart (two neighbours swapped or a double letter single, in a shorter word), the misspelt one no English word
        for j in right:
            x, y = a.words[i], b.words[j]
            if (not (a.known[i] and b.known[j]) and x.isalpha() and y.isalpha()
                    and ((len(x) >= 6 and len(y) >= 6 and _one_edit(x, y))
                         or (len(x) >= 4 and len(y) >= 4 and (_swapped_neighbours(x, y) or _one_of_double(x, y))))):
                left.remove(i), right.remove(j)
                break
    if not any(b.words[j] in _PREPOSITIONS for j in right):
        left = [i for i in left if not _dropped_linking(a, b, i)]
    if not any(a.words[i] in _PREPOSITIONS for i in left):
        right = [j for j in right if not _dropped_linking(b, a, j)]
    return left, right


def _dropped_linking(a: Wording, b: Wording, i: int) -> bool:
    """``a.words[i]`` links a head and its object ("score on mmlu") that ``b`` says as a compound ("mmlu score")."""
    if a.words[i] not in _LINKING or not 0 < i < len(a.words) - 1:
        return False
    head, obj = a.keys[i - 1], a.keys[i + 1]
    if any(k.startswith(("?", "#")) for k in head) or any(k.startswith("?") or (k.startswith("#") and not _YEAR.match(k))
                                                           for k in obj):
        return False
    for n in range(1, min(3, i) + 1):  # the head may be a compound: "the world cup in 2010" / "the 2010 world cup"
        heads = a.keys[i - n:i]
        if any(obj & b.offers[j] and all(h & b.offers[j + 1 + k] for k, h in enumerate(heads))
               for j in range(len(b.words) - n)):
            return True
    return False


def _spelled_run(acronym: str, words: Sequence[str], free: Sequence[int]) -> list[int] | None:
    """The indices of consecutive unmatched ``words`` whose first letters (or first few) spell ``acronym``."""
    free_set = set(free)
    for start in free:
        run: list[int] = []
        for j in range(start, len(words)):
            if j not in free_set or not words[j].isalpha():
                break
            run.append(j)
            if _spells(acronym, [words[k] for k in run]):
                return run
    return None


def _spells(acronym: str, words: Sequence[str]) -> bool:
    """Whether ``acronym`` is a prefix of each of ``words`` in turn ("bsc": "bachelor", "science"), at
    least two words, one letter each at least."""
    if len(words) < 2:
        return False

    def go(rest: str, k: int) -> bool:
        if k == len(words):
            return not rest
        word = words[k]
        return any(rest[:n] == word[:n] and go(rest[n:], k + 1) for n in range(1, min(len(rest), len(word)) + 1))
    return go(acronym, 0)


def spells(acronym: str, text: str) -> bool:
    """Whether ``acronym`` abbreviates consecutive words of ``text`` ("GDP", "gross domestic product")."""
    words = [w for w in re.findall(r"[a-z]+", re.sub(r"['\u2019]s\b", "", text.lower())) if w not in FILLER]
    return any(_spells(acronym.lower(), words[i:j]) for i in range(len(words)) for j in range(i + 2, min(len(words), i + 8) + 1))


def _one_of_double(x: str, y: str) -> bool:
    """One letter of a double written once ("aply" / "apply", "Eifel" / "Eiffel"), or once written twice."""
    short, long_ = (x, y) if len(x) < len(y) else (y, x)
    return len(long_) == len(short) + 1 and any(long_[k] == long_[k + 1] and long_[:k] + long_[k + 1:] == short
                                                 for k in range(len(long_) - 1))


def _swapped_neighbours(x: str, y: str) -> bool:
    """The same letters but two neighbours swapped ("rvier" / "river"): the commonest slip of a typist."""
    if len(x) != len(y) or x == y:
        return False
    diff = [k for k in range(len(x)) if x[k] != y[k]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and x[diff[0]] == y[diff[1]] and x[diff[1]] == y[diff[0]]


def _one_edit(x: str, y: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped."""
    if x == y or abs(len(x) - len(y)) > 1:
        return False
    if len(x) == len(y):
        diff = [k for k in range(len(x)) if x[k] != y[k]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and x[diff[0]] == y[diff[1]]
                                  and x[diff[1]] == y[diff[0]])
    short, long_ = (x, y) if len(x) < len(y) else (y, x)
    return any(long_[:k] + long_[k + 1:] == short for k in range(len(long_)))
