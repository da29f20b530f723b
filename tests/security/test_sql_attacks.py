"""Attacks on the sql tool, on a real SQLite file and real PostgreSQL, MariaDB and DuckDB databases.

Each attack runs three times: against the whole tool, against the statement check alone (the
connection may write, as a superuser), and against the connection alone (the statement check is
switched off). Each layer must hold on its own. The whole tool and the statement check alone
must refuse every attack *in the statement check* (the database never sees it), except the
attacks that only a limit can stop. The connection alone contains an attack when the database
refuses it or it does no harm: the data, the tables, the server's side state and the files it
meant to write are unchanged, and nothing secret comes back."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from agentmesh.errors import DatabaseError, ReadOnlyViolationError, ToolError
from agentmesh.tools import sql as sql_module
from agentmesh.tools.sql import SQLDatabase

EXAMPLE_DB = Path(__file__).resolve().parents[2] / "examples" / "llm-landscape" / "landscape.sqlite"
PG_URL = os.environ.get("AGENTMESH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_READER_URL = PG_URL.replace("//postgres@", "//am_reader@")
LAYERS = ("whole", "statement_check_alone", "connection_alone")
LIMIT_ATTACKS = {"one_megabyte_query", "runaway_recursion", "cartesian_explosion"}
"""Attacks that are valid read-only queries: only the size and time limits stop them."""
SECRET_MARKERS = ("root:x:0:0", "root:*:0:0")

SQLITE_ATTACKS = {
    "drop": "DROP TABLE models",
    "delete": "DELETE FROM models",
    "update": "UPDATE prices SET input_per_1m_usd = 0",
    "insert": "INSERT INTO licenses VALUES ('x', 'x', 0, 'x')",
    "replace": "REPLACE INTO licenses VALUES ('MIT', 'x', 0, 'x')",
    "upsert": "INSERT INTO licenses VALUES ('MIT','x',0,'x') ON CONFLICT(id) DO UPDATE SET name='pwned'",
    "insert_returning": "INSERT INTO licenses VALUES ('y','y',0,'y') RETURNING *",
    "create_table": "CREATE TABLE t (a)",
    "create_index": "CREATE INDEX ix ON models(name)",
    "create_view": "CREATE VIEW v AS SELECT 1",
    "create_trigger": "CREATE TRIGGER tr AFTER INSERT ON models BEGIN DELETE FROM models; END",
    "alter": "ALTER TABLE models ADD COLUMN pwned TEXT",
    "attach": "ATTACH DATABASE '/tmp/agentmesh-attached.sqlite' AS other",
    "detach": "DETACH DATABASE main",
    "pragma_journal": "PRAGMA journal_mode = DELETE",
    "pragma_writable_schema": "PRAGMA writable_schema = ON",
    "pragma_user_version": "PRAGMA user_version = 42",
    "vacuum": "VACUUM",
    "vacuum_into": "VACUUM INTO '/tmp/agentmesh-stolen.sqlite'",
    "reindex": "REINDEX",
    "analyze": "ANALYZE",
    "drop_after_select": "SELECT 1; DROP TABLE models",
    "drop_after_comment": "SELECT 1 -- harmless\n; DROP TABLE models",
    "comment_obfuscated": "/* just a comment */ DrOp /**/ TABLE models",
    "cte_wrapping_delete": "WITH x AS (SELECT 1) DELETE FROM models",
    "delete_in_cte": "WITH gone AS (DELETE FROM models RETURNING *) SELECT * FROM gone",
    "load_extension": "SELECT load_extension('/tmp/evil.so')",
    "writefile": "SELECT writefile('/tmp/agentmesh-written.txt', 'x')",
    "begin_transaction": "BEGIN IMMEDIATE",
    "savepoint": "SAVEPOINT s1",
    "one_megabyte_query": "SELECT " + " + ".join(["1"] * 300_000),
    "runaway_recursion": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r",
    "cartesian_explosion": "SELECT COUNT(*) FROM models a, models b, models c, models d, models e, models f, models g",
}


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_layer(monkeypatch, layer: str, target, **kwargs) -> SQLDatabase:
    """The sql tool with one layer switched off: the statement check, or the read-only connection."""
    if layer == "connection_alone":
        monkeypatch.setattr(sql_module, "check_statement", lambda sql, dialect, **_: None)
    elif layer == "statement_check_alone":
        real = SQLDatabase._engine
        monkeypatch.setattr(SQLDatabase, "_engine", lambda self, read_only: real(self, read_only=False))
        kwargs["allow_privileged"] = True
    return SQLDatabase(target, timeout=2, **kwargs)


def assert_contained(db: SQLDatabase, name: str, attack: str, state, leftovers: tuple[str, ...], layer: str,
                     secrets: tuple[str, ...] = SECRET_MARKERS) -> None:
    """The attack is refused by the layer that should refuse it, or (connection alone) does no harm."""
    before = state()
    try:
        _, rows, _ = db.query(attack)
    except ReadOnlyViolationError as exc:
        if layer != "connection_alone" and name not in LIMIT_ATTACKS:
            assert exc.layer == "statement", f"refused by the {exc.layer}, not by the statement check: {exc}"
    except ToolError as exc:
        if layer != "connection_alone":
            assert name in LIMIT_ATTACKS, f"only a limit should stop a valid query; the statement check let this through: {exc}"
    else:
        assert layer == "connection_alone", f"the attack ran: {rows!r:.200}"
        assert not any(marker in str(rows) for marker in secrets), f"a server file came back: {rows!r:.200}"
    assert state() == before
    for leftover in leftovers:
        assert not os.path.exists(leftover), f"{leftover} was written"


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    copy = tmp_path_factory.mktemp("sqlite") / "landscape.sqlite"
    shutil.copy(EXAMPLE_DB, copy)
    return copy


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(SQLITE_ATTACKS))
def test_attack_sql_sqlite(sqlite_db, name, layer, monkeypatch):
    db = open_layer(monkeypatch, layer, sqlite_db)
    assert_contained(db, name, SQLITE_ATTACKS[name], lambda: checksum(sqlite_db),
                     ("/tmp/agentmesh-stolen.sqlite", "/tmp/agentmesh-attached.sqlite", "/tmp/agentmesh-written.txt"), layer)
    assert db.query("SELECT COUNT(*) FROM models")[1] == [(26,)]  # still serving reads


def test_sqlite_connection_alone_refuses_writes_in_the_database(sqlite_db, monkeypatch):
    """With the statement check off, mode=ro and the authorizer still refuse, and say so."""
    db = open_layer(monkeypatch, "connection_alone", sqlite_db)
    for attack in ("DELETE FROM models", "ATTACH DATABASE '/tmp/agentmesh-attached.sqlite' AS other",
                   "SELECT load_extension('/tmp/evil.so')", "PRAGMA writable_schema = ON"):
        with pytest.raises(ToolError):
            db.query(attack)
    with pytest.raises(ReadOnlyViolationError) as refused:
        db.query("UPDATE prices SET input_per_1m_usd = 0")
    assert refused.value.layer == "database"


def test_sql_cells_and_results_are_capped(sqlite_db):
    """A 3 MB cell does not come back whole, nor do many large rows; a value past 8 MB is not made."""
    db = SQLDatabase(sqlite_db, max_cell_chars=1000, max_result_chars=50_000)
    (cell,), = db.query("SELECT printf('%.*c', 3000000, 'x')")[1]
    assert len(cell) < 1100 and cell.endswith("(cut: 2,999,000 more characters)")
    with pytest.raises(ToolError, match="longer than 8,000,000 bytes, the sql tool's limit per value"):
        SQLDatabase(sqlite_db, functions=["zeroblob"]).query("SELECT zeroblob(30000000)")
    rows, truncated = db.query("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 150) "
                               "SELECT n, printf('%.*c', 900, 'y') FROM r")[1:]
    assert truncated and 50 <= len(rows) <= 56


def test_a_semicolon_inside_a_string_is_just_data(sqlite_db):
    assert SQLDatabase(sqlite_db).query("SELECT ';DROP TABLE models' AS s")[1] == [(";DROP TABLE models",)]


# -- PostgreSQL: a real server on 127.0.0.1 ------------------------------------------------------

@pytest.fixture(scope="module")
def pg():
    """A scratch schema on the local PostgreSQL, filled by a privileged connection, and a login
    role ``am_reader`` that may only SELECT from it (what README tells users to create)."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'agentmesh[postgres]'")
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS am_secrets, am_models")
            conn.exec_driver_sql("CREATE TABLE am_models (id int PRIMARY KEY, name text, mmlu real)")
            conn.exec_driver_sql("INSERT INTO am_models VALUES (1, 'GPT-4', 86.4), (2, 'Mixtral', 70.6)")
            conn.exec_driver_sql("CREATE TABLE am_secrets (k text)")
            for role in ("am_app", "am_reader"):
                conn.exec_driver_sql(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
                                     f"THEN CREATE ROLE {role} LOGIN; END IF; END $$")
            conn.exec_driver_sql("GRANT SELECT ON am_models, am_secrets TO am_reader")
            conn.exec_driver_sql("GRANT SELECT, INSERT ON am_models TO am_app")
            conn.exec_driver_sql("GRANT am_reader TO am_app")
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG_URL}: {str(exc.orig).splitlines()[0]}")
    yield admin
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS am_secrets, am_models")
        for slot, in conn.exec_driver_sql("SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'am\\_%%'"):
            conn.exec_driver_sql(f"SELECT pg_drop_replication_slot('{slot}')")
    admin.dispose()


