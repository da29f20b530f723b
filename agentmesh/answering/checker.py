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
from typing import Callable, Iterable, Sequence

from agentmesh.answering.lexicon import current_lexicon
from agentmesh.answering.names import _CAPITALISED_WORDS, _PROPER, _chosen_by, _chosen_literals, _norm, _starts_sentence
from agentmesh.answering.numbers import _dates, _numbers, _stated_units, _unit_of, _units_in
from agentmesh.answering.questions import (_ASKS_NAME, _ASKS_NUMBER, _COMPOUND, _PER_GROUP, _generic, _stems,
                                           asked_fields)
from agentmesh.records import Claim, Evidence

__all__ = ["ClaimChecker", "cut_repetition"]

_PER_UNIT = re.compile(r"\bper\s+\d+(?:\.\d+)?\s?[kKmMbB]?\b")
"""A rate's unit ("per 1M tokens") is not a claim."""


_ABSTAINS = re.compile(r"\b(could not|couldn't|cannot|can't|no (information|data|record)|unknown|n/a|"
                       r"not (found|available|listed|known|given|stated|in the)|"
                       r"(do|does|did)(n't| not) (say|list|give|state|mention|include|show|contain))\b", re.IGNORECASE)
"""An answer that says it could not find the value: it asserts none."""
_ADDRESS = re.compile(r"<?\b(?:https?|urn|file)://[^\s<>]*>?")


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
                # a list item stands alone: one that names nothing ("- AS | 400", "AS" read as a word)
                # says its values of what the question is about, never of the item before it
                about = _coordinated(sentence, named) or (asked_about if listed else subject)
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
            # a number inside a name the question says ("Llama 3.2 11B") is the name, not the value asked
            said = [re.escape(_norm(c.text)) for c in supported if c.kind == "number"]
            if not any(not any(re.search(rf"(?<![\w.]){n}(?![\w.])", name) for name in in_question) for n in said):
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


def _most_rows(items: Sequence[_Item]) -> int:
    """The most rows one tool call brought (a grouped result has one per group)."""
    counts: dict[str, int] = {}
    for item in items:
        if item.evidence.kind == "row":
            counts[item.evidence.source] = counts.get(item.evidence.source, 0) + 1
    return max(counts.values(), default=0)


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


_JOINER = re.compile(r"\s*(?:,|&|and|or|,\s*and|,\s*or)\s*(?:(?:the|a|an)\s+)?", re.IGNORECASE)
"""What joins coordinated names: a comma, "and", "or", and the article of the next one ("X, The Y")."""


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
