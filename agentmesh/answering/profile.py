"""The DATA profile: what a user's database and graph say about themselves, derived, stored, overridable.

(Not to be confused with :mod:`agentmesh.answering.profiles`, the *answer* profile: constrained or
open. This module is about the data; that one about the model.)

Per table: its **label** (what names a row, found from the values, never from a list of column
names), its **measures** (numeric columns that are not keys, with units read from the column's
name and comment), its **categories** (text columns with at most 30 distinct values, and those
values, for conditions), its **date-like** columns, its foreign keys and the tables reached
through them. Per graph (optional): each class and predicate with its rdfs:label, skos:altLabel
and rdfs:comment.

How a label is found, in this order (the first that holds wins):

1. ``column``: a text column whose non-null values are unique (at least 98% distinct), that is
   not a key (primary, foreign, or named ``...id``), not a code (most values one token with a
   digit, a URL, an address), not free text (long values) and not dates; among several, the one
   whose values are most letters and spaces ("Joe's Pizza" over "123 Main St"), then schema order.
2. ``composite``: two one-word text columns that are no categories (more than 30 distinct
   values, or half of them distinct) and whose concatenation is unique: a person's given and
   family name. When neither is unique alone, from the data (a part whose values are another
   table's values is a reference, as ``city.state_name``, never a name part); when one is,
   only if a column's name says it holds a given or a family name (``FirstName``, ``surname``). The order is the one people write: a column whose *name* says
   first/given/fore goes first (last/family/sur second); else the column with fewer distinct
   values (given names repeat more than family names); else the schema's order. A column whose
   values are another table's labels (``city.state_name``) is a reference, never a name part.
3. ``code``: a unique code that is not a key (a unit's fleet number ``31101``).
4. ``foreign_key``: the label of the row a foreign key points to (``benchmarks`` via ``models``):
   the foreign key that is (part of) the primary key first, else the first in schema order.

The user's lexicon (``[labels]``, ``[units]``) overrides what is derived. The profile is stored
in the data home (``profiles/``), keyed by a fingerprint of the schema, the row counts, the
graph's version and the lexicon's overrides, and rebuilt when one of them changes.

>>> from agentmesh.tools.sql import SQLDatabase                                      # doctest: +SKIP
>>> profile = build_profile(SQLDatabase("examples/railway/railway.sqlite"))          # doctest: +SKIP
>>> profile.tables["drivers"].label.columns                                          # doctest: +SKIP
['FirstName', 'LastName']
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal

import sqlalchemy as sa

from agentmesh.errors import ConfigError

if TYPE_CHECKING:
    from agentmesh.answering.lexicon import Lexicon

__all__ = ["DataProfile", "TableProfile", "TableLabel", "Measure", "Category", "ForeignKey", "GraphTerm",
           "build_profile", "load_or_build", "unit_of", "PROFILE_VERSION", "fingerprint",
           "graph_terms", "profile_path"]

log = logging.getLogger(__name__)

PROFILE_VERSION = 7
"""Bumped when the profile's rules change: a stored profile of another version is rebuilt."""
MAX_CATEGORY_VALUES = 30
UNIQUE = 0.98
"""A label column's share of distinct values among its non-null values."""
PART_DISTINCT = 0.5
"""A composite label's part: more than 30 distinct values, or at least this share of distinct values."""
SAMPLE = 200
"""Values read per text column to see their shape (letters, codes, dates, length)."""
MAX_HOPS = 2

_NUMERIC = ("INT", "REAL", "FLOAT", "DOUBLE", "NUMERIC", "DECIMAL", "NUMBER", "MONEY", "SERIAL")
_DATE_TYPES = ("DATE", "TIME")
_TEXT = ("CHAR", "TEXT", "CLOB", "STRING", "VARCHAR")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")
_CODE_PUNCT = re.compile(r"://|@|^www\.|[/\\]")

