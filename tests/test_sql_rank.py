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
from agentmesh.answering.lexicon import load_lexicon
from agentmesh.tools.sql_rank import conditions_of, make_sql_rank_tool, mismatch, narrowed

EXAMPLE_LEXICON = Path(__file__).resolve().parents[1] / "examples" / "llm-landscape" / "lexicon.toml"


@pytest.fixture
def rank(example_db):
    return make_sql_rank_tool(SQLDatabase(example_db), lexicon=load_lexicon(EXAMPLE_LEXICON))


def choices(prop: dict) -> list:
    """A list's options in the JSON schema (one option is written as a const)."""
    return prop["enum"] if "enum" in prop else [prop["const"]]


def run(tool, measure: str, where: str = "all", conditions: list[str] | None = None) -> str:
    return tool.invoke({"measure": measure, "where": where, **({"conditions": conditions} if conditions else {})})


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
    # conditions the question sets: a call that drops one is refused, never answered without it
    ("Which Apache-2.0 model with at least 32K context has the best MMLU score?", "highest mmlu", "all",
     "pass conditions=['context_window >= 32000', 'licenses = Apache 2.0']"),
    ("Which Apache-2.0 model has the best MMLU score?", "highest mmlu", "all", "rows with licenses = Apache 2.0"),
    ("Which model with at least 32K context has the best MMLU score?", "lowest mmlu", "all", "asks for the highest"),
    ("Which Mistral AI model has the highest MMLU score?", "highest mmlu", "all", "rows with developers = Mistral AI"),
    # conditions the lists cannot hold: refused
    ("Which model released after 2023 has the best MMLU score?", "highest mmlu", "all", "condition the lists cannot hold"),
    ("Which model with between 7B and 70B parameters has the best MMLU?", "highest mmlu", "all", "('between 7')"),
    ("Which Llama model has the best MMLU score?", "highest mmlu", "all", "names 'Llama'"),
    ("What is the highest MMLU score of GPT-4?", "highest mmlu", "all", "one of the rows 'highest mmlu' ranks"),
    # a word that says which rows, and that no list holds: the ranking of every row answers another question
    ("Which model like GPT-4 has the best MMLU score?", "highest mmlu", "all", "restricts the rows by 'like'"),
    ("Which multimodal model has the best MMLU score?", "highest mmlu", "all", "restricts the rows by 'multimodal'"),
    ("Which small model has the best MMLU score?", "highest mmlu", "all", "restricts the rows by 'small'"),
    ("Among models released in 2023, which has the best MMLU score?", "highest mmlu", "all", "by 'released'"),
    ("What is the best MMLU score of a model trained on textbooks?", "highest mmlu", "all", "by 'trained'"),
    # more than the top value's rows, or a ratio: the top rows of the one column answer another question
    ("Which model has the second highest MMLU score?", "highest mmlu", "all", "more than the top rows ('second highest')"),
    ("What are the top 3 models by MMLU?", "highest mmlu", "all", "more than the top rows ('top 3')"),
    ("Which model is the runner-up on MMLU?", "highest mmlu", "all", "more than the top rows"),
    ("Which model has the highest MMLU score per billion parameters?", "highest mmlu", "all", "mmlu per params_b, a ratio"),
    ("Which model offers the most context window per dollar?", "highest context_window", "all", "a value per 'dollar'"),
    # a unit the column itself is in is no ratio
    ("Which model is cheapest per million input tokens?", "lowest input_per_1m_usd", "all", ""),
    ("Which model has the highest throughput in tokens per second?", "highest throughput_tok_s", "all", ""),
    # one column of two ranked by the other, or the shorter of two columns' names
    ("What is the MMLU score of the Mistral AI model with the best HumanEval score?", "highest mmlu", "all",
     "asks about humaneval too"),
    ("Which model has the most parameters?", "highest active_params_b", "all", "says params_b, not active_params_b"),
    ("Which model has the most active parameters?", "highest active_params_b", "all", ""),
    # words that restrict nothing the lists do not hold
    ("How many models use the Llama Community License?", "count models", "all", "pass conditions="),
    ("How many models in the database have open weights?", "count models", "open_weights", ""),
    ("Which hosted model is cheapest per 1M output tokens?", "lowest output_per_1m_usd", "all", ""),
    ("Which open-weight models have the longest context window?", "highest context_window", "open_weights", ""),
    ("Which hosted model is cheapest per 1M output tokens?", "lowest output_per_1m_usd", "open_weights", "rows with open_weights"),
])
def test_a_choice_that_does_not_fit_the_question_is_refused(rank, question, measure, where, why):
    got = mismatch(question, {"measure": measure, "where": where}, rank.metadata["rank_plan"])
    assert (why in got) if why else got == ""


