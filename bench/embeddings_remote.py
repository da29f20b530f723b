"""Embedding many texts through an OpenAI-compatible server: agentmesh's RemoteEmbeddings
(batched, concurrent) against the raw ``openai`` client sending the same batches one after
another, on the same fake server, in this process.

The fake server takes ``--latency`` seconds per request plus ``--per-text`` per text, as a GPU
server does (its cost grows with the batch, on top of a fixed overhead). It runs in a process
of its own, as a real server would, so it does not share this process's interpreter lock.
Texts are node descriptions of the length a graph gives.

    python bench/embeddings_remote.py [--texts 20000] [--batch 64] [--latency 0.02] [--per-text 0.0002]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from openai import OpenAI

from agentmesh.models.remote_embeddings import RemoteEmbeddings

SERVER = """
import sys
from agentmesh.models.testing import FakeEmbeddingServer
with FakeEmbeddingServer(latency=float(sys.argv[1]), per_text=float(sys.argv[2]), dimension=384) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""

WORDS = "air water pump valve fan coil sensor meter chiller boiler damper filter heater zone room floor".split()


def texts(n: int) -> list[str]:
    return [f"Node {i}: a {WORDS[i % len(WORDS)]} of the {WORDS[(i * 7) % len(WORDS)]} loop, "
            f"serving {WORDS[(i * 3) % len(WORDS)]} {i % 97}." for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--per-text", type=float, default=0.0002)
    parser.add_argument("--concurrency", default="1,4,8")
    args = parser.parse_args()
    data = texts(args.texts)
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(args.latency), str(args.per_text)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    base_url = proc.stdout.readline().strip()
    try:
        raw = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0)
        raw.embeddings.create(model="fake", input=data[:2])  # connect once before the clock starts
        started = time.perf_counter()
        vectors = []
        for i in range(0, len(data), args.batch):
            reply = raw.embeddings.create(model="fake", input=data[i:i + args.batch])
            vectors.extend(d.embedding for d in sorted(reply.data, key=lambda d: d.index))
        base = time.perf_counter() - started
        assert len(vectors) == len(data)
        print(f"{len(data):,} texts, batches of {args.batch}, server {args.latency * 1000:.0f} ms + "
              f"{args.per_text * 1000:.2f} ms/text per request")
        print(f"{'':<34}{'seconds':>9}{'texts/s':>10}{'vs raw client':>15}")
        print(f"{'raw openai client, one at a time':<34}{base:>9.2f}{len(data) / base:>10,.0f}{1.0:>14.2f}x")
        for n in [int(c) for c in args.concurrency.split(",")]:
            emb = RemoteEmbeddings("fake", base_url=base_url, batch_size=args.batch, concurrency=n)
            emb.embed(data[:2])
            started = time.perf_counter()
            out = emb.embed(data)
            took = time.perf_counter() - started
            assert out.shape[0] == len(data)
            emb.close()
            print(f"{f'RemoteEmbeddings, concurrency {n}':<34}{took:>9.2f}{len(data) / took:>10,.0f}{base / took:>14.2f}x")
    finally:
        proc.stdin.close()
        proc.wait(10)


if __name__ == "__main__":
    main()
