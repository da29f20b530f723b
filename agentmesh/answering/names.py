"""Names as texts write them, and where a text says a name whole.

A name is capitalised words with the numbers and small words titles hold ("Harbour of Glass");
it is said whole when it is not the start of a longer name ("GPT-4" is not said by "GPT-4
Turbo"); a row's SQL chose its rows by a name when its conditions hold it.

>>> [m.span() for m in whole_name("gpt-4").finditer("gpt-4o and gpt-4")]
[(11, 16)]
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from agentmesh.english import SENTENCE_WORDS
from agentmesh.answering.lexicon import current_lexicon

__all__ = ["said_whole", "whole_name"]

_PROPER = re.compile(r"\b[A-Z][\w.+'-]*(?:\s+(?:[A-Z][\w.+'-]*|\d[\w.+-]*|(?:of|the|on|for|de|la|du|der|van|von)(?=\s+[A-Z])))*")
"""A name as written: capitalised words, numbers, and the small words titles hold between two of
them ("The Effects of Climate Change on Agriculture", "Harbour of Glass", "Journal of the ACM")."""
_CAPITALISED_WORDS = SENTENCE_WORDS


@lru_cache(maxsize=1024)
def _chosen_literals(source: str) -> tuple[str, ...]:
    """The texts a row's query chose every row by: string literals of its conditions (in a
    subquery or a join too) that no OR, NOT or list of alternatives weakens. ``WHERE license =
    'MIT' OR open_weights = 0`` says nothing of MIT for every row; ``WHERE name = 'Martin'`` does."""
    import sqlglot
    from sqlglot import exp

    sql = source.split(":", 1)[1].strip() if source.startswith(("sql:", "sql ")) else ""
    if not sql:
        return ()
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except Exception:  # noqa: BLE001 - another dialect's SQL: its literals count for nothing
        return ()
    found = []
    for literal in tree.find_all(exp.Literal):
        if not literal.is_string:
            continue
        node, weak = literal.parent, False
        while node is not None:
            if isinstance(node, (exp.Or, exp.Not, exp.NEQ)) or (isinstance(node, exp.In) and len(node.expressions) > 1):
                weak = True
                break
            node = node.parent
        if not weak and isinstance(literal.parent, (exp.EQ, exp.Like, exp.ILike, exp.In)):
            found.append(_norm(literal.this.strip("%")))
    return tuple(found)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[-_/–—]", " ", text.lower())).strip()


def _chosen_by(name: str, literals: Sequence[str]) -> bool:
    """The query chose its rows by ``name``: a literal holds it, or each of its words is (a form
    of) a literal ("Rosa Delgado" by FirstName = 'Rosa' AND LastName = 'Delgado'; "Mondays" by
    'Monday')."""
    if any(re.search(rf"(?<!\w){re.escape(name)}(?!\w|\.\d)", lit) for lit in literals):
        return True
    words = name.split()
    return bool(words) and all(any(_same_word(w, lit) for lit in literals) for w in words)


def _same_word(word: str, other: str) -> bool:
    """One word in two inflections ("mondays"/"monday", "cities"/"city"): the same stem of five letters or more."""
    if word == other:
        return True
    stem = min(len(word), len(other)) - 1
    return stem >= 4 and word[:stem] == other[:stem] and abs(len(word) - len(other)) <= 3


def _starts_sentence(text: str, position: int) -> bool:
    before = text[:position].rstrip()
    return not before or before[-1] in ".!?:;\n\"'("


def _name_words(text: str) -> set[str]:
    """The words of a name or a question as names are compared ("Llama 3.2 11B" -> llama, 3.2, 11b)."""
    return set(re.findall(r"[a-z0-9.]+", _norm(text)))


def _named_share(subject: str, question_words: set[str]) -> float:
    """How much of ``subject``'s name the question says (0.6 and up: the question names it)."""
    subject_words = _name_words(subject)
    return len(subject_words & question_words) / len(subject_words) if subject_words else 0.0


def said_whole(name: str, text: str) -> list[tuple[int, int]]:
    """Where ``name`` is said whole in ``text`` (:func:`whole_name`), and not as the start of
    another thing's name: followed by a capitalised word ("GPT-4 Turbo", "Llama 3.2 11B Vision":
    a name goes on), or by a word the lexicon calls a variant ("gpt-4o mini")."""
    variants = current_lexicon().variant_words
    spans = []
    for match in whole_name(name).finditer(text.lower()):
        after = re.match(r"[ \t-]+([A-Za-z][\w.+-]*)", text[match.end():])
        if after is None or (after.group(1).lower() not in variants and not after.group(1)[0].isupper()):
            spans.append(match.span())
    return spans


def whole_name(name: str) -> re.Pattern[str]:
    """``name`` said whole in a lower-cased text: not inside a longer word or name ("gpt-4" is not
    said by "gpt-4o", nor "phi-2" by "phi-2.5")."""
    return re.compile(rf"(?<![\w.-]){re.escape(name.lower())}(?![\w]|[.-]\w)")
