"""Claims an answer makes, checked against the evidence of its run, without a model.

An answer is split into claims:

* **numbers** with what people write around them: ``32K`` = ``32,768`` = ``32768``,
  ``$0.37`` = ``0.37``, ``86.4%``, ``200,000 tokens``, dates (``December 2023`` = ``2023-12``);
* **entities**: knowledge-graph labels, and other proper names the answer writes;
* **pairs**: in one sentence, the subject entity and each value or other entity said of it.

Each is checked against the evidence items of the run: the grounding facts (one item per fact
of a node, and its description), every tool result (one item per SQL or SPARQL row, per search
passage, a python output) and the question. A number or a name is supported when an item
holds it; a pair only when **one** item holds both (a fact ``Mixtral -developer-> Mistral AI``,
or one SQL row): two nodes retrieved together do not support "X is developed by Y".

>>> checker = ClaimChecker(labels=["Mixtral 8x7B", "Mistral AI"])
>>> items = [Evidence(id="f1", kind="fact", text="Mixtral 8x7B — developer: Mistral AI", source="urn:x")]
>>> [c.status for c in checker.check("Mixtral 8x7B is developed by Mistral AI.", items)]
['supported', 'supported', 'supported']
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, Callable, Iterable, Sequence

from agentmesh.answering.english import (CURRENCIES, DATA_STEMS, HOW_WORDS, NUMBER_NOUNS, SENTENCE_WORDS, SHARE_NOUNS,
                                         SUPERLATIVES, UNITS, is_plural_noun)
from agentmesh.answering.lexicon import current_lexicon
from agentmesh.ports import AnswerCheck
from agentmesh.records import Claim, Evidence

__all__ = ["AnswerCheck", "Claim", "ClaimChecker", "Evidence", "cut_repetition", "evidence_answer", "tool_source", "ROW_WHERE", "asked_fields",
           "ANSWER_TOOL", "quotable", "picked", "picked_answer", "picks_for",
           "answerable", "asked_facts", "complete", "first_ask", "said_whole", "number_values", "unworked", "unworked_answer", "DERIVED_HEADER", "uncovered", "PARTIAL_HEADER",
           "worked_out", "worked_share", "worked_cost", "worked_gap", "whole_name", "RECORDED_VALUE_TOOLS", "row_names", "facts_of"]


def tool_source(name: str, args: dict[str, Any] | None) -> str:
    """How an evidence item names the tool call it came from ("sql: SELECT ..."): the graph and
    the provenance trace both use it, so a claim's evidence can be found among the calls."""
    args = args or {}
    return f"{name}: {args.get('query') or args.get('code') or ''}".strip().rstrip(":")


MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                       "september", "october", "november", "december"), 1)}
MONTHS.update({name[:3]: i for name, i in list(MONTHS.items())})
_MONTH_YEAR = re.compile(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+(\d{4})\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![\w.])(?P<cur>[$€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<suf>[kKmMbB]|thousand|million|billion)(?![A-Za-z]))?(?P<pct>\s?%)?"
)
def _unit_of() -> dict[str, str]:
    """Each way a unit is written -> its group: everyday English units (agentmesh.answering.english)
    and the domain's own (``units`` in the lexicon in effect)."""
    lexicon = current_lexicon()
    return _units_of(tuple(sorted(lexicon.units.items())))


