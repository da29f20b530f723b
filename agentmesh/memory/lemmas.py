"""A word's lemmas by part of speech ("developed" -> develop), for the cache's word rule: lemminflect's
tables when installed (``pip install 'agentmesh[words]'``), a few suffix rules without them."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["known_lemmas", "lemmas", "has_lemmatizer"]


@lru_cache(maxsize=None)
def _lemminflect():  # lemminflect's getAllLemmas, or None when it is not installed
    try:
        from lemminflect import getAllLemmas
    except ImportError:
        return None
    return getAllLemmas


@lru_cache(maxsize=100_000)
def known_lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """lemminflect's {universal POS: lemmas} of ``word`` ({} when it has none or is not installed),
    remembered: it copies its tables' answer on every call, and a reading asks several times per word.
    Read only: the same dict is returned to every caller."""
    get = _lemminflect()
    return (get(word) or {}) if get is not None else {}


def lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """{universal POS: lemmas} of ``word``; a few suffix rules without lemminflect."""
    found = known_lemmas(word)
    if found:
        return found
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("es", "e"), ("s", ""), ("ed", ""), ("ing", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return {"X": (word[: len(word) - len(suffix)] + repl,)}
    return {"X": (word,)}


def has_lemmatizer() -> bool:
    """Whether lemminflect is installed (without it every word counts as known: no typo is found)."""
    return _lemminflect() is not None
