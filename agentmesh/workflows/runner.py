"""Running workflows: a checked spec compiled to a LangGraph graph, one node per step.

Each step is one node of a LangGraph graph with a SQLite checkpointer written after every
step, so a run killed in step 3 resumes at step 3 with the outputs of steps 1 and 2 intact
(``Workflow.resume(run_id)``, ``agentmesh run --resume RUN_ID``). A loop runs one item per
graph step, each checkpointed, so a loop killed half-way resumes at the item it died in. Resuming with a flow file that
changed since the run started is refused. An agent step whose run needs approval for a
dangerous tool stops the workflow (it is an interrupt too), and resuming passes the decision on.
Tool and Python steps are not asked about: the person who wrote the flow chose them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import operator
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, TypedDict

from jinja2 import TemplateError
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from agentmesh.errors import AgentmeshError, ConfigError
from agentmesh.workflows.spec import FlowSpec, Step, WorkflowError, WorkflowResult, _inside

__all__ = ["Workflow", "WorkflowState", "StepRunner", "load_workflow"]


def _merge_items(old: dict[str, dict[int, Any]], new: dict[str, dict[int, Any]]) -> dict[str, dict[int, Any]]:
    merged = dict(old)
    for step, items in new.items():
        merged[step] = {**merged.get(step, {}), **items}
    return merged


class WorkflowState(TypedDict, total=False):
    inputs: dict[str, Any]
    outputs: Annotated[dict[str, Any], operator.or_]
    items: Annotated[dict[str, dict[int, Any]], _merge_items]
    """Results of a loop's items so far, by step id and index (each item is its own task)."""
    counts: Annotated[dict[str, int], operator.or_]
    loops: Annotated[dict[str, list[Any]], operator.or_]
    """Each loop's list, rendered once when the loop starts."""
    files: Annotated[dict[str, str], operator.or_]
    skipped: Annotated[list[str], operator.add]
    digest: str
    run_id: str


def load_workflow(path: str | Path) -> "Workflow":
    return Workflow.load(path)