UNIT_NAMES: dict[str, str] = {
    "usd": "USD", "eur": "EUR", "gbp": "GBP", "jpy": "JPY", "chf": "CHF", "cny": "CNY",
    "km": "km", "m": "m", "cm": "cm", "mm": "mm", "mi": "miles", "miles": "miles", "ft": "feet", "feet": "feet",
    "kg": "kg", "g": "g", "lb": "lb", "lbs": "lb", "tonnes": "tonnes",
    "kmh": "km/h", "kph": "km/h", "mph": "mph", "mps": "m/s",
    "ms": "milliseconds", "milliseconds": "milliseconds", "s": "seconds", "sec": "seconds", "secs": "seconds",
    "seconds": "seconds", "min": "minutes", "mins": "minutes", "minutes": "minutes", "h": "hours", "hr": "hours",
    "hrs": "hours", "hours": "hours", "days": "days", "weeks": "weeks", "months": "months", "years": "years",
    "pct": "%", "percent": "%", "percentage": "%",
    "kb": "KB", "mb": "MB", "gb": "GB", "tb": "TB", "bytes": "bytes",
    "kw": "kW", "kwh": "kWh", "mw": "MW", "w": "W", "l": "litres", "ml": "ml", "ha": "hectares", "km2": "km²", "m2": "m²",
}
"""Units as column names abbreviate them (``price_usd``, ``length_km``, ``elevation_m``): SI and
everyday units and currencies, nothing about any domain. A domain's own (``tok``) sit in its
lexicon's ``[units]``."""
_UNIT_SPOKEN: dict[str, str] = {
    "kilometres": "km", "kilometers": "km", "metres": "m", "meters": "m", "centimetres": "cm", "centimeters": "cm",
    "millimetres": "mm", "millimeters": "mm", "miles": "miles", "feet": "feet", "kilograms": "kg", "grams": "g",
    "pounds": "lb", "tonnes": "tonnes", "km/h": "km/h", "mph": "mph", "milliseconds": "milliseconds",
    "seconds": "seconds", "minutes": "minutes", "hours": "hours", "days": "days", "weeks": "weeks",
    "months": "months", "years": "years", "percent": "%", "%": "%", "dollars": "USD", "usd": "USD", "$": "USD",
    "euros": "EUR", "eur": "EUR", "€": "EUR", "gbp": "GBP", "£": "GBP", "bytes": "bytes", "megabytes": "MB",
    "gigabytes": "GB", "litres": "litres", "liters": "litres", "hectares": "hectares",
}
"""Units as a column's comment writes them ("route length in kilometres")."""
_GIVEN = ("first", "given", "fore")
_FAMILY = ("last", "family", "sur")
"""Words of a column's name that say which part of a person's name it holds (general English)."""


# -- the records --------------------------------------------------------------------------------
@dataclass
class TableLabel:
    """What names a table's rows. ``columns`` are columns of ``table`` (the table itself, or the one
    ``via`` points to: (this table's column, that table, its column))."""

    kind: Literal["column", "composite", "code", "foreign_key", "lexicon", "none"]
    table: str = ""
    columns: list[str] = field(default_factory=list)
    via: list[str] | None = None
    distinct: int = 0
    reason: str = ""

    @property
    def own(self) -> bool:
        """The rows are named by columns of their own table (a name index is built for them)."""
        return bool(self.columns) and self.via is None

    @property
    def shown(self) -> str:
        joined = " + ".join(self.columns)
        return f"{joined} (via {self.via[0]} -> {self.via[1]})" if self.via else joined or "-"


@dataclass
class Measure:
    column: str
    type: str
    unit: str = ""
    unit_from: Literal["", "name", "comment", "lexicon"] = ""
    comment: str = ""


@dataclass
class Category:
    column: str
    values: list[Any]


@dataclass
class ForeignKey:
    columns: list[str]
    table: str
    their_columns: list[str]
    inferred: bool = False
    """Not declared by the schema: found from the data (:func:`_inferred_keys`)."""


@dataclass
class TableProfile:
    name: str
    rows: int
    label: TableLabel
    keys: list[str] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    paths: dict[str, list[str]] = field(default_factory=dict)
    """A table reached through foreign keys (at most two) -> the tables on the way, it last."""
    comments: dict[str, str] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    """The columns the schema declares as the primary key (none where it declares none)."""
    names: list[str] = field(default_factory=list)
    """Other columns whose values each name one row, as people also say them: unique codes
    beside the label ("the A380": ``aircraft_code``, where ``aircraft_description`` is the label)."""


@dataclass
class GraphTerm:
    uri: str
    kind: Literal["class", "predicate"]
    labels: list[str] = field(default_factory=list)
    alt_labels: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


@dataclass
class DataProfile:
    """The profile of one database (and graph): JSON in, JSON out (:meth:`to_dict`, :meth:`from_dict`)."""

    database: str = ""
    fingerprint: str = ""
    version: int = PROFILE_VERSION
    tables: dict[str, TableProfile] = field(default_factory=dict)
    graph: list[GraphTerm] = field(default_factory=list)
    lexicon: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DataProfile":
        tables = {}
        for name, t in data.get("tables", {}).items():
            tables[name] = TableProfile(
                name=t["name"], rows=t["rows"], label=TableLabel(**t["label"]), keys=list(t.get("keys", [])),
                measures=[Measure(**m) for m in t.get("measures", [])],
                categories=[Category(**c) for c in t.get("categories", [])], dates=list(t.get("dates", [])),
                foreign_keys=[ForeignKey(**f) for f in t.get("foreign_keys", [])], paths=dict(t.get("paths", {})),
                comments=dict(t.get("comments", {})), names=list(t.get("names", [])),
                primary_key=list(t.get("primary_key", [])))
        return cls(database=data.get("database", ""), fingerprint=data.get("fingerprint", ""),
                   version=data.get("version", 0), tables=tables,
                   graph=[GraphTerm(**g) for g in data.get("graph", [])], lexicon=data.get("lexicon", ""))

    def label(self, table: str) -> TableLabel:
        found = self.tables.get(table)
        return found.label if found is not None else TableLabel("none")

    def labelled(self) -> list[str]:
        """The tables whose rows are named by their own columns, in schema order."""
        return [t for t, p in self.tables.items() if p.label.own]


