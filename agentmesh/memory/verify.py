"""Before a cache hit is served: do the two questions ask the same thing?

Cosine similarity cannot tell "input tokens" from "output tokens": the sentences share every
word but one, and that one decides the answer. A hit skips the model, so nothing else would
catch the wrong answer. A :class:`CacheCheck` looks at the words in which the two questions
differ and refuses the hit when they contrast:

* :class:`ContrastCheck` (the default, no model): a lexicon of *contrast groups*, sets of
  words of which a question holds at most one meaning: directions (input/output, before/after,
  increase/decrease), superlatives and comparatives (cheapest/most expensive, more/fewer than),
  units and currencies, lifecycle (released/deprecated), terms of use (commercial/research,
  free/paid), roles (CEO/CTO) and model variants (Turbo, Mini, Instruct, ...). A group word on
  one side only refuses the hit. Synonyms are folded first ("least expensive" = "cheapest",
  "chief executive" = "CEO"), so a paraphrase still hits. Users extend the lexicon.
* :class:`KnowledgeCheck`: the two questions must name the same knowledge-graph nodes and ask
  about the same property of them ("who develops X" and "which licence does X use" differ).
* :class:`ModelEquivalenceCheck` (``cache_model_check = true``, with a real model): last of all,
  the configured model is asked whether the two questions ask for the same answer: one short
  call, far cheaper than the run it saves, in the usage ledger with its tokens, cost and latency.
  It fails closed: no reply, or no clear "yes", means no hit.

>>> ContrastCheck().refuses("How many input tokens can GPT-4o take?", "How many output tokens can GPT-4o take?")
"'input' vs 'output'"
>>> ContrastCheck().refuses("Which model is least expensive?", "Which model is the cheapest?") is None
True
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence

from agentmesh.claims import HINTS, VARIANT_WORDS, asked_fields

__all__ = ["CacheCheck", "ContrastCheck", "KnowledgeCheck", "ModelEquivalenceCheck", "Lexicon", "DEFAULT_LEXICON",
           "first_refusal", "EQUIVALENCE_PROMPT", "Judged", "JudgeBound"]


class CacheCheck(Protocol):
    """``refuses(query, cached)``: why the cached question's answer does not answer ``query``,
    or None when the two ask the same thing. Called only for candidates above the threshold.
    A reason given as :class:`Judged` is remembered for the cached entry (see there). A check
    with ``judge = True`` is costly (a model call): the cache asks it last, and only where its
    past verdicts leave doubt (:class:`JudgeBound`)."""

    def refuses(self, query: str, cached: str) -> str | None: ...


class Judged(str):
    """A refusal that is a judgment of the pair by a costly judge (a model), not a rule: the cache
    remembers it for the cached entry as it does a person's wrong mark, so that entry is served
    again only to a question closer to it than this one was, and the judge is not asked about
    the questions further away (vCache's per-entry threshold, learnt from the judge's verdicts;
    it only ever refuses more, never serves more). A failure of the judge is no judgment."""


@dataclass(frozen=True)
class JudgeBound:
    """Where a judge need not be asked: vCache's bounded error, learnt from the judge's verdicts.

    Every verdict is kept with the cosine of its pair, per scope. A hit at cosine ``c`` is
    served without asking when, among the judged pairs at ``c`` or above, the share the judge
    refused is at most ``error`` with ``confidence`` (Clopper-Pearson's exact upper bound: with
    no refusal at all, ``error=0.02`` at 95% needs 149 verdicts). Below that cosine, and for a
    share ``explore`` of the hits above it (chosen by hashing the pair, so the same pair gets the
    same treatment), the judge is asked, so the bound keeps being tested on fresh verdicts.
    ``error=0`` asks every time. Pooled per scope rather than per entry as vCache does: an entry
    is rarely looked up often enough to bound its own error, and a scope is one model, prompt
    and graph. The judge's "no" still raises the refused entry's own bar (:class:`Judged`)."""

    error: float = 0.02
    confidence: float = 0.95
    explore: float = 0.1
    keep: int = 2000
    """Verdicts kept per scope, newest last."""

    def trusted_from(self, verdicts: Sequence[tuple[float, bool]]) -> float:
        """The lowest cosine from which hits are served unasked (above 1 when there is none)."""
        if self.error <= 0:
            return 2.0
        trusted, n, refused = 2.0, 0, 0
        ordered = sorted(verdicts, reverse=True)
        for i, (cosine, same) in enumerate(ordered):
            n += 1
            refused += not same
            if i + 1 < len(ordered) and ordered[i + 1][0] == cosine:
                continue  # every verdict at this cosine counts before it is judged
            if _binomial_cdf(refused, n, self.error) <= 1 - self.confidence:
                trusted = cosine  # the upper bound on the refused share, from here up, is below error
        return trusted

    def ask(self, trusted_from: float, cosine: float, query: str, cached: str) -> bool:
        """Whether to ask the judge about this pair, given :meth:`trusted_from` of the scope's verdicts."""
        if cosine < trusted_from:
            return True
        digest = hashlib.blake2b(f"{query}\x1f{cached}".encode(), digest_size=4).digest()
        return int.from_bytes(digest, "big") / 2**32 < self.explore


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p): at most ``k`` refusals in ``n`` verdicts if the true share were ``p``."""
    if k >= n * p:  # the upper bound is never below the share seen: no need to sum
        return 1.0
    term = math.exp(n * math.log1p(-p))
    total, ratio = term, p / (1 - p)
    for i in range(k):
        term *= (n - i) / (i + 1) * ratio
        total += term
    return min(1.0, total)


def _groups(*groups: str) -> list[frozenset[str]]:
    return [frozenset(g.split()) for g in groups]


@dataclass
class Lexicon:
    """What the contrast check knows: synonyms folded to one word, then contrast groups.

    ``synonyms`` maps a phrase (lower case, whole words) to the word it stands for. Each
    contrast group is a set of words of which a question means one: the two questions
    contrast when a group word is in one and not the other."""

    synonyms: dict[str, str] = field(default_factory=dict)
    contrasts: list[frozenset[str]] = field(default_factory=list)

    def extend(self, synonyms: dict[str, str] | None = None, contrasts: Iterable[Iterable[str]] = ()) -> "Lexicon":
        """A copy with more synonyms and groups: ``DEFAULT_LEXICON.extend(contrasts=[["gold", "silver"]])``."""
        return Lexicon({**self.synonyms, **(synonyms or {})},
                       [*self.contrasts, *(frozenset(w.lower() for w in g) for g in contrasts)])

    def words(self) -> frozenset[str]:
        return frozenset().union(*self.contrasts) if self.contrasts else frozenset()


DEFAULT_LEXICON = Lexicon(
    synonyms={
        "least expensive": "cheapest", "lowest priced": "cheapest", "lowest-priced": "cheapest", "most affordable": "cheapest",
        "most expensive": "priciest", "costliest": "priciest", "highest priced": "priciest",
        "less expensive": "cheaper", "more expensive": "pricier", "costlier": "pricier",
        "biggest": "largest", "bigger": "larger", "tiniest": "smallest", "quickest": "fastest", "quicker": "faster",
        "greatest": "highest", "top": "highest", "top-scoring": "highest scoring", "best score": "highest score",
        "scores best": "scores highest", "best-scoring": "highest scoring", "best scoring": "highest scoring",
        "more than": "more", "greater than": "more", "exceeds": "more", "exceed": "more",
        "fewer than": "fewer", "less than": "fewer", "less": "fewer",
        "no more than": "atmost", "at most": "atmost", "up to": "atmost", "no fewer than": "atleast",
        "no less than": "atleast", "at least": "atleast", "minimum of": "atleast",
        "came out": "released", "come out": "released", "launched": "released", "launch": "released", "release": "released",
        "retired": "deprecated", "discontinued": "deprecated", "deprecation": "deprecated", "sunset": "deprecated",
        "non-commercial": "noncommercial", "non commercial": "noncommercial",
        "at no cost": "free", "for free": "free", "free of charge": "free",
        "chief executive officer": "ceo", "chief executive": "ceo", "chief technology officer": "cto",
        "chief financial officer": "cfo", "founded": "founder", "founders": "founder",
        "prompt tokens": "input token", "completion tokens": "output token", "prompt": "input", "completion": "output",
        "$": "dollar", "usd": "dollar", "us dollars": "dollar", "dollars": "dollar", "€": "euro", "eur": "euro",
        "euros": "euro", "£": "pound", "gbp": "pound", "pounds": "pound", "¥": "yen", "jpy": "yen",
        "ms": "millisecond", "msec": "millisecond", "milliseconds": "millisecond", "secs": "second", "sec": "second",
        "seconds": "second", "mins": "minute", "minutes": "minute", "hrs": "hour", "hours": "hour", "hourly": "hour",
        "days": "day", "daily": "day", "weeks": "week", "weekly": "week", "months": "month", "monthly": "month",
        "years": "year", "yearly": "year", "annually": "year", "tokens": "token", "words": "word",
        "characters": "character", "chars": "character", "bytes": "byte", "pages": "page",
        "earliest": "first", "oldest": "first", "latest": "last", "newest": "last", "most recent": "last",
        "begins": "start", "began": "start", "begin": "start", "starts": "start", "ends": "end", "finishes": "end",
        "rises": "increase", "rise": "increase", "grows": "increase", "grow": "increase", "increases": "increase",
        "falls": "decrease", "fall": "decrease", "drops": "decrease", "drop": "decrease", "shrinks": "decrease",
        "decreases": "decrease", "downloads": "download", "uploads": "upload",
        "mondays": "monday", "tuesdays": "tuesday", "wednesdays": "wednesday", "thursdays": "thursday",
        "fridays": "friday", "saturdays": "saturday", "sundays": "sunday", "weekends": "weekend", "weekdays": "weekday",
        "jan": "january", "feb": "february", "apr": "april", "jun": "june", "jul": "july", "aug": "august",
        "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
    },
    contrasts=_groups(
        "input output", "before after", "increase decrease", "start end", "first last", "buy sell",
        "upload download", "import export", "send receive", "read write", "open closed proprietary",
        "highest lowest largest smallest cheapest priciest best worst fastest slowest longest shortest most least "
        "maximum minimum max min",
        "higher lower larger smaller cheaper pricier better worse faster slower longer shorter more fewer atleast atmost",
        "token word character byte page kb mb gb tb",
        "millisecond second minute hour day week month year",
        "dollar euro pound yen cent",
        "released deprecated announced",
        "commercial noncommercial research personal academic",
        "free paid",
        "ceo cto cfo coo founder chairman president",
        " ".join(sorted(VARIANT_WORDS)),
        "monday tuesday wednesday thursday friday saturday sunday weekday weekend",
        # "may" and "march" are verbs too often to be read as months
        "january february april june july august september october november december",
        "north south east west northeast northwest southeast southwest northern southern eastern western",
    ),
)
"""Synonyms and contrast groups for questions about models, prices, limits and dates (days of the
week, months and compass directions included: "stocks close higher on Wednesday" is not Friday's)."""

_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9.\-+]*[a-z0-9+])?|[$€£¥]")
_QUANTITY_COMPARATIVE = re.compile(r"(?<![\w-])(over|above|under|below)(?=\s+(?:[$€£¥]\s*)?\d)")
""""over"/"under" as comparatives only before a figure ("under 10B", "over $1"): "published under
Apache 2.0" and "trained over a year" compare nothing."""


