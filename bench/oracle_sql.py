"""The open answer profile on databases it was never tuned on: right answers not overruled, wrong ones caught.

A scripted capable model runs each question's gold SQL through the agent's real ``sql`` tool
(real SQLite file, read-only, parser-checked) and then states the result in one of several
wordings; the claim check (``answer_check = flag``) marks what it cannot support. Two scores:

* **false unsupported**: correct answers with a claim marked unsupported (target <= 5%), and
  whether the text shown is the model's own;
* **wrong flagged**: the same run with a wrong answer stated (a number perturbed, a name swapped
  for another value of the same column, one total for a grouped question): share with at least
  one claim flagged (target >= 95%).

Questions come from the defog databases (``../shared/data/sql``; gold SQL in the CSV) and from
examples/railway (its checking queries), each split dev / held-out by a hash of the question.

    python bench/oracle_sql.py [--data ../shared/data/sql] [--split all|dev|heldout] [--show 8]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sqlite3
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

ROOT = Path(__file__).resolve().parents[1]
MAX_ROWS = 12
"""Results longer than this are left out: a person does not read 40 rows back as an answer."""


@dataclass
class Case:
    domain: str
    db: Path
    question: str
    sql: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)

    @property
    def split(self) -> str:
        return "dev" if int(hashlib.sha1(self.question.encode()).hexdigest(), 16) % 2 == 0 else "heldout"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _run(db: Path, sql: str) -> tuple[list[str], list[tuple]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        cursor = conn.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchmany(MAX_ROWS + 1)


def defog_cases(data: Path) -> list[Case]:
    cases = []
    with open(data / "defog_questions_sqlite.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            db = data / f"{row['db_name']}.sqlite"
            if db.is_file():
                cases.append(Case(row["db_name"], db, row["question"], row["query"].split(";")[0]))
    return cases


def railway_cases() -> list[Case]:
    """examples/railway's questions whose checking query is SQL (a module listing them, if present)."""
    folder = ROOT / "examples" / "railway"
    source = folder / "questions_src.py"
    if not source.is_file():
        return []
    sys.path.insert(0, str(folder))
    try:
        import questions_src  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    cases = []
    for item in getattr(questions_src, "QUESTIONS", []):
        if isinstance(item, dict) and item.get("sql") and not item.get("absent"):
            cases.append(Case("railway", folder / "railway.sqlite", item.get("question") or item["q"], item["sql"]))
    return cases


def phrase(case: Case, n: int) -> str:
    """The gold result said as a person would, in one of several wordings."""
    cells = [[_cell(v) for v in row] for row in case.rows]
    if len(cells) == 1 and len(cells[0]) == 1:
        value = cells[0][0]
        return [f"The answer is {value}.", f"It is {value}.", f"{value}.", f"According to the database, {value}."][n % 4]
    if all(len(r) == 1 for r in cells):
        values = [r[0] for r in cells]
        return [f"They are {', '.join(values[:-1])} and {values[-1]}." if len(values) > 1 else f"Only {values[0]}.",
                "The database lists: " + "; ".join(values) + ".",
                "\n".join(f"- {v}" for v in values)][n % 3]
    if n % 2:
        return "\n".join(f"- {' — '.join(r)}" for r in cells)
    return "Here is what I found: " + "; ".join(f"{r[0]} ({', '.join(r[1:])})" for r in cells) + "."


