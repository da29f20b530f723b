"""The example domain: files in sync with build.py, questions with known answers."""

from __future__ import annotations

import importlib.util
import json
import sqlite3

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "llm-landscape"


def _build_module():
    spec = importlib.util.spec_from_file_location("landscape_build", EXAMPLE / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(path):
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(map(repr, db.execute(f"SELECT * FROM {t}"))) for t in tables}
    finally:
        db.close()


def test_committed_files_match_build_py(tmp_path):
    _build_module().main(tmp_path)
    assert (tmp_path / "landscape.ttl").read_text() == (EXAMPLE / "landscape.ttl").read_text()
    assert _rows(tmp_path / "landscape.sqlite") == _rows(EXAMPLE / "landscape.sqlite")


def test_questions_file():
    questions = json.loads((EXAMPLE / "questions.json").read_text())
    assert len(questions) >= 10
    assert sum(len(q["tools"]) >= 2 for q in questions) >= 4
    assert all(q["question"].endswith("?") and q["expected"] for q in questions)


def test_headline_question_has_the_expected_answer_in_the_data():
    db = sqlite3.connect(EXAMPLE / "landscape.sqlite")
    row = db.execute(
        "SELECT m.name, b.mmlu, m.release_month FROM models m JOIN benchmarks b ON b.model_id = m.id "
        "WHERE m.license_id = 'Apache-2.0' AND m.context_window >= 32000 ORDER BY b.mmlu DESC LIMIT 1"
    ).fetchone()
    assert row == ("Mixtral 8x7B Instruct", 70.6, "2023-12")
