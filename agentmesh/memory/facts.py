"""Long-term facts: what a user asks the assistant to remember, kept as RDF, each in its owner's named graph.

A fact belongs to whoever asked for it: the user of the run (``RunContext.user``, set by the
server from the caller's token) or, with no user, the local operator (the CLI, a server with one
shared token). It lives in that owner's named graph, or, when it was remembered for one
conversation only (``scope="thread"``), in a graph of that owner and thread. The graph IRIs are
keyed hashes (HMAC with a secret kept next to the facts file) of the user and thread, so neither a
user name nor a thread id is written in them and nobody can compute another's.

The file is N-Quads under the data home and is loaded into the knowledge graph's store, but no
reader of the shared graph sees these graphs (``is_private_graph``): the node index, ``kg_path``
and the MCP resources leave them out; the ``sparql`` tool runs on a dataset of the shared graphs
plus the caller's own (:meth:`FactStore.graphs`); grounding and ``kg_search`` add the caller's own
facts (:meth:`FactStore.recall`).

>>> facts = FactStore(home / "facts.nq")                                              # doctest: +SKIP
>>> fact = facts.remember("My team owns the billing database.", thread_id="t1", user="alice")   # doctest: +SKIP
>>> [f.text for f in facts.list(user="alice")], facts.list(user="bob")                # doctest: +SKIP
(['My team owns the billing database.'], [])
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Sequence

import pyoxigraph as ox

from agentmesh.errors import AgentmeshError
from agentmesh.records import FACT_PREFIX, FACTS_GRAPH, PRIVATE_GRAPHS, RetrievedNode, is_private_graph, is_remembered

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

__all__ = ["Fact", "FactStore", "FACTS_GRAPH", "FACT_PREFIX", "PRIVATE_GRAPHS", "is_private_graph", "is_remembered",
           "merge_recalled"]

_AM = "urn:agentmesh:"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_DESCRIPTION = "http://purl.org/dc/terms/description"
_CREATED = "http://purl.org/dc/terms/created"
_THREAD = _AM + "thread"
_SCOPE = _AM + "scope"
Scope = Literal["user", "thread"]


@dataclass(frozen=True)
class Fact:
    uri: str
    text: str
    created: str
    thread_id: str
    scope: str = "user"
    graph: str = FACTS_GRAPH

    @property
    def id(self) -> str:
        return self.uri.removeprefix(FACT_PREFIX)


class FactStore:
    """Facts in an N-Quads file (written atomically), each in its owner's graph. Thread-safe within a process.

    The key that makes graph IRIs is ``<file>.key`` (made on first use, readable by its owner only)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.write_text("")
        self._key = _load_key(self.path.with_suffix(".key"))
        self._lock = threading.Lock()
        self._vectors: dict[str, object] = {}

    # -- owners ----------------------------------------------------------------------------
    def _mac(self, *parts: str) -> str:
        return hmac.new(self._key, "\0".join(parts).encode(), hashlib.sha256).hexdigest()[:32]

    def graph(self, user: str | None = None, thread_id: str = "", scope: Scope = "user") -> str:
        """The IRI of the graph a fact of ``user`` (None: no user) goes to: theirs, or theirs in
        ``thread_id`` when ``scope`` is ``thread``."""
        if scope not in ("user", "thread"):
            raise AgentmeshError(f"a fact's scope is 'user' or 'thread', not {scope!r}")
        base = FACTS_GRAPH if not user else f"{FACTS_GRAPH}:u:{self._mac('user', user)}"
        if scope == "thread":
            if not thread_id:
                raise AgentmeshError("a fact kept for one conversation needs the conversation's thread id")
            return f"{base}:t:{self._mac('thread', user or '', thread_id)}"
        return base

    def graphs(self, user: str | None = None, thread_id: str = "") -> list[str]:
        """The graphs a run of ``user`` in ``thread_id`` sees: theirs, and theirs in that thread."""
        return [self.graph(user)] + ([self.graph(user, thread_id, "thread")] if thread_id else [])

    def _all_of(self, user: str | None) -> tuple[str, str]:
        """(the user's graph, the prefix of their thread graphs)."""
        base = self.graph(user)
        return base, base + ":t:"

    # -- reading ---------------------------------------------------------------------------
    def _read(self) -> list[ox.Quad]:
        try:
            return list(ox.parse(path=str(self.path), format=ox.RdfFormat.N_QUADS))
        except SyntaxError as exc:
            raise AgentmeshError(f"facts file '{self.path}' line {exc.lineno}: {exc.msg}; fix or delete it") from None

    def _write(self, quads: list[ox.Quad]) -> None:
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_bytes(ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"")
        tmp.replace(self.path)

    def _facts(self, quads: list[ox.Quad], visible) -> list[Fact]:
        by_subject: dict[tuple[str, str], dict[str, str]] = {}
        for quad in quads:
            graph = getattr(quad.graph_name, "value", "")
            if isinstance(graph, str) and visible(graph):
                by_subject.setdefault((quad.subject.value, graph), {})[quad.predicate.value] = quad.object.value
        facts = [Fact(uri, p.get(_DESCRIPTION, ""), p.get(_CREATED, ""), p.get(_THREAD, ""), p.get(_SCOPE, "user"), graph)
                 for (uri, graph), p in by_subject.items() if p.get(_RDF_TYPE) == _AM + "Fact"]
        return sorted(facts, key=lambda f: f.created)

    def list(self, user: str | None = None, thread_id: str | None = None) -> list[Fact]:
        """The facts of ``user`` (None: the facts with no user). With ``thread_id``, those a run in
        that thread sees (the user's, and the ones kept for that thread); without, all of theirs."""
        if thread_id is not None:
            mine = set(self.graphs(user, thread_id))
            return self._facts(self._read(), mine.__contains__)
        base, threads = self._all_of(user)
        return self._facts(self._read(), lambda g: g == base or g.startswith(threads))

    def everyone(self) -> list[Fact]:
        """Every stored fact, whoever's (for the file's owner; never for a user's tools)."""
        return self._facts(self._read(), is_private_graph)

    # -- changing --------------------------------------------------------------------------
    def remember(self, text: str, thread_id: str = "", *, user: str | None = None, scope: Scope = "user") -> Fact:
        """Keep ``text`` as a fact of ``user``: for every conversation of theirs (``scope="user"``),
        or for ``thread_id`` only (``scope="thread"``)."""
        text = " ".join(text.split())
        if not text:
            raise AgentmeshError("nothing to remember: the statement is empty")
        graph_iri = self.graph(user, thread_id, scope)
        # the same statement of another owner is another fact (forgetting one leaves the other)
        key = text.lower() if graph_iri == FACTS_GRAPH else f"{graph_iri}\0{text.lower()}"
        uri = FACT_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:12 if graph_iri == FACTS_GRAPH else 24]
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        graph = ox.NamedNode(graph_iri)
        node = ox.NamedNode(uri)
        new = [
            ox.Quad(node, ox.NamedNode(_RDF_TYPE), ox.NamedNode(_AM + "Fact"), graph),
            ox.Quad(node, ox.NamedNode(_LABEL), ox.Literal(text, language="en"), graph),
            ox.Quad(node, ox.NamedNode(_DESCRIPTION), ox.Literal(text, language="en"), graph),
            ox.Quad(node, ox.NamedNode(_CREATED), ox.Literal(created, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")), graph),
            ox.Quad(node, ox.NamedNode(_THREAD), ox.Literal(thread_id), graph),
        ]
        if scope == "thread":
            new.append(ox.Quad(node, ox.NamedNode(_SCOPE), ox.Literal("thread"), graph))
        with self._lock:
            quads = [q for q in self._read() if not (q.subject == node and q.graph_name == graph)]  # the same again: refreshed
            self._write(quads + new)
        return Fact(uri, text, created, thread_id, scope, graph_iri)

    def forget(self, fact: str, *, user: str | None = None, thread_id: str | None = None) -> Fact:
        """Forget one of ``user``'s facts (those a run in ``thread_id`` sees; all of theirs without
        it) by id, URI, or (a unique part of) its text. Nobody else's is ever matched."""
        with self._lock:
            facts = self.list(user, thread_id)
            matches = [f for f in facts if fact in (f.id, f.uri)] or [f for f in facts if fact.lower() in f.text.lower()]
            if len(matches) != 1:
                found = "no fact matches" if not matches else f"{len(matches)} facts match"
                raise AgentmeshError(f"{found} '{fact}'; give an id from: agentmesh facts list")
            target, graph = ox.NamedNode(matches[0].uri), ox.NamedNode(matches[0].graph)
            self._write([q for q in self._read() if not (q.subject == target and q.graph_name == graph)])
        return matches[0]

    # -- recall ----------------------------------------------------------------------------
    def recall(self, question: str, embeddings: "Embeddings", *, user: str | None = None, thread_id: str = "",
               k: int = 5) -> list[RetrievedNode]:
        """The ``k`` facts of ``user`` (seen from ``thread_id``) closest to ``question``, as grounding nodes."""
        facts = self.list(user, thread_id)
        if not facts or k <= 0 or not question.strip():
            return []
        from agentmesh.knowledge.index import embed_texts

        texts = [f.text for f in facts]
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, embed_texts(embeddings, missing)):
                self._vectors[text] = vector
        query = embed_texts(embeddings, [question])[0]
        scored = sorted(((float(self._vectors[f.text] @ query), f) for f in facts), key=lambda t: t[0], reverse=True)
        return [RetrievedNode(f.uri, f.text, f.text, round(score, 4), [f"remembered: {f.created}"])
                for score, f in scored[:k]]


def merge_recalled(nodes: Sequence[RetrievedNode], recalled: Sequence[RetrievedNode], k: int,
                   min_relative_score: float = 0.5) -> list[RetrievedNode]:
    """The graph's ``nodes`` and the caller's ``recalled`` facts, best first, at most ``k``, each
    scoring at least ``min_relative_score`` times the best (as the graph's retrieval does)."""
    merged = sorted([*nodes, *recalled], key=lambda n: n.score, reverse=True)
    floor = merged[0].score * min_relative_score if merged and merged[0].score > 0 else float("-inf")
    return [n for n in merged if n.score >= floor][:k]


def _load_key(path: Path) -> bytes:
    """The secret that keys graph IRIs: read, or made (0600) on first use."""
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) < 16:
        raise AgentmeshError(f"facts key '{path}' is shorter than 16 bytes; delete it (facts of users will then be unreachable) or restore it")
    return key