class Workflow(FlowSpec):
    """A flow file to run: ``run`` and ``resume`` execute it (``steps`` lists its steps)."""

    def compile(self, runner: "StepRunner", checkpointer: Any = None):
        """The LangGraph graph: one node per step, in order. A loop is three nodes: ``<id>``
        renders the list, ``<id>__item`` runs one item per graph step (each followed by a
        checkpoint, so a run killed half-way keeps the items that finished), and
        ``<id>__gather`` puts the results in order."""
        builder = StateGraph(WorkflowState)
        previous = START
        for n, step in enumerate(self.steps):
            following = self.steps[n + 1].id if n + 1 < len(self.steps) else END
            builder.add_node(step.id, self._node(step, runner))
            builder.add_edge(previous, step.id)
            previous = step.id
            if step.for_each is not None:
                item_node, gather_node = f"{step.id}__item", f"{step.id}__gather"
                # a runner that works in parallel (a queue) takes every remaining item at once
                parallel = getattr(runner, "run_many", None) is not None
                builder.add_node(item_node, (self._items_node if parallel else self._item_node)(step, runner))
                builder.add_node(gather_node, self._gather_node(step, runner))
                builder.add_conditional_edges(step.id, self._next_item(step, item_node, gather_node, following),
                                              [item_node, gather_node, following])
                builder.add_conditional_edges(item_node, self._next_item(step, item_node, gather_node, following),
                                              [item_node, gather_node])
                previous = gather_node
        builder.add_edge(previous, END)
        return builder.compile(checkpointer=checkpointer, name=f"workflow:{self.name}")

    def _context(self, state: dict[str, Any]) -> dict[str, Any]:
        return {"inputs": state.get("inputs", {}), "steps": dict(state.get("outputs", {})), "run_id": state.get("run_id", "")}

    def _skip(self, step: Step, context: dict[str, Any], runner: "StepRunner") -> bool:
        if step.when is None:
            return False
        try:
            go = self.env.compile_expression(str(step.when))(**context)
        except TemplateError as exc:
            raise WorkflowError(f"step {step.id}: 'when' failed: {exc}") from None
        if not go:
            runner.report(step.id, "skipped", f"when: {step.when}")
        return not go

    def _finish(self, step: Step, context: dict[str, Any], output: Any) -> dict[str, Any]:
        update: dict[str, Any] = {"outputs": {step.id: output}}
        if step.output:
            target = self.render(step.output, {**context, "steps": {**context["steps"], step.id: output}}, step.id)
            update["files"] = {step.id: str(self._write(target, output, step.id))}
        return update

    def _node(self, step: Step, runner: "StepRunner") -> Callable[[WorkflowState], dict[str, Any]]:
        def node(state: WorkflowState) -> dict[str, Any]:
            context = self._context(state)
            if self._skip(step, context, runner):
                return {"outputs": {step.id: None}, "skipped": [step.id]}
            if step.for_each is not None:  # the loop's head: how many items; _fan_out sends them
                items = self.render(step.for_each, context, step.id)
                if not isinstance(items, (list, tuple)):
                    raise WorkflowError(f"step {step.id}: for_each must give a list, not {type(items).__name__}")
                runner.report(step.id, "loop", f"{len(items)} items")
                return {"counts": {step.id: len(items)}, "loops": {step.id: list(items)}}
            started = time.perf_counter()
            update = self._finish(step, context, runner.run(step, self, context, None))
            runner.report(step.id, "done", f"{time.perf_counter() - started:.2f}s")
            return update

        return node

    def _next_item(self, step: Step, item_node: str, gather: str, following: str) -> Callable[[WorkflowState], str]:
        def route(state: WorkflowState) -> str:
            if step.id in state.get("skipped", []):
                return following
            done = state.get("items", {}).get(step.id, {})
            return item_node if len(done) < state.get("counts", {}).get(step.id, 0) else gather

        return route

    def _item_node(self, step: Step, runner: "StepRunner") -> Callable[[WorkflowState], dict[str, Any]]:
        def item_node(state: WorkflowState) -> dict[str, Any]:
            index = len(state.get("items", {}).get(step.id, {}))
            item = state["loops"][step.id][index]
            output = runner.run(step, self, {**self._context(state), step.as_name: item, "index": index}, index)
            return {"items": {step.id: {index: output}}}

        return item_node

    def _items_node(self, step: Step, runner: Any) -> Callable[[WorkflowState], dict[str, Any]]:
        def items_node(state: WorkflowState) -> dict[str, Any]:
            done = state.get("items", {}).get(step.id, {})
            todo = [i for i in range(state.get("counts", {}).get(step.id, 0)) if i not in done]
            base = self._context(state)
            contexts = [{**base, step.as_name: state["loops"][step.id][i], "index": i} for i in todo]
            return {"items": {step.id: dict(zip(todo, runner.run_many(step, self, contexts, todo)))}}

        return items_node

    def _gather_node(self, step: Step, runner: "StepRunner") -> Callable[[WorkflowState], dict[str, Any]]:
        def gather(state: WorkflowState) -> dict[str, Any]:
            done = state.get("items", {}).get(step.id, {})
            output = [done[i] for i in range(state.get("counts", {}).get(step.id, 0))]
            update = self._finish(step, self._context(state), output)
            runner.report(step.id, "done", f"{len(output)} items")
            return update

        return gather

    def _write(self, target: str, output: Any, step: str = "?") -> Path:
        path = _inside(self.output_dir, str(target), f"{self.source}: step {step}: output", "output_dir")
        path.parent.mkdir(parents=True, exist_ok=True)
        path = _inside(self.output_dir, str(path), f"{self.source}: step {step}: output", "output_dir")  # after mkdir: no new symlink
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise WorkflowError(f"{self.source}: step {step}: output {target!r} is not a plain file")
        text = output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False, default=str)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a file
        return path

    def _defaults(self, runner: "StepRunner | None", checkpointer: Any, agent: Any) -> tuple["StepRunner", Any]:
        """A runner over ``agent`` and its data home's workflow store, unless given."""
        if runner is None:
            runner = StepRunner(agent_factory=(lambda: agent) if agent is not None else None)
        if checkpointer is None:
            # the agent knows where its data home keeps workflow runs (graphs/ never reaches into memory/)
            make = getattr(agent, "workflow_checkpointer", None)
            if make is not None:
                checkpointer = make()
            else:  # no data home: the run can resume only in this process
                from langgraph.checkpoint.memory import InMemorySaver

                checkpointer = _SAVERS.setdefault(id(agent), InMemorySaver())
        return runner, checkpointer

    def run(self, runner: "StepRunner | None" = None, checkpointer: Any = None, *, agent: Any = None,
            inputs: dict[str, Any] | None = None, run_id: str | None = None) -> WorkflowResult:
        """Run the flow. The short form ``flow.run(agent=agent)`` keeps the run in the agent's
        data home (``workflows.sqlite``), so it can be resumed later, from another process too."""
        runner, checkpointer = self._defaults(runner, checkpointer, agent)
        unknown = set(inputs or {}) - set(self.inputs)
        if unknown:
            raise WorkflowError(f"{self.source}: unknown input(s) {', '.join(sorted(unknown))}; "
                                f"the flow declares: {', '.join(self.inputs) or 'none'}")
        run_id = run_id or uuid.uuid4().hex[:12]
        state = {"inputs": {**self.inputs, **(inputs or {})}, "outputs": {}, "files": {}, "skipped": [],
                 "digest": self.digest, "run_id": run_id}
        return self._invoke(runner, checkpointer, state, run_id)

    def resume(self, runner: "StepRunner | None" = None, checkpointer: Any = None, run_id: str | None = None,
               decision: Any = None, *, agent: Any = None) -> WorkflowResult:
        """Continue ``run_id`` where it stopped (``decision``: for an agent step waiting for approval)."""
        if run_id is None:
            raise WorkflowError("resume needs the run_id printed when the run started")
        runner, checkpointer = self._defaults(runner, checkpointer, agent)
        graph = self.compile(runner, checkpointer)
        snapshot = graph.get_state(_config(run_id))
        if not snapshot or not snapshot.values:
            raise WorkflowError(f"no workflow run {run_id!r} to resume (runs are kept in {runner.describe_store()})")
        if snapshot.values.get("digest") != self.digest:
            raise WorkflowError(f"run {run_id} was started from a different version of {self.source}; "
                                "resume it with the flow file it started with, or start a new run")
        if not snapshot.next:
            runner.report("-", "note", f"run {run_id} had already finished")
            return _result(snapshot.values, run_id)
        if snapshot.interrupts and decision is None:  # still waiting: nobody has decided yet
            result = _result(snapshot.values, run_id)
            result.status = "waiting"
            result.pending = [c for item in snapshot.interrupts for c in item.value.get("calls", [])]
            return result
        if len(snapshot.interrupts) > 1:  # several loop items wait: the same decision goes to each
            payload = Command(resume={item.id: decision for item in snapshot.interrupts})
        else:
            payload = Command(resume=decision) if snapshot.interrupts else None
        return self._invoke(runner, checkpointer, payload, run_id, graph)

    def _invoke(self, runner: "StepRunner", checkpointer: Any, payload: Any, run_id: str, graph: Any = None) -> WorkflowResult:
        graph = graph or self.compile(runner, checkpointer)
        runner.run_id = run_id
        state = graph.invoke(payload, _config(run_id), durability="sync")
        result = _result(state, run_id)
        if state.get("__interrupt__"):
            result.status = "waiting"
            result.pending = [c for item in state["__interrupt__"] for c in item.value.get("calls", [])]
        return result

    def run_ids(self, checkpointer: Any) -> Iterator[str]:
        seen = set()
        for item in checkpointer.list(None):
            run = item.config["configurable"]["thread_id"]
            if run not in seen:
                seen.add(run)
                yield run


