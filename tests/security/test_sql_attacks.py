"""Attacks on the sql tool, on a real SQLite file and a real PostgreSQL database.

Each attack is refused or fails inside the database; the database's checksum is unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from agentmesh.errors import ToolError
from agentmesh.tools.sql import SQLDatabase

EXAMPLE_DB = Path(__file__).resolve().parents[2] / "examples" / "llm-landscape" / "landscape.sqlite"
PG_URL = os.environ.get("AGENTMESH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

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


def assert_contained(db: SQLDatabase, attack: str, state, leftovers: tuple[str, ...] = ()) -> None:
    """The attack is refused or fails in the database, ``state()`` is unchanged, and no file it
    meant to write exists."""
    before = state()
    with pytest.raises(ToolError):
        db.query(attack)
    assert state() == before
    for leftover in leftovers:
        assert not os.path.exists(leftover)


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    copy = tmp_path_factory.mktemp("sqlite") / "landscape.sqlite"
    shutil.copy(EXAMPLE_DB, copy)
    return copy


@pytest.mark.parametrize("name", sorted(SQLITE_ATTACKS))
def test_attack_sql_sqlite(sqlite_db, name):
    db = SQLDatabase(sqlite_db, timeout=2)
    assert_contained(db, SQLITE_ATTACKS[name], lambda: checksum(sqlite_db),
                     ("/tmp/agentmesh-stolen.sqlite", "/tmp/agentmesh-attached.sqlite", "/tmp/agentmesh-written.txt"))
    assert db.query("SELECT COUNT(*) FROM models")[1] == [(26,)]  # still serving reads


def test_a_semicolon_inside_a_string_is_just_data(sqlite_db):
    assert SQLDatabase(sqlite_db).query("SELECT ';DROP TABLE models' AS s")[1] == [(";DROP TABLE models",)]


# -- PostgreSQL: a real server on 127.0.0.1 ------------------------------------------------------

@pytest.fixture(scope="module")
def pg():
    """A scratch schema on the local PostgreSQL, filled by a privileged connection."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'agentmesh[postgres]'")
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS am_secrets, am_models")
            conn.exec_driver_sql("CREATE TABLE am_models (id int PRIMARY KEY, name text, mmlu real)")
            conn.exec_driver_sql("INSERT INTO am_models VALUES (1, 'GPT-4', 86.4), (2, 'Mixtral', 70.6)")
            conn.exec_driver_sql("CREATE TABLE am_secrets (k text)")
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG_URL}: {str(exc.orig).splitlines()[0]}")
    yield admin
    with admin.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS am_secrets, am_models")
    admin.dispose()


def pg_checksum(admin) -> str:
    with admin.connect() as conn:
        rows = conn.exec_driver_sql("SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM am_models t").scalar()
        tables = conn.exec_driver_sql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE left(tablename, 3) = 'am_'").scalar()
    return f"{rows}/{tables}"


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
}


@pytest.mark.parametrize("name", sorted(PG_ATTACKS))
def test_attack_sql_postgres(pg, name):
    db = SQLDatabase(PG_URL, timeout=2)
    assert_contained(db, PG_ATTACKS[name], lambda: pg_checksum(pg), ("/tmp/agentmesh-pg-pwned",))
    db.engine.dispose()


def test_postgres_connection_itself_is_read_only(pg):
    """Even a write the parser let through would fail: the session is read-only."""
    db = SQLDatabase(PG_URL)
    with db.engine.connect() as conn, pytest.raises(Exception, match="read-only transaction"):
        conn.exec_driver_sql("DELETE FROM am_models")
    db.engine.dispose()


def test_postgres_reads_work(pg):
    db = SQLDatabase(PG_URL)
    columns, rows, _ = db.query("SELECT name, mmlu FROM am_models ORDER BY mmlu DESC")
    assert columns == ["name", "mmlu"] and rows[0][0] == "GPT-4"
    assert db.query("SELECT name FROM am_models WHERE name LIKE 'Mix%'")[1] == [("Mixtral",)]
    assert "TABLE am_models (id INTEGER PRIMARY KEY, name TEXT, mmlu REAL)" in db.schema()
    db.engine.dispose()


# -- MariaDB / MySQL: a real server on 127.0.0.1 --------------------------------------------------

MYSQL_URL = os.environ.get("AGENTMESH_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")


@pytest.fixture(scope="module")
def mysql():
    pytest.importorskip("pymysql", reason="pymysql is not installed: pip install 'agentmesh[mysql]'")
    import sqlalchemy as sa

    admin = sa.create_engine(MYSQL_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS am_models, am_pwned, am_copy")
            conn.exec_driver_sql("CREATE TABLE am_models (id int PRIMARY KEY, name varchar(40), mmlu double)")
            conn.exec_driver_sql("INSERT INTO am_models VALUES (1, 'GPT-4', 86.4), (2, 'Mixtral', 70.6)")
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
    return f"{rows}/{tables}"


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
}


@pytest.mark.parametrize("name", sorted(MYSQL_ATTACKS))
def test_attack_sql_mariadb(mysql, name):
    db = SQLDatabase(MYSQL_URL, timeout=2)
    assert_contained(db, MYSQL_ATTACKS[name], lambda: mysql_checksum(mysql), ("/tmp/agentmesh-mysql-out.txt",))
    db.engine.dispose()


def test_mariadb_connection_itself_is_read_only(mysql):
    """Even a write the parser let through would fail: the session's transactions are read-only."""
    db = SQLDatabase(MYSQL_URL)
    with db.engine.connect() as conn, pytest.raises(Exception, match="READ ONLY"):
        conn.exec_driver_sql("DELETE FROM am_models")
    assert mysql_checksum(mysql).startswith("1|GPT-4|86.4,2|Mixtral|70.6")
    db.engine.dispose()


def test_mariadb_reads_work(mysql):
    db = SQLDatabase(MYSQL_URL)
    assert db.query("SELECT name FROM am_models WHERE name LIKE 'Mix%'")[1] == [("Mixtral",)]
    assert "am_models" in db.tables
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
    "set_config": "SET enable_external_access = true",
    "pragma": "PRAGMA enable_profiling",
    "checkpoint": "CHECKPOINT",
    "drop_after_select": "SELECT 1; DROP TABLE models",
    "runaway_recursion": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r",
}


@pytest.mark.parametrize("name", sorted(DUCKDB_ATTACKS))
def test_attack_sql_duckdb(duck, name):
    db = SQLDatabase(f"duckdb:///{duck}", timeout=2)
    assert_contained(db, DUCKDB_ATTACKS[name], lambda: checksum(duck),
                     ("/tmp/agentmesh-duck-out.csv", "/tmp/agentmesh-duck-export", "/tmp/agentmesh-duck-other.duckdb"))
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
