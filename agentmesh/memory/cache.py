"""A semantic cache of answers on GPTCache: our embedder, faiss, SQLite (WAL), scoped, guarded.

* Keyed on the last user message only, within a *scope*: model, system prompt, tool set and
  knowledge-graph version. A change to any of them never serves a stale answer.
* A hit needs cosine similarity above a threshold chosen from data (``bench/cache.py`` on
  STS-B: the lowest threshold with hit precision >= 0.95 on the dev split), and must pass
  guards against the known false hits of semantic caches: the two questions may not differ
  in numbers, in negation, or in the proper names they mention (``GPT-4`` vs ``GPT-4o``), and
  may not be the same words in another order ("is X bigger than Y" / "is Y bigger than X").
* Entries expire after ``ttl`` seconds; at most ``max_size`` are kept (LRU eviction).
* Lookups take a few milliseconds at 10k entries: faiss with one OpenMP thread, SQLite in WAL
  mode with ``synchronous=NORMAL`` (the defaults cost 55-70 ms).

>>> cache = SemanticCache(folder, MiniLMEmbeddings())                           # doctest: +SKIP
>>> cache.put("Who develops Mixtral?", "Mistral AI.", scope="m1")               # doctest: +SKIP
>>> cache.get("Which company makes Mixtral?", scope="m1").answer                # doctest: +SKIP
'Mistral AI.'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # faiss: one thread is faster for single queries

import numpy as np
from langchain_core.embeddings import Embeddings

from agentmesh._files import UseMark
from agentmesh.knowledge.index import embed_texts

__all__ = ["SemanticCache", "CacheHit", "cache_scope", "DEFAULT_THRESHOLD", "similar_enough", "make_cache"]

DEFAULT_THRESHOLD = 0.82
"""Chosen from data by bench/cache.py (STS-B dev, agentmesh guards on): see README."""
SEPARATOR = "\x1f"
NEGATIONS = frozenset({"not", "no", "never", "without", "none", "nothing", "cannot", "can't", "don't", "doesn't",
                       "isn't", "aren't", "wasn't", "weren't", "won't", "shouldn't", "except", "neither", "nor"})
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NAME = re.compile(r"\b(?:[A-Za-z]*\d[\w.\-]*|[A-Z]{2,}[\w\-]*|[A-Z][a-z]+[A-Z]\w*)")
_WORD = re.compile(r"[a-z0-9']+")


def cache_scope(**parts: Any) -> str:
    """A short, stable id of what an answer depends on besides the question."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _guards_pass(a: str, b: str) -> bool:
    """False when two questions differ in numbers, negation or named things, or are the same
    words in another order: a high embedding similarity cannot be trusted then."""
    if sorted(_NUMBER.findall(a)) != sorted(_NUMBER.findall(b)):
        return False
    wa, wb = _WORD.findall(a.lower()), _WORD.findall(b.lower())
    if (set(wa) & NEGATIONS) != (set(wb) & NEGATIONS):
        return False
    if {n.lower() for n in _NAME.findall(a)} != {n.lower() for n in _NAME.findall(b)}:
        return False
    if wa != wb and sorted(wa) == sorted(wb):
        return False
    return True


def similar_enough(query: str, cached: str, cosine: float, threshold: float = DEFAULT_THRESHOLD, guards: bool = True) -> bool:
    return cosine >= threshold and (not guards or _guards_pass(query, cached))


@dataclass
class CacheHit:
    answer: str
    question: str
    """The cached question that matched."""
    similarity: float
    payload: dict[str, Any]