def pg_checksum(admin) -> str:
    """The data, the tables, and the side state a read-only transaction does not undo."""
    with admin.connect() as conn:
        rows = conn.exec_driver_sql("SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM am_models t").scalar()
        tables = conn.exec_driver_sql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE left(tablename, 3) = 'am_'").scalar()
        slots = conn.exec_driver_sql("SELECT count(*) FROM pg_replication_slots").scalar()
        locks = conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").scalar()
        roles = conn.exec_driver_sql("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'am\\_%%'").scalar()
    return f"{rows}/{tables}/slots={slots}/advisory={locks}/{roles}"


PG_ATTACKS = {
    "drop": "DROP TABLE am_models",
    "delete": "DELETE FROM am_models",
    "update": "UPDATE am_models SET mmlu = 0",
    "insert": "INSERT INTO am_models VALUES (3, 'x', 1)",
    "truncate": "TRUNCATE am_models",
    "create": "CREATE TABLE am_pwned (a int)",
    "alter": "ALTER TABLE am_models ADD COLUMN pwned text",
    "grant": "GRANT ALL ON am_models TO PUBLIC",
    "select_into": "SELECT * INTO am_copy FROM am_models",
    "for_update": "SELECT * FROM am_models FOR UPDATE",
    "copy_to_program": "COPY am_models TO PROGRAM 'touch /tmp/agentmesh-pg-pwned'",
    "copy_select_to_program": "COPY (SELECT 1) TO PROGRAM 'touch /tmp/agentmesh-pg-pwned'",
    "copy_from_file": "COPY am_models FROM '/etc/passwd'",
    "read_server_file": "SELECT pg_read_file('/etc/passwd')",
    "list_server_dir": "SELECT pg_ls_dir('/')",
    "large_object_import": "SELECT lo_import('/etc/passwd')",
    "set_read_write": "SET default_transaction_read_only = off",
    "set_config_read_write": "SELECT set_config('default_transaction_read_only', 'off', false)",
    "drop_after_select": "SELECT 1; DROP TABLE am_models",
    "delete_in_cte": "WITH gone AS (DELETE FROM am_models RETURNING *) SELECT * FROM gone",
    "begin_commit": "BEGIN; DELETE FROM am_models; COMMIT",
    "query_to_xml_delete": "SELECT query_to_xml('DELETE FROM am_models RETURNING 1', true, true, '')",
    "terminate_backends": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
    "sleep_forever": "SELECT pg_sleep(60)",
    "do_block": "DO $$ BEGIN DELETE FROM am_models; END $$",
    # side effects a read-only transaction does not stop (a class: the allowlist refuses them all)
    "replication_slot": "SELECT pg_create_physical_replication_slot('am_pwned_slot')",
    "logical_slot": "SELECT pg_create_logical_replication_slot('am_pwned_logical', 'test_decoding')",
    "advisory_lock": "SELECT pg_advisory_lock(4242)",
    "try_advisory_lock": "SELECT pg_try_advisory_lock(4243)",
    "qualified_advisory_lock": "SELECT pg_catalog.pg_try_advisory_lock(4244)",
    "quoted_advisory_lock": 'SELECT "pg_try_advisory_lock"(4245)',
    "stats_reset": "SELECT pg_stat_reset()",
    "notify": "SELECT pg_notify('am_channel', 'pwned')",
    "reset_role": "RESET ROLE",
    "create_role": "CREATE ROLE am_pwned SUPERUSER",
}


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(PG_ATTACKS))
def test_attack_sql_postgres(pg, name, layer, monkeypatch):
    url = PG_URL if layer == "statement_check_alone" else PG_READER_URL
    db = open_layer(monkeypatch, layer, url)
    assert_contained(db, name, PG_ATTACKS[name], lambda: pg_checksum(pg), ("/tmp/agentmesh-pg-pwned",), layer)
    db.engine.dispose()


