"""General English that question reading may rely on, and nothing about any domain.

What a column, a predicate or an entity means comes from the user's data (names, labels,
comments) and from the user's lexicon file (:mod:`agentmesh.answering.lexicon`), never from a
list here. What sits here is the language itself: words that carry no content of their own
(articles, pronouns, auxiliaries, prepositions), the words that ask (who, which, how many), the
words that rank or compare, and the words that ask for one value per group.

A reading that leaves a content word of the question unused must not become a fact: anything
outside these lists is a content word.
"""

from __future__ import annotations

import re

__all__ = ["FUNCTION_WORDS", "QUESTION_WORDS", "COUNT_WORDS", "HIGH_WORDS", "LOW_WORDS", "NEGATION_WORDS",
           "COMPARISON_WORDS", "DATA_WORDS", "GROUPING_WORDS", "content_words", "words"]

FUNCTION_WORDS = frozenset("""
a an the this that these those there here it its it's they them their theirs he she his her we our you your i me my
is are was were be been being am has have had having do does did done can could will would shall should may might must
of in on at by from with to for into onto upon about as than then so and or nor but if also only just both either
between among against through across along around within under over above below after before since during until near
neither any all some none no not one ones another other others such same own
which what who whom whose when where why how
me please tell show give list find name say
currently now today ever still yet already there's that's what's
""".split())
"""Words that carry no content: the rows a question asks about are never restricted by one."""

QUESTION_WORDS = frozenset("who whom whose which what when where why how".split())
COUNT_WORDS = frozenset("how many much number count total".split())
HIGH_WORDS = frozenset("highest most best largest biggest longest maximum max top greatest fastest priciest "
                       "more higher larger bigger longer greater".split())
LOW_WORDS = frozenset("lowest least cheapest cheaper smallest smaller fewest worst minimum min shortest slowest "
                      "less lower fewer shorter".split())
NEGATION_WORDS = frozenset("not non no without lack lacking".split())
COMPARISON_WORDS = frozenset("gap difference versus vs compared".split())
"""Words that compare two values: the operands say what is compared, these words do not restrict rows."""
DATA_WORDS = frozenset("database databases data dataset table tables list lists listed record records row rows entry "
                       "entries stored value values".split())
"""Words about where data sits ("How many models does the database list?"), not about what it says."""
GROUPING_WORDS = frozenset("each every per".split())
"""A question with one of these asks one value per group ("How many rivers flow through each
country?"): one total is not its answer."""


def words(text: str) -> list[str]:
    """The words of ``text``, lower case; underscores and hyphens split words ("open_weights")."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry content: every word not in :data:`FUNCTION_WORDS` and not a number."""
    return [w for w in words(text) if w not in FUNCTION_WORDS and not w.isdigit()]