# -- reading the data ---------------------------------------------------------------------------
def _is(kind: str, words: Iterable[str]) -> bool:
    upper = kind.upper()
    return any(w in upper for w in words)


def _name_words(column: str) -> list[str]:
    """``FirstName`` -> first, name; ``input_per_1m_usd`` -> input, per, 1m, usd."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", column)
    return [w for w in re.split(r"[\W_]+", spaced.lower()) if w]


def _key_named(column: str) -> bool:
    """A column named as an identifier (``id``, ``model_id``, ``authorId``, ``aid``, ``paperid``):
    the SQL convention for keys, which the defog databases follow without declaring them."""
    return bool(re.search(r"(?:^|_|[a-z])id$|Id$|ID$", column)) or column.lower() == "id"


def _letter_share(value: str) -> float:
    return sum(c.isalpha() or c == " " for c in value) / max(1, len(value))


def _code_like(value: str) -> bool:
    """One token with a digit (``31101``, ``C1``, ``abc123``), a URL, a path, an e-mail address."""
    text = value.strip()
    if _CODE_PUNCT.search(text):
        return True
    if " " in text:
        return False
    return (any(c.isdigit() for c in text) and _letter_share(text) < 0.6) or (len(text) <= 5 and text.upper() == text)


@dataclass
class _Shape:
    nonnull: int
    distinct: int
    letters: float = 0.0
    words: float = 0.0
    length: float = 0.0
    one_word: float = 0.0
    codes: float = 0.0
    dates: float = 0.0
    clocks: float = 0.0
    links: bool = False
    """Most values are URLs, paths or e-mail addresses."""

    @property
    def ratio(self) -> float:
        return self.distinct / self.nonnull if self.nonnull else 0.0

    @property
    def unique(self) -> bool:
        """Nearly unique: 98% distinct, or one value twice (a row entered twice in a small table)."""
        return self.nonnull >= 2 and (self.ratio >= UNIQUE or self.nonnull - self.distinct <= 1)

    @property
    def free_text(self) -> bool:
        return self.length > 60 or self.words > 8

    @property
    def code(self) -> bool:
        return self.codes >= 0.8

    @property
    def date(self) -> bool:
        return self.dates >= 0.9 or self.clocks >= 0.9


def _shape(values: list[str], nonnull: int, distinct: int) -> _Shape:
    texts = [v for v in values if isinstance(v, str) and v.strip()]
    if not texts:
        return _Shape(nonnull, distinct)
    n = len(texts)
    return _Shape(
        nonnull, distinct,
        letters=sum(_letter_share(v) for v in texts) / n,
        words=sum(len(v.split()) for v in texts) / n,
        length=sum(len(v) for v in texts) / n,
        one_word=sum(len(v.split()) == 1 for v in texts) / n,
        codes=sum(_code_like(v) for v in texts) / n,
        dates=sum(bool(_ISO_DATE.match(v)) for v in texts) / n,
        clocks=sum(bool(_CLOCK.match(v.strip())) for v in texts) / n,
        links=sum(bool(_CODE_PUNCT.search(v)) for v in texts) > n / 2,
    )


def _yes_no(conn: sa.Connection, column: sa.ColumnClause) -> bool:
    values = {v for (v,) in conn.execute(sa.select(column).distinct().where(column.isnot(None)).limit(3))}
    return bool(values) and values <= {0, 1}


def _sqlite_comments(conn: sa.Connection, table: str) -> dict[str, str]:
    """SQLite keeps no column comments, but keeps the DDL: a ``-- comment`` after a column's line."""
    row = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).first()
    found: dict[str, str] = {}
    for line in (row[0] if row and row[0] else "").splitlines():
        match = re.match(r"""\s*["`\[]?(\w+)["`\]]?\s+[^-]*?--\s*(.+)$""", line)
        if match:
            found[match[1]] = match[2].strip()
    return found


