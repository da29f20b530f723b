"""Workflow files: the YAML spec of named steps and its Jinja2 templates, checked before anything runs.

The runner (:mod:`agentmesh.workflows.runner`) compiles a checked spec to a LangGraph graph.
The format:

::

    name: model-report
    inputs:                       # defaults; `agentmesh run flow.yaml -i models='["GPT-4"]'` overrides
      models: ["GPT-4", "Mixtral 8x7B"]
    steps:
      - id: prices                # a tool, by name, with templated arguments
        tool: sql
        args: {query: "SELECT name, input_per_1m_usd FROM models JOIN prices ON id = model_id"}
      - id: windows               # the agent, once per item of a list (each item resumable)
        for_each: "{{ inputs.models }}"
        as: model
        agent: "What is the context window of {{ model }}?"
      - id: table                 # a Python function in a file inside the flow's folder: file.py:function
        python: helpers.py:to_table
        args: {answers: "{{ steps.windows }}"}
      - id: report                # text from a template, written to a file
        when: "steps.windows | length > 0"
        template: "# Report\\n{{ steps.table }}"
        output: "out/{{ run_id }}/report.md"

Templates are Jinja2, sandboxed, strict about undefined names; a value that is exactly one
``{{ expression }}`` keeps its type (a list stays a list). Each step sees ``inputs``,
``steps`` (earlier outputs by id), ``run_id`` and, in a loop, its item (``item`` or the ``as``
name) and ``index``. ``when`` is an expression; a false one skips the step (its output is None).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml
from jinja2 import StrictUndefined, TemplateError, Undefined, nodes
from jinja2.sandbox import SandboxedEnvironment

from agentmesh.errors import AgentmeshError

__all__ = ["FlowSpec", "Step", "WorkflowError", "WorkflowResult", "KINDS"]

KINDS = ("agent", "tool", "python", "template")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)


class WorkflowError(AgentmeshError):
    """A workflow file or step is wrong, or a step failed; the message names the step."""


@dataclass
class Step:
    id: str
    kind: str
    spec: Any
    args: dict[str, Any] = field(default_factory=dict)
    when: str | None = None
    for_each: Any = None
    as_name: str = "item"
    output: str | None = None
    thread: str | None = None


@dataclass
class WorkflowResult:
    run_id: str
    outputs: dict[str, Any]
    files: dict[str, str]
    status: str = "done"
    """"done", or "waiting" when an agent step needs approval (see ``pending``)."""
    pending: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _references(tree: nodes.Node) -> list[tuple[str, str]]:
    """The ``steps.<id>`` / ``steps['<id>']`` and ``inputs.<name>`` a template uses."""
    found = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        base = node.node
        if isinstance(base, nodes.Name) and base.name in ("steps", "inputs"):
            if isinstance(node, nodes.Getattr):
                found.append((base.name, node.attr))
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.append((base.name, node.arg.value))
    return found


def _step_lines(text: str) -> list[int]:
    """The line (1-based) where each entry of the flow's ``steps`` list starts; [] if not found."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "steps" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


