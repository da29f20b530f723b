"""``sql_rank``: the highest, lowest or count of a database's values, chosen from lists, never written.

A 135M model asked "Which model has the highest MMLU score?" writes
``SELECT * FROM model_id WHERE mmlu = 1000000...``: the SQL does not parse, or asks for a table
that does not exist. Asked instead to choose ``measure="highest mmlu"`` and ``where="all"`` from
two lists (JSON-schema enums, so a grammar-constrained model cannot write anything else), it
only has to read the question. The tool builds the query itself, through SQLAlchemy, with the
label of each row (the data profile's: a name column, a first and last name, or the name of
the row a foreign key points to; :mod:`agentmesh.answering.profile`), and runs
it on the same read-only database as ``sql``.

The lists come from the schema when the tool is made: every numeric column that is not a key
is "highest X" and "lowest X"; every table is "count X"; every column holding only 0 and 1
(``open_weights``) is a filter, as itself and as "not X", on its own table and on tables that
point to it.

A question may also set *conditions* ("Which Apache-2.0 model with at least 32K context has the
best MMLU score?"): a name from a labelled table the ranked rows point to, directly or through
another table (``licenses = Apache 2.0``, reached benchmarks -> models -> licenses), and a bound
on a numeric column (``context_window >= 32000``: "at least 32K" holds for 32,000 and 32,768).
They are read from the question when the lists are narrowed to it, and the guard refuses a
call that drops one or adds one: the best MMLU score of all models is not the answer.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal, Sequence

import sqlalchemy as sa
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import Field, create_model

from agentmesh.english import (COMPARISON_WORDS, COUNT_WORDS, DATA_WORDS, FUNCTION_WORDS, GROUPING_WORDS,
                                         HIGH_WORDS, LOW_WORDS, NEGATION_WORDS, UNITS, VERBS)
from agentmesh.answering.lexicon import Lexicon
from agentmesh.answering.names import whole_name
from agentmesh.answering.numbers import COLUMN_SCALE, number_values
from agentmesh.answering.questions import first_ask
from agentmesh.records import Citation
from agentmesh.answering.label_index import LabelIndex, label_expression
from agentmesh.tools.sql import SQLDatabase, render_rows

__all__ = ["make_sql_rank_tool", "RankPlan", "rank_plan", "mismatch", "narrowed", "ranked_part", "conditions_of"]

NUMERIC = ("INT", "REAL", "FLOAT", "DOUBLE", "NUMERIC", "DECIMAL")
MAX_HOPS = 2
"""Conditions and filters reach tables this many foreign keys away (benchmarks -> models -> licenses)."""


@dataclass(frozen=True)
class _Measure:
    kind: Literal["highest", "lowest", "count"]
    table: str
    column: str = ""


@dataclass(frozen=True)
class _Filter:
    table: str
    column: str
    value: int
    op: Literal["="] = "="

    @property
    def said(self) -> str:
        """As a count's header and a row's "where" say it: "open_weights", "no open_weights"."""
        return f"{'no ' if self.value == 0 else ''}{self.column}"


@dataclass(frozen=True)
class _Condition:
    """``table.column op value``: a name of a labelled table ("licenses = Apache 2.0") or a bound
    on a numeric column ("context_window >= 32000"). ``name`` is how the lists show it."""

    table: str
    column: str
    op: Literal["=", ">=", "<=", ">", "<"]
    value: Any
    name: str


@dataclass
class RankPlan:
    """What the tool offers for one database: measures and filters by their names in the lists,
    each table's label (its own columns, or (fk column, other table, its key, its label columns));
    label columns are joined by "+" ("FirstName+LastName": a name in parts)."""

    measures: dict[str, _Measure]
    filters: dict[str, _Filter]
    labels: dict[str, tuple[str, ...]]
    links: dict[str, dict[str, tuple[str, str]]]
    """table -> other table -> (this table's column, the other's column) of a foreign key."""
    tables: dict[str, sa.TableClause]
    names: dict[str, _Condition] = field(default_factory=dict)
    """Name conditions by their names in the lists ("licenses = Apache 2.0")."""
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Numeric columns a bound can be set on, by their names in the lists -> (table, column)."""
    paths: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    """table -> a table it points to, directly or through others -> the tables on the way (it last)."""
    known_words: frozenset[str] = frozenset()
    """The lexicon's words that restrict no rows in this domain."""
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The lexicon's synonyms: a word people say -> the schema's words it means."""
    units: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The lexicon's units: an abbreviation in column names -> how people say it (``tok``: tokens)."""
    generic_words: frozenset[str] = frozenset()
    """The lexicon's words for the kind of thing the rows are ("model"): a noun, like the tables' own."""
    index: LabelIndex | None = None
    """The label values by their words (the data profile's): a question's names are looked up, not searched for."""
    better: dict[str, str] = field(default_factory=dict)
    """The lexicon's [better]: a column -> "higher" or "lower", its best values."""

    def usable(self, measure: _Measure, where: _Filter | _Condition) -> bool:
        """The filter's column is on the measure's table or on a table it points to (through at
        most two foreign keys): each measured row meets one row of it, so a join neither repeats
        nor drops rows."""
        return where.table == measure.table or where.table in self.paths.get(measure.table, {})

    def named_in(self, question: str) -> list[_Condition]:
        """The name conditions whose name ``question`` says whole: the index gives the names whose
        words it says, however many names there are, and each is then checked whole."""
        folded = _fold(question)
        if self.index is None:
            candidates = list(self.names.values())
        else:
            candidates = [c for t, v in self.index.candidates(question) if (c := self.names.get(f"{t} = {v}"))]
        return [c for c in candidates if _whole(_fold(str(c.value))).search(folded)]

    def labelled_by(self, measure: _Measure) -> str:
        """The table whose label names the measured rows (``models`` for ``benchmarks``)."""
        label = self.labels.get(measure.table, ())
        return label[1] if len(label) == 4 else measure.table

    def condition(self, name: str) -> _Condition:
        """The condition a list entry names; bounds are read as written ("context_window >= 32000")."""
        if name in self.names:
            return self.names[name]
        match = re.fullmatch(r"(?P<column>\S+) (?P<op>>=|<=|>|<) (?P<value>-?\d+(?:\.\d+)?)", name.strip())
        if match is None or match["column"] not in self.columns:
            raise ValueError(f"unknown condition {name!r}: give 'table = name' with a name the table holds, "
                             f"or 'column >= number' (or >, <, <=) on one of: {', '.join(self.columns)}")
        table, column = self.columns[match["column"]]
        value = float(match["value"])
        return _Condition(table, column, match["op"], int(value) if value.is_integer() else value, name.strip())


