"""Workflows: steps compiled to a LangGraph graph; a killed run resumes where it stopped."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.workflows import StepRunner, Workflow, WorkflowError
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

HELPERS = '''
import os, signal
from pathlib import Path

def record(name, log):
    with open(log, "a") as f:
        f.write(name + "\\n")

def first(log):
    record("first", log)
    return {"n": 21, "words": ["alpha", "beta"]}

def third(n, log):
    if os.environ.get("CRASH_IN_THIRD"):
        os.kill(os.getpid(), signal.SIGKILL)   # as if the machine went down mid-step
    record("third", log)
    return n * 2
'''

FLOW = '''
name: crashy
inputs:
  log: "{log}"
steps:
  - id: first
    python: helpers.py:first
    args: {{log: "{{{{ inputs.log }}}}"}}
  - id: second
    tool: sql
    args: {{query: "SELECT count(*) AS n FROM items"}}
  - id: third
    python: helpers.py:third
    args: {{n: "{{{{ steps.first.n }}}}", log: "{{{{ inputs.log }}}}"}}
  - id: fourth
    template: "first={{{{ steps.first.n }}}} second={{{{ steps.second | trim | replace('\\n', ' ') }}}} third={{{{ steps.third }}}}"
    output: "out/{{{{ run_id }}}}/result.txt"
'''


@pytest.fixture
def crashy(tmp_path):
    (tmp_path / "helpers.py").write_text(HELPERS)
    log = tmp_path / "calls.log"
    (tmp_path / "flow.yaml").write_text(FLOW.format(log=log))
    db = tmp_path / "items.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE items (name TEXT)")
        conn.executemany("INSERT INTO items VALUES (?)", [("a",), ("b",), ("c",)])
    return tmp_path, log, db


def agentmesh_run(tmp_path, *args, crash=False):
    env = {**os.environ, "AGENTMESH_HOME": str(tmp_path / "home")}
    env.pop("CRASH_IN_THIRD", None)
    if crash:
        env["CRASH_IN_THIRD"] = "1"
    return subprocess.run([sys.executable, "-m", "agentmesh.apps.cli", "run", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_run_killed_in_step_3_resumes_at_step_3_with_earlier_outputs_intact(crashy):
    tmp_path, log, db = crashy

    killed = agentmesh_run(tmp_path, "flow.yaml", "--db", str(db), crash=True)

    assert killed.returncode == -9, killed.stderr  # SIGKILL: no chance to clean up
    run_id = re.search(r"run (\w+) · resume with", killed.stderr).group(1)
    assert log.read_text().splitlines() == ["first"]
    assert not (tmp_path / "out").exists()

    resumed = agentmesh_run(tmp_path, "flow.yaml", "--db", str(db), "--resume", run_id, "--json")

    assert resumed.returncode == 0, resumed.stderr
    assert log.read_text().splitlines() == ["first", "third"]  # step 1 did not run again
    assert "start first" not in resumed.stderr and "start second" not in resumed.stderr
    result = (tmp_path / "out" / run_id / "result.txt").read_text()
    assert result.strip() == "first=21 second=n 3 third=42"
    again = agentmesh_run(tmp_path, "flow.yaml", "--db", str(db), "--resume", run_id)
    assert again.returncode == 0 and "had already finished" in again.stderr


def test_resuming_with_a_changed_flow_or_an_unknown_run_is_refused(crashy):
    tmp_path, log, db = crashy
    killed = agentmesh_run(tmp_path, "flow.yaml", "--db", str(db), crash=True)
    run_id = re.search(r"run (\w+) · resume with", killed.stderr).group(1)
    flow = tmp_path / "flow.yaml"
    flow.write_text(flow.read_text().replace("third={{ steps.third }}", "third: {{ steps.third }}"))

    changed = agentmesh_run(tmp_path, "flow.yaml", "--db", str(db), "--resume", run_id)
    unknown = agentmesh_run(tmp_path, "flow.yaml", "--db", str(db), "--resume", "nosuchrun")

    assert changed.returncode == 2 and "different version of flow.yaml" in changed.stderr
    assert unknown.returncode == 2 and "no workflow run 'nosuchrun'" in unknown.stderr


def agent_for(tmp_path, example_kg, responses, tools=("kg_search",)):
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=list(tools), cache=False)
    return Agent(settings, model=FakeToolChatModel(responses=responses), embeddings=HashingEmbeddings())


def test_agent_steps_loops_conditions_and_references(tmp_path, example_kg):
    flow = Workflow({
        "inputs": {"models": ["Claude 2.1", "GPT-4"]},
        "steps": [
            {"id": "ask", "for_each": "{{ inputs.models }}", "as": "m", "agent": "Context window of {{ m }} (#{{ index }})?"},
            {"id": "count", "template": "{{ steps.ask | length }} answers; first: {{ steps.ask[0].answer }}"},
            {"id": "never", "when": "steps.ask | length > 5", "template": "unreachable"},
            {"id": "summary", "agent": "Summarise: {{ steps.count }}", "output": "out/summary.txt"},
        ],
    }, tmp_path)
    agent = agent_for(tmp_path, example_kg, [AIMessage("Claude 2.1 reads 200000 tokens."), AIMessage("GPT-4 reads 8192."),
                                             AIMessage("Two models.")])
    seen = []
    runner = StepRunner(agent_factory=lambda: agent, progress=lambda *e: seen.append(e[:2]))

    result = flow.run(runner, InMemorySaver())

    assert [a["answer"] for a in result.outputs["ask"]] == ["Claude 2.1 reads 200000 tokens.", "GPT-4 reads 8192."]
    assert any(c["ref"].endswith("/Claude-2.1") for c in result.outputs["ask"][0]["citations"])
    assert result.outputs["count"] == "2 answers; first: Claude 2.1 reads 200000 tokens."
    assert result.outputs["never"] is None and result.skipped == ["never"]
    assert (tmp_path / "out" / "summary.txt").read_text().strip().startswith('{\n  "answer": "Two models."')
    questions = [m.text for m in agent.history(f"workflow:{result.run_id}:ask:1") if m.type == "human"]
    assert questions == ["Context window of GPT-4 (#1)?"]
    assert ("never", "skipped") in seen


def test_an_agent_step_that_needs_approval_stops_the_workflow_until_decided(tmp_path, example_kg):
    flow = Workflow({"steps": [
        {"id": "calc", "agent": "What is 2 ** 10?"},
        {"id": "after", "template": "{{ steps.calc.answer }}"},
    ]}, tmp_path)
    agent = agent_for(tmp_path, example_kg, [tool_call("python", code="print(2 ** 10)"), AIMessage("1024.")], tools=("python",))
    runner, saver = StepRunner(agent_factory=lambda: agent), InMemorySaver()

    waiting = flow.run(runner, saver, run_id="r1")
    assert waiting.status == "waiting" and waiting.pending[0]["name"] == "python"
    assert flow.resume(runner, saver, "r1").status == "waiting"  # no decision yet: still waiting, nothing run

    done = flow.resume(runner, saver, "r1", decision="approve")
    assert done.status == "done" and done.outputs["after"] == "1024."
    assert len(agent.model.calls) == 2  # the question was not asked again on resume


@pytest.mark.parametrize("text, message", [
    ("steps: [", "line 1"),
    ("steps: []", "'steps' must be a non-empty list"),
    ("steps:\n  - id: a\n    agent: hi\n    tool: sql", "exactly one of agent, tool, python, template"),
    ("steps:\n  - id: a\n    agent: hi\n  - id: a\n    agent: ho", "repeated: a"),
    ("steps:\n  - id: a\n    agent: '{{ oops'", "step a: template error"),
    ("steps:\n  - id: a\n    template: x\n    retries: 3", "unknown key(s) retries"),
    ("steps:\n  - id: 'a b'\n    template: x", "'id' must be a name"),
    # a reference to a step that does not exist, or runs later, or an undeclared input: with the line
    ("steps:\n  - id: a\n    template: x\n  - id: b\n    template: '{{ steps.nosuch }}'",
     "line 4: step b: {{ steps.nosuch }} names no earlier step; steps before it: a"),
    ("steps:\n  - id: a\n    template: '{{ steps.b }}'\n  - id: b\n    template: x",
     "line 2: step a: {{ steps.b }} names no earlier step (it runs later)"),
    ("steps:\n  - id: a\n    tool: sql\n    args: {query: \"{{ steps['gone'] | tojson }}\"}", "{{ steps.gone }} names no earlier step"),
    ("steps:\n  - id: a\n    template: x\n    when: 'steps.zzz'", "{{ steps.zzz }} names no earlier step"),
    ("inputs: {topic: x}\nsteps:\n  - id: a\n    agent: 'About {{ inputs.topik }}'",
     "{{ inputs.topik }} is not an input of the flow; declared: topic"),
])
def test_a_bad_flow_file_is_refused_before_anything_runs_with_the_place(tmp_path, text, message):
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(WorkflowError, match=re.escape(message)):
        Workflow.load(path)


def test_an_output_path_may_name_its_own_step_and_a_missing_value_is_an_error_not_null(tmp_path):
    flow = Workflow({"steps": [{"id": "a", "template": "x", "output": "{{ steps.a | length }}.txt"},
                               {"id": "b", "template": "{{ steps.a.nothing }}"}]}, tmp_path)
    with pytest.raises(WorkflowError, match="step b: template error: .*nothing"):
        flow.run(StepRunner(), InMemorySaver(), run_id="r")
    assert (tmp_path / "1.txt").read_text() == "x\n"


def test_a_failing_step_names_itself_and_keeps_the_steps_before(tmp_path):
    log = tmp_path / "calls.log"
    before = f"def fine():\n    open({str(log)!r}, 'a').write('fine\\n')\n    return 'fine'\n"
    (tmp_path / "ok.py").write_text(before)
    (tmp_path / "h.py").write_text("def boom():\n    raise ValueError('no data')\n")
    steps = [{"id": "ok", "python": "ok.py:fine"},
             {"id": "each", "for_each": "{{ [1, 2, 3] }}", "python": "ok.py:fine"},
             {"id": "bad", "python": "h.py:boom"}]
    flow = Workflow({"steps": steps}, tmp_path)
    saver = InMemorySaver()
    with pytest.raises(WorkflowError, match=r"step bad \(python\) failed: ValueError: no data"):
        flow.run(StepRunner(), saver, run_id="r")
    assert log.read_text().split() == ["fine"] * 4  # the step and the loop's three items
    (tmp_path / "h.py").write_text("def boom():\n    return 'fixed'\n")
    import sys as _sys

    for key in [k for k in _sys.modules if k.startswith("agentmesh_flow_")]:  # the edited h.py is loaded anew
        _sys.modules.pop(key)
    fixed = flow.resume(StepRunner(), saver, "r")
    assert fixed.outputs == {"ok": "fine", "each": ["fine"] * 3, "bad": "fixed"}
    assert log.read_text().split() == ["fine"] * 4  # nothing that had finished ran again


def test_the_example_workflows_parse_and_the_licence_audit_runs(tmp_path, example_db):
    import shutil
    from pathlib import Path

    from agentmesh.tools import ToolContext, default_registry

    examples = shutil.copytree(Path(__file__).parent.parent / "examples" / "workflows", tmp_path / "wf")
    for path in sorted(examples.glob("*.yaml")):
        Workflow.load(path)
    flow = Workflow.load(examples / "licence-audit.yaml")
    tools = lambda: default_registry.build(["sql"], ToolContext(db=example_db))  # noqa: E731

    result = flow.run(StepRunner(tools_factory=tools), InMemorySaver(), run_id="audit-test")

    assert {"model": "Gemma", "licence": "Gemma Terms of Use"} in result.outputs["findings"]
    assert result.skipped == ["all_clear"]
    assert Path(result.files["report"]) == examples / "out" / "audit-test" / "licence-audit.md"
    assert "- Llama 2 70B Chat: Llama Community License" in Path(result.files["report"]).read_text()


LOOP_HELPERS = '''
import os, signal

def visit(name, log):
    if name == "c" and os.environ.get("CRASH_IN_THIRD"):
        os.kill(os.getpid(), signal.SIGKILL)
    with open(log, "a") as f:
        f.write(name + "\\n")
    return name.upper()
'''


def test_a_loop_killed_half_way_resumes_with_the_items_that_finished(tmp_path):
    (tmp_path / "helpers.py").write_text(LOOP_HELPERS)
    log = tmp_path / "visits.log"
    (tmp_path / "flow.yaml").write_text(textwrap.dedent(f'''
        inputs:
          names: [a, b, c, d]
        steps:
          - id: each
            for_each: "{{{{ inputs.names }}}}"
            python: helpers.py:visit
            args: {{name: "{{{{ item }}}}", log: "{log}"}}
          - id: joined
            template: "{{{{ steps.each | join(',') }}}}"
            output: "out/{{{{ run_id }}}}/joined.txt"
    '''))

    killed = agentmesh_run(tmp_path, "flow.yaml", crash=True)
    assert killed.returncode == -9, killed.stderr
    assert log.read_text().split() == ["a", "b"]
    run_id = re.search(r"run (\w+) · resume with", killed.stderr).group(1)

    resumed = agentmesh_run(tmp_path, "flow.yaml", "--resume", run_id)

    assert resumed.returncode == 0, resumed.stderr
    assert log.read_text().split() == ["a", "b", "c", "d"]  # a and b were not visited again
    assert (tmp_path / "out" / run_id / "joined.txt").read_text().strip() == "A,B,C,D"


def test_the_short_python_form_keeps_runs_in_the_agents_data_home(tmp_path, example_kg):
    from agentmesh import Workflow as PublicWorkflow

    (tmp_path / "h.py").write_text("def twice(n):\n    return 2 * n\n")
    flow = PublicWorkflow({"inputs": {"n": 4}, "steps": [
        {"id": "ask", "agent": "Context window of Claude 2.1?"},
        {"id": "double", "python": "h.py:twice", "args": {"n": "{{ inputs.n }}"}},
    ]}, tmp_path)
    agent = agent_for(tmp_path, example_kg, [AIMessage("200000 tokens.")])

    result = flow.run(agent=agent, inputs={"n": 21}, run_id="short")

    assert result.outputs["ask"]["answer"] == "200000 tokens." and result.outputs["double"] == 42
    assert (tmp_path / "home" / "workflows.sqlite").is_file()
    assert flow.resume(agent=agent, run_id="short").outputs == result.outputs  # finished: nothing runs again


def test_the_model_comparison_example_flags_an_answer_the_database_contradicts(tmp_path, example_kg, example_db):
    import shutil
    from pathlib import Path

    examples = shutil.copytree(Path(__file__).parent.parent / "examples" / "workflows", tmp_path / "wf")
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], db=str(example_db), tools=["kg_search", "sql"],
                             cache=False)
    # the first answer is wrong (the database says 128000), the second right
    answers = [AIMessage("The context window of GPT-4o is 200K tokens."), AIMessage("Claude 2.1 reads 200,000 tokens.")]
    agent = Agent(settings, model=FakeToolChatModel(responses=answers), embeddings=HashingEmbeddings())

    result = Workflow.load(examples / "model-comparison.yaml").run(agent=agent, inputs={"models": ["GPT-4o", "Claude 2.1"]})

    rows = {line.split(" | ")[0].strip("| "): line for line in Path(result.files["report"]).read_text().splitlines()
            if line.startswith("| GPT-4o") or line.startswith("| Claude 2.1")}
    assert "| 128000 |" in rows["GPT-4o"] and rows["GPT-4o"].endswith("| **no** |")
    assert "| 200000 |" in rows["Claude 2.1"] and rows["Claude 2.1"].endswith("| yes |")


def test_the_model_comparison_example_flags_a_figure_the_database_does_not_have():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "examples" / "workflows"))
    try:
        from helpers import agrees, comparison_table
    finally:
        sys.path.pop(0)
    assert agrees("Mistral Large reads 2048 tokens.", "NULL") == "**no** (the database has no figure)"
    assert agrees("I could not find that.", "NULL") == "n/a"
    rows = "name | licence | open_weights | context_window | mmlu | input_per_1m_usd | output_per_1m_usd\n" \
           "Claude 2.1 | Proprietary | 0 | 200000 | 78.5 | 8.0 | 24.0"
    table = comparison_table(rows, ["Claude 2.1"], [{"answer": "200,000 tokens, made by Amazon.", "unsupported": ["Amazon"]}])
    assert table.splitlines()[-1].endswith("| **unsupported claims** |")


def test_a_failed_step_from_the_command_line_says_how_to_continue(tmp_path):
    (tmp_path / "h.py").write_text("def boom():\n    raise ValueError('no data yet')\n")
    (tmp_path / "flow.yaml").write_text("steps:\n  - id: ok\n    template: fine\n  - id: bad\n    python: h.py:boom\n")
    failed = agentmesh_run(tmp_path, "flow.yaml")
    assert failed.returncode == 2
    assert "step bad (python) failed: ValueError: no data yet" in failed.stderr
    run_id = re.search(r"run (\w+) · resume with", failed.stderr).group(1)
    assert f"continue with: agentmesh run flow.yaml --resume {run_id}" in failed.stderr.replace("\n", " ")
    (tmp_path / "h.py").write_text("def boom():\n    return 'fixed'\n")
    resumed = agentmesh_run(tmp_path, "flow.yaml", "--resume", run_id, "--json")
    assert resumed.returncode == 0 and '"bad": "fixed"' in resumed.stdout


def test_a_flow_file_loaded_by_two_threads_at_once_is_never_seen_half_run(tmp_path):
    """A queue worker runs items on several threads: the second must wait for the file to finish
    loading, not find a module without its function yet (a race seen on CI)."""
    import threading

    from agentmesh.workflows.runner import _function

    (tmp_path / "slow.py").write_text("import time\ntime.sleep(0.5)\ndef f():\n    return 7\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('bad file')\n")
    got, errors = [], []

    def load():
        try:
            got.append(_function("slow.py:f", tmp_path)())
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and got == [7, 7, 7]
    # a file whose code fails is not left behind half-loaded: each call fails the same way
    for _ in range(2):
        with pytest.raises(RuntimeError, match="bad file"):
            _function("broken.py:f", tmp_path)
