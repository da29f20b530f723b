"""One reading of a question against the data profile: what it names, asks, groups and sets, and what it leaves unread.

"How many stations are there in each region?" reads as: the rows of ``stations`` (a table the
question names), counted (``how many``), grouped by ``stations.region`` (``each`` + a column's
name). "Which lines are longer than 60 km?" reads as: the names of ``lines`` rows whose
``length_km > 60`` (a number, the unit the column's name carries, and the comparative of the
column's word). Everything is matched to the *data*: table and column names (and their comments,
units), the values of its categories and the names of its rows (the profile's
:class:`~agentmesh.answering.profile.LabelIndex`); the user's lexicon adds synonyms. General
English (question words, comparatives, words for dimensions) comes from
:mod:`agentmesh.answering.english`. No word list about a domain is used.

The reading also keeps the **content words it did not use** (``unread``) and the reasons it
found more than one interpretation (``problems``): a reading with either is not complete, and
no answer may be composed from it ("How many rivers flow through each country?" leaves
'flow' unread: a count per country would answer another question).

Pure and fast: no model, no database access (the profile and the label index are read already).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from agentmesh.answering.english import (AVERAGE_WORDS, COUNT_NAME_WORDS, COUNT_RANKING_WORDS, DATA_WORDS,
                                         DESCENDING_WORDS, DIMENSIONS, FUNCTION_WORDS,
                                         GROUP_BY_WORDS, LIGHT_VERBS, LINKING_VERBS, LIST_STARTS, MAX_WORDS, MIN_WORDS,
                                         MOST_WORDS, ORDER_DIRECTIONS, ORDER_WORDS, QUANTITY_UNITS,
                                         RANKING_WORDS, SUM_WORDS, SUPERLATIVE_DIMENSIONS, TURNING_WORDS)
from agentmesh.answering.matching import (QuestionWords, comment_words, function_word_unsaid, label_words,
                                          measures_dimension, question_tokens, same_word, schema_words,
                                          sentence_of_tokens, singular)
from agentmesh.answering.profile import _name_words

if TYPE_CHECKING:
    from agentmesh.answering.lexicon import Lexicon
    from agentmesh.answering.profile import DataProfile, LabelIndex

__all__ = ["QuestionReading", "Entity", "Asked", "Condition", "read", "alternatives", "clarified"]

Aggregate = Literal["", "count", "sum", "avg", "min", "max", "list", "lookup"]

_OPS = [(r"no (?:more|greater) than|at most|up to", "<="), (r"no (?:less|fewer) than|at least", ">="),
        (r"(?:more|greater|higher|larger|longer|bigger|taller|later|older|heavier|faster|deeper|wider) than|over|above|exceeding", ">"),
        (r"(?:less|fewer|lower|smaller|shorter|earlier|younger|lighter|slower) than|under|below", "<"),
        (r"after|since", "after"), (r"before|prior to", "before")]
_NUMBER = r"(?P<num>\d[\d,]*(?:\.\d+)?)"
_BOUND = re.compile(r"\b(?P<op>" + "|".join(f"(?:{p})" for p, _ in _OPS) + r")\s+" + _NUMBER + r"\b")
_SYMBOL_BOUND = re.compile(r"(?P<op>>=|<=|>|<)\s*" + _NUMBER + r"\b")
"""'rating > 4.5': a bound written with a comparison sign."""
_RATIO = re.compile(r"^(?P<head>.*?)\bratio\s+of\s+(?P<a>.+?)\s+(?:to|out\s+of|versus|vs\.?)\s+(?P<b>.+?)[\s?.!]*$",
                    re.IGNORECASE)
_COUNTED = re.compile(r"^(?:the\s+)?(?:total\s+)?(?:number|count)\s+of\s+", re.IGNORECASE)
_SCOPE = re.compile(r"\s+(?:in|within|among|for)\s+(?!each\b|every\b)[^,;]+$", re.IGNORECASE)
_BETWEEN = re.compile(r"\bbetween\s+(?P<a>\d[\d,]*(?:\.\d+)?)\s+and\s+(?P<b>\d[\d,]*(?:\.\d+)?)\b")
_FROM_TO = re.compile(r"\bfrom\s+(?P<a>\d[\d,]*(?:\.\d+)?)\s+(?:to|until|through)\s+(?P<b>\d[\d,]*(?:\.\d+)?)\b")
_OR_MORE = re.compile(_NUMBER + r"\s+(?P<unit>[a-z]+\s+)?or\s+(?P<op>more|less|fewer|above|below|over|under|higher|lower)\b")
_IN_YEAR = re.compile(r"\b(?:in|during|from)\s+(?:the\s+year\s+)?(?P<num>1[89]\d\d|20\d\d)\b")


@dataclass(frozen=True)
class Entity:
    table: str
    value: str
    span: tuple[int, int]
    """The question's word positions that say it."""
    column: str = ""
    """The column(s) whose value names it: the table's label ("+"-joined parts), or another name
    of its rows (a code: ``TableProfile.names``)."""


@dataclass(frozen=True)
class Asked:
    """A column (``kind`` measure/date/category/text), the label of a table (``label``), or a
    foreign key column whose target's label is the value (``fk``: ``column`` the key, ``target`` the table)."""

    table: str
    column: str
    kind: str
    target: str = ""


@dataclass(frozen=True)
class Condition:
    """``table.column op value``; ``kind`` "label" is the label of ``table`` (a named row),
    "date" compares a date column by year."""

    table: str
    column: str
    op: str
    value: object
    kind: str = "value"
    via: str = ""
    """A link table whose rows tie the subject's rows to ``table``'s ("the stations on the Valley
    Line": ``line_stops``): the condition holds for a subject row that some link row ties to a row
    meeting it."""


@dataclass
class QuestionReading:
    question: str
    subject: str = ""
    """The table whose rows are counted, listed, aggregated or looked up."""
    entities: list[Entity] = field(default_factory=list)
    asked: list[Asked] = field(default_factory=list)
    aggregate: Aggregate = ""
    group: Asked | None = None
    conditions: list[Condition] = field(default_factory=list)
    order: str = ""
    limit: int | None = None
    unread: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    parts: list["QuestionReading"] = field(default_factory=list)
    """A ratio's two counts, each read as a question of its own ("the ratio of A to B": A, then B)."""
    choices: list[tuple[str, list[str]]] = field(default_factory=list)
    """Where two columns fit alike: (the place, the columns that fit), in the order met. ``read(...,
    choose={place: k})`` reads the question again taking the k-th (:func:`alternatives`)."""
    chosen: dict[str, str] = field(default_factory=dict)
    """The place -> the column taken there (by ``choose`` or the question's "(meaning: ...)")."""

    @property
    def complete(self) -> bool:
        """Every content word used, one interpretation, and something to compose."""
        whole = bool(self.aggregate and self.subject) and not self.unread and not self.problems
        return whole and (self.aggregate != "ratio" or (len(self.parts) == 2 and all(p.complete for p in self.parts)))

    def unapplied(self) -> tuple[list[str], list[str]]:
        """What of the question this reading could not apply: the words it did not use, and why
        it found no one interpretation (a ratio's own and its two counts')."""
        unread = [*self.unread, *(w for p in self.parts for w in p.unread)]
        problems = [*self.problems, *(x for p in self.parts for x in p.problems)]
        if self.aggregate == "ratio" and not self.subject:
            problems.append("no count of rows to divide")
        return list(dict.fromkeys(unread)), list(dict.fromkeys(problems))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: what ``ask --json``, the run's state and its trace show."""
        return {"summary": self.summary() if self.subject else "", "complete": self.complete,
                "subject": self.subject, "aggregate": self.aggregate,
                "entities": [{"table": e.table, "value": e.value} for e in self.entities],
                "asked": [{"table": a.table, "column": a.column, "kind": a.kind} for a in self.asked],
                "group": None if self.group is None else {"table": self.group.table, "column": self.group.column},
                "conditions": [{"table": c.table, "column": c.column, "op": c.op, "value": c.value}
                               for c in self.conditions],
                "order": self.order, "limit": self.limit, "unread": list(self.unread), "problems": list(self.problems),
                "question": self.question,
                "choices": [{"place": place, "options": list(options), "chosen": self.chosen.get(place)}
                            for place, options in self.choices],
                **({"parts": [p.to_dict() for p in self.parts]} if self.parts else {})}

    def summary(self) -> str:
        """One line: what the reading asks (the tool's one fixed argument)."""
        if self.aggregate == "ratio" and len(self.parts) == 2:
            return f"ratio of ({self.parts[0].summary()}) to ({self.parts[1].summary()})"
        what = {"count": f"count of {self.subject}", "list": f"{self.subject} rows" + (f" with {', '.join(a.column for a in self.asked)}" if self.asked else ""),
                "lookup": f"{', '.join(a.column if a.kind != 'label' else a.table for a in self.asked)} of "
                          f"{', '.join(e.value for e in self.entities)}"}.get(
            self.aggregate, f"{self.aggregate} of {', '.join(a.column for a in self.asked)}")
        parts = [what]
        if self.group is not None:
            parts.append(f"per {self.group.table}.{self.group.column}" if self.group.kind != "label"
                         else f"per {self.group.table}")
        for c in self.conditions:
            if self.aggregate == "lookup" and c.kind == "label":
                continue
            parts.append(f"where {c.table}{'' if c.kind == 'label' else '.' + c.column} {c.op} {c.value}"
                         + (f" (through {c.via})" if c.via else ""))
        if self.order:
            parts.append(f"ordered by {self.order}")
        if self.limit:
            parts.append(f"top {self.limit}")
        return " ".join(parts)