def rank_plan(db: SQLDatabase, lexicon: Lexicon | None = None) -> RankPlan:
    """Read the schema (and which integer columns hold only 0 and 1) once; ``lexicon`` adds the
    domain's words the schema cannot say."""
    measures: dict[str, _Measure] = {}
    filters: dict[str, _Filter] = {}
    labels: dict[str, tuple[str, ...]] = {}
    links: dict[str, dict[str, tuple[str, str]]] = {}
    tables: dict[str, sa.TableClause] = {}
    numeric: list[tuple[str, str]] = []
    with db.engine.connect() as conn:
        described = db.described  # read when the database was opened
        for table, (columns, pk, fks) in described.items():
            tables[table] = sa.table(table, *(sa.column(n) for n, _ in columns))
            keys = pk | {c for own, _, _ in fks for c in own}
            label = db.profile.label(table)  # found from the data, or set in the lexicon
            labels[table] = ("+".join(label.columns),) if label.own else ()
            for own, other, theirs in fks:
                if len(own) == 1:
                    links.setdefault(table, {})[other] = (own[0], theirs[0])
            for name, kind in columns:
                if name in keys or not any(k in kind.upper() for k in NUMERIC):
                    continue
                column = tables[table].c[name]
                values = {v for (v,) in conn.execute(sa.select(column).distinct().limit(3))}
                if values and values <= {0, 1}:
                    filters[name] = _Filter(table, name, 1)
                    filters[f"not {name}"] = _Filter(table, name, 0)
                else:
                    numeric.append((table, name))
        conn.rollback()
    named: dict[str, _Condition] = {}
    for table, (label, values) in db.labels.items():  # the names of labelled tables, as conditions (all of them)
        column = "+".join(label)
        named.update({f"{table} = {v}": _Condition(table, column, "=", v, f"{table} = {v}") for v in values})
    # tables reached through foreign keys, each by one shortest way (ambiguous ones left out): the profile's
    paths = {t: {o: tuple(w) for o, w in db.profile.tables[t].paths.items()} if t in db.profile.tables else {}
             for t in db.tables}
    for table in db.tables:  # a table without a name of its own is labelled through its foreign key
        label = db.profile.label(table)
        if not labels[table] and label.via and len(labels.get(label.via[1], ())) == 1 \
                and label.via[1] in paths.get(table, {}):
            own, other, theirs = label.via
            labels[table] = (own, other, theirs, labels[other][0])
    repeated = {c for _, c in numeric if sum(1 for _, d in numeric if d == c) > 1}
    columns: dict[str, tuple[str, str]] = {}
    for table, name in numeric:
        shown = f"{table}.{name}" if name in repeated else name
        columns[shown] = (table, name)
        measures[f"highest {shown}"] = _Measure("highest", table, name)
        measures[f"lowest {shown}"] = _Measure("lowest", table, name)
    for table in db.tables:
        measures[f"count {table}"] = _Measure("count", table)
    lexicon = lexicon or Lexicon()
    return RankPlan(measures, filters, labels, links, tables, named, columns, paths, known_words=lexicon.known_words,
                    synonyms=lexicon.synonyms, units=lexicon.units, generic_words=lexicon.generic_words,
                    index=db.label_index, better=dict(lexicon.better))