def _comments(conn: sa.Connection, backend: str, table: str) -> dict[str, str]:
    try:
        if backend == "sqlite":
            return _sqlite_comments(conn, table)
        if backend == "duckdb":
            return {r[0]: r[1] for r in conn.exec_driver_sql(
                "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ? AND comment IS NOT NULL",
                (table,))}
        return {c["name"]: c["comment"] for c in sa.inspect(conn).get_columns(table) if c.get("comment")}
    except Exception:  # noqa: BLE001 - comments are a help, never a reason to fail opening a database
        log.debug("could not read the column comments of %s", table, exc_info=True)
        return {}


def unit_of(column: str, comment: str = "", lexicon: "Lexicon | None" = None, table: str = "") -> tuple[str, str]:
    """The unit of a numeric column and where it was read: (unit, "name" | "comment" | "lexicon"),
    or ("", "")."""
    units = lexicon.units if lexicon is not None else {}
    for key in (f"{table}.{column}".lower(), column.lower()):
        if key in units and "." in key:  # "table.column" = ["unit"]: the user's word for this column
            return units[key][0], "lexicon"
    words = _name_words(column)
    if words and words[-1] in units:
        return words[-1], "lexicon"
    if len(words) >= 2 and words[-1] in UNIT_NAMES:
        unit = UNIT_NAMES[words[-1]]
        before = words[-2]
        if before in UNIT_NAMES and UNIT_NAMES[words[-1]] in ("seconds", "hours", "minutes") and len(words) >= 3:
            return f"{UNIT_NAMES[before]}/{unit.rstrip('s')[:1] if unit == 'seconds' else unit}", "name"
        if len(words) >= 3 and words[-1] in ("s", "h") and before not in UNIT_NAMES:  # throughput_tok_s: tok per second
            return f"{before}/{words[-1]}", "name"
        per = [i for i, w in enumerate(words) if w == "per"]
        if per and per[-1] + 1 < len(words) - 1:  # input_per_1m_usd: USD per 1m
            return f"{unit} per {' '.join(words[per[-1] + 1:-1])}", "name"
        return unit, "name"
    lowered = comment.lower()
    for spoken, unit in _UNIT_SPOKEN.items():
        if re.search(rf"(?<![\w/]){re.escape(spoken)}(?![\w/])", lowered):
            return unit, "comment"
    return "", ""


