"""The cache benchmark's own question pairs stay labelled: the file is what its script writes,
each pair is labelled, and the sets are as large as the benchmark claims."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("build_cache_pairs", ROOT / "bench" / "data" / "build_cache_pairs.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)


def test_the_file_is_what_the_script_writes():
    assert (ROOT / "bench" / "data" / "cache_pairs.json").read_text(encoding="utf-8") == build.render(build.pairs())


def test_every_pair_is_labelled_and_the_sets_are_large_enough():
    pairs = json.loads((ROOT / "bench" / "data" / "cache_pairs.json").read_text(encoding="utf-8"))
    assert all(set(p) - {"intent"} == {"a", "b", "same", "kind"} and isinstance(p["same"], bool) and p["a"] != p["b"]
               for p in pairs)
    assert all(("intent" in p) == p["same"] for p in pairs)
    near, para = [p for p in pairs if not p["same"]], [p for p in pairs if p["same"]]
    assert len(near) >= 100 and len(para) >= 100
    assert all(p["kind"] == "paraphrase" for p in para) and all(p["kind"] != "paraphrase" for p in near)
    # a near miss is a near miss: the two questions are about the same thing in mostly the same words
    words = lambda text: set(re.findall(r"[a-z0-9.+-]+", text.lower()))  # noqa: E731
    for p in near:  # "property" pairs ask two things of one model: they share its name, not their wording
        a, b = words(p["a"]), words(p["b"])
        assert len(a & b) / len(a | b) >= (0.05 if p["kind"] == "property" else 0.4), p
    assert len({(p["a"], p["b"]) for p in pairs}) == len(pairs)