@lru_cache(maxsize=4096)
def _whole(name: str) -> re.Pattern[str]:
    return whole_name(name)


def _value(clause: sa.TableClause, column: str) -> Any:
    """A column, or a label in parts ("FirstName+LastName") as the one text that names the row."""
    return label_expression(clause, column.split("+")) if "+" in column else clause.c[column]


def _query(plan: RankPlan, measure: _Measure, where: _Filter | None, conditions: Sequence[_Condition] = ()) -> sa.Select:
    """The statement: label and value of the top rows, or a count, on the rows that meet ``where``
    and every one of ``conditions``."""
    table = plan.tables[measure.table]
    joins: dict[str, Any] = {}

    def pointed(name: str) -> sa.TableClause:
        """``name``, joined through the measure table's foreign keys on the way to it."""
        if name == measure.table:
            return table
        previous = measure.table
        for step in plan.paths[measure.table][name]:
            if step not in joins:
                own, theirs = plan.links[previous][step]
                joins[step] = plan.tables[previous].c[own] == plan.tables[step].c[theirs]
            previous = step
        return plan.tables[name]

    tests = []
    for kept in ([where] if where is not None else []) + list(conditions):
        if not plan.usable(measure, kept):
            raise ValueError(f"'{kept.column}' is not a column of {measure.table} or of a table it points to")
        tests.append(_COMPARE[kept.op](_value(pointed(kept.table), kept.column), kept.value))
    condition = sa.and_(*tests) if tests else None
    if measure.kind == "count":
        said = ([where.said] if where else []) + [c.name for c in conditions]
        counted = f"count of {measure.table}" + (f" with {', '.join(said)}" if said else "")
        statement = sa.select(sa.func.count().label(counted))
    else:
        value = table.c[measure.column]
        label = plan.labels.get(measure.table, ())
        shown = _value(table, label[0]) if len(label) == 1 else _value(pointed(label[1]), label[3]) if label else None
        if shown is not None and "+" in (label[0] if len(label) == 1 else label[3]):
            shown = shown.label(" ".join((label[0] if len(label) == 1 else label[3]).split("+")))
        statement = sa.select(*([shown] if shown is not None else []), value)
    from_: Any = table
    for name, on in joins.items():
        from_ = from_.join(plan.tables[name], on)
    if condition is not None:
        statement = statement.where(condition)
    if measure.kind != "count":
        # only the top value's rows (all of them, when tied): the answer, and nothing a model could pick instead
        extreme = (sa.func.max if measure.kind == "highest" else sa.func.min)(value)
        best = sa.select(extreme).select_from(from_)
        if condition is not None:
            best = best.where(condition)
        statement = statement.where(value == best.scalar_subquery())
    return statement.select_from(from_)


def make_sql_rank_tool(db: SQLDatabase, *, name: str = "sql_rank", plan: RankPlan | None = None,
                       measures: list[str] | None = None, wheres: list[str] | None = None,
                       conditions: list[str] | None = None, lexicon: Lexicon | None = None) -> BaseTool:
    """The tool over ``db``. ``measures``, ``wheres`` and ``conditions`` narrow its lists (see
    :func:`narrowed`); narrowed ``conditions`` are the ones a question sets, all required."""
    plan = plan or rank_plan(db, lexicon)
    measures = measures or list(plan.measures)
    wheres = wheres or ["all", *plan.filters]

    def sql_rank(measure: str, where: str = "all", conditions: list[str] | None = None) -> tuple[str, list[dict]]:
        chosen = plan.measures.get(measure)
        if chosen is None:
            raise ValueError(f"unknown measure {measure!r}; choose one of: {', '.join(measures)}")
        condition = None if where in ("", "all") else plan.filters.get(where)
        if where not in ("", "all") and condition is None:
            raise ValueError(f"unknown filter {where!r}; choose one of: {', '.join(wheres)}")
        statement = _query(plan, chosen, condition, [plan.condition(c) for c in dict.fromkeys(conditions or [])])
        sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
        columns, rows, truncated = db.query(sql)
        citation = Citation(kind="sql", ref=db.display, detail=sql)
        return render_rows(columns, rows, truncated, db.row_limit), [citation.model_dump()]

    fields: dict[str, Any] = {
        "measure": (Literal[tuple(measures)], Field(description="What to rank or count.")),  # type: ignore[valid-type]
        # required, "all" included: a small model's JSON wrapper keeps only required arguments
        "where": (Literal[tuple(wheres)], Field(description="Which rows: all, or those with a yes/no column set (or not).")),  # type: ignore[valid-type]
    }
    if conditions:  # the question's own: required, so that a call without them is never made
        fields["conditions"] = (list[Literal[tuple(conditions)]], Field(  # type: ignore[valid-type]
            description="The conditions the question sets on the rows: give every one."))
    elif conditions is None:
        fields["conditions"] = (list[str], Field(default_factory=list, description=(
            "Only the rows that meet each of these: 'table = name' (a name the table holds, as 'licenses = Apache 2.0'), "
            f"or 'column >= number' (or >, <, <=) on one of: {', '.join(plan.columns)}.")))
    return StructuredTool.from_function(
        sql_rank,
        name=name,
        description=(f"The highest, lowest (cheapest, smallest) or best value of a column in the database "
                     f"{db.name}, or how many rows there are: which one has the highest score, which is "
                     f"cheapest, how many there are, among all rows or those that meet conditions. Columns: "
                     f"{', '.join(sorted({m.column for m in plan.measures.values() if m.column}))}."),
        args_schema=create_model("SqlRankArgs", **fields),
        response_format="content_and_artifact",
        # the agent asks this before each call (graphs.middleware.QuestionGuard): true rows of
        # the wrong ranking would be a wrong answer with real evidence under it
        # answers: the top rows of the ranking the guard let through are what the question asks
        # (pick mode shows them without a model's pick)
        metadata={"rank_plan": plan, "answers": True, "guard": lambda question, args: mismatch(question, args, plan),
                  # each row is one of those that meet the call's filter and conditions ("developers = Meta AI")
                  "row_conditions": lambda args: _said_of_rows(plan, args),
                  "narrow": lru_cache(maxsize=256)(lambda question: narrowed(db, name, plan, question))},
    )