# -- words ------------------------------------------------------------------------------------------


# -- the reading ------------------------------------------------------------------------------------
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
    ratio = _RATIO.match(question.strip())
    if ratio is not None:
        whole = _read_ratio(question, ratio, profile, lexicon, index, columns)
        if meant:  # a ratio's counts are read apart: a meaning said for the whole is not applied
            whole.problems.append("a meaning said for a ratio")
        return whole
    return _Reader(question, asked_as, meant, profile, lexicon, index, columns, choose).run()


class _Reader:
    """One reading of one question: the steps of :func:`read` (:meth:`run`, in order), over the state they share."""

    # what the steps find, in the order they find it
    table_words: dict[str, list[str]]  # each table's name as the question may say it
    taken: dict[tuple[int, int], list[tuple[str, str, object, str]]]  # span -> (table, column, value, label|value)
    bounds: list[tuple[str, float, tuple[int, int], str]]  # (op, value, token span, unit said)
    lowered: str  # the question in lower case, thousands' commas dropped
    named_tables: dict[str, list[int]]  # table -> the positions that name it
    most: tuple[str, int] | None  # "the most X": (the table counted, the superlative's position)
    top: tuple[int, str, list[int]] | None  # "the 3 highest": (how many, asc|desc, positions)
    said: set[str]
    count_named: set[int]  # "count" words that name a measure ("the citation count"), not a count of rows
    counting: bool
    quantity: int | None  # "how many kilometres": the unit's position
    aggregate: Aggregate  # the aggregate word said (sum, avg); the reading's is decided later
    agg_words: set[int]
    group_at: list[int]  # positions of each/every/per/by
    entity_spans: dict[tuple[int, int], list[tuple[str, str, object, str]]]
    value_spans: dict[tuple[int, int], list[tuple[str, str, object, str]]]
    group: Asked | None
    group_word: int | None
    column_hits: list[tuple[Asked, list[int]]]  # the columns said, and where
    subject: str
    entities: list[Entity]
    measures: list[tuple[Asked, list[int]]]

    def __init__(self, question: str, asked_as: str, meant: list[str], profile: "DataProfile",
                 lexicon: "Lexicon | None", index: "LabelIndex | None",
                 columns: "dict[str, list[str]] | None", choose: "dict[str, int] | None") -> None:
        from agentmesh.answering.profile import UNIT_NAMES

        self.question, self.meant, self.profile, self.lexicon = question, meant, profile, lexicon
        self.index, self.columns, self.choose = index, columns, choose
        self.reading = QuestionReading(asked_as)
        self.w = QuestionWords(self.question, self.lexicon)
        self.tokens = self.w.tokens
        self.forced = self.choose or {}
        self.unmeant = set(self.meant)

        self.units = frozenset(UNIT_NAMES) | frozenset(self.lexicon.units if self.lexicon is not None else ())
        self.tables = self.profile.tables
        self.columns = columns or {}

    def run(self) -> QuestionReading:
        self._names()
        self._bounds()
        self._tables()
        self._superlatives()
        self._aggregate_words()
        self._group()
        self._columns()
        self._entities()
        self._aggregate()
        self._subject()
        self._conditions()
        self._order()
        self._described()
        self._unread()
        return self.reading

    def _names(self) -> None:
        """Names of rows and values of categories, longest first; a lone word that names a table is the table."""
        w, tokens, tables, index = self.w, self.tokens, self.tables, self.index
        question = self.question
        self.table_words = {t: self.words_of(t) for t in tables}
        mentions: list[tuple[tuple[int, int], str, str, object, str]] = []  # span, table, column, value, kind
        if index is not None:
            for table, value in index.candidates(question):
                key = re.findall(r"[a-z0-9]+(?:\.\d+)?", re.sub(r"['’]s\b", "", value.lower()).replace("_", " "))
                if function_word_unsaid(key, value, question):  # state code "IN" is not the "in" of "in each month"
                    continue
                for span in w.span(key) if key else []:
                    naming = index.column_of(table, value) or "+".join(tables[table].label.columns)
                    mentions.append((span, table, naming, value, "label"))
        for table, tp in tables.items():
            for category in tp.categories:
                for value in category.values:
                    if not isinstance(value, str) or not value.strip():
                        continue
                    key = re.findall(r"[a-z0-9]+(?:\.\d+)?", value.lower())
                    if function_word_unsaid(key, value, question):
                        continue  # grade "A" is said as "an A", not by the article of "a GPA"
                    for span in w.span(key) if key else []:
                        mentions.append((span, table, category.column, value, "value"))
        mentions.sort(key=lambda m: (-(m[0][1] - m[0][0]), m[0][0]))
        naming_table = {i for t, ws in self.table_words.items() if len(ws) == 1 for i, tok in enumerate(tokens) if same_word(tok, ws[0])}
        self.taken = {}
        for span, table, column, value, kind in mentions:
            if any(s < span[1] and span[0] < e for s, e in self.taken if (s, e) != span):
                continue
            if span[1] - span[0] == 1 and span[0] in naming_table and not tokens[span[0]][:1].isdigit():
                continue
            self.taken.setdefault(span, []).append((table, column, value, kind))

    def _bounds(self) -> None:
        """Numbers and dates compared."""
        self.bounds = []  # op, value, token span, unit said
        self.lowered = re.sub(r"(?<=\d),(?=\d{3})", "", self.question.lower())
        ranges: list[tuple[int, int]] = []
        for m in [*_BETWEEN.finditer(self.lowered), *_FROM_TO.finditer(self.lowered)]:
            unit, end = self.unit_after(m.end())
            span = self.token_span(m.start(), end)
            ranges.append((m.start(), end))
            self.bounds.append((">=", float(m["a"]), span, unit))
            self.bounds.append(("<=", float(m["b"]), span, unit))
        for m in _BOUND.finditer(self.lowered):
            op = next(o for p, o in _OPS if re.fullmatch(p, m["op"]))
            unit, end = self.unit_after(m.end())
            self.bounds.append((op, float(m["num"]), self.token_span(m.start(), end), unit))
        for m in _SYMBOL_BOUND.finditer(self.lowered):
            op = {">=": ">=", "<=": "<=", ">": ">", "<": "<"}[m["op"]]
            unit, end = self.unit_after(m.end())
            self.bounds.append((op, float(m["num"]), self.token_span(m.start(), end), unit))
        for m in _OR_MORE.finditer(self.lowered):
            op = ">=" if m["op"] in ("more", "above", "over", "higher") else "<="
            unit = QUANTITY_UNITS.get((m["unit"] or "").strip(), "")
            self.bounds.append((op, float(m["num"]), self.token_span(m.start(), m.end()), unit))
        for m in _IN_YEAR.finditer(self.lowered):
            if not any(a <= m.start() < b for a, b in ranges):  # "from 2019 to 2021": a range, read above
                self.bounds.append(("year", float(m["num"]), self.token_span(m.start(), m.end()), ""))
        self.bounds = [b for b in self.bounds if not any(b[2][0] < e and s < b[2][1] for (s, e) in self.taken)]
        for _, _, (s, e), _ in self.bounds:
            self.w.used.update(range(s, e))

    def _tables(self) -> None:
        """The tables the question names."""
        tokens, taken = self.tokens, self.taken
        self.named_tables = {}
        for table, ws in self.table_words.items():
            if not ws:
                continue
            for s, e in self.w.span(ws) or []:
                if not any(s < te and ts < e for ts, te in taken):
                    self.named_tables.setdefault(table, []).extend(range(s, e))
            if table not in self.named_tables and len(ws) == 1:
                hits = [i for i, tok in enumerate(tokens) if same_word(tok, ws[0]) and not any(ts <= i < te for ts, te in taken)]
                # one word written as two ("check-ins", "check ins": checkin)
                hits += [j for i in range(len(tokens) - 1) if len(ws[0]) >= 5 and singular(tokens[i] + tokens[i + 1])
                         == singular(ws[0]) and not any(ts <= i + 1 and i < te for ts, te in taken) for j in (i, i + 1)]
                if hits:
                    self.named_tables[table] = hits

    def _superlatives(self) -> None:
        """The most counted group, the top rows, the row of a superlative."""
        w, tokens, named_tables = self.w, self.tokens, self.named_tables
        # "Which conference has the most publications?", "the instructor who has taught the fewest
        # courses": the group (a table, or a column, named before) whose count of the rows named after
        # the superlative is the highest (lowest); ties kept
        self.most = _most_counted(tokens, named_tables, w)
        self.top = None
        for i, tok in enumerate(tokens[:-1] if self.most is None else []):
            if tok == "top" and tokens[i + 1].isdigit() and 1 <= int(tokens[i + 1]) <= 100:
                extreme = [j for j, t in enumerate(tokens) if t in (MAX_WORDS | MIN_WORDS) - {"top", "most", "least"} and j not in w.used]
                if len(extreme) == 1:
                    self.top = (int(tokens[i + 1]), "desc" if tokens[extreme[0]] in MAX_WORDS else "asc", [i, i + 1, extreme[0]])
                break
        # "Which is the longest line?", "What is the oldest train class?": the row (rows, tied) of the
        # highest value, when the word after the superlative names a table (not a measure: "What is
        # the highest elevation?" asks the value)
        if self.most is None and self.top is None and tokens[:1] and tokens[0] in LIST_STARTS:
            extreme = [j for j, t in enumerate(tokens) if t in SUPERLATIVE_DIMENSIONS and j not in w.used]
            ranking = [j for j, t in enumerate(tokens) if t in RANKING_WORDS and j not in w.used]
            if len(extreme) == 1:
                j = extreme[0] + 1
                while j < len(tokens) and tokens[j] in FUNCTION_WORDS:
                    j += 1
                n = extreme[0] - 1  # "the 3 highest mountains": the three rows of the highest values
                count = int(tokens[n]) if n > 0 and tokens[n].isdigit() and 1 <= int(tokens[n]) <= 100 else 1
                # "the lowest-rated restaurant": a word of a measure between the superlative and the table
                rated = j + 1 < len(tokens) and any(w.says(j, c) for tp in self.tables.values() for m in tp.measures
                                                    for c in self.words_of(m.column)) and any(j + 1 in hits for hits in named_tables.values())
                if j < len(tokens) and (any(j in hits for hits in named_tables.values()) or rated):
                    self.top = (count, "desc" if tokens[extreme[0]] in DESCENDING_WORDS else "asc",
                           [extreme[0], *([n] if count > 1 or n > 0 and tokens[n].isdigit() else [])])
            if self.top is None and len(ranking) == 1 and tokens[0] in ("which", "what"):
                # "Which course has the highest clarity score?": a table named before the superlative, a
                # measure after it (which one is read below; none: no reading)
                k = ranking[0]
                if any(i < k for hits in named_tables.values() for i in hits) and any(
                        t in ("has", "have", "had", "with") for t in tokens[1:k]):
                    self.top = (1, "desc" if tokens[k] in DESCENDING_WORDS | MOST_WORDS else "asc", [k])

    def _aggregate_words(self) -> None:
        """The aggregate words."""
        tokens = self.tokens
        self.said = set(tokens)
        # "the citation count of X" (citation_num): a count word after a measure's other words is that
        # measure's name, not a count of rows
        self.count_named = {i for i, tok in enumerate(tokens) if tok == "count" and i > 0 and any(
            (rest := [x for x in self.words_of(m.column) if x not in COUNT_NAME_WORDS]) and len(rest) < len(self.words_of(m.column))
            and self.w.says(i - 1, rest[-1]) for tp in self.tables.values() for m in tp.measures)}
        self.counting = ("how" in self.said and "many" in self.said) or any(t == "count" and i not in self.count_named for i, t in enumerate(tokens)) \
            or re.search(r"\bnumber of\b", self.lowered) is not None
        # "How many kilometres has unit 52301 run?": a quantity in a unit, not a count of rows
        self.quantity = next((i + 2 for i in range(len(tokens) - 2) if tokens[i:i + 2] == ["how", "many"]
                         and tokens[i + 2] in QUANTITY_UNITS), None)
        if self.quantity is not None and "count" not in self.said and "number" not in self.said:
            self.counting = False
        self.aggregate = ""
        self.agg_words = set()
        for i, tok in enumerate(tokens):
            if tok in AVERAGE_WORDS:
                self.aggregate, self.agg_words = "avg", self.agg_words | {i}
            elif tok in SUM_WORDS and self.aggregate != "avg":
                self.aggregate, self.agg_words = "sum", self.agg_words | {i}
        if self.counting:
            self.agg_words |= {i for i, t in enumerate(tokens) if t in ("how", "many", "count", "number")}
        self.group_at = [i for i, t in enumerate(tokens) if t in GROUP_BY_WORDS]

    def _group(self) -> None:
        """The group: each/every/per/by + a column of a table or a table (its label)."""
        reading, w, tokens, named_tables = self.reading, self.w, self.tokens, self.named_tables
        taken, most = self.taken, self.most
        self.entity_spans = {span: hits for span, hits in taken.items() if any(h[3] == "label" for h in hits)}
        self.value_spans = {span: hits for span, hits in taken.items() if span not in self.entity_spans}


        subject_candidates = list(named_tables)
        self.group = None
        group_tokens: list[int] = []
        self.group_word = None
        for i in self.group_at:
            if tokens[i] in ("by", "per") and i + 1 < len(tokens) and tokens[i + 1][:1].isdigit():
                continue  # "by 2020", "per 1M tokens": a bound, a rate's unit; no group
            options, used = self.resolve_group(i)
            if options:
                self.group_word, group_tokens = i, used
                self.group = options[0] if len({(a.table, a.column) for a in options}) == 1 else None
                if self.group is None:
                    others = [t for t in subject_candidates if set(named_tables[t]) - set(used)]
                    self.group = _prefer(options, others, self.tables)
                    if self.group is None:
                        reading.problems.append(f"'{tokens[i]} {tokens[used[0]]}' fits "
                                                + " and ".join(f"{a.table}.{a.column}" for a in options))
                break
        if most is not None and self.group_word is None:
            counted, ranked_at = most
            for p in range(ranked_at - 1, 0, -1):  # the nearest thing named before the superlative
                if p in w.used or tokens[p] in FUNCTION_WORDS:
                    continue
                options, used = self.resolve_group(p - 1)
                options = [a for a in options if a.table != counted and self.reaches(counted, a.table)]
                if len({(a.table, a.column) for a in options}) == 1:
                    self.group, group_tokens, self.group_word = options[0], used, p
                    break
            if self.group is None:
                reading.problems.append(f"the most {counted} of what")
        if self.group_word is not None:
            w.used.update([self.group_word, *group_tokens])
            for t in list(named_tables):  # a table named only by the group's word is the group, not the subject
                if set(named_tables[t]) <= set(group_tokens):
                    del named_tables[t]

    def _columns(self) -> None:
        """Measures and other columns the question names, outside names and values."""
        w = self.w
        # measures and other columns the question names, outside names and values
        for span in self.taken:
            w.used.update(range(*span))
        self.column_hits = []
        for table, tp in self.tables.items():
            fk_columns = {fk.columns[0]: fk.table for fk in tp.foreign_keys if len(fk.columns) == 1}
            listed = [(m.column, "measure") for m in tp.measures] + [(d, "date") for d in tp.dates] \
                + [(c.column, "category") for c in tp.categories] + [(c, "text") for c in self.text_columns(table)]
            listed += [(c, "fk") for c in fk_columns]
            their = {fk.columns[0]: fk for fk in tp.foreign_keys if len(fk.columns) == 1}
            for column, kind in listed:
                cw = self.words_of(column)
                if kind == "fk":  # airline_code, a key to airline(airline_code): "the airline"
                    extra = set(self.words_of(their[column].their_columns[0])) - set(self.table_words.get(their[column].table, ()))
                    cw = [x for x in cw if x not in extra] or cw
                if not cw or (kind != "fk" and column in tp.keys):
                    continue
                hit = w.find(cw)
                if hit is None and len(cw) > 1:  # the name's words written as one ("wingspan": wing_span)
                    joined = "".join(cw)
                    hit = next(([i] for i, t in enumerate(self.tokens) if i not in w.used and len(joined) >= 6
                                and singular(t) == singular(joined)), None)
                if hit is None and kind in ("measure", "date") and len(cw) > 1:
                    # a compound name said by its head noun ("a GPA higher than 3.4": cumulative_gpa; the
                    # noun before "per", less "the number of": cars_per_unit, citation_num); two columns
                    # with the head said alike fit equally and the reading takes neither
                    head = [x for x in (cw[:cw.index("per")] if "per" in cw else cw) if x not in COUNT_NAME_WORDS][-1:]
                    hit = w.find(head) if head else None
                    if hit is not None and any(i in hits for i in hit for hits in self.named_tables.values()):
                        hit = None  # the word names a table ("unit 31104"), not this column
                if hit is not None and kind == "measure" and hit[-1] + 1 in self.count_named:  # "the citation count"
                    hit = [*hit, hit[-1] + 1]
                if hit is not None:
                    self.column_hits.append((Asked(table, column, kind, fk_columns.get(column, "")), hit))
        # a table's label asked through a name of the table ("Which train class is unit 70602?")

    def _entities(self) -> None:
        """The named rows, composed by the shape of the question."""
        self.subject = ""
        self.entities = [Entity(h[0], str(h[2]), span, h[1]) for span, hits in self.entity_spans.items() for h in hits if h[3] == "label"]
        self.reading.entities = self.entities

    def _aggregate(self) -> None:
        """What is done with the rows: count, sum, average, extreme, list or lookup."""
        reading, w, tokens, tables = self.reading, self.w, self.tokens, self.tables
        named_tables, entities, top, said = self.named_tables, self.entities, self.top, self.said
        quantity = self.quantity
        if quantity is not None and not self.counting:
            unit = QUANTITY_UNITS[tokens[quantity]]
            self.column_hits += [(Asked(t, m.column, "measure"), [quantity - 2, quantity - 1, quantity])
                            for t, tp in tables.items() for m in tp.measures if m.unit == unit]
        self.measures = [(a, h) for a, h in self.column_hits if a.kind == "measure"]
        # "How long is the Valley Line?", "How many kilometres has unit 52301 run?": a value of a named row
        # "In what year was X published?", "For which line ...": a preposition before the question word
        opening = tokens[1:] if tokens[:1] and tokens[0] in ("in", "on", "at", "for", "from", "to", "by", "of") else tokens
        lookup_start = opening[:1] and (opening[0] in ("what", "which", "who", "when", "where")
                                       or (tokens[0] == "how" and len(tokens) > 1 and tokens[1] in DIMENSIONS)
                                       or (quantity is not None and not self.counting))
        if self.most is not None or self.counting and self.aggregate == "" or (self.counting and self.aggregate == "sum" and not self.measures):
            reading.aggregate = "count"
        elif self.aggregate in ("sum", "avg") or (tokens[:2] in (["what", "is"], ["what", "was"]) and said & (MAX_WORDS | MIN_WORDS)
                                              and not entities and top is None):
            if self.aggregate == "":
                extreme = [i for i, t in enumerate(tokens) if t in MAX_WORDS | MIN_WORDS]
                self.aggregate = "max" if tokens[extreme[0]] in MAX_WORDS else "min"
                self.agg_words.add(extreme[0])
            reading.aggregate = self.aggregate
        elif entities and _lists_rows_of(tokens, named_tables, {e.table for e in entities}, tables, self.columns):
            reading.aggregate = "list"
        elif entities and (self.column_hits or len(named_tables) > (1 if entities else 0)) and lookup_start and not self.group_at:
            reading.aggregate = "lookup"
        elif tokens[:1] and tokens[0] in LIST_STARTS and (self.value_spans or self.bounds or entities or "all" in said
                                                          or any(a.kind == "category" for a, _ in self.column_hits)):
            reading.aggregate = "list"
        elif tokens[:1] and tokens[0] in LIST_STARTS and top is not None:
            reading.aggregate = "list"
        w.used.update(self.agg_words)
        if self.counting and reading.aggregate == "count":
            w.used.update(i for i, t in enumerate(tokens) if t in ("total",))

    def _subject(self) -> None:
        """The table whose rows are counted, listed, aggregated or looked up."""
        reading, w, tables, named_tables = self.reading, self.w, self.tables, self.named_tables
        group, most = self.group, self.most
        if reading.aggregate in ("sum", "avg", "min", "max"):
            fits = [(a, h) for a, h in self.measures if not (group is not None and a == group)]
            best = _fullest(fits)
            if len({(a.table, a.column) for a, _ in best}) > 1 and (picked := self.chosen("the measure", best)) is not None:
                best = [picked]
            if len({(a.table, a.column) for a, _ in best}) != 1:
                if len(best) > 1:
                    reading.problems.append("the question names " + " and ".join(f"{a.table}.{a.column}" for a, _ in best))
                reading.subject = ""
            else:
                a, hit = best[0]
                reading.asked, self.subject = [a], a.table
                w.used.update(hit)
                for t in list(named_tables):  # the measure's own table, said ("the average length of rivers")
                    if t == self.subject:
                        w.used.update(named_tables.pop(t))
        elif most is not None:
            self.subject = most[0]
        elif reading.aggregate in ("count", "list"):
            plain = [t for t in named_tables if not any(i in w.used for i in named_tables[t])]
            if self.entities:  # "How many units of Class 44 Heron": the named table that is not the entity's
                entity_tables = {e.table for e in self.entities}
                plain = _untied(tables, [t for t in plain if t not in entity_tables] or plain, entity_tables)
            if len(plain) == 1:
                self.subject = plain[0]
                w.used.update(named_tables[self.subject])
            elif len(plain) > 1:
                # one table said within another's words ("train classes" holds "classes"): the longer one
                longest = max(plain, key=lambda t: len(self.table_words[t]))
                # "the businesses in the Pizza category": a table named with a value of its own, whose rows
                # point to (or are reached from) the other one, names the condition, not the rows asked about
                valued = {h[0] for hits in self.value_spans.values() for h in hits}
                heads = [t for t in plain if all(u == t or (u in valued and (_one_back(tables, u, t) or self.reaches(t, u)))
                                                 for u in plain)]
                if all(set(named_tables[t]) & set(named_tables[longest]) for t in plain):
                    self.subject = longest
                    w.used.update(named_tables[longest])
                elif len(heads) == 1:
                    self.subject = heads[0]
                    w.used.update(named_tables[self.subject])
                else:
                    reading.problems.append("the question names the tables " + " and ".join(plain))
        elif reading.aggregate == "lookup":
            tables_of = {e.table for e in self.entities}
            if len(self.entities) != 1 or len(tables_of) != 1:
                reading.problems.append("the question names " + " and ".join(e.value for e in self.entities))
            else:
                entity = self.entities[0]
                self.subject = entity.table
                w.used.update(range(*entity.span))
                own: set[int] = set()
                for t in list(named_tables):
                    if t == self.subject:  # "Glenarrow station": the entity's own table
                        own.update(named_tables.pop(t))
                w.used.update(own)
                # a column said only by the table's word that names the row ("flight HA567": not flight_number)
                asked: list[tuple[Asked, list[int]]] = [(a, h) for a, h in self.column_hits
                                                        if self.reaches(self.subject, a.table) and not set(h) <= own]
                for t, hit in named_tables.items():
                    if t in tables[self.subject].paths and tables[t].label.own:
                        asked.append((Asked(t, "+".join(tables[t].label.columns), "label"), hit))
                # "the airline of flight HA567": airline_flight holds 'HA567' itself; the other column said is asked
                naming = set((entity.column or "").split("+"))
                best = _fullest([(a, h) for a, h in asked if not (a.table == self.subject and a.column in naming)] or asked)
                # "the journal of X": paper.journalid, a key to journal, and journal's label are one value
                keyed = {a.target for a, _ in best if a.kind == "fk" and a.table == self.subject}
                best = [(a, h) for a, h in best if not (a.kind == "label" and a.table in keyed)]
                if len({(a.table, a.column, a.kind) for a, _ in best}) > 1 and (picked := self.chosen("the value asked", best)) is not None:
                    best = [picked]
                if len({(a.table, a.column, a.kind) for a, _ in best}) != 1:
                    if len(best) > 1:
                        reading.problems.append("the question asks for " + " and ".join(f"{a.table}.{a.column}" for a, _ in best))
                elif best[0][0].table == self.subject and best[0][0].column in (entity.column or "").split("+"):
                    # "Which airline ... flight HA567?" read as airline_flight of HA567: the value asked is
                    # the one that named the row, which answers nothing
                    reading.problems.append(f"the question asks for {self.subject}.{best[0][0].column}, "
                                            f"the column that names '{entity.value}'")
                else:
                    reading.asked = [best[0][0]]
                    w.used.update(best[0][1])
                    reading.conditions.append(Condition(self.subject, entity.column or "+".join(tables[self.subject].label.columns),
                                                        "=", entity.value, "label"))
        reading.subject = self.subject

    def _conditions(self) -> None:
        """Conditions from named rows, values and bounds; what a lookup asks."""
        reading, w, tokens, tables = self.reading, self.w, self.tokens, self.tables
        named_tables, group, top, table_words = self.named_tables, self.group, self.top, self.table_words
        columns, group_word = self.columns, self.group_word
        if self.subject and reading.aggregate == "count":
            # a row that holds its own count (checkin.count: check-ins per business and day): "how many
            # check-ins" is the number of rows or the total of that column, and the words cannot tell which
            tallies = [m.column for m in tables[self.subject].measures if set(self.words_of(m.column)) <= COUNT_NAME_WORDS]
            if tallies:
                reading.problems.append(f"each {self.subject} row holds a count ({self.subject}.{tallies[0]}): "
                                        "the number of rows, or their total")

        if self.subject and reading.aggregate in ("count", "list", "sum", "avg", "min", "max"):
            subject_columns = {c.lower(): c for c in columns.get(self.subject, [])} if columns else {}
            own_label = {c.lower() for c in tables[self.subject].label.columns} if tables[self.subject].label.own else set()
            by_span: dict[tuple[int, int], list[Entity]] = {}
            for entity in self.entities:
                by_span.setdefault(entity.span, []).append(entity)
            for span, named in by_span.items():
                applied: list[tuple[Entity, Condition]] = []
                for entity in named:
                    label = tables[entity.table].label.columns
                    naming = entity.column or "+".join(label)
                    if entity.table != self.subject and entity.table in tables[self.subject].paths:  # through the key
                        applied.append((entity, Condition(entity.table, naming, "=", entity.value, "label")))
                    elif entity.table != self.subject and (links := _links(tables, self.subject, entity.table)):
                        # through a table whose rows point to both ("the stations on the Valley Line": line_stops)
                        for link in links:
                            applied.append((entity, Condition(entity.table, naming, "=", entity.value, "label",
                                                              via=link)))
                    elif entity.table != self.subject and naming == "+".join(label) and len(label) == 1 \
                            and label[0].lower() in subject_columns \
                            and label[0].lower() not in own_label:
                        # the subject holds the name itself, in a column of the same name (lake.state_name: state.state_name)
                        applied.append((entity, Condition(self.subject, subject_columns[label[0].lower()], "=", entity.value)))
                if len({(c.table, c.column) for _, c in applied}) != 1:
                    entity = named[0]
                    reading.problems.append(f"'{entity.value}' is a row of {entity.table}, which {self.subject} does not point to"
                                            if not applied else f"'{entity.value}' fits "
                                            + " and ".join(f"{c.table}.{c.column}" for _, c in applied))
                    continue
                if len({c.via for _, c in applied}) > 1:  # two ties: the one whose link the question names ("stop": line_stops)
                    said_link = [(e, c) for e, c in applied
                                 if any(w.says(i, x) for i in range(len(tokens)) if i not in w.used for x in table_words[c.via])]
                    applied = said_link if len({c.via for _, c in said_link}) == 1 else applied
                if len({c.via for _, c in applied}) != 1:
                    reading.problems.append(f"'{named[0].value}' is tied to {self.subject} by "
                                            + " and by ".join(c.via for _, c in applied))
                    continue
                entity, condition = applied[0]
                w.used.update(range(*entity.span))
                reading.conditions.append(condition)
                if condition.via:  # the link's own words ("Which lines stop at ...": line_stops) name the tie it makes
                    for i, tok in enumerate(tokens):
                        if i not in w.used and tok not in FUNCTION_WORDS and any(w.says(i, c) for c in table_words[condition.via]):
                            w.used.add(i)
                fk = [a for a, h in self.column_hits if a.kind == "fk" and a.table == self.subject and a.target == entity.table]
                if len(fk) == 1:  # "as their home station": the key's own words
                    w.used.update(next(h for a, h in self.column_hits if a == fk[0]))
                for t in list(named_tables):
                    if t == entity.table:
                        w.used.update(named_tables.pop(t))
            for a, hit in self.column_hits:  # "Which stations are staffed?": a yes/no column said alone is its yes
                if a.kind != "category" or not self.reaches(self.subject, a.table) or any(i in w.used for i in hit):
                    continue
                held = next(c.values for c in tables[a.table].categories if c.column == a.column)
                truth = [v for v in held if str(v).lower() in ("yes", "y", "true", "1")]
                if truth and {str(v).lower() for v in held} <= {"yes", "no", "y", "n", "true", "false", "1", "0"}:
                    reading.conditions.append(Condition(a.table, a.column, "=", truth[0]))
                    w.used.update(hit)
            values = self.conditions_from_values(self.subject)
            if values is None:
                reading.problems.append("a value the question says is not one of the rows it asks about")
            else:
                reading.conditions += values
            bounded = self.bound_conditions(self.subject)
            if bounded is None:
                reading.problems.append("a bound the question sets fits no one column")
            else:
                reading.conditions += bounded
            columns_set = [(c.table, c.column) for c in reading.conditions if c.op == "="]
            if len(columns_set) != len(set(columns_set)):  # "in the Coast region and the North region": one row has one
                reading.problems.append("two values of one column")
            if reading.aggregate == "list" and top is not None:  # the ranked measure, asked first
                ranked = [(a, h) for a, h in self.column_hits if a.table == self.subject and a.kind == "measure"
                          and not any(i in w.used for i in h)]
                best = _fullest(ranked)
                if not best:  # "the fastest train class": the one measure whose name holds the superlative's dimension
                    dimensions = [SUPERLATIVE_DIMENSIONS[tokens[i]] for i in top[2] if tokens[i] in SUPERLATIVE_DIMENSIONS]
                    best = [(Asked(self.subject, m.column, "measure"), []) for m in tables[self.subject].measures
                            if any(measures_dimension(d, c) for d in dimensions for c in self.words_of(m.column))]
                if len({a.column for a, _ in best}) == 1:
                    reading.asked.append(best[0][0])
                    w.used.update(best[0][1])
                    w.used.update(top[2])
                    reading.limit, reading.order = top[0], f"value {top[1]}"
                else:
                    reading.problems.append("the top rows of which column")
            if reading.aggregate == "list":  # "the names and areas of the lakes": the columns it also asks for
                condition_columns = {(c.table, c.column) for c in reading.conditions}
                for a, hit in self.column_hits:
                    if a.table == self.subject and a.kind != "fk" and (a.table, a.column) not in condition_columns \
                            and not any(i in w.used for i in hit):
                        reading.asked.append(a)
                        w.used.update(hit)
                # "the aircraft codes", "the flight ids": a key or code of the subject said by every word
                # of its name, "id" and "code" included, the table's word shared with the subject's
                for column in dict.fromkeys([*tables[self.subject].keys, *self.text_columns(self.subject)]):
                    whole = _name_words(column)
                    if len(whole) < 2 or (self.subject, column) in condition_columns \
                            or any(a.table == self.subject and a.column == column for a in reading.asked):
                        continue
                    hit = w.find(whole, free_only=False)
                    if hit is not None and any(i not in w.used for i in hit) and tokens[hit[-1]] not in ("number",):
                        reading.asked.append(Asked(self.subject, column, "key"))
                        w.used.update(hit)
            if reading.aggregate == "list" and not reading.conditions and "all" not in self.said and top is None:
                reading.problems.append("a list with no condition")
            if group is not None:
                if not self.reaches(self.subject, group.table):
                    reading.problems.append(f"{self.subject} rows do not point to {group.table}")
                if group.kind == "label" and group.table == self.subject:  # "the average platforms per station": no group
                    reading.problems.append(f"one group per {self.subject} row")
                reading.group = group
        elif self.subject and reading.aggregate == "lookup":
            if self.value_spans or self.bounds:
                reading.problems.append("a lookup with a condition")
        if reading.aggregate in ("lookup", "sum", "avg", "min", "max") and self.subject and not reading.asked:
            reading.problems.append(f"the question asks for no column of {self.subject}")
        if group_word is not None and reading.group is None and not reading.problems:
            reading.problems.append(f"the group '{tokens[group_word]} ...' fits no column of {self.subject or 'the rows'}")

    def _order(self) -> None:
        """The label's and the table's own words; the most counted group's order; the order asked."""
        reading, w, tokens, subject = self.reading, self.w, self.tokens, self.subject
        most = self.most
        if subject and reading.aggregate in ("list", "lookup", "count", "sum", "avg", "min", "max"):
            label = self.tables[subject].label
            # the label's own words, "name" included ("the names ... of the lakes": lake_name)
            own = label_words(label.columns) if label.own else []
            derived = self.table_words.get(subject, [])
            for i, tok in enumerate(tokens):
                if i in w.used:
                    continue
                # "the titles of the publications": the label's own word; "publications published": the table's
                if (reading.aggregate in ("list", "lookup") and any(w.says(i, c) for c in own)) \
                        or (len(tok) >= 5 and any(len(d) >= 5 and tok[:5] == d[:5] for d in derived)):
                    w.used.add(i)
            if most is not None and reading.group is not None:
                highest = tokens[most[1]] in DESCENDING_WORDS | MOST_WORDS
                if not highest:  # a group with no rows at all is not counted from them
                    reading.problems.append(f"the {tokens[most[1]]} {subject}: a {reading.group.table} with none is not counted")
                reading.order, reading.limit = f"value {'desc' if highest else 'asc'}", 1
                if tokens[0] in ("what", "which") and reading.group.kind == "label":  # "the name of the instructor"
                    named = label_words(reading.group.column.split("+"))
                    w.used.update(i for i, _ in enumerate(tokens) if i not in w.used and any(w.says(i, c) for c in named))
            _read_order(reading, tokens, w, self.words_of)

    def _described(self) -> None:
        """Words the data's own descriptions say, dimensions and units said again, a second sentence."""
        reading, w, tokens, tables = self.reading, self.w, self.tokens, self.tables
        # words the data's own description of a column the reading uses says ("metres above sea level"
        # of elevation_m, "passengers entering and leaving per day" of daily_footfall): read, by that column
        if self.subject:
            read_columns = [(a.table, a.column) for a in reading.asked] + [(c.table, c.column) for c in reading.conditions]
            if reading.group is not None:
                read_columns.append((reading.group.table, reading.group.column))
            described = [w_ for t, c in read_columns if t in tables for part in c.split("+")
                         for w_ in comment_words(tables[t].comments.get(part, ""))]
            # a value of the data is a condition, never a description ("NULL when cancelled")
            held = {x for tp in tables.values() for cat in tp.categories for v in cat.values if isinstance(v, str)
                    for x in re.findall(r"[a-z]+", v.lower())}
            for i, tok in enumerate(tokens):
                if i not in w.used and tok not in FUNCTION_WORDS and tok not in held \
                        and any(same_word(tok, d) for d in described):
                    w.used.add(i)

        # "How many kilometres long is ...": the dimension the asked column measures, said again
        for i, tok in enumerate(tokens):
            if i not in w.used and tok in DIMENSIONS and any(
                    same_word(DIMENSIONS[tok], c) for a in reading.asked for c in self.words_of(a.column)):
                w.used.add(i)
        # "in metres" after a value asked: the unit the asked column is held in
        for i in range(len(tokens) - 1):
            if tokens[i] == "in" and tokens[i + 1] in QUANTITY_UNITS and i + 1 not in w.used and reading.asked:
                a = reading.asked[0]
                if a.table in tables and _unit(tables[a.table], a.column) == QUANTITY_UNITS[tokens[i + 1]]:
                    w.used.add(i + 1)
        # a second sentence that asks again for what the first one read ("What are the top 5 cities with the
        # highest population? Give both city names and the population."): the same word, read already
        sentence = sentence_of_tokens(self.question, len(tokens))
        read_before = {(singular(tokens[i]), sentence[i]) for i in w.used}
        for i, tok in enumerate(tokens):
            if i not in w.used and tok not in FUNCTION_WORDS and sentence[i] > 0 \
                    and any(word == singular(tok) and at < sentence[i] for word, at in read_before):
                w.used.add(i)

    def _unread(self) -> None:
        """The content words left: each one stops the reading."""
        reading, w, lexicon = self.reading, self.w, self.lexicon
        # the database's own name ("the railway" of railway.sqlite) names where the data sits, not a fact
        named_db = set(re.findall(r"[a-z0-9]+", re.sub(r"\.[a-z0-9]+$", "", re.split(r"[/\\:]", self.profile.database.lower())[-1])))
        skip = FUNCTION_WORDS | DATA_WORDS | named_db | (lexicon.known_words if lexicon is not None else frozenset())
        for i, tok in enumerate(self.tokens):
            if tok in TURNING_WORDS and i not in w.used:  # "not", "or", "except": they change which rows, and no condition says so
                reading.unread.append(tok)
                continue
            if i in w.used or tok in skip or tok in ("many", "much", "there", "get", "return", "display", "provide",
                                                     "overall"):
                continue
            if tok in LIGHT_VERBS and reading.subject and not any(c.kind == "date" or "year" in self.words_of(c.column)
                                                                    for c in reading.conditions):
                continue  # "Which stations see more than 5,000 passengers a day?": its object says what; not beside a date
            if reading.subject and _names_what_is_read(tok, reading, self.words_of):
                continue  # "Which driver drove the most journeys?": "drove" is what a driver does
            if tok in LINKING_VERBS and reading.subject and (reading.asked or reading.group) \
                    and all(c.kind == "label" for c in reading.conditions):
                # "At which depot is unit 31105 kept?", "How many units are kept at each depot?": the verb
                # places the subject at what the question asks or groups by. Beside a value it stays unread:
                # "actors who lived in Paris" is not "born in Paris" because Paris is a value of birth_city
                continue
            reading.unread.append(tok)
        if self.unmeant:  # a meaning said for no place where columns fit alike: not applied, so no answer
            reading.problems.append("the question means " + " and ".join(sorted(self.unmeant)) + ", which fits no place it reads")

    def chosen(self, place: str, options: list[tuple[Asked, list[int]]]) -> tuple[Asked, list[int]] | None:
        """One of columns that fit alike, if the caller chose it (``choose``, or the question's
        "(meaning: table.column)"); the place is kept either way."""
        reading = self.reading
        distinct = list({(a.table, a.column): (a, h) for a, h in options}.values())
        names = [f"{a.table}.{a.column}" for a, _ in distinct]
        reading.choices.append((place, names))
        k = self.forced.get(place)
        if k is None and (said := [n for n in names if n in self.unmeant]):
            k = names.index(said[0]) if len(said) == 1 else None
            self.unmeant.difference_update(said)
        if k is not None and 0 <= k < len(distinct):
            reading.chosen[place] = names[k]
            return distinct[k]
        return None

    def text_columns(self, table: str) -> list[str]:
        tp = self.tables[table]
        described = {m.column for m in tp.measures} | {c.column for c in tp.categories} | set(tp.dates) \
            | set(tp.keys) | set(tp.label.columns if tp.label.own else ())
        return [c for c in self.columns.get(table, []) if c not in described]

    def words_of(self, name: str) -> list[str]:
        return schema_words(name, self.units)

    def token_span(self, start: int, end: int) -> tuple[int, int]:
        lowered = self.lowered
        before = len(question_tokens(lowered[:start]))
        return before, before + len(question_tokens(lowered[start:end]))

    def unit_after(self, end: int) -> tuple[str, int]:
        nxt = re.match(r"\s*([a-z]+)", self.lowered[end:])
        if nxt and nxt.group(1) in QUANTITY_UNITS:
            return QUANTITY_UNITS[nxt.group(1)], end + nxt.end()
        return "", end

    # 5. the group: each/every/per/by + a column of a table or a table (its label)
    def resolve_group(self, i: int) -> tuple[list[Asked], list[int]]:
        w, tokens, tables = self.w, self.tokens, self.tables
        j = i + 1
        while j < len(tokens) and tokens[j] in FUNCTION_WORDS:
            j += 1
        found: list[tuple[Asked, list[int]]] = []
        for table, tp in tables.items():
            listed = [(c.column, "category") for c in tp.categories] + [(m.column, "measure") for m in tp.measures] \
                + [(d, "date") for d in tp.dates] + [(c, "text") for c in self.text_columns(table)] \
                + [(c, "label") for c in tp.label.columns if tp.label.own]
            for column, kind in listed:
                cw = self.words_of(column)
                if cw and j < len(tokens) and any(w.says(j, c) for c in cw):
                    rest = [c for c in cw if not w.says(j, c)]
                    others = w.find(rest) if rest else []
                    if others is not None:
                        found.append((Asked(table, column, kind), [j, *others]))
            ws = self.table_words[table]
            spans = [sp for sp in w.span(ws) if sp[0] == j] if ws else []
            if tp.label.own and (spans or (len(ws) == 1 and j < len(tokens) and w.says(j, ws[0]))):
                found.append((Asked(table, "+".join(tp.label.columns), "label"), list(range(*spans[0])) if spans else [j]))
            for fk in tp.foreign_keys:
                if len(fk.columns) == 1 and fk.table in tables and tables[fk.table].label.own:
                    cw = self.words_of(fk.columns[0])
                    if cw and j < len(tokens) and w.says(j, cw[-1]) and (len(cw) == 1 or w.find(cw[:-1]) is not None):
                        found.append((Asked(fk.table, "+".join(tables[fk.table].label.columns), "label"), [j]))
        # "for each business id": the key the rows point to a business by, not the business's name
        labelled = {a.table for a, _ in found if a.kind == "label"}
        after = max((h[-1] for _, h in found), default=j) + 1
        if len({(a.table, a.column) for a, _ in found}) == 1 and labelled and after < len(tokens) \
                and tokens[after] in ("id", "ids"):
            target = labelled.pop()
            keys = {fk.their_columns[0] for tp in tables.values() for fk in tp.foreign_keys
                    if fk.table == target and len(fk.columns) == 1}
            if len(keys) == 1:
                return [Asked(target, keys.pop(), "key")], [*found[0][1], after]
        return [a for a, _ in found], (found[0][1] if found else [])

    def reaches(self, table: str, other: str) -> bool:
        return table == other or other in self.tables[table].paths

    def conditions_from_values(self, subject: str) -> list[Condition] | None:
        w = self.w
        found = []
        for span, hits in self.value_spans.items():
            fit = [h for h in hits if self.reaches(subject, h[0])]
            via = ""
            if not fit:  # "the businesses in the Pizza category": a value of rows that point to the subject's
                fit = [h for h in hits if _one_back(self.tables, h[0], subject)]
                via = fit[0][0] if len({(h[0], h[1]) for h in fit}) == 1 else ""
            if len({(h[0], h[1]) for h in fit}) != 1:
                if len(fit) > 1:
                    self.reading.problems.append(f"'{' '.join(self.tokens[span[0]:span[1]])}' is a value of "
                                            + " and ".join(f"{h[0]}.{h[1]}" for h in fit))
                return None
            table, column, value, _ = fit[0]
            found.append(Condition(table, column, "=", value, via=via))
            hit = w.find(self.words_of(column))  # "in the Highlands region": the column's own word
            if hit is None and via:  # "in the Pizza category": the table's own word (category.category_name)
                hit = w.find(self.words_of(via))
            if hit is not None:
                w.used.update(hit)
        return found

    def bound_conditions(self, subject: str) -> list[Condition] | None:
        w, tokens, tables = self.w, self.tokens, self.tables
        found = []
        for op, value, (s, e), unit in self.bounds:
            options: list[tuple[Asked, list[int]]] = []
            for a, hit in self.column_hits:
                if not self.reaches(subject, a.table) or a.kind not in ("measure", "date"):
                    continue
                options.append((a, hit))
            # "longer than 60 km": the comparative names the dimension; "60 km": the unit names the column
            dimensions = [DIMENSIONS[t] for t in tokens[s:e] if t in DIMENSIONS]
            for table in [subject, *tables[subject].paths]:
                for m in tables[table].measures:
                    if any(measures_dimension(d, c) for d in dimensions for c in self.words_of(m.column)):
                        options.append((Asked(table, m.column, "measure"), []))
                    if unit and m.unit == unit:
                        options.append((Asked(table, m.column, "measure"), []))
                    # "more than 5,000 passengers a day": words after the number that the column's own
                    # comment says ("average passengers entering and leaving per day")
                    described = comment_words(tables[table].comments.get(m.column, ""))
                    said_after = [i for i in range(e, min(e + 4, len(tokens))) if i not in w.used
                                  and tokens[i] not in FUNCTION_WORDS and any(same_word(tokens[i], d) for d in described)]
                    if said_after:
                        options.append((Asked(table, m.column, "measure"), said_after))
            year_like = value.is_integer() and 1800 <= value <= 2100
            if op == "year" or (year_like and not options):
                # "in the year 2020", "from 2015 to 2019", no column said: a date, or a column named a year
                for table in [subject, *tables[subject].paths]:
                    options += [(Asked(table, d, "date"), []) for d in tables[table].dates]
                    options += [(Asked(table, m.column, "measure"), []) for m in tables[table].measures
                                if "year" in self.words_of(m.column)]
            if op in (">=", "<=", ">", "<") and year_like and any(a.kind == "date" for a, _ in options):
                op = {">=": "from", "<=": "through", ">": "after", "<": "before"}[op]  # "between 1900 and 1950" on a date
            if op in ("year", "from", "through") or (year_like and op in ("after", "before")):
                options = [(a, h) for a, h in options if a.kind == "date" or "year" in self.words_of(a.column)]
            elif op in ("after", "before"):
                return None
            else:
                options = [(a, h) for a, h in options if a.kind == "measure"]
            if unit:
                options = [(a, h) for a, h in options
                           if _unit(tables[a.table], a.column) in (unit, "")] or options
            # the column said next to the bound: after the number, or just before the bound
            near = [(a, h) for a, h in options if not h or any(e <= i <= e + 3 or s - 4 <= i < s for i in h)]
            if len({(a.table, a.column) for a, _ in near}) > 1:  # said by name and by unit or dimension: the one said most ways
                said_ways = {(a.table, a.column): sum(1 for b, _ in near if b == a) for a, _ in near}
                top = max(said_ways.values())
                near = [(a, h) for a, h in near if said_ways[(a.table, a.column)] == top]
                near = [(a, h) for a, h in near if h] or near
            if unit and not near:
                near = [(a, h) for a, h in options if _unit(tables[a.table], a.column) == unit]
            if len({(a.table, a.column) for a, _ in near}) != 1:
                picked = self.chosen(f"bound at '{tokens[s]}'", near) if len(near) > 1 else None
                if picked is None:
                    if len(near) > 1:
                        self.reading.problems.append(f"the bound at '{tokens[s]}' fits "
                                                + " and ".join(f"{a.table}.{a.column}" for a, _ in near))
                    return None
                near = [picked]
            a, hit = near[0]
            w.used.update(hit)
            if unit:
                w.used.update(i for i in range(s, e))
            kind = "date" if a.kind == "date" else "value"
            if op == "year":
                if kind == "date":
                    found += [Condition(a.table, a.column, ">=", f"{int(value)}", kind),
                              Condition(a.table, a.column, "<", f"{int(value) + 1}", kind)]
                else:
                    found.append(Condition(a.table, a.column, "=", int(value)))
            elif op == "from" and kind == "date":
                found.append(Condition(a.table, a.column, ">=", f"{int(value)}", kind))
            elif op == "through" and kind == "date":
                found.append(Condition(a.table, a.column, "<", f"{int(value) + 1}", kind))
            elif op in ("from", "through"):
                found.append(Condition(a.table, a.column, ">=" if op == "from" else "<=", int(value)))
            elif op == "after":
                found.append(Condition(a.table, a.column, ">=", f"{int(value) + 1}", kind) if kind == "date"
                             else Condition(a.table, a.column, ">", int(value)))
            elif op == "before":
                found.append(Condition(a.table, a.column, "<", f"{int(value)}", kind) if kind == "date"
                             else Condition(a.table, a.column, "<", int(value)))
            else:
                number = int(value) if value.is_integer() else value
                found.append(Condition(a.table, a.column, op, f"{number}" if kind == "date" else number, kind))
        return found



