"""``sql_lookup``: the values a database holds for one named row, chosen from lists, never written.

"What is the MMLU score of GPT-4?" needs one row of a join (``models`` by name, ``benchmarks``
by the model's key) that a 135M model cannot write: it gives ``SELECT * FROM mmlu WHERE ...``.
Asked instead to choose ``names=["GPT-4"]`` and ``columns=["mmlu"]`` from two lists (JSON-schema
enums), it only has to read the question; "the MMLU gap between GPT-4 and Qwen 72B Chat" gives
both names, and their rows. The tool builds the query itself, through SQLAlchemy,
and runs it on the same read-only database as ``sql``.

The lists come from the data profile (:mod:`agentmesh.answering.profile`) when the tool is made:
the names are the values of each table's label (a unique name column, a first and last name, a
code: found from the data, however many there are); the columns are the table's own values and
those of the tables that extend it one row per row (a table whose primary key is its foreign
key to it: ``benchmarks``, ``prices``). Before each question (``narrow``) the lists are cut to
the names the question says, whole (found through the profile's index of label words, not by
trying every name), and the columns it names; when it says none of either, the tool is not
offered. A value the database does not hold (NULL) is left out: "no value" is not an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import sqlalchemy as sa
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import Field, create_model

from agentmesh.english import (COMPARISON_WORDS, COUNT_WORDS, DATA_WORDS, FUNCTION_WORDS, HOW_WORDS,
                                         LINKING_VERBS, NUMBER_NOUNS, QUESTION_WORDS, UNITS)
from agentmesh.answering.lexicon import current_lexicon
from agentmesh.answering.label_index import LabelIndex, label_expression
from agentmesh.answering.names import said_whole
from agentmesh.answering.questions import first_ask
from agentmesh.records import Citation
from agentmesh.tools.sql import SQLDatabase, render_rows
from agentmesh.tools.sql_rank import HIGH, LOW, _RANKED_OPERAND, _named

__all__ = ["make_sql_lookup_tool", "LookupPlan", "lookup_plan", "said_names", "named_columns", "mismatch", "narrowed",
           "unread_words"]

MAX_LISTED = 500
"""Names listed in the un-narrowed tool's schema; with more, any name is accepted and looked up."""


@dataclass(frozen=True)
class _Column:
    table: str
    column: str
    via: tuple[str, str] | None = None
    """For a column of an extension table: (its key column, the labelled table's key column)."""


@dataclass
class LookupPlan:
    """What the tool offers for one database: each labelled table's label column, the names in
    it, and the columns a lookup of one of its rows can give, by the names in the lists."""

    tables: dict[str, sa.TableClause]
    labels: dict[str, list[str]]
    """labelled table -> the columns that name its rows (one, or a first and a last name)."""
    names: dict[str, list[str]]
    columns: dict[str, dict[str, _Column]]
    """labelled table -> column name in the list -> where it lives."""
    index: LabelIndex | None = None

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = LabelIndex(self.names)

    def table_of(self, name: str) -> str | None:
        """The table a row of this name is in (the first, if several have one)."""
        table = self.index.table_of(name)
        return table if table in self.names else None

    def header(self, table: str) -> str:
        return " ".join(self.labels[table])


def lookup_plan(db: SQLDatabase) -> LookupPlan:
    """The plan, from the schema and the data profile's labels (``described``, ``profile``, ``label_index``)."""
    tables: dict[str, sa.TableClause] = {}
    labels: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    columns: dict[str, dict[str, _Column]] = {}
    described = db.described  # read when the database was opened
    profile, index = db.profile, db.label_index
    for table, (cols, _, _) in described.items():
        tables[table] = sa.table(table, *(sa.column(n) for n, _ in cols))
    for table, (cols, pk, fks) in described.items():
        if table not in profile.labelled():
            continue
        label = list(profile.tables[table].label.columns)
        found = index.values.get(table, [])
        if not found:
            continue
        keys = pk | {c for own, _, _ in fks for c in own}
        labels[table], names[table] = label, found
        own = {n: _Column(table, n) for n, kind in cols if n not in keys and n not in label}
        extended: dict[str, _Column] = {}
        for other, (ocols, opk, ofks) in described.items():
            for fk_cols, target, theirs in ofks:
                # one row per row: the extension's key is its foreign key to this table
                if target == table and len(fk_cols) == 1 and set(fk_cols) == opk:
                    okeys = opk | {c for o, _, _ in ofks for c in o}
                    extended.update({n: _Column(other, n, (fk_cols[0], theirs[0])) for n, _ in ocols if n not in okeys})
        shown = {**own, **{(f"{c.table}.{n}" if n in own else n): c for n, c in extended.items()}}
        columns[table] = shown
    return LookupPlan(tables, labels, names, columns, index)


