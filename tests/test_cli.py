"""The CLI through Typer's runner: ask, chat, and one-line errors for bad input."""

from __future__ import annotations

import json
import re
import socket

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from typer.testing import CliRunner

from agentmesh.apps.cli import app
from agentmesh import plugins
from agentmesh.models.testing import FakeToolChatModel, tool_call

runner = CliRunner()


@pytest.fixture
def fake_model(monkeypatch):
    """Register a 'fake' provider; the test fills ``responses`` before running the CLI."""
    holder = {"model": None, "responses": [AIMessage("ok")]}

    def factory(name, settings):
        holder["model"] = FakeToolChatModel(responses=holder["responses"])
        return holder["model"]

    monkeypatch.setitem(plugins.models._local, "fake", factory)
    monkeypatch.setenv("AGENTMESH_EMBEDDINGS", "hashing")
    return holder


def test_ask_prints_answer_tools_and_citations(fake_model, example_kg, example_db):
    query = "SELECT name, context_window FROM models WHERE id = 'Claude-2.1'"
    fake_model["responses"] = [tool_call("sql", query=query), AIMessage("Claude 2.1 reads 200000 tokens.")]

    result = runner.invoke(app, ["ask", "Context window of Claude 2.1?", "--model", "fake", "--kg", str(example_kg), "--db", str(example_db)])

    assert result.exit_code == 0, result.output
    assert "Claude 2.1 reads 200000 tokens." in result.output
    assert "sql" in result.output and "200000" in result.output
    assert "node: https://example.org/llm/Claude-2.1" in result.output
    assert "sql: " in result.output


