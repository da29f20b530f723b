"""``sql_answer``: the rows a question asks for, composed from one complete reading of it, never written by a model.

"How many stations are there in each region?", "Which lines are longer than 60 km?", "What is
Cora Lindahl's home station?": the question reading (:mod:`agentmesh.answering.reading`) finds
the table, the columns, the group, the conditions and the aggregate in the data profile; this
tool composes the statement from them with SQLAlchemy Core (joins along the profile's
foreign-key paths, ``GROUP BY`` the group's column or label, ``WHERE`` the conditions) and runs it
through the same read-only, parser-checked :meth:`SQLDatabase.query` as ``sql``.

The tool is offered for a question (``narrow``) only when its reading is complete: every content
word used, one interpretation (two columns or two rows that fit equally: not offered), and
something to compose. Its one argument is the reading itself, fixed by the question, so that the
agent calls it without a model (:func:`agentmesh.graphs.pick.determined_calls`); the guard
refuses a call whose reading is not the question's. A refusal is an answer too: "I could not
find that" is better than a count of all rows shown for "each region".
"""

from __future__ import annotations

import operator
from functools import lru_cache
from typing import Any, Callable, Literal

import sqlalchemy as sa
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import Field, create_model

from agentmesh.answering.lexicon import Lexicon
from agentmesh.answering.label_index import label_expression
from agentmesh.answering.ties import one_each, one_link
from agentmesh.answering.reading import QuestionReading, alternatives, read
from agentmesh.records import Citation
from agentmesh.tools.sql import SQLDatabase, render_rows

__all__ = ["make_sql_answer_tool", "compose", "run", "reading_of", "said_conditions"]

_COMPARE = {"=": operator.eq, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
            "in": lambda column, values: column.in_(list(values))}


def reading_of(db: SQLDatabase, question: str, lexicon: Lexicon | None = None) -> QuestionReading:
    """The question read against ``db``'s profile and label index."""
    return read(question, db.profile, lexicon, db.label_index, db.columns)


