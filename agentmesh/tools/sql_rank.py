"""``sql_rank``: the highest, lowest or count of a database's values, chosen from lists, never written.

A 135M model asked "Which model has the highest MMLU score?" writes
``SELECT * FROM model_id WHERE mmlu = 1000000...``: the SQL does not parse, or asks for a table
that does not exist. Asked instead to choose ``measure="highest mmlu"`` and ``where="all"`` from
two lists (JSON-schema enums, so a grammar-constrained model cannot write anything else), it
only has to read the question. The tool builds the query itself, through SQLAlchemy, with the
label of each row (a ``name`` column, or the name of the row a foreign key points to), and runs
it on the same read-only database as ``sql``.

The lists come from the schema when the tool is made: every numeric column that is not a key
is "highest X" and "lowest X"; every table is "count X"; every column holding only 0 and 1
(``open_weights``) is a filter, as itself and as "not X", on its own table and on tables that
point to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

import sqlalchemy as sa
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import Field, create_model

from agentmesh.records import Citation
from agentmesh.tools.sql import SQLDatabase, render_rows

__all__ = ["make_sql_rank_tool", "RankPlan", "rank_plan", "mismatch", "narrowed", "ranked_part"]

NUMERIC = ("INT", "REAL", "FLOAT", "DOUBLE", "NUMERIC", "DECIMAL")
LABEL_COLUMNS = ("name", "title", "label")


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


@dataclass
class RankPlan:
    """What the tool offers for one database: measures and filters by their names in the lists,
    each table's label (its own column, or (fk column, other table, its key, its label))."""

    measures: dict[str, _Measure]
    filters: dict[str, _Filter]
    labels: dict[str, tuple[str, ...]]
    links: dict[str, dict[str, tuple[str, str]]]
    """table -> other table -> (this table's column, the other's column) of a foreign key."""
    tables: dict[str, sa.TableClause]

    def usable(self, measure: _Measure, where: _Filter) -> bool:
        """The filter's column is on the measure's table or on a table it points to: each
        measured row meets one row of it, so a join neither repeats nor drops rows."""
        return where.table == measure.table or where.table in self.links.get(measure.table, {})


def rank_plan(db: SQLDatabase) -> RankPlan:
    """Read the schema (and which integer columns hold only 0 and 1) once."""
    measures: dict[str, _Measure] = {}
    filters: dict[str, _Filter] = {}
    labels: dict[str, tuple[str, ...]] = {}
    links: dict[str, dict[str, tuple[str, str]]] = {}
    tables: dict[str, sa.TableClause] = {}
    numeric: list[tuple[str, str]] = []
    with db.engine.connect() as conn:
        described = {table: db._describe(conn, table) for table in db.tables}
        for table, (columns, pk, fks) in described.items():
            tables[table] = sa.table(table, *(sa.column(n) for n, _ in columns))
            keys = pk | {c for own, _, _ in fks for c in own}
            names = [n for n, _ in columns]
            own_label = next((c for c in LABEL_COLUMNS if c in names), "")
            labels[table] = (own_label,) if own_label else ()
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
    for table in db.tables:  # a table without a name column is labelled through its foreign key
        if not labels[table]:
            for other, (own, theirs) in links.get(table, {}).items():
                if len(labels.get(other, ())) == 1:
                    labels[table] = (own, other, theirs, labels[other][0])
                    break
    repeated = {c for _, c in numeric if sum(1 for _, d in numeric if d == c) > 1}
    for table, name in numeric:
        shown = f"{table}.{name}" if name in repeated else name
        measures[f"highest {shown}"] = _Measure("highest", table, name)
        measures[f"lowest {shown}"] = _Measure("lowest", table, name)
    for table in db.tables:
        measures[f"count {table}"] = _Measure("count", table)
    return RankPlan(measures, filters, labels, links, tables)


