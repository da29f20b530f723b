"""The ways English asks one thing: "what woman" asks who, "how come" asks why, "is there a way to"
asks how, "known for doing" asks what one does. The cache's word rule (:mod:`agentmesh.memory.wording`)
rewrites a question by these before it matches its words, so that two wordings of one question meet.
General English only; a field's own words are the user's ``cache_lexicon``.
"""

from __future__ import annotations

import re

from agentmesh.english import CAUSE_VERBS, PERSON_NOUNS, PLACE_NOUNS, TIME_NOUNS
from agentmesh.memory.lemmas import known_lemmas, lemmas
from agentmesh.memory.wordnet import WordNet

__all__ = ["AT_PLACE", "WH_PHRASES", "ASKED_AS", "KNOWN_FOR", "known_for", "COST_ASKED", "HOW_MEASURED", "STRANDED",
           "OBJECT_QUESTION", "PASSIVE_OBJECT", "WHICH_NOUN", "person_asked", "what_role"]

AT_PLACE = r"(?:\b(?:in|on|at|during|from|to)\s+)?"
WH_PHRASES = [
    (re.compile(r"\b(?:what|which)\s+(?:\w+\s+)?(" + "|".join(sorted(PERSON_NOUNS)) + r")\b"), "?who"),
    (re.compile(AT_PLACE + r"\b(?:what|which)\s+(?:\w+\s+)?(" + "|".join(sorted(TIME_NOUNS)) + r")\b"), "?when"),
    (re.compile(AT_PLACE + r"\b(?:what|which)\s+(" + "|".join(sorted(PLACE_NOUNS)) + r")\b"), "?where"),
    (re.compile(r"\b(?:what|which)\s+(?:is|was|are|were)\s+the\s+(?:reason|cause)\b"), "?why"),
    (re.compile(r"\bwhat\s+(?:" + "|".join(CAUSE_VERBS) + r")\b"), "?why"),
    (re.compile(r"\bhow\s+many\b|\bthe\s+number\s+of\b|\bnumber\s+of\b|\bcount\s+of\b|\bcount\b"), "?count"),
    (re.compile(r"\bhow\s+much\b|\bthe\s+amount\s+of\b|\bamount\s+of\b"), "?amount"),
    (re.compile(r"\bhow\s+(?:long|old|big|far|often|large|small|fast|high|tall|deep|wide|soon|well)\b"), None),
]
"""Question words said another way. "how long"/"how old"... keep their adjective as the content word;
"what makes leaves change colour" asks why they do."""

