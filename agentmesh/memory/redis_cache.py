"""The semantic cache on a Redis server, shared by every process and machine that points at it.

Why not GPTCache's own Redis backends: they need Redis Stack modules (RediSearch for vectors,
RedisJSON for entries), which a stock Redis server does not have (Debian's redis 7.0 here has
no modules). This backend uses plain Redis structures and searches the vectors in-process;
scopes, the threshold, the guards, TTL and LRU behave as in :class:`SemanticCache`.

Layout, under ``<prefix>:<scope>:`` for each scope:

* ``e:<id>``: a hash with the question, the payload (JSON) and the embedding (float32 bytes),
  expiring after ``ttl``;
* ``ids``: a sorted set of entry ids by insertion order: what a process has not seen yet is
  fetched incrementally before each lookup (one round trip when nothing is new);
* ``lru``: a sorted set of entry ids by last use; beyond ``max_size`` the least recently used
  entries are deleted;

and ``<prefix>:scopes`` (the scopes) and ``<prefix>:stats`` (hits, misses, stores).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from typing import Any, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from agentmesh.errors import ConfigError
from agentmesh.knowledge.index import embed_texts
from agentmesh.memory.cache import (CANDIDATES, DEFAULT_THRESHOLD, MAX_ERROR, OUTCOMES_KEPT, STAT_FIELDS, CacheHit,
                                    SemanticCache, _norm_question, _raised_bar, refusal_kind)
from agentmesh.memory.verify import CacheCheck, JudgeBound, Lexicon

__all__ = ["RedisSemanticCache"]


class _Scope:
    """What this process knows of one scope: the vectors seen so far, by entry id."""

    def __init__(self, dimension: int) -> None:
        self.ids: list[int] = []
        self.questions: list[str] = []
        self.vectors = np.zeros((0, dimension), dtype=np.float32)
        self.last_id = 0

    def add(self, ids: list[int], questions: list[str], vectors: np.ndarray) -> None:
        vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)  # unit rows: cosine is a dot product
        self.ids += ids
        self.questions += questions
        self.vectors = np.vstack([self.vectors, vectors]) if len(self.vectors) else vectors
        self.last_id = max([self.last_id, *ids])

    def drop(self, entry_id: int) -> None:
        if entry_id in self.ids:
            i = self.ids.index(entry_id)
            del self.ids[i], self.questions[i]
            self.vectors = np.delete(self.vectors, i, axis=0)


class RedisSemanticCache(SemanticCache):
    """:class:`SemanticCache` with its entries in Redis (``url``, e.g. ``redis://127.0.0.1:6379/0``)."""

    def __init__(self, url: str, embeddings: Embeddings, *, threshold: float = DEFAULT_THRESHOLD,
                 ttl: float | None = 7 * 24 * 3600, max_size: int = 10_000, guards: bool = True,
                 prefix: str = "agentmesh:cache", candidates: int = CANDIDATES,
                 checks: Sequence[CacheCheck] | None = None, judge_bound: JudgeBound | None = None,
                 lexicon: Lexicon | None = None, max_error: float = MAX_ERROR) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigError("a Redis cache needs the redis package: pip install 'agentmesh[redis]'") from None
        self.url, self.prefix = url, prefix
        self._init_checks(checks, candidates, judge_bound, lexicon, max_error)
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise ConfigError(f"cache_url {url}: Redis does not answer ({exc})") from None
        self.embeddings = embeddings
        self.threshold, self.ttl, self.max_size, self.guards = threshold, ttl, max_size, guards
        self.dimension = len(embeddings.embed_query("dimension probe"))
        self._scopes: dict[str, _Scope] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.folder = None
        self._outcomes_read = 0.0
        self._pending_served: list[float] = []
        self._set_outcomes(([], []))

    # -- the error bound, shared by every process ------------------------------------------------
    def _save_outcomes(self, cosine: float, wrong: bool, served: bool) -> None:
        """Hits are sent in batches of 20 (a round trip per hit would cost a tenth of a lookup); a
        wrong one at once, with the hits before it."""
        if served:
            self._pending_served.append(cosine)
        if wrong or len(self._pending_served) >= 20:
            self._flush_outcomes([cosine] if wrong else [])

    def _flush_outcomes(self, wrong: list[float]) -> None:
        pipe = self.client.pipeline()
        for name, values in (("served", self._pending_served), ("wrong", wrong)):
            if values:
                pipe.rpush(f"{self.prefix}:{name}", *values)
                pipe.ltrim(f"{self.prefix}:{name}", -OUTCOMES_KEPT, -1)
        pipe.execute()
        self._pending_served = []

    def bound(self) -> float:
        """As :meth:`SemanticCache.bound`, from every process's outcomes (read again after 5 s)."""
        if time.monotonic() - self._outcomes_read > 5:
            pipe = self.client.pipeline()
            pipe.lrange(f"{self.prefix}:served", 0, -1)
            pipe.lrange(f"{self.prefix}:wrong", 0, -1)
            served, wrong = pipe.execute()
            self._set_outcomes(([float(c) for c in served], [float(c) for c in wrong]))
            self._outcomes_read = time.monotonic()
        return super().bound()

    # -- keys --------------------------------------------------------------------------------
    def _key(self, scope: str, *parts: Any) -> str:
        return ":".join([self.prefix, scope, *map(str, parts)])

    @property
    def stats(self) -> dict[str, int]:  # shared by every process: kept in Redis
        raw = self.client.hgetall(f"{self.prefix}:stats")
        return {k: int(raw.get(k.encode(), 0)) for k in STAT_FIELDS}

    @stats.setter
    def stats(self, value: dict[str, int]) -> None:  # SemanticCache.__init__ is not called; kept for clear()
        pass

    def _count(self, field: str) -> None:
        self.client.hincrby(f"{self.prefix}:stats", field, 1)

    # -- syncing -----------------------------------------------------------------------------
    def _sync(self, scope: str) -> _Scope:
        local = self._scopes.setdefault(scope, _Scope(self.dimension))
        new = [int(i) for i in self.client.zrangebyscore(self._key(scope, "ids"), f"({local.last_id}", "+inf")]
        if new:
            pipe = self.client.pipeline()
            for entry_id in new:
                pipe.hmget(self._key(scope, "e", entry_id), "q", "v")
            found = [(i, q.decode(), np.frombuffer(v, dtype=np.float32))
                     for i, (q, v) in zip(new, pipe.execute()) if q is not None and v is not None]
            local.last_id = max(local.last_id, *new)
            if found:
                local.add([f[0] for f in found], [f[1] for f in found], np.stack([f[2] for f in found]))
        return local

    # -- API ---------------------------------------------------------------------------------
    def get(self, question: str, scope: str, *, checks: Sequence[CacheCheck] = ()) -> CacheHit | None:
        with self._lock:
            local = self._sync(scope)
            if not local.ids:
                self.last_refusals = []
                self._count("misses")
                return None
            query = embed_texts(self.embeddings, [question])[0].astype(np.float32)
            # einsum, not "@": numpy's matrix product runs on BLAS threads, which on a busy machine wait for
            # each other (12 ms at 10k entries on two loaded cores, against 0.9 ms in one thread)
            cosines = np.einsum("ij,j->i", local.vectors, query / (np.linalg.norm(query) + 1e-12))
            k = min(self.candidates, len(cosines))
            top = np.argpartition(-cosines, k - 1)[:k]
            order = top[np.argsort(-cosines[top])]
            candidates = [(local.ids[i], float(cosines[i]), local.questions[i]) for i in order]
            negatives, payloads = {}, {}
            above = [c[0] for c in candidates if c[1] >= self.threshold]
            if above:  # one round trip, only when a hit is possible: the raised bars and the payloads it may serve
                pipe = self.client.pipeline(transaction=False)
                pipe.hgetall(self._key(scope, "neg"))
                for entry_id in above:
                    pipe.hget(self._key(scope, "e", entry_id), "p")
                raw_neg, *raw_payloads = pipe.execute()
                negatives = {k.decode(): float(v) for k, v in raw_neg.items()}
                payloads = dict(zip(above, raw_payloads))

            def load(entry_id: int) -> dict[str, Any] | None:
                raw = payloads[entry_id] if entry_id in payloads else self.client.hget(self._key(scope, "e", entry_id), "p")
                if raw is None:  # expired, evicted or cleared elsewhere
                    local.drop(entry_id)
                    return None
                return json.loads(raw)

            chosen = self._choose(question, candidates, negatives, checks, load, functools.cache(
                lambda bound: bound.trusted_from(self._verdicts(scope))))  # read once per lookup, if a judge is asked
            for cached, cosine in self.last_judged:
                self._raise_bar(scope, cached, cosine)
            if self.last_verdicts:  # shared by every process, the newest kept
                pipe = self.client.pipeline()
                pipe.rpush(self._key(scope, "verdicts"), *(f"{c}:{int(same)}" for c, same in self.last_verdicts))
                pipe.ltrim(self._key(scope, "verdicts"), -self.judge_bound.keep, -1)
                pipe.execute()
            if chosen is None:
                self._count("refused" if self.last_refusals else "misses")
                if self.last_refusals:
                    self._count(f"refused_{refusal_kind(self.last_refusals[0][1])}")
                return None
            entry_id, cosine, payload = chosen
            pipe = self.client.pipeline(transaction=False)  # one round trip for both
            pipe.zadd(self._key(scope, "lru"), {entry_id: time.time()})
            pipe.hincrby(f"{self.prefix}:stats", "hits", 1)
            pipe.execute()
            self._record_outcome(cosine, wrong=False)
        return CacheHit(payload["answer"], payload.get("question", ""), round(cosine, 4), payload,
                        scope=scope, entry_id=entry_id, query=question)

    def mark_wrong(self, hit: CacheHit) -> float:
        """As :meth:`SemanticCache.mark_wrong`; the raised bar is shared by every process."""
        entry_id = int(hit.entry_id)
        with self._lock:
            pipe = self.client.pipeline()
            pipe.delete(self._key(hit.scope, "e", entry_id))
            pipe.zrem(self._key(hit.scope, "ids"), entry_id)
            pipe.zrem(self._key(hit.scope, "lru"), entry_id)
            pipe.execute()
            need = self._raise_bar(hit.scope, hit.question, hit.similarity)
            if hit.scope in self._scopes:
                self._scopes[hit.scope].drop(entry_id)
            self._record_outcome(hit.similarity, wrong=True, served=False)
            self._count("marked_wrong")
        return need

    def _verdicts(self, scope: str) -> list[tuple[float, bool]]:
        raw = self.client.lrange(self._key(scope, "verdicts"), 0, -1)
        return [(float(c), same == b"1") for c, _, same in (item.partition(b":") for item in raw)]

    def _raise_bar(self, scope: str, cached_question: str, cosine: float) -> float:
        """The cosine a question now needs to be served ``cached_question``'s entry: above
        ``cosine``, and never lower than before (shared by every process)."""
        key = _norm_question(cached_question)
        old = self.client.hget(self._key(scope, "neg"), key)
        need = _raised_bar(float(old or 0.0), cosine)
        self.client.hset(self._key(scope, "neg"), key, need)
        return need

    def put(self, question: str, answer: str, scope: str, **extra: Any) -> None:
        self._read_once(question)
        payload = {"answer": answer, "question": question, "stored_at": time.time(), **extra}
        vector = embed_texts(self.embeddings, [question])[0].astype(np.float32)
        with self._lock:
            entry_id = int(self.client.incr(self._key(scope, "seq")))
            key = self._key(scope, "e", entry_id)
            pipe = self.client.pipeline()
            pipe.hset(key, mapping={"q": question, "p": json.dumps(payload, default=str), "v": vector.tobytes()})
            if self.ttl:
                pipe.pexpire(key, int(self.ttl * 1000))
            pipe.zadd(self._key(scope, "ids"), {entry_id: entry_id})
            pipe.zadd(self._key(scope, "lru"), {entry_id: time.time()})
            pipe.sadd(f"{self.prefix}:scopes", scope)
            pipe.hincrby(f"{self.prefix}:stats", "stores", 1)
            pipe.execute()
            self._evict(scope)

    def _evict(self, scope: str) -> None:
        excess = int(self.client.zcard(self._key(scope, "lru"))) - self.max_size
        if excess <= 0:
            return
        for raw_id, _ in self.client.zpopmin(self._key(scope, "lru"), excess):
            entry_id = int(raw_id)
            self.client.delete(self._key(scope, "e", entry_id))
            self.client.zrem(self._key(scope, "ids"), entry_id)
            if scope in self._scopes:
                self._scopes[scope].drop(entry_id)

    def scopes(self) -> list[str]:
        return sorted(s.decode() for s in self.client.smembers(f"{self.prefix}:scopes"))

    def __len__(self) -> int:
        total = 0
        for scope in self.scopes():
            ids = self.client.zrange(self._key(scope, "lru"), 0, -1)
            if ids:
                pipe = self.client.pipeline()
                for entry_id in ids:
                    pipe.exists(self._key(scope, "e", int(entry_id)))
                total += sum(pipe.execute())
        return total

    def info(self) -> dict[str, Any]:
        stats = self.stats
        lookups = stats["hits"] + stats["misses"] + stats["refused"]
        return {"entries": len(self), "scopes": len(self.scopes()), "max_size_per_scope": self.max_size,
                "threshold": self.threshold, "ttl_seconds": self.ttl, **stats,
                "hit_rate": round(stats["hits"] / lookups, 3) if lookups else None, **self._bound_info(),
                "redis": self._safe_url()}

    def _safe_url(self) -> str:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))  # no password in output

    def clear(self) -> None:
        with self._lock:
            keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
            for start in range(0, len(keys), 500):
                self.client.delete(*keys[start:start + 500])
            self._scopes.clear()
            self._pending_served = []
            self._set_outcomes(([], []))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._pending_served:
                try:
                    self._flush_outcomes([])
                except Exception:  # noqa: BLE001 - a server gone at exit loses a few hits' count, no more
                    pass
            self.client.close()
