"""Numbers, units and dates as answers and evidence write them.

``32K`` stands for 32,000 and 32,768, ``$0.37`` for 0.37, ``86.4%`` for 86.4 and 0.864; a number
has a tolerance (half a unit of its last digit) and a unit group (everyday English units and the
lexicon's own); ``December 2023`` is ``2023-12``. What the claim checker, the worked-out
arithmetic and the tool-call argument check read.

>>> number_values("about 32K tokens")
[({32000.0, 32768.0}, 512.0)]
"""

from __future__ import annotations

import re
from functools import lru_cache

from agentmesh.english import UNITS
from agentmesh.answering.lexicon import current_lexicon
from agentmesh.records import Evidence

__all__ = ["MONTHS", "COLUMN_SCALE", "number_values"]

MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                       "september", "october", "november", "december"), 1)}
MONTHS.update({name[:3]: i for name, i in list(MONTHS.items())})
_MONTH_YEAR = re.compile(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+(\d{4})\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![\w.])(?P<cur>[$€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<suf>[kKmMbB]|thousand|million|billion)(?![A-Za-z]))?(?P<pct>\s?%)?"
)


def _unit_of() -> dict[str, str]:
    """Each way a unit is written -> its group: everyday English units (agentmesh.english)
    and the domain's own (``units`` in the lexicon in effect)."""
    lexicon = current_lexicon()
    return _units_of(tuple(sorted(lexicon.units.items())))


@lru_cache(maxsize=16)
def _units_of(domain: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    groups = {**UNITS, **dict(domain)}
    return {word: group for group, words in groups.items() for word in (*words, group)}


COLUMN_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9}
"""A column counted in thousands, millions or billions (``params_b``): "over 70B" is ``params_b > 70``."""
_SCALE = {"k": (1e3, 1024.0), "thousand": (1e3,), "m": (1e6, 1048576.0), "million": (1e6,), "b": (1e9,), "billion": (1e9,)}


def _values(match: re.Match) -> set[float]:
    """Every value a number as written may stand for (32K: 32,000 and 32,768; 86.4%: 86.4 and 0.864)."""
    base = float(match.group("num").replace(",", ""))
    suffix = (match.group("suf") or "").lower()
    values = {base * s for s in _SCALE.get(suffix, (1.0,))}
    if match.group("pct"):
        values |= {v / 100 for v in values}
    return values


def _tolerance(match: re.Match) -> float:
    """Half a unit of the last digit written, scaled: "about 46.7" covers 46.65..46.75."""
    digits = match.group("num").split(".")
    step = 10.0 ** -len(digits[1]) if len(digits) > 1 else 1.0
    suffix = (match.group("suf") or "").lower()
    return step / 2 * max(_SCALE.get(suffix, (1.0,)))


def _numbers(text: str) -> list[tuple[str, set[float], float, str | None]]:
    """Each number: as written, the values it may stand for, its tolerance, and its unit group."""
    found = []
    for match in _NUMBER.finditer(text):
        after = re.match(r"\s*(?:\w+\s+)?([A-Za-z]+|[$€£])", text[match.end():])
        unit_of = _unit_of()
        unit = unit_of.get((match.group("cur") or "").strip()) or (
            unit_of.get(after.group(1).lower()) if after else None)
        found.append((match.group(0).strip(), _values(match), _tolerance(match), unit))
    return found


def number_values(text: str) -> list[tuple[set[float], float]]:
    """Each number ``text`` writes: the values it may stand for and its tolerance ("32K" ->
    ({32000, 32768}, 500)). What the claim checker and the tool-call argument check read."""
    return [(values, tolerance) for _, values, tolerance, _ in _numbers(text)]


def _units_in(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+|[$€£]", text))
    unit_of = _unit_of()
    return {unit_of[w] for w in words if w in unit_of}


_ISO_DATE = re.compile(r"(?<![\w.-])(\d{4})-(\d{2})(?:-(\d{2}))?(?![\w.]|-\d)")
"""A date as databases write it: 2009-01-19, or 2023-12."""


def _stated_units(evidence: Evidence) -> set[str]:
    """The units a fact's name states in parentheses ("context window (tokens)": tokens), known as
    units or not: the data says what its numbers count, so "32,768 words" is not its 32768."""
    if evidence.kind != "fact" or ":" not in evidence.text:
        return set()
    unit_of = _unit_of()
    field = evidence.text.split(":", 1)[0].lower()
    return {unit_of.get(w, w) for inside in re.findall(r"\(([^()]*)\)", field) for w in re.findall(r"[a-z$€£]+", inside)}


def _dates(text: str) -> list[tuple[str, str]]:
    """Each date: as written, and as the evidence may hold it (``March 2024`` -> ``2024-03``)."""
    return ([(m.group(0), f"{m.group(2)}-{MONTHS[m.group(1).lower()]:02d}") for m in _MONTH_YEAR.finditer(text)]
            + [(m.group(0), m.group(0)) for m in _ISO_DATE.finditer(text)])
