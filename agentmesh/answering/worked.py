"""Quantities worked out from the evidence by arithmetic (a share, a cost, a gap), and what a
question asks to be worked out that the evidence does not state.

The framework does the arithmetic, not the model, and only when the evidence leaves no choice of
what to compute from what; the steps are shown in the evidence item it returns.
"""

from __future__ import annotations

import re
from typing import Sequence

from agentmesh.english import CURRENCIES
from agentmesh.answering.lexicon import current_lexicon
from agentmesh.answering.names import _name_words, _named_share, said_whole
from agentmesh.answering.numbers import _unit_of
from agentmesh.answering.picking import _listed
from agentmesh.answering.questions import _stems
from agentmesh.answering.rows import _NAME_COLUMNS, _cells
from agentmesh.records import Evidence

__all__ = ["DERIVED_HEADER", "RECORDED_VALUE_TOOLS", "unworked", "worked_out", "worked_share", "worked_cost",
           "worked_gap", "unworked_answer"]

_COMPARED = r"\bhow much (?:higher|lower|more|less|better|worse|bigger|smaller|larger|cheaper)\b"
"""A difference asked as "how much higher/lower/... is A than B"."""
_DERIVED = re.compile(r"\b(share|percentage|percent|fraction|proportion|ratio|gap|difference|total|sum|average|mean|"
                      r"combined|altogether)\b|\bhow much (?:would|will|does|do|did)\b.*\bfor\s+\d|" + _COMPARED, re.IGNORECASE)
"""A quantity worked out from others ("what share of its parameters is active", "the MMLU gap
between A and B", "how much for 2M tokens"), not looked up."""
DERIVED_HEADER = "I could not work out the {what} from the evidence; this is what it says:"


RECORDED_VALUE_TOOLS = ("sql_rank", "sql_lookup")
"""Tools whose rows are values the data records (a named row's price, the highest score), never
values worked out from them, whatever the question asks."""


def unworked(question: str, items: Sequence[Evidence]) -> str:
    """What ``question`` asks to be worked out ("share", "gap") when none of ``items`` states it,
    else "". Graph facts hold what was recorded: "active parameters: 12.9" and "parameters: 46.7"
    are true, but they are not the share, and shown as the answer they would pass for one. A tool's
    row or output (a SQL AVG, a python result) is a worked-out value, but not a row of the
    ``RECORDED_VALUE_TOOLS``; so is a fact named for it."""
    match = _DERIVED.search(question)
    if match is None:
        return ""
    what = (match.group(1) or ("difference" if re.match(_COMPARED, match.group(0), re.I) else "cost")).lower()
    for e in items:
        if e.kind == "output" or (e.kind == "row" and not e.source.startswith(RECORDED_VALUE_TOOLS)):
            return ""
        if e.kind == "fact" and what[:4] in e.text.split(":", 1)[0].lower():
            return ""
    return what