def _said_of_rows(plan: RankPlan, args: dict[str, Any]) -> list[str]:
    """What every row of a call's result meets: its yes/no filter and its conditions (a count's
    header says them already)."""
    measure = plan.measures.get(str(args.get("measure", "")))
    if measure is None or measure.kind == "count":
        return []
    where = plan.filters.get(str(args.get("where") or "all"))
    return list(dict.fromkeys(([where.said] if where is not None else []) + [str(c) for c in args.get("conditions") or []]))


LOW = frozenset("lowest least cheapest cheaper smallest smaller fewest worst minimum min shortest slowest".split())
HIGH = frozenset("highest most best largest biggest longest maximum max top greatest fastest priciest".split())
_CONDITION = re.compile(r"\b(?:at least|at most|more than|less than|fewer than|greater than|over|under|above|below|"
                        r"between|since|before|after)\s+\$?\d", re.IGNORECASE)
"""A condition on a value ("with at least 32K context"): read as a bound where it is one (below),
else ("between 7B and 70B", "since 2023") refused."""
_BOUND_OF = re.compile(
    r"\b(?P<op>no (?:more|less|fewer) than|at least|at most|more than|less than|fewer than|greater than|over|under|above|below)"
    r"\s+(?P<num>\$?\d[\d,]*(?:\.\d+)?(?:\s?(?:[kKmMbB]|thousand|million|billion)(?![A-Za-z]))?)", re.IGNORECASE)
_OPS = {"at least": ">=", "no less than": ">=", "no fewer than": ">=", "at most": "<=", "no more than": "<=",
        "more than": ">", "greater than": ">", "over": ">", "above": ">", "less than": "<", "fewer than": "<",
        "under": "<", "below": "<"}
_BELOW_TOP = re.compile(
    r"\b(?:(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)|next)[\s-]+(?:highest|lowest|best|worst|largest|smallest|"
    r"cheapest|priciest|most|least|longest|shortest|fastest|slowest|biggest|greatest|place|ranked)|runners?[- ]up|"
    r"top\s+(?:[2-9]|\d\d+|two|three|four|five|ten))\b", re.IGNORECASE)
"""A rank below the top, or several ("the second highest", "the top 3"): the tool gives the top value's rows only."""
_PER = re.compile(r"\bper\s+((?:[\w.-]+\s+){0,2}[\w.-]+)", re.IGNORECASE)
_SCALES_SAID = {"1m": ("million", "m"), "1k": ("thousand", "k"), "b": ("billion",), "s": ("second", "seconds", "sec")}
"""How a column's scale abbreviations are said (``input_per_1m_usd``: per million)."""


def _spelled(plan: "RankPlan") -> dict[str, tuple[str, ...]]:
    """How a column's abbreviations are said: scales, everyday units (english.UNITS: ``usd`` is
    dollars) and the domain's units (the lexicon's: ``throughput_tok_s`` is tokens per second)."""
    return {**{group: tuple(words) for group, words in UNITS.items()}, **_SCALES_SAID, **plan.units}