def _query(plan: LookupPlan, table: str, names: list[str], chosen: list[str]) -> sa.Select:
    """The statement: each named row's label and the chosen columns, joined through each extension's key."""
    base = plan.tables[table]
    from_: Any = base
    joined: set[str] = set()
    label = label_expression(base, plan.labels[table])
    shown = [label.label(plan.header(table)) if len(plan.labels[table]) > 1 else label]
    for key in chosen:
        where = plan.columns[table][key]
        source = plan.tables[where.table]
        if where.via is not None and where.table not in joined:
            own, theirs = where.via
            from_ = from_.outerjoin(source, source.c[own] == base.c[theirs])
            joined.add(where.table)
        shown.append(source.c[where.column].label(key))
    return sa.select(*shown).select_from(from_).where(label.in_(names))


def make_sql_lookup_tool(db: SQLDatabase, *, name: str = "sql_lookup", plan: LookupPlan | None = None,
                         names: list[str] | None = None, columns: list[str] | None = None) -> BaseTool | None:
    """The tool over ``db`` (None when no table has a label column). ``names`` and ``columns``
    narrow its lists (see :func:`narrowed`)."""
    plan = plan or lookup_plan(db)
    if not plan.names:
        return None
    listed = names or [n for table in plan.names for n in plan.names[table]]
    columns = columns or list(dict.fromkeys(c for table in plan.columns for c in plan.columns[table]))

    def sql_lookup(names: list[str], columns: list[str]) -> tuple[str, list[dict]]:
        wanted_names = list(dict.fromkeys(names))
        tables = {plan.table_of(n) for n in wanted_names}
        if None in tables or not wanted_names:
            raise ValueError(f"no row is named {next((n for n in wanted_names if plan.table_of(n) is None), '')!r}")
        if len(tables) > 1:
            raise ValueError("the names are rows of different tables; look them up one table at a time")
        table = tables.pop()
        wanted = list(dict.fromkeys(columns))
        unknown = [c for c in wanted if c not in plan.columns[table]]
        if unknown or not wanted:
            raise ValueError(f"{table} has no column {unknown[0] if unknown else '(none chosen)'!r}; "
                             f"choose from: {', '.join(plan.columns[table])}")
        sql = str(_query(plan, table, wanted_names, wanted).compile(db.engine, compile_kwargs={"literal_binds": True}))
        header, rows, truncated = db.query(sql)
        citation = Citation(kind="sql", ref=db.display, detail=sql)
        # a value the database does not hold is no value: its column (or its row) is left out, not shown as NULL
        rows = sorted(rows, key=lambda row: wanted_names.index(row[0]) if row[0] in wanted_names else len(wanted_names))
        held_rows = [row for row in rows if any(v is not None for v in row[1:])]
        held = [i for i in range(len(header)) if i == 0 or any(row[i] is not None for row in held_rows)]
        missing = [n for n in wanted_names if n not in {row[0] for row in held_rows}]
        if not held_rows:
            return f"The database holds no {', '.join(wanted)} for {' or '.join(wanted_names)}.", [citation.model_dump()]
        text = render_rows([header[i] for i in held], [tuple(row[i] for i in held) for row in held_rows], truncated,
                           db.row_limit)
        if missing:
            text += f"\n(no {', '.join(wanted)} for {', '.join(missing)})"
        return text, [citation.model_dump()]

    args = create_model(
        "SqlLookupArgs",
        # every name when they fit a prompt; with more, any text, looked up in the profile's index
        names=(list[Literal[tuple(listed)]] if len(listed) <= MAX_LISTED else list[str],  # type: ignore[valid-type]
               Field(min_length=1, description="The rows the question names.")),
        columns=(list[Literal[tuple(columns)]], Field(min_length=1, description="The values the question asks for.")),  # type: ignore[valid-type]
    )
    tool = StructuredTool.from_function(
        sql_lookup,
        name=name,
        description=(f"The values the database {db.name} holds for named rows (a model, a company): "
                     f"their score, their price, their size. Columns: {', '.join(columns)}."),
        args_schema=args,
        response_format="content_and_artifact",
    )
    # answers: the values of the rows the question names, in the columns it names (the guard holds
    # every call to that), are what it asks: pick mode shows them without a model's pick
    tool.metadata = {"lookup_plan": plan, "answers": True,
                     "guard": lambda question, args: mismatch(question, args, plan),
                     "narrow": lru_cache(maxsize=256)(lambda question: narrowed(db, name, plan, question))}
    return tool


def said_names(question: str, plan: LookupPlan) -> list[str]:
    """The names the question says whole, longest first: "GPT-4o", not the "GPT-4" inside it,
    unless the question also says "GPT-4" on its own ("between GPT-4 and GPT-4o"); and not a
    name a variant word follows ("GPT-4 Turbo", "Llama 3.2 11B Vision": other models)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for table, name in plan.index.candidates(question):  # the names whose words it says, not every name
        if table not in plan.names:
            continue
        found = said_whole(name, question)  # "GPT-4 Turbo" says no GPT-4
        if found:
            spans[name] = found
    longest = sorted(spans, key=len, reverse=True)
    return [n for n in longest
            if any(not any(m != n and a <= s and e <= b for m in spans for a, b in spans[m] if len(m) > len(n))
                   for s, e in spans[n])]


def named_columns(question: str, plan: LookupPlan, table: str) -> list[str]:
    """The columns of ``table``'s lookups the question names ("MMLU", "input ... per 1M")."""
    words = re.findall(r"[a-z0-9]+", question.lower())
    return [c for c in plan.columns[table] if _named(c.rpartition(".")[2], words)]