def test_best_ranks_by_the_better_values_the_lexicon_names_and_by_nothing_else(example_db):
    from dataclasses import replace

    from agentmesh.answering.lexicon import Lexicon

    question = "Which model has the best MMLU score?"
    said = load_lexicon(EXAMPLE_LEXICON)  # mmlu = "higher"
    plan = make_sql_rank_tool(SQLDatabase(example_db), lexicon=said).metadata["rank_plan"]
    assert mismatch(question, {"measure": "highest mmlu", "where": "all"}, plan) == ""
    assert "asks for the highest" in mismatch(question, {"measure": "lowest mmlu", "where": "all"}, plan)
    # where a lower value is the better one, the best is the lowest
    lower = make_sql_rank_tool(SQLDatabase(example_db), lexicon=replace(said, better={"mmlu": "lower"})).metadata["rank_plan"]
    assert mismatch(question, {"measure": "lowest mmlu", "where": "all"}, lower) == ""
    # English alone cannot say which is best: no [better], no ranking
    unsaid = make_sql_rank_tool(SQLDatabase(example_db), lexicon=replace(said, better={})).metadata["rank_plan"]
    assert "[better]" in mismatch(question, {"measure": "highest mmlu", "where": "all"}, unsaid)
    assert isinstance(Lexicon().better, dict)


@pytest.mark.parametrize("question,args,why", [
    ("Which Apache-2.0 model with at least 32K context has the best MMLU score?",
     {"measure": "highest mmlu", "where": "all", "conditions": ["context_window >= 32000", "licenses = Apache 2.0"]}, ""),
    ("Which Apache-2.0 model with at least 32K context has the best MMLU score?",  # one dropped
     {"measure": "highest mmlu", "where": "all", "conditions": ["licenses = Apache 2.0"]}, "pass conditions="),
    ("Which Apache-2.0 model has the best MMLU score?",  # one added
     {"measure": "highest mmlu", "where": "all", "conditions": ["licenses = Apache 2.0", "licenses = MIT"]},
     "does not ask for rows with licenses = MIT"),
    ("Which model with more than 70B parameters has the best MMLU score?",  # not params_b > 70 on another column
     {"measure": "highest mmlu", "where": "all", "conditions": ["active_params_b > 70"]}, "params_b > 70"),
    ("Which model with a price under $1 per 1M input tokens has the best MMLU score?",  # prices do not hang off benchmarks
     {"measure": "highest mmlu", "where": "all", "conditions": ["input_per_1m_usd < 1"]}, "do not point to prices"),
])
def test_a_call_must_carry_the_conditions_the_question_sets(rank, question, args, why):
    got = mismatch(question, args, rank.metadata["rank_plan"])
    assert (why in got) if why else got == ""


@pytest.mark.parametrize("question,conditions", [
    ("Which Apache-2.0 model with at least 32K context has the best MMLU score?", ["context_window >= 32000", "licenses = Apache 2.0"]),
    ("Which Apache 2.0 model has the best MMLU score?", ["licenses = Apache 2.0"]),  # as written or as stored
    ("Which model with a context window of at least 100K tokens is cheapest per 1M output tokens?", ["context_window >= 100000"]),
    ("Which model with more than 32K context is cheapest per 1M output tokens?", ["context_window > 32768"]),  # neither reading
    ("Which model under 10B parameters has the best MMLU?", ["params_b < 10"]),  # params_b counts billions
    ("Which model with more than 70B parameters is cheapest per 1M input tokens?", ["params_b > 70"]),
    ("How many Mistral AI models have at most 32K context?", ["context_window <= 32768", "developers = Mistral AI"]),
    ("Which model under the Llama Community License has the best MMLU?", ["licenses = Llama Community License"]),
])
def test_conditions_are_read_from_the_question(rank, question, conditions):
    assert sorted(conditions_of(question, rank.metadata["rank_plan"])) == conditions


