"""Semantic cache quality and speed: agentmesh's cache vs GPTCache's default evaluation, same embedder.

Pairs (../shared/data/cache): STS-B pairs scored >= 4.5 must hit, pairs scored <= 2 must not;
the 999 GPTCache paraphrase pairs must hit. The threshold is chosen on STS-B *dev* (the lowest
with hit precision >= 0.95) and reported on STS-B *test* and the GPTCache pairs. GPTCache's
default is SearchDistanceEvaluation at similarity_threshold 0.8, run on the same MiniLM vectors.
Lookup latency p50/p95 at 10k entries, for hits and misses, excludes the embedding (vectors are
precomputed). Targets: precision >= 0.95 at recall >= 0.5; p50 <= 5 ms.

    python bench/cache.py [--data ../shared/data/cache]
"""

from __future__ import annotations

import argparse
import csv
import os
import json
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def sts_pairs(path: Path) -> list[tuple[str, str, bool]]:
    pairs = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 7:
                continue
            score = float(row[4])
            if score >= 4.5 or score <= 2.0:
                pairs.append((row[5], row[6], score >= 4.5))
    return pairs


def scores(pairs, vectors):
    return [float(vectors[a] @ vectors[b]) for a, b, _ in pairs]


def precision_recall(decisions: list[bool], labels: list[bool]) -> tuple[float, float, int]:
    tp = sum(d and l for d, l in zip(decisions, labels))
    fp = sum(d and not l for d, l in zip(decisions, labels))
    positives = sum(labels)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / positives if positives else 0.0), fp


