"""Evaluate an agent on questions whose answers you know: ``agentmesh eval FILE`` and :func:`evaluate`.

A question file is JSON (a list) or JSON Lines, one item per question::

    {"question": "Who develops Qwen 72B Chat?", "expected": "Alibaba Cloud"}
    {"question": "...", "values": ["Mixtral 8x7B Instruct", "70.6"]}      # every value must appear
    {"question": "...", "regex": "\\\\b12(\\\\.0)?\\\\b"}                      # the answer must match
    {"question": "Who is the CEO of Mistral AI?", "absent": true}          # not in the data: abstain

``expected`` is free text: its key values (numbers, in any of the ways people write them, and
capitalised names) must all appear in the answer. Each answer lands in one of four outcomes:

* ``correct``: the expectation is met (for ``absent``: the agent said it could not find it);
* ``abstained``: the agent said it could not find it, or showed the evidence instead (strict: also
  when the evidence it shows holds the expected values);
* ``flagged``: wrong, but shown with its unsupported claims marked (``answer_check = flag``);
* ``wrong``: wrong and shown as fact, the outcome the framework exists to prevent.

>>> score_answer("Alibaba Cloud develops it.", {"expected": "Alibaba Cloud"})
True
"""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

from agentmesh.answering.names import _norm
from agentmesh.answering.numbers import _MONTH_YEAR, _dates, _numbers
from agentmesh.errors import ConfigError

__all__ = ["EvalItem", "EvalReport", "EvalResult", "evaluate", "load_questions", "score_answer", "outcome_of", "price", "model_judge"]

Outcome = Literal["correct", "abstained", "flagged", "wrong"]
_ABSTAINED = re.compile(r"\b(could not|cannot|can't|couldn't) (find|answer)|\bnot (in|found in) the (data|knowledge graph|database)",
                        re.IGNORECASE)


@dataclass
class EvalItem:
    question: str = ""
    expected: str = ""
    values: list[str] = field(default_factory=list)
    regex: str = ""
    absent: bool = False
    tags: list[str] = field(default_factory=list)


@dataclass
class EvalResult:
    question: str
    answer: str
    outcome: Outcome
    stop_reason: str
    seconds: float
    model: str
    tokens: int
    unsupported: list[str]
    tags: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    """What the run's model calls cost by the catalog's prices; None when the model is not in it."""


@dataclass
class EvalReport:
    results: list[EvalResult]

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome == outcome for r in self.results)

    @property
    def correct_rate(self) -> float:
        return self.count("correct") / len(self.results) if self.results else 0.0

    def latency(self, q: float) -> float:
        seconds = sorted(r.seconds for r in self.results)
        if not seconds:
            return 0.0
        return statistics.quantiles(seconds, n=100, method="inclusive")[int(q * 100) - 1] if len(seconds) > 1 else seconds[0]

    def table(self) -> list[tuple[str, str]]:
        n = len(self.results) or 1
        rows = [(name, f"{self.count(name)}/{len(self.results)} ({self.count(name) / n:.0%})")
                for name in ("correct", "wrong", "flagged", "abstained")]
        rows[1] = ("wrong, shown as fact", rows[1][1])
        tags = sorted({t for r in self.results for t in r.tags[:1]})
        for tag in tags if len(tags) > 1 else ():  # each kind of question on its own: "correct, lookups"
            mine = [r for r in self.results if r.tags[:1] == [tag]]
            right = sum(r.outcome == "correct" for r in mine)
            rows.append((f"correct, {tag}", f"{right}/{len(mine)} ({right / len(mine):.0%})"))
        rows += [("latency p50 / p95", f"{self.latency(0.5):.1f} s / {self.latency(0.95):.1f} s")]
        by_model: dict[str, tuple[int, float | None]] = {}
        for r in self.results:
            tokens, cost = by_model.get(r.model, (0, 0.0))
            by_model[r.model] = (tokens + r.tokens, None if cost is None or r.cost_usd is None else cost + r.cost_usd)
        for model, (tokens, cost) in sorted(by_model.items()):
            rows.append((f"tokens ({model})", f"{tokens:,}"))
            rows.append((f"cost ({model})", "not in the model catalog" if cost is None else f"${cost:.4f}"))
        return rows

    def markdown(self) -> str:
        lines = ["# agentmesh eval", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.table()]
        lines += ["", "| outcome | question | answer |", "|---|---|---|"]
        for r in self.results:
            answer = r.answer.replace("\n", " ").replace("|", "/")[:200]
            lines.append(f"| {r.outcome} | {r.question.replace('|', '/')} | {answer} |")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        return json.dumps({"summary": dict(self.table()), "results": [asdict(r) for r in self.results]}, indent=2)


