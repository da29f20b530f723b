"""Numbers and dates a question compares: "longer than 60 km", "between 1990 and 2000", "in 2020",
"at least 32K", "5,000 or more", read from its words, then set on the one column they fit.

A step of the reading (:class:`agentmesh.answering.reader.Reader`): the bounds are found in the
question's text first (:meth:`BoundsStep._bounds`); which column each bounds is decided once the
subject is known (:meth:`BoundsStep.bound_conditions`), by the column said beside it, its unit,
the dimension a comparative names ("longer": length), or a date for a year.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentmesh.english import DIMENSIONS, FUNCTION_WORDS, QUANTITY_UNITS
from agentmesh.answering.matching import comment_words, measures_dimension, question_tokens, same_word
from agentmesh.answering.numbers import COLUMN_SCALE, number_values
from agentmesh.answering.reading_types import Asked, Condition
from agentmesh.answering.ties import column_unit

if TYPE_CHECKING:
    from agentmesh.answering.reader import Reader

__all__ = ["BoundsStep"]

_OPS = [(r"no (?:more|greater) than|at most|up to", "<="), (r"no (?:less|fewer) than|at least", ">="),
        (r"(?:more|greater|higher|larger|longer|bigger|taller|later|older|heavier|faster|deeper|wider) than|over|above|exceeding", ">"),
        (r"(?:less|fewer|lower|smaller|shorter|earlier|younger|lighter|slower) than|under|below", "<"),
        (r"after|since", "after"), (r"before|prior to", "before")]
_NUMBER = r"(?P<num>\d[\d,]*(?:\.\d+)?(?:[kb](?![a-z])|\s(?:thousand|million|billion)\b)?)"
"""A number, with a scale said after it ("32k", "70b", "5 million")."""
_BOUND = re.compile(r"\b(?P<op>" + "|".join(f"(?:{p})" for p, _ in _OPS) + r")\s+" + _NUMBER + r"\b")
_SYMBOL_BOUND = re.compile(r"(?P<op>>=|<=|>|<)\s*" + _NUMBER + r"\b")
"""'rating > 4.5': a bound written with a comparison sign."""
_BETWEEN = re.compile(r"\bbetween\s+(?P<a>\d[\d,]*(?:\.\d+)?)\s+and\s+(?P<b>\d[\d,]*(?:\.\d+)?)\b")
_FROM_TO = re.compile(r"\bfrom\s+(?P<a>\d[\d,]*(?:\.\d+)?)\s+(?:to|until|through)\s+(?P<b>\d[\d,]*(?:\.\d+)?)\b")
_OR_MORE = re.compile(_NUMBER + r"\s+(?P<unit>[a-z]+\s+)?or\s+(?P<op>more|less|fewer|above|below|over|under|higher|lower)\b")
_IN_YEAR = re.compile(r"\b(?:in|during|from)\s+(?:the\s+year\s+)?(?P<num>1[89]\d\d|20\d\d)\b")


class BoundsStep:
    """The reader's steps for bounds (mixed into :class:`~agentmesh.answering.reader.Reader`)."""

    def _bounds(self: "Reader") -> None:
        """Numbers and dates compared."""
        self.bounds = []  # op, value, token span, unit said
        self.lowered = re.sub(r"(?<=\d),(?=\d{3})", "", self.question.lower())
        ranges: list[tuple[int, int]] = []
        for m in [*_BETWEEN.finditer(self.lowered), *_FROM_TO.finditer(self.lowered)]:
            unit, end = self.unit_after(m.end())
            span = self.token_span(m.start(), end)
            ranges.append((m.start(), end))
            self.bounds.append((">=", float(m["a"]), span, unit))
            self.bounds.append(("<=", float(m["b"]), span, unit))
        self.scaled = {}
        for m in _BOUND.finditer(self.lowered):
            op = next(o for p, o in _OPS if re.fullmatch(p, m["op"]))
            unit, end = self.unit_after(m.end())
            span = self.token_span(m.start(), end)
            self.bounds.append((op, self.number(m["num"], op, span), span, unit))
        for m in _SYMBOL_BOUND.finditer(self.lowered):
            op = {">=": ">=", "<=": "<=", ">": ">", "<": "<"}[m["op"]]
            unit, end = self.unit_after(m.end())
            span = self.token_span(m.start(), end)
            self.bounds.append((op, self.number(m["num"], op, span), span, unit))
        for m in _OR_MORE.finditer(self.lowered):
            op = ">=" if m["op"] in ("more", "above", "over", "higher") else "<="
            unit = QUANTITY_UNITS.get((m["unit"] or "").strip(), "")
            span = self.token_span(m.start(), m.end())
            self.bounds.append((op, self.number(m["num"], op, span), span, unit))
        for m in _IN_YEAR.finditer(self.lowered):
            if not any(a <= m.start() < b for a, b in ranges):  # "from 2019 to 2021": a range, read above
                self.bounds.append(("year", float(m["num"]), self.token_span(m.start(), m.end()), ""))
        # a number the words before it compare ("more than 3 credits") is a bound, not a value of the
        # data that the number alone names (credits '3')
        numeric = [(s, e) for (s, e) in self.taken if all(t.replace(".", "", 1).isdigit() for t in self.tokens[s:e])]
        for span in numeric:
            if any(b[2][0] < span[1] and span[0] < b[2][1] and b[0] != "year" for b in self.bounds):
                del self.taken[span]
        self.bounds = [b for b in self.bounds if not any(b[2][0] < e and s < b[2][1] for (s, e) in self.taken)]
        for _, _, (s, e), _ in self.bounds:
            self.w.used.update(range(s, e))

    def number(self: "Reader", said: str, op: str, span: tuple[int, int]) -> float:
        """The bound's value: "32k" is 32,000 or 32,768 (at least the one, more than the other), "70b"
        70 billion; a scaled number is kept by its span, for a column counted in its scale (``params_b``)."""
        plain = said.replace(",", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", plain):
            return float(plain)
        (values, _), = number_values(plain)
        self.scaled[span] = plain
        return min(values) if op in (">=", "<") else max(values)

    def token_span(self: "Reader", start: int, end: int) -> tuple[int, int]:
        lowered = self.lowered
        before = len(question_tokens(lowered[:start]))
        return before, before + len(question_tokens(lowered[start:end]))

    def unit_after(self: "Reader", end: int) -> tuple[str, int]:
        nxt = re.match(r"\s*([a-z]+)", self.lowered[end:])
        if nxt and nxt.group(1) in QUANTITY_UNITS:
            return QUANTITY_UNITS[nxt.group(1)], end + nxt.end()
        return "", end

    def bound_conditions(self: "Reader", subject: str) -> list[Condition] | None:
        w, tokens, tables = self.w, self.tokens, self.tables
        found = []
        for op, value, (s, e), unit in self.bounds:
            options: list[tuple[Asked, list[int]]] = []
            for a, hit in self.column_hits:
                if not self.reaches(subject, a.table) or a.kind not in ("measure", "date"):
                    continue
                options.append((a, hit))
            # "longer than 60 km": the comparative names the dimension; "60 km": the unit names the column
            dimensions = [DIMENSIONS[t] for t in tokens[s:e] if t in DIMENSIONS]
            for table in [subject, *tables[subject].paths]:
                for m in tables[table].measures:
                    if any(measures_dimension(d, c) for d in dimensions for c in self.words_of(m.column)):
                        options.append((Asked(table, m.column, "measure"), []))
                    if unit and m.unit == unit:
                        options.append((Asked(table, m.column, "measure"), []))
                    # "more than 5,000 passengers a day": words after the number that the column's own
                    # comment says ("average passengers entering and leaving per day")
                    described = comment_words(tables[table].comments.get(m.column, ""))
                    said_after = [i for i in range(e, min(e + 4, len(tokens))) if i not in w.used
                                  and tokens[i] not in FUNCTION_WORDS and any(same_word(tokens[i], d) for d in described)]
                    if said_after:
                        options.append((Asked(table, m.column, "measure"), said_after))
            year_like = value.is_integer() and 1800 <= value <= 2100
            if op == "year" or (year_like and not options):
                # "in the year 2020", "from 2015 to 2019", no column said: a date, or a column named a year
                for table in [subject, *tables[subject].paths]:
                    options += [(Asked(table, d, "date"), []) for d in tables[table].dates]
                    options += [(Asked(table, m.column, "measure"), []) for m in tables[table].measures
                                if "year" in self.words_of(m.column)]
            if op in (">=", "<=", ">", "<") and year_like and any(a.kind == "date" for a, _ in options):
                op = {">=": "from", "<=": "through", ">": "after", "<": "before"}[op]  # "between 1900 and 1950" on a date
            if op in ("year", "from", "through") or (year_like and op in ("after", "before")):
                options = [(a, h) for a, h in options if a.kind == "date" or "year" in self.words_of(a.column)]
            elif op in ("after", "before"):
                return None
            else:
                options = [(a, h) for a, h in options if a.kind == "measure"]
            if unit:
                options = [(a, h) for a, h in options
                           if column_unit(tables[a.table], a.column) in (unit, "")] or options
            # the column said next to the bound: after the number, or just before the bound
            near = [(a, h) for a, h in options if not h or any(e <= i <= e + 3 or s - 4 <= i < s for i in h)]
            near = self.said_whole(near)
            if len({(a.table, a.column) for a, _ in near}) > 1:  # said by name and by unit or dimension: the one said most ways
                said_ways = {(a.table, a.column): sum(1 for b, _ in near if b == a) for a, _ in near}
                top = max(said_ways.values())
                near = [(a, h) for a, h in near if said_ways[(a.table, a.column)] == top]
                near = [(a, h) for a, h in near if h] or near
            if unit and not near:
                near = [(a, h) for a, h in options if column_unit(tables[a.table], a.column) == unit]
            if len({(a.table, a.column) for a, _ in near}) != 1:
                picked = self.chosen(f"bound at '{tokens[s]}'", near) if len(near) > 1 else None
                if picked is None:
                    if len(near) > 1:
                        self.reading.problems.append(f"the bound at '{tokens[s]}' fits "
                                                + " and ".join(f"{a.table}.{a.column}" for a, _ in near))
                    return None
                near = [picked]
            a, hit = near[0]
            w.used.update(hit)
            scale = COLUMN_SCALE.get(a.column.rsplit("_", 1)[-1].lower()) if "_" in a.column else None
            if (s, e) in self.scaled and scale:  # "more than 70b parameters" on params_b: 70
                value = value / scale
            if unit:
                w.used.update(i for i in range(s, e))
            kind = "date" if a.kind == "date" else "value"
            if op == "year":
                if kind == "date":
                    found += [Condition(a.table, a.column, ">=", f"{int(value)}", kind),
                              Condition(a.table, a.column, "<", f"{int(value) + 1}", kind)]
                else:
                    found.append(Condition(a.table, a.column, "=", int(value)))
            elif op == "from" and kind == "date":
                found.append(Condition(a.table, a.column, ">=", f"{int(value)}", kind))
            elif op == "through" and kind == "date":
                found.append(Condition(a.table, a.column, "<", f"{int(value) + 1}", kind))
            elif op in ("from", "through"):
                found.append(Condition(a.table, a.column, ">=" if op == "from" else "<=", int(value)))
            elif op == "after":
                found.append(Condition(a.table, a.column, ">=", f"{int(value) + 1}", kind) if kind == "date"
                             else Condition(a.table, a.column, ">", int(value)))
            elif op == "before":
                found.append(Condition(a.table, a.column, "<", f"{int(value)}", kind) if kind == "date"
                             else Condition(a.table, a.column, "<", int(value)))
            else:
                number = int(value) if value.is_integer() else value
                found.append(Condition(a.table, a.column, op, f"{number}" if kind == "date" else number, kind))
        return found
