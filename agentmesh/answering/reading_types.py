"""What one reading of a question holds (:func:`agentmesh.answering.reading.read`): the rows it is
about, what it asks of them, how it groups and narrows them, and what it could not read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Aggregate", "Entity", "Asked", "Condition", "QuestionReading"]

Aggregate = Literal["", "count", "sum", "avg", "min", "max", "list", "values", "lookup", "difference"]


@dataclass(frozen=True)
class Entity:
    table: str
    value: str
    span: tuple[int, int]
    """The question's word positions that say it."""
    column: str = ""
    """The column(s) whose value names it: the table's label ("+"-joined parts), or another name
    of its rows (a code: ``TableProfile.names``)."""


@dataclass(frozen=True)
class Asked:
    """A column (``kind`` measure/date/category/text), the label of a table (``label``), or a
    foreign key column whose target's label is the value (``fk``: ``column`` the key, ``target`` the table)."""

    table: str
    column: str
    kind: str
    target: str = ""


@dataclass(frozen=True)
class Condition:
    """``table.column op value``; ``kind`` "label" is the label of ``table`` (a named row),
    "date" compares a date column by year, "none" (op "none") holds for a subject row tied to no
    row of ``table`` (by its key to it, or ``via`` the rows that point back to it)."""

    table: str
    column: str
    op: str
    value: object
    kind: str = "value"
    via: str = ""
    """A link table whose rows tie the subject's rows to ``table``'s ("the stations on the Valley
    Line": ``line_stops``): the condition holds for a subject row that some link row ties to a row
    meeting it."""


@dataclass
class QuestionReading:
    question: str
    subject: str = ""
    """The table whose rows are counted, listed, aggregated or looked up."""
    entities: list[Entity] = field(default_factory=list)
    asked: list[Asked] = field(default_factory=list)
    aggregate: Aggregate = ""
    group: Asked | None = None
    conditions: list[Condition] = field(default_factory=list)
    order: str = ""
    limit: int | None = None
    having: tuple[str, int] | None = None
    """A bound on each group's count ("Which countries have more than 2 rivers?": ``(">", 2)``)."""
    groups_counted: bool = False
    """The answer is how many groups meet ``having`` ("How many countries have more than 2 rivers?")."""
    unread: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    percent: bool = False
    """A ratio asked as a percentage: times 100."""
    parts: list["QuestionReading"] = field(default_factory=list)
    """A ratio's two counts, each read as a question of its own ("the ratio of A to B": A, then B), or a
    difference's two lookups ("the gap between A and B")."""
    choices: list[tuple[str, list[str]]] = field(default_factory=list)
    """Where two columns fit alike: (the place, the columns that fit), in the order met. ``read(...,
    choose={place: k})`` reads the question again taking the k-th (:func:`alternatives`)."""
    chosen: dict[str, str] = field(default_factory=dict)
    """The place -> the column taken there (by ``choose`` or the question's "(meaning: ...)")."""

    @property
    def complete(self) -> bool:
        """Every content word used, one interpretation, and something to compose."""
        whole = bool(self.aggregate and self.subject) and not self.unread and not self.problems
        return whole and (self.aggregate not in ("ratio", "difference")
                          or (len(self.parts) == 2 and all(p.complete for p in self.parts)))

    def unapplied(self) -> tuple[list[str], list[str]]:
        """What of the question this reading could not apply: the words it did not use, and why
        it found no one interpretation (a ratio's own and its two counts')."""
        unread = [*self.unread, *(w for p in self.parts for w in p.unread)]
        problems = [*self.problems, *(x for p in self.parts for x in p.problems)]
        if self.aggregate == "ratio" and not self.subject:
            problems.append("no count of rows to divide")
        return list(dict.fromkeys(unread)), list(dict.fromkeys(problems))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: what ``ask --json``, the run's state and its trace show."""
        return {"summary": self.summary() if self.subject else "", "complete": self.complete,
                "subject": self.subject, "aggregate": self.aggregate,
                "entities": [{"table": e.table, "value": e.value} for e in self.entities],
                "asked": [{"table": a.table, "column": a.column, "kind": a.kind} for a in self.asked],
                "group": None if self.group is None else {"table": self.group.table, "column": self.group.column},
                "conditions": [{"table": c.table, "column": c.column, "op": c.op, "value": c.value}
                               for c in self.conditions],
                "order": self.order, "limit": self.limit,
                "having": None if self.having is None else {"op": self.having[0], "value": self.having[1]},
                "groups_counted": self.groups_counted, "unread": list(self.unread), "problems": list(self.problems),
                "question": self.question,
                "choices": [{"place": place, "options": list(options), "chosen": self.chosen.get(place)}
                            for place, options in self.choices],
                **({"parts": [p.to_dict() for p in self.parts]} if self.parts else {})}

    def summary(self) -> str:
        """One line: what the reading asks (the tool's one fixed argument)."""
        if self.aggregate == "difference" and len(self.parts) == 2:
            return f"difference of ({self.parts[0].summary()}) and ({self.parts[1].summary()})"
        if self.aggregate == "ratio" and len(self.parts) == 2:
            return f"{'percentage' if self.percent else 'ratio'} of ({self.parts[0].summary()}) to ({self.parts[1].summary()})"
        what = {"count": f"count of {self.subject}" if not self.asked
                else f"count of distinct {self.asked[0].table}.{self.asked[0].column}",
                "values": f"values of {self.subject}.{self.asked[0].column if self.asked else ''}", "list": f"{self.subject} rows" + (f" with {', '.join(a.column for a in self.asked)}" if self.asked else ""),
                "lookup": f"{', '.join(a.table if a.kind == 'label' else a.column if a.table == self.subject else f'{a.table}.{a.column}' for a in self.asked)} of "
                          f"{', '.join(e.value for e in self.entities)}"}.get(
            self.aggregate, f"{self.aggregate} of {', '.join(a.column for a in self.asked)}")
        parts = [what]
        if self.group is not None:
            parts.append(f"per {self.group.table}.{self.group.column}" if self.group.kind != "label"
                         else f"per {self.group.table}")
        for c in self.conditions:
            if self.aggregate == "lookup" and c.kind == "label":
                continue
            if c.kind == "none":
                parts.append(f"with no {c.table}" + (f" (through {c.via})" if c.via and c.via != c.table else ""))
                continue
            value = " or ".join(map(str, c.value)) if c.op == "in" else c.value
            parts.append(f"where {c.table}{'' if c.kind == 'label' else '.' + c.column} {c.op} {value}"
                         + (f" (through {c.via})" if c.via else ""))
        if self.having is not None:
            parts.append(f"having count {self.having[0]} {self.having[1]}")
        if self.groups_counted:
            parts.insert(0, "count of groups:")
        if self.order:
            parts.append(f"ordered by {self.order}")
        if self.limit:
            parts.append(f"top {self.limit}")
        return " ".join(parts)