def _synonym_pattern(lexicon: Lexicon) -> re.Pattern[str] | None:
    if not lexicon.synonyms:
        return None
    phrases = sorted(lexicon.synonyms, key=len, reverse=True)  # "least expensive" before "less"
    return re.compile("|".join(rf"(?<![\w-]){re.escape(p)}(?![\w-])" if p[0].isalnum() else re.escape(p)
                               for p in phrases))


class ContrastCheck:
    """The default :class:`CacheCheck`: refuses when the two questions differ in a contrast-group word."""

    def __init__(self, lexicon: Lexicon = DEFAULT_LEXICON) -> None:
        self.lexicon = lexicon
        self._words = lexicon.words()
        self._synonyms = _synonym_pattern(lexicon)

    def fold(self, text: str) -> list[str]:
        """The words of ``text``, lower case, synonyms folded to their one word."""
        lowered = _QUANTITY_COMPARATIVE.sub(lambda m: "more" if m.group(1) in ("over", "above") else "fewer",
                                            text.lower())
        if self._synonyms is not None:
            lowered = self._synonyms.sub(lambda m: f" {self.lexicon.synonyms[m.group(0)]} ", lowered)
        # a compound counts with its parts: "open-weight" says "open" as "open weights" does
        return [part for token in _TOKEN.findall(lowered)
                for part in (token, *(token.split("-") if "-" in token else ()))]

    def refuses(self, query: str, cached: str) -> str | None:
        a, b = set(self.fold(query)), set(self.fold(cached))
        only_a, only_b = (a - b) & self._words, (b - a) & self._words
        if not (only_a or only_b):
            return None
        for group in self.lexicon.contrasts:
            left, right = sorted(only_a & group), sorted(only_b & group)
            if left or right:
                return f"'{left[0] if left else '-'}' vs '{right[0] if right else '-'}'"
        return None  # pragma: no cover - every lexicon word is in a group