def load_questions(path: str | Path) -> list[EvalItem]:
    """Read a question file (JSON list or JSON Lines); a bad item is an error naming its line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no question file at {path}")
    text = path.read_text(encoding="utf-8")
    numbered: list[tuple[int, Any]] = []
    if text.lstrip().startswith("["):
        try:
            numbered = list(enumerate(json.loads(text), 1))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                numbered.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path} line {n}: not valid JSON ({exc.msg})") from None
    items = []
    for n, entry in numbered:
        where = f"{path} item {n}"
        if not isinstance(entry, dict) or not str(entry.get("question", "")).strip():
            raise ConfigError(f"{where}: each item needs a 'question'")
        expected = entry.get("expected", "")
        if not (expected or entry.get("values") or entry.get("regex") or entry.get("absent")):
            raise ConfigError(f"{where}: say what a right answer holds: 'expected', 'values', 'regex' or 'absent': true")
        if entry.get("regex"):
            try:
                re.compile(entry["regex"])
            except re.error as exc:
                raise ConfigError(f"{where}: 'regex' does not compile: {exc}") from None
        items.append(EvalItem(question=str(entry["question"]), expected=str(expected), values=[str(v) for v in entry.get("values", [])],
                              regex=str(entry.get("regex", "")), absent=bool(entry.get("absent")), tags=list(entry.get("tags", []))))
    if not items:
        raise ConfigError(f"{path}: no questions")
    return items


_NAME_NUMBER = re.compile(r"(?<=[A-Za-z])-\d[\w.]*")
"""A number glued to a name ("Phi-3", "GPT-4"): part of the name, not a value the text states."""


def _key_values(expected: str) -> tuple[list[set[float]], list[str], list[str]]:
    """The numbers, names and months of an expected answer (after an '=', only the result
    counts). A month is a date in either spelling: "December 2023" is met by "2023-12"."""
    head, *rest = expected.split(";")
    parts = [head.split("=")[-1], *rest]
    months = [month for text in parts for _, month in _dates(text)]
    parts = [_MONTH_YEAR.sub(" ", text) for text in parts]
    numbers = [values for text in parts for _, values, _, _ in _numbers(_NAME_NUMBER.sub(" ", text))]
    # a name ends at a bare number: "MMLU 70.6" is the name MMLU and the number 70.6
    names = [re.sub(r"(?: \d[\d.,]*)+$", "", m.group(0))
             for text in parts for m in re.finditer(r"[A-Z][\w.+-]*(?: [A-Z0-9][\w.+-]*)*", text)]
    return numbers, names, months


def _has_all(answer: str, numbers: list[set[float]], names: list[str], months: Iterable[str] = ()) -> bool:
    # a number glued to a name is part of it: "Phi-3 Medium" does not say 3
    got = [v for _, values, _, _ in _numbers(_NAME_NUMBER.sub(" ", answer)) for v in values]
    have_numbers = all(any(abs(v - g) <= max(0.051, 0.005 * abs(v)) for v in values for g in got) for values in numbers)
    text = _norm(answer)  # a name as a whole phrase: "GPT-4" is not in "GPT-4o"
    said = {month for _, month in _dates(answer)} | set(re.findall(r"(?<![\d-])(\d{4}-\d{2})(?![\d-]|-\d)", answer))
    return (have_numbers and all(re.search(rf"(?<!\w){re.escape(_norm(name))}(?!\w)", text) for name in names)
            and all(month in said for month in months))


def score_answer(answer: str, item: EvalItem | dict[str, Any]) -> bool:
    """Whether ``answer`` meets the item's expectation (see the module docstring)."""
    if isinstance(item, dict):
        item = EvalItem(**{k: v for k, v in item.items() if k in EvalItem.__dataclass_fields__})
    if item.absent:
        return bool(_ABSTAINED.search(answer))
    if item.regex and not re.search(item.regex, answer):
        return False
    if item.values:
        numbers, names = [], []
        for value in item.values:
            found = _numbers(value)
            is_number = len(found) == 1 and re.fullmatch(r"[$€£]?\s?[\d,.]+\s?[kKmMbB%]?", value.strip())
            (numbers.append(found[0][1]) if is_number else names.append(value))
        if not _has_all(answer, numbers, names):
            return False
    if item.expected:
        return _has_all(answer, *_key_values(item.expected))
    return True


Judge = Callable[[EvalItem, str], "bool | None"]
"""(item, answer) -> whether the answer states the expected one; None when the judge cannot tell."""


