"""A knowledge graph that stays behind its SPARQL endpoint (``kg_endpoint_mode = "live"``).

Mirroring (the default, :mod:`agentmesh.knowledge.remote`) copies the graph into the data
home. That suits a small graph; a store of a billion triples, or one that changes by the hour,
should stay where it is. In live mode agentmesh keeps only the node index. It holds the labels
and descriptions of the graph's nodes, embedded, and is read from the endpoint by paged SELECTs.
Everything else is asked of the endpoint per question, over the SPARQL 1.1 protocol:

- **grounding facts:** one SELECT for all the retrieved nodes (``VALUES``), labels of the
  predicates and objects included;
- **the ``sparql`` tool:** the query is checked read-only before anything is sent (the same
  check as for a local store), then run with the timeout and the row cap;
- **``kg_path``:** a breadth-first search from both ends, one SELECT per level;
- **citations:** an ``ASK`` tells whether a URI is in the graph.

Building the index is resumable. The node texts come page by page, one label or description
predicate at a time, keyed by subject IRI, and each page is saved with its cursor. The embeddings are saved chunk by chunk (``NodeIndex.build``'s
checkpoint). A build that is killed starts again where it stopped.

``agentmesh kg sync`` (and opening an index older than ``kg_endpoint_max_age``) reads the
texts again and re-embeds only the nodes whose label or description changed, or that are new.
Nodes that went are dropped. Each sync changes the graph's version, so answers cached before it
are not served after it.

What differs between servers is noted where it matters: paging uses ``ORDER BY ?s`` with
``FILTER(STR(?s) > cursor)`` on one predicate, which Oxigraph, Fuseki, GraphDB and Virtuoso all run. Virtuoso
caps result rows (``ResultSetMaxRows``, often 10,000), so keep ``kg_endpoint_page_size`` under
it. GraphDB wants ``/repositories/<id>`` as the endpoint, and Fuseki ``/<dataset>/query`` (or
``/sparql``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Iterator

import httpx
import pyoxigraph as ox
from langchain_core.embeddings import Embeddings
from rdflib.namespace import RDF

from agentmesh.errors import KnowledgeGraphError, KnowledgeGraphUnavailableError, ToolError
from agentmesh.knowledge.describe import DescriptionConfig, NodeText, local_name
from agentmesh.knowledge.grounding import _CLASS_TYPES, _PROPERTY_TYPES, MAX_FACTS, MIN_RELATIVE_SCORE, KnowledgeBase, _left_out
from agentmesh.knowledge.index import HNSW_THRESHOLD, IndexKind, NodeIndex, Progress
from agentmesh.models.embeddings import embedding_model_id
from agentmesh.records import PathStep, RetrievedNode

__all__ = ["SparqlEndpoint", "LiveKnowledgeBase"]

log = logging.getLogger(__name__)
_RDF_TYPE = str(RDF.type)


def _iri(uri: str) -> str:
    if any(c in uri for c in '<>"{}|^`\\ \n'):
        raise KnowledgeGraphError(f"not an IRI that can go in a query: {uri[:80]!r}")
    return f"<{uri}>"


def _literal(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid SPARQL string literal


class SparqlEndpoint:
    """A SPARQL 1.1 endpoint over HTTP: credentials in the URL go as basic auth (never shown),
    ``token`` as a bearer token; each request has a timeout and a reply size cap."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        from urllib.parse import unquote, urlsplit

        from agentmesh.knowledge.remote import _shown

        if not url.startswith(("http://", "https://")):
            raise KnowledgeGraphError(f"SPARQL endpoint '{_shown(url)}' is not an http(s) URL")
        parts = urlsplit(url)
        self.url, self.shown, self.max_bytes, self.timeout = url, _shown(url), max_bytes, timeout
        auth = httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or "")) if parts.username else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(auth=auth, headers=headers, timeout=timeout, trust_env=False)
        self.requests = 0

    def _post(self, query: str, accept: str, timeout: float | None = None) -> tuple[str, bytes]:
        self.requests += 1
        try:
            with self.client.stream("POST", self.shown, data={"query": query}, headers={"Accept": accept},
                                    timeout=timeout or self.timeout) as reply:
                body = bytearray()
                for block in reply.iter_bytes():
                    body += block
                    if len(body) > self.max_bytes:
                        raise KnowledgeGraphError(f"SPARQL endpoint '{self.shown}' sent more than "
                                                  f"{self.max_bytes:,} bytes for one query (kg_endpoint_max_bytes)")
                if reply.status_code != 200:
                    text = bytes(body).decode(errors="replace").strip()[:300]
                    kind = KnowledgeGraphUnavailableError if reply.status_code >= 500 or reply.status_code == 429 else KnowledgeGraphError
                    raise kind(f"SPARQL endpoint '{self.shown}' answered HTTP {reply.status_code}: {text}")
                return reply.headers.get("content-type", "").split(";")[0].strip(), bytes(body)
        except httpx.TimeoutException:
            raise KnowledgeGraphUnavailableError(f"SPARQL endpoint '{self.shown}' did not answer within "
                                      f"{timeout or self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise KnowledgeGraphUnavailableError(f"cannot reach SPARQL endpoint '{self.shown}': "
                                      f"{str(exc).replace(self.url, self.shown)}") from None

    def select(self, query: str, timeout: float | None = None) -> tuple[list[str], list[dict[str, dict]]]:
        """(variables, bindings) of a SELECT, as the SPARQL JSON results format gives them."""
        _, body = self._post(query, "application/sparql-results+json", timeout)
        try:
            data = json.loads(body)
            return list(data["head"].get("vars", [])), list(data["results"]["bindings"])
        except (ValueError, KeyError, TypeError):
            raise KnowledgeGraphError(f"SPARQL endpoint '{self.shown}' sent a SELECT result that is not "
                                      "SPARQL JSON") from None

    def ask(self, query: str) -> bool:
        _, body = self._post(query, "application/sparql-results+json")
        try:
            return bool(json.loads(body)["boolean"])
        except (ValueError, KeyError, TypeError):
            raise KnowledgeGraphError(f"SPARQL endpoint '{self.shown}' sent an ASK result that is not SPARQL JSON") from None

    def run(self, query: str, form: str, row_limit: int, timeout: float) -> dict[str, Any]:
        """A checked read-only query for the ``sparql`` tool, as the local runner reports it."""
        try:
            if form == "ASK":
                return {"boolean": self.ask(query)}
            if form in ("CONSTRUCT", "DESCRIBE"):
                kind, body = self._post(query, "application/n-triples, text/turtle;q=0.9", timeout)
                fmt = ox.RdfFormat.TURTLE if kind == "text/turtle" else ox.RdfFormat.N_TRIPLES
                rows, truncated = [], False
                for triple in ox.parse(body, format=fmt):
                    if len(rows) >= row_limit:
                        truncated = True
                        break
                    rows.append([_cell_term(t) for t in (triple.subject, triple.predicate, triple.object)])
                return {"columns": ["subject", "predicate", "object"], "rows": rows, "truncated": truncated}
            columns, bindings = self.select(query, timeout)
        except KnowledgeGraphError as exc:
            raise ToolError(f"SPARQL error: {exc}") from None
        except SyntaxError as exc:
            raise ToolError(f"SPARQL error: the endpoint's RDF does not parse: {exc}") from None
        rows = [[_cell(b.get(c)) for c in columns] for b in bindings[:row_limit]]
        return {"columns": columns, "rows": rows, "truncated": len(bindings) > row_limit}

    def close(self) -> None:
        self.client.close()