def compose(db: SQLDatabase, reading: QuestionReading) -> sa.Select:
    """The statement a complete ``reading`` asks for; ValueError when it cannot be composed
    (a table reached by two foreign keys, a label that is not the table's own)."""
    if reading.aggregate == "ratio":
        return _ratio(db, reading)
    if reading.aggregate == "difference":  # "the MMLU gap between A and B": both values, and how far apart
        a, b = (compose(db, part).subquery() for part in reading.parts)
        first, second = list(a.c)[-1], list(b.c)[-1]
        said = [f"{reading.asked[0].column} of {part.entities[0].value}" for part in reading.parts]
        return sa.select(first.label(said[0]), second.label(said[1]), sa.func.abs(first - second).label("difference")) \
            .select_from(a.join(b, sa.true()))
    profile = db.profile
    clauses = {t: sa.table(t, *(sa.column(n) for n, _ in db.described[t][0])) for t in db.described}
    subject = reading.subject
    base = clauses[subject]
    joined: dict[str, Any] = {}
    back: list[Any] = []  # the subject's key, when a group is reached through rows that point back to it

    def reach(table: str) -> sa.TableClause:
        """``table``, joined from the subject along the profile's one foreign-key path to it."""
        if table == subject:
            return base
        path = profile.tables[subject].paths.get(table)
        if not path:  # a table whose rows point back to the subject's
            if table in joined:
                return clauses[table]
            each = one_each(profile.tables, table, subject)  # highlow: one row per state, named as the state
            grouped = reading.aggregate == "count" and reading.group is not None and reading.group.table == table
            if not (each or grouped):
                raise ValueError(f"{subject} does not point to {table}")
            link = one_link(profile.tables, subject, table)
            if grouped and link is not None:
                # "Which line has the most stations?": station rows tied to a line by line_stops rows; each
                # station counted once per line (COUNT DISTINCT below)
                fk = _one_key(profile, link, subject)
                joined[link] = clauses[link].c[fk.columns[0]] == base.c[fk.their_columns[0]]
                back.append(base.c[fk.their_columns[0]])
                return along(link, profile.tables[link].paths[table])
            # "Which street has the most restaurants?": location rows point to restaurant's; each
            # restaurant counted once in each group its rows put it in (COUNT DISTINCT below)
            fk = _one_key(profile, table, subject)
            joined[table] = clauses[table].c[fk.columns[0]] == base.c[fk.their_columns[0]]
            if not each:
                back.append(base.c[fk.their_columns[0]])
            return clauses[table]
        return along(subject, path)

    def along(previous: str, steps: list[str]) -> sa.TableClause:
        """Each of ``steps`` joined from the one before it by its one key (one joined already stays); the last."""
        for step in steps:
            if step not in joined:
                fk = _one_key(profile, previous, step)
                joined[step] = clauses[previous].c[fk.columns[0]] == clauses[step].c[fk.their_columns[0]]
            previous = step
        return clauses[previous]

    def label_of(table: str) -> sa.ColumnElement:
        label = profile.label(table)
        if not label.own:
            raise ValueError(f"{table} has no name of its own")
        value = label_expression(reach(table), list(label.columns))
        return value.label(" ".join(label.columns)) if len(label.columns) > 1 else value

    tests = []
    for c in reading.conditions:
        if c.kind == "none":
            tests.append(_none_of(db, clauses, subject, c))
            continue
        if c.via:
            tests.append(_through_link(db, clauses, subject, c))
            continue
        column = label_expression(reach(c.table), c.column.split("+")) if c.kind == "label" else reach(c.table).c[c.column]
        tests.append(_COMPARE[c.op](column, c.value))
    shown: list[Any] = []
    group_by: list[Any] = []
    if reading.group is not None:
        g = reading.group
        value = label_of(g.table) if g.kind == "label" else reach(g.table).c[g.column]
        shown.append(value)
        group_by.append(value)
    aggregate = reading.aggregate
    said = f" where {', '.join(said_conditions(reading))}" if reading.conditions else ""
    if aggregate == "count" and reading.asked:  # the values of a column, each once; no value is none
        asked = reading.asked[0]
        shown.append(sa.func.count(sa.distinct(reach(asked.table).c[asked.column]))
                     .label(f"count of distinct {asked.column}{said}"))
    elif aggregate == "count":
        counted = sa.func.count(sa.distinct(back[0])) if back else sa.func.count()
        shown.append(counted.label(f"count of {subject}{said}"))
    elif aggregate in ("sum", "avg", "min", "max"):
        if not reading.asked:
            raise ValueError(f"{aggregate} of no column")
        asked = reading.asked[0]
        column = reach(asked.table).c[asked.column]
        shown.append(getattr(sa.func, aggregate)(column).label(f"{aggregate} of {asked.column}{said}"))
    elif aggregate == "values":  # each value of a column once, none for no value
        asked = reading.asked[0]
        shown.append(reach(asked.table).c[asked.column])
        tests.append(shown[-1].isnot(None))
    elif aggregate == "list":
        shown.append(label_of(subject) if profile.label(subject).own else _named_column(db, subject, reach(subject)))
        shown += [reach(a.table).c[a.column] for a in reading.asked]
    elif aggregate == "lookup":
        if not reading.asked:
            raise ValueError("a lookup that asks for no column")
        # the row as the question named it: its label, or the other name it was called by (flight HA567)
        naming = next((c.column for c in reading.conditions if c.kind == "label" and c.table == subject), "")
        shown.append(label_expression(base, naming.split("+")).label(" ".join(naming.split("+")))
                     if naming and naming != "+".join(profile.label(subject).columns) else label_of(subject))
        asked = reading.asked[0]
        if asked.kind == "label":
            shown.append(label_of(asked.table))
        elif asked.kind == "fk":
            shown.append(label_of(asked.target).label(asked.column))
            reach(asked.target)
            _only_by(profile, subject, asked)
        else:
            value = reach(asked.table).c[asked.column]
            # another table's column is named with it ("state population" of a lake: its state's)
            shown.append(value if asked.table == subject else value.label(f"{asked.table} {asked.column}"))
    statement = sa.select(*shown)
    if aggregate in ("list", "values"):
        statement = statement.distinct()
    from_: Any = base
    for table, on in joined.items():
        from_ = from_.join(clauses[table], on, isouter=True)  # a row whose key is empty stays, in a group of its own
    statement = statement.select_from(from_)
    if tests:
        statement = statement.where(sa.and_(*tests))
    if group_by:
        statement = statement.group_by(*group_by)
    if reading.having is not None:  # "Which countries have more than 2 rivers?": rows of no group are no group
        if aggregate != "count" or not group_by:
            raise ValueError("a bound on a count of no groups")
        op, bound = reading.having
        statement = statement.where(group_by[0].isnot(None)).having(_COMPARE[op](shown[-1], bound))
        if reading.groups_counted:  # how many groups meet it
            g = reading.group
            named = g.table if g.kind == "label" else g.column
            return sa.select(sa.func.count().label(f"count of {named} with {shown[-1].name} {op} {bound}")) \
                .select_from(statement.subquery())
    if reading.order:
        key, direction = reading.order.split()
        if key == "group" and group_by:
            column = group_by[0]
        elif key == "label" and aggregate in ("list", "lookup"):
            column = shown[0]
        elif key == "value" and aggregate not in ("list",):
            column = shown[-1]
        elif key == "value" and aggregate == "list" and reading.asked:
            column = reach(reading.asked[0].table).c[reading.asked[0].column]
        else:
            raise ValueError(f"cannot order by {key}")
        statement = statement.order_by(column.desc() if direction == "desc" else column.asc())
    elif group_by:
        statement = statement.order_by(*group_by)
    elif aggregate == "values":
        statement = statement.order_by(shown[0])
    desc = reading.order.endswith("desc")
    if reading.limit and group_by and aggregate != "list":  # the groups of the top n values, ties kept
        ranked = statement.order_by(None).subquery()
        group, value = list(ranked.c)[0], list(ranked.c)[-1]
        nth = _nth(value, ranked, desc, reading.limit, group.isnot(None))  # rows of no group are no group
        return sa.select(*ranked.c).where(value >= nth if desc else value <= nth, group.isnot(None)) \
            .order_by(value.desc() if desc else value.asc(), group)
    if reading.limit:  # the rows of the top n values, all of the rows tied with the last
        asked = reading.asked[0]
        column = reach(asked.table).c[asked.column]
        # over the same joined rows as the statement (a condition on a joined table)
        nth = _nth(column, from_, desc, reading.limit, *tests)
        statement = statement.where(column >= nth if desc else column <= nth)
    return statement