class Precomputed:
    """An embedder that looks vectors up: lookups are timed without the embedding."""

    model_id = "precomputed-minilm"

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def embed(self, texts):
        return np.vstack([self.vectors[t] for t in texts])

    def embed_query(self, text):
        return self.vectors.get(text, next(iter(self.vectors.values()))).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "cache")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis for the shared-cache backend")
    args = parser.parse_args()
    dev_file, test_file = args.data / "stsbenchmark" / "sts-dev.csv", args.data / "stsbenchmark" / "sts-test.csv"
    gpt_file = args.data / "gptcache_mock_pairs.json"
    if not all(f.is_file() for f in (dev_file, test_file, gpt_file)):
        print(f"skipped: cache evaluation data not found under {args.data} (pass --data)")
        return

    from gptcache.similarity_evaluation import SearchDistanceEvaluation

    from agentmesh.memory.cache import SemanticCache, similar_enough
    from agentmesh.models.embeddings import MiniLMEmbeddings

    dev, test = sts_pairs(dev_file), sts_pairs(test_file)
    gpt = [(p["origin"], p["similar"], True) for p in json.loads(gpt_file.read_text())]
    texts = sorted({t for pairs in (dev, test, gpt) for a, b, _ in pairs for t in (a, b)})
    started = time.perf_counter()
    matrix = MiniLMEmbeddings().embed(texts)
    vectors = dict(zip(texts, matrix))
    print(f"{len(texts):,} sentences embedded in {time.perf_counter() - started:.1f}s; "
          f"dev {len(dev)} pairs ({sum(l for *_, l in dev)} must hit), test {len(test)} ({sum(l for *_, l in test)} must hit), "
          f"GPTCache pairs {len(gpt)} (all must hit)")

    def ours(pairs, threshold):
        return [similar_enough(a, b, s, threshold) for (a, b, _), s in zip(pairs, scores(pairs, vectors))]

    gptcache_eval = SearchDistanceEvaluation()
    low, high = gptcache_eval.range()

    def gptcache_default(pairs, threshold=0.8):  # squared L2 of unit vectors, as faiss returns it
        cut = (high - low) * threshold + low
        return [gptcache_eval.evaluation({}, {"search_result": (2 - 2 * s, None)}) >= cut for s in scores(pairs, vectors)]

    labels = lambda pairs: [l for *_, l in pairs]  # noqa: E731
    chosen = None
    for t in np.arange(0.70, 0.99, 0.01):
        p, r, _ = precision_recall(ours(dev, t), labels(dev))
        if p >= 0.95:
            chosen = round(float(t), 2)
            break
    print(f"\nthreshold chosen on STS-B dev: {chosen} (lowest with hit precision >= 0.95, guards on)")

    print(f"\n{'method':<44}{'set':<16}{'precision':>10}{'recall':>8}{'false hits':>12}")
    rows = [
        ("agentmesh (cosine + guards) @ %.2f" % chosen, lambda ps: ours(ps, chosen)),
        ("agentmesh cosine only @ %.2f" % chosen, lambda ps: [s >= chosen for s in scores(ps, vectors)]),
        ("GPTCache default (SearchDistance @ 0.8)", gptcache_default),
    ]
    for name, decide in rows:
        for set_name, pairs in (("STS-B test", test), ("GPTCache pairs", gpt)):
            p, r, fp = precision_recall(decide(pairs), labels(pairs))
            print(f"{name:<44}{set_name:<16}{p:>10.3f}{r:>8.3f}{fp:>12}")

    # -- latency at 10k entries -------------------------------------------------------------------
    rng = np.random.default_rng(7)
    stored = [a for a, _, _ in dev + test + gpt]
    stored = list(dict.fromkeys(stored))
    filler_n = max(0, args.entries - len(stored))
    for i in range(filler_n):  # synthetic entries to reach the size (random unit vectors)
        text = f"filler question number {i}"
        v = rng.normal(size=matrix.shape[1]).astype(np.float32)
        vectors[text] = v / np.linalg.norm(v)
        stored.append(text)
    stored = stored[: args.entries]
    hit_q = [b for a, b, l in test if l and a in set(stored)][:300]
    miss_q = []
    for i in range(300):  # questions unlike anything stored: random directions
        text = f"unseen question {i}"
        v = rng.normal(size=matrix.shape[1]).astype(np.float32)
        vectors[text] = v / np.linalg.norm(v)
        miss_q.append(text)

    def measure(name, cache) -> None:
        started = time.perf_counter()
        for q in stored:
            cache.put(q, "cached answer", scope="bench")
        print(f"\n{name}: filled {len(cache):,} entries in {time.perf_counter() - started:.1f}s")

        def timed(questions):
            times, hits = [], 0
            for q in questions:
                t0 = time.perf_counter()
                hits += cache.get(q, "bench") is not None
                times.append(time.perf_counter() - t0)
            return times, hits

        timed(hit_q[:20])  # warm-up (the Redis backend reads the scope's vectors here)
        hit_t, hits = timed(hit_q)
        miss_t, false_hits = timed(miss_q)
        ms = lambda v, q: float(np.percentile(v, q)) * 1e3  # noqa: E731
        print(f"{name}: lookup at {len(cache):,} entries (embedding excluded): "
              f"hits p50 {ms(hit_t, 50):.2f} ms p95 {ms(hit_t, 95):.2f} ms ({hits}/{len(hit_q)} hit); "
              f"misses p50 {ms(miss_t, 50):.2f} ms p95 {ms(miss_t, 95):.2f} ms ({false_hits}/{len(miss_q)} hit, should be 0)")

    with tempfile.TemporaryDirectory() as tmp:
        cache = SemanticCache(Path(tmp) / "cache", Precomputed(vectors), threshold=chosen, max_size=args.entries + 100)
        measure("GPTCache on SQLite + faiss", cache)
        cache.close()
    try:
        from agentmesh.memory.redis_cache import RedisSemanticCache

        redis_cache = RedisSemanticCache(args.redis, Precomputed(vectors), threshold=chosen, max_size=args.entries + 100,
                                         prefix=f"agentmesh-bench-{os.getpid()}")
    except Exception as exc:  # no Redis here: say so, the rest stands
        print(f"\nRedis backend not measured: {exc}")
        return
    try:
        measure(f"Redis ({args.redis})", redis_cache)
    finally:
        redis_cache.clear()
        redis_cache.close()

if __name__ == "__main__":
    main()