@pytest.mark.parametrize("question,expected,sql", [
    ("Which Apache-2.0 model with at least 32K context has the best MMLU score?", "name | mmlu\nMixtral 8x7B Instruct | 70.6",
     "SELECT m.name, b.mmlu FROM benchmarks b JOIN models m ON m.id = b.model_id JOIN licenses l ON l.id = m.license_id "
     "WHERE l.name = 'Apache 2.0' AND m.context_window >= 32000 AND b.mmlu = (SELECT MAX(b2.mmlu) FROM benchmarks b2 "
     "JOIN models m2 ON m2.id = b2.model_id JOIN licenses l2 ON l2.id = m2.license_id WHERE l2.name = 'Apache 2.0' "
     "AND m2.context_window >= 32000)"),
    ("Which Mistral AI model has the highest MMLU score?", "name | mmlu\nMixtral 8x7B Instruct | 70.6",
     "SELECT m.name, b.mmlu FROM benchmarks b JOIN models m ON m.id = b.model_id JOIN developers d ON d.id = m.developer_id "
     "WHERE d.name = 'Mistral AI' ORDER BY b.mmlu DESC LIMIT 1"),
    ("How many Apache 2.0 models have a context window of at least 32K?",
     "count of models with context_window >= 32000, licenses = Apache 2.0\n3",
     "SELECT COUNT(*) FROM models m JOIN licenses l ON l.id = m.license_id WHERE l.name = 'Apache 2.0' AND m.context_window >= 32000"),
    ("Which open-weight model under 10B parameters has the best MMLU score?", "name | mmlu\nMistral 7B Instruct | 60.1",
     "SELECT m.name, b.mmlu FROM benchmarks b JOIN models m ON m.id = b.model_id WHERE m.open_weights = 1 AND m.params_b < 10 "
     "ORDER BY b.mmlu DESC LIMIT 1"),
])
def test_the_call_the_question_fixes_answers_as_plain_sql_does(rank, example_db, question, expected, sql):
    """The narrowed lists leave one choice each, so the framework makes the call (determined_calls);
    its rows are the ones a person's SQL gives."""
    from agentmesh.graphs.pick import determined_calls

    tool = narrowed(SQLDatabase(example_db), "sql_rank", rank.metadata["rank_plan"], question)
    (call,) = determined_calls([tool])
    assert mismatch(question, call["args"], rank.metadata["rank_plan"]) == ""
    assert run(rank, **call["args"]) == expected
    with sqlite3.connect(example_db) as conn:
        value = conn.execute(sql).fetchone()
    assert expected.endswith(" | ".join(str(v) for v in value))


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
    agent = Agent(Settings.load(db=example_db, tools=["sql", "sql_rank"], answer_check="off", lexicon=EXAMPLE_LEXICON, **settings), model=model,
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
    # each row says what it was chosen among: "Llama 4 Scout" is the longest of the open-weight models
    assert result.answer.splitlines() == ["- name | context_window: Llama 4 Scout | 128000 (where open_weights)",
                                          "- name | context_window: Command R+ | 128000 (where open_weights)"]


def test_a_picked_top_row_brings_its_ties():
    from agentmesh.claims import Evidence, complete

    rows = [Evidence(id=f"r{i}", kind="row", text=t, source="sql_rank") for i, t in enumerate(
        ["name | context_window: Llama 4 Scout | 128000", "name | context_window: Command R+ | 128000"])]
    again = [r.model_copy(update={"id": f"s{r.id}"}) for r in rows]  # the same call ran twice
    question = "Which open-weight models have the longest context window?"
    assert complete(question, [*rows, *again], rows[:1], answering=frozenset({"sql_rank"})) == rows
    # the ties come from the tool's declaring that its rows answer (metadata "answers"), not from its name
    assert complete(question, [*rows, *again], rows[:1]) == rows[:1]


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
    tool = make_sql_rank_tool(db, lexicon=load_lexicon(EXAMPLE_LEXICON))
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
    agent = Agent(Settings.load(db=example_db, kg=[LANDSCAPE.with_suffix(".ttl")], tools=["sql_rank", "sql_lookup"], lexicon=EXAMPLE_LEXICON,
                                answer_style="pick"), model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    result = agent.run(question)
    assert sorted(a.name for a in result.tool_calls) == ["sql_lookup", "sql_rank"] and model.calls == []  # both, at once
    assert result.answer.splitlines()[0] == "- mmlu gap: GPT-4 86.4 - Qwen 72B Chat 74.4 = 12.0"
    assert "Qwen 72B Chat — developer: Alibaba Cloud" in result.answer and result.supported


@pytest.mark.parametrize("question,answer", [
    # the graph's MIT node says whose licence it is, which is no count: the count comes from the database
    ("How many MIT-licensed models are there?", "count of models with licenses = MIT: 3"),
    ("Which Apache-2.0 model with at least 32K context has the best MMLU score?",
     "name | mmlu: Mixtral 8x7B Instruct | 70.6 (where context_window >= 32000, licenses = Apache 2.0)"),
    # "proprietary" is a licence's name: once the ranking of every model answered this (Mistral 7B Instruct, 60.1)
    ("Which proprietary model has the lowest MMLU score?", "name | mmlu: GPT-3.5 Turbo | 70.0 (where licenses = Proprietary)"),
    # the row says Meta AI's, so "Meta AI ... Llama 4 Scout" is supported: once flagged as "no context of Meta AI"
    ("Which Meta AI model has the longest context window?",
     "name | context_window: Llama 4 Scout | 128000 (where developers = Meta AI)"),
])
def test_a_ranking_under_the_question_s_conditions_is_the_framework_s_call(example_db, example_kg, tmp_path, question, answer):
    model = Spy(responses=[AIMessage("GPT-4.")])
    model.bound = []
    agent = Agent(Settings.load(db=example_db, kg=[example_kg], tools=["kg_search", "sql", "sql_rank"], cache=False, lexicon=EXAMPLE_LEXICON,
                                answer_style="pick", home=tmp_path), model=model,
                  embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    result = agent.run(question)
    assert model.calls == []  # the question fixed the call and the rows answer it
    assert result.stop_reason == "answered" and result.answer == answer


def test_a_column_name_two_tables_share_is_not_another_column_of_its_own(tmp_path):
    """Two tables with a `score` column list them as benchmarks.score and prices.score; the check
    for "a question about two columns" compared the list name with the bare column, so a ranking
    of benchmarks.score counted itself as the other column and was always refused."""
    path = tmp_path / "two.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE models (id TEXT PRIMARY KEY, name TEXT NOT NULL);"
            "CREATE TABLE benchmarks (model_id TEXT PRIMARY KEY REFERENCES models(id), score REAL);"
            "CREATE TABLE prices (model_id TEXT PRIMARY KEY REFERENCES models(id), score REAL);"
            "INSERT INTO models VALUES ('a', 'Alpha'), ('b', 'Beta');"
            "INSERT INTO benchmarks VALUES ('a', 70.0), ('b', 80.0);"
            "INSERT INTO prices VALUES ('a', 1.0), ('b', 2.0);")
    plan = make_sql_rank_tool(SQLDatabase(path), lexicon=load_lexicon(EXAMPLE_LEXICON)).metadata["rank_plan"]
    question = "Which model has the highest benchmarks score?"
    assert mismatch(question, {"measure": "highest benchmarks.score", "where": "all"}, plan) == ""
    assert "asks about benchmarks.score too" in mismatch(question, {"measure": "highest prices.score", "where": "all"}, plan)