@lru_cache(maxsize=16)
def _units_of(domain: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    groups = {**UNITS, **dict(domain)}
    return {word: group for group, words in groups.items() for word in (*words, group)}


_SCALE = {"k": (1e3, 1024.0), "thousand": (1e3,), "m": (1e6, 1048576.0), "million": (1e6,), "b": (1e9,), "billion": (1e9,)}
_PROPER = re.compile(r"\b[A-Z][\w.+'-]*(?:\s+(?:[A-Z][\w.+'-]*|\d[\w.+-]*|(?:of|the|on|for|de|la|du|der|van|von)(?=\s+[A-Z])))*")
"""A name as written: capitalised words, numbers, and the small words titles hold between two of
them ("The Effects of Climate Change on Agriculture", "Harbour of Glass", "Journal of the ACM")."""
_CAPITALISED_WORDS = SENTENCE_WORDS
_PER_UNIT = re.compile(r"\bper\s+\d+(?:\.\d+)?\s?[kKmMbB]?\b")
"""A rate's unit ("per 1M tokens") is not a claim."""
_ASKS_NUMBER = re.compile(rf"(how ({'|'.join(HOW_WORDS)})|what ({'|'.join(SHARE_NOUNS)})|"
                          rf"what (?:is|was|'s) the (?:[\w.-]+ )?({'|'.join(NUMBER_NOUNS)})|what (?:does|do|did|would)\b.*\bcost)\b")
_ASKS_NAME = re.compile(r"(who|which|whose)\b")
_COMPOUND = re.compile(r"\b(and|or|than|between|versus|vs|best|worst|most|least|highest|lowest|cheapest|largest|"
                       r"smallest|longest|shortest|biggest|greatest|fastest|slowest|priciest|fewest|top|"
                       r"gap|difference|share|compare[ds]?|each|every|all)\b", re.IGNORECASE)
"""Words that make a question more than one lookup of one fact."""
_ABSTAINS = re.compile(r"\b(could not|couldn't|cannot|can't|no (information|data|record)|unknown|n/a|"
                       r"not (found|available|listed|known|given|stated|in the)|"
                       r"(do|does|did)(n't| not) (say|list|give|state|mention|include|show|contain))\b", re.IGNORECASE)
"""An answer that says it could not find the value: it asserts none."""
_ADDRESS = re.compile(r"<?\b(?:https?|urn|file)://[^\s<>]*>?")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


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


def _values(match: re.Match) -> set[float]:
    """Every value a number as written may stand for (32K: 32,000 and 32,768; 86.4%: 86.4 and 0.864)."""
    base = float(match.group("num").replace(",", ""))
    suffix = (match.group("suf") or "").lower()
    values = {base * s for s in _SCALE.get(suffix, (1.0,))}
    if match.group("pct"):
        values |= {v / 100 for v in values}
    return values


def _tolerance(match: re.Match) -> float:
    """Half a unit of the last digit written, scaled: "about 46.7" covers 46.65..46.75."""
    digits = match.group("num").split(".")
    step = 10.0 ** -len(digits[1]) if len(digits) > 1 else 1.0
    suffix = (match.group("suf") or "").lower()
    return step / 2 * max(_SCALE.get(suffix, (1.0,)))


def _numbers(text: str) -> list[tuple[str, set[float], float, str | None]]:
    """Each number: as written, the values it may stand for, its tolerance, and its unit group."""
    found = []
    for match in _NUMBER.finditer(text):
        after = re.match(r"\s*(?:\w+\s+)?([A-Za-z]+|[$€£])", text[match.end():])
        unit_of = _unit_of()
        unit = unit_of.get((match.group("cur") or "").strip()) or (
            unit_of.get(after.group(1).lower()) if after else None)
        found.append((match.group(0).strip(), _values(match), _tolerance(match), unit))
    return found


def number_values(text: str) -> list[tuple[set[float], float]]:
    """Each number ``text`` writes: the values it may stand for and its tolerance ("32K" ->
    ({32000, 32768}, 500)). What the claim checker and the tool-call argument check read."""
    return [(values, tolerance) for _, values, tolerance, _ in _numbers(text)]


def _units_in(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+|[$€£]", text))
    unit_of = _unit_of()
    return {unit_of[w] for w in words if w in unit_of}


_ISO_DATE = re.compile(r"(?<![\w.-])(\d{4})-(\d{2})(?:-(\d{2}))?(?![\w.]|-\d)")
"""A date as databases write it: 2009-01-19, or 2023-12."""


def _stated_units(evidence: Evidence) -> set[str]:
    """The units a fact's name states in parentheses ("context window (tokens)": tokens), known as
    units or not: the data says what its numbers count, so "32,768 words" is not its 32768."""
    if evidence.kind != "fact" or ":" not in evidence.text:
        return set()
    unit_of = _unit_of()
    field = evidence.text.split(":", 1)[0].lower()
    return {unit_of.get(w, w) for inside in re.findall(r"\(([^()]*)\)", field) for w in re.findall(r"[a-z$€£]+", inside)}


def _dates(text: str) -> list[tuple[str, str]]:
    """Each date: as written, and as the evidence may hold it (``March 2024`` -> ``2024-03``)."""
    return ([(m.group(0), f"{m.group(2)}-{MONTHS[m.group(1).lower()]:02d}") for m in _MONTH_YEAR.finditer(text)]
            + [(m.group(0), m.group(0)) for m in _ISO_DATE.finditer(text)])


class _Item:
    """An evidence item prepared for matching: normalised text and the numbers it holds."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.text = _norm(f"{evidence.subject} {evidence.text}")
        self.numbers = [v for _, values, _, _ in _numbers(evidence.text) for v in values]
        self.units = _units_in(f"{evidence.subject} {evidence.text}".lower()) | _stated_units(evidence)
        # a row's query says what every row was chosen by ("WHERE domain.name = 'Machine Learning'"):
        # the names it writes as text literals are conditions the row meets
        self.literals = list(_chosen_literals(evidence.source)) if evidence.kind == "row" else []

    def has_value(self, values: set[float], tolerance: float, unit: str | None = None) -> bool:
        """Holds the number, in the same unit (or the item names no unit at all)."""
        if unit is not None and self.units and unit not in self.units:
            return False
        return any(abs(v - a) <= max(tolerance, 1e-9 * abs(a)) + 1e-9 for a in values for v in self.numbers)

    def is_about(self, name: str) -> bool:
        """The item is a statement about ``name``: its subject, or (rows, passages) a mention, or
        (rows) a text its query chose the rows by. "Successor of Claude 2 ... 200K tokens" is
        about Claude 2.1, and says nothing of Claude 2's window."""
        if self.evidence.subject:
            return re.search(rf"(?<!\w){re.escape(_norm(name))}(?!\w|\.\d)", _norm(self.evidence.subject)) is not None
        if self.literals and _chosen_by(_norm(name), self.literals):
            return True
        return self.has_name(name)

    def has_name(self, name: str) -> bool:
        # a whole phrase: "Claude 2" is not in "Claude 2.1"
        return re.search(rf"(?<!\w){re.escape(_norm(name))}(?!\w|\.\d)", self.text) is not None


class ClaimChecker:
    """The default :class:`AnswerCheck`: numbers, names and pairs, matched against evidence text.

    ``labels`` are the knowledge graph's node labels: a label the answer writes is an entity
    (``Mixtral 8x7B``), and a label's numbers are part of the name, not claims."""

    def __init__(self, labels: Iterable[str] | Callable[[], Iterable[str]] = ()) -> None:
        self._labels_from = labels if callable(labels) else (lambda fixed=tuple(labels): fixed)
        self._labels: tuple[str, ...] | None = None
        self._label_pattern: re.Pattern[str] | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self._refresh_labels()

    def _refresh_labels(self) -> tuple[str, ...]:
        """The labels in force: read from the source at each check, so a graph reloaded after a
        remembered fact is seen; the pattern is compiled again only when they changed."""
        current = tuple(sorted({label for label in self._labels_from() if label and len(label) > 1}, key=len, reverse=True))
        if current != self._labels:
            self._labels = current
            self._label_pattern = (re.compile("|".join(rf"(?<!\w){re.escape(label)}(?!\w|\.\d)" for label in current),
                                              re.IGNORECASE) if current else None)
        return current

    def _entities(self, sentence: str) -> tuple[list[str], str]:
        """The labels a sentence names (in order), and the sentence with them blanked out."""
        if self._label_pattern is None:
            return [], sentence
        found = [m.group(0) for m in self._label_pattern.finditer(sentence)]
        return found, self._label_pattern.sub(" ", sentence)

    def _proper_names(self, rest: str, *, question: bool = False) -> list[str]:
        """The names ``rest`` writes. Words every sentence may capitalise ("The", "It", "Answer")
        are cut from a name's edges, never from its middle: "Harbour of Glass" stays whole. In a
        question, one capitalised word that starts a sentence ("Return the ids ...", "Give ...")
        is the sentence's first word, not a name."""
        names = []
        for match in _PROPER.finditer(rest):
            words = match.group(0).split()
            unit_of, known = _unit_of(), current_lexicon().known_words
            plain = lambda w: (w.lower().strip(".") in _CAPITALISED_WORDS or w.lower().strip(".") in unit_of  # noqa: E731
                               or w.lower().strip(".") in known)
            while words and plain(words[0]):
                words.pop(0)
            while words and plain(words[-1]):
                words.pop()
            if question and len(words) == 1 and words[0] == match.group(0) and _starts_sentence(rest, match.start()):
                continue
            while words and words[0][0].isdigit():  # "About 200K": a name starts with a capitalised word
                words.pop(0)
            while len(words) > 1 and re.fullmatch(r"\d[\d.,]*", words[-1]):  # "MMLU 70.6": a name, then a number
                words.pop()
            name = re.sub(r"['\u2019]s?$", "", " ".join(words).strip(" .,"))  # "Cora Lindahl's" names Cora Lindahl
            if name and not name.replace(".", "").isdigit() and (len(words) > 1 or len(name) > 1):
                names.append(name)
        return names

    def check(self, answer: str, evidence: Sequence[Evidence]) -> list[Claim]:
        self._refresh_labels()
        # the question last: a value found elsewhere too is credited to that evidence, not to the echo
        items = sorted((_Item(e) for e in evidence), key=lambda i: i.evidence.kind == "question")
        claims: list[Claim] = []
        # what "It has ..." is about: the last sentence's entity, at first the question's
        question = " ".join(e.text for e in evidence if e.kind == "question")
        # what the question is about: the first thing it names that the evidence knows ("UNIX" in
        # "convert from UNIX time" names nothing a row or fact is about, so no claim is paired with it)
        known = [n for n in [*self._entities(question)[0], *self._proper_names(question, question=True)]
                 if any(i.is_about(n) for i in items if i.evidence.kind != "question")]
        subject: list[str] = known[:1]
        asked_about = subject
        # a source's address is a citation, checked as one (against the graph), not a claim: the
        # "LlamaCommunity" of <https://example.org/llm/LlamaCommunity> names nothing
        answer = _ADDRESS.sub(" ", answer)
        for sentence, listed in _sentences(answer):
            entities, rest = self._entities(sentence)
            dates = _dates(rest)
            for date_text, _ in dates:
                rest = rest.replace(date_text, " ")
            names = self._proper_names(rest)
            for name in names:  # a name's digits ("Llama 3.2 11B") are not numeric claims
                rest = rest.replace(name, " ")
            names += [iso for _, iso in dates]
            numbers = _numbers(_PER_UNIT.sub(" ", rest))
            for name in [*entities, *names]:
                item = next((i for i in items if i.has_name(name)), None)
                claims.append(_claim(name, "entity", item))
            for text, values, tolerance, unit in numbers:
                item = next((i for i in items if i.has_value(values, tolerance, unit)), None)
                claims.append(_claim(text + (f" ({unit})" if unit else ""), "number", item))
            named = [*entities, *[n for n in names if not n[:4].isdigit()]]
            if listed and len(named) == 1 and not numbers:
                # an item of a list ("- Ashish Vaswani", "...; Data Mining Techniques;") is one of the
                # things the question asks for, coordinated with the other items, not said of them
                about = [a for a in asked_about if _norm(a) != _norm(named[0])]
            elif len(named) == 1 and not numbers and subject and _norm(named[0]) != _norm(subject[0]):
                about = subject  # "Mistral AI." or "It is made by Mistral AI." answers about the subject
            else:
                about = _coordinated(sentence, named) or subject
                if named:
                    subject = about
            said = [(n, None, 0.0, None) for n in [*entities, *names] if n not in about] + numbers
            for head in about:
                for text, values, tolerance, unit in said:
                    if _norm(text) == _norm(head):
                        continue
                    claims.append(_claim(f"{head}: {text}", "pair", _pair_support(items, head, text, values, tolerance, unit)))
        # an answer that says it could not find it asserts no value: nothing is missing from it
        missing = "" if _ABSTAINS.search(answer) else (
            self._unanswered(question, claims, _most_rows(items)) or self._asked_fact_missing(question, answer, items))
        return claims + ([Claim(text=missing, kind="answer", status="unsupported")] if missing else [])

    def _asked_fact_missing(self, question: str, answer: str, items: Sequence[_Item]) -> str:
        """When the question asks one property of one thing ("Which licence does Gemma use?")
        and the evidence holds that fact, the answer must state its value: "Gemma uses the LLM
        licence" names only supported things, and still does not answer."""
        named = self._entities(question)[0]
        asked = asked_fields(question) | _facts_named(question, named, items)
        if len(set(map(_norm, named))) != 1 or not asked or _COMPOUND.search(question):
            return ""  # only a plain lookup: in "the gap between GPT-4 and the best open model, and who develops it", "who" is not about GPT-4
        if "count" in asked:
            return ""  # "How many MIT-licensed models are there?" asks a count: "licensed" says what is counted
        about = [i for i in items if i.evidence.kind != "question" and i.is_about(named[0])]
        facts = [i for i in about if i.evidence.kind == "fact" and ":" in i.evidence.text
                 and any(hint in i.evidence.text.split(":", 1)[0].lower() for hint in asked)]
        if not facts:
            # the thing was found, but not the fact asked; nor did a tool bring it: an answer
            # that gives one anyway has nothing under it ("the context window of Phi-3 Medium is ...")
            stems = {hint[:5] for hint in asked}
            # a tool's row about it may hold the value under a column of its own ("input_per_1m_usd"
            # for a price): its numbers are checked as claims like any
            if about and not any(stem in i.text for i in about for stem in stems) \
                    and not any(i.evidence.kind == "row" for i in about):
                return f"the evidence holds no {sorted(asked)[0]} of {named[0]}, and the answer gives one"
            return ""
        if any(_states(answer, f.evidence.text.split(":", 1)[1].strip()) for f in facts):
            return ""
        field = facts[0].evidence.text.split(":", 1)[0].strip()
        return f"the answer does not give the {field} of {named[0]} that the evidence holds"

    def _unanswered(self, question: str, claims: list[Claim], rows_from_one_query: int = 0) -> str:
        """What the answer fails to state: the number a "how much" asks for, the name a "who" asks for."""
        asked = question.strip().lower()
        in_question = {_norm(n) for n in [*self._entities(question)[0], *self._proper_names(question)]}
        # what the answer brings beyond the question: echoing the question's own numbers answers nothing
        supported = [c for c in claims if c.supported and (c.evidence is None or c.evidence.kind != "question")]
        if _PER_GROUP.search(asked) and rows_from_one_query > 1 and sum(c.kind == "number" for c in claims) == 1 \
                and not any(c.kind == "entity" for c in claims):
            return "the question asks for a value per group, and the answer gives one number"
        if _ASKS_NUMBER.match(asked):
            if not any(c.kind == "number" for c in supported):
                return "the answer states no supported number, and the question asks for one"
        elif _ASKS_NAME.match(asked) and not any(
                c.kind == "entity" and not any(_norm(c.text) in named for named in in_question) for c in supported):
            # things a database names by their keys ("Which units ...?" - "31103, 44204") are named by them
            if not any(c.kind == "entity" for c in claims) and any(
                    c.kind == "number" and c.evidence is not None and c.evidence.kind == "row" for c in supported):
                return ""
            return "the answer names nothing supported beyond the question, and the question asks for a name"
        return ""


def _coordinated(sentence: str, names: Sequence[str]) -> list[str]:
    """The names the sentence is about: the first, and those joined to it by "and", "or" or
    commas ("Llama 4 Scout and Command R+ have 128K tokens" is about both, not a relation)."""
    group: list[str] = []
    position = 0
    lowered = sentence.lower()
    for name in names:
        start = lowered.find(name.lower(), position)
        if start < 0:
            break
        if group and not _JOINER.fullmatch(sentence[position:start]):
            break
        group.append(name)
        position = start + len(name)
    return group


_PER_GROUP = re.compile(r"\b(each|every|per)\b")
"""A question that asks a value for each group ("How many rivers flow through each country?")."""


def _most_rows(items: Sequence[_Item]) -> int:
    """The most rows one tool call brought (a grouped result has one per group)."""
    counts: dict[str, int] = {}
    for item in items:
        if item.evidence.kind == "row":
            counts[item.evidence.source] = counts.get(item.evidence.source, 0) + 1
    return max(counts.values(), default=0)


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


_LIST_BREAK = re.compile(r"\s*(?:;|\n)\s*(?:[-*\u2022]\s+|\d{1,2}[.)]\s+)?")


def _sentences(answer: str) -> list[tuple[str, bool]]:
    """The answer's sentences, each with whether it is an item of a list (broken off by ";", a
    new line or a bullet from its neighbours) rather than a sentence of prose."""
    out: list[tuple[str, bool]] = []
    for block in re.split(r"(?<=[.!?])\s+(?=[^a-z])", answer):
        parts = [p.strip().lstrip("-*\u2022 ").strip() for p in _LIST_BREAK.split(block)]
        parts = [p for p in parts if p]
        out += [(p, len(parts) > 1) for p in parts]
    return out


_JOINER = re.compile(r"\s*(?:,|&|and|or|,\s*and|,\s*or)\s*", re.IGNORECASE)


def _pair_support(items: Sequence[_Item], head: str, text: str, values: set[float] | None, tolerance: float,
                  unit: str | None) -> _Item | None:
    """The one item that links ``head`` with ``text``: a statement about either that names the
    other ("X is developed by Y" and "Y develops X" rest on the same fact), or, for a number, a
    statement about ``head`` holding it, or a program's output holding it (the code that ran,
    written from this run's rows, is what ties a computed figure to the thing it is about)."""
    for item in items:
        if values is None:
            if (item.is_about(head) and item.has_name(text)) or (item.is_about(text) and item.has_name(head)):
                return item
        elif item.has_value(values, tolerance, unit) and (item.is_about(head) or item.evidence.kind == "output"):
            return item
    return None


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


def _facts_named(question: str, named: Sequence[str], items: Sequence["_Item"]) -> set[str]:
    """The names of the evidence's facts that the question says ("What is the *context window* of
    X?" names the fact "context window (tokens)"; "Who *develops* X?" the fact "developer"): a
    word of the fact's name, by its stem, beyond the names of the things asked about. Read from
    the data, so a graph of any field is asked about in its own words."""
    said = _stems(question) - {s for n in named for s in _stems(n)} - _generic()
    found = set()
    for item in items:
        if item.evidence.kind == "fact" and ":" in item.evidence.text:
            field = item.evidence.text.split(":", 1)[0].strip().lower()
            if _stems(field.partition("(")[0]) & said:
                found.add(field)
    return found


def _states(answer: str, value: str) -> bool:
    """``answer`` gives ``value``: the same number (32K for 32768), or the same words."""
    numbers = _numbers(value)
    if numbers and re.fullmatch(r"[\d.,\s%$€£kKmMbB]+", value):
        wanted = numbers[0][1]
        return any(abs(v - w) <= max(tolerance, 1e-9 * abs(w)) for _, values, tolerance, _ in _numbers(answer)
                   for v in values for w in wanted)
    if re.fullmatch(r"\d{4}-\d{2}", value):  # a month: "December 2023" or 2023-12
        return value in answer or value in {iso for _, iso in _dates(answer)}
    return re.search(rf"(?<!\w){re.escape(_norm(value))}(?!\w)", _norm(answer)) is not None


def _claim(text: str, kind: str, item: _Item | None) -> Claim:
    return Claim(text=text, kind=kind, status="supported" if item else "unsupported",
                 evidence=item.evidence if item else None)


NOT_FOUND = "I could not find that in {searched}."
EVIDENCE_HEADER = "I could not phrase a checked answer; this is what the evidence says:"


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


def _name_words(text: str) -> set[str]:
    """The words of a name or a question as names are compared ("Llama 3.2 11B" -> llama, 3.2, 11b)."""
    return set(re.findall(r"[a-z0-9.]+", _norm(text)))


def _named_share(subject: str, question_words: set[str]) -> float:
    """How much of ``subject``'s name the question says (0.6 and up: the question names it)."""
    subject_words = _name_words(subject)
    return len(subject_words & question_words) / len(subject_words) if subject_words else 0.0


_SUPERLATIVE = re.compile(r"\b(" + "|".join(sorted(SUPERLATIVES)) + r")\b", re.IGNORECASE)
"""A word that ranks ("the highest", "cheapest"): the answer is the top of many rows, not one node's fact."""


def _ranked(question: str, evidence: Sequence[Evidence]) -> list[tuple[bool, bool, float, Evidence]]:
    """Every item worth quoting (not the question, not a bare label), best first, each with
    whether it qualifies as an answer (it is about a thing the question names: most of its
    label's words are in the question, or it shares two words with it), whether it holds what
    the question asks (its fact name, or for a row or passage its text, shares a word with the
    question beyond the names of the things asked about: "who" -> developer, "context window"),
    and how much of its subject's name the question says."""
    q_words = _name_words(question)
    q_stems = _stems(question)
    listing = _asks_things(question)
    ranking = bool(_SUPERLATIVE.search(first_ask(question)))
    lowered = question.lower()
    variants = {subject for subject in {e.subject for e in evidence if e.subject}
                if whole_name(subject).search(lowered) and not said_whole(subject, question)}

    def about(e: Evidence) -> float:
        # "the context window of GPT-4 Turbo" names another model than GPT-4, though it says "GPT-4"
        return 0.0 if e.subject in variants else _named_share(e.subject, q_words)

    items = [e for e in evidence if e.kind != "question" and e.text != e.subject]  # a bare label says nothing
    named = {stem for e in items if about(e) >= 0.6 for stem in _stems(e.subject)}
    hinted = {key: hint for w in q_words for key, hint in _hints().items() if w.startswith(key)}
    generic = _generic()
    rest = q_stems - named - generic - {w[:5] for w in q_words for key in hinted if w.startswith(key)}
    if rest:  # the question says what it asks: "who" adds nothing to "Who is the CEO of ...?"
        hinted = {k: h for k, h in hinted.items() if k not in _INTERROGATIVE_HINTS}
    asked = (q_stems - named - generic) | {_stem for hint in hinted.values() for _stem in _stems(hint)}
    scored = []
    for e in items:
        share = about(e)
        fact = e.kind == "fact" and ":" in e.text
        field, _, value = e.text.partition(":") if fact else (e.text, "", "")
        # a fact is about what its name says, not the unit after it: "context window (tokens)" is no cost per token
        relevance = len(_stems(field.partition("(")[0] if fact else field) & asked)
        # "Which models use Apache 2.0?" asks for the things whose fact holds the value it names
        says_value = listing and len(value.strip()) >= 3 and bool(
            re.search(rf"(?<!\w){re.escape(_norm(value.strip()))}(?!\w)", _norm(question)))
        qualifies = share >= 0.6 or len(_stems(e.text) & q_stems) >= 2 or says_value
        if e.subject and ranking:  # one node's fact cannot say it is the highest of all: only a ranking of rows can
            asks = False
        elif fact:  # a fact answers what is asked of its own subject: "who" of Mistral AI is not Mixtral's developer
            asks = (share >= 0.6 and (relevance > 0 or bool(_stems(value) & asked))) or says_value
        elif e.subject:  # a description speaks of its node only
            asks = share >= 0.6 and relevance > 0
        else:  # a row or an output of this turn's tools
            asks = relevance > 0
        scored.append(((qualifies, asks, e.kind == "fact", relevance, share), e))
    # of a thing's facts that hold what is asked, the plainest: "parameters" is asked, not "active parameters"
    plain = _plainest([e for key, e in scored if key[1] and key[2]], q_stems)
    scored = [((key[0], key[1] and (not key[2] or e in plain), *key[2:]), e) for key, e in scored]
    scored.sort(key=lambda t: t[0], reverse=True)  # the facts the question asks for, then the rest
    return [(key[0], key[1], key[4], e) for key, e in scored]


def _plainest(facts: Sequence[Evidence], q_stems: set[str]) -> list[Evidence]:
    """Of each thing's ``facts``, those whose name adds fewest words the question does not say
    ("How many parameters ...?": "parameters (billions)", not "active parameters (billions)")."""
    def extra(e: Evidence) -> int:
        return len(_stems(e.text.partition(":")[0].partition("(")[0]) - q_stems)

    fewest: dict[str, int] = {}
    for e in facts:
        fewest[e.subject] = min(fewest.get(e.subject, 99), extra(e))
    return [e for e in facts if extra(e) == fewest[e.subject]]


def _line(e: Evidence, sources: bool = True) -> str:
    """One evidence item as a person reads it: "Mistral 7B — context window (tokens): 8192 <uri>"."""
    head = f"{e.subject} — " if e.subject and not e.text.startswith(e.subject) else ""
    if not sources:
        return head + e.text
    return head + e.text + (f" <{e.source}>" if e.source.startswith("http") else f" ({e.source})" if e.source else "")


def evidence_answer(question: str, evidence: Sequence[Evidence], searched: str, limit: int = 4) -> str:
    """An answer made only of evidence items that match the question, or a plain "not found":
    the asked facts about the things the question names first, then the rest of what qualifies."""
    ranked = [t for t in _ranked(question, evidence) if t[0]]
    chosen = ([e for _, asks, _, e in ranked if asks and e.kind == "fact"] or [e for _, asks, _, e in ranked if asks]
              or [e for *_, e in ranked[:2]])[:limit]
    if not chosen:
        return NOT_FOUND.format(searched=searched)
    return _listed(EVIDENCE_HEADER, chosen)


def _listed(header: str, items: Sequence[Evidence]) -> str:
    """``header``, then each item as a line with its source: evidence shown as evidence, not as an answer."""
    return "\n".join([header, *(f"- {_line(e)}" for e in items)])


ANSWER_TOOL = "answer_from_evidence"
"""The output tool of ``answer_style = "pick"``: the model answers by choosing evidence lines."""
MAX_QUOTES = 16
_QUOTE_CHARS = 160


def _ascii(text: str) -> str:
    """``text`` as one plain ASCII line: what a grammar-constrained small model copies best."""
    text = text.replace("—", "-").replace("–", "-").replace("’", "'")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text).strip()


_WHICH_THINGS = re.compile(r"\b(?:which|what)\s+(?:(\w+)\s+)?(\w+)\b", re.IGNORECASE)
"""Which or what, then a noun, perhaps after one word: a plural noun there asks for several things."""
_LIST_QUESTION = re.compile(r"\b(list|all|both|and)\b",
                            re.IGNORECASE)


def picks_for(question: str) -> int:
    """How many lines an answer to ``question`` needs: one for a lookup of one thing, up to
    three for a list or a comparison (the answer's length fit to the question)."""
    plural = any(any(w and (w.lower() == "ones" or is_plural_noun(w)) for w in m.groups())
                 for m in _WHICH_THINGS.finditer(question))
    return 3 if plural or _LIST_QUESTION.search(question) or _COMPOUND.search(question) else 1


def quotable(question: str, evidence: Sequence[Evidence], limit: int = MAX_QUOTES) -> dict[str, Evidence]:
    """The evidence lines a model may pick as its answer, keyed by the line it is shown: only
    those that hold what the question asks (of the graph's, only those about a thing it names
    or close to it), the graph's facts first (a weak model's first choice is then a good one),
    rows of one query in the query's order; at most ``limit``."""
    quotes: dict[str, Evidence] = {}
    for qualifies, asks, _, e in _ranked(question, evidence):
        if not asks or not (qualifies or not e.source.startswith("http")):
            continue  # a line that holds nothing the question asks is no answer to it
        quote = _ascii(_line(e, sources=False))[:_QUOTE_CHARS].rstrip()
        if quote and quote not in quotes:
            quotes[quote] = e
        if len(quotes) >= limit:
            break
    return quotes


def asked_facts(question: str, evidence: Sequence[Evidence]) -> list[Evidence]:
    """The graph's facts that state what the question asks of a thing it names: the fact name
    is one the question asks for ("Which licence does Gemma use, and who develops it?" ->
    license and developer of Gemma)."""
    if _SUPERLATIVE.search(first_ask(question)):  # no fact of one thing says it is the highest of all
        return []
    asked = asked_fields(question) | _facts_said(question, evidence)
    if "count" in asked:  # "How many MIT-licensed models are there?": a count, not MIT's licence
        asked = {"count"}
    found = [e for _, _, about, e in _ranked(question, evidence)
             if about >= 0.6 and e.kind == "fact" and e.source.startswith("http") and ":" in e.text
             and any(hint in e.text.split(":", 1)[0].lower() for hint in asked)]
    plain = _plainest(found, _stems(question))
    return [e for e in found if e in plain]


def answerable(question: str, evidence: Sequence[Evidence]) -> bool:
    """Whether the evidence already holds a fact the question asks about, of a thing it names:
    then the model is only asked to pick, not offered a tool call it would make at random."""
    return bool(asked_facts(question, evidence))


def complete(question: str, evidence: Sequence[Evidence], chosen: Sequence[Evidence], most: int = 3) -> list[Evidence]:
    """``chosen`` with the asked facts it leaves out (one per fact name and thing): a question
    that asks two things of one model gets both, though a small model picked one; a pick of no
    asked fact at all (a description) gets the asked fact beside it."""
    out = list(chosen)
    # sql_rank returns only the top value's rows: when one is picked, its ties are the answer too
    tied = {e.source for e in out if e.kind == "row" and e.source.startswith("sql_rank")}
    shown = {(e.source, e.text) for e in out}
    for e in evidence:  # each once, though the same call ran twice
        if e.kind == "row" and e.source in tied and (e.source, e.text) not in shown:
            out.append(e)
            shown.add((e.source, e.text))
    covered = {(e.subject, e.text.split(":", 1)[0]) for e in out}
    asked = asked_facts(question, evidence)
    # a pick that holds no asked fact (the description, for "What is the context window of X?")
    # answers nothing: the asked facts come in, up to ``most`` of them, and for a lookup of one
    # fact they stand in for a picked description, which says nothing more
    answers, listing = any(e in asked for e in out), picks_for(question) > 1
    if not answers and asked and not listing:
        out = [e for e in out if e.kind != "description"]
    limit = most if answers else len(out) + most
    for e in asked:
        key = (e.subject, e.text.split(":", 1)[0])
        if key not in covered and len(out) < limit:
            out.append(e)
            covered.add(key)
    if listing:  # a list: every value of a fact it holds ("Which models does Mistral AI make?"), not the first
        for e in asked:
            if e.kind == "fact" and (e.subject, e.text.split(":", 1)[0]) in covered and e not in out and len(out) < MAX_QUOTES:
                out.append(e)
    return out


def picked(quotes: dict[str, Evidence], chosen: Iterable[Any]) -> list[Evidence]:
    """The items behind the lines a model chose; a line that is not among ``quotes`` (a model
    without constrained output may write its own) is dropped, never shown."""
    by_key = {_norm(q): e for q, e in quotes.items()}
    items: list[Evidence] = []
    for quote in chosen:
        e = by_key.get(_norm(str(quote)).strip())
        if e is not None and e not in items:
            items.append(e)
    return items


_COMPARED = r"\bhow much (?:higher|lower|more|less|better|worse|bigger|smaller|larger|cheaper)\b"
"""A difference asked as "how much higher/lower/... is A than B"."""
_DERIVED = re.compile(r"\b(share|percentage|percent|fraction|proportion|ratio|gap|difference|total|sum|average|mean|"
                      r"combined|altogether)\b|\bhow much (?:would|will|does|do|did)\b.*\bfor\s+\d|" + _COMPARED, re.IGNORECASE)
"""A quantity worked out from others ("what share of its parameters is active", "the MMLU gap
between A and B", "how much for 2M tokens"), not looked up."""
DERIVED_HEADER = "I could not work out the {what} from the evidence; this is what it says:"


RECORDED_VALUE_TOOLS = ("sql_rank", "sql_lookup")
"""Tools whose rows are values the data records (a named row's price, the highest score), never
values worked out from them, whatever the question asks."""


def unworked(question: str, items: Sequence[Evidence]) -> str:
    """What ``question`` asks to be worked out ("share", "gap") when none of ``items`` states it,
    else "". Graph facts hold what was recorded: "active parameters: 12.9" and "parameters: 46.7"
    are true, but they are not the share, and shown as the answer they would pass for one. A tool's
    row or output (a SQL AVG, a python result) is a worked-out value, but not a row of the
    ``RECORDED_VALUE_TOOLS``; so is a fact named for it."""
    match = _DERIVED.search(question)
    if match is None:
        return ""
    what = (match.group(1) or ("difference" if re.match(_COMPARED, match.group(0), re.I) else "cost")).lower()
    for e in items:
        if e.kind == "output" or (e.kind == "row" and not e.source.startswith(RECORDED_VALUE_TOOLS)):
            return ""
        if e.kind == "fact" and what[:4] in e.text.split(":", 1)[0].lower():
            return ""
    return what


_SHARE = re.compile(r"\b(share|percentage|percent|fraction|proportion)\b", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def worked_out(question: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The quantity a question asks to be worked out, when the evidence fixes how: a share of a
    part in its whole (:func:`worked_share`), a cost from a row's rates (:func:`worked_cost`), or
    the gap between two named things' values of one measure (:func:`worked_gap`)."""
    return worked_share(question, evidence) or worked_cost(question, evidence) or worked_gap(question, evidence)


def worked_share(question: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The share a question asks for, worked out by arithmetic from two facts of one node it
    names: a part and the whole it is part of, their names the same but for the part's
    qualifier and in the same unit ("active parameters (billions): 12.9" of "parameters
    (billions): 46.7" is 27.6%), each word of the part's name in the question. None when no
    such pair, or more than one, is there: the framework works out the share, not the model,
    and only when the evidence leaves no choice of what to divide by what."""
    if not _SHARE.search(question):
        return None
    q_words = _name_words(question)
    q_stems = _stems(question)
    numbers: dict[str, list[tuple[str, frozenset[str], str, float, Evidence]]] = {}
    for e in evidence:
        if e.kind != "fact" or ":" not in e.text or not e.subject:
            continue
        if _named_share(e.subject, q_words) < 0.6:
            continue  # a node the question does not name
        name, _, value = (part.strip() for part in e.text.partition(":"))
        if not _PLAIN_NUMBER.match(value):
            continue
        words, unit = name.partition("(")[0], name.partition("(")[2]
        numbers.setdefault(e.source, []).append((name, frozenset(_stems(words)), unit, float(value), e))
    pairs = [(part, whole) for facts in numbers.values() for part in facts for whole in facts
             if whole[1] < part[1] and part[2] == whole[2] and part[1] <= q_stems and 0 < part[3] <= whole[3]]
    if len(pairs) != 1:
        return None
    (part_name, _, _, part, e), (whole_name, _, _, whole, _) = pairs[0]
    text = f"{part_name} as a share of {whole_name}: {part:g} / {whole:g} = {100 * part / whole:.1f}%"
    return Evidence(id="w0", kind="output", text=text, subject=e.subject, source=e.source)  # the node it is worked out from


ROW_WHERE = " (where {})"
"""After a row, what the query said of every row ("count(*): 3 (where license_id = MIT)"): a count
from a query on MIT's models is MIT's count, though no cell says MIT."""
_ROW_WHERE = re.compile(r" \(where [^()]*\)$")


def _cells(e: Evidence) -> tuple[list[tuple[str, str]], str] | None:
    """A row item's (column, value) pairs and the thing it is about (its name, label or title
    column; "" if none), as run_evidence writes rows ("name | mmlu: GPT-4 | 86.4"); None
    for any other item."""
    if e.kind != "row" or ": " not in e.text:
        return None
    header, _, row = _ROW_WHERE.sub("", e.text).partition(": ")
    columns, values = [c.strip() for c in header.split("|")], [v.strip() for v in row.split("|")]
    if len(columns) != len(values):
        return None
    pairs = list(zip(columns, values))
    return pairs, next((v for c, v in pairs if c.lower() in _NAME_COLUMNS and v), "")


_RATE_COLUMN = re.compile(r"^(?P<what>[a-z]+)_per_(?P<per>\d+(?:\.\d+)?)(?P<suf>[kmb]?)_(?P<cur>[a-z]{3})$")
"""A price per amount of something: ``input_per_1m_usd`` is USD per 1M input (tokens)."""
_AMOUNT = re.compile(r"(?<![\w.$])(?P<num>\d+(?:\.\d+)?)\s?(?P<suf>[kKmMbB]|thousand|million|billion)?\s+(?P<what>[a-z]+)\b")
_AMOUNT_SCALE = {"": 1, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9}




def worked_cost(question: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The cost a question asks for ("How much does GPT-4o cost for 2M input and 500K output
    tokens?"), worked out from one row's rates: each amount the question gives ("2M input") times
    the row's column priced per that thing (``input_per_1m_usd``: 2.5), summed. Only when exactly
    one row has a rate for every amount the question gives, and every rate in one currency, the
    one the question asks in, if any; and a rate is read as per token (the columns say no unit),
    so amounts in words or characters are not priced. None otherwise: the framework does the
    arithmetic, and only when the evidence leaves no choice."""
    if not _DERIVED.search(question) or "cost" not in question.lower() and "price" not in question.lower():
        return None
    amounts = {m["what"].lower(): float(m["num"]) * _AMOUNT_SCALE[(m["suf"] or "").lower()] for m in _AMOUNT.finditer(question)}
    unit_of = _unit_of()
    said = {unit_of[w] for w in re.findall(r"[a-z]+|[$€£]", question.lower()) if w in unit_of}
    found: list[tuple[Evidence, str, list[tuple[str, float, float, float]], str]] = []
    for e in evidence:
        if (read := _cells(e)) is None:
            continue
        pairs, named = read
        rates, currencies = [], set()
        for column, value in pairs:
            rate = _RATE_COLUMN.match(column.lower())
            if rate is None or rate["what"] not in amounts or not _PLAIN_NUMBER.match(value):
                continue
            # a rate per 1M (of what the column counts, which it does not say) does not price 2M words
            # or characters of the question's, nor does a USD rate give euros
            if said & {"words", "characters"} or said & CURRENCIES - {rate["cur"]}:
                continue
            per = float(rate["per"]) * _AMOUNT_SCALE[rate["suf"]]
            rates.append((rate["what"], amounts[rate["what"]], per, float(value)))
            currencies.add(rate["cur"].upper())
        if rates and {w for w, *_ in rates} == set(amounts) and len(currencies) == 1 and named:
            found.append((e, named, rates, currencies.pop()))
    if len({(name, tuple(rates)) for _, name, rates, _ in found}) != 1:
        return None
    e, name, rates, currency = found[0]
    total = sum(amount / per * price for _, amount, per, price in rates)
    steps = " + ".join(f"{_count(amount)} {what} x {price:g} {currency} per {_count(per)}" for what, amount, per, price in rates)
    text = f"cost: {steps} = {total:.2f} {currency}"
    return Evidence(id="w0", kind="output", text=text, subject=name, source=e.source)


_GAP = re.compile(r"\b(gap|difference)\b|" + _COMPARED, re.IGNORECASE)


_RANK_WORD = re.compile(r"\b(best|highest|lowest|top|largest|smallest|cheapest|most|least|worst)\b")
def _measure_units() -> frozenset[str]:
    """Words of a column's name that give its unit, not what it measures ("input_per_1m_usd"):
    currencies, and the domain's unit abbreviations (the lexicon's ``units``)."""
    return CURRENCIES | frozenset(current_lexicon().units)


def worked_gap(question: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The gap a question asks for between two things it names whole ("the MMLU gap between GPT-4
    and Qwen 72B Chat"), worked out from their values of the one measure it names: a row's
    column or a fact's name, each of its words in the question. One of the two may be the top
    row of a ranking the question says instead of a name ("between GPT-4 and the best
    open-weight model": sql_rank's row). The first thing said minus the second, with the
    arithmetic shown. Only when exactly two things have a value of exactly one such measure;
    None otherwise."""
    if not _GAP.search(question):
        return None
    lowered, q_stems = question.lower(), _stems(question)
    values: dict[str, dict[str, tuple[str, Evidence]]] = {}  # measure -> thing -> (value, item)
    for e in evidence:
        if (read := _cells(e)) is not None:
            pairs, thing = read
            for column, cell in pairs if thing else ():
                if column.lower() not in _NAME_COLUMNS and _PLAIN_NUMBER.match(cell):
                    values.setdefault(column, {}).setdefault(thing, (cell, e))
        elif e.kind == "fact" and e.subject and ":" in e.text:
            name, _, value = (part.strip() for part in e.text.partition(":"))
            if _PLAIN_NUMBER.match(value):
                values.setdefault(name, {}).setdefault(e.subject, (value, e))
    ranking = _RANK_WORD.search(lowered)
    found = []
    for measure, by_thing in values.items():
        stems = _stems(measure.partition("(")[0].replace("_", " ")) - _measure_units()
        if not stems or not stems <= q_stems:
            continue
        where = {t: spans[0][0] for t in by_thing if (spans := said_whole(t, question))}
        # a ranked row stands for the ranking the question says ("the best open-weight model")
        ranked = [t for t, (_, e) in by_thing.items() if t not in where and e.source.startswith("sql_rank")]
        if ranking is not None and len(where) == 1 and len(ranked) == 1:
            where[ranked[0]] = ranking.start()
        if len(where) == 2:
            found.append((measure, sorted(where, key=where.get), by_thing))
    if len(found) != 1:
        return None
    measure, (first, second), by_thing = found[0]
    (a, item), (b, _) = by_thing[first], by_thing[second]
    places = max(len(v.partition(".")[2]) for v in (a, b))
    text = f"{measure} gap: {first} {a} - {second} {b} = {float(a) - float(b):.{places}f}"
    return Evidence(id="w0", kind="output", text=text, source=item.source)


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


def _count(amount: float) -> str:
    """2000000 -> "2M", 500000 -> "500K": amounts as the question writes them."""
    for suffix, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if amount >= scale and (amount / scale) == round(amount / scale, 3):
            return f"{amount / scale:g}{suffix}"
    return f"{amount:g}"


_SECOND_ASK = re.compile(r"(?:,\s*|\s)and\s+((?:under |in |by |since )?(?:who|whom|whose|when|which|what|where|how)\b.*)",
                         re.IGNORECASE)
PARTIAL_HEADER = "I found only part of the answer (not the {what}); this is what the evidence says:"


def first_ask(question: str) -> str:
    """The question up to its second part ("Which model is cheapest, and who develops it?" ->
    "Which model is cheapest")."""
    match = _SECOND_ASK.search(question)
    return question[:match.start()] if match else question


def uncovered(question: str, items: Sequence[Evidence], evidence: Sequence[Evidence] = ()) -> str:
    """The fact a part of a two-part question asks for ("..., and under which licence are its
    weights published?" -> license) when none of ``items`` is about it, else "". A part asks for a
    fact by the lexicon's ``asks`` or by a word of a fact's name in ``evidence`` ("who *develops*"
    -> developer). A true row that answers one part, shown alone, reads as the whole answer."""
    match = _SECOND_ASK.search(question)
    if match is None:
        return ""
    # the second part by the lexicon's asks and the facts it names; the first part, which a row of
    # the framework's own call answers when there is one, by the facts it names
    parts = [(match.group(1), True)] + ([] if any(e.kind == "row" for e in items) else [(question[:match.start()], False)])
    for part, second in parts:
        for field in sorted((asked_fields(part) if second else set()) | _facts_said(part, evidence)):
            stems = _stems(field.partition("(")[0]) or {field[:5]}
            if not any(stem in (e.text.split(":", 1)[0] if e.kind == "fact" else e.text).lower()
                       for e in items for stem in stems):
                return field
    return ""


def _facts_said(part: str, evidence: Sequence[Evidence]) -> set[str]:
    """The names of ``evidence``'s facts that ``part`` of a question says by a word (beyond the
    names of the things it is about): "who develops that model" says the fact "developer"."""
    lowered = part.lower()
    said = _stems(part) - _generic() - {s for e in evidence if e.subject and whole_name(e.subject).search(lowered)
                                         for s in _stems(e.subject)}
    return {field for e in evidence if e.kind == "fact" and ":" in e.text and e.subject
            for field in [e.text.split(":", 1)[0].strip().lower()] if _stems(field.partition("(")[0]) & said}


_NAME_COLUMNS = ("name", "label", "title")


def row_names(items: Sequence[Evidence]) -> list[str]:
    """The names the picked rows give ("name | output_per_1m_usd: Llama 3.2 11B | 0.37" ->
    "Llama 3.2 11B"): the value of a column headed name, label or title."""
    names: list[str] = []
    for e in items:
        if (read := _cells(e)) is not None and read[1] and read[1] not in names:
            names.append(read[1])
    return names


def facts_of(name: str, field: str, nodes: Sequence[dict[str, Any]]) -> list[Evidence]:
    """The ``field`` facts of the node labelled exactly ``name`` among retrieved ``nodes`` (dicts
    as the grounding has them): a row's thing, looked up in the graph by its name, and only by
    its whole name ("Llama 3.2 11B" is not "Llama 3.2 11B Vision")."""
    stem = field[:5]
    found: list[Evidence] = []
    for node in nodes:
        if _norm(node.get("label", "")) != _norm(name):
            continue
        for fact in node.get("facts", []):
            if stem in fact.split(":", 1)[0].lower():
                found.append(Evidence(id=f"l{len(found)}", kind="fact", text=fact, subject=node["label"], source=node["uri"]))
    return found


def unworked_answer(what: str, items: Sequence[Evidence], header: str = DERIVED_HEADER) -> str:
    """The items a question's worked-out ``what`` would come from, shown as evidence, not as the answer."""
    return _listed(header.format(what=what), items)


def picked_answer(items: Sequence[Evidence]) -> str:
    """The answer rendered from the picked items alone: one line, or a short list."""
    if len(items) == 1:
        return _line(items[0], sources=False)
    return "\n".join(f"- {_line(e, sources=False)}" for e in items)


def cut_repetition(text: str, times: int = 5) -> str:
    """``text`` up to where a phrase (1 to 32 words: a word, or a whole sentence) starts repeating
    ``times`` times in a row: a model caught in a loop ("lightweight, lightweight, ...") says it
    once, with an ellipsis."""
    tokens = re.findall(r"\S+\s*", text)
    words = [re.sub(r"\W+", "", t.lower()) for t in tokens]
    for start in range(len(words)):
        for size in range(1, 33):  # a word, up to a whole sentence said again and again
            if start + size * times > len(words):
                break
            phrase = words[start:start + size]
            if all(words[start + k * size:start + (k + 1) * size] == phrase for k in range(1, times)):
                return "".join(tokens[:start + size]).rstrip(" ,;\n\t") + " …"
    return text