def _names_what_is_read(token: str, reading: QuestionReading, words_of) -> bool:
    """``token`` is a verb from which English derives a noun (WordNet: "drove" a driver, "taught" a
    teacher or instructor, "enrolled" an enrollment) that names a table or a column the reading uses."""
    from lemminflect import getAllLemmas

    from agentmesh.answering.derivation import derived_nouns

    verbs = getAllLemmas(token).get("VERB", ()) if token.isalpha() and len(token) >= 3 else ()
    nouns = {n for v in verbs for n in derived_nouns(v.lower()) if " " not in n}
    if not nouns:
        return False
    names = {reading.subject, *(e.table for e in reading.entities)}
    for a in [*reading.asked, *([reading.group] if reading.group is not None else [])]:
        names.update((a.table, a.column, a.target))
    for c in reading.conditions:
        names.update((c.table, c.column, c.via))
    said = {w for name in names if name for part in name.split("+") for w in words_of(part)}
    return any(same_word(n, w) for n in nouns for w in said)


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


def _one_back(tables: dict, table: str, subject: str) -> bool:
    """``table``'s rows point to ``subject``'s by exactly one single-column key (``category`` rows
    name a business's categories): a value of theirs is a condition on the subject through them."""
    return table != subject and sum(1 for fk in tables[table].foreign_keys
                                    if fk.table == subject and len(fk.columns) == 1) == 1