def model_judge(model: Any) -> Judge:
    """A judge made of a chat model: for items with a free-text ``expected`` (not ``values``,
    ``regex`` or ``absent``, which rules score exactly), the model is asked whether the answer
    states it. A reply that is neither yes nor no, or a failing call, is None: the rules decide."""
    from agentmesh.prompts import JUDGE_PROMPT

    def judge(item: EvalItem, answer: str) -> bool | None:
        if not item.expected or item.values or item.regex or item.absent:
            return None
        try:
            reply = model.invoke(JUDGE_PROMPT.format(question=item.question, expected=item.expected, answer=answer))
        except Exception:  # noqa: BLE001 - a judge that fails leaves the rules to decide
            return None
        word = re.match(r"\W*(yes|no)\b", reply.text.strip().lower())
        return None if word is None else word.group(1) == "yes"

    return judge


def outcome_of(item: EvalItem, result: Any, judge: Judge | None = None) -> Outcome:
    """The outcome of one answer (``result``: its ``answer``, ``stop_reason`` and ``unsupported``) to ``item``."""
    declined = result.stop_reason in ("evidence_only", "not_found") or bool(_ABSTAINED.search(result.answer))
    if declined and not item.absent:
        # "I could not find that ... What I found without it: <the rows>": evidence shown instead of
        # an answer is an abstention, though the rows hold the expected values
        return "abstained"
    verdict = judge(item, result.answer) if judge is not None else None
    if verdict if verdict is not None else score_answer(result.answer, item):
        return "correct"
    if declined:
        return "abstained"
    if getattr(result, "unsupported", None):
        return "flagged"
    return "wrong"


def price(model: str, catalog: Any = None) -> Callable[[int, int], float] | None:
    """The catalog's price of ``model`` (by its catalog name, its model id, or "provider:model"):
    dollars for (input tokens, output tokens), or None when the catalog does not list it."""
    if catalog is None:
        from agentmesh.models.catalog import Catalog

        catalog = Catalog.load()
    wanted = {model, model.split(":", 1)[-1]}
    spec = next((s for s in catalog if s.name in wanted or s.model in wanted), None)
    return spec.cost if spec is not None else None


def evaluate(agent: Any, items: Iterable[EvalItem], *, progress: Callable[[EvalResult], None] | None = None,
             parallel: int = 1, catalog: Any = None, judge: Judge | None = None) -> EvalReport:
    """Ask ``agent`` each question in a fresh thread and score the answers; ``parallel``
    questions at a time (worth it for a hosted or GPU-served model; the embedded model answers
    one at a time anyway). Results keep the order of ``items``.

    >>> report = evaluate(agent, load_questions("questions.jsonl"), parallel=4)   # doctest: +SKIP
    >>> report.count("wrong"), report.correct_rate                               # doctest: +SKIP

    Costs come from ``catalog`` (agentmesh.models.catalog; the built-in one by default).
    ``judge`` (e.g. ``model_judge(ChatOpenAI(...))``) scores the items whose expectation is free
    text; rules score the rest, and any item the judge cannot tell.
    """
    items = list(items)
    prices: dict[str, Callable[[int, int], float] | None] = {}

    def one(item: EvalItem) -> EvalResult:
        started = time.perf_counter()
        result = agent.run(item.question, thread_id=f"eval-{uuid.uuid4().hex[:12]}")
        while result.pending:  # an eval never runs dangerous tools unasked: it declines them
            result = agent.resume(result.thread_id, "reject")
        usage = result.usage or {}
        tokens_in, tokens_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        if result.model not in prices:
            prices[result.model] = price(result.model, catalog)
        cost = prices[result.model]
        return EvalResult(question=item.question, answer=result.answer, outcome=outcome_of(item, result, judge),
                          stop_reason=result.stop_reason, seconds=time.perf_counter() - started, model=result.model,
                          tokens=int(usage.get("total_tokens", 0)),
                          unsupported=[c.text for c in getattr(result, "unsupported", [])], tags=list(item.tags),
                          input_tokens=tokens_in, output_tokens=tokens_out,
                          cost_usd=cost(tokens_in, tokens_out) if cost is not None else None)

    if parallel <= 1:
        results = []
        for item in items:
            results.append(one(item))
            if progress is not None:
                progress(results[-1])
        return EvalReport(results)
    from concurrent.futures import ThreadPoolExecutor, as_completed

    done: dict[int, EvalResult] = {}
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="agentmesh-eval") as pool:
        futures = {pool.submit(one, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if progress is not None:
                progress(done[futures[future]])
    return EvalReport([done[i] for i in range(len(items))])
