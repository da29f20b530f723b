"""A faiss index of node-text embeddings, saved beside a manifest that says what built it.

A saved index is reused only when its manifest matches the graph's content hash, the
embedding model and the description settings; otherwise it is rebuilt. Writes go to a
temporary folder that is renamed into place, so a crash never leaves a half-written index.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np
from langchain_core.embeddings import Embeddings

from agentmesh.knowledge.describe import NodeText
from agentmesh.models.embeddings import embedding_model_id

__all__ = ["NodeIndex", "IndexManifest", "embed_texts"]


@dataclass(frozen=True)
class IndexManifest:
    embedding_model: str
    dimension: int
    graph_hash: str
    config_key: str
    count: int
    built_at: float


def embed_texts(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    """Embed and L2-normalise ``texts`` as float32 rows, using a fast path where the embedder has one."""
    if hasattr(embeddings, "embed") and callable(embeddings.embed):
        vectors = np.asarray(embeddings.embed(texts), dtype=np.float32)
    else:
        vectors = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    if vectors.ndim != 2:
        vectors = vectors.reshape(len(texts), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


class NodeIndex:
    """Nodes (URI, label, text) and their embeddings in an exact inner-product faiss index."""

    def __init__(self, nodes: list[NodeText], index: faiss.Index, manifest: IndexManifest) -> None:
        self.nodes = nodes
        self.index = index
        self.manifest = manifest
        self.by_uri = {n.uri: i for i, n in enumerate(nodes)}

    @classmethod
    def build(cls, nodes: list[NodeText], embeddings: Embeddings, *, graph_hash: str, config_key: str) -> "NodeIndex":
        vectors = embed_texts(embeddings, [n.text for n in nodes]) if nodes else np.zeros((0, 1), np.float32)
        dim = vectors.shape[1] if nodes else len(embeddings.embed_query("dimension probe"))
        index = faiss.IndexFlatIP(dim)
        if nodes:
            index.add(vectors)
        manifest = IndexManifest(embedding_model_id(embeddings), dim, graph_hash, config_key, len(nodes), time.time())
        return cls(nodes, index, manifest)

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.nodes or k <= 0:
            return []
        scores, ids = self.index.search(query_vector.reshape(1, -1).astype(np.float32), min(k, len(self.nodes)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def save(self, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        try:
            faiss.write_index(self.index, str(tmp / "index.faiss"))
            (tmp / "nodes.json").write_text(json.dumps([[n.uri, n.label, n.description] for n in self.nodes]))
            (tmp / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=2))
            if folder.exists():
                old = folder.with_name(folder.name + f".old-{os.getpid()}")
                folder.rename(old)
                tmp.rename(folder)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, folder: Path, *, embedding_model: str, graph_hash: str, config_key: str) -> "NodeIndex | None":
        """The saved index, or None when it is missing, stale or built by another model."""
        try:
            manifest = IndexManifest(**json.loads((folder / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if (manifest.embedding_model, manifest.graph_hash, manifest.config_key) != (embedding_model, graph_hash, config_key):
            return None
        try:
            index = faiss.read_index(str(folder / "index.faiss"))
            rows = json.loads((folder / "nodes.json").read_text())
        except (OSError, ValueError, RuntimeError):
            return None
        nodes = [NodeText(uri, label, description) for uri, label, description in rows]
        if index.ntotal != len(nodes) or len(nodes) != manifest.count:
            return None
        return cls(nodes, index, manifest)