class FlowSpec:
    """A parsed, checked flow file: its steps, inputs and templates (no running here)."""

    def __init__(self, spec: dict[str, Any], base_dir: Path, *, source: str = "<flow>",
                 lines: list[int] | None = None) -> None:
        self.source = source
        self.spec = spec
        """The flow as parsed (what a queue worker rebuilds it from)."""
        self._lines = lines or []
        """The line of each step in the flow file (from YAML), for errors that point at it."""
        self.base_dir = base_dir
        if not isinstance(spec, dict):
            raise WorkflowError(f"{source}: a workflow is a mapping with 'steps'")
        self.name = str(spec.get("name") or Path(source).stem)
        self.description = str(spec.get("description") or "")
        self.inputs = dict(spec.get("inputs") or {})
        # where `output:` files may go: the flow's folder, or a folder the flow file itself names
        # (an absolute one is the author's explicit choice); never a path taken from data
        named = spec.get("output_dir")
        self.output_dir = (base_dir / str(named)).resolve() if named else base_dir.resolve()
        raw_steps = spec.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise WorkflowError(f"{source}: 'steps' must be a non-empty list")
        self.steps = [self._parse_step(i, s) for i, s in enumerate(raw_steps, 1)]
        ids = [s.id for s in self.steps]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise WorkflowError(f"{source}: step ids must be unique; repeated: {', '.join(dupes)}")
        self.digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
        self.env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
        self.env.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)
        self._check_templates()

    path: Path | None = None
    """The flow file, symlinks resolved (None for a flow built from a mapping)."""
    sha256: str | None = None
    """The SHA-256 of the file's bytes as they were parsed: a queued task carries it."""

    @classmethod
    def load(cls, path: str | Path) -> "FlowSpec":
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise WorkflowError(f"no workflow file at {path}") from None
        return cls.parse(data, path)

    @classmethod
    def parse(cls, data: bytes, path: str | Path) -> "FlowSpec":
        """The flow in ``data``, the bytes of the file at ``path`` (read once: what is hashed is what runs)."""
        path = Path(path)
        try:
            text = data.decode("utf-8")
            spec = yaml.safe_load(text)
        except UnicodeDecodeError as exc:
            raise WorkflowError(f"{path}: not UTF-8 text ({exc})") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise WorkflowError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
        flow = cls(spec, path.resolve().parent, source=str(path), lines=_step_lines(text))
        flow.path, flow.sha256 = path.resolve(), hashlib.sha256(data).hexdigest()
        return flow

    def _parse_step(self, number: int, raw: Any) -> Step:
        where = f"{self.source}: step {number}"
        if not isinstance(raw, dict):
            raise WorkflowError(f"{where} must be a mapping")
        step_id = str(raw.get("id", ""))
        if not _ID.match(step_id):
            raise WorkflowError(f"{where}: 'id' must be a name of letters, digits and _ (got {step_id!r})")
        kinds = [k for k in KINDS if k in raw]
        if len(kinds) != 1:
            raise WorkflowError(f"{where} ({step_id}): give exactly one of {', '.join(KINDS)}")
        unknown = set(raw) - {"id", *KINDS, "args", "when", "for_each", "as", "output", "thread"}
        if unknown:
            raise WorkflowError(f"{where} ({step_id}): unknown key(s) {', '.join(sorted(unknown))}")
        args = raw.get("args") or {}
        if not isinstance(args, dict):
            raise WorkflowError(f"{where} ({step_id}): 'args' must be a mapping")
        if kinds[0] == "python":
            self._check_python(str(raw["python"]), f"{where} ({step_id})")
        return Step(id=step_id, kind=kinds[0], spec=raw[kinds[0]], args=args, when=raw.get("when"),
                    for_each=raw.get("for_each"), as_name=str(raw.get("as") or "item"), output=raw.get("output"),
                    thread=raw.get("thread"))

    def _check_python(self, ref: str, where: str) -> None:
        """A python step names a function in a file inside the flow's folder, never a module by
        its import name (``os:system`` would run whatever the flow's author, or a queue message,
        asked for)."""
        file, _, name = ref.rpartition(":")
        if not file.endswith(".py") or not _ID.match(name):
            raise WorkflowError(f"{where}: python steps are file.py:function, a function in a .py file inside the "
                                f"flow's folder; {ref!r} is not (a module by its import name, such as os:system, is "
                                "refused: put a small function in a file next to the flow)")
        _inside(self.base_dir, file, f"{where}: python {ref!r}", "the flow's folder")

    def _where(self, number: int, step: Step) -> str:
        line = f" line {self._lines[number]}" if number < len(self._lines) else ""
        return f"{self.source}{line}: step {step.id}"

    def _check_templates(self) -> None:
        """Before anything runs: syntax errors, and references to a step that does not come
        earlier or an input the flow does not declare, each with the step and its line named
        (a missing step used to render as null into the output and the run said "done")."""
        for number, step in enumerate(self.steps):
            where = self._where(number, step)
            texts = [step.spec] if step.kind in ("agent", "template") else []
            texts += [v for v in _walk(step.args) if isinstance(v, str)]
            texts += [t for t in (step.for_each if isinstance(step.for_each, str) else None,) if t]
            trees = []
            for text in texts:
                try:
                    trees.append(("", self.env.parse(str(text))))
                except TemplateError as exc:
                    raise WorkflowError(f"{where}: template error: {exc}") from None
            if step.output:
                try:  # an output path may name the step's own result
                    trees.append(("output", self.env.parse(str(step.output))))
                except TemplateError as exc:
                    raise WorkflowError(f"{where}: template error in 'output': {exc}") from None
            if step.when:
                try:
                    self.env.compile_expression(str(step.when))
                    trees.append(("when", self.env.parse("{{ " + str(step.when) + " }}")))
                except TemplateError as exc:
                    raise WorkflowError(f"{where}: 'when' is not an expression: {exc}") from None
            earlier = [s.id for s in self.steps[:number]]
            for part, tree in trees:
                visible = earlier + [step.id] if part == "output" else earlier
                for kind, name in _references(tree):
                    if kind == "steps" and name not in visible:
                        later = " (it runs later)" if name in {s.id for s in self.steps} else ""
                        raise WorkflowError(f"{where}: {{{{ steps.{name} }}}} names no earlier step{later}; "
                                            f"steps before it: {', '.join(earlier) or 'none'}")
                    if kind == "inputs" and name not in self.inputs:
                        raise WorkflowError(f"{where}: {{{{ inputs.{name} }}}} is not an input of the flow; "
                                            f"declared: {', '.join(self.inputs) or 'none'} (add it under 'inputs:')")

    # -- templating ----------------------------------------------------------------------------
    def render(self, value: Any, context: dict[str, Any], step: str) -> Any:
        try:
            if isinstance(value, str):
                whole = _WHOLE_EXPRESSION.match(value)
                if whole and "{{" not in whole.group(1) and "{%" not in value:
                    result = self.env.compile_expression(whole.group(1).strip(), undefined_to_none=False)(**context)
                    if isinstance(result, Undefined):  # a missing name is an error, never null
                        result._fail_with_undefined_error()
                    return result
                return self.env.from_string(value).render(**context)
            if isinstance(value, dict):
                return {k: self.render(v, context, step) for k, v in value.items()}
            if isinstance(value, list):
                return [self.render(v, context, step) for v in value]
            return value
        except TemplateError as exc:
            raise WorkflowError(f"step {step}: template error: {exc}") from None

    # -- running -------------------------------------------------------------------------------


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def _inside(root: Path, target: str, what: str, allowed: str) -> Path:
    """``target`` (relative to ``root``) with every symlink resolved, if it stays inside ``root``."""
    if "\x00" in target:
        raise WorkflowError(f"{what}: the path holds a NUL character")
    root = root.resolve()
    path = (root / target).resolve()  # an absolute target replaces root here, and is then checked
    if path != root and root not in path.parents:
        raise WorkflowError(f"{what}: {target!r} resolves to {path}, outside {root}; paths must stay inside {allowed}")
    return path
