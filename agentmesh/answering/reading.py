"""One reading of a question against the data profile: what it names, asks, groups and sets, and what it leaves unread.

"How many stations are there in each region?" reads as: the rows of ``stations`` (a table the
question names), counted (``how many``), grouped by ``stations.region`` (``each`` + a column's
name). "Which lines are longer than 60 km?" reads as: the names of ``lines`` rows whose
``length_km > 60`` (a number, the unit the column's name carries, and the comparative of the
column's word). Everything is matched to the *data*: table and column names (and their comments,
units), the values of its categories and the names of its rows (the profile's
:class:`~agentmesh.answering.label_index.LabelIndex`); the user's lexicon adds synonyms. General
English (question words, comparatives, words for dimensions) comes from
:mod:`agentmesh.english`. No word list about a domain is used.

The reading also keeps the **content words it did not use** (``unread``) and the reasons it
found more than one interpretation (``problems``): a reading with either is not complete, and
no answer may be composed from it ("How many rivers flow through each country?" leaves
'flow' unread: a count per country would answer another question).

Pure and fast: no model, no database access (the profile and the label index are read already).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentmesh.english import FUNCTION_WORDS, SHARE_NOUNS
from agentmesh.answering.matching import question_tokens
from agentmesh.answering.reader import Reader
from agentmesh.answering.reading_types import Asked, Condition, Entity, QuestionReading

if TYPE_CHECKING:
    from agentmesh.answering.lexicon import Lexicon
    from agentmesh.answering.label_index import LabelIndex
    from agentmesh.answering.profile import DataProfile

__all__ = ["QuestionReading", "Entity", "Asked", "Condition", "read", "alternatives", "clarified"]


_RATIO = re.compile(r"^(?P<head>.*?)\bratio\s+of\s+(?P<a>.+?)\s+(?:to|out\s+of|versus|vs\.?)\s+(?P<b>.+?)[\s?.!]*$",
                    re.IGNORECASE)
_SHARE = re.compile(r"^(?P<head>.*?)\b(?P<kind>" + "|".join((*SHARE_NOUNS, "percent")) + r")\s+of\s+"
                    r"(?:all\s+)?(?:the\s+)?(?P<b>.+?)\s+(?P<verb>are|is|were|was|have|has|had)\s+(?P<a>.+?)[\s?.!]*$",
                    re.IGNORECASE)
"""'What percentage of the restaurants are Italian?': the count of those that are, over the count of all."""
_COUNTED = re.compile(r"^(?:the\s+)?(?:total\s+)?(?:number|count)\s+of\s+", re.IGNORECASE)
_SCOPE = re.compile(r"\s+(?:in|within|among|for)\s+(?!each\b|every\b)[^,;]+$", re.IGNORECASE)


def read(question: str, profile: "DataProfile", lexicon: "Lexicon | None" = None,
         index: "LabelIndex | None" = None, columns: "dict[str, list[str]] | None" = None,
         choose: "dict[str, int] | None" = None) -> QuestionReading:
    """Read ``question`` against ``profile`` (and the names in ``index``, and ``lexicon``'s synonyms);
    ``columns`` (table -> every column) adds the text columns the profile does not describe;
    ``choose`` settles a place where columns fit alike (see ``QuestionReading.choices``)."""
    asked_as = question
    said_meaning = _MEANING.search(question)
    meant = [m.strip() for m in said_meaning["columns"].split(",")] if said_meaning else []
    if said_meaning:  # "... (meaning: course.clarity_score)": the person's answer to "which one?"
        question = question[:said_meaning.start()].rstrip()
    share = _SHARE.match(question.strip())
    if share is not None:
        whole = _read_share(question, share, profile, lexicon, index, columns)
        if meant:
            whole.problems.append("a meaning said for a ratio")
        return whole
    ratio = _RATIO.match(question.strip())
    if ratio is not None:
        whole = _read_ratio(question, ratio, profile, lexicon, index, columns)
        if meant:  # a ratio's counts are read apart: a meaning said for the whole is not applied
            whole.problems.append("a meaning said for a ratio")
        return whole
    return Reader(question, asked_as, meant, profile, lexicon, index, columns, choose).run()


_MEANING = re.compile(r"\s*\(meaning:\s*(?P<columns>[\w.]+(?:\s*,\s*[\w.]+)*)\s*\)\s*$", re.IGNORECASE)


def clarified(question: str, option: str) -> str:
    """``question`` with the person's answer to "which one?" (an option of ``QuestionReading.choices``)
    said after it, as :func:`read` takes it: "What is ...? (meaning: course.clarity_score)". A
    question of its own, so a cache keeps it apart from the one asked without it."""
    said = _MEANING.search(question)
    if said:
        return f"{question[:said.start()].rstrip()} (meaning: {said['columns']}, {option})"
    return f"{question.rstrip()} (meaning: {option})"


def alternatives(question: str, profile: "DataProfile", lexicon: "Lexicon | None" = None,
                 index: "LabelIndex | None" = None, columns: "dict[str, list[str]] | None" = None,
                 most: int = 3) -> tuple[str, list[QuestionReading]]:
    """Where the question's reading found columns that fit alike (its first such place): the place,
    and each complete reading that taking one of them gives (at most ``most``); none else."""
    first = read(question, profile, lexicon, index, columns)
    if first.complete or not first.choices:
        return "", []
    place, options = first.choices[0]
    found = [r for k in range(min(len(options), most))
             if (r := read(question, profile, lexicon, index, columns, {place: k})).complete]
    return place, found


def _read_share(question: str, share: re.Match, profile: "DataProfile", lexicon: "Lexicon | None",
                index: "LabelIndex | None", columns: "dict[str, list[str]] | None") -> QuestionReading:
    """"What percentage of the restaurants are Italian?": "How many restaurants are Italian?" over
    "How many restaurants are there?" (times 100 for a percentage); the same rows counted in both,
    the first narrowed, ungrouped, or no reading."""
    reading = QuestionReading(question, aggregate="ratio", percent=share["kind"].lower() in ("percentage", "percent"))
    b = _COUNTED.sub("", share["b"].strip())
    parts = [read(f"How many {b} {share['verb']} {share['a']}?", profile, lexicon, index, columns),
             read(f"How many {b} are there?", profile, lexicon, index, columns)]
    reading.parts = parts
    reading.unread = [t for t in question_tokens(share["head"]) if t not in FUNCTION_WORDS]
    if not all(p.aggregate == "count" for p in parts) or parts[0].subject != parts[1].subject:
        reading.problems.append("a share of other than one table's rows")
    elif not parts[0].conditions or parts[1].conditions or parts[0].group or parts[1].group:
        reading.problems.append("a share with no condition, or per group")
    reading.subject = parts[0].subject
    return reading


def _read_ratio(question: str, ratio: re.Match, profile: "DataProfile", lexicon: "Lexicon | None",
                index: "LabelIndex | None", columns: "dict[str, list[str]] | None") -> QuestionReading:
    """"What is the ratio of A to B?": A and B each read as "How many A?" and "How many B?"; a
    phrase that closes B ("... in Los Angeles") bounds A too, unless A has one of its own. A may be
    per group ("in each state"); B may not. Anything else is no reading."""
    reading = QuestionReading(question, aggregate="ratio")
    a, b = (_COUNTED.sub("", part.strip()) for part in (ratio["a"], ratio["b"]))
    scope = _SCOPE.search(b)
    if scope is not None and not _SCOPE.search(a) and " each " not in f" {a} ":
        a += scope.group(0)
    parts = [read(f"How many {x}?", profile, lexicon, index, columns) for x in (a, b)]
    reading.parts = parts
    head = [t for t in question_tokens(ratio["head"]) if t not in FUNCTION_WORDS and t not in ("ratio",)]
    reading.unread = head
    if not all(p.aggregate == "count" for p in parts):
        reading.problems.append("a ratio of other than two counts")
    if parts[1].group is not None:
        reading.problems.append("a ratio whose second count is per group")
    reading.subject = parts[0].subject
    return reading