def _nth(column: Any, from_: Any, desc: bool, n: int, *where: Any) -> Any:
    """The n-th highest (``desc``) or lowest value of ``column`` over ``from_`` meeting ``where``, as
    a scalar subquery in its own scope: rows at least (at most) it are the top n, ties kept."""
    return sa.select(column).select_from(from_).where(column.isnot(None), *where) \
        .order_by(column.desc() if desc else column.asc()).limit(1).offset(n - 1).correlate(None).scalar_subquery()


def _named_column(db: SQLDatabase, table: str, clause: sa.TableClause) -> sa.ColumnElement:
    """A listed table with no name of its own: the one column named after it ("neighbourhood_name"
    of ``neighbourhood``), its values repeating (rows listed DISTINCT); ValueError for none."""
    from agentmesh.answering.profile import _names_table

    named = [n for n, _ in db.described[table][0] if _names_table(n, table) and not n.lower().endswith("id")
             and n not in db.profile.tables[table].keys]
    if len(named) != 1:
        raise ValueError(f"{table} has no name of its own")
    return clause.c[named[0]]


def _one_key(profile: Any, table: str, target: str) -> Any:
    """The one single-column key by which ``table`` points to ``target``; ValueError for none or two."""
    keys = [fk for fk in profile.tables[table].foreign_keys if fk.table == target and len(fk.columns) == 1]
    if len(keys) != 1:
        raise ValueError(f"{table} points to {target} by {len(keys)} keys")
    return keys[0]


def _ratio(db: SQLDatabase, reading: QuestionReading) -> sa.Select:
    """A's count over B's (per A's group when it has one), as a real number; no rows of B: no value."""
    a, b = reading.parts
    over = sa.func.nullif(compose(db, b).scalar_subquery(), 0)
    said = reading.summary()
    scale = 100.0 if reading.percent else 1.0  # a percentage
    if a.group is None:
        return sa.select((sa.cast(compose(db, a).scalar_subquery(), sa.Float) * scale / over).label(said))
    counted = compose(db, a).subquery()
    group, count = list(counted.c)[0], list(counted.c)[-1]
    return sa.select(group, (sa.cast(count, sa.Float) / over).label(said)).order_by(group)


