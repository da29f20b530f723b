"""A semantic cache of answers on GPTCache: our embedder, faiss, SQLite (WAL), scoped, guarded.

* Keyed on the last user message only, within a *scope*: model, system prompt, tool set and
  knowledge-graph version. A change to any of them never serves a stale answer.
* A hit needs cosine similarity above a threshold chosen from data (``bench/cache.py`` on
  STS-B: the lowest threshold with hit precision >= 0.95 on the dev split), and must pass
  guards against the known false hits of semantic caches: the two questions may not differ
  in numbers, in negation, or in the proper names they mention (``GPT-4`` vs ``GPT-4o``), and
  may not be the same words in another order ("is X bigger than Y" / "is Y bigger than X").
* Then every :class:`~agentmesh.memory.verify.CacheCheck` must agree that the two questions ask
  the same thing. The default, :class:`~agentmesh.memory.verify.WordCheck`, denies by default:
  every content word of each question must be matched in the other (same lemma, an inflection, a
  number written another way, a WordNet synonym, the user's ``lexicon``), so "input"/"output",
  "Europe"/"Asia" or "buy"/"sell" refuse without anyone listing them. The ``candidates`` nearest
  entries are tried in order, so the right entry can be the second.
* A person who marks a served answer wrong (:meth:`SemanticCache.mark_wrong`) removes the
  entry, and the pair is kept: that cached question then needs a closer match to be served.
  Those marks and a judge's refusals are the cache's measured wrong-serve rate: while it is
  above ``max_error`` (1%), hits need the cosine from which the rate is within it (:meth:`~SemanticCache.bound`).
* Entries expire after ``ttl`` seconds; at most ``max_size`` are kept (LRU eviction).
* GPTCache is the data manager (SQLite + faiss, its eviction); a lookup is one faiss search
  and one indexed SQLite read, not GPTCache's ORM path (11.5 of 15.7 ms at 10k entries).

>>> cache = SemanticCache(folder, MiniLMEmbeddings())                           # doctest: +SKIP
>>> cache.put("Who develops Mixtral?", "Mistral AI.", scope="m1")               # doctest: +SKIP
>>> cache.get("Which company makes Mixtral?", scope="m1").answer                # doctest: +SKIP
'Mistral AI.'
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

os.environ.setdefault("OMP_NUM_THREADS", "1")  # faiss: one thread is faster for single queries

import numpy as np
from langchain_core.embeddings import Embeddings

from agentmesh._files import UseMark
from agentmesh.config import Settings
from agentmesh.knowledge.index import embed_texts
from agentmesh.memory.verify import (CacheCheck, JudgeBound, Judged, Lexicon, Unmatched, WordCheck, first_refusal)
from agentmesh.memory.wording import ABBREVIATIONS, REQUEST, known_abbreviation, number_words_as_digits, one_as_a, spells

__all__ = ["SemanticCache", "CacheHit", "cache_scope", "DEFAULT_THRESHOLD", "similar_enough",
           "NEGATIVE_MARGIN", "MAX_ERROR", "REFUSAL_KINDS", "refusal_kind"]

DEFAULT_THRESHOLD: float = Settings.model_fields["cache_threshold"].default
"""The settings' default (``cache_threshold``), one number for both. Chosen from data by bench/cache.py on the dev half of the general pairs, the word rule on: the highest
threshold at which it served the most paraphrases (0.60 to 0.72 served the same, 0.82 fewer; no near miss at
any of them). Since a short word's swapped letters are read as a typo, 0.60 to 0.65 serve one more (66 -> 67
of 87: a typo at cosine 0.66), none more wrong at scale; the settings' default (``cache_threshold``) is kept
at 0.72 with it. Below the threshold no candidate is read; above it the word rule decides: see README."""
SEPARATOR = "\x1f"
NEGATIVE_MARGIN = 0.01
"""A cached question marked wrong at cosine c is served again only above c + this."""
CANDIDATES = 5
"""Entries tried per lookup, nearest first: the right one can be the second."""
REFUSAL_KINDS = ("words", "guards", "marked", "judge", "bound", "checks")
"""Why a lookup was refused, by its nearest candidate: a content word unmatched, the guards (numbers,
negation, names, word order), a person's or judge's earlier "wrong" for that entry, the judge now,
the cache's error bound (:attr:`SemanticCache.max_error`), another check."""
STAT_FIELDS = ("hits", "misses", "refused", "stores", "marked_wrong", "judge_asked", "judge_trusted",
               *(f"refused_{k}" for k in REFUSAL_KINDS))