def test_postgres_superuser_login_is_refused(pg):
    with pytest.raises(DatabaseError, match="role 'postgres' is a superuser.*read-only database role.*sql_allow_privileged"):
        SQLDatabase(PG_URL)
    # SET ROLE over a superuser login is not enough: RESET ROLE gives the superuser back
    with pytest.raises(DatabaseError, match="login 'postgres'"):
        SQLDatabase(PG_URL, role="am_reader")


def test_postgres_superuser_login_runs_when_allowed_with_a_warning(pg, caplog):
    db = SQLDatabase(PG_URL, allow_privileged=True)
    assert db.privileges == "privileged" and "sql_allow_privileged is on" in caplog.text
    assert db.query("SELECT count(*) FROM am_models")[1] == [(2,)]
    db.engine.dispose()


def test_postgres_role_that_can_write_is_warned_about_and_set_role_reads_only(pg, caplog):
    app_url = PG_URL.replace("//postgres@", "//am_app@")
    db = SQLDatabase(app_url)
    assert db.privileges == "write" and "can write tables" in caplog.text
    db.engine.dispose()
    caplog.clear()
    reader = SQLDatabase(app_url, role="am_reader")
    assert reader.privileges == "read" and "can write" not in caplog.text
    assert reader.query("SELECT current_user")[1] == [("am_reader",)]
    reader.engine.dispose()


