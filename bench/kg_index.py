"""Node index build and query speed against the raw embedder and raw faiss; RDF load time.

For schema.org 30.0, Brick 1.5 (../shared/data/kg) and a generated graph (100k nodes by default):
* build throughput: agentmesh's NodeIndex.build (batching, faiss, manifest) vs the raw embedder
  alone on the same texts, as a ratio (target >= 0.9);
* query latency p50/p95: KnowledgeBase.rank (query embedding + faiss + hybrid scoring) vs the
  embedder plus a raw faiss search of the same index, as a ratio (target <= 1.2); retrieval with
  facts is shown too;
* load time: rdflib's memory store vs Oxigraph (what agentmesh uses), as a ratio.

    python bench/kg_index.py [--data ../shared/data/kg] [--nodes 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORDS = (
    "air water pump valve fan coil sensor meter chiller boiler tower damper filter heater cooler zone room floor "
    "building campus panel breaker relay switch lamp light camera door lock badge reader alarm smoke fire sprinkler "
    "pressure flow temperature humidity level speed power energy voltage current frequency status command setpoint "
    "supply return exhaust outside mixed discharge hot cold chilled condenser steam gas oil electric solar battery "
    "inverter charger vehicle elevator escalator roof wall window shade blind glass kitchen office lab server rack "
    "network router gateway controller schedule occupancy comfort quality carbon oxygen noise vibration leak drain"
).split()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def generated_graph(path: Path, n: int, seed: int = 11) -> list[str]:
    """A Turtle graph of ``n`` described nodes with links; returns sample questions."""
    rng = random.Random(seed)
    lines = ["@prefix ex: <http://example.org/gen/> .", "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
             "@prefix dcterms: <http://purl.org/dc/terms/> ."]
    questions = []
    for i in range(n):
        words = rng.sample(WORDS, 3)
        label = f"{words[0].title()} {words[1].title()} {i}"
        description = " ".join(rng.choices(WORDS, k=12))
        lines.append(f'ex:n{i} rdfs:label "{label}" ; dcterms:description "A {words[2]} unit: {description}." ; '
                     f"ex:feeds ex:n{rng.randrange(n)} .")
        if i % max(1, n // 200) == 0:
            questions.append(f"which {words[2]} unit is {words[0]} {words[1]}?")
    path.write_text("\n".join(lines) + "\n")
    return questions


def bench_graph(name: str, files: list[Path], questions: list[str], embeddings, cache: Path) -> None:
    import faiss  # noqa: F401  (imported by the index module anyway)

    from agentmesh.knowledge import KnowledgeBase, KnowledgeStore
    from agentmesh.knowledge.describe import DescriptionConfig, describe_nodes
    from agentmesh.knowledge.index import NodeIndex, embed_texts

    store = KnowledgeStore.open(files)
    nodes, skipped = describe_nodes(store)
    texts = [n.text for n in nodes]
    print(f"\n== {name}: {len(store):,} triples, {len(nodes):,} described nodes, {skipped:,} skipped")

    started = time.perf_counter()
    embeddings.embed(texts)
    raw = time.perf_counter() - started
    started = time.perf_counter()
    index = NodeIndex.build(nodes, embeddings, graph_hash=store.content_hash, config_key=DescriptionConfig().key())
    ours = time.perf_counter() - started
    print(f"build   raw embedder {len(texts) / raw:8.0f} texts/s   agentmesh index ({index.manifest.kind}) "
          f"{len(texts) / ours:8.0f} texts/s   throughput ratio {raw / ours:.2f} (target >= 0.9)")

    kb = KnowledgeBase(store, index, embeddings)
    for q in questions[:5]:  # warm up
        kb.rank(q, 10)
    base_t, rank_t, full_t = [], [], []
    for q in questions:
        started = time.perf_counter()
        vector = embed_texts(embeddings, [q])
        index.index.search(vector, 10)
        base_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        kb.rank(q, 10)
        rank_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        kb.retrieve(q, 5)
        full_t.append(time.perf_counter() - started)
    ms = lambda v, p: percentile(v, p) * 1e3  # noqa: E731
    print(f"query   embedder+faiss p50 {ms(base_t, 50):6.2f} ms p95 {ms(base_t, 95):6.2f} ms   "
          f"agentmesh rank p50 {ms(rank_t, 50):6.2f} ms p95 {ms(rank_t, 95):6.2f} ms   "
          f"ratio p50 {statistics.median(rank_t) / statistics.median(base_t):.2f} "
          f"p95 {percentile(rank_t, 95) / percentile(base_t, 95):.2f} (target <= 1.2)")
    print(f"        retrieve with 1-hop facts (k=5) p50 {ms(full_t, 50):6.2f} ms p95 {ms(full_t, 95):6.2f} ms "
          f"({len(questions)} queries)")


def bench_load(files: list[Path]) -> None:
    from rdflib import Graph

    from agentmesh.knowledge import KnowledgeStore

    print("\n== load time: rdflib memory store vs Oxigraph (agentmesh)")
    for file in files:
        started = time.perf_counter()
        n = len(Graph().parse(file, format="turtle"))
        rdflib_s = time.perf_counter() - started
        started = time.perf_counter()
        KnowledgeStore.open([file])
        ox_s = time.perf_counter() - started
        print(f"{file.name:<40} {n:>9,} triples   rdflib {rdflib_s:7.2f}s   oxigraph {ox_s:6.2f}s   "
              f"rdflib/oxigraph {rdflib_s / ox_s:5.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "kg")
    parser.add_argument("--nodes", type=int, default=100_000)
    args = parser.parse_args()

    from agentmesh.models.embeddings import MiniLMEmbeddings

    embeddings = MiniLMEmbeddings()
    spec = json.loads((HERE / "data" / "kg_questions.json").read_text())
    questions = [q for q, _ in spec["questions"]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        real = [args.data / "schemaorg-current-https-30.0.ttl", args.data / "Brick-1.5.ttl"]
        if all(f.is_file() for f in real):
            bench_load(real)
            for file in real:
                bench_graph(file.name, [file], questions, embeddings, tmp)
        else:
            print(f"schema.org/Brick skipped: not found under {args.data} (pass --data)")
        generated = tmp / "generated.ttl"
        gen_questions = generated_graph(generated, args.nodes)
        bench_load([generated])
        bench_graph(f"generated graph ({args.nodes:,} nodes)", [generated], gen_questions, embeddings, tmp)


if __name__ == "__main__":
    main()