def mismatch(question: str, args: dict[str, Any], plan: LookupPlan) -> str:
    """Why the chosen rows or columns are not what ``question`` asks about, or "": the values are
    true, and another row's would be a wrong answer with real evidence under it."""
    names = [str(n) for n in args.get("names") or []]
    said = said_names(question, plan)
    for name in names:
        if plan.table_of(name) is not None and name not in said:
            return f"the question does not name {name!r}"
    table = next((plan.table_of(n) for n in names if plan.table_of(n) is not None), None)
    if table is None:
        return ""  # the tool says what it accepts
    asked = named_columns(question, plan, table)
    wrong = [c for c in args.get("columns") or [] if c not in asked]
    if wrong:
        return f"the question does not ask for {wrong[0]}"
    unread = unread_words(question, plan, table, [n for n in names if n in said], [str(c) for c in args.get("columns") or []])
    if unread:
        return f"the question says {unread!r}, which a lookup of {', '.join(names)} does not use: its answer would be another question's"
    return ""


def unread_words(question: str, plan: LookupPlan, table: str, names: list[str], columns: list[str]) -> str:
    """The first content word of the question's first ask that a lookup of ``names``' ``columns``
    does not use, or "": "List the stations on the Valley Line" is no lookup of the Valley Line's
    line code, nor "Which states border the state where Lake Ontario is?" of its state. Used:
    the names, the columns (their words, units, the lexicon's synonyms and asks), the rows' table
    and its label, general English (agentmesh.english), the lexicon's known and generic words."""
    lexicon = current_lexicon()
    text = first_ask(question)
    for name in sorted(names, key=len, reverse=True):  # the names' own words are used by the lookup
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    operands = _RANKED_OPERAND.search(text)
    if operands:  # "the gap between GPT-4 and the best open-weight model": the ranking is sql_rank's part
        for key in ("a", "b"):
            if set(re.findall(r"[a-z]+", operands[key].lower())) & (HIGH | LOW):
                text = text[:operands.start(key)] + " " + text[operands.end(key):]
                break
    plain = (FUNCTION_WORDS | COUNT_WORDS | DATA_WORDS | COMPARISON_WORDS | QUESTION_WORDS | LINKING_VERBS | set(HOW_WORDS)
             | set(NUMBER_NOUNS) | lexicon.known_words | lexicon.generic_words)
    schema = [c.rpartition(".")[2] for c in columns] + [table, *plan.labels.get(table, [])]
    parts = {part for c in columns for part in c.lower().replace(".", "_").split("_") if part}
    spelled = {w for part in parts for w in (*UNITS.get(part, ()), *lexicon.units.get(part, ()))}
    # amounts a worked-out cost or gap multiplies ("for 2M input and 500K output tokens")
    amounts = bool(re.search(r"\b(cost|price|gap|difference|total)\b", text.lower()))

    def used(word: str) -> bool:
        if word in plain or word in spelled or word in parts:
            return True
        if word[:1].isdigit():  # a number the lookup does not use would be a condition it drops ("in 2020")
            return amounts and re.fullmatch(r"\d+(?:\.\d+)?[kmb]?", word) is not None
        if any(_named(s, [word]) or word.rstrip("s") == s.lower().rstrip("s") for s in schema):
            return True
        if any(_named(c, [w]) for w in lexicon.synonyms.get(word, ()) for c in columns):
            return True
        return any(word.startswith(key) and any(_named(c, [fact]) for c in columns) for key, fact in lexicon.asks.items())

    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if not used(word):
            return word
    return ""


def narrowed(db: SQLDatabase, name: str, plan: LookupPlan, question: str) -> BaseTool | None:
    """The tool with only the names the question says (of the table most of them are rows of)
    and the columns it names, or None."""
    said = said_names(question, plan)
    by_table: dict[str, list[str]] = {}
    for n in said:
        table = plan.table_of(n)
        if table is not None and named_columns(question, plan, table):
            by_table.setdefault(table, []).append(n)
    if not by_table:
        return None
    table = max(by_table, key=lambda t: len(by_table[t]))
    names = sorted(by_table[table], key=lambda n: question.lower().find(n.lower()))  # as the question says them
    columns = named_columns(question, plan, table)
    if unread_words(question, plan, table, names, columns):  # a word the lookup would not use: not this tool's question
        return None
    return make_sql_lookup_tool(db, name=name, plan=plan, names=names, columns=columns)