def _untied(tables: dict, candidates: list[str], entity_tables: set[str]) -> list[str]:
    """``candidates`` less the link tables that tie one of them to a named row's table ("How many
    papers has Michael Brown written?": ``writes``, named by its verb, is the tie, not the rows asked)."""
    tying = {link for e in entity_tables for t in candidates for link in _links(tables, t, e)}
    return [t for t in candidates if t not in tying] or candidates


def _links(tables: dict, subject: str, other: str) -> list[str]:
    """The tables whose rows point to ``subject``'s rows by one key and reach ``other``'s: the
    link tables of a many-to-many tie (``line_stops`` between stations and lines)."""
    return [t for t, tp in tables.items() if t not in (subject, other)
            and sum(1 for fk in tp.foreign_keys if fk.table == subject and len(fk.columns) == 1) == 1
            and other in tp.paths]


def _lists_rows_of(tokens: list[str], named: dict[str, list[int]], entity_tables: set[str], tables: dict,
                   columns: dict[str, list[str]]) -> bool:
    """"Which drivers have Castelmoor Central as their home station?": the table named right after
    the question word points to the named row's table (a list of its rows), rather than being
    pointed to by it (a lookup: "Which train class is unit 70602?")."""
    if not tokens or tokens[0] not in LIST_STARTS:
        return False
    first = _untied(tables, [t for t in named if t not in entity_tables], entity_tables)
    if len(first) != 1:
        return False

    def holds(subject: str, other: str) -> bool:  # through a key or a link table, or a column of the same name as its label
        label = tables[other].label.columns
        return other in tables[subject].paths or bool(_links(tables, subject, other)) or (
            len(label) == 1 and label[0].lower() in {c.lower() for c in columns.get(subject, [])})
    return all(holds(first[0], e) for e in entity_tables)


