"""Human approval: dangerous tool calls interrupt the graph and resume with the person's decision."""

from __future__ import annotations

import sqlite3

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agentmesh import Agent, Settings
from agentmesh.errors import AgentmeshError
from agentmesh.graphs.agent import approved_ids, build_agent_graph
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

RAN: list[str] = []


def _shell(command: str) -> str:
    """Pretend to run a shell command."""
    RAN.append(command)
    return f"ran {command}"


shell = StructuredTool.from_function(_shell, name="shell", metadata={"approval": True})


@tool
def echo(text: str) -> str:
    """Echo text back."""
    return text


@pytest.fixture(autouse=True)
def _clear():
    RAN.clear()


def _graph(model, approval="ask"):
    return build_agent_graph(model, [shell, echo], checkpointer=InMemorySaver(), approval=approval)


CONFIG = {"configurable": {"thread_id": "t"}}


def test_a_dangerous_call_stops_the_run_until_approved():
    model = FakeToolChatModel(responses=[tool_call("shell", "c1", command="ls"), AIMessage("Listed.")])
    graph = _graph(model)

    state = graph.invoke({"messages": [HumanMessage("list files")]}, CONFIG)

    assert RAN == []  # nothing ran before the decision
    (pending,) = state["__interrupt__"]
    assert pending.value == {"type": "approval", "calls": [{"id": "c1", "name": "shell", "args": {"command": "ls"}}]}
    state = graph.invoke(Command(resume="approve"), CONFIG)
    assert RAN == ["ls"]
    assert state["answer"] == "Listed."
    assert "__interrupt__" not in state


def test_a_rejected_call_is_not_run_and_the_model_is_told():
    model = FakeToolChatModel(responses=[tool_call("shell", "c1", command="rm -rf /"), AIMessage("I did not delete anything.")])
    graph = _graph(model)
    graph.invoke({"messages": [HumanMessage("clean up")]}, CONFIG)

    state = graph.invoke(Command(resume={"decision": "reject", "reason": "too risky"}), CONFIG)

    assert RAN == []
    observation = [m for m in model.calls[1] if isinstance(m, ToolMessage)][0]
    assert observation.status == "error" and "declined" in observation.text and "too risky" in observation.text
    assert state["answer"] == "I did not delete anything."
    assert state["tool_errors"] == 0  # a refusal is not a tool failure


def test_only_the_dangerous_calls_of_a_step_wait_and_each_gets_its_own_decision():
    both = AIMessage("", tool_calls=[
        {"name": "shell", "args": {"command": "a"}, "id": "s1"},
        {"name": "shell", "args": {"command": "b"}, "id": "s2"},
        {"name": "echo", "args": {"text": "hi"}, "id": "e1"},
    ])
    model = FakeToolChatModel(responses=[both, AIMessage("done")])
    graph = _graph(model)
    state = graph.invoke({"messages": [HumanMessage("go")]}, CONFIG)
    assert [c["id"] for c in state["__interrupt__"][0].value["calls"]] == ["s1", "s2"]

    graph.invoke(Command(resume={"s1": "approve", "s2": "reject"}), CONFIG)

    assert RAN == ["a"]
    outputs = {m.tool_call_id: m for m in model.calls[1] if isinstance(m, ToolMessage)}
    assert outputs["e1"].text == "<data>\nhi\n</data>" and outputs["s1"].text == "<data>\nran a\n</data>"
    assert "declined" in outputs["s2"].text


@pytest.mark.parametrize("mode, ran", [("auto", ["ls"]), ("deny", [])])
def test_auto_runs_without_asking_and_deny_never_runs(mode, ran):
    model = FakeToolChatModel(responses=[tool_call("shell", "c1", command="ls"), AIMessage("ok")])
    state = _graph(model, approval=mode).invoke({"messages": [HumanMessage("list")]}, CONFIG)
    assert "__interrupt__" not in state and RAN == ran


def test_decisions_are_read_strictly():
    calls = [{"id": "a"}, {"id": "b"}]
    assert approved_ids(True, calls) == {"a": "", "b": ""}
    assert approved_ids("yes", calls) == {"a": "", "b": ""}
    assert approved_ids("maybe", calls) == {"a": "rejected", "b": "rejected"}  # anything unclear is a no
    assert approved_ids({"a": True}, calls) == {"a": "", "b": "rejected"}       # a missing decision is a no
    with pytest.raises(ValueError):
        build_agent_graph(FakeToolChatModel(responses=[AIMessage("x")]), approval="sometimes")


