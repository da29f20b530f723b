"""sql: read-only queries on a SQLite database.

Read-only is enforced by the connection, not by looking at the text: the file is opened with
``mode=ro`` and an authorizer allows only reads, so a write fails inside SQLite whatever its
spelling. One statement per call, a row cap and a time limit. Errors come back with SQLite's
own message so the model can fix its query.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from agentmesh.errors import DatabaseError, ReadOnlyViolationError, ToolError
from agentmesh.graphs.state import Citation

__all__ = ["SQLiteReader", "make_sql_tool"]

_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
SQL_DESCRIPTION = (
    "Run one read-only SQL SELECT on the {name} database and get the rows back. "
    "Use it for numbers: filtering, sorting, comparing, counting.\nTables:\n{schema}"
)


def _authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in _ALLOWED else sqlite3.SQLITE_DENY


class SQLiteReader:
    """A read-only view of one SQLite file."""

    def __init__(self, path: str | Path, *, row_limit: int = 200, timeout: float = 10.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DatabaseError(f"database '{self.path}' does not exist; pass an existing SQLite file with --db")
        self.row_limit = row_limit
        self.timeout = timeout
        try:
            self.schema = self._describe()
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"database '{self.path}' cannot be read as SQLite: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        conn.set_authorizer(_authorizer)
        return conn

    def _describe(self) -> str:
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
            lines = []
            for table in tables:
                cols = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
                lines.append(f"{table}(" + ", ".join(f"{c[1]} {c[2]}".strip() for c in cols) + ")")
            return "\n".join(lines)
        finally:
            conn.close()

    def query(self, sql: str) -> tuple[list[str], list[tuple], bool]:
        """Run ``sql``; return column names, at most ``row_limit`` rows, and whether rows were cut."""
        conn = self._connect()
        deadline = time.monotonic() + self.timeout
        conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
        try:
            cursor = conn.execute(sql)
            rows = cursor.fetchmany(self.row_limit + 1)
            columns = [d[0] for d in cursor.description or []]
        except sqlite3.DatabaseError as exc:
            message = str(exc)
            if "not authorized" in message or "readonly" in message:
                raise ReadOnlyViolationError(f"refused: this database is read-only ({message})") from None
            if "interrupted" in message:
                raise ToolError(f"query stopped after {self.timeout:g}s; make it cheaper") from None
            raise ToolError(f"SQLite error: {message}") from None
        except sqlite3.Warning as exc:  # e.g. "You can only execute one statement at a time."
            raise ToolError(f"SQLite refused the query: {exc}") from None
        finally:
            conn.close()
        return columns, rows[: self.row_limit], len(rows) > self.row_limit


def render_rows(columns: list[str], rows: list[tuple], truncated: bool, limit: int) -> str:
    if not columns:
        return "The statement returned no result set."
    lines = [" | ".join(columns)]
    lines += [" | ".join("NULL" if v is None else str(v) for v in row) for row in rows]
    if not rows:
        lines.append("(no rows)")
    if truncated:
        lines.append(f"(only the first {limit} rows are shown)")
    return "\n".join(lines)


class SqlArgs(BaseModel):
    query: str = Field(description="One SQLite SELECT statement.")


def make_sql_tool(reader: SQLiteReader, *, name: str = "sql") -> BaseTool:
    def run_sql(query: str) -> tuple[str, list[dict]]:
        columns, rows, truncated = reader.query(query)
        citation = Citation(kind="sql", ref=str(reader.path), detail=query.strip())
        return render_rows(columns, rows, truncated, reader.row_limit), [citation.model_dump()]

    return StructuredTool.from_function(
        run_sql,
        name=name,
        description=SQL_DESCRIPTION.format(name=reader.path.stem, schema=reader.schema),
        args_schema=SqlArgs,
        response_format="content_and_artifact",
    )
