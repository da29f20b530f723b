"""The RDF store: files in, an rdflib graph out, on Oxigraph for speed.

Oxigraph (through oxrdflib) parses Turtle about 15x faster than rdflib's memory store and
reports syntax errors with a line and column, which we pass on to the user.

>>> from agentmesh.knowledge import KnowledgeStore
>>> store = KnowledgeStore.from_paths(["examples/llm-landscape/landscape.ttl"])   # doctest: +SKIP
>>> len(store)                                                                    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Iterable

from rdflib import Dataset, Graph

from agentmesh.errors import KnowledgeGraphError, KnowledgeGraphNotFoundError, KnowledgeGraphSyntaxError

__all__ = ["KnowledgeStore", "RDF_FORMATS"]

# rdflib 7.6 warns from inside its own Dataset code (not ours) on every union-graph lookup
warnings.filterwarnings("ignore", message="Dataset.default_context is deprecated", category=DeprecationWarning)

# file suffix -> (Oxigraph parser, rdflib parser)
RDF_FORMATS: dict[str, tuple[str, str]] = {
    ".ttl": ("ox-turtle", "turtle"),
    ".turtle": ("ox-turtle", "turtle"),
    ".nt": ("ox-ntriples", "nt"),
    ".nq": ("ox-nquads", "nquads"),
    ".trig": ("ox-trig", "trig"),
    ".rdf": ("ox-xml", "xml"),
    ".owl": ("ox-xml", "xml"),
    ".xml": ("ox-xml", "xml"),
    ".jsonld": ("ox-json-ld", "json-ld"),
    ".json": ("ox-json-ld", "json-ld"),
}


class KnowledgeStore:
    """An rdflib graph (union of all named graphs) with the files it was loaded from."""

    def __init__(self, graph: Graph | None = None) -> None:
        if graph is None:
            graph = Dataset(store="Oxigraph", default_union=True)
        self.graph = graph
        self.sources: list[Path] = []
        self._hash = hashlib.sha256()

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path]) -> "KnowledgeStore":
        store = cls()
        for path in paths:
            store.load(path)
        return store

    def __len__(self) -> int:
        return len(self.graph)

    @property
    def content_hash(self) -> str:
        """A hash of every loaded file's bytes, in load order: the graph's version."""
        return self._hash.hexdigest()[:16]

    def load(self, path: str | Path) -> int:
        """Load a file, or every RDF file under a folder. Returns the number of triples added."""
        path = Path(path)
        if not path.exists():
            raise KnowledgeGraphNotFoundError(
                f"knowledge graph '{path}' does not exist; pass an existing RDF file or folder with --kg"
            )
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in RDF_FORMATS) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise KnowledgeGraphError(f"folder '{path}' holds no RDF files ({', '.join(sorted(RDF_FORMATS))})")
        before = len(self.graph)
        for file in files:
            self._load_file(file)
        return len(self.graph) - before

    def _load_file(self, file: Path) -> None:
        formats = RDF_FORMATS.get(file.suffix.lower())
        if formats is None:
            raise KnowledgeGraphError(
                f"knowledge graph file '{file}': unknown format '{file.suffix}'; use one of {', '.join(sorted(RDF_FORMATS))}"
            )
        data = file.read_bytes()
        ox_format, _ = formats
        try:
            self.graph.parse(data=data, format=ox_format, publicID=file.resolve().as_uri())
        except SyntaxError as exc:
            line = f" line {exc.lineno}" if exc.lineno else ""
            raise KnowledgeGraphSyntaxError(
                f"knowledge graph file '{file}'{line}: {exc.msg}; fix the file or remove it from --kg"
            ) from None
        except Exception as exc:  # rdflib/oxigraph raise a variety of errors for bad input
            raise KnowledgeGraphSyntaxError(f"knowledge graph file '{file}': {exc}") from None
        self._hash.update(file.name.encode() + b"\0" + data)
        self.sources.append(file)
