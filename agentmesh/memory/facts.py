"""Long-term facts: what the user asks the assistant to remember, kept as RDF in a named graph.

Each fact is a node of the named graph ``urn:agentmesh:facts`` (type ``am:Fact``) with the
statement as its label and description, when it was stored and in which thread. The file is
N-Quads under the data home and is loaded with the knowledge graph, so facts are retrieved by
the same grounding as everything else, from any thread, and cited by their URI.

>>> facts = FactStore(home / "facts.nq")                                  # doctest: +SKIP
>>> fact = facts.remember("My team owns the billing database.", thread_id="t1")   # doctest: +SKIP
>>> [f.text for f in facts.list()]                                        # doctest: +SKIP
['My team owns the billing database.']
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox

from agentmesh.errors import AgentmeshError

__all__ = ["Fact", "FactStore", "FACTS_GRAPH", "FACT_PREFIX"]

FACTS_GRAPH = "urn:agentmesh:facts"
FACT_PREFIX = "urn:agentmesh:fact:"
_AM = "urn:agentmesh:"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_DESCRIPTION = "http://purl.org/dc/terms/description"
_CREATED = "http://purl.org/dc/terms/created"
_THREAD = _AM + "thread"


@dataclass(frozen=True)
class Fact:
    uri: str
    text: str
    created: str
    thread_id: str

    @property
    def id(self) -> str:
        return self.uri.removeprefix(FACT_PREFIX)


class FactStore:
    """Facts in an N-Quads file (written atomically). Thread-safe within a process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.write_text("")
        self._lock = threading.Lock()

    def _read(self) -> list[ox.Quad]:
        try:
            return list(ox.parse(path=str(self.path), format=ox.RdfFormat.N_QUADS))
        except SyntaxError as exc:
            raise AgentmeshError(f"facts file '{self.path}' line {exc.lineno}: {exc.msg}; fix or delete it") from None

    def _write(self, quads: list[ox.Quad]) -> None:
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_bytes(ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"")
        tmp.replace(self.path)

    def list(self) -> list[Fact]:
        by_subject: dict[str, dict[str, str]] = {}
        for quad in self._read():
            by_subject.setdefault(quad.subject.value, {})[quad.predicate.value] = quad.object.value
        facts = [Fact(uri, p.get(_DESCRIPTION, ""), p.get(_CREATED, ""), p.get(_THREAD, ""))
                 for uri, p in by_subject.items() if p.get(_RDF_TYPE) == _AM + "Fact"]
        return sorted(facts, key=lambda f: f.created)

    def remember(self, text: str, thread_id: str = "") -> Fact:
        text = " ".join(text.split())
        if not text:
            raise AgentmeshError("nothing to remember: the statement is empty")
        uri = FACT_PREFIX + hashlib.sha256(text.lower().encode()).hexdigest()[:12]
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        graph = ox.NamedNode(FACTS_GRAPH)
        node = ox.NamedNode(uri)
        new = [
            ox.Quad(node, ox.NamedNode(_RDF_TYPE), ox.NamedNode(_AM + "Fact"), graph),
            ox.Quad(node, ox.NamedNode(_LABEL), ox.Literal(text, language="en"), graph),
            ox.Quad(node, ox.NamedNode(_DESCRIPTION), ox.Literal(text, language="en"), graph),
            ox.Quad(node, ox.NamedNode(_CREATED), ox.Literal(created, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")), graph),
            ox.Quad(node, ox.NamedNode(_THREAD), ox.Literal(thread_id), graph),
        ]
        with self._lock:
            quads = [q for q in self._read() if q.subject != node]  # the same statement again: refreshed
            self._write(quads + new)
        return Fact(uri, text, created, thread_id)

    def forget(self, fact: str) -> Fact:
        """Forget a fact by id, URI, or (a unique part of) its text."""
        with self._lock:
            facts = self.list()
            matches = [f for f in facts if fact in (f.id, f.uri)] or [f for f in facts if fact.lower() in f.text.lower()]
            if len(matches) != 1:
                found = "no fact matches" if not matches else f"{len(matches)} facts match"
                raise AgentmeshError(f"{found} '{fact}'; give an id from: agentmesh facts list")
            target = ox.NamedNode(matches[0].uri)
            self._write([q for q in self._read() if q.subject != target])
        return matches[0]
