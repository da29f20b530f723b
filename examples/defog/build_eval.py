"""Turn the defog sql-eval questions on seven SQLite databases into question files with values.

For each question on academic, advising, atis, geography, restaurants, scholar and yelp, the
first gold query (the `query` column holds `;`-separated alternatives) is run read-only on its
database; the distinct cells of its result become the values an answer must contain. Nothing
is copied into the repository: the data is read at run time from --data.

    python examples/defog/build_eval.py --out /tmp/defog_eval
    python examples/defog/build_eval.py --data /path/to/sql --out /tmp/defog_eval
    python examples/defog/build_eval.py --extra --out /tmp/defog_eval

--extra also reads extra_questions.jsonl (beside this script: questions written from the data
alone, each with its gold SQL and no values), runs each item's query the same way and adds the
items to the same <db>.jsonl files with "source": "extra"; an item marked "absent" in that file
has no query and stays absent. The extra items of a database get their own dev/heldout halves
by the same hash, so adding them leaves the splits of the defog items as they were.

Writes <db>.jsonl per database, one item a line:
    {"question", "values", "tags", "db", "split"}           (values: at most 12)
    {"question", "absent": true, "tags", "db", "split"}     (the gold query returned nothing)
and prints a summary table. A gold query that fails is reported and its question left out.
Tags: one-table / fk-hop / multi (distinct tables the gold query reads), grouped, order,
aggregate, too-large (+ first-12-rows-first-column), empty-gold, uses-today (the gold reads
today's date, so its values are those of the day the script ran), instructions (the item
carries defog's instructions text), and defog's query_category.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import sqlglot
from sqlglot import exp

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "sql"
QUESTIONS_CSV = "defog_questions_sqlite.csv"
EXTRA_QUESTIONS = Path(__file__).resolve().parent / "extra_questions.jsonl"
DATABASES = ("academic", "advising", "atis", "geography", "restaurants", "scholar", "yelp")
MAX_VALUES = 12
AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max)
# a gold query that reads today's date gives another answer tomorrow
TODAY = re.compile(r"'now'|\bcurrent_(date|time|timestamp)\b", re.IGNORECASE)


def split_statements(sql: str) -> list[str]:
    """Split on ';' outside quotes and comments: the gold column holds alternatives."""
    parts, buf, quote, i = [], [], None, 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                if i + 1 < len(sql) and sql[i + 1] == quote:  # '' inside a string
                    buf.append(sql[i + 1])
                    i += 1
                else:
                    quote = None
        elif ch in "'\"`":
            quote = ch
            buf.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        elif ch == ";":
            parts.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf).strip())
    return [p for p in parts if p]


def plain(value) -> str | None:
    """A cell as text: 3.0 -> '3', 2.345 -> '2.35' (2 decimals only when it has more), 70.6 stays."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == int(value):
            return str(int(value))
        text = repr(value)
        if "e" not in text and len(text.split(".")[1]) <= 2:
            return text
        return f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value).strip() or None


def run_readonly(db_path: Path, sql: str, timeout_s: float) -> list[tuple]:
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=timeout_s)
    deadline = time.monotonic() + timeout_s
    con.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def shape_tags(sql: str) -> list[str]:
    """one-table / fk-hop / multi by the distinct tables read; grouped, order, aggregate."""
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.ParseError:
        return ["unparsed"]
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    tables = {t.name.lower() for t in tree.find_all(exp.Table) if t.name and t.name.lower() not in ctes}
    tags = ["one-table" if len(tables) <= 1 else "fk-hop" if len(tables) == 2 else "multi"]
    if tree.find(exp.Group):
        tags.append("grouped")
    if tree.find(exp.Order):
        tags.append("order")
    if any(tree.find(kind) for kind in AGGREGATES):
        tags.append("aggregate")
    return tags


def expected_values(rows: list[tuple]) -> tuple[list[str], list[str]]:
    """The distinct cells, or the first column of the first 12 rows when there are more than 12."""
    cells: list[str] = []
    for row in rows:
        for cell in row:
            text = plain(cell)
            if text is not None and text not in cells:
                cells.append(text)
    if len(cells) <= MAX_VALUES:
        return cells, []
    first: list[str] = []
    for row in rows[:MAX_VALUES]:
        text = plain(row[0]) if row else None
        if text is not None and text not in first:
            first.append(text)
    return first, ["too-large", "first-12-rows-first-column"]


def assign_splits(questions: list[str]) -> list[str]:
    """Half dev, half heldout, by the SHA-256 of the question text (dev gets the odd one)."""
    order = sorted(range(len(questions)),
                   key=lambda i: (hashlib.sha256(questions[i].encode("utf-8")).hexdigest(), i))
    cut = (len(order) + 1) // 2
    split = [""] * len(questions)
    for rank, i in enumerate(order):
        split[i] = "dev" if rank < cut else "heldout"
    return split


def read_extra(path: Path) -> list[dict]:
    """The extra questions: {"db", "question", "sql" | "absent": true, "tags"} a line."""
    items = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            if item.get("db") not in DATABASES or not item.get("question") \
                    or bool(item.get("sql")) == bool(item.get("absent")):
                raise ValueError(f"{path.name} line {number}: needs db, question and either sql or absent")
            items.append(item)
    return items