def _query(plan: RankPlan, measure: _Measure, where: _Filter | None) -> sa.Select:
    """The statement: label and value of the top rows, or a count, on the filtered rows."""
    table = plan.tables[measure.table]
    joins: dict[str, Any] = {}

    def pointed(name: str) -> sa.TableClause:
        """``name``, joined through the measure table's foreign key to it."""
        if name == measure.table:
            return table
        own, theirs = plan.links[measure.table][name]
        joins[name] = table.c[own] == plan.tables[name].c[theirs]
        return plan.tables[name]

    condition = None
    if where is not None:
        if not plan.usable(measure, where):
            raise ValueError(f"'{where.column}' is not a column of {measure.table} or of a table it points to")
        condition = pointed(where.table).c[where.column] == where.value
    if measure.kind == "count":
        counted = f"count of {measure.table}" + (f" with {'no ' if where.value == 0 else ''}{where.column}" if where else "")
        statement = sa.select(sa.func.count().label(counted))
    else:
        value = table.c[measure.column]
        label = plan.labels.get(measure.table, ())
        shown = table.c[label[0]] if len(label) == 1 else pointed(label[1]).c[label[3]] if label else None
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
                       measures: list[str] | None = None, wheres: list[str] | None = None) -> BaseTool:
    """The tool over ``db``. ``measures`` and ``wheres`` narrow its lists (see :func:`narrowed`)."""
    plan = plan or rank_plan(db)
    measures = measures or list(plan.measures)
    wheres = wheres or ["all", *plan.filters]

    def sql_rank(measure: str, where: str = "all") -> tuple[str, list[dict]]:
        chosen = plan.measures.get(measure)
        if chosen is None:
            raise ValueError(f"unknown measure {measure!r}; choose one of: {', '.join(measures)}")
        condition = None if where in ("", "all") else plan.filters.get(where)
        if where not in ("", "all") and condition is None:
            raise ValueError(f"unknown filter {where!r}; choose one of: {', '.join(wheres)}")
        statement = _query(plan, chosen, condition)
        sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
        columns, rows, truncated = db.query(sql)
        citation = Citation(kind="sql", ref=db.display, detail=sql)
        return render_rows(columns, rows, truncated, db.row_limit), [citation.model_dump()]

    args = create_model(
        "SqlRankArgs",
        measure=(Literal[tuple(measures)], Field(description="What to rank or count.")),  # type: ignore[valid-type]
        # required, "all" included: a small model's JSON wrapper keeps only required arguments
        where=(Literal[tuple(wheres)], Field(description="Which rows: all, or those with a yes/no column set (or not).")),  # type: ignore[valid-type]
    )
    return StructuredTool.from_function(
        sql_rank,
        name=name,
        description=(f"The highest, lowest (cheapest, smallest) or best value of a column in the database "
                     f"{db.name}, or how many rows there are: which one has the highest score, which is "
                     f"cheapest, how many there are. Columns: "
                     f"{', '.join(sorted({m.column for m in plan.measures.values() if m.column}))}."),
        args_schema=args,
        response_format="content_and_artifact",
        # the agent asks this before each call (graphs.middleware.QuestionGuard): true rows of
        # the wrong ranking would be a wrong answer with real evidence under it
        # answers: the top rows of the ranking the guard let through are what the question asks
        # (pick mode shows them without a model's pick)
        metadata={"rank_plan": plan, "answers": True, "guard": lambda question, args: mismatch(question, args, plan),
                  "narrow": lru_cache(maxsize=256)(lambda question: narrowed(db, name, plan, question))},
    )


LOW = frozenset("lowest least cheapest cheaper smallest smaller fewest worst minimum min shortest slowest".split())
HIGH = frozenset("highest most best largest biggest longest maximum max top greatest fastest priciest".split())
_CONDITION = re.compile(r"\b(?:at least|at most|more than|less than|fewer than|greater than|over|under|above|below|"
                        r"between|since|before|after)\s+\$?\d", re.IGNORECASE)
"""A condition on a value ("with at least 32K context"): the lists hold yes/no filters only."""
_BOUND = re.compile(r"\bat (?:least|most)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<![\w-])[A-Z][\w.+-]*")
"""A capitalised word after the first: a name ("Apache-2.0", "Mistral AI") the question filters on,
unless it names a column ("MMLU", "HumanEval")."""
NEGATIONS = frozenset("not non no without closed lack lacking".split())
_UNIT_WORDS = frozenset({"b", "usd", "per", "s", "tok", "1m", "id"})


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))