_COMPARE = {"=": operator.eq, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_BOUND = re.compile(r"\bat (?:least|most)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<![\w-])[A-Z][\w.+-]*")
"""A capitalised word after the first: a name ("Apache-2.0", "Mistral AI") the question filters on,
unless it names a column ("MMLU", "HumanEval")."""
NEGATIONS = frozenset("not non no without closed lack lacking".split())
KNOWN_WORDS = frozenset("""
a an the which what whose any all each every among of in on at by from with without to for per and or its their
one ones there that this these those how many much database data table listed available
""".split())
"""Words that may stand beside the ranked rows' noun without restricting them ("the models in the
database"); a domain adds its own in its lexicon file (``known_words``: "Which *hosted* model is
cheapest per 1M tokens?", where every priced model is hosted).
Any other word there ("Which multimodal model...", "models released in 2023") restricts the rows
in a way the lists cannot hold, and the ranking of all rows would answer another question."""
_POST_MODIFIERS = frozenset("""with without from by in on at under over above below of for that which who whose whom than
like unlike such similar except excluding including besides other apart outside within between before after since during
per near""".split())
_VERBS = VERBS
_UNIT_WORDS = frozenset({"b", "per", "s", "1m", "1k", "id"}) | frozenset(UNITS)
"""Words of a column's name that say its unit or scale, not what it measures; a domain's unit
abbreviations (the lexicon's ``units``) are read with the plan."""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))


def _named(column: str, question_words: list[str]) -> bool:
    """The question names the column: a word of it, or its first five letters ("params" in "parameters")."""
    wanted = [w for w in _words(column) if w not in _UNIT_WORDS and len(w) > 2]
    return any(q == w or (len(w) >= 5 and q.startswith(w[:5])) or (len(q) >= 5 and w.startswith(q[:5]))
               for w in wanted for q in question_words)


def _fully_named(column: str, question_words: list[str]) -> bool:
    """The question says every word of the column ("parameters" says params_b, not active_params_b)."""
    own = [w for w in _words(column) if w not in _UNIT_WORDS and len(w) > 2]
    return bool(own) and all(_named(w, question_words) for w in own)


@dataclass(frozen=True)
class _Reading:
    """What a question says, read once for every choice it is checked against."""

    refusal: str
    """A reason no choice fits it (a condition or a name the lists cannot hold), or ""."""
    words: list[str]
    said: frozenset[str]
    counting: bool
    conditions: tuple[_Condition, ...] = ()
    """The conditions it sets on the rows: names of labelled tables and bounds on numeric columns."""
    asked: tuple[str, ...] = ()
    """The words of its first ask, bounds taken out: each must be used by the call that answers it."""


_RANKED_OPERAND = re.compile(
    r"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)(?=,|\?|\.|$| and (?:who|which|what|when|where|how)\b)", re.IGNORECASE)
"""The two things a gap or a difference is between ("between GPT-4 and the best open-weight model")."""


def ranked_part(question: str) -> str:
    """The question without the named operand of a comparison whose other operand is a ranking
    ("the gap between GPT-4 and the best open-weight model" -> "the gap between and the best
    open-weight model"): the ranking is about that operand alone, so the name it sits beside is
    not a filter the lists leave out. The question as it is when it compares no such pair."""
    match = _RANKED_OPERAND.search(question)
    if match is None:
        return question
    ranked = [k for k in ("a", "b") if set(_words(match[k])) & (LOW | HIGH)]
    if len(ranked) != 1:
        return question
    named = "b" if ranked == ["a"] else "a"
    return question[:match.start(named)] + question[match.end(named):]


def _fold(text: str) -> str:
    """Lower case, with hyphens and underscores as spaces: "Apache-2.0" says "Apache 2.0"."""
    return re.sub(r"[\s_-]+", " ", text.lower()).strip()


