"""HTTP serving cost: `agentmesh serve` vs a bare FastAPI endpoint that invokes the same graph.

Both servers run the same Agent (the example knowledge graph, a fake model that answers at
once, the default SQLite checkpointer) in their own process on 127.0.0.1, one after the other.
50 clients each send requests back to back for 30 s (a new thread per request). Printed:
requests/s, p50 and p99 latency, errors, and agentmesh's cost relative to the bare endpoint.
The bare endpoint is a plain `def` FastAPI route (run in Starlette's thread pool) calling
`agent.graph.invoke` and returning the answer: no auth, no events, no metrics, no locks.

Also: the same agentmesh app in two worker processes (`agentmesh serve --workers 2`), to show
what a second process buys on this machine's cores (the load generator shares them).

    python bench/server.py [--clients 50] [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What is the context window of Claude 2.1?"


def build_agent(home: str):
    from langchain_core.messages import AIMessage

    from agentmesh import Agent, Settings
    from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings

    settings = Settings.load(home=home, kg=[ROOT / "examples/llm-landscape/landscape.ttl"], tools=[], cache=False)
    model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")])
    return Agent(settings, model=model, embeddings=HashingEmbeddings())


def bench_app():
    """The agentmesh app, built in each worker process (uvicorn --workers needs a factory)."""
    from agentmesh.apps.server import create_app

    agent = build_agent(os.environ["BENCH_HOME"])
    agent.model.calls = _Discard()
    return create_app(agent)


def serve(kind: str, port: int, home: str) -> None:
    import uvicorn
    from fastapi import FastAPI
    from langchain_core.messages import HumanMessage
    if kind == "agentmesh-2":  # two worker processes on one port, as `agentmesh serve --workers 2`
        os.environ["BENCH_HOME"] = home
        sys.path.insert(0, str(Path(__file__).parent))
        uvicorn.run("server:bench_app", factory=True, workers=2, host="127.0.0.1", port=port, log_level="warning",
                    access_log=False)
        return
    agent = build_agent(home)
    agent.model.calls = _Discard()  # the fake model keeps every prompt it saw; not for 30 s of load
    if kind == "agentmesh":
        from agentmesh.apps.server import create_app

        app = create_app(agent)
    else:
        app = FastAPI()

        @app.post("/chat")
        def chat(body: Ask) -> dict:
            state = agent.graph.invoke({"messages": [HumanMessage(body.question)]},
                                       {"configurable": {"thread_id": uuid.uuid4().hex}})
            return {"answer": state["answer"]}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Ask(BaseModel):
    question: str


class _Discard(list):
    def append(self, item) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, body: dict, clients: int, duration: float, stream: bool) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    if stream:
                        async with client.stream("POST", url, json=body) as response:
                            text = "".join([chunk async for chunk in response.aiter_text()])
                            ok = response.status_code == 200 and "[DONE]" in text
                    else:
                        response = await client.post(url, json=body)
                        ok = response.status_code == 200 and "200000" in response.text
                    if not ok:
                        errors.append(f"HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50": statistics.median(latencies) * 1e3 if latencies else float("nan"),
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1e3 if latencies else float("nan"),
            "errors": len(errors), "kinds": sorted(set(errors))}


def run_against(kind: str, clients: int, duration: float, home: str, stream: bool = False) -> dict:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port), "--home", home], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + ("/docs" if kind == "bare" else "/healthz"), timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the {kind} server did not start")
            time.sleep(0.2)
        if kind != "bare":
            url, body = base + "/v1/chat/completions", {"model": "agentmesh", "stream": stream,
                                                        "messages": [{"role": "user", "content": QUESTION}]}
        else:
            url, body = base + "/chat", {"question": QUESTION}
        asyncio.run(load(url, body, clients, 2.0, stream))  # warm-up
        return asyncio.run(load(url, body, clients, duration, stream))
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--serve", choices=["agentmesh", "agentmesh-2", "bare"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--home")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.home)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        build_agent(home)  # load and index the graph once, outside the timed runs
        print(f"{args.clients} clients, {args.duration:g} s each, fake model, example KG, SQLite checkpointer")
        rows = {
            "bare FastAPI + graph": run_against("bare", args.clients, args.duration, home),
            "agentmesh serve": run_against("agentmesh", args.clients, args.duration, home),
            "agentmesh serve (SSE)": run_against("agentmesh", args.clients, args.duration, home, stream=True),
            "agentmesh --workers 2": run_against("agentmesh-2", args.clients, args.duration, home),
        }
    print(f"{'server':<24}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in rows.items():
        print(f"{name:<24}{r['requests']:>9}{r['rps']:>9.1f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['errors']:>8}"
              + (f"  {', '.join(r['kinds'])}" if r["kinds"] else ""))
    base = rows["bare FastAPI + graph"]
    for name in ("agentmesh serve", "agentmesh serve (SSE)", "agentmesh --workers 2"):
        r = rows[name]
        print(f"{name}: throughput {r['rps'] / base['rps']:.2f}x of bare, p50 {r['p50'] / base['p50']:.2f}x, "
              f"p99 {r['p99'] / base['p99']:.2f}x")


if __name__ == "__main__":
    main()
