"""The names of a database's rows, looked up: every label value (and a row's other names, its codes)
by its words, so that a question's names are found whatever the number of values, and the SQL value
that names a row (one column, or a person's first and last name joined)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from agentmesh.answering.profile import DataProfile

__all__ = ["LabelIndex", "label_expression"]


def label_expression(clause: sa.TableClause, columns: list[str]) -> sa.ColumnElement:
    """The SQL value that names a row: the column, or the columns joined by a space."""
    if len(columns) == 1:
        return clause.c[columns[0]]
    parts: list[Any] = []
    for i, name in enumerate(columns):
        if i:
            parts.append(sa.literal(" ", sa.String))
        parts.append(sa.type_coerce(clause.c[name], sa.String))
    expression = parts[0]
    for part in parts[1:]:
        expression = expression.concat(part)
    return expression


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


class LabelIndex:
    """Every label value of every table with its own label, by its normalised words: a question's
    names are found by looking up its word n-grams, whatever the number of values (no cap)."""

    def __init__(self, values: dict[str, list[str]], codes: dict[str, dict[str, list[str]]] | None = None) -> None:
        """``values``: table -> its label values; ``codes``: table -> a column of its other names
        (``TableProfile.names``) -> its values."""
        self.values = values
        self._by_key: dict[str, list[tuple[str, str]]] = {}
        self._table_of: dict[str, str] = {}
        self._column_of: dict[tuple[str, str], str] = {}
        self.longest = 1
        named = [(t, "", v) for t, names in values.items() for v in names]
        named += [(t, c, v) for t, columns in (codes or {}).items() for c, vs in columns.items() for v in vs]
        for table, column, name in named:
            key = " ".join(_tokens(name))
            if not key or (table, name) in self._column_of:
                continue
            self._by_key.setdefault(key, []).append((table, name))
            self._table_of.setdefault(name, table)
            self._column_of[(table, name)] = column
            self.longest = max(self.longest, key.count(" ") + 1)

    def column_of(self, table: str, name: str) -> str:
        """The column that holds ``name`` as a row's other name (a code), or "" for the label."""
        return self._column_of.get((table, name), "")

    @classmethod
    def build(cls, db: Any, profile: "DataProfile") -> "LabelIndex":
        """One read of each labelled table's label values (``SELECT DISTINCT``)."""
        values: dict[str, list[str]] = {}
        with db.engine.connect() as conn:
            for table in profile.labelled():
                label = profile.tables[table].label
                clause = sa.table(table, *(sa.column(n) for n in label.columns))
                columns = [clause.c[n] for n in label.columns]
                rows = conn.execute(sa.select(*columns).distinct().where(sa.and_(*(c.isnot(None) for c in columns))))
                found = [" ".join(str(v) for v in row) for row in rows]
                values[table] = sorted({v for v in found if v.strip()})
            codes: dict[str, dict[str, list[str]]] = {}
            for table in profile.labelled():
                for name in profile.tables[table].names:
                    column = sa.table(table, sa.column(name)).c[name]
                    codes.setdefault(table, {})[name] = sorted(
                        {str(v) for (v,) in conn.execute(sa.select(column).distinct().where(column.isnot(None)))
                         if str(v).strip()})
            conn.rollback()
        return cls(values, codes)

    def __contains__(self, name: object) -> bool:
        return name in self._table_of

    def table_of(self, name: str) -> str | None:
        return self._table_of.get(name)

    def candidates(self, text: str) -> list[tuple[str, str]]:
        """(table, value) of every label whose words the text says in a row, each once."""
        words = _tokens(text)
        found: dict[tuple[str, str], None] = {}
        for size in range(min(self.longest, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                for hit in self._by_key.get(" ".join(words[start:start + size]), ()):
                    found[hit] = None
        return list(found)
