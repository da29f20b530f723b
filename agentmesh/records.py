"""The plain records every layer shares: what tools, grounding, the answer check and the faces
pass to each other. They import nothing of agentmesh, so any layer may use them.

* ``Citation``: evidence an answer rests on (a node, a query, code, a passage, a page).
* ``RetrievedNode`` / ``PathStep``: what grounding found in the knowledge graph.
* ``Evidence`` / ``Claim``: the items an answer is checked against, and each checked claim.
* ``RunContext``: who asks and in which run; it travels in LangGraph's run context, never in
  the messages (so it is not persisted in checkpoints, and one model object serves many runs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["Citation", "Claim", "Evidence", "PathStep", "RetrievedNode", "RunContext", "FACTS_GRAPH", "FACT_PREFIX",
           "PRIVATE_GRAPHS", "MORE_NOT_SHOWN", "is_private_graph", "is_remembered"]

# How remembered facts are named (agentmesh.memory.facts keeps them): every layer that must tell
# someone's facts from the shared graph (grounding, the store, the cache step) reads these names.
FACTS_GRAPH = "urn:agentmesh:facts"
"""The graph of the facts that have no user (the local operator's), as before facts had owners."""
PRIVATE_GRAPHS = FACTS_GRAPH
"""Every graph whose IRI starts with this holds someone's facts; no reader of the shared graph sees it."""
FACT_PREFIX = "urn:agentmesh:fact:"


def is_private_graph(graph: object) -> bool:
    """``graph`` (an IRI, or an Oxigraph graph name) holds someone's remembered facts."""
    value = getattr(graph, "value", graph)
    return isinstance(value, str) and (value == PRIVATE_GRAPHS or value.startswith(PRIVATE_GRAPHS + ":"))


def is_remembered(uri: str) -> bool:
    """``uri`` names a remembered fact (someone's: an answer resting on it is not for everyone)."""
    return uri.startswith(FACT_PREFIX)


class Citation(BaseModel):
    """Evidence an answer rests on: a graph node, a SQL or SPARQL query that ran, code that ran,
    a passage of a local document (``path:lines``), a web page, or an MCP server's tool call."""

    kind: Literal["node", "sql", "sparql", "code", "doc", "web", "mcp"]
    ref: str
    """The node URI, the database path, 'python', or ``mcp://<server>/<tool>``."""
    detail: str = ""
    """The node's label, the SQL text, the code, or an MCP call's arguments (JSON)."""
    verified: bool | None = None
    """For nodes: whether the URI is a node of the knowledge graph (None: not checked)."""

    def key(self) -> tuple[str, str, str]:
        """Identity for de-duplication: a node by its URI, SQL and code by their text."""
        return (self.kind, self.ref, "" if self.kind == "node" else self.detail)


_NODE_LINE = re.compile(r"^<(?P<uri>https?://[^>\s]+)> (?P<rest>.+)$")


@dataclass
class RetrievedNode:
    """A node found for a question, with its label-resolved facts."""

    uri: str
    label: str
    description: str
    score: float
    facts: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    """(URI, label) of the nodes its facts point to, so an answer naming them can cite them."""

    def render(self) -> str:
        """One line, as the model and a tool's result show it: ``<uri> label: description [fact; fact]``."""
        text = f"<{self.uri}> {self.label}"
        if self.description:
            text += f": {self.description}"
        return f"{text} [{'; '.join(self.facts)}]" if self.facts else text

    @classmethod
    def from_dict(cls, node: dict[str, Any]) -> "RetrievedNode":
        """A node as the thread's state keeps it (a dict: the checkpoint's form)."""
        return cls(node["uri"], node.get("label", ""), node.get("description", ""), float(node.get("score", 0.0)),
                   list(node.get("facts", [])), [tuple(link) for link in node.get("links", [])])

    @classmethod
    def parse(cls, line: str) -> "RetrievedNode | None":
        """The node a :meth:`render` line shows (score 0, no links), or None if the line is none."""
        match = _NODE_LINE.match(line.strip())
        if match is None:
            return None
        rest, facts = match["rest"], []
        if rest.endswith("]") and " [" in rest:
            rest, _, listed = rest.rpartition(" [")
            facts = [f.strip() for f in listed[:-1].split("; ") if f.strip()]
        label, _, description = rest.partition(": ")
        return cls(match["uri"], label.strip(), description.strip(), 0.0, facts)


@dataclass
class PathStep:
    subject: tuple[str, str]
    predicate: tuple[str, str]
    object: tuple[str, str]
    """Each a (URI, label) pair."""

    def render(self) -> str:
        return f"{self.subject[1]} --{self.predicate[1]}--> {self.object[1]}"


MORE_NOT_SHOWN = "(more not shown)"
"""The value of the extra fact line a node gets when its facts are cut (``MAX_FACTS``) and some
statements of a name shown were left out: "on line of: (more not shown)". A list made of the
ones shown is then known to be part of one (``agentmesh.answering.picking.cut_short``)."""


class Evidence(BaseModel):
    """One item of evidence: a fact of a node, a row, a passage, an output, or the question."""

    id: str
    kind: Literal["fact", "description", "row", "passage", "output", "question"]
    text: str
    source: str = ""
    """A node URI, or the tool call (``sql: SELECT ...``) that produced the item."""
    subject: str = ""
    """The node label a fact or description is about."""
    columns: list[str] = Field(default_factory=list, exclude=True)
    """A row's columns, as its table's header names them; with ``values``, the row as data, so
    no reader parses ``text`` back (empty for any other item, and for a row whose cells do not
    line up with its header). Not dumped: the text says the same to whoever reads it."""
    values: list[str] = Field(default_factory=list, exclude=True)
    """A row's cells, one a column."""
    conditions: list[str] = Field(default_factory=list, exclude=True)
    """What the call that made a row says of every row ("license_id = MIT"), as its text ends."""


class Claim(BaseModel):
    """One thing the answer asserts, and whether the evidence supports it."""

    text: str
    kind: Literal["number", "entity", "pair", "answer"]
    """``answer``: the question asks for a number or a name, and the answer states none that holds."""
    status: Literal["supported", "unsupported"]
    evidence: Evidence | None = None
    """The item that supports it (None when unsupported)."""

    @property
    def supported(self) -> bool:
        return self.status == "supported"


@dataclass(frozen=True)
class RunContext:
    """One run of the agent: its thread, its id, whether its data may leave the machine, and whose it is.

    The agent passes it as LangGraph's run context (``graph.invoke(..., context=RunContext(...))``);
    graph steps read it from the runtime and hand it to the model call's metadata, where a routed
    model finds it (budgets per thread, accounting per run, private runs on local models only)."""

    thread_id: str
    run_id: str = ""
    private: bool = False
    """This run may reach local models only (set by ``Agent.run(private=True)``, or by a tool marked private)."""
    user: str | None = None
    """The authenticated user of a server request, if any."""

    def metadata(self) -> dict[str, Any]:
        """The keys a model call's metadata carries for this run."""
        return {"agentmesh_thread_id": self.thread_id, "agentmesh_run_id": self.run_id,
                "agentmesh_private": self.private, "agentmesh_user": self.user or ""}
