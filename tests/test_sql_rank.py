"""sql_rank: the highest, lowest or count of the database's values, chosen from lists, built and
run by the tool, refused when the choice does not fit the question, narrowed to what fits."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.graphs import agent as agent_graph
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call
from agentmesh.tools.sql import SQLDatabase
from agentmesh.tools.sql_rank import make_sql_rank_tool, mismatch, narrowed


@pytest.fixture
def rank(example_db):
    return make_sql_rank_tool(SQLDatabase(example_db))


def choices(prop: dict) -> list:
    """A list's options in the JSON schema (one option is written as a const)."""
    return prop["enum"] if "enum" in prop else [prop["const"]]


def run(tool, measure: str, where: str = "all") -> str:
    return tool.invoke({"measure": measure, "where": where})


def test_the_lists_come_from_the_schema(rank):
    plan = rank.metadata["rank_plan"]
    schema = rank.args_schema.model_json_schema()["properties"]
    assert {"highest mmlu", "lowest input_per_1m_usd", "count models"} <= set(schema["measure"]["enum"])
    assert schema["where"]["enum"][0] == "all" and {"open_weights", "not open_weights", "osi_approved"} <= set(plan.filters)
    # keys and yes/no columns are not ranked
    assert not any(m.endswith(("_id", " id", "open_weights")) for m in schema["measure"]["enum"])
    assert rank.args_schema.model_json_schema()["required"] == ["measure", "where"]  # a small model's wrapper keeps required only


@pytest.mark.parametrize("measure,where,expected", [
    ("highest mmlu", "all", "name | mmlu\nGPT-4 | 86.4"),  # labelled through benchmarks.model_id -> models.name
    ("lowest input_per_1m_usd", "all", "name | input_per_1m_usd\nPhi-3 Medium | 0.17"),
    ("highest humaneval", "open_weights", "name | humaneval\nMixtral 8x7B Instruct | 40.2"),
    ("highest context_window", "open_weights", "name | context_window\nLlama 4 Scout | 128000\nCommand R+ | 128000"),
    ("count models", "open_weights", "count of models with open_weights\n18"),
    ("count models", "not open_weights", "count of models with no open_weights\n8"),
    ("count models", "all", "count of models\n26"),
])
def test_the_answers_match_the_database(rank, example_db, measure, where, expected):
    assert run(rank, measure, where) == expected
    with sqlite3.connect(example_db) as conn:  # checked against plain SQL
        assert conn.execute("SELECT COUNT(*) FROM models WHERE open_weights = 1").fetchone() == (18,)
        assert conn.execute("SELECT MAX(mmlu) FROM benchmarks").fetchone() == (86.4,)


def test_only_the_top_rows_come_back_so_no_other_row_can_be_picked(rank):
    assert run(rank, "highest mmlu").count("\n") == 1  # GPT-4 alone, not the runners-up


def test_the_query_that_ran_is_cited(rank):
    message = rank.invoke({"type": "tool_call", "id": "c1", "name": "sql_rank",
                           "args": {"measure": "highest mmlu", "where": "all"}})
    (citation,) = message.artifact
    assert citation["kind"] == "sql" and "max(benchmarks.mmlu)" in citation["detail"]
    assert citation["detail"].startswith("SELECT models.name, benchmarks.mmlu")


def test_a_filter_on_a_table_that_would_repeat_rows_is_an_error(rank):
    with pytest.raises(Exception, match="not a column of developers"):
        run(rank, "count developers", "open_weights")
    with pytest.raises(Exception, match="unknown filter"):
        rank.func(measure="count models", where="nonsense")


