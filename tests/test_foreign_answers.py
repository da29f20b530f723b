"""A capable model's answers on data agentmesh was never tuned on: right ones are not marked
unsupported, wrong ones are (bench/oracle_sql.py, run as a test on examples/railway, and on the
defog databases when ../shared/data is beside the checkout)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFOG = ROOT.parent / "shared" / "data" / "sql"


def _bench():
    spec = importlib.util.spec_from_file_location("oracle_sql", ROOT / "bench" / "oracle_sql.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _rates(cases, tmp_path):
    bench = _bench()
    kept = bench.answerable(cases)
    right, bad, _ = bench.answered(kept, tmp_path)
    false_flags = [q for q, r in right.items() if not r.supported]
    missed = [q for q, r in bad.items() if r.supported]
    return kept, false_flags, missed, len(bad)


@pytest.mark.no_lexicon
def test_a_capable_model_on_the_railway_data_is_neither_overruled_nor_believed_when_wrong(tmp_path):
    bench = _bench()
    kept, false_flags, missed, wrong = _rates(bench.railway_cases(), tmp_path)
    assert len(kept) >= 50
    assert len(false_flags) <= 0.05 * len(kept), false_flags
    assert len(missed) <= 0.05 * wrong, missed


@pytest.mark.no_lexicon
@pytest.mark.skipif(not DEFOG.is_dir(), reason=f"defog data not found at {DEFOG} (it lives in ../shared beside the checkout)")
def test_a_capable_model_on_the_defog_databases_is_neither_overruled_nor_believed_when_wrong(tmp_path):
    bench = _bench()
    kept, false_flags, missed, wrong = _rates(bench.defog_cases(DEFOG), tmp_path)
    assert len(kept) >= 150
    assert len(false_flags) <= 0.05 * len(kept), false_flags
    assert len(missed) <= 0.05 * wrong, missed