class KnowledgeCheck:
    """Refuses when the two questions name different knowledge-graph nodes, or ask about
    different properties of them ("who develops X" vs "which licence does X use").

    ``named(question)`` gives the node URIs a question names (``KnowledgeBase.named_nodes``);
    ``hints`` maps question words to the property they ask for (``agentmesh.claims.HINTS``)."""

    def __init__(self, named: Any, hints: dict[str, str] | None = None) -> None:
        self.named = named
        self.hints = HINTS if hints is None else hints

    def asks(self, question: str) -> frozenset[str]:
        return frozenset(asked_fields(question, self.hints))

    def refuses(self, query: str, cached: str) -> str | None:
        a, b = set(self.named(query)), set(self.named(cached))
        if a != b:
            return f"names {sorted(a - b) or '-'} vs {sorted(b - a) or '-'}"
        asks_a, asks_b = self.asks(query), self.asks(cached)
        if a and asks_a and asks_b and asks_a != asks_b:
            return f"asks for {sorted(asks_a)} vs {sorted(asks_b)}"
        return None


EQUIVALENCE_PROMPT = (
    "You decide whether a stored answer may be reused. Two questions follow, A and B. Reply with one word: "
    "YES if an answer to B answers A exactly (the same thing, the same entity, the same property, unit, direction "
    "and time), NO otherwise. When unsure, reply NO.")


