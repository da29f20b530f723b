"""sql_lookup: the values a database holds for one named row, chosen from lists, built and run by
the tool, refused when the row or the columns are not the question's, narrowed to what it says;
in pick mode called and shown without the model when the question fixes every choice."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings
from agentmesh.tools.sql import SQLDatabase
from agentmesh.tools.sql_lookup import make_sql_lookup_tool, mismatch, said_names


@pytest.fixture
def lookup(example_db):
    return make_sql_lookup_tool(SQLDatabase(example_db))


def lists(tool) -> tuple[list, list]:
    props = tool.args_schema.model_json_schema()["properties"]
    names, items = props["names"]["items"], props["columns"]["items"]
    return (names["enum"] if "enum" in names else [names["const"]]), (items["enum"] if "enum" in items else [items["const"]])


def test_a_named_rows_values_come_through_the_tables_that_extend_it(lookup):
    assert lookup.invoke({"names": ["GPT-4"], "columns": ["mmlu"]}) == "name | mmlu\nGPT-4 | 86.4"  # benchmarks, by the model's key
    both = lookup.invoke({"names": ["GPT-4o"], "columns": ["input_per_1m_usd", "output_per_1m_usd"]})
    assert both == "name | input_per_1m_usd | output_per_1m_usd\nGPT-4o | 2.5 | 10.0"
    assert lookup.invoke({"names": ["Phi-2"], "columns": ["context_window"]}) == "name | context_window\nPhi-2 | 2048"  # its own
    message = lookup.invoke({"type": "tool_call", "id": "c1", "name": "sql_lookup", "args": {"names": ["GPT-4"], "columns": ["mmlu"]}})
    (citation,) = message.artifact
    assert citation["kind"] == "sql" and "benchmarks.mmlu" in citation["detail"] and "'GPT-4'" in citation["detail"]


def test_several_named_rows_come_back_in_the_order_asked_and_a_row_without_the_value_is_said_to_lack_it(lookup):
    assert lookup.invoke({"names": ["Qwen 72B Chat", "GPT-4"], "columns": ["mmlu"]}) == \
        "name | mmlu\nQwen 72B Chat | 74.4\nGPT-4 | 86.4"
    assert lookup.invoke({"names": ["GPT-4", "GPT-4o"], "columns": ["mmlu"]}) == "name | mmlu\nGPT-4 | 86.4\n(no mmlu for GPT-4o)"
    assert lists(lookup.metadata["narrow"]("What is the MMLU gap between GPT-4 and Qwen 72B Chat?")) == \
        (["GPT-4", "Qwen 72B Chat"], ["mmlu"])


def test_a_value_the_database_does_not_hold_is_no_value(lookup):
    assert lookup.invoke({"names": ["GPT-4o"], "columns": ["mmlu"]}) == "The database holds no mmlu for GPT-4o."
    assert lookup.invoke({"names": ["GPT-4"], "columns": ["mmlu", "input_per_1m_usd"]}) == "name | mmlu\nGPT-4 | 86.4"


@pytest.mark.parametrize("question, names, columns", [
    ("What is the MMLU score of GPT-4?", ["GPT-4"], ["mmlu"]),
    ("What is the MMLU score of GPT-4o?", ["GPT-4o"], ["mmlu"]),  # not the GPT-4 inside it
    ("What does GPT-4o cost per 1M input and output tokens?", ["GPT-4o"], ["input_per_1m_usd", "output_per_1m_usd"]),
    ("When was Mixtral 8x7B Instruct released?", ["Mixtral 8x7B Instruct"], ["release_month"]),
])
def test_the_lists_are_cut_to_the_name_and_the_columns_the_question_says(lookup, question, names, columns):
    assert lists(lookup.metadata["narrow"](question)) == (names, columns)


@pytest.mark.parametrize("question", ["Who develops Phi-2?", "What is the MMLU score of GPT-5?", "Which model is best?"])
def test_without_a_name_and_a_column_the_tool_is_not_offered(lookup, question):
    assert lookup.metadata["narrow"](question) is None


def test_a_call_for_another_row_or_column_is_refused(lookup):
    plan = lookup.metadata["lookup_plan"]
    question = "What is the MMLU score of GPT-4o?"
    assert "does not name 'GPT-4'" in mismatch(question, {"names": ["GPT-4"], "columns": ["mmlu"]}, plan)
    assert "does not ask for humaneval" in mismatch(question, {"names": ["GPT-4o"], "columns": ["humaneval"]}, plan)
    assert mismatch(question, {"names": ["GPT-4o"], "columns": ["mmlu"]}, plan) == ""
    assert said_names("Compare Mixtral 8x7B Instruct and Phi-2.", plan) == ["Mixtral 8x7B Instruct", "Phi-2"]


def _agent(example_db, responses, **settings):
    model = FakeToolChatModel(responses=list(responses))
    settings = {"answer_style": "pick", **settings}
    agent = Agent(Settings.load(db=example_db, kg=[], tools=["sql_lookup", "sql"], **settings),
                  model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    return agent, model


def test_in_pick_mode_a_question_that_fixes_every_choice_is_looked_up_and_shown_without_the_model(example_db):
    agent, model = _agent(example_db, [AIMessage("GPT-4 scores 99 on MMLU.")])
    result = agent.run("What is the MMLU score of GPT-4?")
    assert model.calls == []  # the question chose the row and the column; the row is the answer
    assert result.stop_reason == "answered" and result.answer == "name | mmlu: GPT-4 | 86.4"
    assert any(c.kind == "sql" and "benchmarks.mmlu" in c.detail for c in result.citations)
    assert all(c.status == "supported" for c in result.claims)


def test_a_value_the_database_lacks_is_not_found_not_another_rows(example_db):
    agent, model = _agent(example_db, [AIMessage("GPT-4o scores 86.4 on MMLU.")])
    result = agent.run("What is the MMLU score of GPT-4o?")
    assert result.stop_reason == "not_found" and "86.4" not in result.answer and model.calls == []


def test_a_cost_is_worked_out_from_the_prices_looked_up_and_recorded_prices_are_no_cost(example_db):
    agent, _ = _agent(example_db, [AIMessage("I could not find that.")])
    result = agent.run("How much does GPT-4o cost for 2M input and 500K output tokens?")
    assert result.stop_reason == "answered" and result.answer.endswith("= 10.00 USD") and result.supported
    # no price for cached tokens: "cached" is a word no lookup of GPT-4o's prices uses, so none is made
    # (it was made, and its prices shown as evidence), and no cost is worked out
    result = agent.run("How much does GPT-4o cost for 2M input and 500K cached tokens?")
    assert result.stop_reason != "answered" and "USD" not in result.answer
    assert not [c for c in result.tool_calls if c.name == "sql_lookup"]


def test_a_model_that_calls_it_in_free_mode_gets_the_same_row(example_db):
    call = AIMessage("", tool_calls=[{"name": "sql_lookup", "args": {"names": ["GPT-4"], "columns": ["mmlu"]}, "id": "c1"}])
    agent, model = _agent(example_db, [call, AIMessage("GPT-4 scores 86.4.")],
                          answer_style="free", answer_check="strict")
    result = agent.run("What is the MMLU score of GPT-4?")
    assert result.answer == "GPT-4 scores 86.4." and result.supported and len(model.calls) == 2


from tests.test_sql_rank import duckdb_landscape, mysql_landscape, pg_landscape  # noqa: E402,F401  (fixtures)


@pytest.mark.parametrize("backend", ["pg_landscape", "mysql_landscape", "duckdb_landscape"])
def test_the_same_values_on_other_databases(request, backend):
    db = SQLDatabase(request.getfixturevalue(backend))
    tool = make_sql_lookup_tool(db)
    rows = tool.invoke({"names": ["GPT-4o"], "columns": ["input_per_1m_usd", "output_per_1m_usd"]}).splitlines()
    assert rows[0] == "name | input_per_1m_usd | output_per_1m_usd" and rows[1].startswith("GPT-4o | 2.5 | 10")
    assert tool.invoke({"names": ["Mixtral 8x7B Instruct"], "columns": ["humaneval"]}) == "name | humaneval\nMixtral 8x7B Instruct | 40.2"
    assert tool.invoke({"names": ["GPT-4o"], "columns": ["mmlu"]}) == "The database holds no mmlu for GPT-4o."
    assert lists(tool.metadata["narrow"]("What is the MMLU score of GPT-4?")) == (["GPT-4"], ["mmlu"])
    db.engine.dispose()


def test_a_name_said_on_its_own_counts_though_a_longer_one_holds_it(lookup):
    plan = lookup.metadata["lookup_plan"]
    assert said_names("What is the MMLU gap between GPT-4 and GPT-4o?", plan) == ["GPT-4o", "GPT-4"]
    assert said_names("What is the MMLU score of GPT-4o?", plan) == ["GPT-4o"]


@pytest.mark.parametrize("question,names", [
    ("What is the MMLU score of GPT-4 Turbo?", []),                     # another model: not GPT-4's row
    ("What is the output price of Llama 3.2 11B Vision?", []),
    ("What is the MMLU score of GPT-4?", ["GPT-4"]),
    ("What is the MMLU score of Mixtral 8x7B Instruct?", ["Mixtral 8x7B Instruct"]),  # the variant is the name's own
])
def test_a_name_a_variant_word_follows_is_another_model(lookup, question, names):
    """Tried as a new user would: "What is the MMLU score of GPT-4 Turbo?" got GPT-4's row (86.4),
    shown as the answer, and Llama 3.2 11B Vision got Llama 3.2 11B's price."""
    plan = lookup.metadata["lookup_plan"]
    assert said_names(question, plan) == names
    assert (lookup.metadata["narrow"](question) is None) == (not names)