def test_postgres_connection_itself_is_read_only(pg):
    """Even a write the parser let through would fail: the session is read-only."""
    db = SQLDatabase(PG_READER_URL)
    with db.engine.connect() as conn, pytest.raises(Exception, match="read-only transaction"):
        conn.exec_driver_sql("DELETE FROM am_models")
    db.engine.dispose()


def test_postgres_reads_work(pg):
    db = SQLDatabase(PG_READER_URL)
    columns, rows, _ = db.query("SELECT name, mmlu FROM am_models ORDER BY mmlu DESC")
    assert columns == ["name", "mmlu"] and rows[0][0] == "GPT-4"
    assert db.query("SELECT name FROM am_models WHERE name LIKE 'Mix%'")[1] == [("Mixtral",)]
    assert db.query("SELECT round(avg(mmlu)::numeric, 1), to_char(now(), 'YYYY') ~ '^[0-9]{4}$', "
                    "date_part('year', DATE '2023-12-11') FROM am_models")[1] == [(78.5, True, 2023.0)]
    assert "TABLE am_models (id INTEGER PRIMARY KEY, name TEXT, mmlu REAL)" in db.schema()
    db.engine.dispose()


# -- MariaDB / MySQL: a real server on 127.0.0.1 --------------------------------------------------

MYSQL_URL = os.environ.get("AGENTMESH_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
MYSQL_READER_URL = MYSQL_URL.replace("//root@", "//am_reader:am-reader-pw@")
MYSQL_FILES = ("/tmp/agentmesh-mysql-out.txt", "/tmp/agentmesh-mysql-dump.txt", "/tmp/agentmesh-mysql-exec.txt")


@pytest.fixture(scope="module")
def mysql():
    """A scratch table on the local MariaDB, and a user ``am_reader`` that may only SELECT."""
    pytest.importorskip("pymysql", reason="pymysql is not installed: pip install 'agentmesh[mysql]'")
    import sqlalchemy as sa

    admin = sa.create_engine(MYSQL_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS am_models, am_pwned, am_copy")
            conn.exec_driver_sql("CREATE TABLE am_models (id int PRIMARY KEY, name varchar(40), mmlu double)")
            conn.exec_driver_sql("INSERT INTO am_models VALUES (1, 'GPT-4', 86.4), (2, 'Mixtral', 70.6)")
            for host in ("127.0.0.1", "localhost", "%%"):
                conn.exec_driver_sql(f"CREATE USER IF NOT EXISTS 'am_reader'@'{host}' IDENTIFIED BY 'am-reader-pw'")
                conn.exec_driver_sql(f"GRANT SELECT ON test.am_models TO 'am_reader'@'{host}'")
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no MariaDB/MySQL at {MYSQL_URL}: {str(exc.orig)}")
    yield admin
    with admin.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS am_models, am_pwned, am_copy")
    admin.dispose()


def mysql_checksum(admin) -> str:
    with admin.connect() as conn:
        rows = conn.exec_driver_sql("SELECT GROUP_CONCAT(CONCAT_WS('|', id, name, mmlu) ORDER BY id) FROM am_models").scalar()
        tables = conn.exec_driver_sql(
            "SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name LIKE 'am\\_%%'").scalar()  # %% : pymysql formats
        locks = conn.exec_driver_sql("SELECT IS_USED_LOCK('agentmesh') IS NOT NULL").scalar()
    return f"{rows}/{tables}/lock={locks}"


MYSQL_ATTACKS = {
    "drop": "DROP TABLE am_models",
    "delete": "DELETE FROM am_models",
    "update": "UPDATE am_models SET mmlu = 0",
    "insert": "INSERT INTO am_models VALUES (3, 'x', 1)",
    "replace": "REPLACE INTO am_models VALUES (1, 'pwned', 0)",
    "truncate": "TRUNCATE am_models",
    "create": "CREATE TABLE am_pwned (a int)",
    "create_select": "CREATE TABLE am_copy AS SELECT * FROM am_models",
    "alter": "ALTER TABLE am_models ADD COLUMN pwned text",
    "rename": "RENAME TABLE am_models TO am_gone",
    "grant": "GRANT ALL ON test.* TO 'pwned'@'%' IDENTIFIED BY 'x'",
    "into_outfile": "SELECT * FROM am_models INTO OUTFILE '/tmp/agentmesh-mysql-out.txt'",
    "into_outfile_before_from": "SELECT * INTO OUTFILE '/tmp/agentmesh-mysql-out.txt' FROM am_models",
    "into_dumpfile": "SELECT name FROM am_models LIMIT 1 INTO DUMPFILE '/tmp/agentmesh-mysql-dump.txt'",
    "into_variable": "SELECT name FROM am_models LIMIT 1 INTO @stolen",
    "load_file": "SELECT LOAD_FILE('/etc/passwd')",
    "load_data": "LOAD DATA INFILE '/etc/passwd' INTO TABLE am_models",
    "set_read_write": "SET SESSION TRANSACTION READ WRITE",
    "set_global": "SET GLOBAL max_connections = 1",
    "lock_tables": "LOCK TABLES am_models WRITE",
    "for_update": "SELECT * FROM am_models FOR UPDATE",
    "drop_after_select": "SELECT 1; DROP TABLE am_models",
    "handler": "HANDLER am_models OPEN",
    "sleep_forever": "SELECT SLEEP(60)",
    "benchmark_burn": "SELECT BENCHMARK(100000000000, MD5('x'))",
    # executable comments: a comment to sqlglot, code to the server
    "exec_comment_outfile": "SELECT * FROM am_models /*!50000 INTO OUTFILE '/tmp/agentmesh-mysql-exec.txt' */",
    "exec_comment_dumpfile": "SELECT name FROM am_models LIMIT 1 /*! INTO DUMPFILE '/tmp/agentmesh-mysql-exec.txt' */",
    "exec_comment_load_file": "SELECT /*! LOAD_FILE('/etc/passwd') */ AS leaked",
    "exec_comment_mariadb": "SELECT 1 /*M!100100 INTO OUTFILE '/tmp/agentmesh-mysql-exec.txt' */",
    "exec_comment_drop": "SELECT 1 /*!; DROP TABLE am_models */",
    # session state a read-only transaction keeps
    "get_lock": "SELECT GET_LOCK('agentmesh', 0)",
}


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(MYSQL_ATTACKS))
def test_attack_sql_mariadb(mysql, name, layer, monkeypatch):
    url = MYSQL_URL if layer == "statement_check_alone" else MYSQL_READER_URL
    db = open_layer(monkeypatch, layer, url)
    assert_contained(db, name, MYSQL_ATTACKS[name], lambda: mysql_checksum(mysql), MYSQL_FILES, layer)
    db.engine.dispose()


def test_mariadb_root_is_refused(mysql):
    with pytest.raises(DatabaseError, match="has FILE, SUPER or ALL PRIVILEGES.*read-only database role"):
        SQLDatabase(MYSQL_URL)
    with pytest.raises(DatabaseError, match="sql_role works on PostgreSQL only"):
        SQLDatabase(MYSQL_READER_URL, role="reader")


def test_mariadb_connection_itself_is_read_only(mysql):
    """Even a write the parser let through would fail: the session's transactions are read-only."""
    db = SQLDatabase(MYSQL_URL, allow_privileged=True)
    with db.engine.connect() as conn, pytest.raises(Exception, match="READ ONLY"):
        conn.exec_driver_sql("DELETE FROM am_models")
    assert mysql_checksum(mysql).startswith("1|GPT-4|86.4,2|Mixtral|70.6")
    db.engine.dispose()


def test_mariadb_reads_work(mysql):
    db = SQLDatabase(MYSQL_READER_URL)
    assert db.privileges == "read"
    assert db.query("SELECT name FROM am_models WHERE name LIKE 'Mix%'")[1] == [("Mixtral",)]
    assert db.query("SELECT ROUND(AVG(mmlu), 1), DATE_FORMAT('2023-12-11', '%Y-%m'), IFNULL(NULL, 'n/a') "
                    "FROM am_models")[1] == [(78.5, "2023-12", "n/a")]
    assert db.tables == ["am_models"]
    db.engine.dispose()


# -- DuckDB: a real file ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed: pip install 'agentmesh[duckdb]'")
    pytest.importorskip("duckdb_engine", reason="duckdb-engine is not installed: pip install 'agentmesh[duckdb]'")
    path = tmp_path_factory.mktemp("duck") / "models.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE models (id INTEGER PRIMARY KEY, name VARCHAR, mmlu DOUBLE)")
        conn.execute("INSERT INTO models VALUES (1, 'GPT-4', 86.4), (2, 'Mixtral', 70.6)")
    return path


