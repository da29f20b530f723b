"""A faiss index of node-text embeddings, saved beside a manifest that says what built it.

* exact inner-product search (``IndexFlatIP``) for small graphs, HNSW above
  ``hnsw_threshold`` nodes; ``kind`` overrides the choice;
* the manifest records the embedding model, dimension, the graph's content hash, the
  description settings, the index kind and the build time; an index whose model or
  dimension differ is *foreign* and is never searched with the wrong embedder;
* vectors are saved too, so a rebuild after a change re-embeds only the nodes whose text
  changed (:meth:`NodeIndex.build` with ``previous``);
* writes go to a temporary folder that is renamed into place: an interrupted build leaves
  the previous index intact.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Literal

import faiss
import numpy as np
from langchain_core.embeddings import Embeddings

from agentmesh._files import replacing_dir
from agentmesh.knowledge.describe import NodeText
from agentmesh.models.embeddings import embed_array, embedding_model_id

__all__ = ["NodeIndex", "IndexManifest", "IndexKind", "embed_texts", "HNSW_THRESHOLD"]

IndexKind = Literal["auto", "flat", "hnsw"]
HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
EMBED_BATCH = 256
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IndexManifest:
    embedding_model: str
    dimension: int
    graph_hash: str
    config_key: str
    kind: str
    count: int
    embedded: int
    """How many texts this build embedded (the rest were reused from the previous index)."""
    build_seconds: float
    built_at: float
    skipped: int = 0
    """Nodes left out for want of a label or description."""


def embed_texts(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    """Embed and L2-normalise ``texts`` as float32 rows, using a fast path where the embedder has one."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = embed_array(embeddings, texts).reshape(len(texts), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def _faiss_index(vectors: np.ndarray, kind: str) -> faiss.Index:
    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


class NodeIndex:
    """Nodes (URI, label, description), their vectors, and a faiss index over the vectors."""

    def __init__(self, nodes: list[NodeText], vectors: np.ndarray, manifest: IndexManifest, index: faiss.Index | None = None) -> None:
        self.nodes = nodes
        self.vectors = vectors
        self.manifest = manifest
        self.index = index if index is not None else _faiss_index(vectors, manifest.kind)
        self.by_uri = {n.uri: i for i, n in enumerate(nodes)}

    @classmethod
    def build(
        cls,
        nodes: list[NodeText],
        embeddings: Embeddings,
        *,
        graph_hash: str,
        config_key: str,
        kind: IndexKind = "auto",
        hnsw_threshold: int = HNSW_THRESHOLD,
        previous: "NodeIndex | None" = None,
        progress: Progress | None = None,
        skipped: int = 0,
        checkpoint: Path | None = None,
    ) -> "NodeIndex":
        """Index ``nodes``; vectors of nodes whose text is unchanged in ``previous`` are reused.

        ``checkpoint``: a folder where each embedded chunk is saved as it is done, named by its
        texts, so a build that is killed and started again embeds only the chunks it lacked."""
        started = time.perf_counter()
        model = embedding_model_id(embeddings)
        reusable = previous is not None and previous.manifest.embedding_model == model
        old = {n.uri: i for i, n in enumerate(previous.nodes)} if reusable else {}
        todo = [i for i, n in enumerate(nodes) if n.uri not in old or previous.nodes[old[n.uri]].text != n.text]
        todo.sort(key=lambda i: len(nodes[i].text))  # similar lengths batch with less padding
        dim = previous.manifest.dimension if reusable else 0
        fresh = np.zeros((0, dim), np.float32)
        done = 0
        chunks = []
        step = max(EMBED_BATCH, getattr(embeddings, "preferred_chunk", None) or 0)  # a concurrent embedder wants more at once
        if checkpoint is not None:
            checkpoint.mkdir(parents=True, exist_ok=True)
        for start in range(0, len(todo), step):
            batch = [nodes[i].text for i in todo[start : start + step]]
            saved = checkpoint / f"chunk-{hashlib.sha256(chr(0).join([model, *batch]).encode()).hexdigest()[:24]}.npy" \
                if checkpoint is not None else None
            if saved is not None and saved.is_file():
                chunks.append(np.load(saved))
            else:
                chunks.append(embed_texts(embeddings, batch))
                if saved is not None:
                    tmp = saved.with_name(f".{saved.stem}.tmp.npy")
                    np.save(tmp, chunks[-1])
                    tmp.replace(saved)  # a chunk file is whole or absent
            done += len(batch)
            if progress:
                progress(done, len(todo))
        if chunks:
            fresh = np.vstack(chunks)
        if not dim:
            dim = fresh.shape[1] if len(fresh) else len(embeddings.embed_query("dimension probe"))
        vectors = np.zeros((len(nodes), dim), np.float32)
        row = {i: r for r, i in enumerate(todo)}
        for i, node in enumerate(nodes):
            vectors[i] = fresh[row[i]] if i in row else previous.vectors[old[node.uri]]
        chosen = kind if kind != "auto" else ("hnsw" if len(nodes) >= hnsw_threshold else "flat")
        index = _faiss_index(vectors, chosen)
        manifest = IndexManifest(
            model, dim, graph_hash, config_key, chosen, len(nodes), len(todo),
            round(time.perf_counter() - started, 3), time.time(), skipped,
        )
        return cls(nodes, vectors, manifest, index)

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.nodes or k <= 0:
            return []
        scores, ids = self.index.search(query_vector.reshape(1, -1).astype(np.float32), min(k, len(self.nodes)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, folder: Path) -> None:
        """Write atomically: a temporary folder renamed over ``folder``."""
        with replacing_dir(folder) as tmp:
            faiss.write_index(self.index, str(tmp / "index.faiss"))
            np.save(tmp / "vectors.npy", self.vectors)
            (tmp / "nodes.json").write_text(json.dumps([[n.uri, n.label, n.description] for n in self.nodes]))
            (tmp / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=2))

    @staticmethod
    def read_manifest(folder: Path) -> IndexManifest | None:
        try:
            return IndexManifest(**json.loads((folder / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    @classmethod
    def load(cls, folder: Path) -> "NodeIndex | None":
        """The index saved in ``folder``, or None if it is missing or damaged."""
        manifest = cls.read_manifest(folder)
        if manifest is None:
            return None
        try:
            index = faiss.read_index(str(folder / "index.faiss"))
            vectors = np.load(folder / "vectors.npy")
            rows = json.loads((folder / "nodes.json").read_text())
        except (OSError, ValueError, RuntimeError):
            return None
        nodes = [NodeText(uri, label, description) for uri, label, description in rows]
        if not (index.ntotal == len(nodes) == len(vectors) == manifest.count):
            return None
        return cls(nodes, vectors, manifest, index)

    def stale_reason(self, *, embedding_model: str, dimension: int | None, graph_hash: str, config_key: str) -> str | None:
        """Why this index cannot serve the given graph and embedder, or None if it can."""
        m = self.manifest
        if m.embedding_model != embedding_model or (dimension is not None and m.dimension != dimension):
            return f"foreign: built with {m.embedding_model} ({m.dimension} dims), not {embedding_model}"
        if m.config_key != config_key:
            return "stale: the description settings changed"
        if m.graph_hash != graph_hash:
            return f"stale: built for graph {m.graph_hash}, the graph is now {graph_hash}"
        return None
