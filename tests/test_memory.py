"""Conversation memory: threads survive restarts and kills, history fits its budget, threads CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from langgraph.checkpoint.memory import InMemorySaver
from typer.testing import CliRunner

from agentmesh.apps.cli import app
from agentmesh.graphs.agent import build_agent_graph
from agentmesh.graphs.history import fit_history
from agentmesh.memory.conversation import list_threads, make_checkpointer
from agentmesh.models.testing import FakeToolChatModel
from agentmesh.prompts import HISTORY_SUMMARY_HEADER, INTERRUPTED_OBSERVATION

PG_URL = os.environ.get("AGENTMESH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

CHILD = textwrap.dedent('''
    import json, sys, time, pathlib
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_core.tools import tool
    from agentmesh import Agent, Settings
    from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

    marker = pathlib.Path(sys.argv[3])

    @tool
    def slow(x: str) -> str:
        """A slow lookup."""
        marker.write_text("started")
        time.sleep(60)
        return "done"

    script = {"answer": [AIMessage("Noted.")], "slow": [tool_call("slow", x="a"), AIMessage("never")]}[sys.argv[2]]
    model = FakeToolChatModel(responses=script)
    agent = Agent(Settings.load(tools=[], cache=False), model=model, embeddings=HashingEmbeddings(), extra_tools=[slow])
    result = agent.run(sys.argv[1], thread_id="shared")
    seen = [[type(m).__name__, m.text] for m in model.calls[-1]]
    print(json.dumps({"answer": result.answer, "seen": seen}))
''')


def child(tmp_path, question, script, env=None, wait=True):
    path = tmp_path / "child.py"
    path.write_text(CHILD)
    command = [sys.executable, str(path), question, script, str(tmp_path / "marker")]
    if not wait:
        return subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, text=True)
    done = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_thread_survives_a_process_restart(tmp_path):
    child(tmp_path, "My name is Ada.", "answer")
    second = child(tmp_path, "What is my name?", "answer")
    humans = [text for kind, text in second["seen"] if kind == "HumanMessage"]
    assert humans == ["My name is Ada.", "What is my name?"]
    assert ["AIMessage", "Noted."] in second["seen"]


def test_a_killed_run_loses_no_committed_turn(tmp_path):
    child(tmp_path, "First question.", "answer")
    running = child(tmp_path, "Second question, slow.", "slow", wait=False)
    deadline = time.time() + 60
    while not (tmp_path / "marker").exists() and time.time() < deadline:
        time.sleep(0.1)
    assert (tmp_path / "marker").exists(), "the tool never started"
    running.send_signal(signal.SIGKILL)
    running.wait()

    third = child(tmp_path, "Third question.", "answer")
    seen = third["seen"]
    humans = [text for kind, text in seen if kind == "HumanMessage"]
    assert humans == ["First question.", "Second question, slow.", "Third question."]
    assert ["AIMessage", "Noted."] in seen  # the first turn's answer, committed before the kill
    assert ["ToolMessage", f"<data>\n{INTERRUPTED_OBSERVATION}\n</data>"] in seen  # the dangling call is closed for the model
    assert third["answer"] == "Noted."


def test_history_is_trimmed_to_the_budget_keeping_the_latest_turn_and_a_summary():
    folded = []

    def summarize(summary, messages):
        folded.append([m.text for m in messages])
        return (summary + " | " if summary else "") + "; ".join(m.text[:20] for m in messages)

    model = FakeToolChatModel(responses=[AIMessage("ok " + "word " * 60)])
    graph = build_agent_graph(model, [], history_budget=400, summarize=summarize, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "long"}}
    for i in range(8):
        state = graph.invoke({"messages": [HumanMessage(f"question {i} " + "filler " * 40)]}, config)

    sent = model.calls[-1]
    assert isinstance(sent[0], SystemMessage) and sent[0].text.startswith("You are agentmesh")
    assert isinstance(sent[1], SystemMessage) and sent[1].text.startswith(HISTORY_SUMMARY_HEADER)
    assert sent[-1].text.startswith("question 7")
    assert count_tokens_approximately(sent[1:]) <= 400
    assert folded[0][0].startswith("question 0")  # the oldest turn was summarised first, nothing skipped
    assert len(state["messages"]) == 16  # the checkpoint keeps everything


def test_fit_history_never_separates_a_tool_call_from_its_result():
    messages = [HumanMessage("a " * 100), AIMessage("", tool_calls=[{"name": "t", "args": {}, "id": "1"}]),
                ToolMessage("r " * 100, tool_call_id="1"), AIMessage("x"), HumanMessage("latest")]
    kept, summary, turns = fit_history(messages, 20)
    assert kept[-1].text == "latest" and turns == 1 and "left out" in summary
    assert not any(isinstance(m, ToolMessage) for m in kept)


def test_threads_in_postgresql():
    pytest.importorskip("langgraph.checkpoint.postgres", reason="pip install 'agentmesh[postgres]'")
    try:
        saver = make_checkpointer(PG_URL)
    except Exception as exc:
        pytest.skip(f"no PostgreSQL at {PG_URL}: {exc}")
    thread = f"pg-{os.getpid()}-{time.time_ns()}"
    config = {"configurable": {"thread_id": thread}}
    first = build_agent_graph(FakeToolChatModel(responses=[AIMessage("Noted.")]), [], checkpointer=saver)
    first.invoke({"messages": [HumanMessage("Remember blue.")]}, config)
    model = FakeToolChatModel(responses=[AIMessage("Blue.")])
    again = build_agent_graph(model, [], checkpointer=make_checkpointer(PG_URL))  # a new connection, as after a restart
    again.invoke({"messages": [HumanMessage("Which colour?")]}, config)
    assert [m.text for m in model.calls[0] if isinstance(m, HumanMessage)] == ["Remember blue.", "Which colour?"]
    assert thread in [t.thread_id for t in list_threads(saver, limit=1000)]
    saver.delete_thread(thread)
    assert saver.get(config) is None


def test_threads_cli_list_show_delete(monkeypatch):
    from agentmesh import Agent, Settings
    from agentmesh.models.testing import HashingEmbeddings

    agent = Agent(Settings.load(tools=[], cache=False), model=FakeToolChatModel(responses=[AIMessage("Hello Ada.")]),
                  embeddings=HashingEmbeddings())
    agent.run("I am Ada.", thread_id="cli-thread")
    runner = CliRunner(env={"COLUMNS": "200"})
    listed = runner.invoke(app, ["threads", "list"])
    assert listed.exit_code == 0 and "cli-thread" in listed.output and "I am Ada." in listed.output
    shown = runner.invoke(app, ["threads", "show", "cli-thread"])
    assert "human: I am Ada." in shown.output and "ai: Hello Ada." in shown.output
    assert runner.invoke(app, ["threads", "delete", "cli-thread"]).exit_code == 0
    missing = runner.invoke(app, ["threads", "show", "cli-thread"])
    assert missing.exit_code == 2 and "no thread 'cli-thread'" in missing.output
