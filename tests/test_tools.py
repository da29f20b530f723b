"""First tools: read-only SQL on SQLite and the Python subprocess."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from agentmesh.errors import DatabaseError, ReadOnlyViolationError, ToolError
from agentmesh.tools.python_repl import PythonSandbox, make_python_tool
from agentmesh.tools.sql import SQLDatabase, SQLiteReader, make_sql_schema_tool, make_sql_tool


@pytest.fixture
def db(example_db, tmp_path):
    copy = tmp_path / "landscape.sqlite"
    shutil.copy(example_db, copy)
    return copy


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sql_returns_rows_and_cites_the_query(db):
    tool = make_sql_tool(SQLiteReader(db))
    message = tool.invoke({"name": "sql", "args": {"query": "SELECT model_id, mmlu FROM benchmarks ORDER BY mmlu DESC LIMIT 2"}, "id": "1", "type": "tool_call"})
    assert message.text.splitlines() == ["model_id | mmlu", "GPT-4 | 86.4", "Qwen-72B-Chat | 74.4"]
    assert message.artifact[0]["kind"] == "sql"


def test_sql_description_lists_tables_and_columns(db):
    tool = make_sql_tool(SQLiteReader(db))
    assert "benchmarks(model_id, mmlu, humaneval, gsm8k)" in tool.description


def test_sql_schema_tool_returns_only_the_schema(db):
    """Internal prompt text never reaches a person's screen: the output is the schema alone (the
    graph marks every tool result as data for the model; test_agent_graph checks that)."""
    text = make_sql_schema_tool(SQLDatabase(db)).invoke({})
    assert text.startswith("TABLE ") and "instruction" not in text.lower()
    assert "TABLE benchmarks (model_id TEXT PRIMARY KEY, mmlu REAL, humaneval REAL, gsm8k REAL)" in text
    assert "  FOREIGN KEY (model_id) REFERENCES models(id)" in text
    assert "  sample: 'GPT-4' | 86.4 | 67.0 | 92.0" in text


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE models",
        "DELETE FROM models",
        "UPDATE prices SET input_per_1m_usd = 0",
        "INSERT INTO licenses VALUES ('x', 'x', 0, 'x')",
        "CREATE TABLE t (a)",
        "ATTACH DATABASE ':memory:' AS other",
        "PRAGMA journal_mode = DELETE",
        "VACUUM INTO '/tmp/agentmesh-stolen.sqlite'",
        "WITH x AS (SELECT 1) DELETE FROM models",
        "SELECT load_extension('/tmp/evil')",
    ],
)
def test_sql_refuses_writes_and_the_file_is_unchanged(db, statement):
    reader = SQLiteReader(db)
    before = digest(db)
    with pytest.raises(ToolError):
        reader.query(statement)
    assert digest(db) == before
    assert not os.path.exists("/tmp/agentmesh-stolen.sqlite")


def test_sql_refuses_a_second_statement(db):
    before = digest(db)
    with pytest.raises(ToolError, match="exactly one query"):
        SQLiteReader(db).query("SELECT 1; DROP TABLE models")
    assert digest(db) == before


def test_sql_write_is_reported_as_read_only(db):
    with pytest.raises(ReadOnlyViolationError, match="read-only"):
        SQLiteReader(db).query("DELETE FROM models")


def test_sql_error_carries_sqlites_message(db):
    with pytest.raises(ToolError, match="no such table: nope"):
        SQLiteReader(db).query("SELECT * FROM nope")


def test_sql_row_cap(db):
    columns, rows, truncated = SQLiteReader(db, row_limit=3).query("SELECT id FROM models")
    assert len(rows) == 3 and truncated


def test_sql_missing_database(tmp_path):
    with pytest.raises(DatabaseError, match="does not exist"):
        SQLiteReader(tmp_path / "none.sqlite")


def test_sql_not_a_database(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot be opened: file is not a database"):
        SQLiteReader(junk)


def test_python_is_isolated_by_the_os_where_root():
    """CI runs as root with namespaces: the strongest mode must be in effect there, never a fallback."""
    mode = PythonSandbox().isolation["mode"]
    if os.geteuid() == 0:
        assert mode == "namespaces"
    else:
        assert mode in ("user-namespace", "process")


def test_python_prints_the_last_expression():
    tool = make_python_tool(PythonSandbox())
    message = tool.invoke({"name": "python", "args": {"code": "x = 6 * 7\nx"}, "id": "1", "type": "tool_call"})
    assert message.text == "42"
    assert message.artifact == [{"kind": "code", "ref": "python", "detail": "x = 6 * 7\nx", "verified": None}]


def test_python_runs_in_another_process_with_a_scrubbed_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    result = PythonSandbox().run("import os\nprint(os.getpid())\nprint(sorted(os.environ))\nprint(os.getcwd())")
    pid, env, cwd = result.stdout.splitlines()
    assert int(pid) != os.getpid()
    assert "OPENAI_API_KEY" not in env and "sk-secret-value" not in result.stdout
    assert "agentmesh-sandbox" in cwd


def test_python_timeout_kills_the_code():
    with pytest.raises(ToolError, match="longer than 1s"):
        make_python_tool(PythonSandbox(timeout=1)).invoke({"code": "while True: pass"})


def test_python_memory_limit():
    result = PythonSandbox(memory_mb=256).run("x = bytearray(1024 * 1024 * 1024)")
    assert "MemoryError" in result.error


def test_python_error_is_reported():
    with pytest.raises(ToolError, match="ZeroDivisionError"):
        make_python_tool(PythonSandbox()).invoke({"code": "1 / 0"})


def test_python_session_keeps_variables_per_thread_and_resets():
    tool = make_python_tool(PythonSandbox())
    config = {"configurable": {"thread_id": "t1"}}
    tool.invoke({"code": "total = 40"}, config=config)
    assert tool.invoke({"code": "total + 2"}, config=config) == "42"
    with pytest.raises(ToolError, match="NameError"):
        tool.invoke({"code": "total", "reset": True}, config=config)
    with pytest.raises(ToolError, match="NameError"):
        tool.invoke({"code": "total"}, config={"configurable": {"thread_id": "t2"}})


def test_python_figures_are_saved_as_files():
    pytest.importorskip("matplotlib")
    result = PythonSandbox().run("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n'drawn'")
    assert result.result == "'drawn'" and len(result.figures) == 1
    assert open(result.figures[0], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_python_output_is_capped():
    result = PythonSandbox(max_output=1000).run("print('x' * 100000)")
    assert len(result.stdout) < 1100 and "output cut" in result.stdout


def test_sql_writes_need_opt_in_and_approval(db):
    asked = []
    approving = SQLDatabase(db, allow_writes=True, approve=lambda sql: asked.append(sql) or True)
    rejecting = SQLDatabase(db, allow_writes=True, approve=lambda sql: False)
    unattended = SQLDatabase(db, allow_writes=True)
    statement = "UPDATE prices SET input_per_1m_usd = 0.1 WHERE model_id = 'GPT-4o'"

    before = digest(db)
    with pytest.raises(ReadOnlyViolationError, match="not approved"):
        rejecting.query(statement)
    with pytest.raises(ReadOnlyViolationError, match="no approver"):
        unattended.query(statement)
    with pytest.raises(ReadOnlyViolationError, match="read-only"):
        SQLDatabase(db).query(statement)
    assert digest(db) == before

    assert approving.query(statement) == (["rows_affected"], [(1,)], False)
    assert asked == [statement]
    assert approving.query("SELECT input_per_1m_usd FROM prices WHERE model_id = 'GPT-4o'")[1] == [(0.1,)]


def test_sql_accepts_sqlalchemy_urls(db):
    via_url = SQLDatabase(f"sqlite:///{db}")
    assert via_url.query("SELECT COUNT(*) FROM models")[1] == [(26,)]
    with pytest.raises(DatabaseError, match="not valid"):
        SQLDatabase("postgresql://bad url with spaces:x/")
