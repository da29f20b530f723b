"""Semantic cache quality and speed, end to end: every entry in one cache, each lookup competing with all.

A pair scored one at a time overstates precision: in use, a question meets every stored entry,
and the nearest one may belong to another question. So each set here is loaded whole into one
cache (scope), each "b" question is looked up, and a hit counts as right only when the entry
served is its own pair's "a" (or one with the same text), and the pair is labelled same.

Sets (../shared/data/cache and bench/data/cache_pairs.json):
* STS-B dev/test: pairs scored >= 4.5 must hit, pairs scored <= 2 must not;
* the 999 GPTCache paraphrase pairs (all must hit);
* agentmesh's LLM-domain pairs: >= 100 near misses that must not hit, >= 100 paraphrases that must.

Compared in the same run, on the same MiniLM vectors: agentmesh's cache (cosine, guards, the
contrast check; the knowledge check on the LLM set, as the agent adds it), the same without
the checks, and GPTCache's default decision (the nearest entry, SearchDistanceEvaluation at
0.8). The threshold is chosen on STS-B *dev* end to end (the lowest with precision >= 0.95).
Then the same with a judge as the last check (an oracle from the labels, standing in for a
configured model): asked every time, against its "no" learnt per entry, and against its verdicts
also bounding where it need not be asked (vCache's error bound, 2% at 95%); and lookup
latency p50/p95 at 10k entries (embedding excluded), on SQLite + faiss and Redis.
Targets: near misses served <= 2%, paraphrase recall >= 70%, STS-B test precision >= 0.95 at
recall >= 0.6, lookup p50 <= 3 ms.

Deny by default (issue 35), at the default threshold, before (the contrast list: ``ContrastCheck``
with the example's lexicon, the old default) and after (the word rule, ``WordCheck``), with
GPTCache's default alongside: the general near-miss and paraphrase pairs
(bench/data/cache_pairs_general.json) with their dev half (tuned on) and held-out half (never
tuned on) reported apart and near misses served per kind, and the tuning pairs written later for the dev side
only (bench/data/cache_pairs_tuning.json, "general tuning"); STS-B test and the GPTCache pairs (wrong
hits per 1,000 lookups); the LLM example pairs with the example's cache_lexicon.toml; and a scale
set of over 5,000 entries in one store (STS-B dev+test sentences, the GPTCache pairs and every pair
sentence above). Targets: held-out near misses served <= 1%, paraphrases >= 70%; at scale wrong
serves <= 1% of lookups at recall >= 30%. A hit on another pair's sentence is wrong by the labels (no label
says the two are the same); each such set also prints the wrong rate once those hits judged by hand in
bench/data/cache_pairs_judged.json as the same statement are counted right (both are reported; a new hit not
yet judged stays wrong, and --show-unlabelled N lists them).

    python bench/cache.py [--data ../shared/data/cache] [--entries 10000] [--words-only] [--no-heldout]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "llm-landscape"


def sts_pairs(path: Path) -> list[tuple[str, str, bool]]:
    pairs = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 7:
                continue
            score = float(row[4])
            if score >= 4.5 or score <= 2.0:
                pairs.append((row[5], row[6], score >= 4.5))
    return pairs


class Precomputed:
    """An embedder that looks vectors up: lookups are timed without the embedding."""

    model_id = "precomputed-minilm"

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def embed(self, texts):
        return np.vstack([self.vectors[t] for t in texts])

    def embed_query(self, text):
        return self.vectors.get(text, next(iter(self.vectors.values()))).tolist()


def _key(text: str) -> str:
    return " ".join(text.lower().split())


class Same:
    """Which questions ask the same thing: the two sides of a pair labelled same, identical
    texts, and (LLM set) paraphrases of one intent; joined transitively."""

    def __init__(self, pairs, intents: dict[str, str] | None = None) -> None:
        self.parent: dict[str, str] = {}
        for a, b, same in pairs:
            if same:
                self._join(_key(a), _key(b))
        by_intent: dict[str, str] = {}
        for text, intent in (intents or {}).items():
            if intent:
                self._join(_key(text), by_intent.setdefault(intent, _key(text)))

    def _find(self, x: str) -> str:
        while self.parent.get(x, x) != x:
            x = self.parent[x]
        return x

    def _join(self, a: str, b: str) -> None:
        self.parent[self._find(a)] = self._find(b)

    def __call__(self, a: str, b: str) -> bool:
        return self._find(_key(a)) == self._find(_key(b))


def _words_only(text: str) -> str:
    """The words of ``text`` without articles, case or punctuation."""
    return " ".join(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in ("a", "an", "the"))


class Score:
    """End to end: a hit is right when the entry served asks the same thing as the question
    (its own pair's "a", an identical text, a paraphrase of the same intent), else wrong.

    Wrong hits are also counted by kind: the pair's own "a" labelled different (a near miss the
    checks let through), or another pair's sentence, which no label covers; of those, the ones
    whose words are the question's but for articles, case and punctuation ("A man is talking." for
    "The man is talking."): counted wrong, as no label says otherwise, though a person would not."""

    def __init__(self, pairs, served, same: Same | None = None, judged: dict[tuple[str, str], bool] | None = None) -> None:
        same = same or Same(pairs)
        judged = judged or {}
        self.judged_same = self.judged_different = self.unjudged = 0
        self.unjudged_pairs: list[tuple[str, str]] = []
        self.positives = sum(s for _, _, s in pairs)
        self.right = self.wrong = self.wrong_on_near_miss = self.right_on_positive = 0
        self.wrong_partner = self.wrong_other = self.wrong_other_same_words = 0
        self.others: list[tuple[str, str]] = []  # (question, another pair's sentence served for it)
        for (a, b, label), entry in zip(pairs, served):
            if entry is None:
                continue
            if same(entry, b):
                self.right += 1
                self.right_on_positive += label
            else:
                self.wrong += 1
                self.wrong_on_near_miss += not label
                if _key(entry) == _key(a):
                    self.wrong_partner += 1
                else:
                    self.wrong_other += 1
                    self.wrong_other_same_words += _words_only(entry) == _words_only(b)
                    self.others.append((b, entry))
                    verdict = judged.get((_key(b), _key(entry)))
                    if verdict is None:
                        self.unjudged += 1
                        self.unjudged_pairs.append((b, entry))
                    elif verdict:
                        self.judged_same += 1
                    else:
                        self.judged_different += 1
        self.lookups = len(pairs)

    @property
    def wrong_judged(self) -> int:
        """Wrong hits once the unlabelled ones judged by hand (JUDGED) as asking the same are counted right."""
        return self.wrong - self.judged_same

    @property
    def precision(self) -> float:
        return self.right / (self.right + self.wrong) if self.right + self.wrong else 1.0

    @property
    def recall(self) -> float:
        return self.right_on_positive / self.positives if self.positives else 0.0


JUDGED = HERE / "data" / "cache_pairs_judged.json"
"""Hits on another pair's sentence that no label covers, judged by hand once (query, served, same, why): a second,
stricter-to-read score beside the labels-only one, never instead of it. Judged strictly: another tense or
grammatical number ("cutting potatoes" / "cutting potato") is a different statement; an article, aspect ("is
playing" / "plays") or a number in words is not."""


def judged_pairs() -> dict[tuple[str, str], bool]:
    if not JUDGED.is_file():
        return {}
    return {(_key(r["query"]), _key(r["served"])): bool(r["same"]) for r in json.loads(JUDGED.read_text())}


def all_sts(path: Path) -> list[tuple[str, str, float]]:
    with path.open(encoding="utf-8") as fh:
        return [(row[5], row[6], float(row[4])) for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                if len(row) >= 7]


def word_rule_sets(args) -> tuple[dict[str, list], dict[str, list[str]], dict[str, str], list[dict]]:
    """The sets of the deny-by-default comparison: name -> pairs, name -> extra entries stored
    (the scale set's), the LLM pairs' intents, and the general pairs (for kinds)."""
    data = args.data
    test = sts_pairs(data / "stsbenchmark" / "sts-test.csv")
    gpt = [(p["origin"], p["similar"], True) for p in json.loads((data / "gptcache_mock_pairs.json").read_text())]
    general = json.loads((HERE / "data" / "cache_pairs_general.json").read_text())
    own = json.loads((HERE / "data" / "cache_pairs.json").read_text())
    intents = {t: p["intent"] for p in own if p.get("intent") for t in (p["a"], p["b"])}
    sets = {f"general {split}": [(p["a"], p["b"], p["same"]) for p in general if p["split"] == split]
            for split in (("dev",) if args.no_heldout else ("dev", "heldout"))}
    tuning = json.loads((HERE / "data" / "cache_pairs_tuning.json").read_text())
    sets["general tuning"] = [(p["a"], p["b"], p["same"]) for p in tuning]  # dev only, never held-out: see its builder
    sets["STS-B test"], sets["GPTCache pairs"] = test, gpt
    sets["LLM example pairs"] = [(p["a"], p["b"], p["same"]) for p in own]
    sts = all_sts(data / "stsbenchmark" / "sts-dev.csv") + all_sts(data / "stsbenchmark" / "sts-test.csv")
    sets["scale"] = [(a, b, score >= 4.5) for a, b, score in sts if score >= 4.5 or score <= 2.0] + gpt
    extra = {"scale": [b for _, b, score in sts if 2.0 < score < 4.5]
             + [t for p in general + own if args.no_heldout is False or p.get("split") != "heldout" for t in (p["a"], p["b"])]}
    return sets, extra, intents, [p for p in general if not args.no_heldout or p["split"] == "dev"] + tuning


def compare_word_rule(args, vectors: dict, sets, extra, intents, general, tmp: Path) -> None:
    """Before (the contrast list) and after (the word rule), every entry of a set in one store."""
    from gptcache.similarity_evaluation import SearchDistanceEvaluation

    from agentmesh.memory.cache import DEFAULT_THRESHOLD, SemanticCache
    from agentmesh.memory.verify import ContrastCheck, Lexicon

    example = Lexicon.load(EXAMPLE / "cache_lexicon.toml")
    kinds = {(p["a"], p["b"]): p.get("kind", "") for p in general}
    judged = judged_pairs()
    evaluation = SearchDistanceEvaluation()
    low, high = evaluation.range()
    from agentmesh.memory.wording import WordNet

    net = WordNet.find()
    print(f"\nDeny by default, every entry of a set in one store, threshold {DEFAULT_THRESHOLD} (MiniLM vectors, embedding excluded); "
          f"WordNet: {net.folder if net else 'not installed (apt-get install wordnet-base), lemmas, numbers and lexicon only'}")
    print(f"{'set':<20}{'entries':>8}{'lookups':>8}  {'configuration':<34}{'wrong/1k':>9}{'near misses served':>22}"
          f"{'paraphrases served':>22}{'ms/lookup':>10}")
    for name, pairs in sets.items():
        entries = list(dict.fromkeys([a for a, _, _ in pairs] + extra.get(name, [])))
        same = Same(pairs, intents if name.startswith("LLM") else None)
        lexicon = example if name.startswith("LLM") else None
        near = sum(not label for _, _, label in pairs)
        configurations = [("before: contrast list (ContrastCheck)", dict(checks=[ContrastCheck(example)])),
                          ("after: word rule (WordCheck)", dict(lexicon=lexicon)), ("GPTCache default", None)]
        for label, options in configurations:
            started = time.perf_counter()
            if options is None:
                stored = np.vstack([vectors[a] for a in entries])
                out = []
                for _, b, _ in pairs:
                    cosines = stored @ vectors[b]
                    i = int(np.argmax(cosines))
                    score = evaluation.evaluation({}, {"search_result": (2 - 2 * float(cosines[i]), None)})
                    out.append(entries[i] if score >= (high - low) * 0.8 + low else None)
            else:
                cache = SemanticCache(tmp / f"words-{abs(hash((name, label)))}", Precomputed(vectors), ttl=None,
                                      max_size=len(entries) + 100, **options)
                for a in entries:
                    cache.put(a, a, scope="bench")
                started = time.perf_counter()
                out = []
                for _, b, _ in pairs:
                    hit = cache.get(b, "bench")
                    out.append(hit.question if hit else None)
                cache.close()
            ms = (time.perf_counter() - started) / len(pairs) * 1e3
            score = Score(pairs, out, same, judged)
            near_txt = f"{score.wrong_on_near_miss}/{near} ({score.wrong_on_near_miss / near:.1%})" if near else "-"
            print(f"{name:<20}{len(entries):>8}{len(pairs):>8}  {label:<34}{score.wrong / len(pairs) * 1000:>9.1f}"
                  f"{near_txt:>22}{f'{score.right_on_positive}/{score.positives} ({score.recall:.0%})':>22}{ms:>10.2f}")
            if score.wrong and label.startswith("after"):
                print(f"{'':<4}wrong: {score.wrong_partner} its own pair's other sentence, labelled different; "
                      f"{score.wrong_other} another pair's sentence (no label says), {score.wrong_other_same_words} of "
                      f"them the same words but for articles, case and punctuation; of those {score.wrong_other}, judged by "
                      f"hand ({JUDGED.name}): {score.judged_same} the same, {score.judged_different} different, "
                      f"{score.unjudged} not judged -> wrong/1k with the judgments {score.wrong_judged / len(pairs) * 1000:.1f} "
                      f"({score.wrong_judged / len(pairs):.2%} of lookups)")
                for question, entry in score.unjudged_pairs[:args.show_unlabelled]:
                    print(f"{'':<8}not judged: {question!r} was served {entry!r}")
            if name.startswith("general") and label.startswith("after"):
                by_kind: dict[str, list[int]] = {}
                for (a, b, label_same), entry in zip(pairs, out):
                    if not label_same:
                        counts = by_kind.setdefault(kinds.get((a, b), "?"), [0, 0])
                        counts[1] += 1
                        counts[0] += entry is not None and not same(entry, b)
                print(f"{'':<4}near misses served by kind: " + ", ".join(f"{k} {c[0]}/{c[1]}" for k, c in sorted(by_kind.items())))
                para: dict[str, list[int]] = {}
                for (a, b, label_same), entry in zip(pairs, out):
                    if label_same:
                        counts = para.setdefault(kinds.get((a, b), "?"), [0, 0])
                        counts[1] += 1
                        counts[0] += entry is not None and same(entry, b)
                print(f"{'':<4}paraphrases served by kind: " + ", ".join(f"{k} {c[0]}/{c[1]}" for k, c in sorted(para.items())))


def recall_limits(args, vectors: dict, sets, extra, judged) -> None:
    """What limits recall at scale, and what serving more would cost: the trade-off curve (wrong % of lookups
    against recall %) of letting up to ``n`` content words go unexplained when the cosine is at least ``c`` (counted on
both sides: one word said as another that nothing matches is 2, one word more on one side is 1).

    Measured, not shipped: the cache serves only what the word rule shows equal (``n = 0``). Each relaxation is
    applied to the same candidates the cache sees (the 5 nearest above the threshold, guards on), nearest first;
    the general pairs' near misses served are printed beside each point, since a near miss is usually one word."""
    from agentmesh.memory.cache import CANDIDATES, DEFAULT_THRESHOLD, _guards_pass
    from agentmesh.memory.verify import WordCheck
    from agentmesh.memory.wording import unmatched

    check = WordCheck()

    def unexplained(query: str, cached: str) -> int:
        """0 when the word rule shows the two the same; else the content words left unmatched (99: roles swapped)."""
        if check.refuses(query, cached) is None:
            return 0
        left, right = unmatched(check.read(query), check.read(cached))
        return len(left) + len(right) or 99

    def candidates(name: str) -> tuple[list, list]:
        pairs = sets[name]
        entries = list(dict.fromkeys([a for a, _, _ in pairs] + extra.get(name, [])))
        stored = np.vstack([vectors[e] for e in entries])
        found = []
        for _, b, _ in pairs:
            cosines = stored @ vectors[b]
            top = np.argsort(-cosines)[:CANDIDATES]
            found.append([(entries[i], float(cosines[i]), unexplained(b, entries[i])) for i in top
                          if cosines[i] >= DEFAULT_THRESHOLD and _guards_pass(b, entries[i])])
        return pairs, found

    def served(found, n: int, c: float) -> list[str | None]:
        return [next((e for e, cos, k in cands if k == 0 or (k <= n and cos >= c)), None) for cands in found]

    scale, scale_found = candidates("scale")
    same = Same(scale)
    positives = [(a, b) for a, b, label in scale if label]
    entries = list(dict.fromkeys([a for a, _, _ in scale] + extra.get("scale", [])))
    stored = np.vstack([vectors[e] for e in entries])
    near_partner = word_ok = 0
    for a, b in positives:
        cosines = stored @ vectors[b]
        top = [entries[i] for i in np.argsort(-cosines)[:CANDIDATES] if cosines[i] >= DEFAULT_THRESHOLD]
        if any(same(e, b) for e in top):
            near_partner += 1
            word_ok += check.refuses(b, a) is None
    print(f"\nWhat limits recall at scale ({len(entries):,} entries, {len(positives)} lookups whose pair is stored): its pair is "
          f"among the {CANDIDATES} nearest above the threshold for {near_partner} ({near_partner / len(positives):.0%}); of those the "
          f"word rule shows {word_ok} the same ({word_ok / len(positives):.0%} of all). The threshold and the candidate count are "
          f"not what limits it: the word rule is.")
    general = [name for name in sets if name.startswith("general")]
    general_found = {name: candidates(name) for name in general}
    print("Trade-off if up to n content words may go unexplained from cosine c (measured only; the cache ships n = 0). "
          "Target at scale: wrong <= 1% of lookups at recall >= 30%.")
    print(f"{'n':>4}{'c':>6}{'scale wrong %':>15}{'judged %':>10}{'recall %':>10}  "
          + "".join(f"{name + ' near misses':>30}" for name in general))
    for n, c in [(0, 1.0), *((n, c) for n in (1, 2, 3, 99) for c in (0.95, 0.9, 0.85, 0.8))]:
        score = Score(scale, served(scale_found, n, c), same, judged)
        line = (f"{'all' if n == 99 else n:>4}{'-' if n == 0 else f'{c:.2f}':>6}{score.wrong / score.lookups:>15.2%}"
                f"{score.wrong_judged / score.lookups:>10.2%}{score.recall:>10.1%}  ")
        for name in general:
            pairs, found = general_found[name]
            g = Score(pairs, served(found, n, c), Same(pairs), judged)
            near = sum(not label for _, _, label in pairs)
            line += f"{f'{g.wrong_on_near_miss}/{near} ({g.wrong_on_near_miss / near:.1%})':>30}"
        met = score.wrong / score.lookups <= 0.01 and score.recall >= 0.30
        print(line + ("  <- meets the scale target" if met else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "cache")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis for the shared-cache backend")
    parser.add_argument("--show-unlabelled", type=int, default=0, metavar="N",
                        help="print N of the STS-B test hits on another pair's sentence, at the default threshold, and N "
                             "unlabelled serves per set not yet judged by hand")
    parser.add_argument("--words-only", action="store_true",
                        help="only the deny-by-default comparison and the latency at --entries (no threshold sweep, no judge)")
    parser.add_argument("--no-heldout", action="store_true", help="leave the general pairs' held-out half out (while tuning)")
    parser.add_argument("--vectors", type=Path, help="an .npz of sentence vectors to reuse (written when missing)")
    args = parser.parse_args()
    dev_file, test_file = args.data / "stsbenchmark" / "sts-dev.csv", args.data / "stsbenchmark" / "sts-test.csv"
    gpt_file = args.data / "gptcache_mock_pairs.json"
    if not all(f.is_file() for f in (dev_file, test_file, gpt_file)):
        print(f"skipped: cache evaluation data not found under {args.data} (pass --data)")
        return

    from gptcache.similarity_evaluation import SearchDistanceEvaluation

    from agentmesh.knowledge import KnowledgeBase
    from agentmesh.memory.cache import DEFAULT_THRESHOLD, SemanticCache
    from agentmesh.memory.verify import KnowledgeCheck
    from agentmesh.models.embeddings import MiniLMEmbeddings

    dev, test = sts_pairs(dev_file), sts_pairs(test_file)
    gpt = [(p["origin"], p["similar"], True) for p in json.loads(gpt_file.read_text())]
    own_file = json.loads((HERE / "data" / "cache_pairs.json").read_text())
    own = [(p["a"], p["b"], p["same"]) for p in own_file]
    intents = {t: p["intent"] for p in own_file if p.get("intent") for t in (p["a"], p["b"])}
    near, para = [p for p in own if not p[2]], [p for p in own if p[2]]
    word_sets, word_extra, _, general = word_rule_sets(args)
    texts = sorted({t for pairs in (dev, test, gpt, own, *word_sets.values()) for a, b, _ in pairs for t in (a, b)}
                   | {t for more in word_extra.values() for t in more})
    started = time.perf_counter()
    embedder = MiniLMEmbeddings()
    known: dict[str, np.ndarray] = {}
    if args.vectors and args.vectors.is_file():
        saved = np.load(args.vectors, allow_pickle=True)
        known = dict(zip(saved["texts"], saved["vectors"]))
    todo = [t for t in texts if t not in known]
    if todo:
        known.update(zip(todo, embedder.embed(todo)))
        if args.vectors:
            np.savez(args.vectors, texts=np.array(sorted(known), dtype=object), vectors=np.vstack([known[k] for k in sorted(known)]))
    matrix = np.vstack([known[t] for t in texts])
    vectors = dict(zip(texts, matrix))
    print(f"{len(texts):,} sentences embedded in {time.perf_counter() - started:.1f}s; "
          f"STS-B dev {len(dev)} pairs, test {len(test)}, GPTCache {len(gpt)}, "
          f"agentmesh LLM pairs {len(near)} near misses + {len(para)} paraphrases")
    tmp = Path(tempfile.mkdtemp(prefix="agentmesh-bench-cache-"))
    compare_word_rule(args, vectors, word_sets, word_extra, intents, general, tmp)
    recall_limits(args, vectors, word_sets, word_extra, judged_pairs())
    chosen = DEFAULT_THRESHOLD
    if args.words_only:
        latency(args, vectors, matrix, dev, test, gpt, chosen, tmp)
        return
    kb = KnowledgeBase.open([EXAMPLE / "landscape.ttl"], embedder, cache_dir=tmp / "kg")
    kg_check = [KnowledgeCheck(kb.named_nodes)]

    def filled(name: str, pairs, **options) -> SemanticCache:
        cache = SemanticCache(tmp / name, Precomputed(vectors), max_size=len(pairs) + 100, ttl=None, **options)
        for a in dict.fromkeys(a for a, _, _ in pairs):
            cache.put(a, a, scope="bench")
        return cache

    def served(cache: SemanticCache, pairs, checks=()) -> list[str | None]:
        out = []
        for _, b, _ in pairs:
            hit = cache.get(b, "bench", checks=checks)
            out.append(hit.question if hit else None)
        return out

    # GPTCache's default decision: the nearest entry, SearchDistanceEvaluation (squared L2) at 0.8
    gptcache_eval = SearchDistanceEvaluation()
    low, high = gptcache_eval.range()

    def gptcache_default(pairs) -> list[str | None]:
        entries = list(dict.fromkeys(a for a, _, _ in pairs))
        stored = np.vstack([vectors[a] for a in entries])
        out = []
        for _, b, _ in pairs:
            cosines = stored @ vectors[b]
            i = int(np.argmax(cosines))
            score = gptcache_eval.evaluation({}, {"search_result": (2 - 2 * float(cosines[i]), None)})
            out.append(entries[i] if score >= (high - low) * 0.8 + low else None)
        return out

    # the threshold, chosen on STS-B dev end to end
    dev_cache = filled("dev", dev)
    chosen, curve = None, []
    for t in np.arange(0.60, 0.99, 0.01):
        dev_cache.threshold = float(t)
        score = Score(dev, served(dev_cache, dev))
        curve.append((round(float(t), 2), score.precision, score.recall))
        if chosen is None and score.precision >= 0.95:
            chosen = round(float(t), 2)
    dev_cache.close()
    print("\nSTS-B dev end to end (threshold: precision / recall): "
          + ", ".join(f"{t:.2f}: {p:.3f}/{r:.3f}" for t, p, r in curve[::3]))
    rule = "lowest with precision >= 0.95"
    if chosen is None:  # the target's operating point instead: the most precise with recall >= 0.6
        rule = "no threshold reaches precision 0.95; the most precise with recall >= 0.6"
        chosen = max((c for c in curve if c[2] >= 0.6), key=lambda c: c[1], default=curve[0])[0]
    print(f"threshold chosen on STS-B dev, end to end: {chosen} ({rule}; all checks on)")

    methods = [
        (f"agentmesh: cosine + guards + checks @ {chosen}", dict(threshold=chosen), True),
        (f"agentmesh: cosine + guards + checks @ {DEFAULT_THRESHOLD} (default)", dict(threshold=DEFAULT_THRESHOLD), True),
        (f"agentmesh before (cosine + guards, nearest only) @ {chosen}", dict(threshold=chosen, checks=[], candidates=1), False),
        ("agentmesh before, its old threshold @ 0.82", dict(threshold=0.82, checks=[], candidates=1), False),
    ]
    sets = [("STS-B test", test), ("GPTCache pairs", gpt), ("LLM near misses + paraphrases", own)]
    print(f"\n{'method':<58}{'set':<31}{'precision':>10}{'recall':>8}{'wrong/1k':>10}")
    results: dict[tuple[str, str], Score] = {}
    for name, options, with_kg in methods:
        for set_name, pairs in sets:
            cache = filled(f"{abs(hash((name, set_name)))}", pairs, **options)
            checks = kg_check if with_kg and pairs is own else ()
            same = Same(pairs, intents if pairs is own else None)
            results[name, set_name] = score = Score(pairs, served(cache, pairs, checks), same)
            cache.close()
            print(f"{name:<58}{set_name:<31}{score.precision:>10.3f}{score.recall:>8.3f}"
                  f"{score.wrong / score.lookups * 1000:>10.1f}")
            if score.wrong and pairs is test:
                print(f"{'':<4}wrong hits: {score.wrong_partner} its own pair's sentence, labelled different; "
                      f"{score.wrong_other} another pair's sentence (unlabelled), {score.wrong_other_same_words} "
                      f"of them the same words but for articles, case and punctuation")
    for question, served_for in results[methods[1][0], sets[0][0]].others[:args.show_unlabelled]:
        print(f"    {question!r} was served {served_for!r}")
    for set_name, pairs in sets:
        score = Score(pairs, gptcache_default(pairs), Same(pairs, intents if pairs is own else None))
        results["gptcache", set_name] = score
        print(f"{'GPTCache default (nearest, SearchDistance @ 0.8)':<58}{set_name:<31}{score.precision:>10.3f}"
              f"{score.recall:>8.3f}{score.wrong / score.lookups * 1000:>10.1f}")

    # the example as its settings configure it: its cache_lexicon.toml (the rows above have no lexicon)
    from agentmesh.memory.verify import Lexicon

    lexicon_cache = filled("llm-with-lexicon", own, threshold=DEFAULT_THRESHOLD,
                           lexicon=Lexicon.load(EXAMPLE / "cache_lexicon.toml"))
    results["with lexicon", sets[2][0]] = Score(own, served(lexicon_cache, own, kg_check), Same(own, intents))
    lexicon_cache.close()
    print("\nLLM-domain pairs, one cache holding every 'a' question (the knowledge check on):")
    for label, key in (("agentmesh now, no lexicon", methods[0][0]), ("now, default thr., no lexicon", methods[1][0]),
                       ("now, default thr., the example's lexicon", "with lexicon"),
                       ("agentmesh before", methods[3][0]), ("GPTCache default", "gptcache")):
        score = results[key, sets[2][0]]
        near_served = score.wrong_on_near_miss
        print(f"  {label:<42} near misses served another question's answer: {near_served}/{len(near)} "
              f"({near_served / len(near):.1%}, target <= 2%); paraphrase recall {score.right_on_positive}/{len(para)} "
              f"({score.right_on_positive / len(para):.0%}, target >= 70%)")

    # -- a judge's verdicts learnt (vCache), against asking the judge every time -----------------
    # The judge here is an oracle (the sets' own labels), standing in for a configured model: it
    # makes no mistakes, so this measures what learning costs in precision and recall and saves in
    # judge calls. "no learnt": each "no" raises that entry's bar. "bounded": also, once the
    # scope's verdicts bound the refused share from some cosine up at 2% (or 10%) with 95%
    # confidence, hits from there up are served unasked (one in ten still asked).
    from agentmesh.memory.verify import ContrastCheck, JudgeBound, Judged

    class OracleJudge:
        judge = True

        def __init__(self, same: Same, learnt: bool) -> None:
            self.same, self.learnt, self.calls = same, learnt, 0

        def refuses(self, query: str, cached: str) -> str | None:
            self.calls += 1
            if self.same(query, cached):
                return None
            return Judged("the judge: different") if self.learnt else "the judge: different"

    print("\nWith a judge (an oracle from the labels) as the last check: asked every time, its 'no' learnt per entry, "
          "and its verdicts bounding where it is asked")
    print(f"{'set':<31}{'thr.':>5}  {'judge':<22}{'precision':>10}{'recall':>8}{'wrong/1k':>10}{'judge calls/1k':>16}")
    for set_name, pairs in sets:
        same = Same(pairs, intents if pairs is own else None)
        for threshold in dict.fromkeys((DEFAULT_THRESHOLD, chosen)):
            for mode, learnt, error in (("every time", False, 0.0), ("no learnt", True, 0.0), ("no learnt + bounded 2%", True, 0.02),
                                        ("no learnt + bounded 10%", True, 0.10)):
                judge = OracleJudge(same, learnt)
                cache = filled(f"judge-{mode}-{threshold}-{abs(hash(set_name))}", pairs, threshold=threshold,
                               checks=[ContrastCheck(), judge], judge_bound=JudgeBound(error=error))
                score = Score(pairs, served(cache, pairs, kg_check if pairs is own else ()), same)
                cache.close()
                print(f"{set_name:<31}{threshold:>5.2f}  {mode:<22}{score.precision:>10.3f}{score.recall:>8.3f}"
                      f"{score.wrong / score.lookups * 1000:>10.1f}{judge.calls / score.lookups * 1000:>16.0f}")

    latency(args, vectors, matrix, dev, test, gpt, chosen, tmp)


def latency(args, vectors, matrix, dev, test, gpt, chosen, tmp) -> None:
    """Lookup p50/p95 at --entries entries (embedding excluded) on SQLite + faiss and Redis."""
    from gptcache.similarity_evaluation import SearchDistanceEvaluation

    from agentmesh.memory.cache import SemanticCache
    # -- latency at 10k entries -------------------------------------------------------------------
    rng = np.random.default_rng(7)
    stored = [a for a, _, _ in dev + test + gpt]
    stored = list(dict.fromkeys(stored))
    filler_n = max(0, args.entries - len(stored))
    for i in range(filler_n):  # synthetic entries to reach the size (random unit vectors)
        text = f"filler question number {i}"
        v = rng.normal(size=matrix.shape[1]).astype(np.float32)
        vectors[text] = v / np.linalg.norm(v)
        stored.append(text)
    stored = stored[: args.entries]
    hit_q = [b for a, b, l in test if l and a in set(stored)][:300]
    miss_q = []
    for i in range(300):  # questions unlike anything stored: random directions
        text = f"unseen question {i}"
        v = rng.normal(size=matrix.shape[1]).astype(np.float32)
        vectors[text] = v / np.linalg.norm(v)
        miss_q.append(text)

    def measure(name, cache) -> None:
        started = time.perf_counter()
        for q in stored:
            cache.put(q, "cached answer", scope="bench")
        print(f"\n{name}: filled {len(cache):,} entries in {time.perf_counter() - started:.1f}s")

        def timed(questions):
            times, hits = [], 0
            for q in questions:
                t0 = time.perf_counter()
                hits += cache.get(q, "bench") is not None
                times.append(time.perf_counter() - t0)
            return times, hits

        timed(hit_q[:20])  # warm-up (the Redis backend reads the scope's vectors here)
        hit_t, hits = timed(hit_q)
        miss_t, false_hits = timed(miss_q)
        ms = lambda v, q: float(np.percentile(v, q)) * 1e3  # noqa: E731
        print(f"{name}: lookup at {len(cache):,} entries (embedding excluded): "
              f"hits p50 {ms(hit_t, 50):.2f} ms p95 {ms(hit_t, 95):.2f} ms ({hits}/{len(hit_q)} hit); "
              f"misses p50 {ms(miss_t, 50):.2f} ms p95 {ms(miss_t, 95):.2f} ms ({false_hits}/{len(miss_q)} hit, should be 0)")
        return ms(hit_t, 50)

    with tempfile.TemporaryDirectory() as latency_tmp:
        cache = SemanticCache(Path(latency_tmp) / "cache", Precomputed(vectors), threshold=chosen, max_size=args.entries + 100)
        ours = measure("agentmesh on GPTCache's SQLite + faiss", cache)
        # the baseline, same store, same run: GPTCache's own lookup (adapter get -> ORM read per candidate)
        from gptcache import Cache, Config
        from gptcache.adapter.api import get as gptcache_get

        from agentmesh.memory.cache import SEPARATOR

        store = cache._store("bench")
        plain = Cache()
        plain.init(pre_embedding_func=lambda data, **_: data["prompt"],
                   embedding_func=lambda text, **_: vectors[text.partition(SEPARATOR)[2]], data_manager=store.data,
                   similarity_evaluation=SearchDistanceEvaluation(), config=Config(similarity_threshold=0.8))
        times = []
        for q in hit_q:
            t0 = time.perf_counter()
            gptcache_get(f"bench{SEPARATOR}{q}", cache_obj=plain, top_k=1)
            times.append(time.perf_counter() - t0)
        base = float(np.percentile(times, 50)) * 1e3
        print(f"GPTCache's own get on the same store: hits p50 {base:.2f} ms p95 {float(np.percentile(times, 95)) * 1e3:.2f} ms; "
              f"agentmesh's lookup (5 candidates, checks) is {base / ours:.1f}x faster at p50")
        cache.close()
        plain.data_manager = SimpleNamespace(close=lambda: None)  # GPTCache closes it again at exit, after the folder is gone
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        from agentmesh.memory.redis_cache import RedisSemanticCache

        redis_cache = RedisSemanticCache(args.redis, Precomputed(vectors), threshold=chosen, max_size=args.entries + 100,
                                         prefix=f"agentmesh-bench-{os.getpid()}")
    except Exception as exc:  # no Redis here: say so, the rest stands
        print(f"\nRedis backend not measured: {exc}")
        return
    try:
        measure(f"Redis ({args.redis})", redis_cache)
    finally:
        redis_cache.clear()
        redis_cache.close()

if __name__ == "__main__":
    main()