def _cell(binding: dict | None) -> dict | None:
    if binding is None:
        return None
    return {"uri": binding["value"]} if binding.get("type") == "uri" else {"value": binding.get("value", "")}


def _cell_term(term: Any) -> dict:
    return {"uri": term.value} if isinstance(term, ox.NamedNode) else {"value": getattr(term, "value", str(term))}


def _pick(values: list[tuple[str, str]], language: str) -> str:
    """The value in ``language``, else one without a tag, else any (as describe._pick)."""
    ranked = sorted(values, key=lambda v: (v[1] != language and not v[1].startswith(language + "-"), bool(v[1]), v[0]))
    return ranked[0][0] if ranked else ""


def _best(found: dict[str, dict[str, list[tuple[str, str]]]], uri: str, predicates: tuple, language: str) -> str:
    """``uri``'s value of the most preferred of ``predicates`` that it has (as describe_nodes)."""
    for predicate in predicates:
        values = found.get(str(predicate), {}).get(uri)
        if values and (value := _pick(values, language)):
            return value
    return ""


class _LiveStore:
    """What the rest of agentmesh asks of a store, answered by the endpoint."""

    path = None
    sources: list[Path] = []

    def __init__(self, endpoint: SparqlEndpoint, version: str) -> None:
        self.endpoint, self.content_hash = endpoint, version  # (the live graph's version is LiveKnowledgeBase.version)
        self._known: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()
        self._size: int | None = None

    def has_node(self, uri: str) -> bool:
        with self._lock:
            if uri in self._known:
                return self._known[uri]
        try:
            found = self.endpoint.ask(f"ASK {{ {{ {_iri(uri)} ?p ?o }} UNION {{ ?s ?p {_iri(uri)} }} }}")
        except KnowledgeGraphError:
            return False
        with self._lock:
            self._known[uri] = found
            while len(self._known) > 10_000:
                self._known.popitem(last=False)
        return found

    def __len__(self) -> int:
        if self._size is None:
            try:
                _, rows = self.endpoint.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
                self._size = int(rows[0]["n"]["value"])
            except (KnowledgeGraphError, LookupError, ValueError):
                return 0
        return self._size

    def query(self, query: str) -> Any:
        raise KnowledgeGraphError("a live graph is queried through its endpoint (SparqlEndpoint.run)")


