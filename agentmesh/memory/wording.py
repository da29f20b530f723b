"""What a question says, word by word: the content words a cache hit has to account for.

A cached answer is served only when every content word of each question is matched by a word
of the other (:func:`unmatched`): the same lemma ("develops"/"developed"), an inflection, a number
written another way ("3"/"three", "1,000"/"one thousand"), a synonym from WordNet (when its data
is installed, see :class:`WordNet`) or from the user's lexicon, or a question word said another
way ("who" / "which company", "when" / "what year", "how many" / "the number of"). Words that
carry no content in a question ("the", "is", "please", "tell me") are skipped; everything else
counts, so a difference no list names (opposite verbs, other places, other languages) refuses.

This module holds general English only: function words, question words, number words, degree
("largest" is not "larger" is not "large") and common abbreviations of units, currencies, months
and titles. A field's own words (its synonyms and contrasts) come from the user's lexicon file
(``cache_lexicon``), never from here.

Lemmas come from ``lemminflect`` (``pip install 'agentmesh[words]'``: 0.8 MB of tables, ~12 µs a
word); without it a few suffix rules stand in. Synonyms come from Princeton WordNet 3.0's index
files when present (Debian's ``wordnet-base``, or a folder named by ``AGENTMESH_WORDNET``): two
words are synonyms when one of the first senses of each is the same synset.

>>> unmatched(read("Who develops Mixtral?"), read("Which company developed Mixtral?"))
([], [])
>>> unmatched(read("How many input tokens can GPT-4o take?"), read("How many output tokens can GPT-4o take?"))
(['input'], ['output'])
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

__all__ = ["Wording", "Reader", "read", "unmatched", "WordNet", "FILLER", "ABBREVIATIONS", "number_words_as_digits"]

FILLER = frozenset("""
a an the of is are was were be been being am do does did done doing has have had having
i me my mine myself you your yours we us our it its they them their this that these those
what which please tell know let wonder about to for kindly exactly actually really just also so
thing things there here one ones anyone someone somebody anybody something anything by whats
""".split())
"""Words that carry no content in a question: articles, auxiliaries, pronouns, "what"/"which" and
the frame of a request ("please tell me about ...") and the passive's "by" ("by whom was it built").
Prepositions other than "of", "to", "for", "about" and "by" count: "from" is not "to" once one side
says it.""" 

REQUEST = re.compile(r"\b(?:can|could|would|will)\s+(?:you|u)\b|\b(?:i\s+(?:would|'d)\s+like\s+to\s+know|do\s+you\s+know"
                     r"|i\s+want\s+to\s+know|i\s+wonder|tell\s+me|show\s+me|give\s+me|explain\s+to\s+me)\b")
"""The frame of a request: "can you tell me", "I'd like to know": no content of their own."""

MODALS = {"can": "?can", "could": "?can", "may": "?can", "might": "?can", "able": "?can",
          "should": "?should", "ought": "?should", "must": "?must", "will": "?will", "shall": "?will",
          "would": "?would"}
"""Modal verbs by meaning: "can" and "may" ask the same ("may I use it commercially?"), "should" asks
for advice, "must" for a duty, "will" about the future."""

PERSON_NOUNS = frozenset("person people company companies firm firms organisation organisations organization "
                         "organizations individual individuals team teams group groups lab labs".split())
TIME_NOUNS = frozenset("date dates time times year years day days".split())
PLACE_NOUNS = frozenset("place places location locations".split())
QUESTION_WORDS = {"who": "?who", "whom": "?who", "whose": "?whose", "when": "?when", "where": "?where",
                  "why": "?why", "how": "?how"}
_AT = r"(?:\b(?:in|on|at|during|from|to)\s+)?"
_WH_PHRASES = [
    (re.compile(r"\b(?:what|which)\s+(?:\w+\s+)?(" + "|".join(sorted(PERSON_NOUNS)) + r")\b"), "?who"),
    (re.compile(_AT + r"\b(?:what|which)\s+(?:\w+\s+)?(" + "|".join(sorted(TIME_NOUNS)) + r")\b"), "?when"),
    (re.compile(_AT + r"\b(?:what|which)\s+(" + "|".join(sorted(PLACE_NOUNS)) + r")\b"), "?where"),
    (re.compile(r"\b(?:what|which)\s+(?:is|was|are|were)\s+the\s+(?:reason|cause)\b"), "?why"),
    (re.compile(r"\bhow\s+many\b|\bthe\s+number\s+of\b|\bnumber\s+of\b|\bcount\s+of\b|\bcount\b"), "?count"),
    (re.compile(r"\bhow\s+much\b|\bthe\s+amount\s+of\b|\bamount\s+of\b"), "?amount"),
    (re.compile(r"\bhow\s+(?:long|old|big|far|often|large|small|fast|high|tall|deep|wide|soon|well)\b"), None),
]
"""Question words said another way. "how long"/"how old"... keep their adjective as the content word."""

ABBREVIATIONS = {
    "$": "dollar", "usd": "dollar", "us dollars": "dollar", "€": "euro", "eur": "euro", "£": "pound sterling",
    "gbp": "pound sterling", "¥": "yen", "jpy": "yen",
    "ms": "millisecond", "msec": "millisecond", "secs": "second", "sec": "second", "mins": "minute",
    "hrs": "hour", "hr": "hour", "yrs": "year", "yr": "year", "km": "kilometre", "kilometer": "kilometre",
    "kilometers": "kilometres", "kg": "kilogram", "cm": "centimetre", "mm": "millimetre", "meter": "metre",
    "meters": "metres", "lbs": "pound weight", "lb": "pound weight", "mph": "mile per hour", "kph": "kilometre per hour",
    "chars": "character", "approx": "approximately",
    "jan": "january", "feb": "february", "apr": "april", "jun": "june", "jul": "july", "aug": "august",
    "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
    "mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday",
    "chief executive officer": "ceo", "chief executive": "ceo", "chief technology officer": "cto",
    "chief financial officer": "cfo", "chief operating officer": "coo",
    "u.s.": "united states", "us": "united states", "usa": "united states", "uk": "united kingdom", "eu": "european union",
    "e-mail": "email", "okay": "ok",
}
"""Common English abbreviations and spellings (units, currencies, months, titles, places)."""

_CONTRACTIONS = [(re.compile(p), r) for p, r in (
    (r"\bcan't\b|\bcannot\b", "can not"), (r"\bwon't\b", "will not"), (r"n't\b", " not"), (r"'re\b", " are"),
    (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"), (r"'m\b", " am"),
    (r"\b(what|who|where|when|how|it|that|there|here)'s\b", r"\1 is"), (r"'s\b", ""), (r"s'(?=\s|$)", "s"))]
_TOKEN = re.compile(r"[$€£¥]|[a-z0-9](?:[a-z0-9.+\-/']*[a-z0-9+])?")

_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 10**12}
_ORDINALS = {w: i + 1 for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth "
                                            "eleventh twelfth".split())}
_NUMBER_WORDS = re.compile(r"\b(?:(?:" + "|".join([*_UNITS, *_TENS, *_SCALES]) + r")(?:[\s\-]+(?:and\s+)?|\b))+")
_DIGITS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$")
_ORDINAL_DIGITS = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_DEGREE = {"best": ("good", "+sup"), "worst": ("bad", "+sup"), "better": ("good", "+cmp"), "worse": ("bad", "+cmp"),
           "most": ("much", "+sup"), "least": ("little", "+sup"), "more": ("much", "+cmp"), "less": ("little", "+cmp"),
           "fewer": ("few", "+cmp"), "fewest": ("few", "+sup")}
_NEGATION = frozenset({"not", "no", "never", "none", "nothing", "nobody", "neither", "nor", "without"})


def _words_value(words: str) -> int | None:
    total, current = 0, 0
    for word in re.findall(r"[a-z]+", words):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word in _SCALES:
            scale = _SCALES[word]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        else:
            return None
    return total + current


def number_words_as_digits(text: str) -> str:
    """``text`` with its number words written in digits: "twenty-one models" -> "21 models"."""
    def digits(match: re.Match[str]) -> str:
        value = _words_value(match.group(0))
        return match.group(0) if value is None else f"{value} "
    return _NUMBER_WORDS.sub(digits, text.lower())


@lru_cache(maxsize=None)
def _lemminflect():
    try:
        from lemminflect import getAllLemmas
    except ImportError:
        return None
    return getAllLemmas


def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """{universal POS: lemmas} of ``word``; a few suffix rules without lemminflect."""
    get = _lemminflect()
    if get is not None:
        found = get(word)
        if found:
            return found
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("es", "e"), ("s", ""), ("ed", ""), ("ing", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return {"X": (word[: len(word) - len(suffix)] + repl,)}
    return {"X": (word,)}


class WordNet:
    """Synonyms from Princeton WordNet 3.0's index files (``index.noun`` ... ``index.adv``).

    Each word's first ``senses`` synsets (WordNet orders them by frequency) are its synonym keys:
    two words share a key when they share one of those senses ("big"/"large", "buy"/"purchase",
    "begin"/"start"). WordNet never puts opposites in one synset. The files are read once, on first
    use (~0.5 s). :meth:`find` looks in ``AGENTMESH_WORDNET`` (``none`` switches it off), then
    ``/usr/share/wordnet`` (Debian's ``wordnet-base``); without them, words match by lemma, number
    and lexicon only: fewer paraphrases are served, never more near misses."""

    def __init__(self, folder: str | Path, senses: int = 2) -> None:
        self.folder, self.senses = Path(folder), senses
        self._keys: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def find(cls) -> "WordNet | None":
        if os.environ.get("AGENTMESH_WORDNET", "").lower() == "none":
            return None  # switched off
        for folder in (os.environ.get("AGENTMESH_WORDNET"), "/usr/share/wordnet"):
            if folder and (Path(folder) / "index.noun").is_file():
                return cls(folder)
        return None

    def keys(self, lemma: str) -> tuple[str, ...]:
        if self._keys is None:
            self._keys = self._load()
        return self._keys.get(lemma, ())

    def _load(self) -> dict[str, tuple[str, ...]]:
        keys: dict[str, list[str]] = {}
        for pos in ("noun", "verb", "adj", "adv"):
            path = self.folder / f"index.{pos}"
            if not path.is_file():
                continue
            with path.open(encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith(" "):
                        continue  # the licence at the top
                    parts = line.split()
                    n_synsets, n_pointers = int(parts[2]), int(parts[3])
                    offsets = parts[6 + n_pointers:][:n_synsets]
                    keys.setdefault(parts[0].replace("_", " "), []).extend(f"~{pos[0]}{o}" for o in offsets[: self.senses])
        return {k: tuple(v) for k, v in keys.items()}


@lru_cache(maxsize=1)
def _default_wordnet() -> WordNet | None:
    return WordNet.find()


@dataclass(frozen=True)
class Wording:
    """The content words of a question, each with the keys by which the other question may match it."""

    text: str
    words: tuple[str, ...]
    keys: tuple[frozenset[str], ...]
    all_keys: frozenset[str]
    folded: frozenset[str]
    """Every word after abbreviations and lexicon synonyms were folded, content or not (for contrasts)."""


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
        self.wordnet = _default_wordnet() if wordnet is True else (wordnet or None)
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
        lowered = text.lower().replace("’", "'")
        for pattern, repl in _CONTRACTIONS:
            lowered = pattern.sub(repl, lowered)
        lowered = REQUEST.sub(" ", lowered)
        lowered = self.fold(lowered)
        for pattern, key in _WH_PHRASES:
            if key is None:
                lowered = pattern.sub(lambda m: " ?how " + m.group(0).split()[-1], lowered)
            else:
                lowered = pattern.sub(f" {key} ", lowered)
        lowered = _NUMBER_WORDS.sub(lambda m: f" #{v} " if (v := _words_value(m.group(0))) is not None else m.group(0),
                                    lowered)
        tokens = re.findall(r"\?[a-z]+|#\d+|" + _TOKEN.pattern, lowered)
        words: list[str] = []
        keys: list[frozenset[str]] = []
        folded: set[str] = set()
        i = 0
        while i < len(tokens):
            token = tokens[i]
            i += 1
            parts = [token]
            if "-" in token and not any(c.isdigit() for c in token):
                parts = [p for p in token.split("-") if p]  # "open-weight" says "open" and "weight"
            for part in parts:
                folded.add(part)
                if part in self.filler:
                    continue
                if part in ("most", "least", "more", "less") and i < len(tokens) and _is_adjective(tokens[i]):
                    degree = {"most": "+sup", "least": "-sup", "more": "+cmp", "less": "-cmp"}[part]
                    nxt = tokens[i]
                    i += 1
                    folded.add(nxt)
                    words.append(f"{part} {nxt}")
                    keys.append(frozenset(_word_keys(nxt, net, degree)))
                    continue
                words.append(part)
                keys.append(frozenset(_word_keys(part, net)))
        all_keys = frozenset().union(*keys) if keys else frozenset()
        return Wording(text, tuple(words), tuple(keys), all_keys, frozenset(folded))


_DEFAULT_READER: Reader | None = None


def read(text: str) -> Wording:
    """``text`` read with no lexicon and the installed WordNet (see :class:`Reader`)."""
    global _DEFAULT_READER
    if _DEFAULT_READER is None:
        _DEFAULT_READER = Reader()
    return _DEFAULT_READER(text)


def _is_adjective(word: str) -> bool:
    get = _lemminflect()
    found = get(word) if get is not None else {}
    return "ADJ" in found or "ADV" in found


def _word_keys(word: str, net: WordNet | None, degree: str = "") -> set[str]:
    """The keys of one content word: itself, its lemmas (with their degree), its number, its
    question-word meaning, and its WordNet senses."""
    if word.startswith("?") or word.startswith("#"):
        return {word}
    if word in MODALS:
        return {MODALS[word]}
    if word in QUESTION_WORDS:
        return {QUESTION_WORDS[word]}
    if word in _NEGATION:
        return {"!not"}
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
                stem = lemma[:-2]  # an agent noun says its verb: "developer" develops, "creator" creates
                for verb in (stem, stem + "e"):
                    if "VERB" in _lemmas(verb) and _lemmas(verb)["VERB"][0] == verb:
                        lemmas.add(verb)
    keys |= lemmas
    if net is not None:
        for lemma in list(lemmas):
            base = lemma.split("+")[0].split("-")[0]
            suffix = lemma[len(base):]
            keys.update(k + suffix for k in net.keys(base))
    return keys


_MODAL_KEYS = frozenset(MODALS.values())


def unmatched(a: Wording, b: Wording) -> tuple[list[str], list[str]]:
    """The content words of ``a`` that nothing in ``b`` matches, and those of ``b`` nothing in ``a``
    matches. A modal verb is matched by the absence of any ("how many tokens can it take" asks
    what "how many tokens does it take" asks); another modal ("should", "must") refuses."""
    a_modal, b_modal = bool(a.all_keys & _MODAL_KEYS), bool(b.all_keys & _MODAL_KEYS)
    return ([w for w, k in zip(a.words, a.keys) if not (k & b.all_keys or (k <= _MODAL_KEYS and not b_modal))],
            [w for w, k in zip(b.words, b.keys) if not (k & a.all_keys or (k <= _MODAL_KEYS and not a_modal))])
