"""sparql: read-only SPARQL over the knowledge graph, with a time limit and a row cap.

Read-only is enforced twice: the query must parse as SELECT, ASK, CONSTRUCT or DESCRIBE
(UPDATE, LOAD, CLEAR, DROP... do not parse as queries) and may not contain SERVICE, which
would reach other servers; and it runs against the store opened read-only, in a separate
process that is killed at the time limit (Oxigraph queries cannot be interrupted in-process).

What it may read is fixed by the dataset it runs on, not by the query's text: the default graph
is the union of the shared graphs (every graph that holds no one's remembered facts) and the
caller's own fact graphs, and those are the only named graphs ``GRAPH`` can reach, so a query
naming another user's graph finds nothing. FROM and FROM NAMED, which would choose the dataset,
are refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Annotated, Sequence

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool
from pydantic import BaseModel, Field
from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from agentmesh.errors import ReadOnlyViolationError, ToolError
from agentmesh.records import Citation
from agentmesh.knowledge import KnowledgeBase
from agentmesh.memory.facts import PRIVATE_GRAPHS, FactStore, is_private_graph
from agentmesh.tools.memory import current_run

__all__ = ["check_query", "run_sparql", "SparqlResult", "make_sparql_tool", "SparqlArgs"]

_FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
SPARQL_DESCRIPTION = (
    "Run a read-only SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE) on the knowledge graph; all "
    "named graphs are queried as one. Use it for exact lists, counts and filters over the graph."
)

# Runs in the child: opens the store read-only, runs the query on the caller's dataset, prints JSON.
_RUNNER = r"""
import json, sys
import pyoxigraph as ox
path, query, cap, private, own = sys.argv[1], sys.stdin.read(), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
store = ox.Store.read_only(path)
def term(t):
    if isinstance(t, ox.NamedNode): return {"uri": t.value}
    if isinstance(t, ox.Literal): return {"value": t.value}
    return {"value": str(t)} if t is not None else None
def hidden(g):
    return isinstance(g, ox.NamedNode) and (g.value == private or g.value.startswith(private + ":"))
named = [g for g in store.named_graphs() if not hidden(g)] + [ox.NamedNode(g) for g in own]
result = store.query(query, default_graph=[ox.DefaultGraph(), *named], named_graphs=named)
out = {"columns": [], "rows": [], "truncated": False}
if isinstance(result, ox.QueryBoolean):
    out["boolean"] = bool(result)
elif isinstance(result, ox.QuerySolutions):
    out["columns"] = [v.value for v in result.variables]
    for i, solution in enumerate(result):
        if i >= cap: out["truncated"] = True; break
        out["rows"].append([term(solution[v]) for v in result.variables])
else:
    out["columns"] = ["subject", "predicate", "object"]
    for i, t in enumerate(result):
        if i >= cap: out["truncated"] = True; break
        out["rows"].append([term(t.subject), term(t.predicate), term(t.object)])
print(json.dumps(out))
"""


def _names(node: object):
    if isinstance(node, CompValue):
        yield node.name
        for value in node.values():
            yield from _names(value)
    elif isinstance(node, (list, tuple, ParseResults)):
        for value in node:
            yield from _names(value)


def check_query(text: str) -> str:
    """The query form (SELECT, ASK, CONSTRUCT, DESCRIBE) of a read-only query; raise otherwise."""
    try:
        parsed = parseQuery(text)
    except ParseException as exc:
        try:
            update = parseUpdate(text)
        except ParseException:
            raise ToolError(f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: {exc.msg}") from None
        kinds = sorted({getattr(r, "name", "update") for r in update.request}) or ["update"]
        raise ReadOnlyViolationError(
            f"refused: {', '.join(kinds)} would change the graph; only SELECT, ASK, CONSTRUCT and DESCRIBE may run"
        ) from None
    names = set(_names(parsed))
    if "ServiceGraphPattern" in names:
        raise ReadOnlyViolationError("refused: SERVICE would query another server; only this graph may be queried")
    if "DatasetClause" in names:
        raise ReadOnlyViolationError("refused: FROM and FROM NAMED choose the graphs to query; the query always runs "
                                     "on the whole knowledge graph (and your own remembered facts), so leave them out")
    form = next((f for name, f in _FORMS.items() if name in names), None)
    if form is None:
        raise ToolError("not a SPARQL query form agentmesh runs (SELECT, ASK, CONSTRUCT, DESCRIBE)")
    return form


@dataclass
class SparqlResult:
    form: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[dict | None]] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False

    def uris(self) -> list[str]:
        return [cell["uri"] for row in self.rows for cell in row if cell and "uri" in cell]

    def render(self, labels: dict[str, str] | None = None) -> str:
        if self.boolean is not None:
            return "true" if self.boolean else "false"
        labels = labels or {}

        def cell(value: dict | None) -> str:
            if value is None:
                return ""
            if "uri" in value:
                label = labels.get(value["uri"])
                return f"<{value['uri']}>" + (f" ({label})" if label else "")
            return value["value"]

        lines = [" | ".join(self.columns)] + [" | ".join(cell(v) for v in row) for row in self.rows]
        if not self.rows:
            lines.append("(no results)")
        if self.truncated:
            lines.append(f"(only the first {len(self.rows)} rows are shown)")
        return "\n".join(lines)


def run_sparql(kb: KnowledgeBase, query: str, *, timeout: float = 10.0, row_limit: int = 200,
               graphs: Sequence[str] = ()) -> SparqlResult:
    """Check and run ``query`` against ``kb``'s store: read-only, time-limited, capped, on the
    shared graphs plus the private ``graphs`` named (the caller's own facts; none by default)."""
    form = check_query(query)  # before anything is sent anywhere
    own = [g for g in graphs if is_private_graph(g)]
    path = kb.store.path
    endpoint = getattr(kb, "endpoint", None)
    if endpoint is not None:  # a live graph: the endpoint runs it, with the same limits
        data = endpoint.run(query, form, row_limit, timeout)
    elif path is not None:
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-c", _RUNNER, str(path / "oxigraph"), str(row_limit), PRIVATE_GRAPHS, json.dumps(own)],
                input=query, capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise ToolError(f"the SPARQL query ran longer than {timeout:g}s and was stopped; narrow it") from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["the query failed"])[-1]
            raise ToolError(f"SPARQL error: {last}")
        data = json.loads(proc.stdout)
    else:  # an in-memory store (tests, embedding): same checks, limit enforced by abandoning the thread
        data = _run_in_thread(kb, query, timeout, row_limit, own)
    return SparqlResult(form, data.get("columns", []), data.get("rows", []), data.get("boolean"), data.get("truncated", False))