def test_the_label_values_are_read_once_for_both_tools(example_db):
    """sql_rank's name conditions and sql_lookup's names are the same label values: one DISTINCT
    read per labelled table when the database is opened for both, not one per tool."""
    import sqlalchemy as sa

    from agentmesh.tools.sql_rank import make_sql_rank_tool

    db = SQLDatabase(example_db)
    statements: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    make_sql_lookup_tool(db), make_sql_rank_tool(db)
    distinct_names = [s for s in statements if s.lstrip().upper().startswith("SELECT DISTINCT") and ".name" in s]
    assert sorted(db.labels) == ["developers", "licenses", "models"]
    assert len(distinct_names) == 3, distinct_names


@pytest.mark.no_lexicon
@pytest.mark.parametrize("question,names", [
    ("What is the MMLU score of GPT-4 Turbo?", []),          # a capitalised word goes on with the name
    ("What is the output price of Llama 3.2 11B Vision?", []),
    ("What is the MMLU score of GPT-4?", ["GPT-4"]),
    ("What is the MMLU score of GPT-4 and of Claude 2?", ["Claude 2", "GPT-4"]),  # longest first
])
def test_without_a_lexicon_a_name_another_name_goes_on_from_is_not_said(example_db, question, names):
    """No list of variant words is needed for "GPT-4 Turbo": a capitalised word after a name makes
    it another name, on any user's data; the lexicon adds only lower-case variants ("gpt-4o mini")."""
    from agentmesh.tools.sql_lookup import make_sql_lookup_tool

    plan = make_sql_lookup_tool(SQLDatabase(example_db)).metadata["lookup_plan"]
    assert said_names(question, plan) == names


