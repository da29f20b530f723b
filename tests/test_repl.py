"""The chat REPL in a real terminal (a pty driven by pexpect): streaming, Ctrl-C, commands,
multi-line input, approvals and history across sessions."""

from __future__ import annotations

import os
import sys
import textwrap

import pexpect
import pytest

SCRIPT = textwrap.dedent('''
    import sys
    from langchain_core.messages import AIMessage
    from agentmesh import Agent, Settings
    from agentmesh.apps.repl import ChatREPL
    from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

    responses = [
        AIMessage("Once upon a time there was a very long answer that nobody wanted to wait for."),
        AIMessage("Second answer."),
        tool_call("python", code="print(6 * 7)"),
        AIMessage("It is 42."),
    ]
    settings = Settings.load(home=sys.argv[1], kg=[sys.argv[2]], tools=["kg_search", "python"], cache=False)
    model = FakeToolChatModel(responses=responses, stream_words=True, word_delay=0.25)
    agent = Agent(settings, model=model, embeddings=HashingEmbeddings())
    ChatREPL(agent, thread_id=sys.argv[3] if len(sys.argv) > 3 else None).run()
''')


def spawn(tmp_path, example_kg, *extra):
    script = tmp_path / "repl.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "COLUMNS": "160", "LINES": "50"}
    child = pexpect.spawn(sys.executable, [str(script), str(tmp_path / "home"), str(example_kg), *extra],
                          env=env, encoding="utf-8", timeout=30, dimensions=(50, 160))
    child.logfile_read = open(tmp_path / "pty.log", "a")
    child.expect("you>")
    return child


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
def test_a_session_streams_cancels_runs_commands_and_asks_before_code(tmp_path, example_kg):
    child = spawn(tmp_path, example_kg)

    # Ctrl-C while the answer is being written cancels it, not the session
    child.sendline("Tell me everything")
    child.expect("Once upon")
    child.sendintr()
    child.expect("cancelled")
    child.expect("you>")

    child.sendline("/help")
    child.expect(r"/threads \[N\|ID\|all\]")
    child.expect("you>")

    # multi-line input, in a """ block
    child.sendline('"""first line')
    child.expect(r"\.\.\.>")
    child.sendline('second line"""')
    child.expect("Second answer.")
    child.expect("you>")

    # a dangerous call is asked about; the answer comes after "y"
    child.sendline("What is 6 times 7?")
    child.expect("approval needed")
    child.expect(r"run it\? \[y/N\]")
    child.sendline("y")
    child.expect("It is 42.")
    child.expect("you>")

    child.sendline("/threads")
    child.expect(r"\*")  # the current thread is marked
    child.expect("you>")
    child.sendline("/kg")
    child.expect(r"knowledge graph: \d+ nodes indexed")
    child.expect("you>")
    child.sendline("/model")
    child.expect("model: ")
    child.expect("you>")
    child.sendline("/exit")
    child.expect(r"resume with: agentmesh chat --thread (\w+)")
    thread = child.match.group(1)
    child.expect(pexpect.EOF)

    # the next session finds the thread, and the input history (up arrow)
    history = (tmp_path / "home" / "chat_history").read_text()
    assert "Tell me everything" in history and "What is 6 times 7?" in history
    second = spawn(tmp_path, example_kg, thread)
    second.send("\x1b[A")  # up arrow: the last input comes back
    second.expect("/exit")
    second.sendcontrol("u")
    second.sendline("/threads")
    second.expect(thread[:8])
    second.sendline("/exit")
    second.expect(pexpect.EOF)

    from agentmesh import Agent, Settings
    from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings

    agent = Agent(Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False),
                  model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings())
    questions = [m.text for m in agent.history(thread) if m.type == "human"]
    assert questions == ["Tell me everything", "first line\nsecond line", "What is 6 times 7?"]


WHICH = textwrap.dedent('''
    import sqlite3, sys
    from langchain_core.messages import AIMessage
    from agentmesh import Agent, Settings
    from agentmesh.apps.repl import ChatREPL
    from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings

    path = sys.argv[1] + "/courses.sqlite"
    with sqlite3.connect(path) as conn:  # two scores: "the average score" fits both alike
        conn.execute("CREATE TABLE course (course_id INTEGER PRIMARY KEY, title TEXT, clarity_score REAL, "
                     "helpfulness_score REAL)")
        conn.executemany("INSERT INTO course VALUES (?, ?, ?, ?)",
                         [(i, f"Course {chr(65 + i)}", i % 5, (i * 3) % 5) for i in range(1, 12)])
    settings = Settings.load(home=sys.argv[1] + "/home", db=path, kg=[], tools=["sql_answer"], cache=False,
                             answer_style="pick")
    agent = Agent(settings, model=FakeToolChatModel(responses=[AIMessage("I could not find that.")] * 3),
                  embeddings=HashingEmbeddings())
    ChatREPL(agent).run()
''')


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
def test_where_the_question_fits_two_columns_the_repl_asks_which_and_answers_that_one(tmp_path):
    script = tmp_path / "which.py"
    script.write_text(WHICH)
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "COLUMNS": "160", "LINES": "50"}
    child = pexpect.spawn(sys.executable, [str(script), str(tmp_path)], env=env, encoding="utf-8", timeout=30,
                          dimensions=(50, 160))
    child.logfile_read = open(tmp_path / "pty.log", "a")
    child.expect("you>")
    child.sendline("What is the average score?")
    child.expect("cannot tell which you mean")
    child.expect(r"1\. course\.clarity_score")
    child.expect(r"2\. course\.helpfulness_score")
    child.expect(r"which one do you mean\? \[1-2, Enter for none\]")
    child.sendline("2")
    child.expect(r"avg of helpfulness_score: 2\.0909")  # the answer now, not evidence
    child.expect("you>")
    # Enter: nothing is asked again
    child.sendline("What is the average score?")
    child.expect("which one do you mean")
    child.sendline("")
    child.expect("you>")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
