"""The reader's steps for groups, values and rows tied to none: which group a question means ("each
airline", "the most stations" of a line), the values of a column it counts or lists ("How many
different genres ...?"), the values that narrow its rows ("Italian or Mexican"), and a table whose
rows the subject's have none of ("Which authors have no organization?").

Mixed into :class:`agentmesh.answering.reader.Reader`, as :class:`~agentmesh.answering.bounds.BoundsStep` is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentmesh.answering.reading_types import Asked, Condition
from agentmesh.answering.ties import link_tables, points_back
from agentmesh.english import DISTINCT_WORDS, FUNCTION_WORDS, LIST_STARTS

if TYPE_CHECKING:
    from agentmesh.answering.reader import Reader

__all__ = ["GroupStep"]


class GroupStep:
    """The reader's steps and helpers for groups, column values and absent rows."""

    def _absent(self: "Reader") -> None:
        """"Which authors have no organization?", "... without a lake", "... do not have any flights":
        a table, named right after the negation ("any" between), whose rows the subject's have none of."""
        tokens, w, named_tables = self.tokens, self.w, self.named_tables
        self.absent = None
        for i, tok in enumerate(tokens):
            if i in w.used or tok not in ("no", "without", "not", "t"):
                continue
            j = i + 1
            if tok in ("not", "t"):  # "do not have any", "don't have any": "any" is needed after "not"
                if tok == "t" and not (i > 0 and tokens[i - 1] in ("don", "doesn", "didn", "haven", "hasn", "hadn")):
                    continue
                j += 1 if j < len(tokens) and tokens[j] in ("have", "has", "had") else 0
                if j >= len(tokens) or tokens[j] != "any":
                    continue
            j += 1 if j < len(tokens) and (tokens[j] == "any" or tok == "without" and tokens[j] in ("a", "an")) else 0
            absent = [t for t, hits in named_tables.items() if j in hits]
            if len(absent) == 1:
                self.absent = absent[0]
                w.used.update(range(i - (tok == "t"), j))
                w.used.update(named_tables.pop(absent[0]))
            return

    # 5. the group: each/every/per/by + a column of a table or a table (its label)
    def resolve_group(self: "Reader", i: int) -> tuple[list[Asked], list[int]]:
        w, tokens, tables = self.w, self.tokens, self.tables
        j = i + 1
        while j < len(tokens) and tokens[j] in FUNCTION_WORDS:
            j += 1
        found: list[tuple[Asked, list[int]]] = []
        for table, tp in tables.items():
            listed = [(c.column, "category") for c in tp.categories] + [(m.column, "measure") for m in tp.measures] \
                + [(d, "date") for d in tp.dates] + [(c, "text") for c in self.text_columns(table)] \
                + [(c, "label") for c in tp.label.columns if tp.label.own]
            for column, kind in listed:
                cw = self.words_of(column)
                if cw and j < len(tokens) and any(w.says(j, c) for c in cw):
                    # a word of the column's own table before its head goes without saying (fare_airline is
                    # the fare's airline); the head never does (airline_flight is a flight, not an airline)
                    implied = set(self.table_words.get(table, ())) - {cw[-1]}
                    rest = [c for c in cw if not w.says(j, c) and c not in implied]
                    # the group is one phrase ("each airline flight"): its other words right after the
                    # first, not "flights" said elsewhere (the rows counted: airline_flight is not the airline)
                    near = range(j + 1, min(len(tokens), j + len(rest) + 2))
                    others = [next((k for k in near if k not in w.used and w.says(k, c)), None) for c in rest]
                    if None not in others:
                        found.append((Asked(table, column, kind), [j, *others]))
            ws = self.table_words[table]
            spans = [sp for sp in w.span(ws) if sp[0] == j] if ws else []
            if tp.label.own and (spans or (len(ws) == 1 and j < len(tokens) and w.says(j, ws[0]))):
                found.append((Asked(table, "+".join(tp.label.columns), "label"), list(range(*spans[0])) if spans else [j]))
            for fk in tp.foreign_keys:
                if len(fk.columns) == 1 and fk.table in tables and tables[fk.table].label.own:
                    cw = self.words_of(fk.columns[0])
                    if cw and j < len(tokens) and w.says(j, cw[-1]) and (len(cw) == 1 or w.find(cw[:-1]) is not None):
                        found.append((Asked(fk.table, "+".join(tables[fk.table].label.columns), "label"), [j]))
        # "for each business id": the key the rows point to a business by, not the business's name
        labelled = {a.table for a, _ in found if a.kind == "label"}
        after = max((h[-1] for _, h in found), default=j) + 1
        if len({(a.table, a.column) for a, _ in found}) == 1 and labelled and after < len(tokens) \
                and tokens[after] in ("id", "ids"):
            target = labelled.pop()
            keys = {fk.their_columns[0] for tp in tables.values() for fk in tp.foreign_keys
                    if fk.table == target and len(fk.columns) == 1}
            if len(keys) == 1:
                return [Asked(target, keys.pop(), "key")], [*found[0][1], after]
        return [a for a, _ in found], (found[0][1] if found else [])

    def nearest_group(self: "Reader", before: int, fits) -> tuple[Asked, list[int], int] | None:
        """The group a superlative or a count's bound at ``before`` ranks by: the nearest thing named
        before it that one group ``fits`` (the group, its words, where it is said)."""
        for p in range(before - 1, 0, -1):
            if p in self.w.used or self.tokens[p] in FUNCTION_WORDS:
                continue
            options, used = self.resolve_group(p - 1)
            options = [a for a in options if fits(a)]
            if len({(a.table, a.column) for a in options}) == 1:
                return options[0], used, p
        return None

    def counted_values(self: "Reader", listing: bool = False) -> tuple[Asked, list[int], str] | None:
        """The column whose values "how many" (or "the number of") counts, said right after it
        ("different", "distinct" or "unique" between): a category, text or key column of the one table the
        question names, or, naming none, of the one table that holds it; with that table, if named.
        ``listing``: the column whose values a list question ("What are the different food types?") asks
        for, right after its first word (function words, "all" and those between), not a key's."""
        tokens, w = self.tokens, self.w
        if listing:
            starts = [1] if tokens[:1] and tokens[0] in LIST_STARTS else []
        else:
            starts = [i + 2 for i in range(len(tokens) - 1) if tokens[i:i + 2] in (["how", "many"], ["number", "of"])]
        if len(starts) != 1:
            return None
        k = starts[0]
        while k < len(tokens) and (tokens[k] in DISTINCT_WORDS or listing and (tokens[k] in FUNCTION_WORDS or tokens[k] == "all")):
            k += 1
        named = [t for t, hits in self.named_tables.items() if not any(i in w.used for i in hits)]
        if self.group_at or any(k in hits for hits in self.named_tables.values()):
            return None  # "How many flights ... from each airport?": rows counted, per a group
        kinds = ("category", "text") if listing else ("category", "text", "fk")
        fits = [(a, h) for a, h in self.column_hits if h[0] == k and a.kind in kinds
                and (a.table in named if named else True)]
        if len(named) > 1 or len({(a.table, a.column) for a, _ in fits}) != 1:
            return None
        a, hit = fits[0]
        tp = self.tables[a.table]
        if listing and (tp.label.own and a.column in tp.label.columns or a.column in [*tp.names, *tp.keys]):
            return None  # names or codes of the rows, one each: a list of the rows
        if listing and any(hit[-1] + 1 in hits for hits in self.named_tables.values()):
            return None  # "Which open-weight model ...": the column's words say which rows, before the table's
        return a, [*range(starts[0], k), *hit], named[0] if named else ""

    def absent_condition(self: "Reader", subject: str, absent: str) -> list[Condition]:
        """The subject's rows tied to no row of ``absent``: by the subject's one key to it, by its rows'
        one key back to the subject's, or through one link table; another tie, or none, is a problem."""
        tables = self.tables
        keys = sum(1 for fk in tables[subject].foreign_keys if fk.table == absent and len(fk.columns) == 1)
        ties = [Condition(absent, "", "none", None, "none")] if keys == 1 else []
        if points_back(tables, absent, subject):
            ties.append(Condition(absent, "", "none", None, "none", via=absent))
        if not keys:  # a link's own tie, not one that reaches the other table through the subject's rows
            ties += [Condition(absent, "", "none", None, "none", via=link) for link in link_tables(tables, subject, absent)
                     if subject not in tables[link].paths[absent]]
        if len(ties) != 1:
            self.reading.problems.append(f"{subject} rows are tied to {absent} in {len(ties)} ways" if ties
                                         else f"{subject} rows are not tied to {absent}")
            return []
        return ties

    def conditions_from_values(self: "Reader", subject: str) -> list[Condition] | None:
        w, tokens = self.w, self.tokens
        found: list[Condition] = []
        runs: list[list[tuple[Condition, tuple[int, int]]]] = []  # values of one column one after another
        for span, hits in sorted(self.value_spans.items()):
            fit = [h for h in hits if self.reaches(subject, h[0])]
            via = ""
            if not fit:  # "the businesses in the Pizza category": a value of rows that point to the subject's
                fit = [h for h in hits if points_back(self.tables, h[0], subject)]
                via = fit[0][0] if len({(h[0], h[1]) for h in fit}) == 1 else ""
            if len({(h[0], h[1]) for h in fit}) != 1:
                if len(fit) > 1:
                    self.reading.problems.append(f"'{' '.join(tokens[span[0]:span[1]])}' is a value of "
                                            + " and ".join(f"{h[0]}.{h[1]}" for h in fit))
                return None
            table, column, value, _ = fit[0]
            condition = Condition(table, column, "=", value, via=via)
            last = runs[-1][-1] if runs else None
            if last is not None and (last[0].table, last[0].column, last[0].via) == (table, column, via) \
                    and tokens[last[1][1]:span[0]] in ([], ["or"]):
                runs[-1].append((condition, span))
            else:
                runs.append([(condition, span)])
            hit = w.find(self.words_of(column))  # "in the Highlands region": the column's own word
            if hit is None and via:  # "in the Pizza category": the table's own word (category.category_name)
                hit = w.find(self.words_of(via))
            if hit is not None:
                w.used.update(hit)
        for run in runs:
            # "Italian or Mexican", "either Italian, Mexican or Vegan": one of the values (a list joined by "or")
            joins = [tokens[a[1]:b[0]] for (_, a), (_, b) in zip(run, run[1:])]
            if joins and joins[-1] == ["or"]:
                first = run[0][0]
                found.append(Condition(first.table, first.column, "in", tuple(c.value for c, _ in run), via=first.via))
                w.used.update(i for (_, a), (_, b) in zip(run, run[1:]) for i in range(a[1], b[0]))
                if run[0][1][0] > 0 and tokens[run[0][1][0] - 1] == "either":
                    w.used.add(run[0][1][0] - 1)
            else:
                found += [c for c, _ in run]
        return found
