"""Princeton WordNet 3.0, read from its own files, for the cache's word rule (:mod:`agentmesh.memory.wording`).

Which words share a sense, which adjective is the value of which attribute, which words are similar, derived
from one another or opposed. Debian's ``wordnet-base`` installs the files in ``/usr/share/wordnet``; a folder
named by ``AGENTMESH_WORDNET`` is read instead (``none`` switches WordNet off).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

__all__ = ["WordNet", "default_wordnet"]


class WordNet:
    """Synonyms from Princeton WordNet 3.0's index files (``index.noun`` ... ``index.adv``).

    Each word's first ``senses`` synsets (WordNet orders them by frequency) are its synonym keys:
    two words share a key when they share one of those senses ("big"/"large", "buy"/"purchase",
    "begin"/"start"), in the part of speech in which at least one of the two is mostly used (the one
    with the most senses): "buy" is mostly a verb, so it matches "purchase" as a verb; "mother" and
    "father" are mostly nouns, so their one shared verb sense ("to beget") does not make them equal.
    WordNet never puts opposites in one synset. The files are read once, on first
    use (~1 s; the pointers of :meth:`related` another ~0.6 s). :meth:`find` looks in ``AGENTMESH_WORDNET`` (``none`` switches it off), then
    ``/usr/share/wordnet`` (Debian's ``wordnet-base``); without them, words match by lemma, number
    and lexicon only: fewer paraphrases are served, never more near misses."""

    def __init__(self, folder: str | Path, senses: int = 2) -> None:
        self.folder, self.senses = Path(folder), senses
        self._keys: dict[str, tuple[tuple[str, bool], ...]] | None = None
        self._related: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._similar: dict[str, set[str]] | None = None
        self._derived: dict[str, set[str]] = {}
        self._opposed: dict[str, frozenset[str]] = {}
        self._all_senses: dict[str, dict[str, list[str]]] = {}
        self._person: dict[str, bool] = {}
        self._nouns_of: dict[str, frozenset[str]] = {}

    @classmethod
    def find(cls) -> "WordNet | None":
        if os.environ.get("AGENTMESH_WORDNET", "").lower() == "none":
            return None  # switched off
        for folder in (os.environ.get("AGENTMESH_WORDNET"), "/usr/share/wordnet"):
            if folder and (Path(folder) / "index.noun").is_file():
                return cls(folder)
        return None

    def keys(self, lemma: str) -> tuple[tuple[str, bool], ...]:
        """(synset key, whether it is of the lemma's main part of speech) of ``lemma``'s first senses."""
        if self._keys is None:
            self._keys = self._load()
        return self._keys.get(lemma, ())

    def known(self, lemma: str) -> bool:
        return bool(self.keys(lemma))

    def related(self, lemma: str) -> tuple[frozenset[str], frozenset[str]]:
        """``lemma``'s keys beyond its first senses, and what it offers the other question's words.

        Two words match when a first sense of one (its ``senses`` most frequent, of its main part of
        speech) is any sense of the other ("compose" / "write": writing music is the second sense of
        "compose", the seventh of "write"), or is similar to one (an adjective's satellite and its head:
        "terrible" / "bad"), or when one is derived from the other ("assessment" / "assess", an act, a
        state, an event or an attribute, never a person: "trainee" is not who trains), or when one is the
        adjective that pertains to the other ("lunar" / "moon", "Chinese" / "China"). Rare senses
        of both are not enough: "hot" and "warm" share only a sense about a children's game."""
        found = self._related.get(lemma)
        if found is None:
            if self._keys is None:
                self._keys = self._load()
            if self._similar is None:
                self._similar, self._derived, self._opposed = self._load_related()
            by_pos = self._all_senses.get(lemma, {})
            most = max((len(v) for v in by_pos.values()), default=0)
            every = {p + o for p, offsets in by_pos.items() if len(offsets) == most for o in offsets}
            first = {p + o for p, offsets in by_pos.items() if len(offsets) == most for o in offsets[: self.senses]}
            # "*D" keys meet "*A" offers: a first sense of one word against any sense of the other
            own = {"*D" + k for k in first} | {"*A" + k for k in every} | {"%" + lemma}
            offered = ({"*A" + k for k in first} | {"*D" + k for k in every}
                       | {"*A" + t for k in first for t in self._similar.get(k, ())}
                       | {"*D" + t for k in every for t in self._similar.get(k, ())}
                       | {"%" + w for w in self._derived.get(lemma, ())})
            found = self._related[lemma] = (frozenset(own), frozenset(offered))
        return found

    def opposed(self, lemma: str) -> frozenset[str]:
        """The words WordNet says ``lemma`` (any sense) is the antonym of, causes or is caused by: "teach"
        causes "learn" (and shares a rare sense with it), "feed" causes "eat", "kill" causes "die"."""
        self.related(lemma)
        return self._opposed.get(lemma, frozenset())

    def _load_related(self) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, frozenset[str]]]:
        """From ``data.*``: similar-to pointers (synset to synset), derivations and pertainyms (word to word) and
        oppositions (antonym, cause: word to word, both ways)."""
        similar: dict[str, set[str]] = {}
        pointers: list[tuple[str, int, str, int]] = []  # derivation: (synset, word, target synset, target word)
        pertaining: list[tuple[str, int, str, int]] = []  # an adjective to the noun it pertains to ("lunar": moon)
        opposing: list[tuple[str, int, str, int]] = []
        words_of: dict[str, list[str]] = {}
        kind_of: dict[str, str] = {}  # synset -> its lexicographer file ("18" is noun.person)
        for pos, letter in _POS_LETTER.items():
            path = self.folder / f"data.{pos}"
            if not path.is_file():
                continue
            with path.open(encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith(" ") or not any(f" {m} " in line for m in ("+", "&", "!", ">", "\\")):
                        continue  # derivation is stated both ways: a synset with none is no one's target
                    parts = line.split(" | ")[0].split()
                    key = letter + parts[0]
                    kind_of[key] = parts[1]
                    n_words = int(parts[3], 16)
                    words_of[key] = [parts[4 + 2 * k] for k in range(n_words)]
                    at = 4 + 2 * n_words
                    for k in range(int(parts[at])):
                        symbol, offset, tpos, st = parts[at + 1 + 4 * k: at + 5 + 4 * k]
                        target = ("a" if tpos == "s" else tpos) + offset
                        if symbol == "&":
                            similar.setdefault(key, set()).add(target)
                        elif symbol == "+":
                            pointers.append((key, int(st[:2], 16) - 1, target, int(st[2:], 16) - 1))
                        elif symbol == "\\" and key[0] == "a" and target[0] == "n":
                            pertaining.append((key, int(st[:2], 16) - 1, target, int(st[2:], 16) - 1))
                        elif symbol in ("!", ">"):
                            opposing.append((key, int(st[:2], 16) - 1, target, int(st[2:], 16) - 1))
        derived: dict[str, set[str]] = {}
        for key, i, target, j in pointers:
            if any(k[0] == "n" and kind_of.get(k) not in _DERIVED_NOUNS for k in (key, target)):
                continue
            source, dest = words_of.get(key, ()), words_of.get(target, ())
            if 0 <= i < len(source) and 0 <= j < len(dest):
                derived.setdefault(_wn_word(source[i]), set()).add(_wn_word(dest[j]))
        for key, i, target, j in pertaining:  # stated from the adjective only: both ways, whatever the noun names
            source = words_of.get(key, ())
            dest = words_of.get(target) or self._synset_at("noun", target[1:])[0]  # a noun none points from
            if 0 <= i < len(source) and 0 <= j < len(dest):
                adjective, noun = _wn_word(source[i]), _wn_word(dest[j])
                derived.setdefault(adjective, set()).add(noun)
                derived.setdefault(noun, set()).add(adjective)
        opposed: dict[str, set[str]] = {}
        for key, i, target, j in opposing:  # a pointer from word i to word j, or (-1) between the synsets' words
            source, dest = words_of.get(key, []), words_of.get(target, [])
            for x in ([source[i]] if 0 <= i < len(source) else source):
                for y in ([dest[j]] if 0 <= j < len(dest) else dest):
                    x_word, y_word = _wn_word(x), _wn_word(y)
                    if x_word != y_word:
                        opposed.setdefault(x_word, set()).add(y_word)
                        opposed.setdefault(y_word, set()).add(x_word)
        return similar, derived, {k: frozenset(v) for k, v in opposed.items()}

    def attributes(self, adjective: str) -> frozenset[str]:
        """The nouns' synsets WordNet names as what ``adjective`` (its first senses) is a value of:
        "tall" of stature, "deep" of depth, "old" of age."""
        if self._keys is None:
            self._keys = self._load()
        return self._adj_attributes.get(adjective, frozenset())

    def names_a_person(self, noun: str) -> bool:
        """Whether ``noun``'s first sense is a person (WordNet's noun.person: "woman", "scientist", "winner"),
        read from ``data.noun`` at the sense's offset, remembered."""
        found = self._person.get(noun)
        if found is None:
            if self._keys is None:
                self._keys = self._load()
            offsets = self._all_senses.get(noun, {}).get("n", [])
            found = bool(offsets) and self._synset_at("noun", offsets[0])[2] == _PERSONS
            self._person[noun] = found
        return found

    def derived_nouns(self, verb: str, senses: int = 3) -> frozenset[str]:
        """The nouns WordNet derives from ``verb``'s first ``senses`` senses ("drive": driver, driving;
        "enroll": enrollment), each read at its offset, remembered. A person's other names come with it
        (the words of a noun.person synset: "teacher" brings "instructor"); an act's synset is wider
        ("inspection" shares one with "review") and does not."""
        found = self._nouns_of.get(verb)
        if found is None:
            if self._keys is None:
                self._keys = self._load()
            nouns: set[str] = set()
            for offset in self._all_senses.get(verb, {}).get("v", [])[:senses]:
                words, pointers, _ = self._synset_at("verb", offset)
                for symbol, target, pos, source, derived in pointers:
                    if symbol == "+" and pos == "n" and (source < 0 or (source < len(words) and words[source] == verb)):
                        targets, _, kind = self._synset_at("noun", target)
                        nouns.update(targets if kind == _PERSONS else targets[derived: derived + 1])
            found = self._nouns_of[verb] = frozenset(nouns)
        return found

    def _synset_at(self, pos: str, offset: str) -> tuple[list[str], list[tuple[str, str, str, int, int]], str]:
        """The synset at ``offset`` of ``data.<pos>`` (WordNet's offsets are byte positions): its words,
        its pointers (symbol, target offset, target part of speech, source word, target word; -1: all
        words) and its lexicographer file ("18": noun.person)."""
        with (self.folder / f"data.{pos}").open("rb") as fh:
            fh.seek(int(offset))
            line = fh.readline().decode("utf-8", errors="replace")
        parts = line.split(" | ")[0].split()
        n_words = int(parts[3], 16)
        words = [_wn_word(parts[4 + 2 * k]) for k in range(n_words)]
        at = 4 + 2 * n_words
        pointers = []
        for k in range(int(parts[at])):
            symbol, target, tpos, st = parts[at + 1 + 4 * k: at + 5 + 4 * k]
            pointers.append((symbol, target, "a" if tpos == "s" else tpos, int(st[:2], 16) - 1, int(st[2:], 16) - 1))
        return words, pointers, parts[1]

    def attribute_of(self, noun: str) -> frozenset[str]:
        """The synsets of ``noun`` (any sense) that some adjective is a value of: "height", "depth", "age"."""
        if self._keys is None:
            self._keys = self._load()
        return self._noun_attributes.get(noun, frozenset())

    def _load(self) -> dict[str, tuple[tuple[str, bool], ...]]:
        keys: dict[str, list[tuple[str, int]]] = {}
        pointed: dict[str, list[str]] = {}  # adjective synset -> its attribute noun synsets ("=" pointers)
        data = self.folder / "data.adj"
        if data.is_file():
            with data.open(encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if " = " in line and not line.startswith(" "):
                        found = re.findall(r" = (\d{8}) n ", line)
                        if found:
                            pointed[line[:8]] = [f"n{o}" for o in found]
        targets = {o for v in pointed.values() for o in v}
        pertains: dict[str, list[str]] = {}  # adverb synset -> the adjective synsets it is derived from ("\\")
        data = self.folder / "data.adv"
        if data.is_file():
            with data.open(encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if not line.startswith(" ") and (found := re.findall(r" \\ (\d{8}) [as] ", line)):
                        pertains[line[:8]] = [f"a{o}" for o in found]
        self._adj_attributes: dict[str, frozenset[str]] = {}
        self._noun_attributes: dict[str, frozenset[str]] = {}
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
                    keys.setdefault(parts[0].replace("_", " "), []).extend((f"{pos[0]}{o}", n_synsets)
                                                                           for o in offsets[: self.senses])
                    self._all_senses.setdefault(parts[0].replace("_", " "), {})[_POS_LETTER[pos]] = offsets
                    if pos == "adv":  # "safely" is "safe" said of the verb
                        keys[parts[0].replace("_", " ")].extend((a, n_synsets) for o in offsets[: self.senses]
                                                                for a in pertains.get(o, ()))
                    if pos == "adj" and (attrs := {a for o in offsets[: self.senses] for a in pointed.get(o, ())}):
                        self._adj_attributes[parts[0]] = frozenset(attrs)
                    elif pos == "noun" and (attrs := {f"n{o}" for o in offsets} & targets):
                        self._noun_attributes[parts[0]] = frozenset(attrs)
        return {k: tuple((key, n == max(m for _, m in v)) for key, n in v) for k, v in keys.items()}


_POS_LETTER = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
_PERSONS = "18"
"""WordNet's lexicographer file of nouns that name people (noun.person)."""
_DERIVED_NOUNS = frozenset({"04", "07", "09", "11", "12", "19", "22", "26"})
"""Nouns (WordNet's lexicographer files) a derivation may match: acts, attributes, cognition, events, feelings,
phenomena, processes, states ("assessment", "depth", "growth"); not persons ("trainee", "employer"), artifacts
("product") or the rest, which name a participant rather than the act."""


def _wn_word(word: str) -> str:
    """A word as data.* writes it ("Big_Apple", "great(a)") as index.* and a reading do ("big apple", "great")."""
    return word.split("(")[0].replace("_", " ").lower()


@lru_cache(maxsize=1)
def default_wordnet() -> WordNet | None:
    """This machine's WordNet (:meth:`WordNet.find`), one per process; None without its files."""
    return WordNet.find()