class ModelEquivalenceCheck:
    """Asks ``model`` whether the cached question and the new one ask for the same answer.

    Verdicts are remembered per pair (at most ``memo`` pairs). Each call goes in ``ledger``
    (a :class:`~agentmesh.models.routed.UsageLedger`) as thread ``cache-check`` with its tokens,
    ``cost(input, output)`` and latency. Any failure, or a reply that is not a clear yes,
    refuses the hit: a wasted run costs less than a wrong answer."""

    judge = True
    """Costly: the cache asks it last, and only where its past verdicts leave doubt (JudgeBound)."""

    def __init__(self, model: Any, *, ledger: Any = None, name: str = "", cost: Any = None, memo: int = 4096) -> None:
        self.model, self.ledger, self.name, self.cost = model, ledger, name or type(model).__name__, cost
        self._memo: dict[tuple[str, str], str | None] = {}
        self._size = memo

    def refuses(self, query: str, cached: str) -> str | None:
        import time

        from langchain_core.messages import HumanMessage, SystemMessage

        key = (" ".join(query.lower().split()), " ".join(cached.lower().split()))
        if key in self._memo:
            return self._memo[key]
        started = time.perf_counter()
        messages = [SystemMessage(EQUIVALENCE_PROMPT), HumanMessage(f"A: {query}\nB: {cached}")]
        try:
            reply = self.model.invoke(messages)
        except Exception as exc:  # noqa: BLE001 - fail closed, whatever went wrong
            self._record(0, 0, started, "error", f"{type(exc).__name__}")
            return f"the equivalence check could not run ({type(exc).__name__}): not served"
        usage = getattr(reply, "usage_metadata", None) or {}
        self._record(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)), started, "ok", "cache equivalence check")
        word = re.sub(r"[^a-z]", " ", str(reply.text).lower()).split()
        verdict = None if word[:1] == ["yes"] else Judged(f"the model judges them different ({' '.join(word[:6]) or 'no reply'})")
        if len(self._memo) >= self._size:
            self._memo.pop(next(iter(self._memo)))
        self._memo[key] = verdict
        return verdict

    def _record(self, inp: int, out: int, started: float, outcome: str, reason: str) -> None:
        import time

        if self.ledger is not None:
            cost = float(self.cost(inp, out)) if self.cost is not None and outcome == "ok" else 0.0
            self.ledger.record("cache-check", self.name, inp, out, cost, (time.perf_counter() - started) * 1e3, outcome, reason)


def first_refusal(checks: Sequence[CacheCheck], query: str, cached: str) -> str | None:
    for check in checks:
        reason = check.refuses(query, cached)
        if reason:
            return reason
    return None
