"""How a question's words match the schema's: tokens, word forms, and the words a reading has used.

A question word says a schema word when it is the same word or its plural, the same first five
letters ("manufactured" / "manufacturer"), one of its forms (lemminflect: "rated" / "rating"), an
abbreviation it starts with ("num" / "number"), a word of the same dimension ("altitude" /
``elevation_m``) or, by the user's lexicon, a synonym. General English only
(:mod:`agentmesh.english`); the question reading (:mod:`agentmesh.answering.reading`)
composes these.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from agentmesh.english import COUNT_NAME_WORDS, DIMENSION_NOUNS, DIMENSIONS, FUNCTION_WORDS
from agentmesh.answering.profile import _name_words

if TYPE_CHECKING:
    from agentmesh.answering.lexicon import Lexicon

__all__ = ["QuestionWords", "comment_words", "function_word_unsaid", "label_words", "lemmas", "measures_dimension",
           "question_tokens", "same_word", "schema_words", "sentence_of_tokens", "singular"]


def question_tokens(question: str) -> list[str]:
    text = re.sub(r"['’]s\b", "", question.lower()).replace("_", " ")
    return re.findall(r"[a-z0-9]+(?:\.\d+)?", text.replace(",", "") if re.search(r"\d,\d", text) else text)


def singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def same_word(said: str, schema: str) -> bool:
    """The question's word ``said`` says the schema's word ``schema``: the same word, its plural,
    the same first five letters ("manufactured" / "manufacturer"), or ``schema`` an abbreviation
    that ``said`` starts with ("num" / "number")."""
    if said == schema or singular(said) == singular(schema):
        return True
    short, long = sorted((singular(said), singular(schema)), key=len)
    if long.startswith(short) and len(long) - len(short) >= 4:
        return False  # a compound of the word, not a form of it ("papers" / "paperdataset")
    if len(said) >= 5 and len(schema) >= 5 and said[:5] == schema[:5]:
        return True
    if 3 <= len(schema) < len(said) and said.startswith(schema) and len(schema) <= 4 and not schema.isdigit():
        return True
    return bool(lemmas(said) & lemmas(schema))  # "rated" / "rating", "written" / "writes": one word's forms


@lru_cache(maxsize=8192)
def lemmas(word: str) -> frozenset[str]:
    """The word's lemmas as any part of speech (lemminflect's English lexicon: "rated" -> rate,
    "rating" -> rating, rate; "written" -> write); the word itself when it knows none."""
    if len(word) < 4 or not word.isalpha():
        return frozenset({word})
    from agentmesh.memory.lemmas import known_lemmas

    return frozenset(x.lower() for forms in known_lemmas(word).values() for x in forms) or frozenset({word})


def measures_dimension(dimension: str, schema: str) -> bool:
    """The schema's word names the dimension, or another noun for it (height: altitude, elevation)."""
    return same_word(dimension, schema) or schema in DIMENSION_NOUNS.get(dimension, ())


def schema_words(name: str, unit_words: frozenset[str]) -> list[str]:
    words = label_words([name])
    if len(words) > 1 and words[-1] in unit_words:
        words = words[:-1]
    return [w for w in words if w not in FUNCTION_WORDS] or words


class QuestionWords:
    """The question's words, which of them are used, and how they match the schema."""

    def __init__(self, question: str, lexicon: "Lexicon | None") -> None:
        self.tokens = question_tokens(question)
        self.used: set[int] = set()
        self.synonyms = dict(lexicon.synonyms) if lexicon is not None else {}

    def says(self, i: int, schema_word: str) -> bool:
        word = self.tokens[i]
        if same_word(word, schema_word):
            return True
        dimension = DIMENSIONS.get(word)
        if dimension and measures_dimension(dimension, schema_word):
            return True
        # two nouns of one dimension ("the altitude of X": elevation_m; "the area": size)
        if any(singular(word) in (d, *nouns) and measures_dimension(d, schema_word) for d, nouns in DIMENSION_NOUNS.items()):
            return True
        return any(same_word(s, schema_word) for s in self.synonyms.get(word, ()))

    def find(self, words: list[str], free_only: bool = True) -> list[int] | None:
        """Positions that say every one of ``words`` (each by its own word), or None. A word that
        only says "a number of" (``citation_num``, ``num_projects``) may go unsaid beside another."""
        found: list[int] = []
        optional = len(words) > 1 and any(w not in COUNT_NAME_WORDS for w in words)
        for w in words:
            free = [i for i in range(len(self.tokens)) if i not in found and (not free_only or i not in self.used)
                    and self.tokens[i] not in FUNCTION_WORDS]
            # the word itself first ("the highest elevation": elevation, not "highest" for a height)
            hit = next((i for i in free if same_word(self.tokens[i], w)), None)
            if hit is None:
                hit = next((i for i in free if self.says(i, w)), None)
            if hit is None:
                if optional and w in COUNT_NAME_WORDS:
                    continue
                return None
            found.append(hit)
        return found

    def span(self, words: list[str]) -> list[tuple[int, int]]:
        """Each place the question says ``words`` in a row (plural of the last allowed)."""
        n, spans = len(words), []
        for s in range(len(self.tokens) - n + 1):
            said = self.tokens[s:s + n]
            if said[:-1] == words[:-1] and (said[-1] == words[-1] or singular(said[-1]) == singular(words[-1])):
                spans.append((s, s + n))
        return spans


def sentence_of_tokens(question: str, count: int) -> list[int]:
    """Each token's sentence (0 for the first), as :func:`question_tokens` splits the whole question."""
    at: list[int] = []
    for n, part in enumerate(re.split(r"(?<=[.?!;])\s+", question)):
        at += [n] * len(question_tokens(part))
    return (at + [at[-1] if at else 0] * count)[:count] if len(at) != count else at


def label_words(columns: list[str]) -> list[str]:
    """The words of a label's columns, "name" included, "id" not ("the names of the lakes": lake_name)."""
    return [x for c in columns for x in _name_words(c) if x != "id"]


def comment_words(comment: str) -> list[str]:
    """The content words of a column's comment, less what it quotes (its values, "'yes' or 'no'")
    and what it says of empty values ("NULL when cancelled": a case, not the column's meaning)."""
    plain = re.sub(r"'[^']*'", " ", comment.lower())
    plain = re.sub(r"\b(?:null|empty|blank|missing)\b[^;,.]*", " ", plain)
    return [t for t in re.findall(r"[a-z]+", plain) if len(t) >= 3 and t not in FUNCTION_WORDS]


def function_word_unsaid(key: list[str], value: str, question: str) -> bool:
    """A one-word value that is also a function word (grade "A", state code "IN", "OR") is said
    only where the question writes it as the data does, and not first in a sentence."""
    return len(key) == 1 and key[0] in FUNCTION_WORDS and not re.search(
        r"(?<=[^.?!]\s)" + re.escape(value.strip()) + r"(?!\w)", question)