def test_ask_json_output(fake_model, example_kg):
    fake_model["responses"] = [AIMessage("Mistral AI develops Mixtral 8x7B Instruct.")]

    result = runner.invoke(app, ["ask", "Who develops Mixtral 8x7B Instruct?", "-m", "fake", "--kg", str(example_kg), "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["answer"] == "Mistral AI develops Mixtral 8x7B Instruct."
    refs = [c["ref"] for c in data["citations"]]
    assert "https://example.org/llm/Mixtral-8x7B-Instruct" in refs
    assert "https://example.org/llm/MistralAI" in refs


def test_chat_keeps_history_across_turns(fake_model, example_kg):
    fake_model["responses"] = [AIMessage("Nice to meet you, Ada."), AIMessage("Your name is Ada.")]

    result = runner.invoke(app, ["chat", "-m", "fake", "--kg", str(example_kg)], input="My name is Ada.\nWhat is my name?\n/exit\n")

    assert result.exit_code == 0, result.output
    assert "Your name is Ada." in result.output
    second_call = fake_model["model"].calls[1]
    humans = [m.text for m in second_call if isinstance(m, HumanMessage)]
    assert humans == ["My name is Ada.", "What is my name?"]
    assert "Nice to meet you, Ada." in [m.text for m in second_call if isinstance(m, AIMessage)]


def test_chat_thread_survives_a_new_session(fake_model, example_kg):
    fake_model["responses"] = [AIMessage("Noted.")]
    first = runner.invoke(app, ["chat", "-m", "fake", "--kg", str(example_kg), "--thread", "t-42"], input="Remember: blue.\n/exit\n")
    assert first.exit_code == 0
    fake_model["responses"] = [AIMessage("You said blue.")]

    second = runner.invoke(app, ["chat", "-m", "fake", "--kg", str(example_kg), "--thread", "t-42"], input="What did I say?\n")

    assert second.exit_code == 0
    humans = [m.text for m in fake_model["model"].calls[0] if isinstance(m, HumanMessage)]
    assert humans == ["Remember: blue.", "What did I say?"]


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:")
    return lines[0]


def test_missing_knowledge_graph_file(fake_model, tmp_path):
    line = one_line_error(runner.invoke(app, ["ask", "hi", "-m", "fake", "--kg", str(tmp_path / "nope.ttl")]))
    assert "nope.ttl" in line and "does not exist" in line and "--kg" in line


def test_malformed_turtle_names_file_and_line(fake_model, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://e.org/> .\nex:a ex:b ex:c .\nex:d ex:e\n ex:f ex:g .\n")
    line = one_line_error(runner.invoke(app, ["ask", "hi", "-m", "fake", "--kg", str(bad)]))
    assert "bad.ttl" in line and "line 4" in line


def test_unknown_model_name():
    line = one_line_error(runner.invoke(app, ["ask", "hi", "--model", "gpt-17-ultra"]))
    assert "unknown model 'gpt-17-ultra'" in line and "openai:<model>" in line


def test_unreachable_model_server(monkeypatch):
    monkeypatch.setenv("AGENTMESH_EMBEDDINGS", "hashing")
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(app, ["ask", "hi", "--model", "local:qwen", "--base-url", f"http://127.0.0.1:{port}/v1"])
    line = one_line_error(result)
    assert f"127.0.0.1:{port}" in line and "unreachable" in line


def test_missing_database(fake_model, tmp_path):
    line = one_line_error(runner.invoke(app, ["ask", "hi", "-m", "fake", "--db", str(tmp_path / "x.sqlite")]))
    assert "x.sqlite" in line and "--db" in line


def test_empty_question_is_refused():
    result = runner.invoke(app, ["ask", "   "])
    assert result.exit_code == 2
    assert "question is empty" in result.output


def test_help_documents_commands_and_options():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in ("ask", "chat"):
        assert word in result.output
    ask_help = runner.invoke(app, ["ask", "--help"]).output
    for option in ("--model", "--kg", "--db", "--base-url", "--thread", "--json"):
        assert option in ask_help


def test_ask_reads_a_long_question_from_stdin_or_a_file(fake_model, example_kg, tmp_path):
    fake_model["responses"] = [AIMessage("Mistral AI.")]
    question = "Who develops Mixtral 8x7B Instruct?\n" + "Some context the person pasted. " * 50
    piped = runner.invoke(app, ["ask", "-", "-m", "fake", "--kg", str(example_kg), "--json"], input=question)
    assert piped.exit_code == 0, piped.output
    asked = [m.text for m in fake_model["model"].calls[0] if isinstance(m, HumanMessage)]
    assert asked == [question.strip()]
    (tmp_path / "q.txt").write_text(question)
    from_file = runner.invoke(app, ["ask", "--file", str(tmp_path / "q.txt"), "-m", "fake", "--kg", str(example_kg)])
    assert from_file.exit_code == 0 and "Mistral AI." in from_file.output


@pytest.mark.parametrize("args, says", [
    (["ask"], "the question is empty"),
    (["ask", "   "], "the question is empty"),
    (["ask", "x", "--file", "q.txt"], "not both"),
    (["ask", "--file", "missing.txt"], "cannot read the question from missing.txt"),
])
def test_ask_without_a_question_says_how_to_give_one(fake_model, args, says):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and says in result.output


def test_kg_search_refuses_a_negative_k(example_kg):
    result = runner.invoke(app, ["kg", "search", "Mixtral", "--kg", str(example_kg), "-k", "-5"])
    assert result.exit_code == 2 and "-k" in result.output


def test_init_writes_settings_prints_the_profile_and_suggests_questions(tmp_path):
    """A first hour on your own data: init writes the settings file, reads the data and suggests
    questions made from what it found; it never overwrites a settings file without --force."""
    import sqlite3

    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript("CREATE TABLE products (id INTEGER PRIMARY KEY, product_name TEXT, weight_kg REAL);"
                           "INSERT INTO products VALUES (1, 'Oak Table', 31.5), (2, 'Pine Chair', 6.2), (3, 'Ash Desk', 24.0);")
    target = tmp_path / "agentmesh.toml"
    result = runner.invoke(app, ["init", "--db", str(db), "--out", str(target), "--no-check"])
    assert result.exit_code == 0, result.output
    assert f'db = "{db}"' in target.read_text()
    assert "product_name" in result.output                       # the profile found the label
    # a question made from the data: its measure without its unit, of a row it names
    assert re.search(r"What is the weight of (Oak Table|Pine Chair|Ash Desk)\?", result.output), result.output
    again = runner.invoke(app, ["init", "--db", str(db), "--out", str(target), "--no-check"])
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(app, ["init", "--out", str(target)]).exit_code == 2