def _fk_paths(links: dict[str, dict[str, tuple[str, str]]], tables: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """Tables reached through foreign keys, each by its one shortest way (an ambiguous one is left out)."""
    paths: dict[str, dict[str, list[str]]] = {}
    for table in tables:
        reached: dict[str, tuple[str, ...] | None] = {}
        frontier: list[tuple[str, ...]] = [()]
        for _ in range(MAX_HOPS):
            found: dict[str, tuple[str, ...] | None] = {}
            for way in frontier:
                for other in links.get(way[-1] if way else table, {}):
                    if other != table and other not in reached and other not in way:
                        found[other] = None if other in found else (*way, other)
            reached.update(found)
            frontier = [w for w in found.values() if w]
        paths[table] = {t: list(w) for t, w in reached.items() if w}
    return paths


def _described(db: Any) -> dict[str, tuple[list[tuple[str, str]], set[str], list[tuple[list, str, list]]]]:
    return db.described


def fingerprint(db: Any, knowledge: Any = None, lexicon: "Lexicon | None" = None) -> str:
    """A hash of the schema, each table's row count, the graph's version and the lexicon's overrides."""
    digest = hashlib.sha256(f"profile-v{PROFILE_VERSION}\0{db.display}".encode())
    with db.engine.connect() as conn:
        for table, (columns, pk, fks) in sorted(_described(db).items()):
            rows = conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar()
            digest.update(json.dumps([table, columns, sorted(pk), fks, rows], default=str).encode())
        conn.rollback()
    if knowledge is not None:
        digest.update(str(getattr(knowledge, "version", "")).encode())
    if lexicon is not None:
        digest.update(json.dumps([sorted((getattr(lexicon, "labels", {}) or {}).items()),
                                  sorted(lexicon.units.items())], default=str).encode())
    return digest.hexdigest()[:24]


def build_profile(db: Any, *, knowledge: Any = None, lexicon: "Lexicon | None" = None,
                  fingerprint_: str | None = None) -> DataProfile:
    """The profile of ``db`` (an :class:`agentmesh.tools.sql.SQLDatabase`), and of ``knowledge``'s
    graph when given; ``lexicon``'s ``[labels]`` and ``[units]`` override what is derived."""
    described = _described(db)
    tables: dict[str, TableProfile] = {}
    shapes: dict[str, dict[str, _Shape]] = {}
    links: dict[str, dict[str, tuple[str, str]]] = {}
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    with db.engine.connect() as conn:
        for table, (columns, pk, fks) in described.items():
            clause = sa.table(table, *(sa.column(n) for n, _ in columns))
            keys = set(pk) | {c for own, _, _ in fks for c in own} | {n for n, _ in columns if _key_named(n)}
            comments = _comments(conn, db.backend, table)
            counted = [sa.func.count()]
            for name, _ in columns:
                counted += [sa.func.count(clause.c[name]), sa.func.count(clause.c[name].distinct())]
            stats = conn.execute(sa.select(*counted).select_from(clause)).one()
            rows = int(stats[0] or 0)
            per: dict[str, _Shape] = {}
            profile = TableProfile(table, rows, TableLabel("none"), keys=[n for n, _ in columns if n in keys],
                                   foreign_keys=[ForeignKey(list(o), t, list(th)) for o, t, th in fks],
                                   comments=comments, primary_key=[n for n, _ in columns if n in pk])
            counts[table] = {name: (int(stats[1 + 2 * i] or 0), int(stats[2 + 2 * i] or 0))
                             for i, (name, _) in enumerate(columns)}
            for i, (name, kind) in enumerate(columns):
                nonnull, distinct = counts[table][name]
                numeric = _is(kind, _NUMERIC) and not _is(kind, _DATE_TYPES)
                if numeric and name not in keys and distinct <= 2 and _yes_no(conn, clause.c[name]):
                    profile.categories.append(Category(name, [0, 1]))  # a yes/no column: a condition, not a measure
                    continue
                if numeric and name not in keys:
                    profile.measures.append(Measure(name, kind, *unit_of(name, comments.get(name, ""), lexicon, table),
                                                    comment=comments.get(name, "")))
                    continue
                if numeric or name in keys:
                    continue
                if _is(kind, _DATE_TYPES) and not _is(kind, _TEXT):
                    profile.dates.append(name)
                    continue
                column = clause.c[name]
                sample = [v for (v,) in conn.execute(sa.select(column).where(column.isnot(None)).limit(SAMPLE))]
                if sample and not all(isinstance(v, str) for v in sample):
                    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in sample):  # SQLite, untyped
                        profile.measures.append(Measure(name, kind or "NUMERIC", *unit_of(name, comments.get(name, ""),
                                                                                          lexicon, table),
                                                        comment=comments.get(name, "")))
                        continue
                    if all(isinstance(v, bool) for v in sample):
                        profile.categories.append(Category(name, sorted({*sample})))
                    continue
                shape = per[name] = _shape(sample, nonnull, distinct)
                if shape.date:
                    profile.dates.append(name)
                elif not shape.free_text and 0 < distinct <= MAX_CATEGORY_VALUES and (
                        distinct * 2 <= nonnull or distinct < nonnull <= MAX_CATEGORY_VALUES):
                    # values that repeat: twice on average, or, in a table too small to show that
                    # (organization.continent: 3 values in 5 rows), at all
                    values = [v for (v,) in conn.execute(sa.select(column).distinct().where(column.isnot(None))
                                                         .order_by(column).limit(MAX_CATEGORY_VALUES + 1))]
                    profile.categories.append(Category(name, values))
            tables[table], shapes[table] = profile, per
        conn.rollback()
        for table, found in _inferred_keys(conn, described, tables, counts).items():
            tables[table].foreign_keys += found
            tables[table].keys += [fk.columns[0] for fk in found if fk.columns[0] not in tables[table].keys]
        conn.rollback()
        for table, profile in tables.items():
            for fk in profile.foreign_keys:
                if len(fk.columns) == 1:
                    links.setdefault(table, {})[fk.table] = (fk.columns[0], fk.their_columns[0])
        _own_labels(conn, described, tables, shapes)
        for table, profile in tables.items():  # unique codes beside the label: names people say too
            if profile.label.own:
                profile.names = [n for n, sh in shapes[table].items() if n not in profile.label.columns
                                 and n not in profile.keys and sh.code and not sh.links
                                 and sh.unique and not sh.date and sh.length <= 20 and sh.nonnull >= max(2, profile.rows / 2)
                                 and (_names_table(n, table) or not _names_elsewhere(conn, table, n, sh, shapes))]
        conn.rollback()
    paths = _fk_paths(links, described)
    for table, profile in tables.items():
        profile.paths = paths.get(table, {})
    _foreign_key_labels(described, tables)
    overrides = getattr(lexicon, "labels", None) or {}
    if overrides:
        _apply_labels(overrides, described, tables, getattr(lexicon, "source", ""))
    graph = graph_terms(knowledge) if knowledge is not None else []
    return DataProfile(database=db.display, fingerprint=fingerprint_ or "", tables=tables, graph=graph,
                       lexicon=getattr(lexicon, "source", "") if lexicon is not None else "")