def wrong(case: Case, n: int) -> str | None:
    """A wrong answer in the same wording: a number changed, a name swapped, or one total for a grouped result."""
    rows = [list(r) for r in case.rows]
    numeric = [(i, j) for i, r in enumerate(rows) for j, v in enumerate(r) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    texts = [(i, j) for i, r in enumerate(rows) for j, v in enumerate(r) if isinstance(v, str) and v.strip()]
    kind = n % 3
    if kind == 2 and len(rows) > 1 and numeric:  # one total where the question asks per group
        total = sum(rows[i][j] for i, j in numeric if j == numeric[0][1])
        return f"In total, {_cell(total)}."
    if kind >= 1 and texts:
        i, j = texts[0]
        other = _other_value(case, j, {str(r[j]) for r in rows})
        if other is not None:
            rows[i][j] = other
            return phrase(Case(case.domain, case.db, case.question, case.sql, case.columns, [tuple(r) for r in rows]), n)
    if numeric:
        i, j = numeric[0]
        value = rows[i][j]
        rows[i][j] = value + 7 if isinstance(value, int) else round(value * 1.37 + 1, 2)
        return phrase(Case(case.domain, case.db, case.question, case.sql, case.columns, [tuple(r) for r in rows]), n)
    return None


def _other_value(case: Case, column: int, taken: set[str]) -> str | None:
    """Another value of the result column's source column: a real name of the database, not this answer's."""
    name = case.columns[column].split(".")[-1]
    with sqlite3.connect(f"file:{case.db}?mode=ro", uri=True) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if name in [c[1] for c in conn.execute(f'PRAGMA table_info("{table}")')]:
                for (value,) in conn.execute(f'SELECT DISTINCT "{name}" FROM "{table}" WHERE "{name}" IS NOT NULL LIMIT 50'):
                    if isinstance(value, str) and value not in taken and len(value) > 2:
                        return value
    return None


class ScriptedModel(BaseChatModel):
    """Runs the question's SQL, then says ``answers[question]``."""

    script: dict[str, tuple[str, str]]

    @property
    def _llm_type(self) -> str:
        return "agentmesh-bench-scripted-sql"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        question = messages[start].text
        sql, answer = self.script[question]
        if not any(isinstance(m, ToolMessage) for m in messages[start:]):
            message = AIMessage("", tool_calls=[{"name": "sql", "args": {"query": sql}, "id": f"call_{uuid.uuid4().hex[:8]}"}])
        else:
            message = AIMessage(answer)
        return ChatResult(generations=[ChatGeneration(message=message)])


def run(cases: list[Case], texts: dict[str, str], home: Path) -> dict[str, Any]:
    """Each case through a real agent on its database; the claims of the answer shown."""
    from agentmesh import Agent, Settings
    from agentmesh.models.testing import HashingEmbeddings

    out = {}
    by_db: dict[Path, list[Case]] = {}
    for case in cases:
        by_db.setdefault(case.db, []).append(case)
    for db, group in by_db.items():
        model = ScriptedModel(script={c.question: (c.sql, texts[c.question]) for c in group})
        settings = Settings.load(db=str(db), kg=[], tools=["sql"], cache=False, answer_check="flag", home=home)
        with Agent(settings, model=model, embeddings=HashingEmbeddings()) as agent:
            for case in group:
                result = agent.run(case.question, thread_id=uuid.uuid4().hex)
                out[case.question] = result
    return out


def answerable(cases: list[Case], split: str = "all") -> list[Case]:
    """The cases whose gold SQL runs and gives a short result without NULLs (read into each case)."""
    kept = []
    for case in cases:
        try:
            case.columns, case.rows = _run(case.db, case.sql)
        except sqlite3.Error:
            continue
        if case.rows and len(case.rows) <= MAX_ROWS and all(v is not None for r in case.rows for v in r):
            if split in ("all", case.split):
                kept.append(case)
    return kept


def answered(kept: list[Case], home: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Each case run twice through a real agent: stating the right result, and a wrong one.
    Returns the right runs, the wrong runs and the wrong texts, by question."""
    right = run(kept, {c.question: phrase(c, n) for n, c in enumerate(kept)}, home / "right")
    bad_texts = {c.question: w for n, c in enumerate(kept) if (w := wrong(c, n)) is not None}
    bad = run([c for c in kept if c.question in bad_texts], bad_texts, home / "wrong")
    return right, bad, bad_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sql")
    parser.add_argument("--split", choices=("all", "dev", "heldout"), default="all")
    parser.add_argument("--show", type=int, default=8, help="print this many false flags and missed wrong answers")
    args = parser.parse_args()

    cases = (defog_cases(args.data) if args.data.is_dir() else []) + railway_cases()
    if not cases:
        raise SystemExit(f"no questions: defog data not found at {args.data} and no examples/railway/questions_src.py")
    kept = answerable(cases, args.split)
    right, bad, bad_texts = answered(kept, Path(tempfile.mkdtemp(prefix="agentmesh-oracle-sql-")))
    wrong_cases = [c for c in kept if c.question in bad_texts]

    print(f"{'domain':<12}{'split':<9}{'right':>7}{'false unsupp.':>15}{'text own':>10}{'wrong':>7}{'flagged':>9}")
    rows = {}
    for case in kept:
        r, w = right[case.question], bad.get(case.question)
        stats = rows.setdefault((case.domain, case.split), [0, 0, 0, 0, 0])
        stats[0] += 1
        stats[1] += not r.supported
        stats[2] += r.answer.strip() == phrase(case, kept.index(case)).strip()
        if w is not None:
            stats[3] += 1
            stats[4] += not w.supported
    total = [0] * 5
    for (domain, split), s in sorted(rows.items()):
        total = [a + b for a, b in zip(total, s)]
        print(f"{domain:<12}{split:<9}{s[0]:>7}{s[1]:>15}{s[2]:>10}{s[3]:>7}{s[4]:>9}")
    for split in ("dev", "heldout"):
        s = [sum(v[i] for (d, sp), v in rows.items() if sp == split) for i in range(5)]
        if s[0]:
            print(f"{'all':<12}{split:<9}{s[0]:>7}{s[1]:>15}{s[2]:>10}{s[3]:>7}{s[4]:>9}   "
                  f"false unsupported {s[1] / s[0]:.1%} (target <= 5%), wrong flagged {s[4] / max(s[3], 1):.1%} (target >= 95%)")
    shown = 0
    for case in kept:
        r = right[case.question]
        if not r.supported and shown < args.show:
            shown += 1
            print(f"\nFALSE FLAG [{case.domain}/{case.split}] {case.question}\n  said: {phrase(case, kept.index(case))[:160]!r}")
            for c in r.unsupported[:3]:
                print(f"  unsupported: {c.text}")
    shown = 0
    for case in wrong_cases:
        w = bad[case.question]
        if w.supported and shown < args.show:
            shown += 1
            print(f"\nMISSED WRONG [{case.domain}/{case.split}] {case.question}\n  said: {bad_texts[case.question][:160]!r}")
    print(json.dumps({"cases": total[0], "false_unsupported": total[1], "wrong": total[3], "wrong_flagged": total[4]}))


if __name__ == "__main__":
    main()
