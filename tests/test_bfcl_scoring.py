"""The BFCL scorer of bench/bfcl.py: gold calls score right, and each kind of mistake scores wrong."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "agent" / "bfcl"
spec = importlib.util.spec_from_file_location("bench_bfcl", ROOT / "bench" / "bfcl.py")
bfcl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bfcl)

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"BFCL data not found at {DATA}")


def _realise(option):
    """A value the possible answer allows: its first choice, with nested choices made too."""
    if isinstance(option, dict):
        return {k: _realise(next(v for v in vs if v != "")) for k, vs in option.items() if any(v != "" for v in vs)}
    if isinstance(option, list):
        return [_realise(v) for v in option]
    return option


def _gold_call(expected: dict) -> dict:
    name, answers = next(iter(expected.items()))
    args = {arg: _realise(next(v for v in options if v != "")) for arg, options in answers.items()
            if any(v != "" for v in options)}
    return {"name": name, "args": args}


def _items(stem: str) -> list[tuple[dict, dict | None]]:
    items = bfcl.read_jsonl(DATA / f"BFCL_v4_{stem}.json")
    gold_file = DATA / "possible_answer" / f"BFCL_v4_{stem}.json"
    golds = {g["id"]: g for g in bfcl.read_jsonl(gold_file)} if gold_file.is_file() else {}
    return [(item, golds.get(item["id"])) for item in items]


@pytest.mark.parametrize("category,stem", [("simple", "simple_python"), ("multiple", "multiple")])
def test_every_gold_call_scores_right(category, stem):
    wrong = [item["id"] for item, gold in _items(stem)
             if bfcl.score(category, item, [_gold_call(gold["ground_truth"][0])], gold)]
    assert wrong == []


def test_mistakes_score_wrong():
    item, gold = _items("simple_python")[0]  # calculate_triangle_area(base=10, height=5, unit optional)
    call = _gold_call(gold["ground_truth"][0])
    assert bfcl.score("simple", item, [call], gold) == ""
    assert "unknown function" in bfcl.score("simple", item, [{**call, "name": "other"}], gold)
    multiple, multiple_gold = _items("multiple")[0]
    other = next(f["name"] for f in multiple["function"] if f["name"] not in multiple_gold["ground_truth"][0])
    assert "wrong function" in bfcl.score("multiple", multiple, [{"name": other, "args": {}}], multiple_gold)
    assert "missing required" in bfcl.score("simple", item, [{**call, "args": {"base": 10}}], gold)
    assert "not in" in bfcl.score("simple", item, [{**call, "args": {**call["args"], "height": 6}}], gold)
    assert "unexpected" in bfcl.score("simple", item, [{**call, "args": {**call["args"], "colour": "red"}}], gold)
    assert bfcl.score("simple", item, [], gold) == "no call"
    assert bfcl.score("simple", item, [call, call], gold) == "2 calls"
    # strings compare without case, spaces or punctuation; an int stands for a float
    assert bfcl.score("simple", item, [{**call, "args": {**call["args"], "unit": "Units"}}], gold) == ""
    assert bfcl._value_ok(3, [3.0], "float") and not bfcl._value_ok(True, [1], "integer")


def test_irrelevance_is_right_only_without_a_call():
    item, _ = _items("irrelevance")[0]
    assert bfcl.score("irrelevance", item, [], None) == ""
    assert bfcl.score("irrelevance", item, [{"name": "determine_body_mass_index", "args": {}}], None).startswith("called")


def test_bfcl_types_become_json_schema():
    tool = bfcl.as_tool({"name": "f", "parameters": {"type": "dict", "properties": {
        "x": {"type": "float"}, "p": {"type": "tuple", "items": {"type": "integer"}}, "a": {"type": "any"}}}})
    params = tool["function"]["parameters"]
    assert params["type"] == "object" and params["properties"]["x"] == {"type": "number"}
    assert params["properties"]["p"] == {"type": "array", "items": {"type": "integer"}} and params["properties"]["a"] == {}
