"""sql and sql_schema: queries on any SQLAlchemy database, read-only unless the user says otherwise.

Read-only is enforced by two layers, each meant to hold alone (tests/security runs the attack
suites against each layer with the other switched off):
1. the statement is parsed with sqlglot for the database's dialect: exactly one statement, a
   query (SELECT / UNION / INTERSECT / EXCEPT) containing no data or schema change, no INTO in
   any position (``SELECT ... INTO OUTFILE`` writes files even in a read-only transaction), no
   row locks, no MariaDB/MySQL executable comment (``/*! ... */`` is code to the server), only
   functions from the dialect's allowlist (see ``agentmesh.tools._sql_functions`` for why), and
   tables that are the database's own: a function in a table's place must be one of the few
   that make rows from their arguments (``generate_series``, ``unnest``...), and a table name
   that looks like a file path or URL (DuckDB reads ``FROM '/path/file.csv'`` as the file) is
   refused;
2. the connection itself cannot write: SQLite files are opened with ``mode=ro`` and an
   authorizer that allows only reads; PostgreSQL sessions start with
   ``default_transaction_read_only=on`` and every query runs in a read-only transaction that
   is rolled back; MariaDB/MySQL sessions are ``TRANSACTION READ ONLY``; DuckDB files open
   ``read_only`` with external access off. A read-only transaction does not stop a superuser
   (``COPY ... TO PROGRAM``) or a MariaDB user with FILE, so a connection whose role is
   privileged is refused unless ``allow_privileged`` (and one that can write is warned about).

Every query has a row cap, a cell and result size cap, and a time limit (SQLite: a progress
handler; PostgreSQL: ``statement_timeout``). The caps hold while reading, not after: rows are
fetched a few at a time (PostgreSQL through a server-side cursor, MariaDB/MySQL unbuffered),
each large cell is cut as it arrives, and reading stops at ``row_limit + 1`` rows or once the
result is ``max_result_chars`` long. On SQLite no single value may grow past
``max_value_bytes`` (SQLite's own length limit), so ``zeroblob(500000000)`` fails inside SQLite
instead of filling the agent's memory. Database errors come back to the model with the
database's own message. Writes need ``allow_writes=True`` for that connection *and* an approver
that says yes to the exact statement; without an approver they are refused.

>>> db = SQLDatabase("examples/llm-landscape/landscape.sqlite")          # doctest: +SKIP
>>> db.query("SELECT COUNT(*) FROM models")                              # doctest: +SKIP
(['COUNT(*)'], [(26,)], False)
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import sqlalchemy as sa
import sqlglot
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field
from sqlglot import exp
from sqlglot.tokens import TokenType

from agentmesh.errors import DatabaseError, ReadOnlyViolationError, ToolError

if TYPE_CHECKING:
    from agentmesh.answering.label_index import LabelIndex
    from agentmesh.answering.profile import DataProfile
from agentmesh.records import Citation
from agentmesh.tools._sql_functions import ALLOWED_FUNCTIONS, COMMON_FUNCTIONS, DANGEROUS_FUNCTIONS, TABLE_FUNCTIONS

__all__ = ["SQLDatabase", "SQLiteReader", "check_statement", "make_sql_tool", "make_sql_schema_tool", "render_rows", "SqlArgs", "row_conditions"]

logging.getLogger("sqlglot").setLevel(logging.ERROR)
log = logging.getLogger(__name__)

Approver = Callable[[str], bool]
_SQLITE_READ_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_WRITE_NODES = (
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command, exp.Into,
    exp.Lock, exp.Copy, exp.Set, exp.Pragma, exp.Attach, exp.Detach, exp.TruncateTable, exp.Transaction,
    exp.Commit, exp.Rollback, exp.Grant, exp.Use,
)
SQL_DESCRIPTION = (
    "Run one read-only SQL query ({dialect}) on the {name} database and get the rows back. Use it "
    "for numbers: filtering, sorting, comparing, counting. Call sql_schema first if you do not know "
    "the tables.\nTables: {tables}"
)
SQL_SCHEMA_DESCRIPTION = (
    "Describe the {name} database: tables, columns, types, keys and a few sample rows."
)
_DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite", "duckdb": "duckdb", "mysql": "mysql", "mariadb": "mysql"}


def _function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _function_names(tree: exp.Expression) -> set[str]:
    return {_function_name(node) for node in tree.find_all(exp.Func)}


_PATH_LIKE = re.compile(r"[/\\.:*?~]")
"""A character no plain table name needs and every path, glob or URL has (DuckDB reads a table
named ``'/x/y.csv'``, ``'data/*.parquet'`` or ``'https://...'`` as that file)."""


def _check_tables(tree: exp.Expression, dialect: str) -> None:
    """Every table is a name of the database's own (or a CTE's), or a table function from the
    dialect's short list; a file, a URL or another query in a table's place is refused."""
    allowed = TABLE_FUNCTIONS.get(dialect, frozenset())
    for table in tree.find_all(exp.Table):
        source = table.this
        if isinstance(source, exp.Func):
            name = _function_name(source)
            if name not in allowed:
                raise ReadOnlyViolationError(
                    f"refused: {name}(...) in a table's place is not one of the sql tool's {dialect} table functions "
                    f"({', '.join(sorted(allowed)) or 'none'}); the sql tool reads the database's own tables only")
            continue
        for part in (table.args.get(key) for key in ("this", "db", "catalog")):
            if part is None:
                continue
            if not isinstance(part, exp.Identifier) or _PATH_LIKE.search(part.name):
                raise ReadOnlyViolationError(
                    f"refused: the table {part.sql(dialect)!s:.80} looks like a file path, a URL or an expression; "
                    "the sql tool reads the database's own tables only (name them plainly: sql_schema lists them)")


_EXECUTABLE_COMMENT = re.compile(r"/\*M?!")
_BATCH = 5
"""Rows fetched first; more at a time while the rows are small, so a few MB at most are held uncut."""


def check_statement(sql: str, dialect: str = "sqlite", *, extra_functions: Iterable[str] = ()) -> exp.Expression:
    """Parse ``sql``; return it if it is one read-only query, else raise saying why.

    ``extra_functions`` widens the dialect's function allowlist (never past the denylist, never
    to a table function)."""
    if len(sql) > 100_000:
        raise ToolError(f"the query is {len(sql):,} characters long; the limit is 100,000")
    if dialect == "mysql" and _EXECUTABLE_COMMENT.search(sql):
        # MariaDB/MySQL execute the text of /*! ... */ and /*M! ... */: sqlglot would see a comment
        raise ReadOnlyViolationError("refused: /*! ... */ is an executable comment on MariaDB/MySQL; write the query without it")
    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
        if any(token.token_type == TokenType.INTO for token in tokens):
            # SELECT ... INTO OUTFILE/DUMPFILE writes files even in a read-only transaction; SELECT INTO makes tables
            raise ReadOnlyViolationError("refused: the query contains INTO; this database is read-only and the sql tool writes no files")
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        detail = exc.errors[0] if getattr(exc, "errors", None) else {}
        where = f" at line {detail.get('line')}, column {detail.get('col')}" if detail else ""
        raise ReadOnlyViolationError(f"refused: the statement does not parse as {dialect} SQL{where}; only plain queries may run") from None
    if len(statements) != 1:
        raise ReadOnlyViolationError(f"refused: {len(statements)} statements; send exactly one query per call")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise ReadOnlyViolationError(f"refused: {type(tree).__name__.upper()} is not a read-only query; this database is read-only")
    for node in tree.walk():
        if isinstance(node, _WRITE_NODES):
            raise ReadOnlyViolationError(f"refused: the query contains {type(node).__name__.upper()}; this database is read-only")
    names = _function_names(tree)
    dangerous = names & DANGEROUS_FUNCTIONS
    if dangerous:
        raise ReadOnlyViolationError(f"refused: {', '.join(sorted(dangerous))} may not run from the sql tool")
    _check_tables(tree, dialect)
    allowed = ALLOWED_FUNCTIONS.get(dialect, COMMON_FUNCTIONS)
    unknown = names - allowed - {name.lower() for name in extra_functions}
    if unknown:
        raise ReadOnlyViolationError(
            f"refused: {', '.join(sorted(unknown))} {'is' if len(unknown) == 1 else 'are'} not on the sql tool's list of "
            f"{dialect} functions for read-only analytics; if {'it is' if len(unknown) == 1 else 'they are'} free of side "
            "effects, a person can add it with the setting sql_functions")
    return tree


_READ_PRAGMAS = frozenset({"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
                           "foreign_key_list", "database_list", "collation_list"})


def _authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action == sqlite3.SQLITE_PRAGMA:  # schema introspection, and reading a setting (SQLAlchemy does on connect)
        name = (arg1 or "").lower()
        return sqlite3.SQLITE_OK if name in _READ_PRAGMAS or (name == "read_uncommitted" and arg2 is None) else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DANGEROUS_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in _SQLITE_READ_ACTIONS else sqlite3.SQLITE_DENY


def _url(target: str | Path) -> tuple[sa.URL, Path | None]:
    text = str(target)
    if "://" not in text:
        path = Path(text)
        if not path.is_file():
            raise DatabaseError(f"database '{path}' does not exist; pass an existing SQLite file or a SQLAlchemy URL with --db")
        return sa.make_url(f"sqlite:///{path.resolve()}"), path.resolve()
    try:
        url = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise DatabaseError(f"database URL '{text}' is not valid: {exc}") from None
    path = Path(url.database).resolve() if url.get_backend_name() == "sqlite" and url.database else None
    if path is not None and not path.is_file():
        raise DatabaseError(f"database '{path}' does not exist; pass an existing SQLite file with --db")
    return url, path


class SQLDatabase:
    """One database connection, read-only by default.

    ``allow_writes`` enables writes on this connection only, and each write still needs
    ``approve(statement)`` to return True (a human approval step: issue 7 wires it to the REPL,
    the web page and Slack)."""

    def __init__(
        self,
        target: str | Path,
        *,
        row_limit: int = 200,
        timeout: float = 10.0,
        allow_writes: bool = False,
        approve: Approver | None = None,
        sample_rows: int = 3,
        name: str | None = None,
        role: str | None = None,
        allow_privileged: bool = False,
        functions: Iterable[str] = (),
        max_cell_chars: int = 2_000,
        max_result_chars: int = 100_000,
        max_value_bytes: int = 8_000_000,
    ) -> None:
        self.url, self.path = _url(target)
        self.backend = self.url.get_backend_name()
        self.dialect = _DIALECTS.get(self.backend, self.backend)
        self.row_limit = row_limit
        self.timeout = timeout
        self.allow_writes = allow_writes
        self.approve = approve
        self.sample_rows = sample_rows
        self.name = name or (self.path.stem if self.path else (self.url.database or self.backend))
        self.role = role
        self.allow_privileged = allow_privileged
        self.functions = frozenset(f.lower() for f in functions)
        self.max_cell_chars = max_cell_chars
        self.max_result_chars = max_result_chars
        self.max_value_bytes = max_value_bytes
        if role is not None and self.backend != "postgresql":
            raise DatabaseError(f"database '{self.display}': sql_role works on PostgreSQL only (SET ROLE); on "
                                f"{self.backend}, connect as a user that may only read")
        self.engine = self._engine(read_only=True)
        self._writer: sa.Engine | None = None
        self._profile: "DataProfile | Callable[[], DataProfile] | None" = None
        try:
            with self.engine.connect() as conn:
                self.privileges = self._check_privileges(conn)
                self.tables = sorted(self._tables(conn))
                # each table's columns, keys and foreign keys: read once here for every tool built on it
                self.described = {t: self._describe(conn, t) for t in self.tables}
                self.columns = {t: [name for name, _ in self.described[t][0]] for t in self.tables}
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(f"database '{self.display}' cannot be opened: {_message(exc)}") from None
        except ModuleNotFoundError as exc:
            extra = {"psycopg": "postgres", "psycopg2": "postgres", "pymysql": "mysql", "MySQLdb": "mysql",
                     "duckdb": "duckdb", "duckdb_engine": "duckdb"}.get(exc.name or "", "the driver's package")
            raise DatabaseError(f"database '{self.display}' needs the driver '{exc.name}'; pip install 'agentmesh[{extra}]'") from None

    @property
    def display(self) -> str:
        return str(self.path) if self.path else self.url.render_as_string(hide_password=True)

    def _engine(self, *, read_only: bool) -> sa.Engine:
        if self.backend == "sqlite":
            path = self.path
            mode = "ro" if read_only else "rw"
            longest = self.max_value_bytes

            def connect() -> sqlite3.Connection:
                conn = sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, check_same_thread=False)
                if read_only:
                    conn.set_authorizer(_authorizer)
                    # no string or blob, in the result or on the way, longer than this: zeroblob(5e8) fails in SQLite
                    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, longest)
                return conn

            return sa.create_engine("sqlite://", creator=connect, poolclass=sa.pool.NullPool)
        if self.backend == "postgresql":
            options = f"-c statement_timeout={int(self.timeout * 1000)}"
            if read_only:
                options += " -c default_transaction_read_only=on"
            if self.role:  # SET ROLE at session start; the login's own rights still count (see _check_privileges)
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", self.role):
                    raise DatabaseError(f"sql_role '{self.role}' is not a plain PostgreSQL role name")
                options += f" -c role={self.role}"
            engine = sa.create_engine(self.url, connect_args={"options": options}, pool_pre_ping=True)
            if read_only:  # session locks outlive a read-only transaction: release them before reuse
                sa.event.listen(engine, "checkin", _release_session_locks("SELECT pg_advisory_unlock_all()"))
            return engine.execution_options(postgresql_readonly=True) if read_only else engine
        if self.backend in ("mysql", "mariadb"):
            engine = sa.create_engine(self.url, pool_pre_ping=True)
            timeout = self.timeout

            @sa.event.listens_for(engine, "connect")
            def _session(dbapi_conn: Any, _record: Any) -> None:
                cursor = dbapi_conn.cursor()
                try:
                    if read_only:  # every transaction of this session is read-only: DML fails in the server
                        cursor.execute("SET SESSION TRANSACTION READ ONLY")
                    try:  # MariaDB: seconds; MySQL: milliseconds
                        cursor.execute(f"SET SESSION max_statement_time = {timeout:g}")
                    except Exception:
                        cursor.execute(f"SET SESSION max_execution_time = {int(timeout * 1000)}")
                finally:
                    cursor.close()

            if read_only:  # GET_LOCK's locks belong to the session, not to the read-only transaction
                sa.event.listen(engine, "checkin", _release_session_locks("SELECT RELEASE_ALL_LOCKS()"))
            return engine
        if self.backend == "duckdb":
            if self.url.database and self.url.database != ":memory:" and not Path(self.url.database).is_file():
                raise DatabaseError(f"database '{self.url.database}' does not exist; pass an existing DuckDB file")
            config = {"enable_external_access": False} if read_only else {}  # no files, URLs or extensions
            return sa.create_engine(self.url, connect_args={"read_only": read_only, "config": config},
                                    poolclass=sa.pool.NullPool)
        log.warning("database backend %s: read-only is enforced by the statement check only, not by the connection",
                    self.backend)
        return sa.create_engine(self.url)

    def _check_privileges(self, conn: sa.Connection) -> str:
        """What the connection's role may do beyond reading: ``"read"``, ``"write"`` or ``"privileged"``.

        A privileged role (PostgreSQL superuser or server-file roles; MariaDB/MySQL FILE, SUPER or
        ALL on ``*.*``) makes the connection layer worthless: it can run ``COPY ... TO PROGRAM`` or
        write server files whatever the transaction mode. Such a connection is refused unless
        ``allow_privileged``; a role that can write gets a warning."""
        if self.backend == "postgresql":
            row = conn.exec_driver_sql(
                "SELECT s.rolsuper OR c.rolsuper OR pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER') "
                "OR pg_has_role(current_user, 'pg_write_server_files', 'MEMBER') "
                "OR pg_has_role(current_user, 'pg_read_server_files', 'MEMBER'), "
                "EXISTS (SELECT 1 FROM information_schema.table_privileges WHERE grantee IN (current_user, 'PUBLIC') "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema') "
                "AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')) "
                "OR EXISTS (SELECT 1 FROM pg_tables WHERE tableowner = current_user "
                "AND schemaname NOT IN ('pg_catalog', 'information_schema')), session_user, current_user "
                "FROM pg_roles s, pg_roles c WHERE s.rolname = session_user AND c.rolname = current_user").one()
            conn.rollback()
            privileged, writes, login, role = row
            who = f"role '{role}'" + (f" (login '{login}')" if login != role else "")
            why = "is a superuser or may run programs and read or write files on the server"
        elif self.backend in ("mysql", "mariadb"):
            grants = [r[0].upper() for r in conn.exec_driver_sql("SHOW GRANTS")]
            conn.rollback()
            global_grants = [g.split(" ON ")[0] for g in grants if " ON *.* " in g]
            privileged = any(word in g for g in global_grants for word in ("ALL PRIVILEGES", "FILE", "SUPER"))
            writes = any(word in g.split(" ON ")[0] for g in grants
                         for word in ("ALL PRIVILEGES", "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER"))
            who = "user " + str(conn.exec_driver_sql("SELECT CURRENT_USER()").scalar())
            conn.rollback()
            why = "has FILE, SUPER or ALL PRIVILEGES on *.*: it can read and write files on the server"
        else:
            return "read"  # SQLite and DuckDB files: the connection is opened read-only by agentmesh itself
        if privileged:
            message = (f"database '{self.display}': the {who} {why}, so a read-only session does not protect the "
                       "server. Connect as a role that may only read (README: 'A read-only database role'), or set "
                       "sql_allow_privileged = true to rely on the statement check alone")
            if not self.allow_privileged:
                raise DatabaseError(message)
            log.warning("%s (sql_allow_privileged is on)", message.split(". Connect")[0])
            return "privileged"
        if writes:
            log.warning("database '%s': the %s can write tables; only the read-only session stops writes. A role that "
                        "may only SELECT is safer (README: 'A read-only database role')", self.display, who)
            return "write"
        return "read"

    def _sqlite_deadline(self, conn: sa.Connection) -> None:
        raw = conn.connection.dbapi_connection
        deadline = time.monotonic() + self.timeout
        raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)

    def query(self, sql: str) -> tuple[list[str], list[tuple], bool]:
        """Run one read-only query; column names, at most ``row_limit`` rows, and whether rows were cut."""
        try:
            check_statement(sql, self.dialect, extra_functions=self.functions)
        except ReadOnlyViolationError:
            if self.allow_writes:
                return self._write(sql)
            raise
        try:
            with self.engine.connect() as conn:
                if self.backend == "sqlite":
                    self._sqlite_deadline(conn)
                elif self.backend == "duckdb":  # DuckDB has no statement timeout: interrupt it from a timer
                    timer = threading.Timer(self.timeout, conn.connection.dbapi_connection.interrupt)
                    timer.daemon = True
                    timer.start()
                # the driver's own cursor, without parameters: '%' in LIKE patterns stays literal
                dbapi = conn.connection.dbapi_connection
                cursor = self._streaming_cursor(dbapi)
                try:
                    cursor.execute(sql)
                    columns = [d[0] for d in cursor.description] if cursor.description else []
                    rows, truncated = self._read(cursor) if columns else ([], False)
                    if self.backend == "duckdb":
                        rows = _single_precision(cursor.description, rows)
                finally:
                    cursor.close()
                    if self.backend == "duckdb":
                        timer.cancel()
                    try:
                        dbapi.rollback()
                    except Exception:  # DuckDB in autocommit has no transaction to roll back
                        if self.backend != "duckdb":
                            raise
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(exc) from None
        except Exception as exc:  # a DBAPI error raised outside SQLAlchemy's wrappers
            if type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg", "psycopg2", "duckdb", "_duckdb", "pymysql"):
                raise self._error(exc) from None
            raise
        return columns, rows, truncated

    def _streaming_cursor(self, dbapi: Any) -> Any:
        """A cursor that hands rows over as they are fetched: the driver's default reads the
        whole result into memory first (psycopg, pymysql), whatever ``fetchmany`` asks."""
        if self.backend == "postgresql" and hasattr(dbapi, "cursor"):
            try:  # a server-side cursor (DECLARE ... CURSOR inside the read-only transaction)
                return dbapi.cursor(name=f"agentmesh_{time.monotonic_ns()}")
            except TypeError:  # a driver without named cursors
                return dbapi.cursor()
        if self.backend in ("mysql", "mariadb"):
            try:
                import pymysql.cursors

                if type(dbapi).__module__.startswith("pymysql"):
                    return dbapi.cursor(pymysql.cursors.SSCursor)
            except ImportError:
                pass
        return dbapi.cursor()

    def _read(self, cursor: Any) -> tuple[list[tuple], bool]:
        """At most ``row_limit`` rows, each cell cut to ``max_cell_chars`` as it arrives, all at
        most ``max_result_chars``; reading stops as soon as one more row would not be shown."""
        kept: list[tuple] = []
        total, size = 0, _BATCH
        while True:
            batch = cursor.fetchmany(min(size, self.row_limit + 1 - len(kept)))
            if not batch:
                return kept, False
            if sum(_raw_size(v) for row in batch for v in row) < 1_000_000:  # small rows: fetch more at a time
                size = min(size * 4, 400)
            for row in batch:
                if len(kept) == self.row_limit:
                    return kept, True
                row = tuple(_cap_cell(v, self.max_cell_chars) for v in row)
                total += sum(len(str(v)) for v in row)
                if kept and total > self.max_result_chars:
                    return kept, True
                kept.append(row)

    def _write(self, sql: str) -> tuple[list[str], list[tuple], bool]:
        if self.approve is None:
            raise ReadOnlyViolationError("refused: writes are enabled for this database but no approver is set, so nobody can approve this statement")
        if not self.approve(sql):
            raise ReadOnlyViolationError("refused: the write was not approved")
        if self._writer is None:
            self._writer = self._engine(read_only=False)
        try:
            with self._writer.begin() as conn:
                result = conn.exec_driver_sql(sql)
                count = result.rowcount
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(exc) from None
        return ["rows_affected"], [(count,)], False

    def _error(self, exc: BaseException) -> ToolError:
        message = _message(exc)
        lowered = message.lower()
        if "not authorized" in lowered or "readonly" in lowered or "read-only" in lowered or "read only" in lowered \
                or "read_only" in lowered:
            return ReadOnlyViolationError(f"refused by the database: it is read-only ({message})", layer="database")
        if "string or blob too big" in lowered:
            return ToolError(f"a value of the result would be longer than {self.max_value_bytes:,} bytes, the sql tool's "
                             "limit per value; select part of it (substr(column, 1, 1000)) or its length instead")
        if "interrupted" in lowered or "statement timeout" in lowered or "canceling statement" in lowered:
            return ToolError(f"the query ran longer than {self.timeout:g}s and was stopped; make it cheaper")
        return ToolError(f"{self.backend} error: {message}")

    def _tables(self, conn: sa.Connection) -> list[str]:
        if self.backend == "duckdb":  # duckdb-engine's introspection fails on SQLAlchemy 2.1: ask DuckDB itself
            return [r[0] for r in conn.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
        names = sa.inspect(conn).get_table_names()
        if self.backend == "postgresql":  # a read-only role sees the tables it was granted, not every table
            readable = {r[0] for r in conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND has_table_privilege(format('%%I.%%I', schemaname, tablename), 'SELECT')")}
            names = [n for n in names if n in readable]
        return names

    def _describe(self, conn: sa.Connection, table: str) -> tuple[list[tuple[str, str]], set[str], list[tuple[list, str, list]]]:
        """Columns (name, type), primary-key columns, and foreign keys (columns, table, their columns)."""
        if self.backend == "duckdb":
            columns = [(r[0], r[1]) for r in conn.exec_driver_sql(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "AND table_schema = current_schema() ORDER BY ordinal_position", (table,))]
            pk: set[str] = set()
            fks = []
            for kind, own, other, theirs in conn.exec_driver_sql(
                    "SELECT constraint_type, constraint_column_names, referenced_table, referenced_column_names "
                    "FROM duckdb_constraints() WHERE table_name = ?", (table,)):
                if kind == "PRIMARY KEY":
                    pk |= set(own)
                elif kind == "FOREIGN KEY":
                    fks.append((list(own), other, list(theirs)))
            return columns, pk, fks
        inspector = sa.inspect(conn)
        columns = [(c["name"], str(c["type"])) for c in inspector.get_columns(table)]
        pk = set(inspector.get_pk_constraint(table).get("constrained_columns") or [])
        fks = [(fk["constrained_columns"], fk["referred_table"], fk["referred_columns"]) for fk in inspector.get_foreign_keys(table)]
        return columns, pk, fks

    @property
    def profile(self) -> "DataProfile":
        """What the data says about itself (labels, measures and units, categories, foreign-key
        paths): :mod:`agentmesh.answering.profile`. Built from the data on first use unless one was
        given (:meth:`use_profile`: the assembly gives the one stored in the data home)."""
        if callable(self._profile):
            self._profile = self._profile()
        if self._profile is None:
            from agentmesh.answering.profile import build_profile

            self._profile = build_profile(self)
        return self._profile

    def use_profile(self, profile: "DataProfile | Callable[[], DataProfile]") -> None:
        """Name rows by ``profile`` (one stored, or with the user's lexicon applied), or by what
        ``profile()`` returns when it is first needed."""
        self._profile = profile
        self.__dict__.pop("label_index", None)

    @cached_property
    def label_index(self) -> "LabelIndex":
        """Every label value of every table with a label of its own, looked up by its words: read
        once (one ``SELECT DISTINCT`` per table), for ``sql_rank`` and ``sql_lookup`` both."""
        from agentmesh.answering.label_index import LabelIndex

        return LabelIndex.build(self, self.profile)

    @property
    def labels(self) -> dict[str, tuple[list[str], list[str]]]:
        """Each table whose rows its own columns name: those columns and every value (no cap)."""
        profile, index = self.profile, self.label_index
        return {t: (list(profile.tables[t].label.columns), index.values.get(t, [])) for t in profile.labelled()}

    def schema(self) -> str:
        """Tables, columns, types, keys and sample rows, as text for the model."""
        lines = []
        try:
            with self.engine.connect() as conn:
                for table in self.tables:
                    columns, pk, fks = self._describe(conn, table)
                    cols = ", ".join(f"{name} {kind}{' PRIMARY KEY' if name in pk else ''}" for name, kind in columns)
                    lines.append(f"TABLE {table} ({cols})")
                    for own, other, theirs in fks:
                        lines.append(f"  FOREIGN KEY ({', '.join(own)}) REFERENCES {other}({', '.join(theirs)})")
                    if self.sample_rows:
                        quoted = sa.sql.quoted_name(table, quote=True)
                        rows = conn.execute(sa.select(sa.text("*")).select_from(sa.table(quoted)).limit(self.sample_rows)).fetchall()
                        for row in rows:
                            lines.append("  sample: " + " | ".join(_cell(v) for v in row))
                    conn.rollback()
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(exc) from None
        # pure data: the graph wraps every tool result in <data> for the model, and the system
        # prompt says never to follow instructions inside it; a person sees only the schema
        return "\n".join(lines)


def _release_session_locks(statement: str) -> Callable[[Any, Any], None]:
    """A pool ``checkin`` hook: a connection goes back to the pool holding no session lock."""

    def release(dbapi_conn: Any, _record: Any) -> None:
        if dbapi_conn is None:
            return
        try:
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(statement)
            finally:
                cursor.close()
            dbapi_conn.rollback()
        except Exception:  # a broken connection: the pool discards it, and its locks with it
            log.debug("could not release session locks on a pooled connection", exc_info=True)

    return release


def _message(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _raw_size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, bytearray, memoryview)) else 8


def _cap_cell(value: Any, limit: int) -> Any:
    if isinstance(value, (str, bytes, bytearray, memoryview)) and len(value) > limit:
        kind = "characters" if isinstance(value, str) else "bytes"
        head = value[:limit] if isinstance(value, str) else bytes(value[:limit]).hex()[:limit]
        return f"{head}... (cut: {len(value) - limit:,} more {kind})"
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    text = str(value).replace("\n", " ")
    text = text if len(text) <= 60 else text[:57] + "..."
    return repr(text) if isinstance(value, str) else text


def _single_precision(description, rows: list) -> list:
    """DuckDB hands a REAL (4-byte) value over as the double nearest to it: 40.2 stored arrives
    as 40.20000076293945, and an answer saying 40.2 would not match its own row. Such values are
    shown as the shortest decimal that is the same 4-byte number, as PostgreSQL and MariaDB
    (which send text) already show them."""
    single = [i for i, d in enumerate(description) if str(d[1]) == "FLOAT"]
    if not single:
        return rows
    import numpy as np

    def shown(v):
        return float(str(np.float32(v))) if isinstance(v, float) else v
    return [tuple(shown(v) if i in single else v for i, v in enumerate(row)) for row in rows]


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


class SQLiteReader(SQLDatabase):
    """A read-only SQLite file (kept for the spine's API)."""


def row_conditions(query: str, dialect: str = "sqlite") -> list[str]:
    """What every row of ``query``'s result is known to meet: the ``column = 'value'`` tests
    ANDed at the top of its WHERE ("license_id = MIT"). A count from ``... WHERE license_id =
    'MIT'`` is the count of MIT's models, though no cell of it says MIT; a test under OR or NOT,
    in a subquery or a join's ON, says nothing of every row, and is left out."""
    return list(_row_conditions(query, dialect))


@lru_cache(maxsize=1024)
def _row_conditions(query: str, dialect: str) -> tuple[str, ...]:
    """:func:`row_conditions`, parsed once per query: the evidence of a turn is read more than once."""
    try:
        tree = sqlglot.parse_one(query, read=dialect)
    except Exception:  # noqa: BLE001 - the query ran on the database; sqlglot may not read every dialect
        return ()
    where = tree.args.get("where") if isinstance(tree, exp.Select) else None
    if where is None:
        return ()
    tests = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
    found = []
    for test in tests:
        if not isinstance(test, exp.EQ):
            continue
        column, value = (test.this, test.expression) if isinstance(test.this, exp.Column) else (test.expression, test.this)
        if isinstance(column, exp.Column) and isinstance(value, exp.Literal):
            found.append(f"{column.name} = {value.this}")
    return tuple(found)


class SqlArgs(BaseModel):
    query: str = Field(description="One SQL query.")


def make_sql_tool(db: SQLDatabase, *, name: str = "sql") -> BaseTool:
    def run_sql(query: str) -> tuple[str, list[dict]]:
        columns, rows, truncated = db.query(query)
        citation = Citation(kind="sql", ref=db.display, detail=query.strip())
        return render_rows(columns, rows, truncated, db.row_limit), [citation.model_dump()]

    def writes(args: dict) -> bool:
        """The call needs a person's approval: writes are on and this statement is not a plain read."""
        if not db.allow_writes:
            return False
        try:
            check_statement(str(args.get("query", "")), db.dialect)
        except ReadOnlyViolationError:
            return True
        return False

    return StructuredTool.from_function(
        run_sql,
        name=name,
        # each row's evidence carries what the query's WHERE says of every row (graphs.evidence)
        metadata={"approval": writes, "row_conditions": lambda args: row_conditions(str(args.get("query", "")), db.dialect)},
        description=SQL_DESCRIPTION.format(
            dialect=db.dialect, name=db.name,
            tables=", ".join(f"{t}({', '.join(db.columns[t])})" for t in db.tables) or "(none)",
        ),
        args_schema=SqlArgs,
        response_format="content_and_artifact",
    )


class _NoArgs(BaseModel):
    pass


def make_sql_schema_tool(db: SQLDatabase, *, name: str = "sql_schema") -> BaseTool:
    def sql_schema() -> str:
        return db.schema()

    return StructuredTool.from_function(
        sql_schema, name=name, description=SQL_SCHEMA_DESCRIPTION.format(name=db.name), args_schema=_NoArgs,
        metadata={"evidence": False},  # tables and columns say where to look, not what is so
    )
