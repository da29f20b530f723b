"""Tool overheads, each against its baseline in the same process.

* python: round trip of a trivial expression in a warm session vs a fresh sandbox process
  (namespaces + interpreter start) each time; a bare ``python -c`` subprocess for reference; then
  the start and per-call cost with the seccomp allowlist and the new root on vs off;
* sql: the sql tool (sqlglot check + read-only connection + row cap) vs raw sqlite3 on the
  defog databases (../shared/data/sql), per query, as a ratio.

    python bench/tools.py [--data ../shared/data/sql] [--runs 200]
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def bench_python(runs: int) -> None:
    from agentmesh.tools.python_repl import PythonSandbox

    sandbox = PythonSandbox()
    print(f"== python tool ({sandbox.isolation['mode']} isolation), trivial expression '1 + 1'")
    sandbox.run("1 + 1", session="warm")
    warm = median_ms(lambda: sandbox.run("1 + 1", session="warm"), runs)
    counter = iter(range(10**9))

    def fresh() -> None:
        session = f"fresh-{next(counter)}"
        sandbox.run("1 + 1", session=session)
        sandbox.reset(session)

    cold = median_ms(fresh, max(10, runs // 10))
    bare = median_ms(lambda: subprocess.run([sys.executable, "-I", "-c", "print(1 + 1)"], capture_output=True), max(10, runs // 10))
    sandbox.close()
    print(f"warm session {warm:8.2f} ms   fresh sandbox process {cold:8.2f} ms   fresh/warm {cold / warm:6.1f}x")
    print(f"(bare 'python -c' subprocess, no isolation: {bare:.2f} ms)")
    bench_python_layers(runs)


def bench_python_layers(runs: int) -> None:
    """The system call allowlist and the new root, on vs off, in the same process: start and per-call cost."""
    from agentmesh.tools.python_repl import PythonSandbox

    code = "open('f.txt', 'w').write('x' * 4096); len(open('f.txt').read())"
    results = {}
    for label, off in (("on", ()), ("off", ("seccomp", "view"))):
        sandbox = PythonSandbox(switch_off=off)
        sandbox.run(code, session="warm")
        call = median_ms(lambda: sandbox.run(code, session="warm"), runs)
        counter = iter(range(10**9))

        def fresh() -> None:
            session = f"fresh-{next(counter)}"
            sandbox.run("1 + 1", session=session)
            sandbox.reset(session)

        start = median_ms(fresh, max(10, runs // 10))
        sandbox.close()
        results[label] = (start, call)
    (start_on, call_on), (start_off, call_off) = results["on"], results["off"]
    print(f"seccomp allowlist + new root on vs off: start {start_on:.1f} vs {start_off:.1f} ms ({start_on / start_off:.2f}x), "
          f"call {call_on:.3f} vs {call_off:.3f} ms ({call_on / call_off:.2f}x; must stay <= 1.2x)")


def bench_sql(data: Path, runs: int) -> None:
    from agentmesh.tools.sql import SQLDatabase

    path = data / "defog_questions_sqlite.csv"
    if not path.is_file():
        print(f"\n== sql: skipped, {path} not found (pass --data)")
        return
    with path.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if (data / f"{r['db_name']}.sqlite").is_file()]
    queries = [(r["db_name"], r["query"].split(";")[0]) for r in rows][:60]
    tools = {name: SQLDatabase(data / f"{name}.sqlite", row_limit=1_000_000) for name, _ in queries}

    def raw_all() -> None:
        for name, query in queries:
            conn = sqlite3.connect(f"{(data / f'{name}.sqlite').as_uri()}?mode=ro", uri=True)
            conn.execute(query).fetchall()
            conn.close()

    def tool_all() -> None:
        for name, query in queries:
            tools[name].query(query)

    reps = max(3, runs // 40)
    raw_all(), tool_all()  # warm caches
    raw = median_ms(raw_all, reps) / len(queries)
    ours = median_ms(tool_all, reps) / len(queries)
    print(f"\n== sql tool vs raw sqlite3 (connect + execute + fetch), {len(queries)} defog gold queries x {reps}")
    print(f"raw sqlite3 {raw:7.3f} ms/query   sql tool {ours:7.3f} ms/query   ratio {ours / raw:5.2f}x "
          f"(extra {ours - raw:.3f} ms: sqlglot check, authorizer, SQLAlchemy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "sql")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    bench_python(args.runs)
    bench_sql(args.data, args.runs)


if __name__ == "__main__":
    main()