def _inferred_keys(conn: sa.Connection, described: dict, tables: dict[str, TableProfile],
                   counts: dict[str, dict[str, tuple[int, int]]]) -> dict[str, list[ForeignKey]]:
    """Foreign keys the schema does not declare (the defog databases declare none), found from the
    data: a column of one table whose every value is a value of the *same-named* column of another
    table (or, for ``restaurant_id``, of the ``id`` of the one table its name names) where that column identifies the rows (unique, never null, and named as a key, or the
    table's first column, or named after the table). ``publication.jid`` points to
    ``journal.jid``; ``city.state_name`` to ``state.state_name``. Where several tables are unique on
    the column, the one whose first column it is (its identifier) is taken; two such, none. Two
    tables holding the same set of unique values (one to one) are left alone: no direction holds.
    Where several tables are unique on the column, the one the column's name
    abbreviates (``jid``/``journal``, ``paperid``/``paper``) wins over a link table.
    """
    declared = {(t, fk.columns[0]) for t, p in tables.items() for fk in p.foreign_keys if len(fk.columns) == 1}
    firsts = {t: described[t][0][0][0] for t in described if described[t][0]}

    def identifies(table: str, column: str) -> bool:
        nonnull, distinct = counts[table].get(column, (0, 0))
        return nonnull > 0 and nonnull == tables[table].rows and distinct == nonnull

    found: dict[str, list[ForeignKey]] = {}
    for table, (columns, _, _) in described.items():
        for name, _ in columns:
            nonnull, distinct = counts[table][name]
            if (table, name) in declared or not distinct:
                continue
            if name.lower() == "id":
                continue  # by convention every table's own identifier, never a reference
            targets = [t for t in described if t != table and identifies(t, name)
                       and (_key_named(name) or firsts.get(t) == name or _names_table(name, t))]
            if len(targets) > 1:
                named = sorted((t for t in targets if _names_table(name, t)), key=len)
                targets = named[:1] if named else [t for t in targets if firsts.get(t) == name]
            if not targets and _key_named(name):
                # the convention of most schemas: restaurant_id points to restaurant.id
                named = [t for t in described if t != table and _names_table(name, t)
                         and any(c.lower() == "id" and identifies(t, c) for c, _ in described[t][0])]
                if len(named) == 1:
                    key = next(c for c, _ in described[named[0]][0] if c.lower() == "id")
                    mine, theirs = sa.table(table, sa.column(name)), sa.table(named[0], sa.column(key))
                    stray = conn.execute(sa.select(sa.func.count()).select_from(mine).where(
                        mine.c[name].isnot(None), mine.c[name].not_in(sa.select(theirs.c[key])))).scalar()
                    if not stray:
                        found.setdefault(table, []).append(ForeignKey([name], named[0], [key], inferred=True))
                continue
            if len(targets) != 1:
                continue
            target = targets[0]

            def outside(a: str, b: str) -> int:
                mine, theirs = sa.table(a, sa.column(name)), sa.table(b, sa.column(name))
                return int(conn.execute(sa.select(sa.func.count()).select_from(mine).where(
                    mine.c[name].isnot(None), mine.c[name].not_in(sa.select(theirs.c[name])))).scalar() or 0)

            # one to one, no direction, unless the column's name names the target and not its own table
            # (category.business_id -> business: one category row per business in a small sample)
            one_to_one = identifies(table, name) and outside(target, table) == 0
            if outside(table, target) == 0 and (not one_to_one or (_names_table(name, target)
                                                                   and not _names_table(name, table))):
                found.setdefault(table, []).append(ForeignKey([name], target, [name], inferred=True))
    return found


def _names_table(column: str, table: str) -> bool:
    """The column's name, less an identifier's suffix, starts the table's name: ``jid`` and
    ``journal``, ``paper_id`` and ``papers``, ``state_name`` and ``state``."""
    stem = re.sub(r"[_ ]?(?:id|name|code|key)$", "", column, flags=re.IGNORECASE).lower().rstrip("_")
    return bool(stem) and table.lower().replace("_", "").startswith(stem.replace("_", ""))