class LiveKnowledgeBase(KnowledgeBase):
    """Retrieval over a graph that stays behind its SPARQL endpoint; see the module doc."""

    def __init__(self, endpoint: SparqlEndpoint, index: NodeIndex, embeddings: Embeddings,
                 config: DescriptionConfig | None, *, folder: Path, state: dict[str, Any], embedded_now: int = 0,
                 max_age: float = 86400.0) -> None:
        self.endpoint = endpoint
        self.state = state
        self.max_age = max_age
        super().__init__(_LiveStore(endpoint, ""), index, embeddings, config,
                         index_folder=folder / "index", embedded_now=embedded_now)
        self.folder = folder

    @property
    def version(self) -> str:
        """What answers from this graph depend on: the node texts, and the sync interval we are in.
        Facts are read live, so an answer cached in one interval is not served in the next; the
        interval is counted from the epoch, so every replica agrees on it (and shares the cache)."""
        interval = int(time.time() // self.max_age)
        return hashlib.sha256(f"{self.state['graph_hash']}@{interval}".encode()).hexdigest()[:16]

    # -- opening and syncing -----------------------------------------------------------------
    @classmethod
    def open(cls, url: str, embeddings: Embeddings, *, cache_dir: Path, config: DescriptionConfig | None = None,
             kind: IndexKind = "auto", progress: Progress | None = None, token: str | None = None,
             timeout: float = 30.0, max_bytes: int = 64 * 1024 * 1024, page_size: int = 10_000,
             max_age: float = 86400.0, refresh: bool = False, hnsw_threshold: int = HNSW_THRESHOLD) -> "LiveKnowledgeBase":
        """The node index of the graph at ``url``: reused when it was synced less than ``max_age``
        seconds ago (unless ``refresh``), else synced; a build that stopped half-way continues."""
        config = config or DescriptionConfig()
        endpoint = SparqlEndpoint(url, token=token, timeout=timeout, max_bytes=max_bytes)
        model = embedding_model_id(embeddings)
        key = "|".join([endpoint.shown, model, config.key()])
        folder = Path(cache_dir) / f"live-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
        index, state = NodeIndex.load(folder / "index"), _read_json(folder / "state.json")
        fresh = index is not None and state is not None and time.time() - state["synced_at"] < max_age
        if fresh and not refresh:
            return cls(endpoint, index, embeddings, config, folder=folder, state=state, max_age=max_age)
        kb = cls.__new__(cls)
        kb.endpoint, kb.folder, kb.config, kb.embeddings = endpoint, folder, config, embeddings
        built, state, embedded = kb._build(index, kind, progress, page_size, hnsw_threshold)
        return cls(endpoint, built, embeddings, config, folder=folder, state=state, embedded_now=embedded, max_age=max_age)

    def sync(self, *, progress: Progress | None = None, page_size: int = 10_000, changes: str | None = None) -> int:
        """Bring the index up to the endpoint; re-embed only the nodes that changed or are new.
        Returns how many were.

        Without ``changes``, every label and description is read again (as long as a build).
        ``changes`` is a SELECT of ``?s``, the nodes changed since ``{since}``, which is
        replaced by the last sync's time as an ``xsd:dateTime``: e.g.
        ``SELECT ?s WHERE { ?s dcterms:modified ?m FILTER(?m > {since}) }``. Then only those
        nodes' texts are read."""
        if changes:
            index, state, embedded = self._sync_changes(changes, progress)
        else:
            index, state, embedded = self._build(self.index, self.index.manifest.kind, progress, page_size, HNSW_THRESHOLD)
        self.state = state
        self._set_index(index)
        self.embedded_now = embedded
        return embedded

    def _sync_changes(self, changes: str, progress: Progress | None) -> tuple[NodeIndex, dict[str, Any], int]:
        from datetime import datetime, timezone

        started = time.time()
        since = datetime.fromtimestamp(self.state["synced_at"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if "{since}" not in changes:
            raise KnowledgeGraphError("kg_endpoint_changes must hold {since}, where the last sync's time goes")
        query = changes.replace("{since}", f'"{since}"^^<http://www.w3.org/2001/XMLSchema#dateTime>')
        columns, rows = self.endpoint.select(query)
        if "s" not in columns:
            raise KnowledgeGraphError("kg_endpoint_changes must SELECT ?s, the changed nodes")
        changed = sorted({b["s"]["value"] for b in rows if b.get("s", {}).get("type") == "uri"})
        fresh = self._texts_of(changed)
        touched = set(changed)
        nodes = sorted([n for n in self.index.nodes if n.uri not in touched] + fresh, key=lambda n: n.uri)
        digest = hashlib.sha256()
        for node in nodes:
            digest.update(f"{node.uri}\0{node.text}\0".encode())
        graph_hash = digest.hexdigest()[:16]
        index = NodeIndex.build(nodes, self.embeddings, graph_hash=graph_hash, config_key=self.config.key(),
                                kind=self.index.manifest.kind, previous=self.index, progress=progress,
                                skipped=self.index.manifest.skipped)
        state = {**self.state, "graph_hash": graph_hash, "synced_at": started, "nodes": len(nodes)}
        index.save(self.folder / "index")
        _write_json(self.folder / "state.json", state)
        return index, state, index.manifest.embedded

    def _texts_of(self, uris: list[str]) -> list[NodeText]:
        """The current label and description of each of ``uris`` (one query per predicate and 500
        nodes: a single VALUES with a fixed predicate, which stores answer from their index)."""
        config = self.config
        found: dict[str, dict[str, list[tuple[str, str]]]] = {}
        for start in range(0, len(uris), 500):
            values = " ".join(_iri(u) for u in uris[start:start + 500])
            for predicate in (*config.label_predicates, *config.description_predicates):
                _, rows = self.endpoint.select(
                    f"SELECT ?s ?v WHERE {{ VALUES ?s {{ {values} }} ?s {_iri(str(predicate))} ?v FILTER(isLiteral(?v)) }}")
                for b in rows:
                    found.setdefault(str(predicate), {}).setdefault(b["s"]["value"], []).append(
                        (b["v"]["value"], b["v"].get("xml:lang", "")))
        used = set(self.state.get("used", []))
        nodes = []
        for uri in uris:
            label = _best(found, uri, config.label_predicates, config.language)
            description = _best(found, uri, config.description_predicates, config.language)
            if description or (label and uri not in used):
                nodes.append(NodeText(uri, label or local_name(uri), description))
        return nodes

    def _build(self, previous: NodeIndex | None, kind: str, progress: Progress | None, page_size: int,
               hnsw_threshold: int) -> tuple[NodeIndex, dict[str, Any], int]:
        build = self.folder / "build"
        build.mkdir(parents=True, exist_ok=True)
        properties, classes, used = self._read_kinds()
        nodes, skipped = self._read_texts(build, page_size, used)
        digest = hashlib.sha256()
        for node in nodes:
            digest.update(f"{node.uri}\0{node.text}\0".encode())
        graph_hash = digest.hexdigest()[:16]
        index = NodeIndex.build(nodes, self.embeddings, graph_hash=graph_hash, config_key=self.config.key(),
                                kind=kind if kind in ("flat", "hnsw", "auto") else "auto", hnsw_threshold=hnsw_threshold,
                                previous=previous, progress=progress, skipped=skipped, checkpoint=build / "chunks")
        state = {"endpoint": self.endpoint.shown, "graph_hash": graph_hash, "synced_at": time.time(),
                 "nodes": len(nodes), "properties": sorted(properties), "classes": sorted(classes), "used": sorted(used)}
        index.save(self.folder / "index")
        _write_json(self.folder / "state.json", state)
        shutil.rmtree(build, ignore_errors=True)  # its pages and chunks are in the saved index now
        return index, state, index.manifest.embedded

    def _read_texts(self, build: Path, page_size: int, used: set[str]) -> tuple[list[NodeText], int]:
        """Every node's label and description. Each label and description predicate is read in
        pages of ``page_size`` values, keyed by subject IRI (``ORDER BY ?s``, ``STR(?s) > cursor``).
        Each page is saved with its cursor as it comes (``pages.jsonl``), and pages already read
        are not read again."""
        config = self.config
        predicates = [str(p) for p in (*config.label_predicates, *config.description_predicates)]
        pages = build / "pages.jsonl"
        values: dict[str, dict[str, list[tuple[str, str]]]] = {}  # predicate -> subject -> (value, language)
        cursors: dict[str, tuple[str, bool]] = {}
        if pages.is_file():
            for line in pages.read_text(encoding="utf-8").splitlines():
                try:
                    page = json.loads(line)
                except ValueError:
                    break  # a page cut off by a kill: read again from the cursor before it
                for subject, value, language in page["values"]:
                    values.setdefault(page["predicate"], {}).setdefault(subject, []).append((value, language))
                cursors[page["predicate"]] = (page["cursor"], page["done"])
        with pages.open("a", encoding="utf-8") as out:
            for predicate in predicates:
                cursor, done = cursors.get(predicate, ("", False))
                while not done:
                    rows, cursor, done = self._page(predicate, cursor, page_size)
                    for subject, value, language in rows:
                        values.setdefault(predicate, {}).setdefault(subject, []).append((value, language))
                    out.write(json.dumps({"predicate": predicate, "cursor": cursor, "done": done, "values": rows}) + "\n")
                    out.flush()

        subjects = sorted({s for by_subject in values.values() for s in by_subject})
        nodes, skipped = [], 0
        for uri in subjects:
            label = _best(values, uri, config.label_predicates, config.language)
            description = _best(values, uri, config.description_predicates, config.language)
            if not description and (not label or uri in used):  # a predicate's bare label names a relation
                skipped += 1
                continue
            nodes.append(NodeText(uri, label or local_name(uri), description))
        return nodes, skipped

    def _page(self, predicate: str, cursor: str, size: int) -> tuple[list[list[str]], str, bool]:
        """One page of ``predicate``'s literal values: (rows, the cursor after them, whether that was the last page).
        A full page stops before its last subject, whose values may go on in the next page."""
        after = f"FILTER(STR(?s) > {_literal(cursor)})" if cursor else ""
        _, bindings = self.endpoint.select(
            f"SELECT ?s ?v WHERE {{ ?s {_iri(predicate)} ?v FILTER(isIRI(?s) && isLiteral(?v)) {after} }} "
            f"ORDER BY ?s LIMIT {size}")
        rows = [[b["s"]["value"], b["v"]["value"], b["v"].get("xml:lang", "")] for b in bindings if "s" in b and "v" in b]
        if len(bindings) < size:
            return rows, rows[-1][0] if rows else cursor, True
        last = rows[-1][0]
        whole = [r for r in rows if r[0] != last]
        if not whole:  # one subject filled the page: keep what came of it and go past it
            return rows, last, False
        return whole, whole[-1][0], False

    def _read_kinds(self) -> tuple[set[str], set[str], set[str]]:
        """(properties, classes, predicates in use): properties are the typed ones and those in use.
        If the endpoint will not list the predicates in use, typed properties only (and a warning)."""
        def typed(types: tuple) -> set[str]:
            values = " ".join(_iri(str(t)) for t in types)
            _, rows = self.endpoint.select(f"SELECT DISTINCT ?s WHERE {{ VALUES ?t {{ {values} }} ?s a ?t FILTER(isIRI(?s)) }}")
            return {b["s"]["value"] for b in rows}

        properties, classes, used = typed(_PROPERTY_TYPES), typed(_CLASS_TYPES), set()
        try:
            _, rows = self.endpoint.select("SELECT DISTINCT ?p WHERE { ?s ?p ?o }", timeout=max(self.endpoint.timeout, 120))
            used = {b["p"]["value"] for b in rows}
        except KnowledgeGraphError as exc:
            log.warning("predicates in use not read (%s): properties are the typed ones only", exc)
        return properties | used, classes, used

    def _node_kinds(self) -> tuple[set[str], set[str]]:
        if self._kinds is None:
            self._kinds = (set(self.state.get("properties", [])), set(self.state.get("classes", [])))
        return self._kinds

    # -- per question ------------------------------------------------------------------------
    def retrieve(self, question: str, k: int = 5, *, hops: int = 1,
                 min_relative_score: float = MIN_RELATIVE_SCORE) -> list[RetrievedNode]:
        ranked = self.rank(question, k, min_relative_score=min_relative_score)
        texts = [self.index.nodes[i] for i, _ in ranked]
        facts = self.facts_of([t.uri for t in texts])
        if hops >= 2:
            linked = list(dict.fromkeys(uri for t in texts for uri, _ in facts[t.uri][1]))
            more = self.facts_of(linked, limit=3)
        nodes = []
        for (i, score), text in zip(ranked, texts):
            lines, links = facts[text.uri]
            lines = list(lines)
            if hops >= 2:
                lines += [f"{label} → {fact}" for uri, label in links for fact in more.get(uri, ([], []))[0]]
            nodes.append(RetrievedNode(text.uri, text.label, text.description, score, lines, links))
        return nodes

    def facts(self, uri: str, limit: int = MAX_FACTS) -> tuple[list[str], list[tuple[str, str]]]:
        return self.facts_of([uri], limit)[uri]

    def facts_of(self, uris: list[str], limit: int = MAX_FACTS) -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
        """Label-resolved statements about each of ``uris`` (outgoing, then incoming), in one query."""
        result: dict[str, tuple[list[str], list[tuple[str, str]]]] = {u: ([], []) for u in uris}
        if not uris:
            return result
        config = self.config
        skip = {str(p) for p in (*config.label_predicates, *config.description_predicates)}
        labels = " ".join(_iri(str(p)) for p in config.label_predicates)
        values = " ".join(_iri(u) for u in uris)
        _, rows = self.endpoint.select(f"""
            SELECT ?u ?dir ?p ?o ?pl ?ol WHERE {{
              VALUES ?u {{ {values} }}
              {{ ?u ?p ?o BIND("out" AS ?dir) }} UNION {{ ?o ?p ?u BIND("in" AS ?dir) FILTER(?p != <{_RDF_TYPE}>) }}
              OPTIONAL {{ VALUES ?lp {{ {labels} }} ?p ?lp ?pl }}
              OPTIONAL {{ VALUES ?lo {{ {labels} }} ?o ?lo ?ol }}
            }} LIMIT {len(uris) * limit * 8 + 200}""")
        grouped: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for b in rows:
            key = (b["u"]["value"], b["dir"]["value"], b["p"]["value"], b["o"]["value"])
            entry = grouped.setdefault(key, {"iri": b["o"].get("type") == "uri", "pl": [], "ol": []})
            for name in ("pl", "ol"):
                if name in b:
                    entry[name].append((b[name]["value"], b[name].get("xml:lang", "")))
        cut: dict[str, set[str]] = {u: set() for u in uris}  # per node, the names some of whose statements were left out
        for (uri, direction, predicate, obj), entry in sorted(grouped.items(), key=lambda kv: (kv[0][0], kv[0][1] != "out", kv[0][2], kv[0][3])):
            lines, links = result[uri]
            if direction == "out" and predicate in skip:
                continue
            name = "type" if predicate == _RDF_TYPE else _pick(entry["pl"], config.language) or local_name(predicate)
            if len(lines) >= limit:
                cut[uri].add(name if direction == "out" else f"{name} of")
                continue
            value = (_pick(entry["ol"], config.language) or local_name(obj)) if entry["iri"] else obj
            if direction == "out":
                lines.append(f"{name}: {value}")
                if entry["iri"] and predicate != _RDF_TYPE:
                    links.append((obj, value))
            else:
                lines.append(f"{name} of: {value}")
                if entry["iri"]:
                    links.append((obj, value))
        for uri, (lines, _) in result.items():
            lines += _left_out(lines, cut[uri])
        return result

    def label(self, uri: str) -> str:
        row = self.index.by_uri.get(uri)
        if row is not None:
            return self.index.nodes[row].label
        labels = " ".join(_iri(str(p)) for p in self.config.label_predicates)
        try:
            _, rows = self.endpoint.select(f"SELECT ?l WHERE {{ VALUES ?p {{ {labels} }} {_iri(uri)} ?p ?l }} LIMIT 20")
        except KnowledgeGraphError:
            rows = []
        return _pick([(b["l"]["value"], b["l"].get("xml:lang", "")) for b in rows], self.config.language) or local_name(uri)

    def path(self, source: str, target: str, max_length: int = 4) -> list[PathStep] | None:
        """The shortest chain of statements between two nodes, in either direction, found by a
        breadth-first search from both ends (one SELECT per level, 500 nodes a level at most)."""
        if source == target:
            return []
        parents = {source: {source: None}, target: {target: None}}  # node -> (previous node, edge)
        frontiers = {source: [source], target: [target]}
        for _ in range(max_length):
            side = source if len(frontiers[source]) <= len(frontiers[target]) else target
            other = target if side == source else source
            next_frontier = []
            for node, neighbour, edge in self._neighbours(frontiers[side][:500]):
                if neighbour in parents[side]:
                    continue
                parents[side][neighbour] = (node, edge)
                next_frontier.append(neighbour)
                if neighbour in parents[other]:
                    steps = self._join(parents, source, target, neighbour)
                    return steps if len(steps) <= max_length else None
            frontiers[side] = next_frontier
            if not next_frontier:
                return None
        return None

    def _neighbours(self, nodes: list[str]) -> Iterator[tuple[str, str, tuple[str, str, str]]]:
        values = " ".join(_iri(u) for u in nodes)
        _, rows = self.endpoint.select(f"""
            SELECT ?a ?p ?b ?dir WHERE {{ VALUES ?a {{ {values} }}
              {{ ?a ?p ?b BIND("out" AS ?dir) }} UNION {{ ?b ?p ?a BIND("in" AS ?dir) }}
              FILTER(isIRI(?b) && ?p != <{_RDF_TYPE}>) }} LIMIT 20000""")
        for b in rows:
            a, p, other = b["a"]["value"], b["p"]["value"], b["b"]["value"]
            yield a, other, ((a, p, other) if b["dir"]["value"] == "out" else (other, p, a))

    def _join(self, parents: dict, source: str, target: str, meeting: str) -> list[PathStep]:
        edges: list[tuple[str, str, str]] = []
        node = meeting
        while parents[source][node] is not None:
            node, edge = parents[source][node]
            edges.insert(0, edge)
        node = meeting
        while parents[target][node] is not None:
            node, edge = parents[target][node]
            edges.append(edge)
        return [PathStep((s, self.label(s)), (p, self.label(p)), (o, self.label(o))) for s, p, o in edges]

    def network(self) -> Any:
        raise KnowledgeGraphError("a live graph is not loaded whole: paths are searched on the endpoint")

    def update(self, add: Iterable[tuple] = (), remove: Iterable[tuple] = ()) -> int:
        raise KnowledgeGraphError(f"the graph at '{self.endpoint.shown}' is live and read-only here: "
                                  "change it at the endpoint, then run agentmesh kg sync")

    def reload(self, paths: Iterable[str | Path], *, cache_dir: Path | None = None, kind: IndexKind = "auto") -> int:
        return self.sync()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
