"""The nouns English derives from a verb, from Princeton WordNet 3.0's own derivation pointers.

"drove" is the act of a *driver*, "taught" of a *teacher* (whose synset is also *instructor*),
"enrolled" is an *enrollment*: when such a noun names a table or a column the reading of a question
uses, the verb says what that table or column already is, and is read (:mod:`agentmesh.answering.reading`).
A verb whose nouns name nothing the reading uses stays unread: "Which driver *inspected* the most
journeys?" is not "drove", and is refused.

The files are the ones the cache reads (:class:`agentmesh.memory.wordnet.WordNet`: Debian's
``wordnet-base``, or the folder ``AGENTMESH_WORDNET`` names). Only ``index.verb`` is read whole; each
synset is read where its offset says (WordNet's offsets are byte positions in ``data.*``). Without
the files no verb is read this way: fewer questions are answered, none differently.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

__all__ = ["derived_nouns"]

PERSONS = "18"
"""WordNet's lexicographer file of nouns that name people (noun.person)."""
SENSES = 3
"""A verb's senses looked at, most frequent first: "keep" is a *keeper* only in its seventh."""


@lru_cache(maxsize=4096)
def derived_nouns(verb: str) -> frozenset[str]:
    """The nouns WordNet derives from the first :data:`SENSES` senses of ``verb`` (a lemma: "drive"),
    and a person's other names (the words of a noun.person synset: "teacher" brings "instructor"; an
    act's synset is wider: "inspection" shares one with "review"); empty without WordNet."""
    folder = _folder()
    if folder is None:
        return frozenset()
    found: set[str] = set()
    for offset in _verb_offsets(folder).get(verb, ())[:SENSES]:
        words, pointers, _ = _synset(folder / "data.verb", offset)
        for symbol, target, pos, source, derived in pointers:
            if symbol == "+" and pos == "n" and (source < 0 or (source < len(words) and words[source] == verb)):
                nouns, _, kind = _synset(folder / "data.noun", target)
                found.update(nouns if kind == PERSONS else nouns[derived: derived + 1])
    return frozenset(found)


@lru_cache(maxsize=1)
def _folder() -> Path | None:
    from agentmesh.memory.wordnet import WordNet

    wordnet = WordNet.find()
    return None if wordnet is None or not (wordnet.folder / "data.verb").is_file() else wordnet.folder


@lru_cache(maxsize=1)
def _verb_offsets(folder: Path) -> dict[str, list[str]]:
    """lemma -> its verb synsets' offsets, most frequent sense first (``index.verb``)."""
    offsets: dict[str, list[str]] = {}
    with (folder / "index.verb").open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(" "):
                continue  # the licence at the top
            parts = line.split()
            n_synsets, n_pointers = int(parts[2]), int(parts[3])
            offsets[parts[0]] = parts[6 + n_pointers:][:n_synsets]
    return offsets


def _synset(path: Path, offset: str) -> tuple[list[str], list[tuple[str, str, str, int, int]], str]:
    """The synset at ``offset`` of a ``data.*`` file: its words (lower case, "_" as a space), its
    pointers (symbol, target offset, target part of speech, source word, target word; -1: all words)
    and its lexicographer file ("18": noun.person)."""
    with path.open("rb") as fh:
        fh.seek(int(offset))
        line = fh.readline().decode("utf-8", errors="replace")
    parts = line.split(" | ")[0].split()
    n_words = int(parts[3], 16)
    words = [parts[4 + 2 * k].split("(")[0].replace("_", " ").lower() for k in range(n_words)]
    at = 4 + 2 * n_words
    pointers = []
    for k in range(int(parts[at])):
        symbol, target, pos, st = parts[at + 1 + 4 * k: at + 5 + 4 * k]
        pointers.append((symbol, target, "a" if pos == "s" else pos, int(st[:2], 16) - 1, int(st[2:], 16) - 1))
    return words, pointers, parts[1]
