"""The question reading and ``sql_answer`` on data agentmesh was never tuned on, without any model.

For each question of the defog databases (eval items made from the gold SQL by
``examples/defog/build_eval.py`` into a temporary folder, or ``--defog DIR`` made already; tags
uses-today, too-large and empty-gold skipped) and of the railway domain
(``examples/railway/{dev,heldout}.jsonl``), the tool is built for its database, narrowed to the
question, called when offered, and its rendered rows scored against the item's ``values`` with
:func:`agentmesh.evaluation.score_answer`: answered-correct, answered-wrong or refused, per split
and per tag (one-table, fk-hop). A refused question's reading says why (``--show refused``).

    python bench/reading.py --split dev            # develop on this one
    python bench/reading.py --split heldout        # once, at the end
    python bench/reading.py --split dev --show wrong,correct
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sql"
SKIP = {"uses-today", "too-large", "empty-gold"}


def defog_items(folder: Path, data: Path = DATA) -> Path:
    """The defog eval items, made into ``folder`` from the gold SQL (``examples/defog/build_eval.py``)."""
    subprocess.run([sys.executable, str(ROOT / "examples" / "defog" / "build_eval.py"), "--data", str(data),
                    "--extra", "--out", str(folder)], check=True, capture_output=True)
    return folder


def items(split: str, defog: Path | None) -> list[tuple[str, Path, dict]]:
    """(source, database, item) of ``split``: defog's own questions (``defog/<db>``), our extra ones
    on its databases (``extra/<db>``, examples/defog/extra_questions.jsonl) and railway's; an item
    holds ``values``, or ``absent`` (the data does not hold it: only a refusal is right)."""
    found = []
    for file in sorted(defog.glob("*.jsonl")) if defog is not None else []:
        for line in file.read_text().splitlines():
            item = json.loads(line)
            if item.get("split") == split and not SKIP & set(item.get("tags", [])) \
                    and (item.get("values") or item.get("absent")):
                kind = "extra" if item.get("source") == "extra" else "defog"
                found.append((f"{kind}/{item['db']}", DATA / f"{item['db']}.sqlite", item))
    for line in (ROOT / "examples" / "railway" / f"{split}.jsonl").read_text().splitlines():
        item = json.loads(line)
        if item.get("values") or item.get("absent"):
            found.append(("railway", ROOT / "examples" / "railway" / "railway.sqlite", item))
    return found


def lexicon_path(name: str) -> Path:
    """Where the lexicon file of a domain (a defog database's name, or railway) is, written from its
    dev split's refusals only; it may not exist."""
    return ROOT / "examples" / ("railway/lexicon.toml" if name == "railway" else f"defog/lexicons/{name}.toml")


def lexicon_of(database: Path):
    """The domain's lexicon file, or None."""
    from agentmesh.answering.lexicon import load_lexicon

    path = lexicon_path(database.stem)
    return load_lexicon(path) if path.is_file() else None


def score(split: str, defog: Path | None, show: frozenset[str] = frozenset(), lexicons: bool = False) -> dict[str, Counter]:
    """Each question of ``split`` through the tool alone: correct, wrong or refused, per source and tag;
    with ``lexicons``, each domain's lexicon file."""
    from agentmesh.evaluation import score_answer
    from agentmesh.tools.sql import SQLDatabase
    from agentmesh.tools.sql_answer import make_sql_answer_tool

    tools: dict[Path, object] = {}
    outcome: dict[str, Counter] = defaultdict(Counter)
    for source, path, item in items(split, defog):
        if path not in tools:
            tools[path] = make_sql_answer_tool(SQLDatabase(path), lexicon=lexicon_of(path) if lexicons else None)
        try:
            narrowed = tools[path].metadata["narrow"](item["question"])
        except Exception:  # noqa: BLE001 - a reading that crashes (an older agentmesh did) answers nothing
            narrowed = None
        if narrowed is None:
            read = tools[path].metadata.get("read")  # an older agentmesh (a baseline) has none: its reading_of
            if read is None:
                from agentmesh.tools.sql_answer import reading_of

                db = SQLDatabase(path)
                read = lambda question: reading_of(db, question)  # noqa: E731
            why = read(item["question"])
            result = "correct" if item.get("absent") else "refused"  # the data does not hold it: refusing is right
            text = f"reading: {why.summary()!r} subject={why.subject!r} unread={why.unread} problems={why.problems}"
        else:
            reading = narrowed.metadata["reading"]
            try:
                text = narrowed.invoke({"reading": reading.summary()})
            except Exception as exc:  # noqa: BLE001 - a failing call shows no fact
                result, text = "refused", f"error: {exc}"
            else:
                held = not text.startswith("That value is not in the database")  # no row holds it: no fact shown
                if item.get("absent"):
                    result = "wrong" if held else "correct"
                else:
                    result = ("correct" if score_answer(text, item) else "wrong") if held else "refused"
        if result in show:
            print(f"[{result}] {source}: {item['question']}\n    expected {item.get('values', 'absent')}\n    "
                  + (text or "").replace("\n", " / ")[:300])
        tags = set(item.get("tags", []))
        for key in ["all", source.split("/")[0]] + [t for t in ("one-table", "fk-hop", "absent") if t in tags or (
                t == "absent" and item.get("absent"))]:
            outcome[key][result] += 1
    return outcome


def table(outcome: dict[str, Counter]) -> str:
    lines = [f"{'questions':<12}{'n':>5}{'correct':>9}{'wrong':>7}{'refused':>9}{'wrong %':>9}"]
    for key in ("all", "defog", "extra", "railway", "one-table", "fk-hop", "absent"):
        c = outcome.get(key, Counter())
        n = sum(c.values())
        if n:
            lines.append(f"{key:<12}{n:>5}{c['correct']:>9}{c['wrong']:>7}{c['refused']:>9}{100 * c['wrong'] / n:>8.1f}%")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "heldout"])
    parser.add_argument("--show", default="wrong", help="outcomes to print: wrong,correct,refused")
    parser.add_argument("--lexicon", action="store_true",
                        help="with each domain's lexicon file (examples/defog/lexicons/, examples/railway/lexicon.toml)")
    parser.add_argument("--defog", type=Path, help="defog eval items made already (build_eval.py --out)")
    options = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        defog = options.defog or (defog_items(Path(tmp)) if DATA.is_dir() else None)
        outcome = score(options.split, defog, frozenset(options.show.split(",")), options.lexicon)
    print(f"\nsplit {options.split}, {'with' if options.lexicon else 'no'} lexicon files ({time.perf_counter() - started:.1f}s)")
    print(table(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