def _bound(match: re.Match, question: str, plan: RankPlan) -> tuple[_Condition | str, tuple[int, int]]:
    """The bound ``match`` sets ("at least 32K context" -> context_window >= 32000), or why it
    cannot be read, and the span of the question that says it. The column is the one the words
    after the number name ("32K context"), or else the words before the bound ("a context window
    of at least 32K"): exactly one, the one with fewest words unsaid ("70B parameters" is
    params_b, not active_params_b)."""
    def columns_named(words: list[str]) -> list[str]:
        def score(shown: str) -> tuple[int, int]:
            own = [w for w in _words(shown) if w not in _UNIT_WORDS]
            said = sum(_named(w, words) for w in own)
            return (said, said - len(own))
        scored = [(score(shown), shown) for shown in plan.columns]
        top = max((n for n, _ in scored), default=(0, 0))
        return [shown for n, shown in scored if n[0] and n == top]

    tail = re.split(r"[,;?.!]", question[match.end():], maxsplit=1)[0]
    after = list(re.finditer(r"[A-Za-z0-9]+", tail))[:4]
    head = re.search(r"(?:\w+\W*){0,4}$", question[:match.start()])
    found = columns_named([w.group(0).lower() for w in after])
    if found:  # the bound says the words up to the last that names its column ("32K context", not "has the")
        last = max((w for w in after if any(_named(c, [w.group(0).lower()]) for c in _words(found[0]) if c not in _UNIT_WORDS)),
                   key=lambda w: w.end(), default=None)
        span = (match.start(), match.end() + (last.end() if last else 0))
    else:
        found = columns_named(_words(head.group(0) if head else ""))
        span = (head.start() if head else match.start(), match.end())
    said = match.group(0).strip()
    if len(found) != 1:
        return f"the question sets a condition the lists cannot hold ({said!r} names " + (
            f"{' and '.join(found)})" if found else "no column)"), span
    table, column = plan.columns[found[0]]
    number = match["num"].lstrip("$")
    (values, _), = number_values(number)
    op = _OPS[re.sub(r"\s+", " ", match["op"].lower())]
    # "at least 32K" holds for both readings of 32K (32,000 and 32,768); "more than 32K" for neither
    value = min(values) if op in (">=", "<") else max(values)
    scale = COLUMN_SCALE.get(column.rsplit("_", 1)[-1]) if "_" in column else None
    if scale and re.search(r"[a-z]\s*$", number, re.IGNORECASE):  # "70B" on params_b is 70
        value /= scale
    value = int(value) if float(value).is_integer() else round(value, 6)
    return _Condition(table, column, op, value, f"{found[0]} {op} {value}"), span  # type: ignore[arg-type]


def _read(question: str, plan: RankPlan) -> _Reading:
    said = question
    question = ranked_part(question)
    conditions: list[_Condition] = []
    refusal, rest, cut = "", question, 0
    for match in _BOUND_OF.finditer(question):
        bound, (start, end) = _bound(match, question, plan)
        if isinstance(bound, str):
            refusal = refusal or bound
            continue
        conditions.append(bound)
        # the words that say a bound ("32K context") do not ask for a measure of their own
        rest = rest[:max(0, start - cut)] + " , " + rest[end - cut:]
        cut += end - start - 3
    words = _words(_BOUND.sub(" ", rest))  # "at least 32K" is a condition, not "the least"
    reading = _Reading(refusal, words, frozenset(words), bool(re.search(r"\bhow many\b|\bnumber of\b|\bcount\b", question.lower())))
    if refusal:
        return reading
    for per in _PER.finditer(rest):  # "the highest MMLU score per billion parameters" is a ratio of two columns
        divisor = [c for c in plan.columns if "per" not in _words(c) and _named(c, _words(per.group(1)))]
        outside = _words(rest[:per.start()] + " " + rest[per.end():])
        dividend = [c for c in plan.columns if c not in divisor and _named(c, outside)]
        if divisor and dividend:
            return replace(reading, refusal=f"the question asks for {dividend[0]} per {divisor[0]}, a ratio the lists do not hold")
    below = _BELOW_TOP.search(said)
    if below:
        return replace(reading, refusal=f"the question asks for more than the top rows ({below.group(0)!r}), "
                                        "and the tool gives the top value's rows only")
    # on the whole question: "between 7B and 70B parameters" is a condition, not a ranked operand
    condition = _CONDITION.search(_BOUND_OF.sub(" ", said))
    if condition:
        return replace(reading, refusal=f"the question sets a condition the lists cannot hold ({condition.group(0).strip()!r})")
    named = plan.named_in(question)
    # a name inside a longer one is that one ("Llama Community License", not also a "Llama" developer)
    named = [c for c in named if not any(o is not c and _fold(str(c.value)) in _fold(str(o.value)) for o in named)]
    conditions += named
    columns = {w for m in plan.measures.values() for w in _words(m.column or m.table)} | {
        w for f in plan.filters.values() for w in _words(f.column)}
    names = [n for n in _NAME.findall(question[1:]) if not _named(n, list(columns)) and n.lower() not in columns
             and not any(_fold(n) in _fold(str(c.value)) for c in named)]
    reading = replace(reading, conditions=tuple(dict.fromkeys(conditions)), asked=tuple(_words(first_ask(rest))))
    if names:
        return replace(reading, refusal=f"the question names {names[0]!r}, which the lists cannot filter on")
    schema = columns | {w for t in plan.tables for w in _words(t)} | {w for c in named for w in _words(_fold(str(c.value)))}
    restriction = _restriction(first_ask(rest), plan, KNOWN_WORDS | plan.known_words | LOW | HIGH | NEGATIONS, schema)
    if restriction:
        return replace(reading, refusal=f"the question restricts the rows by {restriction!r}, which the lists cannot hold")
    return reading


