"""Attacks on workflow files: every `output:` path and `python:` file stays inside its folder.

A path can come from data (a step's output, such as a SQL row), from an `-i` input, or from the
flow file itself (`../`, an absolute path, a symlinked folder). Each is resolved, symlinks
included, before anything is written; outside the flow's output folder it is refused, and no
file appears outside."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh.workflows import StepRunner, Workflow, WorkflowError


@pytest.fixture
def outside(tmp_path):
    """A folder beside the flow's folder that no flow may write into."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


@pytest.fixture
def flow_dir(tmp_path, outside):
    folder = tmp_path / "flow"
    folder.mkdir()
    (folder / "helpers.py").write_text(f"def evil_row():\n    return {{'path': {str(outside / 'from-data.txt')!r}, "
                                       f"'relative': '../outside/from-row.txt'}}\n")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    (outside / "evil.py").write_text("def run():\n    open(__file__ + '.ran', 'w').write('x')\n    return 'ran'\n")
    return folder


def run_flow(spec: dict, folder: Path, **inputs):
    flow = Workflow(spec, folder)
    return flow.run(StepRunner(), InMemorySaver(), inputs=inputs or None, run_id=uuid.uuid4().hex[:8])


def refused(spec: dict, folder: Path, outside: Path, **inputs) -> None:
    with pytest.raises(WorkflowError, match="outside .*must stay inside"):
        run_flow(spec, folder, **inputs)
    assert sorted(p.name for p in outside.iterdir()) == ["evil.py"]


WRITE = {"id": "write", "template": "pwned"}


def test_attack_workflow_output_from_a_data_row(flow_dir, outside):
    steps = [{"id": "row", "python": "helpers.py:evil_row"}, {**WRITE, "output": "{{ steps.row.relative }}"}]
    refused({"steps": steps}, flow_dir, outside)


def test_attack_workflow_output_absolute_from_data(flow_dir, outside):
    steps = [{"id": "row", "python": "helpers.py:evil_row"}, {**WRITE, "output": "{{ steps.row.path }}"}]
    refused({"steps": steps}, flow_dir, outside)


def test_attack_workflow_output_from_an_input(flow_dir, outside):
    spec = {"inputs": {"name": "report.md"}, "steps": [{**WRITE, "output": "out/{{ inputs.name }}"}]}
    refused(spec, flow_dir, outside, name="../../outside/from-input.txt")


def test_attack_workflow_output_dot_dot_in_the_flow(flow_dir, outside):
    refused({"steps": [{**WRITE, "output": "out/../../outside/literal.txt"}]}, flow_dir, outside)


def test_attack_workflow_output_absolute_in_the_flow(flow_dir, outside):
    refused({"steps": [{**WRITE, "output": str(outside / "absolute.txt")}]}, flow_dir, outside)


def test_attack_workflow_output_through_a_symlinked_folder(flow_dir, outside):
    refused({"steps": [{**WRITE, "output": "linked/through-link.txt"}]}, flow_dir, outside)


def test_attack_workflow_output_over_a_symlinked_file(flow_dir, outside):
    (flow_dir / "report.txt").symlink_to(outside / "target.txt")
    refused({"steps": [{**WRITE, "output": "report.txt"}]}, flow_dir, outside)


def test_attack_workflow_python_file_outside_the_flow_folder(flow_dir, outside):
    for ref in ("../outside/evil.py:run", f"{outside / 'evil.py'}:run", "linked/evil.py:run"):
        with pytest.raises(WorkflowError, match="must stay inside the flow's folder"):
            run_flow({"steps": [{"id": "p", "python": ref}]}, flow_dir)
    assert not (outside / "evil.py.ran").exists()


def test_outputs_inside_the_folder_and_a_folder_the_flow_names_are_written(flow_dir, outside):
    result = run_flow({"steps": [{**WRITE, "output": "out/{{ run_id }}/report.md"}]}, flow_dir)
    assert Path(result.files["write"]).read_text() == "pwned\n"
    assert Path(result.files["write"]).is_relative_to(flow_dir)
    allowed = {"output_dir": str(outside), "steps": [{**WRITE, "output": "chosen.txt"}]}
    result = run_flow(allowed, flow_dir)
    assert Path(result.files["write"]) == outside / "chosen.txt"