DUCKDB_ATTACKS = {
    "drop": "DROP TABLE models",
    "delete": "DELETE FROM models",
    "update": "UPDATE models SET mmlu = 0",
    "insert": "INSERT INTO models VALUES (3, 'x', 1)",
    "create": "CREATE TABLE pwned (a INTEGER)",
    "create_view": "CREATE VIEW v AS SELECT 1",
    "alter": "ALTER TABLE models ADD COLUMN pwned VARCHAR",
    "copy_to_file": "COPY models TO '/tmp/agentmesh-duck-out.csv'",
    "export_database": "EXPORT DATABASE '/tmp/agentmesh-duck-export'",
    "attach": "ATTACH '/tmp/agentmesh-duck-other.duckdb' AS other",
    "install_extension": "INSTALL httpfs",
    "load_extension": "LOAD httpfs",
    "read_csv_secret": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text_secret": "SELECT * FROM read_text('/etc/passwd')",
    "read_csv_into_cell": "SELECT (SELECT string_agg(column0, ',') FROM read_csv('/etc/passwd', header=false)) AS leaked",
    "set_config": "SET enable_external_access = true",
    "pragma": "PRAGMA enable_profiling",
    "checkpoint": "CHECKPOINT",
    "drop_after_select": "SELECT 1; DROP TABLE models",
    "runaway_recursion": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r",
}


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(DUCKDB_ATTACKS))
def test_attack_sql_duckdb(duck, name, layer, monkeypatch):
    db = open_layer(monkeypatch, layer, f"duckdb:///{duck}")
    assert_contained(db, name, DUCKDB_ATTACKS[name], lambda: checksum(duck),
                     ("/tmp/agentmesh-duck-out.csv", "/tmp/agentmesh-duck-export", "/tmp/agentmesh-duck-other.duckdb"), layer)
    db.engine.dispose()


