"""Retrieval quality on schema.org 30.0 + Brick 1.5: plain description embeddings vs agentmesh's hybrid.

124 questions written as a user would ask them (bench/data/kg_questions.json), each with the
node that answers it. Both methods use the same node texts, the same embedder (MiniLM) and the
same faiss index; (a) plain ranks by cosine only, (b) hybrid adds agentmesh's label scores.
Prints recall@1 and recall@10 of both. Target: hybrid at least 5 points above plain at recall@1.

    python bench/kg_retrieval.py [--data ../shared/data/kg]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ["schemaorg-current-https-30.0.ttl", "Brick-1.5.ttl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "kg")
    args = parser.parse_args()
    files = [args.data / name for name in FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"skipped: evaluation data not found ({', '.join(missing)}); pass --data")
        return

    from agentmesh.knowledge import KnowledgeBase
    from agentmesh.knowledge.index import embed_texts
    from agentmesh.models.embeddings import MiniLMEmbeddings

    spec = json.loads((HERE / "data" / "kg_questions.json").read_text())
    prefixes = spec["prefixes"]
    questions = [(q, prefixes[a.split(":")[0]] + a.split(":", 1)[1]) for q, a in spec["questions"]]

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase.open(files, MiniLMEmbeddings(), cache_dir=Path(tmp))
        print(f"graph: {len(kb.store):,} triples, {len(kb.index.nodes):,} described nodes, "
              f"{kb.skipped:,} skipped; indexed in {time.perf_counter() - started:.1f}s")
        unknown = [a for _, a in questions if a not in kb.index.by_uri]
        if unknown:
            print(f"error: answers that are not described nodes: {unknown}", file=sys.stderr)
            sys.exit(1)

        hits = {"plain": [0, 0], "hybrid": [0, 0]}
        by_source: dict[str, dict[str, int]] = {}
        for question, answer in questions:
            vector = embed_texts(kb.embeddings, [question])[0]
            plain = [kb.index.nodes[i].uri for i, _ in kb.index.search(vector, 10)]
            hybrid = [kb.index.nodes[i].uri for i, _ in kb.rank(question, 10)]
            source = "schema.org" if answer.startswith("https://schema.org/") else "Brick"
            row = by_source.setdefault(source, {"n": 0, "plain": 0, "hybrid": 0})
            row["n"] += 1
            for name, ranked in (("plain", plain), ("hybrid", hybrid)):
                hits[name][0] += ranked[:1] == [answer]
                hits[name][1] += answer in ranked
                row[name] += ranked[:1] == [answer]

    n = len(questions)
    counts = ", ".join(f"{source}: {row['n']}" for source, row in by_source.items())
    print(f"\n{n} questions ({counts})")
    print(f"{'method':<34}{'recall@1':>10}{'recall@10':>11}")
    for name, label in (("plain", "(a) plain: description embeddings"), ("hybrid", "(b) agentmesh hybrid")):
        print(f"{label:<34}{hits[name][0] / n:>10.3f}{hits[name][1] / n:>11.3f}")
    gain = (hits["hybrid"][0] - hits["plain"][0]) / n * 100
    print(f"hybrid - plain at recall@1: {gain:+.1f} points (target: >= +5)")
    for source, row in by_source.items():
        print(f"  {source:<11} recall@1 plain {row['plain'] / row['n']:.3f}  hybrid {row['hybrid'] / row['n']:.3f}")


if __name__ == "__main__":
    main()
