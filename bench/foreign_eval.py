"""The embedded default on data agentmesh was never tuned on: ``agentmesh eval`` on the defog databases and the railway domain.

For a split (dev, or heldout: never tuned on), the defog eval items are made from the gold SQL
(``examples/defog/build_eval.py``, into a temporary folder; items whose gold reads today's date
are left out) and ``agentmesh eval`` runs on each database's items with ``--db`` (railway also
with its graph, ``--kg``), the embedded model, no API key. Prints per source and in all: correct,
wrong shown as fact, abstained; and correct among the questions answerable from one table or one
foreign-key hop (the items' tags).

    python bench/foreign_eval.py --split heldout [--limit N] [--only railway,academic] [--code WORKTREE] [--lexicon]

An answer that shows evidence instead of answering ("I could not find that ... What I found
without it: <rows>") is an abstention, though the rows hold the expected values
(:func:`agentmesh.evaluation.outcome_of`, this checkout's, also for a ``--code`` baseline).
``--lexicon`` adds each domain's lexicon file, written from the refusals of its dev split only, as
a user would in a first hour with their data.

Slow (the embedded model answers each question: about 5-10 s each on two cores): a bench, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from agentmesh.evaluation import EvalItem, outcome_of  # noqa: E402
from bench.reading import lexicon_path  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "sql"
SKIP = {"uses-today"}


def sources(split: str, folder: Path, only: set[str]) -> list[tuple[str, list[str], list[dict]]]:
    subprocess.run([sys.executable, str(ROOT / "examples" / "defog" / "build_eval.py"), "--data", str(DATA),
                    "--out", str(folder)], check=True, capture_output=True)
    found = []
    for file in sorted(folder.glob("*.jsonl")):
        items = [json.loads(line) for line in file.read_text().splitlines()]
        items = [i for i in items if i.get("split") == split and not SKIP & set(i.get("tags", []))]
        found.append((f"defog/{file.stem}", ["--db", str(DATA / f"{file.stem}.sqlite")], items))
    railway = ROOT / "examples" / "railway"
    items = [json.loads(line) for line in (railway / f"{split}.jsonl").read_text().splitlines()]
    found.append(("railway", ["--db", str(railway / "railway.sqlite"), "--kg", str(railway / "railway.ttl")], items))
    return [s for s in found if not only or s[0].split("/")[-1] in only]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "heldout"])
    parser.add_argument("--limit", type=int, default=0, help="at most N questions per source")
    parser.add_argument("--only", default="", help="sources to run, comma-separated (railway, academic, ...)")
    parser.add_argument("--out", type=Path, help="write every answer here (JSON)")
    parser.add_argument("--lexicon", action="store_true",
                        help="with each domain's lexicon file (examples/defog/lexicons/, examples/railway/lexicon.toml)")
    parser.add_argument("--code", type=Path, help="run the agentmesh of this folder (e.g. a git worktree of a commit)")
    options = parser.parse_args()
    totals: dict[str, Counter] = {}
    answers = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
        env["AGENTMESH_HOME"] = str(folder / "home")
        for name, args, items in sources(options.split, folder / "defog", set(filter(None, options.only.split(",")))):
            if options.limit:
                items = items[:options.limit]
            if not items:
                continue
            questions = folder / f"{name.replace('/', '_')}.jsonl"
            questions.write_text("".join(json.dumps(i) + "\n" for i in items))
            report = folder / f"{name.replace('/', '_')}.json"
            # run outside the checkout, so that its agentmesh.toml (the example domain) is not read;
            # with --code, the agentmesh of that folder (a worktree of one commit, while main moves on)
            command = [sys.executable, "-c", "from agentmesh.apps.cli import main; main()"]
            if options.code:
                env["PYTHONPATH"] = str(options.code.resolve())
            if options.lexicon:  # the domain's lexicon file (written from its dev split's refusals only)
                db = name.split("/")[-1]
                lexicon = lexicon_path(db)
                if lexicon.is_file():
                    settings = folder / f"{db}.toml"
                    settings.write_text(f"lexicon = {json.dumps(str(lexicon))}\n")
                    args = [*args, "--config", str(settings)]
            done = subprocess.run([*command, "eval", str(questions), *args, "--json", str(report)], cwd=folder,
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0 or not report.exists():
                print(f"{name}: agentmesh eval failed ({done.returncode}):\n{done.stderr[-3000:]}", file=sys.stderr)
                continue
            for item, result in zip(items, json.loads(report.read_text())["results"]):
                # scored by this checkout's rule, so that a baseline (--code) is scored as the change is
                result["outcome"] = outcome_of(EvalItem(**{k: v for k, v in item.items() if k in EvalItem.__dataclass_fields__}),
                                               SimpleNamespace(**result))
                answers.append({"source": name, **result})
                tags = set(result.get("tags", []))
                for key in [name.split("/")[0], "all"] + [t for t in ("one-table", "fk-hop") if t in tags]:
                    totals.setdefault(key, Counter())[result["outcome"]] += 1
                    totals[key]["n"] += 1
            print(f"{name}: {len(items)} questions done ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    print(f"\nsplit {options.split}, embedded model, {'with' if options.lexicon else 'no'} lexicon files "
          f"({time.perf_counter() - started:.0f}s)")
    print(f"{'questions':<12}{'n':>5}{'correct':>9}{'wrong':>7}{'flagged':>9}{'abstained':>11}{'wrong %':>9}")
    for key in ("all", "defog", "railway", "one-table", "fk-hop"):
        c = totals.get(key)
        if c:
            wrong = c["wrong"]
            print(f"{key:<12}{c['n']:>5}{c['correct']:>9}{wrong:>7}{c['flagged']:>9}{c['abstained']:>11}"
                  f"{100 * wrong / c['n']:>8.1f}%")
    if options.out:
        options.out.write_text(json.dumps(answers, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