_SHARE = re.compile(r"\b(share|percentage|percent|fraction|proportion)\b", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def worked_out(question: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The quantity a question asks to be worked out, when the evidence fixes how: a share of a
    part in its whole (:func:`worked_share`), a cost from a row's rates (:func:`worked_cost`), or
    the gap between two named things' values of one measure (:func:`worked_gap`)."""
    return worked_share(question, evidence) or worked_cost(question, evidence) or worked_gap(question, evidence)


def worked_share(question: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The share a question asks for, worked out by arithmetic from two facts of one node it
    names: a part and the whole it is part of, their names the same but for the part's
    qualifier and in the same unit ("active parameters (billions): 12.9" of "parameters
    (billions): 46.7" is 27.6%), each word of the part's name in the question. None when no
    such pair, or more than one, is there: the framework works out the share, not the model,
    and only when the evidence leaves no choice of what to divide by what."""
    if not _SHARE.search(question):
        return None
    q_words = _name_words(question)
    q_stems = _stems(question)
    numbers: dict[str, list[tuple[str, frozenset[str], str, float, Evidence]]] = {}
    for e in evidence:
        if e.kind != "fact" or ":" not in e.text or not e.subject:
            continue
        if _named_share(e.subject, q_words) < 0.6:
            continue  # a node the question does not name
        name, _, value = (part.strip() for part in e.text.partition(":"))
        if not _PLAIN_NUMBER.match(value):
            continue
        words, unit = name.partition("(")[0], name.partition("(")[2]
        numbers.setdefault(e.source, []).append((name, frozenset(_stems(words)), unit, float(value), e))
    pairs = [(part, whole) for facts in numbers.values() for part in facts for whole in facts
             if whole[1] < part[1] and part[2] == whole[2] and part[1] <= q_stems and 0 < part[3] <= whole[3]]
    if len(pairs) != 1:
        return None
    (part_name, _, _, part, e), (whole_name, _, _, whole, _) = pairs[0]
    text = f"{part_name} as a share of {whole_name}: {part:g} / {whole:g} = {100 * part / whole:.1f}%"
    return Evidence(id="w0", kind="output", text=text, subject=e.subject, source=e.source)  # the node it is worked out from


_RATE_COLUMN = re.compile(r"^(?P<what>[a-z]+)_per_(?P<per>\d+(?:\.\d+)?)(?P<suf>[kmb]?)_(?P<cur>[a-z]{3})$")
"""A price per amount of something: ``input_per_1m_usd`` is USD per 1M input (tokens)."""
_AMOUNT = re.compile(r"(?<![\w.$])(?P<num>\d+(?:\.\d+)?)\s?(?P<suf>[kKmMbB]|thousand|million|billion)?\s+(?P<what>[a-z]+)\b")
_AMOUNT_SCALE = {"": 1, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9}


def worked_cost(question: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The cost a question asks for ("How much does GPT-4o cost for 2M input and 500K output
    tokens?"), worked out from one row's rates: each amount the question gives ("2M input") times
    the row's column priced per that thing (``input_per_1m_usd``: 2.5), summed. Only when exactly
    one row has a rate for every amount the question gives, and every rate in one currency, the
    one the question asks in, if any; and a rate is read as per token (the columns say no unit),
    so amounts in words or characters are not priced. None otherwise: the framework does the
    arithmetic, and only when the evidence leaves no choice."""
    if not _DERIVED.search(question) or "cost" not in question.lower() and "price" not in question.lower():
        return None
    amounts = {m["what"].lower(): float(m["num"]) * _AMOUNT_SCALE[(m["suf"] or "").lower()] for m in _AMOUNT.finditer(question)}
    unit_of = _unit_of()
    said = {unit_of[w] for w in re.findall(r"[a-z]+|[$€£]", question.lower()) if w in unit_of}
    found: list[tuple[Evidence, str, list[tuple[str, float, float, float]], str]] = []
    for e in evidence:
        if (read := _cells(e)) is None:
            continue
        pairs, named = read
        rates, currencies = [], set()
        for column, value in pairs:
            rate = _RATE_COLUMN.match(column.lower())
            if rate is None or rate["what"] not in amounts or not _PLAIN_NUMBER.match(value):
                continue
            # a rate per 1M (of what the column counts, which it does not say) does not price 2M words
            # or characters of the question's, nor does a USD rate give euros
            if said & {"words", "characters"} or said & CURRENCIES - {rate["cur"]}:
                continue
            per = float(rate["per"]) * _AMOUNT_SCALE[rate["suf"]]
            rates.append((rate["what"], amounts[rate["what"]], per, float(value)))
            currencies.add(rate["cur"].upper())
        if rates and {w for w, *_ in rates} == set(amounts) and len(currencies) == 1 and named:
            found.append((e, named, rates, currencies.pop()))
    if len({(name, tuple(rates)) for _, name, rates, _ in found}) != 1:
        return None
    e, name, rates, currency = found[0]
    total = sum(amount / per * price for _, amount, per, price in rates)
    steps = " + ".join(f"{_count(amount)} {what} x {price:g} {currency} per {_count(per)}" for what, amount, per, price in rates)
    text = f"cost: {steps} = {total:.2f} {currency}"
    return Evidence(id="w0", kind="output", text=text, subject=name, source=e.source)


_GAP = re.compile(r"\b(gap|difference)\b|" + _COMPARED, re.IGNORECASE)


_RANK_WORD = re.compile(r"\b(best|highest|lowest|top|largest|smallest|cheapest|most|least|worst)\b")


def _measure_units() -> frozenset[str]:
    """Words of a column's name that give its unit, not what it measures ("input_per_1m_usd"):
    currencies, and the domain's unit abbreviations (the lexicon's ``units``)."""
    return CURRENCIES | frozenset(current_lexicon().units)


def worked_gap(question: str, evidence: Sequence[Evidence]) -> Evidence | None:
    """The gap a question asks for between two things it names whole ("the MMLU gap between GPT-4
    and Qwen 72B Chat"), worked out from their values of the one measure it names: a row's
    column or a fact's name, each of its words in the question. One of the two may be the top
    row of a ranking the question says instead of a name ("between GPT-4 and the best
    open-weight model": sql_rank's row). The first thing said minus the second, with the
    arithmetic shown. Only when exactly two things have a value of exactly one such measure;
    None otherwise."""
    if not _GAP.search(question):
        return None
    lowered, q_stems = question.lower(), _stems(question)
    values: dict[str, dict[str, tuple[str, Evidence]]] = {}  # measure -> thing -> (value, item)
    for e in evidence:
        if (read := _cells(e)) is not None:
            pairs, thing = read
            for column, cell in pairs if thing else ():
                if column.lower() not in _NAME_COLUMNS and _PLAIN_NUMBER.match(cell):
                    values.setdefault(column, {}).setdefault(thing, (cell, e))
        elif e.kind == "fact" and e.subject and ":" in e.text:
            name, _, value = (part.strip() for part in e.text.partition(":"))
            if _PLAIN_NUMBER.match(value):
                values.setdefault(name, {}).setdefault(e.subject, (value, e))
    ranking = _RANK_WORD.search(lowered)
    found = []
    for measure, by_thing in values.items():
        stems = _stems(measure.partition("(")[0].replace("_", " ")) - _measure_units()
        if not stems or not stems <= q_stems:
            continue
        where = {t: spans[0][0] for t in by_thing if (spans := said_whole(t, question))}
        # a ranked row stands for the ranking the question says ("the best open-weight model")
        ranked = [t for t, (_, e) in by_thing.items() if t not in where and e.source.startswith("sql_rank")]
        if ranking is not None and len(where) == 1 and len(ranked) == 1:
            where[ranked[0]] = ranking.start()
        if len(where) == 2:
            found.append((measure, sorted(where, key=where.get), by_thing))
    if len(found) != 1:
        return None
    measure, (first, second), by_thing = found[0]
    (a, item), (b, _) = by_thing[first], by_thing[second]
    places = max(len(v.partition(".")[2]) for v in (a, b))
    text = f"{measure} gap: {first} {a} - {second} {b} = {float(a) - float(b):.{places}f}"
    return Evidence(id="w0", kind="output", text=text, source=item.source)


def _count(amount: float) -> str:
    """2000000 -> "2M", 500000 -> "500K": amounts as the question writes them."""
    for suffix, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if amount >= scale and (amount / scale) == round(amount / scale, 3):
            return f"{amount / scale:g}{suffix}"
    return f"{amount:g}"


def unworked_answer(what: str, items: Sequence[Evidence], header: str = DERIVED_HEADER) -> str:
    """The items a question's worked-out ``what`` would come from, shown as evidence, not as the answer."""
    return _listed(header.format(what=what), items)