class _Evaluation:
    """GPTCache similarity evaluation: scope, expiry, cosine and guards; returns a score in [0, 1]."""

    def __init__(self, owner: "SemanticCache") -> None:
        self.owner = owner

    def evaluation(self, src_dict: dict[str, Any], cache_dict: dict[str, Any], **_: Any) -> float:
        src_scope, _, src_question = str(src_dict["question"]).partition(SEPARATOR)
        cached_scope, _, cached_question = str(cache_dict["question"]).partition(SEPARATOR)
        if src_scope != cached_scope:
            return 0.0
        try:
            payload = json.loads(cache_dict["answer"])
        except (TypeError, ValueError):
            return 0.0
        if self.owner.ttl and time.time() - payload.get("stored_at", 0) > self.owner.ttl:
            return 0.0
        a = np.asarray(src_dict["embedding"], dtype=np.float32)
        b = np.asarray(cache_dict["embedding"], dtype=np.float32)
        cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
        if not similar_enough(src_question, cached_question, cosine, self.owner.threshold, self.owner.guards):
            return 0.0
        self.owner._last_similarity = cosine
        return cosine

    def range(self) -> tuple[float, float]:
        return 0.0, 1.0


class _Closed:
    def close(self) -> None:
        pass


class _ScopeStore:
    """One GPTCache instance (SQLite + faiss) holding the entries of one scope."""

    def __init__(self, owner: "SemanticCache", folder: Path) -> None:
        import faiss
        from gptcache import Cache, Config
        from gptcache.manager import manager_factory

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._mark = UseMark(folder)  # gc leaves a scope in use alone
        # GPTCache ignores manager_factory's max_size for its default eviction: it reads eviction_params
        self.data = manager_factory(
            "sqlite,faiss", data_dir=str(folder), vector_params={"dimension": owner.dimension},
            eviction_params={"max_size": owner.max_size, "clean_size": max(1, owner.max_size // 10), "eviction": "LRU"},
        )
        faiss.omp_set_num_threads(1)  # one thread: OpenMP start-up dominates single small searches
        with self.data.s._engine.connect() as conn:  # WAL: 3-4 ms lookups instead of 55-70 ms
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        self.cache = Cache()
        self.cache.init(
            pre_embedding_func=owner._pre_embedding,
            embedding_func=owner._embed,
            data_manager=self.data,
            similarity_evaluation=_Evaluation(owner),
            config=Config(similarity_threshold=owner.threshold),
        )

    def __len__(self) -> int:
        with self.data.s._engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT COUNT(*) FROM gptcache_question WHERE deleted = 0").scalar() or 0)

    def close(self) -> None:
        self._mark.release()
        try:
            self.data.close()
        except Exception:  # pragma: no cover - a half-built manager
            pass
        self.cache.data_manager = _Closed()  # GPTCache closes again at exit; once is enough


class SemanticCache:
    """Answers by meaning, on GPTCache, in ``folder``: one SQLite + faiss store per scope, so a
    lookup searches only answers made under the same model, prompt, tools and graph version."""

    def __init__(
        self,
        folder: str | Path,
        embeddings: Embeddings,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        ttl: float | None = 7 * 24 * 3600,
        max_size: int = 10_000,
        guards: bool = True,
        max_open_scopes: int = 4,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.embeddings = embeddings
        self.threshold, self.ttl, self.max_size, self.guards = threshold, ttl, max_size, guards
        self.max_open_scopes = max_open_scopes
        self.dimension = len(embeddings.embed_query("dimension probe"))
        self._stores: dict[str, _ScopeStore] = {}
        self._lock = threading.Lock()
        self._last_similarity = 0.0
        self._stats_file = self.folder / "stats.json"
        self.stats = self._read_stats()
        self._pending = 0
        self._closed = False

    def _store(self, scope: str) -> _ScopeStore:
        store = self._stores.pop(scope, None)
        if store is None:
            if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", scope):
                raise ValueError(f"cache scope {scope!r}: use letters, digits, '-' and '_' (see cache_scope())")
            store = _ScopeStore(self, self.folder / f"scope-{scope}")
        self._stores[scope] = store
        while len(self._stores) > self.max_open_scopes:
            oldest = next(iter(self._stores))
            self._stores.pop(oldest).close()
        return store

    # GPTCache hooks ------------------------------------------------------------------------
    @staticmethod
    def _pre_embedding(data: dict[str, Any], **_: Any) -> tuple[str, str]:
        keyed = data["prompt"]
        return keyed, keyed.partition(SEPARATOR)[2]  # store scope+question; embed the question only

    def _embed(self, text: str, **_: Any) -> np.ndarray:
        return embed_texts(self.embeddings, [text])[0]

    # API ---------------------------------------------------------------------------------------
    def get(self, question: str, scope: str) -> CacheHit | None:
        """The cached answer for ``question`` in ``scope``, or None."""
        from gptcache.adapter.api import get

        with self._lock:
            self._last_similarity = 0.0
            if scope not in self._stores and not (self.folder / f"scope-{scope}").is_dir():
                self.stats["misses"] += 1  # nothing was ever stored in this scope
                self._maybe_write_stats()
                return None
            store = self._store(scope)
            raw = get(f"{scope}{SEPARATOR}{question}", cache_obj=store.cache, top_k=1)
            similarity = self._last_similarity
            self.stats["hits" if raw is not None else "misses"] += 1
            self._maybe_write_stats()
        if raw is None:
            return None
        payload = json.loads(raw)
        return CacheHit(payload["answer"], payload.get("question", ""), round(similarity, 4), payload)

    def put(self, question: str, answer: str, scope: str, **extra: Any) -> None:
        from gptcache.adapter.api import put

        payload = {"answer": answer, "question": question, "stored_at": time.time(), **extra}
        with self._lock:
            put(f"{scope}{SEPARATOR}{question}", json.dumps(payload, default=str), cache_obj=self._store(scope).cache)
            self.stats["stores"] += 1
            self._maybe_write_stats()

    def scopes(self) -> list[str]:
        return sorted(p.name.removeprefix("scope-") for p in self.folder.glob("scope-*") if p.is_dir())

    def __len__(self) -> int:
        with self._lock:
            return sum(len(self._store(scope)) for scope in self.scopes())

    def info(self) -> dict[str, Any]:
        self._write_stats()
        lookups = self.stats["hits"] + self.stats["misses"]
        return {"entries": len(self), "scopes": len(self.scopes()), "max_size_per_scope": self.max_size,
                "threshold": self.threshold, "ttl_seconds": self.ttl, **self.stats,
                "hit_rate": round(self.stats["hits"] / lookups, 3) if lookups else None, "folder": str(self.folder)}

    def clear(self) -> None:
        """Delete every entry of every scope, and the statistics."""
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
            for path in self.folder.glob("scope-*"):
                shutil.rmtree(path, ignore_errors=True)
            self.stats = {"hits": 0, "misses": 0, "stores": 0}
            self._write_stats()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.folder.exists():
            self._write_stats()
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    def _read_stats(self) -> dict[str, int]:
        try:
            data = json.loads(self._stats_file.read_text())
            return {k: int(data.get(k, 0)) for k in ("hits", "misses", "stores")}
        except (OSError, ValueError):
            return {"hits": 0, "misses": 0, "stores": 0}

    def _maybe_write_stats(self) -> None:
        self._pending += 1
        if self._pending >= 20:  # persisted in batches: a file write per lookup would double its cost
            self._write_stats()

    def _write_stats(self) -> None:
        self._pending = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._stats_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.stats))
        tmp.replace(self._stats_file)


def make_cache(settings: Any, embeddings: Embeddings) -> "SemanticCache":
    """The cache the settings ask for: in Redis when ``cache_url`` is set (shared by every
    process that points at it), else GPTCache on SQLite + faiss under the data home."""
    options = {"threshold": settings.cache_threshold, "ttl": settings.cache_ttl, "max_size": settings.cache_max_size}
    if settings.cache_url:
        from agentmesh.memory.redis_cache import RedisSemanticCache

        return RedisSemanticCache(settings.cache_url.get_secret_value(), embeddings, **options)
    return SemanticCache(settings.data_dir("cache"), embeddings, **options)
