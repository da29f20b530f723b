"""The question reading and ``sql_answer`` on data agentmesh was never tuned on, without any model.

For each question of the defog eval files (``/work/scratch/defog_eval/<db>.jsonl``, made by
``examples/defog/build_eval.py``; tags uses-today, too-large and empty-gold skipped) and of the
railway domain (``examples/railway/{dev,heldout}.jsonl``), the tool is built for its database,
narrowed to the question, called when offered, and its rendered rows scored against the item's
``values`` with :func:`agentmesh.evaluation.score_answer`: answered-correct, answered-wrong or
refused, per split and per tag (one-table, fk-hop).

    python bench/reading.py --split dev            # develop on this one
    python bench/reading.py --split heldout        # once, at the end
    python bench/reading.py --split dev --show wrong,correct
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFOG = Path("/work/scratch/defog_eval")
DATA = Path("/work/shared/data/sql")
SKIP = {"uses-today", "too-large", "empty-gold"}


def items(split: str) -> list[tuple[str, Path, dict]]:
    found = []
    for file in sorted(DEFOG.glob("*.jsonl")):
        for line in file.read_text().splitlines():
            item = json.loads(line)
            if item.get("split") == split and not SKIP & set(item.get("tags", [])) and item.get("values"):
                found.append((f"defog/{item['db']}", DATA / f"{item['db']}.sqlite", item))
    for line in (ROOT / "examples" / "railway" / f"{split}.jsonl").read_text().splitlines():
        item = json.loads(line)
        if item.get("values"):
            found.append(("railway", ROOT / "examples" / "railway" / "railway.sqlite", item))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "heldout"])
    parser.add_argument("--show", default="wrong", help="outcomes to print: wrong,correct,refused")
    options = parser.parse_args()
    from agentmesh.evaluation import score_answer
    from agentmesh.tools.sql import SQLDatabase

    try:
        from agentmesh.tools.sql_answer import make_sql_answer_tool
    except ImportError:  # the baseline: before the tool existed, nothing is answered
        make_sql_answer_tool = None
    tools: dict[Path, object] = {}
    outcome: dict[str, Counter] = defaultdict(Counter)
    shown = set(options.show.split(","))
    started = time.perf_counter()
    for source, path, item in items(options.split):
        if make_sql_answer_tool is None:
            result = "refused"
        else:
            if path not in tools:
                tools[path] = make_sql_answer_tool(SQLDatabase(path))
            narrowed = tools[path].metadata["narrow"](item["question"])
            if narrowed is None:
                from agentmesh.tools.sql_answer import reading_of

                why = reading_of(tools[path].metadata["db"], item["question"]) if "db" in tools[path].metadata else None
                result = "refused"
                text = "" if why is None else (f"reading: {why.summary()!r} subject={why.subject!r} "
                                               f"unread={why.unread} problems={why.problems}")
            else:
                reading = narrowed.metadata["reading"]
                try:
                    text = narrowed.invoke({"reading": reading.summary()})
                except Exception as exc:  # noqa: BLE001 - a failing call shows no fact
                    result, text = "refused", f"error: {exc}"
                else:
                    held = not text.startswith("That value is not in the database")  # no row holds it: no fact shown
                    result = ("correct" if score_answer(text, item) else "wrong") if held else "refused"
            if result in shown:
                print(f"[{result}] {source}: {item['question']}\n    expected {item['values']}\n    "
                      + (text or "").replace("\n", " / ")[:300])
        tags = set(item.get("tags", []))
        for key in ["all", source.split("/")[0]] + [t for t in ("one-table", "fk-hop") if t in tags]:
            outcome[key][result] += 1
    print(f"\nsplit {options.split} ({time.perf_counter() - started:.1f}s)")
    print(f"{'questions':<12}{'n':>5}{'correct':>9}{'wrong':>7}{'refused':>9}{'wrong %':>9}")
    for key in ("all", "defog", "railway", "one-table", "fk-hop"):
        c = outcome[key]
        n = sum(c.values())
        if n:
            print(f"{key:<12}{n:>5}{c['correct']:>9}{c['wrong']:>7}{c['refused']:>9}{100 * c['wrong'] / n:>8.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