def _most_counted(tokens: list[str], named_tables: dict[str, list[int]], w: "QuestionWords") -> tuple[str, int] | None:
    """(the table counted, the superlative's token) of "the most publications", "the largest number
    of courses", "the fewest stops": a ranking word, "number of" after one that is not a count word
    itself, then the words of one table; marks them read."""
    for k, tok in enumerate(tokens):
        if k in w.used or not (tok in COUNT_RANKING_WORDS or tok in MAX_WORDS | MIN_WORDS):
            continue
        j = k + 1
        if tokens[j:j + 2] == ["number", "of"]:
            j += 2
        elif tok not in COUNT_RANKING_WORDS:
            continue
        while j < len(tokens) and tokens[j] in FUNCTION_WORDS:
            j += 1
        counted = [t for t, hits in named_tables.items() if j in hits]
        if len(counted) == 1:
            w.used.update(range(k, j))
            w.used.update(named_tables[counted[0]])
            return counted[0], k
    return None


def _read_order(reading: QuestionReading, tokens: list[str], w: QuestionWords, words_of) -> None:
    """"ordered by the number of publications in descending order", "sorted alphabetically",
    "ordered from highest to lowest": the order of the rows, on the group, the label or the value."""
    start = next((i for i, t in enumerate(tokens) if t in ORDER_WORDS and i not in w.used), None)
    if start is None:
        return
    if reading.order:  # set by "the top 5 ... highest": a second order would contradict it
        reading.problems.append("two orders")
        return
    key, direction, used = "", "", {start}
    i = start + 1
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("by", "in", "the", "from", "to", "of", "order", "sort", "a", "an"):
            used.add(i)
        elif tok in ORDER_DIRECTIONS:
            direction = direction or ORDER_DIRECTIONS[tok]
            key = key or ("label" if tok.startswith("alphabet") else "")
            used.add(i)
        elif tok in MAX_WORDS | MIN_WORDS:
            direction = direction or ("desc" if tok in MAX_WORDS else "asc")
            used.add(i)
        elif tok in ("number", "count", "total") and reading.aggregate in ("count", "sum"):
            key = "value"
            used.add(i)
        elif reading.group is not None and any(w.says(i, c) for c in words_of(reading.group.column) + words_of(reading.group.table)):
            key = key or "group"
            used.add(i)
        elif reading.asked and any(w.says(i, c) for c in words_of(reading.asked[0].column)):
            key = key or "value"
            used.add(i)
        elif reading.subject and any(w.says(i, c) for c in words_of(reading.subject)) and key == "value":
            used.add(i)
        else:
            break
        i += 1
    if not key:
        key = "value" if reading.aggregate in ("count", "sum", "avg", "min", "max") or reading.asked else "label"
    reading.order = f"{key} {direction or 'asc'}"
    w.used.update(used)


def _unit(tp, column: str) -> str:
    return next((m.unit for m in tp.measures if m.column == column), "")


def _fullest(hits: list[tuple[Asked, list[int]]]) -> list[tuple[Asked, list[int]]]:
    """The columns the question says with the most words ("active parameters" over "parameters")."""
    if not hits:
        return []
    top = max(len(h) for _, h in hits)
    return [(a, h) for a, h in hits if len(h) == top]


def _prefer(options: list[Asked], subjects: list[str], tables: dict) -> Asked | None:
    """Of several groups, the one on (or reached from) the one table the question names."""
    fit = [a for a in options if any(a.table == s or a.table in tables[s].paths for s in subjects)]
    own = [a for a in fit if a.table in subjects]
    columns = [a for a in own if a.kind != "label"]
    for pool in (columns, own, fit):
        if len({(a.table, a.column) for a in pool}) == 1:
            return pool[0]
    return None