def test_duckdb_connection_itself_is_read_only(duck):
    db = SQLDatabase(f"duckdb:///{duck}")
    with db.engine.connect() as conn, pytest.raises(Exception, match="read-only"):
        conn.exec_driver_sql("DELETE FROM models")
    with db.engine.connect() as conn, pytest.raises(Exception, match="(?i)external access|disabled"):
        conn.exec_driver_sql("SELECT * FROM read_text('/etc/passwd')")
    assert db.query("SELECT name FROM models ORDER BY mmlu DESC")[1] == [("GPT-4",), ("Mixtral",)]
    assert "TABLE models (id INTEGER PRIMARY KEY, name VARCHAR, mmlu DOUBLE)" in db.schema()
    db.engine.dispose()


# -- Files as tables: every dialect, each layer alone -------------------------------------------

MARKER = "agentmesh-marker-5e1f0c"
"""Written into files the attacks then try to read: it must never come back."""


@pytest.fixture(scope="module")
def marked_files(tmp_path_factory):
    """A CSV, JSON, text and Parquet file holding the marker (in the content, the header and the name)."""
    folder = tmp_path_factory.mktemp("marked")
    csv = folder / f"{MARKER}.csv"
    csv.write_text(f"{MARKER}_header\n{MARKER}\n")
    (folder / "marked.json").write_text(f'[{{"{MARKER}_key": "{MARKER}"}}]')
    (folder / "marked.txt").write_text(f"{MARKER}\n")
    parquet = folder / "marked.parquet"
    try:
        import duckdb
        with duckdb.connect() as conn:
            conn.execute(f"COPY (SELECT '{MARKER}' AS {MARKER.replace('-', '_')}) TO '{parquet}' (FORMAT parquet)")
    except ImportError:
        pass
    return {"csv": str(csv), "json": str(folder / "marked.json"), "txt": str(folder / "marked.txt"),
            "parquet": str(parquet), "dir": str(folder)}


