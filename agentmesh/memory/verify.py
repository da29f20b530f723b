"""Before a cache hit is served: do the two questions ask the same thing?

Cosine similarity cannot tell "input tokens" from "output tokens": the sentences share every
word but one, and that one decides the answer. A hit skips the model, so nothing else would
catch the wrong answer. A :class:`CacheCheck` looks at the words in which the two questions
differ and refuses the hit when they contrast:

* :class:`WordCheck` (the default, no model), deny by default: every content word of each
  question must be matched in the other, by lemma, inflection, number, a WordNet synonym or
  the user's lexicon (:mod:`agentmesh.memory.wording`). Any word left unmatched refuses, so a
  difference no list names is refused too. The lexicon (``cache_lexicon``, a TOML file) adds a
  field's synonyms ("least expensive" = "cheapest") and contrast groups.
* :class:`ContrastCheck`: the lexicon's contrast groups alone (a group word on one side only).
* :class:`KnowledgeCheck`: the two questions must name the same knowledge-graph nodes and ask
  about the same property of them ("who develops X" and "which licence does X use" differ).
* :class:`ModelEquivalenceCheck` (``cache_model_check = true``, with a real model): last of all,
  the configured model is asked whether the two questions ask for the same answer: one short
  call, far cheaper than the run it saves, in the usage ledger with its tokens, cost and latency.
  It fails closed: no reply, or no clear "yes", means no hit.

>>> WordCheck().refuses("How many input tokens can GPT-4o take?", "How many output tokens can GPT-4o take?")
"'input' has no match in the other question; 'output' has no match in the other question"
>>> WordCheck().refuses("Who is the developer of Mixtral?", "Which company develops Mixtral?") is None
True
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

__all__ = ["CacheCheck", "WordCheck", "Unmatched", "ContrastCheck", "KnowledgeCheck", "ModelEquivalenceCheck", "Lexicon",
           "DEFAULT_LEXICON", "first_refusal", "EQUIVALENCE_PROMPT", "Judged", "JudgeBound"]


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


@dataclass
class Lexicon:
    """The user's words for the cache: synonyms folded to one word, and contrast groups.

    ``synonyms`` maps a phrase (lower case, whole words) to the word it stands for ("least
    expensive" -> "cheapest"): folded before the content words are matched. Each contrast group
    is a set of words of which a question means one: a group word in one question and not the
    other refuses the hit, even where a synonym (WordNet's) would have matched it. Read from a
    TOML file (``cache_lexicon``) by :meth:`load`; the framework ships none about any field."""

    synonyms: dict[str, str] = field(default_factory=dict)
    contrasts: list[frozenset[str]] = field(default_factory=list)
    filler: frozenset[str] = frozenset()
    """Words that say nothing in this field's questions ("model" where every question is about models)."""

    def extend(self, synonyms: dict[str, str] | None = None, contrasts: Iterable[Iterable[str]] = (),
               filler: Iterable[str] = ()) -> "Lexicon":
        """A copy with more synonyms and groups: ``lexicon.extend(contrasts=[["gold", "silver"]])``."""
        return Lexicon({**self.synonyms, **(synonyms or {})},
                       [*self.contrasts, *(frozenset(w.lower() for w in g) for g in contrasts)],
                       self.filler | {w.lower() for w in filler})

    def words(self) -> frozenset[str]:
        return frozenset().union(*self.contrasts) if self.contrasts else frozenset()

    @classmethod
    def load(cls, path: str | Path) -> "Lexicon":
        """A lexicon from a TOML file: ``contrasts = ["input output", ...]`` (a group as one string
        of words or a list of words), ``filler = ["model"]`` and a ``[synonyms]`` table of
        ``"phrase" = "word"``."""
        import tomllib

        from agentmesh.errors import ConfigError

        file = Path(path).expanduser()
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cache_lexicon {file}: cannot read it ({exc.strerror}); fix the path in settings") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"cache_lexicon {file}: not valid TOML ({exc})") from None
        synonyms, groups = data.get("synonyms", {}), data.get("contrasts", [])
        if not isinstance(synonyms, dict) or not all(isinstance(v, str) for v in synonyms.values()):
            raise ConfigError(f'cache_lexicon {file}: [synonyms] must map phrases to words ("least expensive" = "cheapest")')
        if not isinstance(groups, list) or not all(isinstance(g, (str, list)) for g in groups):
            raise ConfigError(f'cache_lexicon {file}: contrasts must be a list of groups (["input output", ...])')
        filler = data.get("filler", [])
        if not isinstance(filler, list) or not all(isinstance(w, str) for w in filler):
            raise ConfigError(f'cache_lexicon {file}: filler must be a list of words (["model", "models"])')
        unknown = sorted(set(data) - {"synonyms", "contrasts", "filler"})
        if unknown:
            raise ConfigError(f"cache_lexicon {file}: unknown key(s) {unknown}; use 'synonyms', 'contrasts' and 'filler'")
        return cls({k.lower(): v.lower() for k, v in synonyms.items()},
                   [frozenset(w.lower() for w in (g.split() if isinstance(g, str) else g)) for g in groups],
                   frozenset(w.lower() for w in filler))


DEFAULT_LEXICON = Lexicon()
"""No words of any field: general English (lemmas, numbers, abbreviations, WordNet) is in
:mod:`agentmesh.memory.wording`; a field's words come from the user's ``cache_lexicon`` file."""


class WordCheck:
    """The cache's own rule, deny by default: the two questions ask the same thing only when every
    content word of each is matched in the other (:func:`agentmesh.memory.wording.unmatched`), and
    no contrast group of the lexicon is said on one side only, and no roles swap places. A difference that
    nothing explains as wording refuses, whatever it is: an opposite verb, another place, another language.

    Each question is read once (remembered): a cached one when it is stored, a new one per lookup.

    >>> WordCheck().refuses("Which river is the longest in Europe?", "Which river is the longest in Asia?")
    "'europe' has no match in the other question; 'asia' has no match in the other question"
    """

    def __init__(self, lexicon: Lexicon | None = None, *, wordnet: Any = True) -> None:
        from agentmesh.memory.wording import Reader

        self.lexicon = lexicon or DEFAULT_LEXICON
        self.read = Reader(self.lexicon.synonyms, wordnet, filler=self.lexicon.filler)
        self._contrast_words = self.lexicon.words()

    def refuses(self, query: str, cached: str) -> str | None:
        from agentmesh.memory.wording import swapped, unmatched

        a, b = self.read(query), self.read(cached)
        left, right = unmatched(a, b)
        if left or right:
            return Unmatched("; ".join(f"'{w}' has no match in the other question" for w in [*left, *right]))
        if pair := swapped(a, b):
            return f"'{pair[0]}' and '{pair[1]}' swap places"
        only_a, only_b = (a.folded - b.folded) & self._contrast_words, (b.folded - a.folded) & self._contrast_words
        for group in self.lexicon.contrasts if (only_a or only_b) else ():
            left_c, right_c = sorted(only_a & group), sorted(only_b & group)
            if left_c or right_c:
                return f"'{left_c[0] if left_c else '-'}' vs '{right_c[0] if right_c else '-'}'"
        return None


class Unmatched(str):
    """A refusal of :class:`WordCheck` because a content word went unmatched (a check that reads
    both questions fully may still show them equal: :meth:`CacheCheck.shows_same`)."""


_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9.\-+]*[a-z0-9+])?|[$€£¥]")
_QUANTITY_COMPARATIVE = re.compile(r"(?<![\w-])(over|above|under|below)(?=\s+(?:[$€£¥]\s*)?\d)")
""""over"/"under" as comparatives only before a figure ("under 10B", "over $1"): "published under
Apache 2.0" and "trained over a year" compare nothing."""