def _through_link(db: SQLDatabase, clauses: dict[str, sa.TableClause], subject: str, c: Any) -> sa.ColumnElement:
    """``subject.key IN (SELECT link.key FROM link JOIN ... WHERE <c on c.table>)``: a subject row
    some link row ties to a row meeting ``c``."""
    profile = db.profile
    link = c.via
    fk = next(f for f in profile.tables[link].foreign_keys if f.table == subject and len(f.columns) == 1)
    inner = sa.alias(clauses[link])
    from_: Any = inner
    previous, current = link, inner
    for step in profile.tables[link].paths[c.table] if c.table != link else []:  # a value of the link's own
        key = _one_key(profile, previous, step)
        target = sa.alias(clauses[step])
        from_ = from_.join(target, current.c[key.columns[0]] == target.c[key.their_columns[0]])
        previous, current = step, target
    value = label_expression(current, c.column.split("+")) if c.kind == "label" else current.c[c.column]
    chosen = sa.select(inner.c[fk.columns[0]]).select_from(from_).where(_COMPARE[c.op](value, c.value))
    return clauses[subject].c[fk.their_columns[0]].in_(chosen)


def _none_of(db: SQLDatabase, clauses: dict[str, sa.TableClause], subject: str, c: Any) -> sa.ColumnElement:
    """``NOT EXISTS`` a row tying the subject's row to a row of ``c.table``: the subject's key to it
    (empty, or pointing to no row), or a row of ``c.via`` (``c.table`` itself, or a link) pointing back."""
    profile, outer = db.profile, clauses[subject]
    if c.via:
        fk = _one_key(profile, c.via, subject)
        inner = sa.alias(clauses[c.via])
        return ~sa.exists().where(inner.c[fk.columns[0]] == outer.c[fk.their_columns[0]])
    fk = _one_key(profile, subject, c.table)
    inner = sa.alias(clauses[c.table])
    return ~sa.exists().where(inner.c[fk.their_columns[0]] == outer.c[fk.columns[0]])


def run(db: SQLDatabase, reading: QuestionReading) -> tuple[list[str], list[tuple], bool, dict]:
    """The rows of a complete ``reading``: header, rows (a float as people write it: 388.6, not
    388.59999999999997), whether they were cut at the row limit, and the SQL's citation."""
    sql = str(compose(db, reading).compile(db.engine, compile_kwargs={"literal_binds": True}))
    header, rows, truncated = db.query(sql)
    rows = [tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in row) for row in rows]
    return header, rows, truncated, Citation(kind="sql", ref=db.display, detail=sql).model_dump()


def said_conditions(reading: QuestionReading) -> list[str]:
    """The reading's conditions as a header or a row says them ("region = North", "pages > 600")."""
    return [f"{c.table} = {c.value}" if c.kind == "label" else f"no {c.table}" if c.kind == "none"
            else f"{c.column} in {' or '.join(map(str, c.value))}" if c.op == "in"
            else f"{c.column} {c.op} {c.value}" for c in reading.conditions]


def _only_by(profile: Any, subject: str, asked: Any) -> None:
    """A foreign key asked by its name joins through itself: the subject's one key to the target."""
    fks = [fk for fk in profile.tables[subject].foreign_keys if fk.table == asked.target]
    if len(fks) != 1 or fks[0].columns != [asked.column]:
        raise ValueError(f"{subject} points to {asked.target} by more than {asked.column}")