DUCKDB_FILE_ATTACKS = {
    "read_csv": "SELECT * FROM read_csv('{csv}')",
    "read_csv_upper_case": "SELECT * FROM READ_CSV('{csv}')",
    "read_csv_auto": "SELECT * FROM read_csv_auto('{csv}')",
    "read_csv_list": "SELECT * FROM read_csv(['{csv}'])",
    "read_csv_glob": "SELECT * FROM read_csv('{dir}/*.csv')",
    "read_parquet": "SELECT * FROM read_parquet('{parquet}')",
    "parquet_scan": "SELECT * FROM parquet_scan('{parquet}')",
    "parquet_schema": "SELECT * FROM parquet_schema('{parquet}')",
    "read_json": "SELECT * FROM read_json('{json}')",
    "read_json_auto": "SELECT * FROM read_json_auto('{json}')",
    "read_text": "SELECT content FROM read_text('{txt}')",
    "read_blob": "SELECT content FROM read_blob('{txt}')",
    "glob": "SELECT * FROM glob('{dir}/*')",
    "sniff_csv": "SELECT * FROM sniff_csv('{csv}')",
    "query_table": "SELECT * FROM query_table('{csv}')",
    "query": "SELECT * FROM query('SELECT * FROM read_csv(''{csv}'')')",
    "replacement_scan": "SELECT * FROM '{csv}'",
    "replacement_scan_from_first": "FROM '{csv}'",
    "replacement_scan_quoted_identifier": 'SELECT * FROM "{csv}"',
    "replacement_scan_glob": "SELECT * FROM '{dir}/*.csv'",
    "replacement_scan_in_cte": "WITH t AS (SELECT * FROM '{csv}') SELECT * FROM t",
    "replacement_scan_in_subquery": "SELECT (SELECT count(*) FROM '{csv}') AS n, (SELECT max(column0) FROM read_csv('{csv}', header=false)) AS leaked",
    "replacement_scan_joined": "SELECT * FROM models, '{csv}'",
    "read_text_lateral": "SELECT m.name, t.content FROM models m, read_text('{txt}') t",
}
SQLITE_FILE_ATTACKS = {
    "string_as_table": "SELECT * FROM '{csv}'",
    "quoted_path_as_table": 'SELECT * FROM "{csv}"',
    "path_as_table_in_cte": "WITH t AS (SELECT * FROM '{csv}') SELECT * FROM t",
}
PG_FILE_ATTACKS = {
    "quoted_path_as_table": 'SELECT * FROM "{csv}"',
    "read_file_as_table": "SELECT * FROM pg_read_file('{txt}') AS t(content)",
}
MYSQL_FILE_ATTACKS = {
    "quoted_path_as_table": "SELECT * FROM `{csv}`",
    "path_as_table_in_derived": "SELECT * FROM (SELECT * FROM `{csv}`) AS t",
}


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(DUCKDB_FILE_ATTACKS))
def test_attack_sql_duckdb_reads_a_file(duck, marked_files, name, layer, monkeypatch):
    db = open_layer(monkeypatch, layer, f"duckdb:///{duck}")
    assert_contained(db, name, DUCKDB_FILE_ATTACKS[name].format(**marked_files), lambda: checksum(duck), (), layer,
                     secrets=(MARKER,))
    db.engine.dispose()


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(SQLITE_FILE_ATTACKS))
def test_attack_sql_sqlite_reads_a_file(sqlite_db, marked_files, name, layer, monkeypatch):
    db = open_layer(monkeypatch, layer, sqlite_db)
    assert_contained(db, name, SQLITE_FILE_ATTACKS[name].format(**marked_files), lambda: checksum(sqlite_db), (), layer,
                     secrets=(MARKER,))


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(PG_FILE_ATTACKS))
def test_attack_sql_postgres_reads_a_file(pg, marked_files, name, layer, monkeypatch):
    url = PG_URL if layer == "statement_check_alone" else PG_READER_URL
    db = open_layer(monkeypatch, layer, url)
    assert_contained(db, name, PG_FILE_ATTACKS[name].format(**marked_files), lambda: pg_checksum(pg), (), layer,
                     secrets=(MARKER,))
    db.engine.dispose()


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", sorted(MYSQL_FILE_ATTACKS))
def test_attack_sql_mariadb_reads_a_file(mysql, marked_files, name, layer, monkeypatch):
    url = MYSQL_URL if layer == "statement_check_alone" else MYSQL_READER_URL
    db = open_layer(monkeypatch, layer, url)
    assert_contained(db, name, MYSQL_FILE_ATTACKS[name].format(**marked_files), lambda: mysql_checksum(mysql), (), layer,
                     secrets=(MARKER,))
    db.engine.dispose()


