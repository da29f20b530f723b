"""Recompute every expected answer of questions_src.py and write dev.jsonl and heldout.jsonl.

Each question's values are the distinct cells its checking query returns from railway.sqlite
or railway.ttl (run build.py first). The split is stratified by the question's kind (its
first tag): within a kind the questions are ordered by the SHA-256 of their text, and the
whole ordered list is dealt alternately to dev and heldout, so it never depends on a choice
made by hand.

    python examples/railway/make_questions.py
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path

from rdflib import Graph, Literal

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from questions_src import QUESTIONS  # noqa: E402

DB_PATH = HERE / "railway.sqlite"
TTL_PATH = HERE / "railway.ttl"
MAX_NAMES = 8


def plain(value) -> str | None:
    """A cell as a user would read it: 3.0 -> '3', 4.567 -> '4.57', a date in ISO form."""
    if isinstance(value, Literal):
        value = value.toPython()
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, decimal.Decimal)) and not isinstance(value, float):
        value = float(value) if isinstance(value, decimal.Decimal) else value
        if isinstance(value, int):
            return str(value)
    if isinstance(value, float):
        if value == int(value):
            return str(int(value))
        return f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def distinct_cells(rows) -> list[str]:
    seen: list[str] = []
    for row in rows:
        for cell in row:
            text = plain(cell)
            if text is not None and text not in seen:
                seen.append(text)
    return seen


def run_sql(con: sqlite3.Connection, query: str) -> list[tuple]:
    return con.execute(query).fetchall()


def run_sparql(graph: Graph, query: str) -> list[tuple]:
    return [tuple(row) for row in graph.query(query)]


def expected(item: dict, con: sqlite3.Connection, graph: Graph) -> dict:
    q, tags = item["q"], item["tags"]
    out = {"question": q}
    if item.get("absent"):
        for key, runner, source in (("check", run_sql, con), ("check_sparql", run_sparql, graph)):
            if key in item:
                found = distinct_cells(runner(source, item[key]))
                if found:
                    raise SystemExit(f"absent question {q!r}: its check query found {found}; "
                                     "the data holds an answer, so drop 'absent' or fix the data")
        out.update({"absent": True, "tags": tags})
        return out
    if "sql" in item:
        rows = run_sql(con, item["sql"])
        if "sparql" in item:  # a question that needs the graph first, then the database
            bridge = distinct_cells(run_sparql(graph, item["sparql"]))
            if bridge != item["sparql_must_equal"]:
                raise SystemExit(f"question {q!r}: the graph step gave {bridge}, "
                                 f"the sql step assumes {item['sparql_must_equal']}")
    else:
        rows = run_sparql(graph, item["sparql"])
    values = distinct_cells(rows)
    if not values:
        raise SystemExit(f"question {q!r}: its checking query returned nothing; fix the query or mark it absent")
    if "values" in item:  # a description: the expected values are phrases of the returned text
        text = " ".join(values)
        missing = [v for v in item["values"] if v not in text]
        if missing:
            raise SystemExit(f"question {q!r}: {missing} not in the text the query returned: {text!r}")
        values = list(item["values"])
    if ("grouped" in tags and len(rows) > MAX_NAMES) or ("list" in tags and len(values) > MAX_NAMES):
        raise SystemExit(f"question {q!r}: {len(rows)} rows, more than {MAX_NAMES}; narrow the question")
    if "superlative" in tags and len(rows) != 1:
        raise SystemExit(f"question {q!r}: a tie ({rows}); a superlative needs one winner")
    out.update({"values": values, "tags": tags})
    return out


def split(items: list[dict]) -> tuple[list[dict], list[dict]]:
    def key(item):
        return (item["tags"][0], hashlib.sha256(item["question"].encode("utf-8")).hexdigest())

    ordered = sorted(items, key=key)
    return ordered[0::2], ordered[1::2]


def write_jsonl(path: Path, items: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")


def main() -> None:
    for path in (DB_PATH, TTL_PATH):
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `python {HERE / 'build.py'}` first")
    questions = [item["q"] for item in QUESTIONS]
    dupes = [q for q, n in Counter(questions).items() if n > 1]
    if dupes:
        raise SystemExit(f"questions_src.py repeats a question: {dupes}")
    con = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True)
    graph = Graph().parse(TTL_PATH, format="turtle")
    items = [expected(item, con, graph) for item in QUESTIONS]
    con.close()
    dev, heldout = split(items)
    write_jsonl(HERE / "dev.jsonl", dev)
    write_jsonl(HERE / "heldout.jsonl", heldout)
    for name, part in (("dev", dev), ("heldout", heldout)):
        kinds = Counter(tag for item in part for tag in item["tags"])
        print(f"{name}: {len(part)} questions; " + ", ".join(f"{t} {n}" for t, n in sorted(kinds.items())))


if __name__ == "__main__":
    main()