@pytest.mark.parametrize("question,measure,where,why", [
    ("Which model has the highest MMLU score?", "highest mmlu", "all", ""),
    ("Which model has the highest MMLU score?", "lowest mmlu", "all", "asks for the highest"),
    ("Which model is cheapest per 1M input tokens?", "highest input_per_1m_usd", "all", "asks for the lowest"),
    ("Which model is cheapest per 1M input tokens?", "lowest output_per_1m_usd", "all", "does not ask about output_per_1m_usd"),
    ("Which open-weight model has the best HumanEval score?", "highest humaneval", "all", "pass where='open_weights'"),
    ("Which open-weight model has the best HumanEval score?", "highest humaneval", "open_weights", ""),
    ("How many models have open weights?", "count models", "open_weights", ""),
    ("How many models have open weights?", "highest params_b", "open_weights", "no highest or lowest"),
    ("Which model is the largest?", "count models", "all", "does not ask how many"),
    ("Which model has the most parameters?", "highest params_b", "all", ""),
    # conditions the lists cannot hold: refused, never answered without them
    ("Which Apache-2.0 model with at least 32K context has the best MMLU score?", "highest mmlu", "all", "condition"),
    ("Which Apache-2.0 model has the best MMLU score?", "highest mmlu", "all", "names 'Apache-2.0'"),
    ("Which model with at least 32K context has the best MMLU score?", "lowest mmlu", "all", "condition"),
    ("Which Mistral AI model has the highest MMLU score?", "highest mmlu", "all", "names 'Mistral'"),
    ("Which hosted model is cheapest per 1M output tokens?", "lowest output_per_1m_usd", "open_weights", "rows with open_weights"),
])
def test_a_choice_that_does_not_fit_the_question_is_refused(rank, question, measure, where, why):
    got = mismatch(question, {"measure": measure, "where": where}, rank.metadata["rank_plan"])
    assert (why in got) if why else got == ""


def test_the_lists_are_narrowed_to_what_fits_the_question(rank, example_db):
    db, plan = SQLDatabase(example_db), rank.metadata["rank_plan"]
    tool = narrowed(db, "sql_rank", plan, "Which model has the highest MMLU score?")
    schema = tool.args_schema.model_json_schema()["properties"]
    assert choices(schema["measure"]) == ["highest mmlu"] and choices(schema["where"]) == ["all"]
    tool = narrowed(db, "sql_rank", plan, "How many open-weight models are there?")
    assert choices(tool.args_schema.model_json_schema()["properties"]["where"]) == ["open_weights"]
    assert narrowed(db, "sql_rank", plan, "Who develops Mixtral 8x7B Instruct?") is None


class Spy(FakeToolChatModel):
    bound: list[Any] = []

    def bind_tools(self, tools, **kwargs):
        self.bound.append(list(tools))
        return super().bind_tools(tools, **kwargs)