# -- Limits while reading: a huge value or a huge result never sits in the agent's memory ---------

MEMORY_PROBE = """
import json, sys
from agentmesh.tools import sql as sql_module
from agentmesh.tools.sql import SQLDatabase
sql_module.check_statement = lambda sql, dialect, **_: None   # the limits alone
def peak():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) // 1024
db = SQLDatabase(sys.argv[1], allow_privileged=True, timeout=20)
db.query("SELECT 1")
before = peak()
try:
    columns, rows, truncated = db.query(sys.argv[2])
    outcome = {"rows": len(rows), "truncated": truncated, "text": str(rows)[-300:]}
except Exception as exc:
    outcome = {"error": f"{type(exc).__name__}: {exc}"}
outcome["growth_mb"] = peak() - before
print(json.dumps(outcome))
"""
MEMORY_ATTACKS = {
    "sqlite_zeroblob": ("sqlite", "SELECT zeroblob(500000000)"),
    "sqlite_randomblob": ("sqlite", "SELECT hex(randomblob(200000000))"),
    "sqlite_printf": ("sqlite", "SELECT printf('%.*c', 400000000, 'x')"),
    "sqlite_recursive_millions": ("sqlite", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 5000000) "
                                            "SELECT n, printf('%.*c', 100, 'y') FROM r"),
    "postgres_generate_series": ("postgres", "SELECT g, repeat('x', 100) FROM generate_series(1, 1e8) AS g"),
    "postgres_wide_rows": ("postgres", "SELECT g, repeat('x', 1000000) FROM generate_series(1, 200) AS g"),
}


@pytest.mark.parametrize("name", sorted(MEMORY_ATTACKS))
def test_attack_sql_limits_hold_while_reading(sqlite_db, name):
    """The agent's peak memory grows by less than 64 MB, and the result says it was cut (or the
    error says why nothing came back)."""
    import json
    import subprocess
    import sys

    backend, attack = MEMORY_ATTACKS[name]
    if backend == "postgres":
        pytest.importorskip("psycopg")
    target = str(sqlite_db) if backend == "sqlite" else PG_URL
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, target, attack], capture_output=True, text=True, timeout=120)
    if backend == "postgres" and "connection" in done.stderr.lower() and done.returncode:
        pytest.skip(f"no PostgreSQL at {PG_URL}")
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["growth_mb"] < 64, outcome
    if "error" in outcome:
        assert "larger than" in outcome["error"] or "longer than" in outcome["error"], outcome
    elif name == "sqlite_printf":  # SQLite's printf returns NULL past the length limit, without an error
        assert outcome["text"] == "[(None,)]", outcome
    else:
        assert outcome["truncated"] or "(cut:" in outcome["text"], outcome