def _restriction(question: str, plan: RankPlan, known: frozenset[str], schema: set[str]) -> str:
    """A word beside the ranked rows' noun that says which rows, and that neither ``known`` nor
    the ``schema``'s words (columns, tables, the names the question gave) hold: before it ("Which
    *multimodal* model"), or after it up to the verb ("models *released* in 2023", "a model
    *trained* on textbooks"); or ""."""
    nouns = {n for t in plan.tables for n in (t, t.removesuffix("s"))} | plan.generic_words
    stems = {k[:5] for k in schema if len(k) >= 5}

    def said(word: str) -> bool:  # a known word, or a form of the schema's ("weight" of open_weights, "licensed")
        return word in known or word in schema or word.isdigit() or (len(word) >= 5 and word[:5] in stems)

    words = re.findall(r"[a-z0-9]+", question.lower().replace("_", " "))
    for i, word in enumerate(words):
        if word not in nouns:
            continue
        for before in reversed(words[max(0, i - 3):i]):  # "which open weight model", "the best model"
            if before in ("which", "what", "the", "a", "an", "any", "of", "among"):
                break
            if not said(before):
                return before
        following = words[i + 1:]
        # after it, a phrase that says which rows: a preposition, a participle or a relative
        # ("models released in 2023", "models from OpenAI"); anything else is the verb ("models use")
        if following and (following[0] in _POST_MODIFIERS or following[0].endswith(("ed", "ing"))):
            for after in following:
                if after in _VERBS or after in nouns:
                    break
                if not said(after):
                    return after
    return ""


def conditions_of(question: str, plan: RankPlan) -> list[str]:
    """The conditions ``question`` sets, as the lists name them."""
    return [c.name for c in _read(question, plan).conditions]


def _refusal(reading: _Reading, plan: RankPlan, name: str, measure: _Measure, where: str,
             conditions: Sequence[str] | None = None) -> str:
    """Why the measure called ``name`` with the filter ``where`` and ``conditions`` does not fit
    the question read (``conditions`` None: whichever the question sets)."""
    words, said = reading.words, reading.said
    if measure.kind == "count" and not reading.counting:
        return "the question does not ask how many"
    if measure.kind != "count" and not said & (LOW | HIGH):
        return f"the question asks for no highest or lowest value, and '{name}' gives one"
    judged = said & {"best", "worst"}
    if judged and measure.kind != "count":
        # which values are the best only the lexicon says ("the best race time" is the lowest)
        better = plan.better.get(measure.column.lower())
        if better is None:
            return f"whether a higher or a lower {measure.column} is {sorted(judged)[0]} (say it in the lexicon, [better])"
        if (measure.kind == "highest") != ((better == "higher") == ("best" in judged)):
            return (f"the question asks for the {'highest' if measure.kind == 'lowest' else 'lowest'} "
                    f"(the {sorted(judged)[0]} {measure.column}), not '{name}'")
    plain = said - judged  # "best" and "worst" are read above, by the lexicon alone
    if measure.kind == "highest" and plain & LOW and not plain & HIGH:
        return f"the question asks for the lowest ({', '.join(sorted(plain & LOW))}), not '{name}'"
    if measure.kind == "lowest" and plain & HIGH and not plain & LOW:
        return f"the question asks for the highest ({', '.join(sorted(plain & HIGH))}), not '{name}'"
    if not _named(measure.column or measure.table, words):
        return f"the question does not ask about {measure.column or measure.table}"
    own = (measure.table, measure.column)
    others = [c for c in plan.columns if plan.columns[c] != own
              # a column whose words the measure's hold is the measure said short ("parameters" in "active parameters")
              and _fully_named(c, words) and not (measure.column and _fully_named(c, _words(measure.column)))]
    if measure.kind != "count" and others:  # "the MMLU score of the model with the best HumanEval score"
        return f"the question asks about {others[0]} too, and '{name}' ranks by {measure.column} alone"
    shorter = [c for c in plan.columns if measure.column and plan.columns[c] != own and _fully_named(c, words)
               and _fully_named(c, _words(measure.column))]
    if shorter and not _fully_named(measure.column, words):  # "the most parameters" is params_b, not active_params_b
        return f"the question says {shorter[0]}, not {measure.column}"
    for per in _PER.finditer(" ".join(words)):  # "the most context per dollar" ranks a ratio, not the context
        said_per = [w for w in _words(per.group(1)) if w not in KNOWN_WORDS | plan.known_words and not w.isdigit()]
        spelled = _spelled(plan)
        own = {s for w in _words(measure.column or measure.table) for s in (w, *spelled.get(w, ()))}
        if any(w not in own and not _named(measure.column or measure.table, [w]) for w in said_per):
            return f"the question asks for a value per {per.group(1)!r}, and '{name}' is not one"
    for condition in reading.conditions:
        if condition.op == "=" and condition.table == plan.labelled_by(measure):
            return f"the question names '{condition.value}', one of the rows '{name}' ranks: that is a lookup"
        if not plan.usable(measure, condition):
            return f"the question asks only for rows with {condition.name}, and {measure.table} rows do not point to {condition.table}"
    if conditions is not None:
        wanted, given = {c.name for c in reading.conditions}, set(conditions)
        if wanted - given:
            return f"the question asks only for rows with {', '.join(sorted(wanted - given))}: pass conditions={sorted(wanted)!r}"
        if given - wanted:
            return f"the question does not ask for rows with {', '.join(sorted(given - wanted))}"
    if where != "all":
        chosen = plan.filters.get(where)
        if chosen is not None and not all(_named(w, words) for w in _words(chosen.column) if w not in _UNIT_WORDS):
            return f"the question does not ask for rows with {where}"
        if chosen is not None and chosen.value == 0 and not said & NEGATIONS:
            return f"the question does not ask for rows without {chosen.column}"
    else:
        asked = [f for f, c in plan.filters.items() if not f.startswith("not ") and plan.usable(measure, c)
                 and all(_named(w, words) for w in _words(c.column) if w not in _UNIT_WORDS)]
        if asked:
            return f"the question asks only for rows with {asked[0]}: pass where={asked[0]!r}"
    unread = _unread(reading, plan, measure, plan.filters.get(where))
    if unread:
        return f"the question says {unread!r}, which '{name}' does not use: its answer would be another question's"
    return ""