def _agent(example_db, responses, **settings):
    model = Spy(responses=list(responses))
    model.bound = []
    agent = Agent(Settings.load(db=example_db, tools=["sql", "sql_rank"], answer_check="off", **settings), model=model,
                  embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    return agent, model


def test_a_rank_call_that_does_not_fit_the_question_never_runs(example_db):
    agent, model = _agent(example_db, [tool_call("sql_rank", measure="lowest mmlu", where="all"), AIMessage("GPT-4.")])
    result = agent.run("Which model has the highest MMLU score?")
    (activity,) = result.tool_calls
    assert not activity.ok and activity.output.startswith("Not run: the question asks for the highest")
    assert activity.citations == []  # no query ran


def test_the_agent_offers_the_rank_tool_narrowed_for_a_question_it_fits(example_db):
    agent, model = _agent(example_db, [tool_call("sql_rank", measure="highest mmlu", where="all"), AIMessage("GPT-4, 86.4.")],
                          top_k_tools=1)
    result = agent.run("Which model has the highest MMLU score?")
    assert model.offered[0] == ["sql_rank"]  # in the place of free SQL, though k is 1
    schema = model.bound[0][0].args_schema.model_json_schema()["properties"]
    assert choices(schema["measure"]) == ["highest mmlu"]
    assert result.tool_calls[0].output == "name | mmlu\nGPT-4 | 86.4"


def test_without_a_fitting_choice_the_rank_tool_is_not_offered(example_db):
    agent, model = _agent(example_db, [AIMessage("Mistral AI.")], top_k_tools=2)
    agent.run("Who develops Mixtral 8x7B Instruct?")
    assert "sql_rank" not in (model.offered[0] or [])


def test_the_guard_and_the_narrowing_are_built_in_middleware():
    names = [type(m).__name__ for m in agent_graph.BUILTIN_TOOL_MIDDLEWARE + agent_graph.BUILTIN_MODEL_MIDDLEWARE]
    assert names == ["QuestionGuard", "NarrowedTools"]


def test_the_top_rows_of_a_ranking_the_question_fixes_are_shown_without_the_model(example_db):
    """The question fixes the measure and the filter: the framework makes the call, and the top
    rows (both, when tied) are what it asks: no model is asked to call or to pick."""
    question = "Which open-weight models have the longest context window?"
    agent, model = _agent(example_db, [AIMessage("Phi-2.")], answer_style="pick")
    result = agent.run(question)
    assert [(a.name, a.args) for a in result.tool_calls] == [("sql_rank", {"measure": "highest context_window",
                                                                           "where": "open_weights"})]
    assert model.calls == [] and result.stop_reason == "answered"
    assert result.answer.splitlines() == ["- name | context_window: Llama 4 Scout | 128000",
                                          "- name | context_window: Command R+ | 128000"]


def test_a_picked_top_row_brings_its_ties():
    from agentmesh.claims import Evidence, complete

    rows = [Evidence(id=f"r{i}", kind="row", text=t, source="sql_rank") for i, t in enumerate(
        ["name | context_window: Llama 4 Scout | 128000", "name | context_window: Command R+ | 128000"])]
    again = [r.model_copy(update={"id": f"s{r.id}"}) for r in rows]  # the same call ran twice
    assert complete("Which open-weight models have the longest context window?", [*rows, *again], rows[:1]) == rows


PG_URL = os.environ.get("AGENTMESH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("AGENTMESH_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
LANDSCAPE = Path(__file__).resolve().parent.parent / "examples" / "llm-landscape" / "landscape.sqlite"
TABLES = ["developers", "licenses", "models", "benchmarks", "prices"]  # referenced tables first


def copy_landscape(execute, marks: str = "%s", key_type: str = "TEXT") -> None:
    """landscape.sqlite's tables, keys and rows, through ``execute(sql, rows=None)`` of another
    database. ``key_type`` replaces TEXT in key columns (MariaDB cannot index TEXT)."""
    with sqlite3.connect(LANDSCAPE) as lite:
        for table in TABLES:
            ddl = lite.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
            execute(ddl.replace("TEXT PRIMARY KEY", f"{key_type} PRIMARY KEY").replace("TEXT NOT NULL REFERENCES", f"{key_type} NOT NULL REFERENCES"))
            rows = [tuple(r) for r in lite.execute(f"SELECT * FROM {table}")]
            execute(f"INSERT INTO {table} VALUES ({', '.join([marks] * len(rows[0]))})", rows)


def _connect(url: str, reason: str):
    import sqlalchemy as sa

    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        return admin, admin.connect()
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no {reason} at {url}: {str(exc.orig).splitlines()[0]}")


@pytest.fixture(scope="module")
def pg_landscape():
    """landscape.sqlite copied into a scratch schema of the local PostgreSQL, read by a role that may only SELECT."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'agentmesh[postgres]'")
    admin, conn = _connect(PG_URL, "PostgreSQL")
    with conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS am_rank CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA am_rank")
        conn.exec_driver_sql("SET search_path TO am_rank")
        copy_landscape(conn.exec_driver_sql)
        conn.exec_driver_sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'am_rank_reader') "
                             "THEN CREATE ROLE am_rank_reader LOGIN; END IF; END $$")
        conn.exec_driver_sql("GRANT USAGE ON SCHEMA am_rank TO am_rank_reader")
        conn.exec_driver_sql("GRANT SELECT ON ALL TABLES IN SCHEMA am_rank TO am_rank_reader")
        conn.exec_driver_sql("ALTER ROLE am_rank_reader SET search_path TO am_rank")
    yield PG_URL.replace("postgres@", "am_rank_reader@")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS am_rank CASCADE")
    admin.dispose()


@pytest.fixture(scope="module")
def mysql_landscape():
    """landscape.sqlite copied into a scratch database of the local MariaDB, read by a user that may only SELECT."""
    pytest.importorskip("pymysql", reason="pymysql is not installed: pip install 'agentmesh[mysql]'")
    admin, conn = _connect(MYSQL_URL, "MariaDB/MySQL")
    with conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS am_rank")
        conn.exec_driver_sql("CREATE DATABASE am_rank")
        conn.exec_driver_sql("USE am_rank")
        copy_landscape(conn.exec_driver_sql, key_type="VARCHAR(64)")
        for host in ("127.0.0.1", "localhost", "%%"):
            conn.exec_driver_sql(f"CREATE USER IF NOT EXISTS 'am_rank_reader'@'{host}' IDENTIFIED BY 'am-rank-pw'")
            conn.exec_driver_sql(f"GRANT SELECT ON am_rank.* TO 'am_rank_reader'@'{host}'")
    yield MYSQL_URL.replace("//root@", "//am_rank_reader:am-rank-pw@").rsplit("/", 1)[0] + "/am_rank"
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS am_rank")
    admin.dispose()


@pytest.fixture(scope="module")
def duckdb_landscape(tmp_path_factory):
    """landscape.sqlite copied into a DuckDB file (which agentmesh opens read-only). REAL is 4 bytes
    in DuckDB (8 in SQLite): the scores come back as the nearest doubles and must still read 40.2."""
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed: pip install 'agentmesh[duckdb]'")
    pytest.importorskip("duckdb_engine", reason="duckdb-engine is not installed: pip install 'agentmesh[duckdb]'")
    path = tmp_path_factory.mktemp("duckdb") / "landscape.duckdb"
    with duckdb.connect(str(path)) as conn:
        copy_landscape(lambda sql, rows=None: conn.executemany(sql, rows) if rows else conn.execute(sql), marks="?")
    return f"duckdb:///{path}"


@pytest.mark.parametrize("backend", ["pg_landscape", "mysql_landscape", "duckdb_landscape"])
@pytest.mark.parametrize("measure,where,expected", [
    ("highest mmlu", "all", "name | mmlu\nGPT-4 | 86.4"),  # labelled through a foreign key
    ("lowest input_per_1m_usd", "all", "name | input_per_1m_usd\nPhi-3 Medium | 0.17"),
    ("highest context_window", "open_weights", "name | context_window\nLlama 4 Scout | 128000\nCommand R+ | 128000"),
    ("highest humaneval", "open_weights", "name | humaneval\nMixtral 8x7B Instruct | 40.2"),  # filtered through a join
    ("count models", "open_weights", "count of models with open_weights\n18"),
    ("count models", "not open_weights", "count of models with no open_weights\n8"),
])
def test_the_same_answers_on_other_databases(request, backend, measure, where, expected):
    db = SQLDatabase(request.getfixturevalue(backend))
    tool = make_sql_rank_tool(db)
    rows = run(tool, measure, where).splitlines()
    assert rows[0] == expected.splitlines()[0] and sorted(rows[1:]) == sorted(expected.splitlines()[1:])  # ties: any order
    question = "Which open-weight model has the lowest HumanEval score?"  # the guard reads the same plan everywhere
    assert mismatch(question, {"measure": "highest humaneval", "where": "open_weights"}, tool.metadata["rank_plan"])
    assert not mismatch(question, {"measure": "lowest humaneval", "where": "open_weights"}, tool.metadata["rank_plan"])
    db.engine.dispose()


@pytest.mark.parametrize("question, refused", [
    ("What is the MMLU gap between GPT-4 and the best open-weight model?", False),  # the ranking is the other operand's
    ("How far is GPT-4 ahead of the best open-weight model on MMLU?", True),  # no "between": the name still refuses
    ("Which is better on MMLU, GPT-4 or Claude 2?", True),
    ("What is the MMLU gap between GPT-4 and Qwen 72B Chat?", True),  # no ranking among the operands
])
def test_a_ranking_that_is_one_operand_of_a_comparison_is_not_refused_for_the_others_name(rank, question, refused):
    assert (rank.metadata["narrow"](question) is None) is refused


def test_the_gap_to_the_best_open_model_is_looked_up_ranked_and_worked_out_without_the_model(example_db):
    question = "What is the MMLU gap between GPT-4 and the best open-weight model, and who develops that open model?"
    model = Spy(responses=[AIMessage("GPT-4 is 20 points ahead.")])
    model.bound = []
    agent = Agent(Settings.load(db=example_db, kg=[LANDSCAPE.with_suffix(".ttl")], tools=["sql_rank", "sql_lookup"],
                                answer_style="pick"), model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    result = agent.run(question)
    assert sorted(a.name for a in result.tool_calls) == ["sql_lookup", "sql_rank"] and model.calls == []  # both, at once
    assert result.answer.splitlines()[0] == "- mmlu gap: GPT-4 86.4 - Qwen 72B Chat 74.4 = 12.0"
    assert "Qwen 72B Chat — developer: Alibaba Cloud" in result.answer and result.supported