def _synonym_pattern(synonyms: dict[str, str]) -> re.Pattern[str] | None:
    if not synonyms:
        return None
    phrases = sorted(synonyms, key=len, reverse=True)  # "least expensive" before "less"
    return re.compile("|".join(rf"(?<![\w-]){re.escape(p)}(?![\w-])" if p[0].isalnum() else re.escape(p)
                               for p in phrases))


class ContrastCheck:
    """Refuses when the two questions differ in a contrast-group word of ``lexicon`` (and only then:
    a list of what differs misses what it does not name; the cache's default is :class:`WordCheck`)."""

    def __init__(self, lexicon: Lexicon = DEFAULT_LEXICON) -> None:
        from agentmesh.memory.wording import ABBREVIATIONS

        self.lexicon = lexicon
        self._words = lexicon.words()
        self._table = {**ABBREVIATIONS, **lexicon.synonyms}
        self._synonyms = _synonym_pattern(self._table)

    def fold(self, text: str) -> list[str]:
        """The words of ``text``, lower case, synonyms folded to their one word."""
        lowered = _QUANTITY_COMPARATIVE.sub(lambda m: "more" if m.group(1) in ("over", "above") else "fewer",
                                            text.lower())
        if self._synonyms is not None:
            lowered = self._synonyms.sub(lambda m: f" {self._table[m.group(0)]} ", lowered)
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
    """Refuses when the two questions name different knowledge-graph nodes, or (given ``asks``)
    ask about different properties of them ("who develops X" vs "which licence does X use").

    ``named(question)`` gives the node URIs a question names (``KnowledgeBase.named_nodes``);
    ``asks(question)`` the properties it asks for, from the caller's own question reading (the
    cache imports none). It only refuses: a reading that can show two questions equal, with no
    word of either left unread, says so by a ``shows_same(query, cached)`` method of its own."""

    def __init__(self, named: Any, asks: Callable[[str], Iterable[str]] | None = None) -> None:
        self.named = named
        self._asks = asks

    def asks(self, question: str) -> frozenset[str]:
        return frozenset(self._asks(question)) if self._asks is not None else frozenset()

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