# -- your own review of the calls, before the person is asked ------------------------------------

from agentmesh import Middleware  # noqa: E402
from agentmesh.graphs.middleware import ToolCallsRequest  # noqa: E402
from agentmesh.records import RunContext  # noqa: E402


class AdminsOnly(Middleware):
    """A policy of one's own: only an admin's runs may use the shell at all."""

    def __init__(self):
        self.seen: list[list[str]] = []

    def review_tool_calls(self, request: ToolCallsRequest):
        self.seen.append([c["id"] for c in request.calls])
        if request.run is not None and request.run.user == "admin":
            return {}
        return {c["id"]: "only admins may use the shell" for c in request.calls if c["name"] == "shell"}


def _reviewed(model, reviewers, approval="ask"):
    return build_agent_graph(model, [shell, echo], checkpointer=InMemorySaver(), approval=approval, middleware=reviewers)


def test_your_review_declines_calls_before_the_person_is_asked_and_the_model_is_told_why():
    both = AIMessage("", tool_calls=[{"name": "shell", "args": {"command": "ls"}, "id": "s1"},
                                     {"name": "echo", "args": {"text": "hi"}, "id": "e1"}])
    model = FakeToolChatModel(responses=[both, AIMessage("I may not list files.")])
    policy = AdminsOnly()
    state = _reviewed(model, [policy]).invoke({"messages": [HumanMessage("list files")]}, CONFIG,
                                              context=RunContext("t", "r1", user="guest"))
    assert "__interrupt__" not in state and RAN == []  # declined by the policy: nobody was asked
    outputs = {m.tool_call_id: m for m in model.calls[1] if isinstance(m, ToolMessage)}
    assert "declined" in outputs["s1"].text and "only admins may use the shell" in outputs["s1"].text
    assert outputs["e1"].text == "<data>\nhi\n</data>"  # the other call ran
    assert policy.seen == [["s1", "e1"]] and state["tool_errors"] == 0


def test_no_review_of_yours_can_approve_a_call_for_the_person():
    model = FakeToolChatModel(responses=[tool_call("shell", "c1", command="ls"), AIMessage("Listed.")])
    policy = AdminsOnly()
    graph = _reviewed(model, [policy])
    state = graph.invoke({"messages": [HumanMessage("list files")]}, CONFIG, context=RunContext("t", "r1", user="admin"))
    assert RAN == [] and state["__interrupt__"][0].value["calls"][0]["id"] == "c1"  # the admin's call still waits
    state = graph.invoke(Command(resume="reject"), CONFIG, context=RunContext("t", "r1", user="admin"))
    assert RAN == [] and state["answer"] == "Listed."
    assert policy.seen == [["c1"], ["c1"]]  # reviewed again on resume, as the docstring says


def test_a_review_that_fails_declines_the_calls_still_to_run():
    class Broken(Middleware):
        def review_tool_calls(self, request):
            raise ConnectionError("policy server down")

    model = FakeToolChatModel(responses=[tool_call("echo", "e1", text="hi"), AIMessage("I could not.")])
    state = _reviewed(model, [Broken()], approval="auto").invoke({"messages": [HumanMessage("say hi")]}, CONFIG)
    observation = [m for m in model.calls[1] if isinstance(m, ToolMessage)][0]
    assert "declined" in observation.text and "policy server down" in observation.text
    assert state["answer"] == "I could not."


def _agent(tmp_path, responses, **settings):
    s = Settings.load(home=tmp_path / "home", kg=[], tools=["sql", "python"], cache=False, **settings)
    return Agent(s, model=FakeToolChatModel(responses=responses), embeddings=HashingEmbeddings())


def test_agent_run_returns_pending_calls_and_resume_finishes_with_a_real_sandbox(tmp_path):
    agent = _agent(tmp_path, [tool_call("python", "p1", code="print(6 * 7)"), AIMessage("It is 42.")])

    first = agent.run("What is 6 times 7?", thread_id="math")

    assert first.stop_reason == "approval_required" and first.needs_approval
    assert first.pending == [{"id": "p1", "name": "python", "args": {"code": "print(6 * 7)"}}]
    assert agent.pending("math") == first.pending  # also readable later, e.g. by another process
    done = agent.resume("math", "approve")
    assert done.answer == "It is 42." and done.run_id == first.run_id
    assert done.tool_calls[0].ok and done.tool_calls[0].output.strip() == "42"
    assert agent.pending("math") == []
    with pytest.raises(AgentmeshError, match="no tool call waiting"):
        agent.resume("math", "approve")