@pytest.mark.no_lexicon
@pytest.mark.parametrize("question,offered", [
    ("What is the length of the North Crossing in km?", True),      # its length: a lookup
    ("At which port is the North Crossing based?", True),           # "based" only places it
    ("List the ferries on the North Crossing.", False),             # ferries: no column of a route says them
    ("Which routes share a port with the North Crossing?", False),  # "share": not what a lookup does
    ("What was the length of the North Crossing in 1990?", False),  # a year the lookup would drop
])
def test_a_lookup_is_offered_only_when_it_uses_every_word_of_the_question(tmp_path, question, offered):
    """A lookup shows true values of a named row; for "List the ferries on the North Crossing" the
    route's code would be a wrong answer with real evidence under it."""
    import sqlite3

    path = tmp_path / "ferries.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE routes (id INTEGER PRIMARY KEY, route_name TEXT, route_code TEXT, length_km REAL, home_port TEXT);"
            "INSERT INTO routes VALUES (1, 'North Crossing', 'NC1', 42.5, 'Harwick'), (2, 'South Loop', 'SL2', 18.0, 'Penmar'),"
            " (3, 'Island Hop', 'IH3', 9.5, 'Harwick');"
            "CREATE TABLE ferries (id INTEGER PRIMARY KEY, ferry_name TEXT, route_id INTEGER REFERENCES routes(id));"
            "INSERT INTO ferries VALUES (1, 'Gull', 1), (2, 'Tern', 1), (3, 'Puffin', 2);")
    db = SQLDatabase(str(path))
    tool = make_sql_lookup_tool(db)
    assert (tool.metadata["narrow"](question) is not None) == offered
