"""The RDF store: files in, an Oxigraph dataset on disk out, seen through rdflib.

Oxigraph bulk-loads Brick (62k triples) in 0.2 s where rdflib's memory store takes seconds,
and its parser reports errors with a line and column, which we pass on. A store built from
files is saved under the data home, keyed by the files' content hash, so a restart opens it
without parsing again. It is built in a temporary folder and renamed into place, so an
interrupted load never leaves a half-filled store behind; once built it is opened
read-only, so several processes can share it.

The interface the rest of agentmesh uses (``graph``, ``query``, ``pairs``, ``subjects``,
``content_hash``) is small on purpose: a store over a remote SPARQL endpoint
(rdflib's ``SPARQLStore``) can provide the same.

The store also holds the remembered facts, each user's in graphs of their own
(agentmesh.memory.facts). ``query``, ``pairs``, ``subjects``, ``predicates`` and
``has_node(shared=True)`` read the shared graphs only, so the node index and every reader built
on them never see anyone's facts; the ``sparql`` tool adds the caller's own.

>>> store = KnowledgeStore.open(["examples/llm-landscape/landscape.ttl"])   # doctest: +SKIP
>>> len(store)                                                              # doctest: +SKIP
302
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
import warnings
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox

from agentmesh._files import UseMark
from oxrdflib import OxigraphStore
from rdflib import BNode, Dataset, Literal, URIRef

from agentmesh.errors import KnowledgeGraphError, KnowledgeGraphNotFoundError, KnowledgeGraphSyntaxError
from agentmesh.records import is_private_graph

__all__ = ["KnowledgeStore", "RDF_FORMATS", "rdf_files"]

# rdflib 7.6 warns from inside its own Dataset code (not ours) on every union-graph lookup
warnings.filterwarnings("ignore", message="Dataset.default_context is deprecated", category=DeprecationWarning)

RDF_FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".turtle": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".xml": ox.RdfFormat.RDF_XML,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".json": ox.RdfFormat.JSON_LD,
}
_QUAD_FORMATS = {ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG, ox.RdfFormat.JSON_LD}
STORE_FORMAT = 1


def rdf_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every RDF file named by ``paths`` (files, or folders searched recursively), checked to exist."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise KnowledgeGraphNotFoundError(
                f"knowledge graph '{path}' does not exist; pass an existing RDF file or folder with --kg"
            )
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in RDF_FORMATS)
            if not found:
                raise KnowledgeGraphError(f"folder '{path}' holds no RDF files ({', '.join(sorted(RDF_FORMATS))})")
            files += found
        elif path.suffix.lower() not in RDF_FORMATS:
            raise KnowledgeGraphError(
                f"knowledge graph file '{path}': unknown format '{path.suffix}'; use one of {', '.join(sorted(RDF_FORMATS))}"
            )
        else:
            files.append(path)
    return files


def _files_hash(files: list[Path]) -> str:
    digest = hashlib.sha256(f"store-v{STORE_FORMAT}".encode())
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _load_file(store: ox.Store, file: Path) -> None:
    fmt = RDF_FORMATS[file.suffix.lower()]
    kwargs = {} if fmt in _QUAD_FORMATS else {"to_graph": ox.DefaultGraph()}
    try:
        store.bulk_load(path=str(file), format=fmt, base_iri=file.resolve().as_uri(), **kwargs)
    except SyntaxError as exc:
        line = f" line {exc.lineno}" if exc.lineno else ""
        reason = str(exc.msg).split(" (", 1)[0]
        raise KnowledgeGraphSyntaxError(f"knowledge graph file '{file}'{line}: {reason}; fix the file or remove it from --kg") from None
    except (OSError, ValueError) as exc:
        raise KnowledgeGraphSyntaxError(f"knowledge graph file '{file}': {exc}") from None


class KnowledgeStore:
    """An Oxigraph dataset (all named graphs seen as one) with an rdflib view of it."""

    def __init__(self, store: ox.Store, *, content_hash: str, sources: list[Path] | None = None, path: Path | None = None) -> None:
        self.ox = store
        self.sources = list(sources or [])
        self.path = path
        self._hash = content_hash
        self.graph = Dataset(store=OxigraphStore(store=store), default_union=True)
        self._mark = UseMark(path) if path is not None else None  # gc leaves a store in use alone

    # -- building --------------------------------------------------------------------------
    @classmethod
    def open(cls, paths: Iterable[str | Path], *, cache_dir: Path | None = None, writable: bool = False) -> "KnowledgeStore":
        """The store of ``paths``: reused from ``cache_dir`` when the files are unchanged, else parsed.

        Without ``cache_dir`` the store lives in memory. A cached store opens read-only
        unless ``writable`` (needed for :meth:`add` and :meth:`remove`)."""
        files = rdf_files(paths)
        content_hash = _files_hash(files)
        if cache_dir is None:
            store = ox.Store()
            for file in files:
                _load_file(store, file)
            return cls(store, content_hash=content_hash, sources=files)
        folder = Path(cache_dir) / f"store-{content_hash}"
        if not _manifest_ok(folder, content_hash):
            _build(folder, files, content_hash)
        data = str(folder / "oxigraph")
        store = ox.Store(data) if writable else ox.Store.read_only(data)
        return cls(store, content_hash=content_hash, sources=files, path=folder)

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path]) -> "KnowledgeStore":
        """An in-memory store of ``paths`` (nothing written to disk)."""
        return cls.open(paths)

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ox)

    @property
    def content_hash(self) -> str:
        """The graph's version: a hash of the source files, updated by every add and remove."""
        return self._hash

    def pairs(self, predicate: URIRef) -> Iterator[tuple[str, Literal | URIRef]]:
        """(subject URI, object) for every triple with ``predicate`` and an IRI subject, fast."""
        for quad in self.ox.quads_for_pattern(None, ox.NamedNode(str(predicate)), None, None):
            if isinstance(quad.subject, ox.NamedNode) and not is_private_graph(quad.graph_name):
                obj = quad.object
                if isinstance(obj, ox.Literal):
                    lang = obj.language
                    yield quad.subject.value, Literal(obj.value, lang=lang) if lang else Literal(obj.value)
                elif isinstance(obj, ox.NamedNode):
                    yield quad.subject.value, URIRef(obj.value)

    def subjects(self) -> set[str]:
        """Every IRI that is the subject of a triple of the shared graphs."""
        return {q.subject.value for q in self.ox.quads_for_pattern(None, None, None, None)
                if isinstance(q.subject, ox.NamedNode) and not is_private_graph(q.graph_name)}

    def predicates(self) -> set[str]:
        return {q.predicate.value for q in self.ox.quads_for_pattern(None, None, None, None) if not is_private_graph(q.graph_name)}

    def has_node(self, uri: str, *, shared: bool = False) -> bool:
        """``uri`` is in a triple of the store (``shared``: of the shared graphs, not of anyone's facts)."""
        node = ox.NamedNode(uri)
        quads = chain(self.ox.quads_for_pattern(node, None, None, None), self.ox.quads_for_pattern(None, None, node, None))
        return any(not (shared and is_private_graph(q.graph_name)) for q in quads)

    def shared_graphs(self) -> list:
        """The graphs every reader may see: the default graph and each named graph that holds no one's facts."""
        return [ox.DefaultGraph(), *(g for g in self.ox.named_graphs() if not is_private_graph(g))]

    def query(self, sparql: str):
        """Run a SPARQL query over the union of the shared graphs (pyoxigraph result objects)."""
        graphs = self.shared_graphs()
        return self.ox.query(sparql, default_graph=graphs, named_graphs=graphs[1:])

    # -- changing --------------------------------------------------------------------------
    def add(self, triples: Iterable[tuple[URIRef, URIRef, object]]) -> int:
        return self._change(triples, add=True)

    def remove(self, triples: Iterable[tuple[URIRef, URIRef, object]]) -> int:
        return self._change(triples, add=False)

    def _change(self, triples: Iterable[tuple], *, add: bool) -> int:
        quads = [ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), ox.DefaultGraph()) for s, p, o in triples]
        try:
            for quad in quads:
                (self.ox.add if add else self.ox.remove)(quad)
        except (OSError, RuntimeError) as exc:
            raise KnowledgeGraphError(f"the knowledge graph is read-only here ({exc}); open it with writable=True") from None
        digest = hashlib.sha256(self._hash.encode() + (b"+" if add else b"-"))
        for quad in sorted(map(str, quads)):
            digest.update(quad.encode())
        self._hash = digest.hexdigest()[:16]
        return len(quads)


def _to_ox(term: object) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise KnowledgeGraphError(f"cannot store {term!r}: use rdflib URIRef, BNode or Literal terms")


def _manifest_ok(folder: Path, content_hash: str) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("content_hash") == content_hash and (folder / "oxigraph").is_dir()


def _build(folder: Path, files: list[Path], content_hash: str) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        started = time.perf_counter()
        store = ox.Store(str(tmp / "oxigraph"))
        for file in files:
            _load_file(store, file)
        store.flush()
        manifest = {
            "content_hash": content_hash,
            "sources": [str(f.resolve()) for f in files],
            "triples": len(store),
            "load_seconds": round(time.perf_counter() - started, 3),
            "built_at": time.time(),
        }
        del store  # release the RocksDB lock before the rename
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