def make_sql_answer_tool(db: SQLDatabase, *, name: str = "sql_answer", lexicon: Lexicon | None = None,
                         reading: QuestionReading | None = None,
                         _offered: dict[str, QuestionReading] | None = None,
                         _read: Callable[[str], QuestionReading] | None = None) -> BaseTool:
    """The tool over ``db``; with ``reading``, the one narrowed to a question (its one argument fixed).

    The agent runs a call through the tool it was given (this one, not a narrowed copy): its guard
    reads the call's question again and lets through only that question's complete reading, and
    the call is composed from the reading the narrowing made for it (kept by its summary)."""
    lexicon = lexicon or Lexicon()
    fixed = reading.summary() if reading is not None else None
    offered: dict[str, QuestionReading] = _offered if _offered is not None else {}

    def sql_answer(reading: str) -> tuple[str, list[dict]]:
        if fixed is not None and reading != fixed:
            raise ValueError(f"sql_answer answers only the question it was narrowed to; its reading is {fixed!r}")
        chosen = narrowed_reading if fixed is not None else offered.get(reading)
        if chosen is None:
            raise ValueError("sql_answer is offered per question: this reading was not offered")
        header, rows, truncated, citation = run(db, chosen)
        if chosen.aggregate in ("lookup", "sum", "avg", "min", "max"):
            # a value the database does not hold (NULL) is no value: "no value" is not an answer
            rows = [row for row in rows if row[-1] is not None]
            if not rows:
                what = chosen.summary()
                return f"That value is not in the database ({what}: no row holds one).", [citation]
        return render_rows(header, rows, truncated, db.row_limit), [citation]

    narrowed_reading = reading
    args = create_model("SqlAnswerArgs", reading=(
        Literal[fixed] if fixed is not None else str,  # type: ignore[valid-type]
        Field(description="What the question asks, as read from it.")))

    def shown_rows(found: QuestionReading) -> tuple[str, dict] | None:
        """The rendered rows of ``found`` and their citation; None when it fails or holds no row."""
        try:
            header, rows, truncated, citation = run(db, found)
        except Exception:  # noqa: BLE001 - evidence that fails to compose is left out
            return None
        return (render_rows(header, rows, truncated, db.row_limit), citation) if rows else None

    def partial(found: QuestionReading) -> tuple[str, dict] | None:
        """The rows of a reading that left words unread but has one interpretation of the rest:
        shown as evidence beside what it could not apply, never as the answer."""
        if found.complete or found.problems or not (found.subject and found.aggregate):
            return None
        return shown_rows(found)

    def each_reading(question: str) -> tuple[str, list[tuple[str, str, dict]]]:
        """Where columns fit the question alike: the place, and each complete reading's rows
        (summary, rows, citation), to be shown side by side as evidence, never as the answer."""
        place, found = alternatives(question, db.profile, lexicon, db.label_index, db.columns)
        return place, [(option.summary(), *rows) for option in found if (rows := shown_rows(option)) is not None]

    def guard(question: str, call: dict[str, Any]) -> str:
        again = tool.metadata["read"](question)
        if not again.complete:
            return "the question has words the reading does not use: " + ", ".join(again.unread or again.problems)
        if call.get("reading") != again.summary() or (fixed is not None and fixed != again.summary()):
            return f"the question reads as {again.summary()!r}, not {call.get('reading')!r}"
        return ""

    def narrow(question: str) -> BaseTool | None:
        found = tool.metadata["read"](question)
        if not found.complete:
            return None
        try:
            compose(db, found)
        except (ValueError, KeyError):
            return None
        offered[found.summary()] = found
        while len(offered) > 1024:  # the oldest offer goes first
            offered.pop(next(iter(offered)))
        return make_sql_answer_tool(db, name=name, lexicon=lexicon, reading=found, _offered=offered, _read=read)

    def row_conditions(args: dict[str, Any]) -> list[str]:
        """What every listed row meets, said with each row."""
        chosen = narrowed_reading or offered.get(str((args or {}).get("reading", "")))
        return said_conditions(chosen) if chosen is not None and chosen.aggregate == "list" else []

    tool = StructuredTool.from_function(
        sql_answer, name=name,
        description=(f"The rows of the database {db.name} that answer the question as read: counts and totals, "
                     "per group, lists of rows that meet conditions, values of a named row."),
        args_schema=args, response_format="content_and_artifact")
    # evidence "rows": each row is an item with the header; what every listed row meets is said with it
    # one reading per question for the tool and the copies narrowed from it (the guard, the pick step)
    read = _read or lru_cache(maxsize=256)(lambda question: reading_of(db, question, lexicon))
    tool.metadata = {"answers": True, "guard": guard, "db": db, "narrow": lru_cache(maxsize=256)(narrow),
                     "read": read, "partial": partial, "alternatives": each_reading,
                     "reading": narrowed_reading, "evidence": "rows",
                     "row_conditions": row_conditions}
    return tool