ASKED_AS = [(re.compile(p), r) for p, r in (
    (r"^\s*(?:please\s+)?(?:name|list|identify)\s+(?=(?:the|a|an|all|some|every)\b)", " what "),
    (r"\bis\s+it\s+possible\s+(?:for\s+(?:me|us|you|one)\s+)?to\b", " can "),
    (r"\bis\s+there\s+(?:a|any)\s+way\s+to\b", " ?how can "),
    (r"\bwhat\s+is\s+the\s+((?:most|least)\s+[a-z]+|[a-z]+est|best|worst)\s+way\s+to\b", r" ?how \1 "),
    (r"\b(?:what|when)\s+is\s+the\s+(?:best|right|ideal)\s+time\s+(?:of\s+(?:the\s+)?year\s+)?to\b", " ?when should "),
    (r"\bin\s+order\s+to\b", " to "),
    (r"\bhow\s+come\b|\bfor\s+what\s+reason\b", " why "),
    (r"\b(what|which)\s+(?:kind|kinds|type|types|sort|sorts)\s+of\b", r" \1 kind of "),
    (r"\bfor\s+what\s+(?:is|are)\s+(.+?)\s+short\b", r" for what does \1 stand "),  # its "for" moved first: STRANDED
    (r"\bwhat\s+(can|could|should)\s+(i|we|you|one)\s+do\s+to\b", r" ?how \1 \2 "),
    (r"\bwhat\s+do\s+(i|we|you)\s+(?:need|have)\s+to\s+do\s+to\b", r" ?how do \1 "),
    (r"^\s*define\s+", " what is the meaning of "),
    (r"\bwhat\s+are\s+the\s+steps\s+(?:to|for)\b", " ?how to "),
    (r"(\?count\s+(?:[a-z\-]+\s+){1,3}?)(?:do|does|did)\s+(.+?)\s+have\b", r"\1 ?in \2 "),
    (r"\b(?:\?how|how)\s+(?:is|are|was|were|does|do|did)\s+(.+?)\s+(?:different|differ|differs)\s+from\s+",
     r" what is the difference between \1 and "),
    (r"\b((?:\?where|where)\s+(?:is|are|was|were)\s+.+?)\s+(?:located|situated)\b", r"\1"),
    (r"^(\s*(?:\?why|why)\s+(?:do|does|did)\s+.+?)\s+(?:happen|occur)\s*(?=[?.!]*\s*$)", r"\1"),
    (r"\b(cost|costs)\s+(?:(?:me|us|you|someone)\s+)?to\s+(?:buy|purchase)\b", r" \1 "),
    (r"\?amount\s+(?=(?:is|are|was|were)\b)", " ?price "),
    (r"(?:\?how|how)\s+far\s+(?:is|are|was|were)\s+(.+?)\s+from\s+", r" what is the distance between \1 and "),
    (r"(?:\?how|how)\s+far\s+(.+?)\s+(?:is|are|was|were)\s+from\s+", r" what is the distance between \1 and "),  # asked inside a request
    (r"\bdistance\s+from\s+(.+?)\s+to\s+", r"distance between \1 and "),
    (r"\?count\s+(?:people|inhabitants|residents)\s+(?:live|lives|reside|resides)\s+in\s+", " what is the population of "),
    (r"\b(?:birthplace|place\s+of\s+birth)\b", " where born "), (r"\b(?:date\s+of\s+birth|birth\s*date)\b", " when born "),
    (r"(?:\?how|how)\s+long\s+(?:do|does|did|can|will)\s+(.+?)\s+live\b", r" what is the lifespan of \1 "),
    (r"\blife\s+span\b", "lifespan"),
)]
"""A question asked another way, read as the usual one: "Name the X" / "List the X" ask "what is the X",
"is it possible to" asks "can", "is there a way to" asks "how can", "what is the best way to" asks
"how ... best", "what is the best time (of year) to" asks "when should", "define X" asks its meaning,
"what do I need to do to" asks "how do I", "what can I do to" asks "how can I", "how
is X different from Y" asks "the difference between X and Y", "how come" and "for what reason" ask "why",
"what type of" and "what sort of" ask "what kind of", "what is X short for" asks "what does X stand for", "what are the steps to" asks "how to", "how many bones does the body have" asks
how many bones are in it (an "in" that needs no match, see ``_IN_KEYS``),  "where is X located" asks "where is X", "why do
earthquakes happen" asks "why earthquakes" ("what causes earthquakes"), "in order to" is "to", what it
"costs to buy" a thing is what it costs, and "how much is" a thing asks its price
(matched by "cost" or "price", and by "how much" itself: see ``_PRICE``); "how far is X from Y" asks the distance
between X and Y, "how many people live in X" its population, "X's birthplace" where X was born, "X's date of birth"
when, and "how long do X live" their lifespan. A modal on one side only is no
difference (see :func:`unmatched`)."""
KNOWN_FOR = re.compile(r"\b(?:best\s+)?(?:known|famous|renowned)\s+for\s+(?=([a-z]+ing)\b)")
"""What one is "known for doing" is what one does ("which instrument was she known for playing" / "which instrument
did she play"): only before a verb's -ing form ("famous for spring water" names no deed)."""


def known_for(text: str) -> str:
    def said(match: re.Match[str]) -> str:
        word = match.group(1)
        return " " if any(lemma != word for lemma in known_lemmas(word).get("VERB", ())) else match.group(0)
    return KNOWN_FOR.sub(said, text)


COST_ASKED = re.compile(r"\?amount(?=\s+(?:do|does|did|will|would|could|can|might|may|should)\s+(?:\S+\s+){0,8}?(?:cost|weigh)\b)")
""""How much does it cost" asks what "what does it cost" asks, and "how much does it weigh" its weight: "how much"
before the verb "cost" or "weigh" says nothing more (not "how much beef does it cost", where it asks a quantity)."""
HOW_MEASURED = re.compile(r"\bhow\s+(?=(?:do|does|did)\s+(?:\S+\s+){0,6}?(?:score|scores|scored|rank|ranks|ranked|rate|rates"
                           r"|rated)\b)")
