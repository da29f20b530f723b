"""What a question asks, read from its words: a number, a name, a list, one fact or several,
and which facts of the evidence it names.

The word-level reading the claim checker and picking use: question words are English
(agentmesh.english); what they ask of a domain ("who" -> developer) is the lexicon's.

>>> first_ask("Which model is cheapest, and who develops it?")
'Which model is cheapest'
"""

from __future__ import annotations

import re
from typing import Sequence

from agentmesh.english import DATA_STEMS, HOW_WORDS, NUMBER_NOUNS, SHARE_NOUNS, SUPERLATIVES, is_plural_noun
from agentmesh.answering.lexicon import current_lexicon
from agentmesh.answering.names import _norm, whole_name
from agentmesh.records import Evidence

__all__ = ["asked_fields", "first_ask"]

_ASKS_NUMBER = re.compile(rf"(how ({'|'.join(HOW_WORDS)})|what ({'|'.join(SHARE_NOUNS)})|"
                          rf"what (?:is|was|'s) the (?:[\w.-]+ )?({'|'.join(NUMBER_NOUNS)})|what (?:does|do|did|would)\b.*\bcost)\b")
_ASKS_NAME = re.compile(r"(who|which|whose)\b")
_COMPOUND = re.compile(r"\b(and|or|than|between|versus|vs|best|worst|most|least|highest|lowest|cheapest|largest|"
                       r"smallest|longest|shortest|biggest|greatest|fastest|slowest|priciest|fewest|top|"
                       r"gap|difference|share|compare[ds]?|each|every|all)\b", re.IGNORECASE)
"""Words that make a question more than one lookup of one fact."""


_PER_GROUP = re.compile(r"\b(each|every|per)\b")
"""A question that asks a value for each group ("How many rivers flow through each country?")."""


def asked_fields(question: str, hints: dict[str, str] | None = None) -> set[str]:
    """The fact names a question asks for: the lexicon's ``asks`` ("who develops" -> developer)."""
    words = re.findall(r"[a-z]+", question.lower())
    hints = _hints() if hints is None else hints
    found = [{hint for key, hint in hints.items() if word.startswith(key)} for word in words]
    fields: set[str] = set()
    for i, word in enumerate(words):
        if word == "many":
            # the thing counted is the last word before the verb: "how many (active) parameters" asks
            # the parameters, not a count; "how many MIT-licensed models" counts models
            head = i
            while head + 1 < len(words) and words[head + 1] not in _FUNCTION_WORDS:
                head += 1
            if head > i and found[head]:
                continue
        fields |= found[i]
    return fields


def _hints() -> dict[str, str]:
    """The start of a question's word -> the fact it asks about: "how many" asks a count (English),
    the rest is the domain's (``asks`` in the lexicon in effect: "who" -> developer)."""
    return {"many": "count", **current_lexicon().asks}


_FUNCTION_WORDS = frozenset("""
the and for from with was were are has have had does did which who whom whose what when where why how its this that
these those there they not but all any some than then into onto about also only per use uses used
many much can could would should will may might
""".split())


def _generic() -> frozenset[str]:
    """Stems of words that name no fact: where facts sit ("database"), and the domain's words for
    the things it holds (the lexicon's ``generic_words``: "model" in a graph of models)."""
    return DATA_STEMS | {w[:5] for w in current_lexicon().generic_words}


_INTERROGATIVE_HINTS = ("who", "when")
"""``asks`` keys that are question words: "who" asks for the developer only when nothing else is named
("Who is the CEO of Mistral AI?" asks for a CEO)."""


def _stems(text: str) -> set[str]:
    """The words of ``text`` that carry meaning, cut to five letters ("develops" ~ "developer").
    Domain words such as "context", "window" or "tokens" count: they name the fact asked for."""
    return {w[:5] for w in re.findall(r"[a-z0-9]+", _norm(text)) if len(w) > 2 and w not in _FUNCTION_WORDS}


_ASKS_THINGS = re.compile(r"^\s*(?:which|what|list)\b(?:\s+(\w+))?\s+(\w+)\b", re.IGNORECASE)


def _asks_things(question: str) -> bool:
    """The question asks for things, in the plural ("Which models ...", "What open-weight models
    ...", "List the developers"), not for one value."""
    match = _ASKS_THINGS.search(question)
    return match is not None and any(w and (w.lower() == "ones" or is_plural_noun(w)) for w in match.groups())


_SUPERLATIVE = re.compile(r"\b(" + "|".join(sorted(SUPERLATIVES)) + r")\b", re.IGNORECASE)
"""A word that ranks ("the highest", "cheapest"): the answer is the top of many rows, not one node's fact."""


_SECOND_ASK = re.compile(r"(?:,\s*|\s)and\s+((?:under |in |by |since )?(?:who|whom|whose|when|which|what|where|how)\b.*)",
                         re.IGNORECASE)


def first_ask(question: str) -> str:
    """The question up to its second part ("Which model is cheapest, and who develops it?" ->
    "Which model is cheapest")."""
    match = _SECOND_ASK.search(question)
    return question[:match.start()] if match else question


def _named(name: str, text: str, lowered: str) -> bool:
    """``text`` names the thing called ``name``: says it whole, written as a name (capitalised, or
    starting with a digit), as English writes names. "Which licence does ..." asks for a licence;
    it does not name the graph's node "Licence"."""
    return any(m.start() < len(text) and (text[m.start()].isupper() or text[m.start()].isdigit())
               for m in whole_name(name).finditer(lowered))


def _facts_said(part: str, evidence: Sequence[Evidence]) -> set[str]:
    """The names of ``evidence``'s facts that ``part`` of a question says by a word (beyond the
    names of the things it is about): "who develops that model" says the fact "developer"."""
    lowered = part.lower()
    said = _stems(part) - _generic() - {s for e in evidence if e.subject and _named(e.subject, part, lowered)
                                         for s in _stems(e.subject)}
    return {field for e in evidence if e.kind == "fact" and ":" in e.text and e.subject
            for field in [e.text.split(":", 1)[0].strip().lower()] if _stems(field.partition("(")[0]) & said}