MAX_ERROR = 0.01
"""The wrong-serve rate the cache keeps by default (``cache_max_error``)."""
OUTCOMES_KEPT = 5000
"""Served hits and wrong verdicts (person, judge) kept to measure the wrong-serve rate, newest last."""
NEGATIONS = frozenset({"not", "no", "never", "without", "none", "nothing", "cannot", "can't", "don't", "doesn't",
                       "isn't", "aren't", "wasn't", "weren't", "won't", "shouldn't", "except", "neither", "nor"})
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NAME = re.compile(r"\b(?:[A-Za-z]*\d(?:[\w.\-]*\w)?|[A-Z]{2,}(?:[\w\-]*\w)?|[A-Z][a-z]+[A-Z]\w*)")
"""A name-like word; it never ends in the sentence's full stop or a dash ("Falcon 40B." names "40B")."""
_WORD = re.compile(r"[a-z0-9']+")


def cache_scope(**parts: Any) -> str:
    """A short, stable id of what an answer depends on besides the question."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_GENERAL_VOCABULARY = frozenset(ABBREVIATIONS) | frozenset(w for v in ABBREVIATIONS.values() for w in v.split())


def _vocabulary(lexicon: Lexicon | None) -> frozenset[str]:
    if lexicon is None:
        return _GENERAL_VOCABULARY
    return _GENERAL_VOCABULARY | lexicon.words() | frozenset(lexicon.synonyms) | frozenset(lexicon.synonyms.values())


def _names(text: str, vocabulary: frozenset[str] = _GENERAL_VOCABULARY) -> set[str]:
    """Named things ("GPT-4o", "Claude 2.1"); acronyms that are vocabulary ("CEO", "USD", or the
    lexicon's) are left to the word check, so "CEO" and "chief executive" can match; a number alone
    or before a word ("5", "2-bedroom") is left to the number guard."""
    return {n.lower() for n in _NAME.findall(text) if not _NUMBER_ONLY.match(n)} - vocabulary


_NUMBER_ONLY = re.compile(r"^\d+(?:[.,]\d+)*(?:k|m|mn|mln|bn|st|nd|rd|th|s|[ap]\.?m|kg|mg|g|km|cm|mm|ml|lbs|lb|oz|ft|gb|mb|tb|kb|mph|kph"
                          r"|ghz|mhz|hz|kwh|kw|-[a-z]+)?$", re.I)
"""A number, an ordinal ("21st"), a decade ("90s"), a time ("3pm"), a number with its scale ("$1.5M", "2bn") or its unit ("100g"): left to
the number guard, which reads them by value, and to the word rule."""
_PREPOSITION = frozenset("in on at for from to after before during by with within under over about".split())


@lru_cache(maxsize=50_000)
def _numbers(text: str) -> tuple[float, ...]:
    """The numbers of ``text`` by value, however written ("3.0" is 3, "1,500,000" is "1.5 million", "first" is "1st";
    see :func:`~agentmesh.memory.wording.figures`)."""
    text = one_as_a(REQUEST.sub(" ", text.lower()))  # a request's frame says no number ("quick one: ...")
    return tuple(sorted(float(n.replace(",", ".")) for n in _NUMBER.findall(number_words_as_digits(text))))


_WH = frozenset("what which who whom whose when where why how".split())
_ARTICLES = frozenset({"a", "an", "the"})


def _reordered(wa: list[str], wb: list[str]) -> bool:
    """The same words in another order that changes the question: "man bites dog" / "dog bites man".
    Not a phrase moved whole to the front ("In Japan, what is the drinking age?" / "What is the drinking
    age in Japan?"), nor a question phrase asked in place ("Penicillin was discovered in what year?" / "In
    what year was penicillin discovered?"), nor a number and its word swapped ("AD 100" / "100 AD")."""
    wa, wb = [w for w in wa if w not in _ARTICLES], [w for w in wb if w not in _ARTICLES]  # "the woman ... a bathroom"
    if wa == wb or sorted(wa) != sorted(wb):
        return False
    for x, y in ((wa, wb), (wb, wa)):
        for k in range(1, len(x)):
            if x[k:] + x[:k] == y and x[0] in _PREPOSITION:
                return False
    for x, y in ((wa, wb), (wb, wa)):  # a question phrase moved to the front: "X was found in what year?"
        for n in range(1, 5):
            phrase = x[len(x) - n:]
            if (y[:n] == phrase and any(w in _WH for w in phrase[:2]) and (phrase[0] in _WH or phrase[0] in _PREPOSITION)
                    and sorted(x[:len(x) - n]) == sorted(y[n:])):
                return False  # left to the word rule, which refuses roles swapped ("the dog bit which man?")
    diff = [k for k in range(len(wa)) if wa[k] != wb[k]]
    if _coordinated(wa[diff[0]:diff[-1] + 1], wb[diff[0]:diff[-1] + 1]):
        return False
    if len(diff) == 2 and diff[1] == diff[0] + 1 and any(w[0].isdigit() for w in (wa[diff[0]], wa[diff[1]])):
        return False
    return True


_PLAIN_NOT = frozenset({"not", "no", "none", "cannot", "can't", "don't", "doesn't", "isn't", "aren't", "wasn't", "weren't",
                        "won't", "shouldn't"})


def _negations(words: list[str]) -> frozenset[str]:
    """The negations said: "no" and "not" are one ("Is there no way" / "Is there not a way"); "never", "without",
    "except", "nothing", "neither" and "nor" each their own ("have no army" / "never had an army")."""
    return frozenset("not" if w in _PLAIN_NOT else w for w in set(words) & NEGATIONS)


def _coordinated(x: list[str], y: list[str]) -> bool:
    """``x`` is "A and B" (or "A or B") and ``y`` is "B and A": the two sides of "and" said in the other order
    ("the difference between a frog and a toad" / "between a toad and a frog")."""
    for k, word in enumerate(x):
        if word in ("and", "or") and 0 < k < len(x) - 1:
            first, second = x[:k], x[k + 1:]
            if y == [*second, word, *first]:
                return True
    return False


def _guards_pass(a: str, b: str, vocabulary: frozenset[str] = _GENERAL_VOCABULARY) -> bool:
    """False when two questions differ in numbers (in digits or words), negation or named things,
    or are the same words in another order: a high embedding similarity cannot be trusted then.
    A name on one side only that abbreviates words of the other ("NATO") is no difference."""
    if _numbers(a) != _numbers(b):
        return False
    wa, wb = _WORD.findall(a.lower()), _WORD.findall(b.lower())
    if _negations(wa) != _negations(wb):
        return False
    na, nb = _names(a, vocabulary), _names(b, vocabulary)
    if na != nb:  # an abbreviation English knows ("TV", "DNA") is left to the word rule, unless the other says it as a word
        na = {n for n in na if n in nb or not (known_abbreviation(n) and n not in wb)}
        nb = {n for n in nb if n in na or not (known_abbreviation(n) and n not in wa)}
    if na != nb and not (all(spells(n, b) for n in na - nb) and all(spells(n, a) for n in nb - na)):
        return False
    if _reordered(wa, wb):
        return False
    return True


def similar_enough(query: str, cached: str, cosine: float, threshold: float = DEFAULT_THRESHOLD, guards: bool = True) -> bool:
    return cosine >= threshold and (not guards or _guards_pass(query, cached))


@dataclass
class CacheHit:
    answer: str
    question: str
    """The cached question that matched."""
    similarity: float
    payload: dict[str, Any]
    scope: str = ""
    entry_id: int | str = 0
    """What :meth:`SemanticCache.mark_wrong` needs to remove this entry."""
    query: str = ""
    """The question that was answered from the cache."""


class _Closed:
    def close(self) -> None:
        pass


def _raised_bar(need: float, cosine: float) -> float:
    """The cosine an entry needs after a question at ``cosine`` was wrongly served or judged
    different: just above it, never lower than the ``need`` it had."""
    return max(need, min(1.0, cosine + NEGATIVE_MARGIN))


def _norm_question(text: str) -> str:
    return " ".join(text.lower().split())


class _ScopeStore:
    """One GPTCache data manager (SQLite + faiss) holding the entries of one scope, read on
    the hot path by one faiss search and one indexed SQLite query."""

    def __init__(self, owner: "SemanticCache", folder: Path) -> None:
        import faiss
        from gptcache.manager import manager_factory

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._mark = UseMark(folder)  # gc leaves a scope in use alone
        # GPTCache ignores manager_factory's max_size for its default eviction: it reads eviction_params
        self.data = manager_factory(
            "sqlite,faiss", data_dir=str(folder), vector_params={"dimension": owner.dimension},
            eviction_params={"max_size": owner.max_size, "clean_size": max(1, owner.max_size // 10), "eviction": "LRU"},
        )
        faiss.omp_set_num_threads(1)  # one thread: OpenMP start-up dominates single small searches
        with self.data.s._engine.connect() as conn:  # WAL: 3-4 ms lookups instead of 55-70 ms
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            # GPTCache reads an answer by its question id without an index: a scan per lookup
            conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS agentmesh_answer_question ON gptcache_answer(question_id)")
            conn.commit()
        self._reader = sqlite3.connect(folder / "sqlite.db", check_same_thread=False)
        self._reader.execute("PRAGMA query_only = 1")
        self._negatives_file = folder / "negatives.json"
        self.negatives: dict[str, float] = self._read_negatives()
        self._verdicts_file = folder / "verdicts.json"
        self.verdicts: list[tuple[float, bool]] = _read_json(self._verdicts_file, _verdict_list, [])
        self._trusted: float | None = None

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float, str, str]]:
        """The ``k`` entries nearest ``vector``: (id, cosine, keyed question, payload JSON), nearest first."""
        found = self.data.search(vector, top_k=k) or []
        found = [(int(i), 1.0 - float(d) / 2.0) for d, i in found if int(i) >= 0]  # unit vectors: L2² = 2 - 2 cos
        if not found:
            return []
        marks = ",".join("?" * len(found))
        rows = {row[0]: row[1:] for row in self._reader.execute(
            f"SELECT q.id, q.question, a.answer FROM gptcache_question q JOIN gptcache_answer a ON a.question_id = q.id "
            f"WHERE q.id IN ({marks}) AND q.deleted = 0", [i for i, _ in found])}
        return [(i, cosine, *rows[i]) for i, cosine in found if i in rows]

    def touch(self, entry_id: int) -> None:
        self.data.hit_cache_callback((None, entry_id))  # LRU: a served entry is the last to go

    def save(self, keyed: str, payload: str, vector: np.ndarray) -> None:
        self.data.save(keyed, payload, vector)

    def remove(self, entry_id: int) -> None:
        self.data.s.mark_deleted([entry_id])
        self.data.v.delete([entry_id])
        self.data.s.clear_deleted_data()
        lru = getattr(self.data.eviction_base, "_cache", None)  # GPTCache's in-memory LRU has no delete
        if lru is not None:
            lru.pop(entry_id, None)

    def add_negative(self, cached_question: str, cosine: float) -> float:
        key = _norm_question(cached_question)
        self.negatives[key] = _raised_bar(self.negatives.get(key, 0.0), cosine)
        _write_json(self._negatives_file, self.negatives)
        return self.negatives[key]

    def _read_negatives(self) -> dict[str, float]:
        return _read_json(self._negatives_file, lambda data: {str(k): float(v) for k, v in data.items()}, {})

    def add_verdicts(self, verdicts: list[tuple[float, bool]], keep: int) -> None:
        self.verdicts = [*self.verdicts, *verdicts][-keep:]
        self._trusted = None
        _write_json(self._verdicts_file, self.verdicts)

    def trusted_from(self, bound: JudgeBound) -> float:
        if self._trusted is None:  # recomputed only after new verdicts
            self._trusted = bound.trusted_from(self.verdicts)
        return self._trusted

    def __len__(self) -> int:
        return int(self._reader.execute("SELECT COUNT(*) FROM gptcache_question WHERE deleted = 0").fetchone()[0] or 0)

    def close(self) -> None:
        self._mark.release()
        try:
            self._reader.close()
            self.data.close()
        except Exception:  # pragma: no cover - a half-built manager
            pass
        self.data = _Closed()  # closed once: a second close (clear, then exit) finds nothing to write


def _read_json(path: Path, parse: Any, default: Any) -> Any:
    try:
        return parse(json.loads(path.read_text()))
    except (OSError, ValueError, AttributeError, TypeError):
        return default


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)  # whole or not at all


def _verdict_list(data: Any) -> list[tuple[float, bool]]:
    return [(float(c), bool(same)) for c, same in data]


class SemanticCache:
    """Answers by meaning, on GPTCache, in ``folder``: one SQLite + faiss store per scope, so a
    lookup searches only answers made under the same model, prompt, tools and graph version."""

    def __init__(
        self,
        folder: str | Path,
        embeddings: Embeddings,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        ttl: float | None = 7 * 24 * 3600,
        max_size: int = 10_000,
        guards: bool = True,
        max_open_scopes: int = 4,
        checks: Sequence[CacheCheck] | None = None,
        candidates: int = CANDIDATES,
        judge_bound: JudgeBound | None = None,
        lexicon: Lexicon | None = None,
        max_error: float = MAX_ERROR,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.embeddings = embeddings
        self.threshold, self.ttl, self.max_size, self.guards = threshold, ttl, max_size, guards
        self.max_open_scopes = max_open_scopes
        self.dimension = len(embeddings.embed_query("dimension probe"))
        self._stores: dict[str, _ScopeStore] = {}
        self._lock = threading.Lock()
        self._stats_file = self.folder / "stats.json"
        self.stats = self._read_stats()
        self._pending = 0
        self._closed = False
        self._init_checks(checks, candidates, judge_bound, lexicon, max_error)
        self._outcomes_file = self.folder / "outcomes.json"
        self._set_outcomes(_read_json(self._outcomes_file, _outcome_lists, ([], [])))
        atexit.register(_close_at_exit, weakref.ref(self))  # faiss writes its index file on close

    def _init_checks(self, checks: Sequence[CacheCheck] | None, candidates: int, judge_bound: JudgeBound | None,
                     lexicon: Lexicon | None = None, max_error: float = MAX_ERROR) -> None:
        self.lexicon = lexicon
        self._vocabulary = _vocabulary(lexicon)
        self.checks: list[CacheCheck] = list(checks) if checks is not None else [WordCheck(lexicon)]
        self.candidates = max(1, candidates)
        self.max_error = max_error
        """The wrong-serve rate the cache keeps: while the measured rate (hits marked wrong by a person,
        pairs a judge refused that the rules would have served, over the hits served) is above it,
        hits are served only from the cosine up at which that rate is within it (:meth:`bound`)."""
        self.judge_bound = judge_bound or JudgeBound()
        """When a judge (a check with ``judge = True``) need not be asked: see verify.JudgeBound."""
        self.last_verdicts: list[tuple[float, bool]] = []
        """(cosine, same) of the last lookup's judge verdicts: the backend keeps them for the bound."""
        self.last_refusals: list[tuple[str, str]] = []
        """(cached question, why it was not served) for the last lookup's candidates above the threshold."""
        self.last_judged: list[tuple[str, float]] = []
        """(cached question, cosine) of the last lookup's refusals by a judge (verify.Judged): the backend
        raises each entry's bar above that cosine, as a wrong mark does."""

    def _choose(self, question: str, candidates: Any, negatives: dict[str, float], checks: Sequence[CacheCheck],
                load: Any, trusted_from: Any = lambda bound: 2.0) -> tuple[Any, float, dict[str, Any]] | None:
        """The first of ``candidates`` ((id, cosine, cached question), nearest first) that may
        answer ``question``: above the threshold (and above what a wrong mark set for it),
        through the guards and every check, not expired. ``load(id)`` gives its payload;
        ``trusted_from(bound)`` the cosine from which the scope's judge verdicts let a hit
        through unasked."""
        self.last_refusals, self.last_judged, self.last_verdicts = [], [], []
        every = [*self.checks, *checks]
        rules = [c for c in every if not getattr(c, "judge", False)]
        judges = [c for c in every if getattr(c, "judge", False)]
        readers = [c for c in every if callable(getattr(c, "shows_same", None))]
        bound = None
        for entry_id, cosine, cached in candidates:
            if cosine < self.threshold:
                break
            need = negatives.get(_norm_question(cached), 0.0)
            reason = ""
            if bound is None:
                bound = self.bound()  # computed once per lookup, only when a candidate is above the threshold
            if cosine < need:
                reason = f"marked wrong before (by a person or a judge): needs cosine {need:.3f}"
            elif cosine < bound:
                reason = (f"below the cache's error bound: its measured wrong-serve rate is above {self.max_error:.1%}, "
                          f"so hits need cosine {bound:.3f}")
            elif self.guards and not _guards_pass(question, cached, self._vocabulary):
                reason = "differs in numbers, negation, names or word order"
            else:
                # a reading that shows the two equal (no word of either left unread) stands for the word rule
                shown = any(c.shows_same(question, cached) for c in readers)
                reason = first_refusal([c for c in rules if not (shown and isinstance(c, WordCheck))],
                                       question, cached) or ""
                if not reason and judges:
                    reason = self._judged(judges, question, cached, cosine, trusted_from)
            if reason:
                self.last_refusals.append((cached, reason))
                if isinstance(reason, Judged):
                    self.last_judged.append((cached, cosine))
                continue
            payload = load(entry_id)
            if payload is None or (self.ttl and time.time() - payload.get("stored_at", 0) > self.ttl):
                continue
            return entry_id, cosine, payload
        return None

    def _judged(self, judges: list[CacheCheck], question: str, cached: str, cosine: float, trusted_from: Any) -> str:
        """The judges' refusal, or "": asked unless the scope's verdicts so far bound the error of
        a hit at this cosine (then served unasked)."""
        if not self.judge_bound.ask(trusted_from(self.judge_bound), cosine, question, cached):
            self._count("judge_trusted")
            return ""
        self._count("judge_asked")
        reason = first_refusal(judges, question, cached) or ""
        if not reason or isinstance(reason, Judged):  # a judge that failed gave no verdict
            self.last_verdicts.append((cosine, not reason))
        if isinstance(reason, Judged):  # the rules would have served it: a wrong serve avoided, measured
            self._record_outcome(cosine, wrong=True, served=True)
        return reason

    # -- the error bound ---------------------------------------------------------------------------
    def _set_outcomes(self, outcomes: tuple[list[float], list[float]]) -> None:
        self._served, self._wrong = outcomes
        self._bound: float | None = None

    def _record_outcome(self, cosine: float, *, wrong: bool, served: bool = True) -> None:
        """A hit served at ``cosine`` (``served``), and whether it was wrong (marked by a person, or
        a judge refused what the rules would have served)."""
        if served:
            self._served = [*self._served, cosine][-OUTCOMES_KEPT:]
        if wrong:
            self._wrong = [*self._wrong, cosine][-OUTCOMES_KEPT:]
        self._bound = None
        self._save_outcomes(cosine, wrong, served)

    def _save_outcomes(self, cosine: float, wrong: bool, served: bool) -> None:
        if wrong or len(self._served) % 20 == 0:  # a wrong verdict at once, hits in batches
            _write_json(self._outcomes_file, [self._served, self._wrong])

    def measured_error(self) -> float | None:
        """The share of served hits found wrong (by a person or a judge), or None before any hit."""
        return len(self._wrong) / len(self._served) if self._served else None

    def bound(self) -> float:
        """The cosine a hit needs now: the threshold, or higher while the measured wrong-serve rate
        is above ``max_error``: the lowest cosine from which the hits served (and judged) were wrong
        at most that often."""
        if self._bound is None:
            self._bound = _error_bound(self._served, self._wrong, self.max_error, self.threshold)
        return self._bound

    def _store(self, scope: str) -> _ScopeStore:
        store = self._stores.pop(scope, None)
        if store is None:
            if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", scope):
                raise ValueError(f"cache scope {scope!r}: use letters, digits, '-' and '_' (see cache_scope())")
            store = _ScopeStore(self, self.folder / f"scope-{scope}")
        self._stores[scope] = store
        while len(self._stores) > self.max_open_scopes:
            oldest = next(iter(self._stores))
            self._stores.pop(oldest).close()
        return store

    # API ---------------------------------------------------------------------------------------
    def get(self, question: str, scope: str, *, checks: Sequence[CacheCheck] = ()) -> CacheHit | None:
        """The cached answer for ``question`` in ``scope``, or None. ``checks`` are tried after
        the cache's own (an agent adds a :class:`~agentmesh.memory.verify.KnowledgeCheck`)."""
        with self._lock:
            if scope not in self._stores and not (self.folder / f"scope-{scope}").is_dir():
                self.last_refusals = []
                self._count("misses")  # nothing was ever stored in this scope
                return None
        vector = embed_texts(self.embeddings, [question])[0]
        with self._lock:
            store = self._store(scope)
            found = store.nearest(vector, self.candidates)
            rows = {i: (keyed, raw) for i, _, keyed, raw in found}
            candidates = [(i, cosine, keyed.partition(SEPARATOR)[2]) for i, cosine, keyed, _ in found
                          if keyed.partition(SEPARATOR)[0] == scope]
            chosen = self._choose(question, candidates, store.negatives, checks, lambda i: _payload(rows[i][1]),
                                  store.trusted_from)
            for cached, cosine in self.last_judged:
                store.add_negative(cached, cosine)
            if self.last_verdicts:
                store.add_verdicts(self.last_verdicts, self.judge_bound.keep)
            if chosen is not None:
                store.touch(chosen[0])
                self._record_outcome(chosen[1], wrong=False)
            self._count("hits" if chosen else "refused" if self.last_refusals else "misses")
            if chosen is None and self.last_refusals:
                self._count(f"refused_{refusal_kind(self.last_refusals[0][1])}")
        if chosen is None:
            return None
        entry_id, cosine, payload = chosen
        return CacheHit(payload["answer"], payload.get("question", ""), round(cosine, 4), payload,
                        scope=scope, entry_id=entry_id, query=question)

    def put(self, question: str, answer: str, scope: str, **extra: Any) -> None:
        self._read_once(question)
        payload = {"answer": answer, "question": question, "stored_at": time.time(), **extra}
        vector = embed_texts(self.embeddings, [question])[0]
        with self._lock:
            self._store(scope).save(f"{scope}{SEPARATOR}{question}", json.dumps(payload, default=str), vector)
            self._count("stores")

    def _read_once(self, question: str) -> None:
        """The word check reads a stored question now, once, not at each lookup that meets it."""
        for check in self.checks:
            if isinstance(check, WordCheck):
                check.read(question)

    def mark_wrong(self, hit: CacheHit) -> float:
        """A person says ``hit`` answered the wrong question: the entry goes, and its cached
        question is served again only to a question closer than this one was; the wrong serve
        counts in the cache's measured error (:meth:`bound`). Returns the cosine that question
        now needs."""
        with self._lock:
            store = self._store(hit.scope)
            store.remove(int(hit.entry_id))
            need = store.add_negative(hit.question, hit.similarity)
            self._record_outcome(hit.similarity, wrong=True, served=False)
            self._count("marked_wrong")
            self._write_stats()
        return need

    def _count(self, field: str) -> None:
        self.stats[field] = self.stats.get(field, 0) + 1
        self._maybe_write_stats()

    def scopes(self) -> list[str]:
        return sorted(p.name.removeprefix("scope-") for p in self.folder.glob("scope-*") if p.is_dir())

    def __len__(self) -> int:
        with self._lock:
            return sum(len(self._store(scope)) for scope in self.scopes())

    def info(self) -> dict[str, Any]:
        self._write_stats()
        lookups = self.stats["hits"] + self.stats["misses"] + self.stats.get("refused", 0)
        return {"entries": len(self), "scopes": len(self.scopes()), "max_size_per_scope": self.max_size,
                "threshold": self.threshold, "ttl_seconds": self.ttl, **self.stats,
                "hit_rate": round(self.stats["hits"] / lookups, 3) if lookups else None, **self._bound_info(),
                "folder": str(self.folder)}

    def _bound_info(self) -> dict[str, Any]:
        measured = self.measured_error()
        return {"max_error": self.max_error, "measured_error": None if measured is None else round(measured, 4),
                "served_measured": len(self._served), "wrong_measured": len(self._wrong),
                "bound": round(self.bound(), 4), "lexicon": "yes" if self.lexicon is not None else "none (general English only)"}

    def clear(self) -> None:
        """Delete every entry of every scope, and the statistics."""
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
            for path in self.folder.glob("scope-*"):
                shutil.rmtree(path, ignore_errors=True)
            self.stats = dict.fromkeys(STAT_FIELDS, 0)
            self._write_stats()
            self._set_outcomes(([], []))
            self._outcomes_file.unlink(missing_ok=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.folder.exists():
            self._write_stats()
            _write_json(self._outcomes_file, [self._served, self._wrong])
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    def _read_stats(self) -> dict[str, int]:
        try:
            data = json.loads(self._stats_file.read_text())
            return {k: int(data.get(k, 0)) for k in STAT_FIELDS}
        except (OSError, ValueError):
            return dict.fromkeys(STAT_FIELDS, 0)

    def _maybe_write_stats(self) -> None:
        self._pending += 1
        if self._pending >= 20:  # persisted in batches: a file write per lookup would double its cost
            self._write_stats()

    def _write_stats(self) -> None:
        self._pending = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._stats_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.stats))
        tmp.replace(self._stats_file)


def refusal_kind(reason: str) -> str:
    """Which of :data:`REFUSAL_KINDS` a refusal reason is."""
    if isinstance(reason, Unmatched):
        return "words"
    if isinstance(reason, Judged):
        return "judge"
    for prefix, kind in (("marked wrong before", "marked"), ("below the cache's error bound", "bound"),
                         ("differs in numbers", "guards")):
        if reason.startswith(prefix):
            return kind
    return "checks"


def _error_bound(served: Sequence[float], wrong: Sequence[float], max_error: float, threshold: float) -> float:
    """The lowest cosine (the threshold at least) from which the share of wrong among served hits
    is at most ``max_error``; just above the highest wrong one when no lower cut keeps it."""
    if not wrong or not served or len(wrong) <= max_error * len(served):
        return threshold
    ordered_served, ordered_wrong = sorted(served), sorted(wrong)
    for cut in [threshold, *(min(1.0, w + NEGATIVE_MARGIN / 10) for w in ordered_wrong)]:
        if cut < threshold:
            continue
        n_served = len(ordered_served) - _bisect_left(ordered_served, cut)
        n_wrong = len(ordered_wrong) - _bisect_left(ordered_wrong, cut)
        if n_wrong <= max_error * max(n_served, 1):
            return cut
    return 1.0  # pragma: no cover - the last cut leaves no wrong one


def _bisect_left(values: Sequence[float], x: float) -> int:
    import bisect

    return bisect.bisect_left(values, x)


def _outcome_lists(data: Any) -> tuple[list[float], list[float]]:
    served, wrong = data
    return [float(c) for c in served][-OUTCOMES_KEPT:], [float(c) for c in wrong][-OUTCOMES_KEPT:]


def _payload(raw: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return payload if isinstance(payload, dict) and "answer" in payload else None


def _close_at_exit(ref: "weakref.ref[SemanticCache]") -> None:
    cache = ref()
    if cache is not None:
        cache.close()