_SAVERS: dict[int, Any] = {}
"""In-memory checkpointers for runs without an agent's data home, one per process."""


def _config(run_id: str) -> dict[str, Any]:
    # a loop takes one graph step per item: room for loops of many thousand items
    return {"configurable": {"thread_id": run_id}, "recursion_limit": 100_000}


def _result(values: dict[str, Any], run_id: str) -> WorkflowResult:
    return WorkflowResult(run_id=run_id, outputs=dict(values.get("outputs", {})), files=dict(values.get("files", {})),
                          skipped=list(values.get("skipped", [])))


class StepRunner:
    """Runs one step's work: the agent, a tool, a Python function or a template. The agent and
    the tools are made on first use (``agent_factory``/``tools_factory``), so a flow of Python
    steps never loads a model."""

    def __init__(self, *, agent_factory: Callable[[], Any] | None = None, tools_factory: Callable[[], list] | None = None,
                 progress: Callable[[str, str, str], None] | None = None, store: str = "") -> None:
        self._agent_factory = agent_factory
        self._tools_factory = tools_factory
        self._agent = None
        self._tools: dict[str, Any] | None = None
        self.progress = progress
        self.store = store
        self.run_id = ""
        self.can_ask = True
        """False where nobody can be asked to approve a dangerous call (a queue worker): such a run fails."""

    def describe_store(self) -> str:
        return self.store or "the checkpointer"

    def report(self, step: str, status: str, detail: str = "") -> None:
        if self.progress is not None:
            self.progress(step, status, detail)

    @property
    def agent(self) -> Any:
        if self._agent is None:
            if self._agent_factory is None:
                raise WorkflowError("this flow has agent steps but no agent was given")
            self._agent = self._agent_factory()
        return self._agent

    def tool(self, name: str) -> Any:
        if self._tools is None:
            tools = self._tools_factory() if self._tools_factory is not None else list(self.agent.tools)
            self._tools = {t.name: t for t in tools}
        if name not in self._tools and self._agent_factory is not None:
            # the light tools (no model, no graph) lack it: the agent's full set may have it (kg_search)
            self._tools.update({t.name: t for t in self.agent.tools if t.name not in self._tools})
        if name not in self._tools:
            raise WorkflowError(f"no tool named {name!r}; available: {', '.join(sorted(self._tools)) or 'none'} "
                                "(tools come from settings 'tools', 'db', 'kg')")
        return self._tools[name]

    def run(self, step: Step, flow: Workflow, context: dict[str, Any], index: int | None) -> Any:
        where = step.id if index is None else f"{step.id}[{index}]"
        self.report(where, "start", step.kind)
        try:
            if step.kind == "template":
                return flow.render(str(step.spec), context, step.id)
            if step.kind == "agent":
                return self._agent_step(step, flow, context, index)
            args = flow.render(step.args, context, step.id)
            if step.kind == "tool":
                return self.tool(str(step.spec)).invoke(args)
            return _function(str(step.spec), flow.base_dir)(**args)
        except (WorkflowError, ConfigError, GraphBubbleUp):  # GraphBubbleUp: an approval interrupt, for LangGraph
            raise
        except AgentmeshError as exc:
            raise WorkflowError(f"step {where} ({step.kind}) failed: {exc}") from exc
        except Exception as exc:
            raise WorkflowError(f"step {where} ({step.kind}) failed: {type(exc).__name__}: {exc}") from exc

    def _agent_step(self, step: Step, flow: Workflow, context: dict[str, Any], index: int | None) -> dict[str, Any]:
        prompt = flow.render(str(step.spec), context, step.id)
        base = flow.render(step.thread, context, step.id) if step.thread else f"workflow:{context['run_id']}:{step.id}"
        thread = base if index is None else f"{base}:{index}"
        agent = self.agent
        if agent.pending(thread):  # resumed after an approval interrupt: continue that run
            result = agent.resume(thread, interrupt({"type": "approval", "step": step.id, "calls": agent.pending(thread)}))
        else:
            result = agent.run(str(prompt), thread_id=thread)
        if result.pending and not self.can_ask:
            calls = ", ".join(c["name"] for c in result.pending)
            raise WorkflowError(f"step {step.id}: the agent wants to run {calls}, which needs approval, and a queue worker "
                                "cannot ask for it; set approval = 'auto' or 'deny' for queued runs, or run without --queue")
        while result.pending:
            decision = interrupt({"type": "approval", "step": step.id, "calls": result.pending})
            result = agent.resume(thread, decision)
        return {"answer": result.answer, "citations": [c.model_dump() for c in result.citations],
                "run_id": result.run_id, "model": result.model, "stop_reason": result.stop_reason,
                "supported": all(c.supported for c in getattr(result, "claims", [])),
                "unsupported": [c.text for c in getattr(result, "claims", []) if not c.supported]}


_LOAD_LOCK = threading.Lock()


def _function(ref: str, base_dir: Path) -> Callable[..., Any]:
    """``file.py:function``: a function in a file inside the flow's folder (symlinks resolved).
    Never a module by its import name: ``os:system`` is refused, as the spec check refuses it."""
    module_ref, _, name = ref.rpartition(":")
    if not module_ref.endswith(".py") or not name:
        raise WorkflowError(f"python step: {ref!r} is not file.py:function (a function in a .py file inside the flow's folder)")
    path = _inside(base_dir, module_ref, f"python step {ref!r}", "the flow's folder")
    if not path.is_file():
        raise WorkflowError(f"python step: no file {path}")
    key = f"agentmesh_flow_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
    # a worker runs items on several threads: under one lock, so no thread finds the module
    # half-executed; registered while it runs (dataclasses and pickle look it up there) and
    # taken out again if its code fails
    with _LOAD_LOCK:
        module = sys.modules.get(key)
        if module is None:
            spec = importlib.util.spec_from_file_location(key, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[key] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[key]
                raise
    function = getattr(module, name, None)
    if not callable(function):
        raise WorkflowError(f"python step: {module_ref} has no function {name!r}")
    return function