def test_sql_writes_need_approval_and_reads_do_not(tmp_path):
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE items (name TEXT)")
        conn.execute("INSERT INTO items VALUES ('pen')")
    responses = [
        tool_call("sql", "r1", query="SELECT count(*) FROM items"),
        tool_call("sql", "w1", query="INSERT INTO items VALUES ('ink')"),
        AIMessage("Added ink."),
    ]
    agent = _agent(tmp_path, responses, db=str(db), sql_writes=True)

    first = agent.run("Add ink", thread_id="shop")
    assert [c["id"] for c in first.pending] == ["w1"]  # the read ran without asking
    rejected = agent.resume("shop", False)
    assert rejected.answer == "Added ink."  # the scripted model says so; the database says otherwise
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (1,)

    agent.model.responses = [tool_call("sql", "w2", query="INSERT INTO items VALUES ('ink')"), AIMessage("Added.")]
    agent.model.i = 0
    assert agent.run("Add ink, please", thread_id="shop2").pending
    assert agent.resume("shop2", True).answer == "Added."
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM items ORDER BY rowid").fetchall() == [("pen",), ("ink",)]


def test_without_sql_writes_a_write_is_refused_without_asking(tmp_path):
    db = tmp_path / "shop.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE items (name TEXT)").connection.close()
    agent = _agent(tmp_path, [tool_call("sql", "w1", query="DELETE FROM items"), AIMessage("Could not.")], db=str(db))
    result = agent.run("delete everything")
    assert not result.pending and not result.tool_calls[0].ok and "read-only" in result.tool_calls[0].output.lower()


def test_cli_ask_asks_nobody_without_a_terminal_and_follows_approve(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from agentmesh.apps import cli

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(cli, "_agent", lambda *_: _agent(tmp_path, [tool_call("python", code="print(40 + 2)"), AIMessage("Done.")]))
    runner = CliRunner()

    rejected = runner.invoke(cli.app, ["ask", "compute", "--json"])
    assert rejected.exit_code == 0, rejected.output
    assert "rejected (no terminal to ask; pass --approve to allow)" in rejected.output
    assert "declined" in rejected.output and '"ok": false' in rejected.output

    approved = runner.invoke(cli.app, ["ask", "compute", "--approve", "--json"])
    assert approved.exit_code == 0, approved.output
    assert '"ok": true' in approved.output and '"output": "42' in approved.output


def test_the_repl_settles_an_approval_left_by_an_earlier_session_first(tmp_path):
    import io

    from rich.console import Console

    from agentmesh.apps.repl import ChatREPL

    agent = _agent(tmp_path, [tool_call("python", "p1", code="print(3 * 3)"), AIMessage("Nine."), AIMessage("Hello again.")])
    assert agent.run("3 times 3?", thread_id="left").pending  # the session ended here, undecided

    answers = iter(["y"])
    out = io.StringIO()
    repl = ChatREPL(agent, console=Console(file=out, width=120), thread_id="left", read_line=lambda prompt: next(answers))
    repl.ask("hello?")

    text = out.getvalue()
    assert "earlier run waiting for approval" in text and "Nine." in text and "Hello again." in text
    assert agent.pending("left") == []
    humans = [m.text for m in agent.history("left") if m.type == "human"]
    assert humans == ["3 times 3?", "hello?"]


def test_a_turn_starts_once_per_question_not_again_after_tools_an_approval_or_a_retry():
    """Grounding shares the model's first step; it runs for each new question (the same words
    asked again included) and never again within the turn: not after tool results, not when a run
    resumes from an approval."""
    asked: list[str] = []

    def retrieve(query):
        asked.append(query)
        return []

    model = FakeToolChatModel(responses=[tool_call("shell", "c1", command="ls"), AIMessage("Listed."),
                                         tool_call("echo", "e1", text="hi"), AIMessage("Said hi.")])
    graph = build_agent_graph(model, [shell, echo], retrieve=retrieve, checkpointer=InMemorySaver())
    graph.invoke({"messages": [HumanMessage("list files")]}, CONFIG)
    state = graph.invoke(Command(resume="approve"), CONFIG)
    assert state["answer"] == "Listed." and asked == ["list files"] and state["steps"] == 2
    state = graph.invoke({"messages": [HumanMessage("list files")]}, CONFIG)
    assert state["answer"] == "Said hi." and asked == ["list files", "list files"] and state["steps"] == 2