def _own_labels(conn: sa.Connection, described: dict, tables: dict[str, TableProfile],
                shapes: dict[str, dict[str, _Shape]]) -> None:
    """Rules 1-3 of the module's docstring, for each table."""
    for table, profile in tables.items():
        per = shapes[table]
        order = [n for n, _ in described[table][0]]
        rows = profile.rows
        words = [n for n, s in per.items() if not (s.date or s.free_text or s.code) and s.nonnull >= max(2, rows / 2)
                 and s.letters >= 0.5]
        unique = sorted((n for n in words if per[n].unique),
                        key=lambda n: (-round(per[n].letters, 1), order.index(n)))
        best = unique[0] if unique else ""
        if best and per[best].one_word < 0.9:
            profile.label = TableLabel("column", table, [best], distinct=per[best].distinct,
                                       reason="its values are unique and read as names")
            continue
        # a part: one word per row, and no category (its values do not repeat as a category's do)
        one_word = [n for n in words if per[n].one_word >= 0.9
                    and (per[n].distinct > MAX_CATEGORY_VALUES or per[n].ratio >= PART_DISTINCT)]
        if best:  # unique alone: two parts only where the columns' names say a person's name is split
            pair = _composite(conn, table, [best], [n for n in one_word if _name_part(n) or _name_part(best)],
                              per, order)
        else:  # unique only together, and neither part a reference to something named elsewhere
            parts = [n for n in one_word if not _references(conn, n, per[n], table, shapes)]
            pair = _composite(conn, table, parts, parts, per, order)
        if pair:
            clause = sa.table(table, *(sa.column(n) for n in pair))
            profile.label = TableLabel("composite", table, pair, distinct=_distinct_pairs(conn, clause, pair),
                                       reason="two one-word columns that name a row together")
            continue
        if best:
            profile.label = TableLabel("column", table, [best], distinct=per[best].distinct,
                                       reason="its values are unique and read as names")
            continue
        codes = [n for n, s in per.items() if s.code and s.unique and not s.date and s.nonnull >= max(2, rows / 2)
                 and s.length <= 20 and not s.links]
        if codes:
            profile.label = TableLabel("code", table, [codes[0]], distinct=per[codes[0]].distinct,
                                       reason="a unique code that is no key")


def _references(conn: sa.Connection, column: str, shape: _Shape, table: str,
                shapes: dict[str, dict[str, _Shape]]) -> bool:
    """The column's values are (almost all) values of another table's column: a reference to
    something named elsewhere (a country, a state), not part of this row's name."""
    return _within_another(conn, table, column, shape, shapes, lambda theirs: not theirs.code and not theirs.free_text)


def _names_elsewhere(conn: sa.Connection, table: str, column: str, shape: _Shape,
                     shapes: dict[str, dict[str, _Shape]]) -> bool:
    """The column's values are (almost all) values that each name one row of another table
    (``flight_stop.stop_airport``: airport codes): a reference to rows named there, not names of
    this table's rows."""
    return _within_another(conn, table, column, shape, shapes, lambda theirs: theirs.unique and theirs.code)


def _within_another(conn: sa.Connection, table: str, column: str, shape: _Shape,
                    shapes: dict[str, dict[str, _Shape]], fits: Callable[[_Shape], bool]) -> bool:
    """At least 90% of the column's distinct values are values of a non-empty column of another
    table whose shape ``fits``."""
    mine = sa.table(table, sa.column(column))
    for other, per in shapes.items():
        for name, theirs in per.items():
            if other == table or not theirs.nonnull or not fits(theirs):
                continue
            target = sa.table(other, sa.column(name))
            inside = conn.execute(sa.select(sa.func.count(mine.c[column].distinct())).where(
                mine.c[column].in_(sa.select(target.c[name])))).scalar() or 0
            if shape.distinct and inside >= 0.9 * shape.distinct:
                return True
    return False


def _distinct_pairs(conn: sa.Connection, clause: sa.TableClause, pair: list[str]) -> int:
    inner = sa.select(*(clause.c[n] for n in pair)).distinct().where(
        sa.and_(*(clause.c[n].isnot(None) for n in pair))).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar() or 0)


def _composite(conn: sa.Connection, table: str, firsts: list[str], parts: list[str], per: dict[str, _Shape],
               order: list[str]) -> list[str]:
    """The first pair (a, b) whose rows are unique together, in the order people write them."""
    for a in firsts:
        for b in parts:
            if a == b:
                continue
            clause = sa.table(table, sa.column(a), sa.column(b))
            both = min(per[a].nonnull, per[b].nonnull)
            if both and _distinct_pairs(conn, clause, [a, b]) >= min(UNIQUE * both, both - 1):
                return _name_order(a, b, per, order)
    return []


def _name_part(column: str) -> bool:
    """The column's name says it holds a given or a family name (``FirstName``, ``surname``)."""
    return any(w.startswith(_GIVEN + _FAMILY) for w in _name_words(column))


def _name_order(a: str, b: str, per: dict[str, _Shape], order: list[str]) -> list[str]:
    def said(column: str, words: tuple[str, ...]) -> bool:
        return any(w.startswith(words) for w in _name_words(column))

    for first, second in ((a, b), (b, a)):
        if said(first, _GIVEN) or said(second, _FAMILY):
            return [first, second]
    if per[a].distinct != per[b].distinct:
        return sorted([a, b], key=lambda n: per[n].distinct)
    return sorted([a, b], key=order.index)


