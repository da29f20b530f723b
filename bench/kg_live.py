"""A live graph (kg_endpoint_mode = "live") against the same graph mirrored, both from one
`oxigraph serve` holding Brick (../shared/data/kg) plus a generated graph of ~1M triples.

Prints, for each mode, the time to the first grounded answer from nothing (mirroring: the
CONSTRUCT, the load and the index; live: the paged index build), and the p50/p95 grounding
latency (question -> nodes with their facts) over the same questions, with the ratio live /
mirrored. Then it changes the descriptions of 100 nodes at the endpoint and times `sync`,
counting the texts re-embedded. The embedder is the same in both modes (``--embeddings``:
hashing by default, so that the graph's side is what is timed; minilm for the real thing).

    python bench/kg_live.py [--nodes 100000] [--data ../shared/data/kg] [--embeddings hashing|minilm]
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
WORDS = ("air water pump valve fan coil sensor meter chiller boiler damper filter heater zone room floor panel "
         "breaker relay switch lamp camera door lock alarm pressure flow temperature humidity level speed power").split()


def generate(path: Path, n: int, seed: int = 5) -> list[str]:
    """``n`` nodes of 10 triples each (label, description, type, links, values); sample questions."""
    rng = random.Random(seed)
    ex, rdfs, dct = "http://example.org/plant/", "http://www.w3.org/2000/01/rdf-schema#", "http://purl.org/dc/terms/"
    questions = []
    with path.open("w") as out:
        for i in range(n):
            a, b, c = rng.sample(WORDS, 3)
            s = f"<{ex}n{i}>"
            out.write(f'{s} <{rdfs}label> "{a.title()} {b.title()} {i}" .\n')
            out.write(f'{s} <{dct}description> "A {c} unit serving the {a} loop: {" ".join(rng.choices(WORDS, k=10))}." .\n')
            out.write(f"{s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{ex}{c.title()}> .\n")
            for k in range(3):
                out.write(f"{s} <{ex}feeds> <{ex}n{rng.randrange(n)}> .\n")
            out.write(f"{s} <{ex}locatedIn> <{ex}room{rng.randrange(n // 20 + 1)}> .\n")
            out.write(f'{s} <{ex}capacity> "{rng.randrange(1, 900)}" .\n')
            out.write(f'{s} <{ex}status> "{rng.choice(["on", "off", "fault"])}" .\n')
            out.write(f'{s} <{ex}serial> "SN-{i:07d}" .\n')
            if i % max(1, n // 100) == 0:
                questions.append(f"What does the {a} {b} {c} unit {i} feed?")
    return questions


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "kg")
    parser.add_argument("--embeddings", default="hashing")
    args = parser.parse_args()

    from agentmesh import Settings
    from agentmesh.assembly import build_embeddings
    from agentmesh.knowledge import KnowledgeBase
    from agentmesh.knowledge.live import LiveKnowledgeBase
    from agentmesh.knowledge.remote import mirror_endpoint

    work = Path(tempfile.mkdtemp(prefix="agentmesh-bench-live-"))
    generated = work / "generated.nt"
    questions = generate(generated, args.nodes)
    brick = args.data / "Brick-1.5.ttl"
    questions += ["Which sensor measures the temperature of return air?", "What is an air handling unit?",
                  "What class is a chiller?", "Which point is a supply air temperature setpoint?"]
    store = work / "oxigraph"
    started = time.perf_counter()
    subprocess.run(["oxigraph", "load", "--location", str(store), "--file", str(generated), str(brick)], check=True,
                   capture_output=True)
    port = free_port()
    server = subprocess.Popen(["oxigraph", "serve", "--location", str(store), "--bind", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    try:
        while True:
            try:
                httpx.post(url, data={"query": "ASK {}"}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        count = httpx.post(url, data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"}, timeout=120).json()
        triples = int(count["results"]["bindings"][0]["n"]["value"])
        print(f"oxigraph serve: {triples:,} triples (Brick + {args.nodes:,} generated nodes), loaded in "
              f"{time.perf_counter() - started:.1f}s; embeddings {args.embeddings}")
        embeddings = build_embeddings(Settings.load(embeddings=args.embeddings, home=work / "home"))

        started = time.perf_counter()
        mirror = mirror_endpoint(url, work / "mirror", max_bytes=4 * 1024**3, deadline=3600, timeout=600)
        fetched = time.perf_counter() - started
        mirrored = KnowledgeBase.open([mirror], embeddings, cache_dir=work / "mirror-kg")
        mirrored.retrieve(questions[0])
        first_mirrored = time.perf_counter() - started

        started = time.perf_counter()
        live = LiveKnowledgeBase.open(url, embeddings, cache_dir=work / "live-kg", timeout=120)
        built = time.perf_counter() - started
        live.retrieve(questions[0])
        first_live = time.perf_counter() - started

        times = {"mirrored": [], "live": []}
        for _ in range(3):
            for question in questions:
                for name, kb in (("mirrored", mirrored), ("live", live)):
                    t = time.perf_counter()
                    kb.retrieve(question, k=5)
                    times[name].append(time.perf_counter() - t)
        same = sum(1 for q in questions if [n.uri for n in live.retrieve(q, k=5)] == [n.uri for n in mirrored.retrieve(q, k=5)])
        print(f"\n{'':<10}{'first answer':>14}{'index build':>13}{'p50 grounding':>15}{'p95':>9}")
        for name, first, build in (("mirrored", first_mirrored, first_mirrored - fetched), ("live", first_live, built)):
            p50, p95 = percentile(times[name], 50) * 1000, percentile(times[name], 95) * 1000
            print(f"{name:<10}{first:>13.1f}s{build:>12.1f}s{p50:>13.1f}ms{p95:>7.1f}ms")
        print(f"mirrored: of its {first_mirrored:.1f}s, {fetched:.1f}s fetching the CONSTRUCT; "
              f"live p50 / mirrored p50 = {statistics.median(times['live']) / statistics.median(times['mirrored']):.2f}x; "
              f"same top-5 nodes on {same}/{len(questions)} questions")

        changed = [f"http://example.org/plant/n{i}" for i in range(0, args.nodes, max(1, args.nodes // 100))][:100]
        values = " ".join(f"<{u}>" for u in changed)
        httpx.post(f"http://127.0.0.1:{port}/update", headers={"Content-Type": "application/sparql-update"}, timeout=120,
                   content=f"""DELETE {{ ?s <http://purl.org/dc/terms/description> ?d }}
                   INSERT {{ ?s <http://purl.org/dc/terms/description> "Rewritten for the sync benchmark." ;
                                <http://purl.org/dc/terms/modified> ?now }}
                   WHERE {{ VALUES ?s {{ {values} }} ?s <http://purl.org/dc/terms/description> ?d BIND(NOW() AS ?now) }}""",
                   ).raise_for_status()
        changes = "SELECT ?s WHERE { ?s <http://purl.org/dc/terms/modified> ?m FILTER(?m > {since}) }"
        started = time.perf_counter()
        embedded = live.sync(changes=changes)
        print(f"sync after {len(changed)} changed nodes, by a change query (kg_endpoint_changes): "
              f"{time.perf_counter() - started:.1f}s, {embedded} re-embedded of {len(live.index.nodes):,}")
        started = time.perf_counter()
        embedded = live.sync()
        print(f"sync by reading every text again (no change query): {time.perf_counter() - started:.1f}s, "
              f"{embedded} re-embedded")
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