""""How does X score on Y" asks what X scores on Y: "how" before a verb of measure asks its value."""
STRANDED = re.compile(r"^(?P<q>(?:what|which|who|whom|where)\b.*?)\s+(?P<p>in|on|at|from|to|for|with|about|during|by)"
                       r"\s*(?P<end>[?.!]*)\s*$")
"""A preposition left at the end of a question ("Which year did it sink in?") belongs before its
question word ("In which year did it sink?")."""
OBJECT_QUESTION = re.compile(r"(?:\?who|\bwhom?)\s+(?:do|does|did)\b")
""""Who does the CFO report to?" asks for the object; "Who reports to the CFO?" for the subject."""
_PASSIVE_BY = (r"(?:was|were|is|are|has\s+been|have\s+been|had\s+been|will\s+be|gets?|got)\s+(?:[a-z\-']+\s+){1,4}?"
               r"by\s+(?!(?:\?who|who|whom|what|which)\b)[a-z]")
"""A passive whose agent is named after "by" ("was sued by Apple"), not another question word ("by whom")."""
PASSIVE_OBJECT = re.compile(r"^\s*(?:\?who|who)(?:\s+[a-z]+)?\s+" + _PASSIVE_BY)
""""Who was sued by Apple?" asks whom Apple sued: the question word is the passive's subject and another names the
agent, so it asks the object, as "Whom did Apple sue?" does, not what "Who sued Apple?" asks ("By whom was it
written?" names no other agent and asks the subject). Only for "who" and a person ("which actor"), as
``OBJECT_QUESTION``: "which vitamin does the skin make" and "which vitamin is made by the skin" are alike."""
_WHAT = r"^\s*(?:what|which)(?:\s+[a-z]+)?\s+"
WHAT_DONE_TO = re.compile(_WHAT + r"(?:do|does|did)\s+|" + _WHAT + _PASSIVE_BY)
WHAT_DOES = re.compile(r"^\s*(?:what|which)\s+([a-z]+)\b")
_NOT_DOING = frozenset("is are was were be been am do does did has have had can could may might must shall should will would".split())


def what_role(text: str) -> str:
    """Whether a "what"/"which" question asks what does something ("What eats bees?": "?doer") or what something is
    done to ("What do bees eat?", "What is eaten by bees?": "?patient"), or neither ("" for "What is the capital of
    Peru?"): "What does the skin produce?" is not "What produces the skin?". A doer is read only from a verb in a
    finite form right after the question word ("eats", "flowed"): after a noun, "what bees eat" may be the object
    asked inside a request ("tell me what bees eat")."""
    if WHAT_DONE_TO.match(text):
        return "?patient"
    m = WHAT_DOES.match(text)
    word = m.group(1) if m else ""
    if word and word not in _NOT_DOING and any(v != word for v in known_lemmas(word).get("VERB", ())):
        return "?doer"
    return ""


WHICH_NOUN = re.compile(r"\b(?:which|what)\s+([a-z]+)\b(?=(\s+(?:do|does|did)\b)?)")
"""A question word before a noun ("which woman", "what scientists"): when WordNet names a person by it, the
question asks who (see :func:`person_asked`)."""


def person_asked(text: str, net: WordNet) -> tuple[str, bool]:
    """``text`` with "which/what <a person>" read as "who <a person>" ("Which woman was the first to fly solo?" /
    "Who was the first woman to fly solo?"; the noun stays a word: "which scientist" is not "who"), and whether
    such a phrase asks for the object ("Which actor did she marry?" / "Which actor married her?")."""
    asked_object = False

    def said(match: re.Match[str]) -> str:
        nonlocal asked_object
        noun = match.group(1)
        if not any(net.names_a_person(lemma) for lemma in (noun, *lemmas(noun).get("NOUN", ()))):
            return match.group(0)
        asked_object = asked_object or bool(match.group(2))
        return f" ?who {noun}"
    return WHICH_NOUN.sub(said, text), asked_object