def _foreign_key_labels(described: dict, tables: dict[str, TableProfile]) -> None:
    """Rule 4: a table with no label of its own is named by the row its foreign key points to."""
    for table, profile in tables.items():
        if profile.label.kind != "none":
            continue
        pk = described[table][1]
        single = [(fk.columns[0], fk.table, fk.their_columns[0]) for fk in profile.foreign_keys if len(fk.columns) == 1]
        order = [n for n, _ in described[table][0]]
        single.sort(key=lambda f: (f[0] not in pk, order.index(f[0]) if f[0] in order else len(order)))
        for own, other, theirs in single:
            target = tables.get(other)
            if target is not None and target.label.own:
                profile.label = TableLabel("foreign_key", other, list(target.label.columns), [own, other, theirs],
                                           reason=f"no name of its own: {own} points to {other}")
                break


def _apply_labels(overrides: dict[str, list[str]], described: dict, tables: dict[str, TableProfile], source: str) -> None:
    for table, columns in overrides.items():
        if table not in described:
            raise ConfigError(f"lexicon file '{source}': [labels] {table}: the database has no table '{table}'; "
                              f"its tables are {', '.join(sorted(described))}")
        names = [n for n, _ in described[table][0]]
        for column in columns:
            if column not in names:
                raise ConfigError(f"lexicon file '{source}': [labels] {table}: '{table}' has no column '{column}'; "
                                  f"its columns are {', '.join(names)}")
        tables[table].label = TableLabel("lexicon", table, list(columns), reason=f"set in {source}")
    for table, profile in tables.items():  # a foreign-key label follows its target's new label
        if profile.label.via and profile.label.table in overrides:
            profile.label.columns = list(overrides[profile.label.table])


def graph_terms(knowledge: Any) -> list[GraphTerm]:
    """Each class and predicate of the graph with its labels, altLabels and comments (empty for a
    graph whose store is not local, as a live endpoint's)."""
    store = getattr(knowledge, "store", None)
    ox_store = getattr(store, "ox", None)
    if ox_store is None:
        return []
    import pyoxigraph as ox

    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    rdfs = "http://www.w3.org/2000/01/rdf-schema#"
    owl = "http://www.w3.org/2002/07/owl#"
    skos_alt = "http://www.w3.org/2004/02/skos/core#altLabel"
    rdf_type = ox.NamedNode(rdf + "type")
    classes: set[str] = set()
    for quad in ox_store.quads_for_pattern(None, rdf_type, None, None):
        if isinstance(quad.object, ox.NamedNode):
            classes.add(quad.object.value)
    for kind in (rdfs + "Class", owl + "Class"):
        classes |= {q.subject.value for q in ox_store.quads_for_pattern(None, rdf_type, ox.NamedNode(kind), None)
                    if isinstance(q.subject, ox.NamedNode)}
    predicates = set(store.predicates()) if hasattr(store, "predicates") else set()
    skip = (rdf, rdfs, owl, "http://www.w3.org/2004/02/skos/core#")
    terms = []
    for kind, uris in (("class", classes), ("predicate", predicates)):
        for uri in sorted(uris):
            if uri.startswith(skip):
                continue

            def values(predicate: str) -> list[str]:
                return sorted({q.object.value for q in ox_store.quads_for_pattern(
                    ox.NamedNode(uri), ox.NamedNode(predicate), None, None) if isinstance(q.object, ox.Literal)})

            terms.append(GraphTerm(uri, kind, values(rdfs + "label"), values(skos_alt), values(rdfs + "comment")))
    return terms


# -- stored in the data home --------------------------------------------------------------------
def profile_path(home: Path, db: Any) -> Path:
    digest = hashlib.sha256(str(db.display).encode()).hexdigest()[:12]
    return Path(home) / "profiles" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', str(db.name))[:40]}-{digest}.json"


def load_or_build(db: Any, *, home: Path | None, knowledge: Any = None, lexicon: "Lexicon | None" = None) -> DataProfile:
    """The stored profile of ``db`` when its fingerprint still matches, else a new one, stored
    (atomically, 0600, in ``home/profiles``). ``home`` None: built, not stored."""
    print_ = fingerprint(db, knowledge, lexicon)
    if home is None:
        return build_profile(db, knowledge=knowledge, lexicon=lexicon, fingerprint_=print_)
    from agentmesh._home import private_dir

    path = profile_path(home, db)
    try:
        stored = DataProfile.from_dict(json.loads(path.read_text(encoding="utf-8")))
        if stored.fingerprint == print_ and stored.version == PROFILE_VERSION:
            return stored
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("data profile '%s' could not be read (%s); building it again", path, exc)
    profile = build_profile(db, knowledge=knowledge, lexicon=lexicon, fingerprint_=print_)
    folder = private_dir(Path(home), "profiles")
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".profile-", suffix=".json")  # 0600 by mkstemp
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(profile.to_json())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return profile