def build_extra(mine: list[dict], db_path: Path, timeout_s: float, failures: list) -> list[dict]:
    """Run each extra item's query read-only; values as for the defog items, split by its own hash."""
    items = []
    for r, split in zip(mine, assign_splits([r["question"] for r in mine])):
        own = list(r.get("tags", []))
        item = {"question": r["question"]}
        if r.get("absent"):
            item["absent"] = True
            tags = own
        else:
            gold = r["sql"]
            try:
                result = run_readonly(db_path, gold, timeout_s)
            except sqlite3.Error as err:
                failures.append((r["db"], r["question"], f"{type(err).__name__}: {err}", gold))
                continue
            tags = shape_tags(gold)
            tags += [t for t in own if t not in tags]
            tags += expectation(item, result, gold)
        item.update({"tags": tags, "db": r["db"], "split": split, "source": "extra"})
        items.append(item)
    return items


def expectation(item: dict, result: list, gold: str) -> list[str]:
    """Set ``item``'s ``values`` from the gold query's ``result`` (or ``absent`` when it returned
    nothing) and return the tags that say how: capped, empty-gold, uses-today."""
    values, capped = expected_values(result)
    tags = []
    if values:
        item["values"] = values
        tags += capped
    else:
        item["absent"] = True
        tags.append("empty-gold")
    if TODAY.search(gold):
        tags.append("uses-today")
    return tags


def build(data: Path, out: Path, timeout_s: float, extra: bool = False) -> int:
    csv_path = data / QUESTIONS_CSV
    missing = [p for p in [csv_path, *(data / f"{db}.sqlite" for db in DATABASES)] if not p.exists()]
    if missing:
        print(f"error: the defog data is not where --data points ({data}): missing "
              f"{', '.join(p.name for p in missing)}. Pass --data DIR, the folder holding "
              f"{QUESTIONS_CSV} and the {len(DATABASES)} .sqlite files.", file=sys.stderr)
        return 2
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["db_name"] in DATABASES]
    extra_rows = read_extra(EXTRA_QUESTIONS) if extra else []
    out.mkdir(parents=True, exist_ok=True)
    summary, failures = [], []
    for db in DATABASES:
        mine = [r for r in rows if r["db_name"] == db]
        splits = assign_splits([r["question"] for r in mine])
        items, counts = [], Counter()
        for r, split in zip(mine, splits):
            gold = split_statements(r["query"])[0]
            try:
                result = run_readonly(data / f"{db}.sqlite", gold, timeout_s)
            except sqlite3.Error as err:  # an interrupted query (timeout) is an sqlite3.Error too
                failures.append((db, r["question"], f"{type(err).__name__}: {err}", gold))
                continue
            item = {"question": r["question"]}
            tags = shape_tags(gold) + expectation(item, result, gold)
            if r.get("instructions", "").strip():
                item["instructions"] = r["instructions"].strip()
                tags.append("instructions")
            tags.append(r["query_category"])
            item.update({"tags": tags, "db": db, "split": split})
            items.append(item)
            counts[split] += 1
            counts.update(t for t in tags if t in ("one-table", "fk-hop", "multi", "empty-gold", "too-large"))
        if extra:
            added = build_extra([r for r in extra_rows if r["db"] == db], data / f"{db}.sqlite",
                                timeout_s, failures)
            items += added
            for item in added:
                counts[item["split"]] += 1
                counts["extra"] += 1
                counts["ex-absent"] += bool(item.get("absent"))
                counts.update(t for t in item["tags"]
                              if t in ("one-table", "fk-hop", "multi", "empty-gold", "too-large"))
        with (out / f"{db}.jsonl").open("w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        summary.append((db, len(items), counts))
    columns = ("dev", "heldout", "one-table", "fk-hop", "multi", "empty-gold", "too-large")
    if extra:
        columns += ("extra", "ex-absent")
    print(f"{'db':<12}{'n':>4}" + "".join(f"{c:>11}" for c in columns))
    for db, n, counts in summary:
        print(f"{db:<12}{n:>4}" + "".join(f"{counts[c]:>11}" for c in columns))
    total = Counter()
    for _db, _n, counts in summary:
        total.update(counts)
    print(f"{'total':<12}{sum(n for _d, n, _c in summary):>4}" + "".join(f"{total[c]:>11}" for c in columns))
    for db, question, error, gold in failures:
        print(f"gold query failed ({db}): {question!r}: {error}\n  {gold}", file=sys.stderr)
    print(f"wrote {len(summary)} files to {out}; {len(failures)} gold queries failed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder with {QUESTIONS_CSV} and the .sqlite files (default: {DEFAULT_DATA})")
    parser.add_argument("--out", type=Path, required=True, help="folder to write <db>.jsonl into")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds allowed per gold query")
    parser.add_argument("--extra", action="store_true",
                        help=f"also add the questions of {EXTRA_QUESTIONS.name} (source: extra)")
    args = parser.parse_args(argv)
    return build(args.data, args.out, args.timeout, extra=args.extra)


if __name__ == "__main__":
    sys.exit(main())