def _named(column: str, question_words: list[str]) -> bool:
    """The question names the column: a word of it, or its first five letters ("params" in "parameters")."""
    wanted = [w for w in _words(column) if w not in _UNIT_WORDS and len(w) > 2]
    return any(q == w or (len(w) >= 5 and q.startswith(w[:5])) or (len(q) >= 5 and w.startswith(q[:5]))
               for w in wanted for q in question_words)


@dataclass(frozen=True)
class _Reading:
    """What a question says, read once for every choice it is checked against."""

    refusal: str
    """A reason no choice fits it (a condition or a name the lists cannot hold), or ""."""
    words: list[str]
    said: frozenset[str]
    counting: bool


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


def _read(question: str, plan: RankPlan) -> _Reading:
    question = ranked_part(question)
    words = _words(_BOUND.sub(" ", question))  # "at least 32K" is a condition, not "the least"
    reading = _Reading("", words, frozenset(words), bool(re.search(r"\bhow many\b|\bnumber of\b|\bcount\b", question.lower())))
    condition = _CONDITION.search(question)
    if condition:
        return replace(reading, refusal=f"the question sets a condition the lists cannot hold ({condition.group(0).strip()!r})")
    columns = {w for m in plan.measures.values() for w in _words(m.column or m.table)} | {
        w for f in plan.filters.values() for w in _words(f.column)}
    names = [n for n in _NAME.findall(question[1:]) if not _named(n, list(columns)) and n.lower() not in columns]
    if names:
        return replace(reading, refusal=f"the question names {names[0]!r}, which the lists cannot filter on")
    return reading


def _refusal(reading: _Reading, plan: RankPlan, name: str, measure: _Measure, where: str) -> str:
    """Why the measure called ``name`` with the filter ``where`` does not fit the question read."""
    words, said = reading.words, reading.said
    if measure.kind == "count" and not reading.counting:
        return "the question does not ask how many"
    if measure.kind != "count" and not said & (LOW | HIGH):
        return f"the question asks for no highest or lowest value, and '{name}' gives one"
    if measure.kind == "highest" and said & LOW and not said & HIGH:
        return f"the question asks for the lowest ({', '.join(sorted(said & LOW))}), not '{name}'"
    if measure.kind == "lowest" and said & HIGH and not said & LOW:
        return f"the question asks for the highest ({', '.join(sorted(said & HIGH))}), not '{name}'"
    if not _named(measure.column or measure.table, words):
        return f"the question does not ask about {measure.column or measure.table}"
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
    return ""


def mismatch(question: str, args: dict[str, Any], plan: RankPlan) -> str:
    """Why the chosen ``measure`` and ``where`` do not fit ``question``, or "". The rows the tool
    returns are true; answering "the lowest" with the highest rows, or "the best open-weight
    model" with every model's, would be a wrong answer with real evidence under it."""
    name = str(args.get("measure", ""))
    measure = plan.measures.get(name)
    if measure is None:
        return ""  # the tool says what it accepts
    reading = _read(question, plan)
    return reading.refusal or _refusal(reading, plan, name, measure, str(args.get("where", "all") or "all"))


def narrowed(db: SQLDatabase, name: str, plan: RankPlan, question: str) -> BaseTool | None:
    """The tool with only the choices that fit ``question`` in its lists, or None when none do:
    a small model picks from two options far better than from thirty, and never from one the
    guard would refuse."""
    reading = _read(question, plan)  # once, not once per choice
    if reading.refusal:
        return None
    pairs = [(m, w) for m, measure in plan.measures.items() for w in ["all", *plan.filters]
             if not _refusal(reading, plan, m, measure, w)]
    if not pairs:
        return None
    measures = list(dict.fromkeys(m for m, _ in pairs))
    wheres = list(dict.fromkeys(w for _, w in pairs))
    return make_sql_rank_tool(db, name=name, plan=plan, measures=measures, wheres=wheres)