def _run_in_thread(kb: KnowledgeBase, query: str, timeout: float, row_limit: int, own: Sequence[str]) -> dict:
    import pyoxigraph as ox

    box: dict = {}
    store = kb.store.ox
    named = [g for g in store.named_graphs() if not is_private_graph(g)] + [ox.NamedNode(g) for g in own]

    def work() -> None:
        try:
            result = store.query(query, default_graph=[ox.DefaultGraph(), *named], named_graphs=named)
            if isinstance(result, ox.QueryBoolean):
                box["data"] = {"boolean": bool(result)}
                return
            if isinstance(result, ox.QuerySolutions):
                columns = [v.value for v in result.variables]
                items = ([solution[v] for v in result.variables] for solution in result)
            else:
                columns = ["subject", "predicate", "object"]
                items = ([t.subject, t.predicate, t.object] for t in result)
            rows, truncated = [], False
            for item in items:
                if len(rows) >= row_limit:
                    truncated = True
                    break
                rows.append([None if t is None else {"uri": t.value} if isinstance(t, ox.NamedNode) else {"value": getattr(t, "value", str(t))} for t in item])
            box["data"] = {"columns": columns, "rows": rows, "truncated": truncated}
        except Exception as exc:  # reported to the model below
            box["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ToolError(f"the SPARQL query ran longer than {timeout:g}s and was abandoned; narrow it")
    if "error" in box:
        raise ToolError(f"SPARQL error: {box['error']}")
    return box["data"]


class SparqlArgs(BaseModel):
    query: str = Field(description="A SPARQL SELECT, ASK, CONSTRUCT or DESCRIBE query.")


def make_sparql_tool(kb: KnowledgeBase, *, timeout: float = 10.0, row_limit: int = 200,
                     facts: FactStore | None = None) -> BaseTool:
    """The ``sparql`` tool; with ``facts``, a run's query also sees the remembered facts of its user (only theirs)."""
    def sparql(query: str, config: Annotated[RunnableConfig, InjectedToolArg] = None) -> tuple[str, list[dict]]:
        run = current_run(config)
        graphs = facts.graphs(run.user if run else None, run.thread_id if run else "") if facts is not None else []
        result = run_sparql(kb, query, timeout=timeout, row_limit=row_limit, graphs=graphs)
        uris = list(dict.fromkeys(result.uris()))[:50]
        labels = {u: kb.label(u) for u in uris}
        evidence = [Citation(kind="node", ref=u, detail=labels[u]).model_dump() for u in uris]
        where = kb.store.path or getattr(getattr(kb, "endpoint", None), "shown", None) or "memory"
        ran = Citation(kind="sparql", ref=str(where), detail=query.strip()).model_dump()
        return result.render(labels), [ran, *evidence]

    return StructuredTool.from_function(
        sparql, name="sparql", description=SPARQL_DESCRIPTION, args_schema=SparqlArgs, response_format="content_and_artifact"
    )