def _unread(reading: _Reading, plan: RankPlan, measure: _Measure, where: _Filter | None) -> str:
    """The first content word of the question's first ask that the call does not use, or "".
    Used: general English (agentmesh.english), the lexicon's known words, the measured
    column and the rows' own table (or the one that names them), the filter's column, the
    conditions' names. "How many rivers flow through each country?" leaves 'flow', 'each' and
    'country' to a count of rivers: one total would answer another question."""
    own = {measure.table, plan.labelled_by(measure)} | {c.table for c in reading.conditions}
    measured = measure.column or measure.table
    used = [measured, *own, *([where.column] if where else []), *(str(c.value) for c in reading.conditions),
            *(c.column for c in reading.conditions)]
    said_per = "per" in _words(measured)
    plain = (FUNCTION_WORDS | COUNT_WORDS | HIGH_WORDS | LOW_WORDS | NEGATION_WORDS | COMPARISON_WORDS | DATA_WORDS
             | HIGH | LOW | NEGATIONS | _UNIT_WORDS)
    named = {w for c in reading.conditions for w in _words(_fold(str(c.value)))}

    def means(word: str, schema_word: str) -> bool:
        folded = _fold(schema_word)
        spelled = {s for w in _words(schema_word) for s in _spelled(plan).get(w, ())}  # "million" of input_per_1m_usd
        return (_named(schema_word, [word]) or word in (folded, folded.removesuffix("s")) or word in spelled
                or folded in (word, word.removesuffix("s"))
                or any(_named(schema_word, [w]) for w in plan.synonyms.get(word, ())))

    asked = reading.asked
    for i, word in enumerate(asked):
        following = asked[i + 1] if i + 1 < len(asked) else ""
        # "per 1M", "per second" of a rate column is its unit, not one value per group
        unit = word == "per" and (said_per or following[:1].isdigit() or means(following, measured))
        if word.isdigit() or word in plan.known_words or unit:
            continue
        if word in GROUPING_WORDS:
            return word
        if word in plain or word in named or any(means(word, u) for u in used):
            continue
        return word
    return ""


def mismatch(question: str, args: dict[str, Any], plan: RankPlan) -> str:
    """Why the chosen ``measure``, ``where`` and ``conditions`` do not fit ``question``, or "".
    The rows the tool returns are true; answering "the lowest" with the highest rows, or "the
    best open-weight model" (or "the best Apache-2.0 model") with every model's, would be a
    wrong answer with real evidence under it."""
    name = str(args.get("measure", ""))
    measure = plan.measures.get(name)
    if measure is None:
        return ""  # the tool says what it accepts
    reading = _read(question, plan)
    return reading.refusal or _refusal(reading, plan, name, measure, str(args.get("where", "all") or "all"),
                                       [str(c) for c in args.get("conditions") or []])


def narrowed(db: SQLDatabase, name: str, plan: RankPlan, question: str) -> BaseTool | None:
    """The tool with only the choices that fit ``question`` in its lists, and the conditions it
    sets, or None when none do: a small model picks from two options far better than from
    thirty, and never from one the guard would refuse."""
    reading = _read(question, plan)  # once, not once per choice
    if reading.refusal:
        return None
    pairs = [(m, w) for m, measure in plan.measures.items() for w in ["all", *plan.filters]
             if not _refusal(reading, plan, m, measure, w)]
    if not pairs:
        return None
    measures = list(dict.fromkeys(m for m, _ in pairs))
    wheres = list(dict.fromkeys(w for _, w in pairs))
    return make_sql_rank_tool(db, name=name, plan=plan, measures=measures, wheres=wheres,
                              conditions=[c.name for c in reading.conditions])
