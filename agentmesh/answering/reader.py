"""The reading of one question, step by step (:class:`Reader`, which :func:`agentmesh.answering.reading.read` runs).

Each step is a method; they run in the order :meth:`Reader.run` lists, over the state declared on
the class. Words are matched by :mod:`agentmesh.answering.matching`, bounds read by
:mod:`agentmesh.answering.bounds`, groups, column values and absent rows by
:mod:`agentmesh.answering.groups`, tables tied by :mod:`agentmesh.answering.ties`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentmesh.answering.bounds import BoundsStep
from agentmesh.answering.groups import GroupStep
from agentmesh.english import (AVERAGE_WORDS, COMPARISON_WORDS, COUNT_NAME_WORDS, DATA_WORDS, DESCENDING_WORDS, DIMENSIONS,
                               DISTINCT_WORDS, FUNCTION_WORDS, GROUP_BY_WORDS, LIGHT_VERBS, LINKING_VERBS, LIST_STARTS,
                               MAX_WORDS, MIN_WORDS, MOST_WORDS, QUANTITY_UNITS, RANKING_WORDS, SUM_WORDS,
                               SUPERLATIVE_DIMENSIONS, TURNING_WORDS)
from agentmesh.answering.matching import (QuestionWords, comment_words, function_word_unsaid, label_words,
                                          measures_dimension, same_word, schema_words, sentence_of_tokens, singular)
from agentmesh.answering.numbers import COLUMN_SCALE
from agentmesh.answering.profile import _name_words
from agentmesh.answering.reading_types import Aggregate, Asked, Condition, Entity, QuestionReading
from agentmesh.answering.ties import (column_unit, fullest, link_tables, lists_rows_of, most_counted, named_by, one_each,
                                      one_link, names_what_is_read, points_back, preferred_group, read_order, untied)

if TYPE_CHECKING:
    from agentmesh.answering.lexicon import Lexicon
    from agentmesh.answering.label_index import LabelIndex
    from agentmesh.answering.profile import DataProfile

__all__ = ["Reader"]


class Reader(BoundsStep, GroupStep):
    """One reading of one question: the steps of :func:`~agentmesh.answering.reading.read` (:meth:`run`, in
    order), over the state they share."""

    # what the steps find, in the order they find it
    table_words: dict[str, list[str]]  # each table's name as the question may say it
    taken: dict[tuple[int, int], list[tuple[str, str, object, str]]]  # span -> (table, column, value, label|value)
    bounds: list[tuple[str, float, tuple[int, int], str]]  # (op, value, token span, unit said)
    scaled: dict[tuple[int, int], str]  # a bound's span -> its number said with a scale ("32k")
    lowered: str  # the question in lower case, thousands' commas dropped
    named_tables: dict[str, list[int]]  # table -> the positions that name it
    most: tuple[str, int] | None  # "the most X": (the table counted, the superlative's position)
    ranked_aggregate: tuple[int, str] | None  # "the highest average": (the superlative's position, desc|asc)
    having: tuple[str, int] | None  # "more than 2 X": the bound on each group's count of the table counted
    absent: str | None  # "with no X": the table whose rows the subject's have none of
    top: tuple[int, str, list[int]] | None  # "the 3 highest": (how many, asc|desc, positions)
    said: set[str]
    count_named: set[int]  # "count" words that name a measure ("the citation count"), not a count of rows
    counting: bool
    quantity: int | None  # "how many kilometres": the unit's position
    aggregate: Aggregate  # the aggregate word said (sum, avg); the reading's is decided later
    agg_words: set[int]
    group_at: list[int]  # positions of each/every/per/by
    entity_spans: dict[tuple[int, int], list[tuple[str, str, object, str]]]
    value_spans: dict[tuple[int, int], list[tuple[str, str, object, str]]]
    group: Asked | None
    group_word: int | None
    column_hits: list[tuple[Asked, list[int]]]  # the columns said, and where
    partial: set[tuple[str, str]]  # the columns said only by their head noun (cumulative_gpa: "gpa")
    subject: str
    entities: list[Entity]
    measures: list[tuple[Asked, list[int]]]

    def __init__(self, question: str, asked_as: str, meant: list[str], profile: "DataProfile",
                 lexicon: "Lexicon | None", index: "LabelIndex | None",
                 columns: "dict[str, list[str]] | None", choose: "dict[str, int] | None") -> None:
        from agentmesh.answering.profile import UNIT_NAMES

        self.question, self.meant, self.profile, self.lexicon = question, meant, profile, lexicon
        self.index, self.columns, self.choose = index, columns, choose
        self.reading = QuestionReading(asked_as)
        self.w = QuestionWords(self.question, self.lexicon)
        self.tokens = self.w.tokens
        self.forced = self.choose or {}
        self.unmeant = set(self.meant)

        # a unit, or a scale (params_b: in billions), ends a column's name without being said
        self.units = frozenset(UNIT_NAMES) | frozenset(COLUMN_SCALE) | frozenset(self.lexicon.units if self.lexicon is not None else ())
        self.tables = self.profile.tables
        self.columns = columns or {}

    def run(self) -> QuestionReading:
        self._names()
        self._bounds()
        self._tables()
        self._absent()
        self._superlatives()
        self._aggregate_words()
        self._group()
        self._columns()
        self._entities()
        self._aggregate()
        self._subject()
        self._conditions()
        self._order()
        self._described()
        self._unread()
        return self.reading

    def _names(self) -> None:
        """Names of rows and values of categories, longest first; a lone word that names a table is the table."""
        w, tokens, tables, index = self.w, self.tokens, self.tables, self.index
        question = self.question
        self.table_words = {t: self.words_of(t) for t in tables}
        mentions: list[tuple[tuple[int, int], str, str, object, str]] = []  # span, table, column, value, kind
        if index is not None:
            for table, value in index.candidates(question):
                key = re.findall(r"[a-z0-9]+(?:\.\d+)?", re.sub(r"['’]s\b", "", value.lower()).replace("_", " "))
                if function_word_unsaid(key, value, question):  # state code "IN" is not the "in" of "in each month"
                    continue
                for span in w.span(key) if key else []:
                    naming = index.column_of(table, value) or "+".join(tables[table].label.columns)
                    mentions.append((span, table, naming, value, "label"))
        for table, tp in tables.items():
            for category in tp.categories:
                for value in category.values:
                    if not isinstance(value, str) or not value.strip():
                        continue
                    key = re.findall(r"[a-z0-9]+(?:\.\d+)?", value.lower())
                    if function_word_unsaid(key, value, question):
                        continue  # grade "A" is said as "an A", not by the article of "a GPA"
                    for span in w.span(key) if key else []:
                        mentions.append((span, table, category.column, value, "value"))
        mentions.sort(key=lambda m: (-(m[0][1] - m[0][0]), m[0][0]))
        naming_table = {i for t, ws in self.table_words.items() if len(ws) == 1 for i, tok in enumerate(tokens) if same_word(tok, ws[0])}
        self.taken = {}
        for span, table, column, value, kind in mentions:
            if any(s < span[1] and span[0] < e for s, e in self.taken if (s, e) != span):
                continue
            if span[1] - span[0] == 1 and span[0] in naming_table and not tokens[span[0]][:1].isdigit():
                continue
            self.taken.setdefault(span, []).append((table, column, value, kind))

    def _tables(self) -> None:
        """The tables the question names."""
        tokens, taken = self.tokens, self.taken
        self.named_tables = {}
        for table, ws in self.table_words.items():
            if not ws:
                continue
            for s, e in self.w.span(ws) or []:
                if not any(s < te and ts < e for ts, te in taken):
                    self.named_tables.setdefault(table, []).extend(range(s, e))
            if table not in self.named_tables and len(ws) == 1:
                hits = [i for i, tok in enumerate(tokens) if same_word(tok, ws[0]) and not any(ts <= i < te for ts, te in taken)]
                # one word written as two ("check-ins", "check ins": checkin)
                hits += [j for i in range(len(tokens) - 1) if len(ws[0]) >= 5 and singular(tokens[i] + tokens[i + 1])
                         == singular(ws[0]) and not any(ts <= i + 1 and i < te for ts, te in taken) for j in (i, i + 1)]
                if hits:
                    self.named_tables[table] = hits

    def _superlatives(self) -> None:
        """The most counted group, the top rows, the row of a superlative."""
        w, tokens, named_tables = self.w, self.tokens, self.named_tables
        # "Which conference has the most publications?", "the instructor who has taught the fewest
        # courses": the group (a table, or a column, named before) whose count of the rows named after
        # the superlative is the highest (lowest); ties kept
        self.most = most_counted(tokens, named_tables, w)
        self.having = None
        # "Which countries have more than 2 rivers?": a bound whose number a table's words follow
        # bounds each group's count of that table's rows; the group is found as for "the most"
        for bound in self.bounds if self.most is None else []:
            op, value, (s, e), unit = bound
            counted = [t for t, hits in named_tables.items() if e in hits]  # right after the number
            if not unit and op in (">", ">=", "<", "<=") and value.is_integer() and len(counted) == 1:
                self.most, self.having = (counted[0], s), (op, int(value))
                self.bounds.remove(bound)
                w.used.update(named_tables[counted[0]])
                break
        # "Which city has the highest average rating?": the group (named before) whose average (total) is ranked
        self.ranked_aggregate = next(((k, "desc" if tok in DESCENDING_WORDS | MOST_WORDS else "asc")
                                      for k, tok in enumerate(tokens[:-1]) if self.most is None and k not in w.used
                                      and tok in MAX_WORDS | MIN_WORDS and tokens[k + 1] in AVERAGE_WORDS | SUM_WORDS
                                      and tokens[0] in ("which", "what")), None)
        self.top = None
        for i, tok in enumerate(tokens[:-1] if self.most is None and self.ranked_aggregate is None else []):
            if tok == "top" and tokens[i + 1].isdigit() and 1 <= int(tokens[i + 1]) <= 100:
                extreme = [j for j, t in enumerate(tokens) if t in (MAX_WORDS | MIN_WORDS) - {"top", "most", "least"} and j not in w.used]
                if len(extreme) == 1:
                    self.top = (int(tokens[i + 1]), "desc" if tokens[extreme[0]] in MAX_WORDS else "asc", [i, i + 1, extreme[0]])
                break
        # "Which is the longest line?", "What is the oldest train class?": the row (rows, tied) of the
        # highest value, when the word after the superlative names a table (not a measure: "What is
        # the highest elevation?" asks the value)
        if self.most is None and self.top is None and self.ranked_aggregate is None and tokens[:1] and tokens[0] in LIST_STARTS:
            extreme = [j for j, t in enumerate(tokens) if t in SUPERLATIVE_DIMENSIONS and j not in w.used]
            ranking = [j for j, t in enumerate(tokens) if t in RANKING_WORDS and j not in w.used]
            if len(extreme) == 1:
                j = extreme[0] + 1
                while j < len(tokens) and tokens[j] in FUNCTION_WORDS:
                    j += 1
                n = extreme[0] - 1  # "the 3 highest mountains": the three rows of the highest values
                count = int(tokens[n]) if n > 0 and tokens[n].isdigit() and 1 <= int(tokens[n]) <= 100 else 1
                # "the lowest-rated restaurant": a word of a measure between the superlative and the table
                rated = j + 1 < len(tokens) and any(w.says(j, c) for tp in self.tables.values() for m in tp.measures
                                                    for c in self.words_of(m.column)) and any(j + 1 in hits for hits in named_tables.values())
                # "Which line is the longest?": the table named before the superlative, nothing after it
                last = j >= len(tokens) and extreme[0] >= 2 and tokens[extreme[0] - 1] == "the" and any(
                    i < extreme[0] for hits in named_tables.values() for i in hits)
                if j < len(tokens) and (any(j in hits for hits in named_tables.values()) or rated) or last:
                    self.top = (count, "desc" if tokens[extreme[0]] in DESCENDING_WORDS else "asc",
                           [extreme[0], *([n] if count > 1 or n > 0 and tokens[n].isdigit() else [])])
            # "best" and "worst" rank by the measure's better values, which only the lexicon says
            ranking += [j for j, t in enumerate(tokens) if t in ("best", "worst") and j not in w.used]
            if self.top is None and len(ranking) == 1 and tokens[0] in ("which", "what"):
                # "Which course has the highest clarity score?": a table named before the superlative, a
                # measure after it (which one is read below; none: no reading)
                k = ranking[0]
                if any(i < k for hits in named_tables.values() for i in hits) and any(
                        t in ("has", "have", "had", "with") for t in tokens[1:k]):
                    self.top = (1, tokens[k] if tokens[k] in ("best", "worst")
                                else "desc" if tokens[k] in DESCENDING_WORDS | MOST_WORDS else "asc", [k])

    def _aggregate_words(self) -> None:
        """The aggregate words."""
        tokens = self.tokens
        self.said = set(tokens)
        # "the citation count of X" (citation_num): a count word after a measure's other words is that
        # measure's name, not a count of rows
        self.count_named = {i for i, tok in enumerate(tokens) if tok == "count" and i > 0 and any(
            (rest := [x for x in self.words_of(m.column) if x not in COUNT_NAME_WORDS]) and len(rest) < len(self.words_of(m.column))
            and self.w.says(i - 1, rest[-1]) for tp in self.tables.values() for m in tp.measures)}
        self.counting = ("how" in self.said and "many" in self.said) or any(t == "count" and i not in self.count_named for i, t in enumerate(tokens)) \
            or re.search(r"\bnumber of\b", self.lowered) is not None
        # "How many kilometres has unit 52301 run?": a quantity in a unit, not a count of rows
        self.quantity = next((i + 2 for i in range(len(tokens) - 2) if tokens[i:i + 2] == ["how", "many"]
                         and tokens[i + 2] in QUANTITY_UNITS), None)
        if self.quantity is not None and "count" not in self.said and "number" not in self.said:
            self.counting = False
        self.aggregate = ""
        self.agg_words = set()
        for i, tok in enumerate(tokens):
            if tok in AVERAGE_WORDS:
                self.aggregate, self.agg_words = "avg", self.agg_words | {i}
            elif tok in SUM_WORDS and self.aggregate != "avg":
                self.aggregate, self.agg_words = "sum", self.agg_words | {i}
        if self.counting:
            self.agg_words |= {i for i, t in enumerate(tokens) if t in ("how", "many", "count", "number")}
        self.group_at = [i for i, t in enumerate(tokens) if t in GROUP_BY_WORDS]

    def _group(self) -> None:
        """The group: each/every/per/by + a column of a table or a table (its label)."""
        reading, w, tokens, named_tables = self.reading, self.w, self.tokens, self.named_tables
        taken, most = self.taken, self.most
        self.entity_spans = {span: hits for span, hits in taken.items() if any(h[3] == "label" for h in hits)}
        self.value_spans = {span: hits for span, hits in taken.items() if span not in self.entity_spans}

        subject_candidates = list(named_tables)
        self.group = None
        group_tokens: list[int] = []
        self.group_word = None
        # "each", "every" and "per" before "by", which may name who did something ("received by papers in each year")
        for i in sorted(self.group_at, key=lambda k: tokens[k] == "by"):
            if tokens[i] in ("by", "per") and i + 1 < len(tokens) and tokens[i + 1][:1].isdigit():
                continue  # "by 2020", "per 1M tokens": a bound, a rate's unit; no group
            options, used = self.resolve_group(i)
            if options:
                self.group_word, group_tokens = i, used
                self.group = options[0] if len({(a.table, a.column) for a in options}) == 1 else None
                if self.group is None:
                    others = [t for t in subject_candidates if set(named_tables[t]) - set(used)]
                    self.group = preferred_group(options, others, self.tables)
                    if self.group is None:
                        reading.problems.append(f"'{tokens[i]} {tokens[used[0]]}' fits "
                                                + " and ".join(f"{a.table}.{a.column}" for a in options))
                break
        if self.ranked_aggregate is not None and self.group_word is None:
            # a group the rows of a measure said after the superlative reach
            measured = {t for t, tp in self.tables.items() for m in tp.measures
                        if (cw := self.words_of(m.column)) and w.find(cw) is not None}
            found = self.nearest_group(self.ranked_aggregate[0], lambda a: any(self.reaches(t, a.table) for t in measured))
            if found is not None:
                self.group, group_tokens, self.group_word = found
                w.used.add(self.ranked_aggregate[0])
        if most is not None and self.group_word is None:
            counted, ranked_at = most
            # a column of the counted rows groups them ("Which city has the most businesses?":
            # business.city); their own label does not (one row per name); other tables through the rows'
            # key, rows that point back, or one link table ("Which line has the most stations?": line_stops)
            found = self.nearest_group(ranked_at, lambda a: (a.table != counted or a.kind not in ("label", "key")) and (
                self.reaches(counted, a.table) or points_back(self.tables, a.table, counted)
                or one_link(self.tables, counted, a.table) is not None))
            if found is not None:
                self.group, group_tokens, self.group_word = found
                link = one_link(self.tables, counted, self.group.table)
                if link is not None:  # its own words ("wrote": writes) name the tie it makes
                    group_tokens = [*group_tokens, *(i for i, tok in enumerate(tokens) if i not in w.used
                                                     and tok not in FUNCTION_WORDS
                                                     and any(w.says(i, c) for c in self.table_words[link]))]
            if self.group is None:
                reading.problems.append(f"the {counted} counted per what" if self.having else f"the most {counted} of what")
        if self.group_word is not None:
            w.used.update([self.group_word, *group_tokens])
            for t in list(named_tables):  # a table named only by the group's word is the group, not the subject
                if set(named_tables[t]) <= set(group_tokens):
                    del named_tables[t]

    def _columns(self) -> None:
        """Measures and other columns the question names, outside names and values."""
        w = self.w
        # measures and other columns the question names, outside names and values
        for span in self.taken:
            w.used.update(range(*span))
        self.column_hits = []
        self.partial = set()
        for table, tp in self.tables.items():
            fk_columns = {fk.columns[0]: fk.table for fk in tp.foreign_keys if len(fk.columns) == 1}
            listed = [(m.column, "measure") for m in tp.measures] + [(d, "date") for d in tp.dates] \
                + [(c.column, "category") for c in tp.categories] + [(c, "text") for c in self.text_columns(table)]
            listed += [(c, "fk") for c in fk_columns]
            their = {fk.columns[0]: fk for fk in tp.foreign_keys if len(fk.columns) == 1}
            for column, kind in listed:
                cw = self.words_of(column)
                if kind == "fk":  # airline_code, a key to airline(airline_code): "the airline"
                    extra = set(self.words_of(their[column].their_columns[0])) - set(self.table_words.get(their[column].table, ()))
                    cw = [x for x in cw if x not in extra] or cw
                if not cw or (kind != "fk" and column in tp.keys):
                    continue
                hit = w.find(cw)
                if hit is None and len(cw) > 1:  # the name's words written as one ("wingspan": wing_span)
                    joined = "".join(cw)
                    hit = next(([i] for i, t in enumerate(self.tokens) if i not in w.used and len(joined) >= 6
                                and singular(t) == singular(joined)), None)
                if hit is None and kind in ("measure", "date") and len(cw) > 1:
                    # a compound name said by its head noun ("a GPA higher than 3.4": cumulative_gpa; the
                    # noun before "per", less "the number of": cars_per_unit, citation_num); two columns
                    # with the head said alike fit equally and the reading takes neither
                    head = [x for x in (cw[:cw.index("per")] if "per" in cw else cw) if x not in COUNT_NAME_WORDS][-1:]
                    hit = w.find(head) if head else None
                    if hit is not None and any(i in hits for i in hit for hits in self.named_tables.values()):
                        hit = None  # the word names a table ("unit 31104"), not this column
                    if hit is not None:
                        self.partial.add((table, column))
                if hit is not None and kind == "measure" and hit[-1] + 1 in self.count_named:  # "the citation count"
                    hit = [*hit, hit[-1] + 1]
                if hit is not None:
                    self.column_hits.append((Asked(table, column, kind, fk_columns.get(column, "")), hit))
        # a table's label asked through a name of the table ("Which train class is unit 70602?")

    def _entities(self) -> None:
        """The named rows, composed by the shape of the question."""
        self.subject = ""
        entities = [Entity(h[0], str(h[2]), span, h[1]) for span, hits in self.entity_spans.items() for h in hits if h[3] == "label"]
        # a row named by the row its key points to (highlow.state_name -> state) is that row's, not a second
        # thing named: "Texas" is the state, and highlow's columns are reached from it
        self.entities = [e for e in entities if not any(
            o.span == e.span and o.value == e.value and o.table != e.table and named_by(self.tables, e.table, o.table)
            for o in entities)]
        self.reading.entities = self.entities

    def _aggregate(self) -> None:
        """What is done with the rows: count, sum, average, extreme, list or lookup."""
        reading, w, tokens, tables = self.reading, self.w, self.tokens, self.tables
        named_tables, entities, top, said = self.named_tables, self.entities, self.top, self.said
        quantity = self.quantity
        if quantity is not None and not self.counting:
            unit = QUANTITY_UNITS[tokens[quantity]]
            self.column_hits += [(Asked(t, m.column, "measure"), [quantity - 2, quantity - 1, quantity])
                            for t, tp in tables.items() for m in tp.measures if m.unit == unit]
        self.measures = [(a, h) for a, h in self.column_hits if a.kind == "measure"]
        # "How long is the Valley Line?", "How many kilometres has unit 52301 run?": a value of a named row
        # "In what year was X published?", "For which line ...": a preposition before the question word
        opening = tokens[1:] if tokens[:1] and tokens[0] in ("in", "on", "at", "for", "from", "to", "by", "of") else tokens
        lookup_start = opening[:1] and (opening[0] in ("what", "which", "who", "when", "where")
                                       or (tokens[0] == "how" and len(tokens) > 1 and tokens[1] in DIMENSIONS)
                                       or (quantity is not None and not self.counting))
        if self.most is not None or self.counting and self.aggregate == "" or (self.counting and self.aggregate == "sum" and not self.measures):
            reading.aggregate = "count"
        elif self.aggregate in ("sum", "avg") or (tokens[:2] in (["what", "is"], ["what", "was"]) and said & (MAX_WORDS | MIN_WORDS)
                                              and not entities and top is None):
            if self.aggregate == "":
                extreme = [i for i, t in enumerate(tokens) if t in MAX_WORDS | MIN_WORDS]
                self.aggregate = "max" if tokens[extreme[0]] in MAX_WORDS else "min"
                self.agg_words.add(extreme[0])
            reading.aggregate = self.aggregate
        elif entities and lists_rows_of(tokens, named_tables, {e.table for e in entities}, tables, self.columns):
            reading.aggregate = "list"
        elif entities and (self.column_hits or len(named_tables) > (1 if entities else 0)) and lookup_start and not self.group_at:
            reading.aggregate = "lookup"
        elif tokens[:1] and tokens[0] in LIST_STARTS and (self.value_spans or self.bounds or entities or "all" in said
                                                          or self.absent is not None
                                                          or any(a.kind == "category" for a, _ in self.column_hits)):
            reading.aggregate = "list"
        elif tokens[:1] and tokens[0] in LIST_STARTS and top is not None:
            reading.aggregate = "list"
        w.used.update(self.agg_words)
        if self.counting and reading.aggregate == "count":
            w.used.update(i for i, t in enumerate(tokens) if t in ("total",))

    def _subject(self) -> None:
        """The table whose rows are counted, listed, aggregated or looked up."""
        reading, w, tables, named_tables = self.reading, self.w, self.tables, self.named_tables
        group, most = self.group, self.most
        if reading.aggregate in ("sum", "avg", "min", "max"):
            fits = [(a, h) for a, h in self.measures if not (group is not None and a == group)]
            best = self.said_whole(fullest(fits))
            if len({(a.table, a.column) for a, _ in best}) > 1 and (picked := self.chosen("the measure", best)) is not None:
                best = [picked]
            if len({(a.table, a.column) for a, _ in best}) != 1:
                if len(best) > 1:
                    reading.problems.append("the question names " + " and ".join(f"{a.table}.{a.column}" for a, _ in best))
                reading.subject = ""
            else:
                a, hit = best[0]
                reading.asked, self.subject = [a], a.table
                w.used.update(hit)
                for t in list(named_tables):  # the measure's own table, said ("the average length of rivers")
                    if t == self.subject:
                        w.used.update(named_tables.pop(t))
        elif most is not None:
            self.subject = most[0]
        elif group is None and (reading.aggregate == "count" or reading.aggregate == "list" and not self.entities
                                and self.top is None) \
                and (values := self.counted_values(listing=reading.aggregate == "list")) is not None:
            # "How many food types are there?", "How many countries have rivers?": the values of a column,
            # counted; "What are the different food types?": each value once
            asked, hit, table = values
            if reading.aggregate == "list":
                reading.aggregate = "values"
            reading.asked, self.subject = [asked], asked.table
            w.used.update(hit)
            if table:
                w.used.update(named_tables.pop(table))
        elif reading.aggregate in ("count", "list"):
            plain = [t for t in named_tables if not any(i in w.used for i in named_tables[t])]
            if self.entities:  # "How many units of Class 44 Heron": the named table that is not the entity's
                entity_tables = {e.table for e in self.entities}
                plain = untied(tables, [t for t in plain if t not in entity_tables] or plain, entity_tables)
            if len(plain) == 1:
                self.subject = plain[0]
                w.used.update(named_tables[self.subject])
                # "How many different restaurants ...": each row is one already
                w.used.update(i - 1 for i in named_tables[self.subject] if i > 0 and self.tokens[i - 1] in DISTINCT_WORDS)
            elif len(plain) > 1:
                # one table said within another's words ("train classes" holds "classes"): the longer one
                longest = max(plain, key=lambda t: len(self.table_words[t]))
                # "the businesses in the Pizza category": a table named with a value of its own, whose rows
                # point to (or are reached from) the other one, names the condition, not the rows asked about
                valued = {h[0] for hits in self.value_spans.values() for h in hits}
                heads = [t for t in plain if all(u == t or (u in valued and (points_back(tables, u, t) or self.reaches(t, u)))
                                                 for u in plain)]
                if all(set(named_tables[t]) & set(named_tables[longest]) for t in plain):
                    self.subject = longest
                    w.used.update(named_tables[longest])
                elif len(heads) == 1:
                    self.subject = heads[0]
                    w.used.update(named_tables[self.subject])
                else:
                    reading.problems.append("the question names the tables " + " and ".join(plain))
        elif reading.aggregate == "lookup":
            tables_of = {e.table for e in self.entities}
            # "What is the MMLU gap between GPT-4 and Qwen 72B Chat?": one value of two rows, subtracted
            compared = [i for i, t in enumerate(self.tokens) if t in COMPARISON_WORDS and i not in w.used]
            compared = compared if len(self.entities) == 2 and len(compared) == 1 else []
            if (len(self.entities) != 1 and not compared) or len(tables_of) != 1:
                reading.problems.append("the question names " + " and ".join(e.value for e in self.entities))
            else:
                entity = self.entities[0]
                self.subject = entity.table
                w.used.update(range(*entity.span))
                own: set[int] = set()
                for t in list(named_tables):
                    if t == self.subject:  # "Glenarrow station": the entity's own table
                        own.update(named_tables.pop(t))
                w.used.update(own)
                # a column said only by the table's word that names the row ("flight HA567": not flight_number)
                # (and a column of a table whose one row each is named by the subject's: highlow of a state)
                asked: list[tuple[Asked, list[int]]] = [
                    (a, h) for a, h in self.column_hits if not set(h) <= own
                    and (self.reaches(self.subject, a.table) or one_each(self.tables, a.table, self.subject))]
                for t, hit in named_tables.items():
                    if t in tables[self.subject].paths and tables[t].label.own:
                        asked.append((Asked(t, "+".join(tables[t].label.columns), "label"), hit))
                # "the airline of flight HA567": airline_flight holds 'HA567' itself; the other column said is asked
                naming = set((entity.column or "").split("+"))
                best = fullest([(a, h) for a, h in asked if not (a.table == self.subject and a.column in naming)] or asked)
                # "the journal of X": paper.journalid, a key to journal, and journal's label are one value;
                # "the capital of the state where X is": the key only says whose capital (state's)
                keyed = {a.target for a, _ in best if a.kind == "fk" and a.table == self.subject}
                best = [(a, h) for a, h in best if not (a.kind == "label" and a.table in keyed)]
                through = {a.table for a, _ in best if a.table in keyed}
                path = [(a, h) for a, h in best if a.kind == "fk" and a.target in through]
                if path and len(path) < len(best):
                    best = [(a, h) for a, h in best if (a, h) not in path]
                    w.used.update(i for _, h in path for i in h)
                own_column = [(a, h) for a, h in best if a.table == self.subject and a.kind != "fk"]
                if len({(a.table, a.column, a.kind) for a, _ in best}) > 1 and len(own_column) == 1:
                    best = own_column  # "the homepage of X": X's own, not that of a row X points to
                if len({(a.table, a.column, a.kind) for a, _ in best}) > 1 and (picked := self.chosen("the value asked", best)) is not None:
                    best = [picked]
                if len({(a.table, a.column, a.kind) for a, _ in best}) != 1:
                    if len(best) > 1:
                        reading.problems.append("the question asks for " + " and ".join(f"{a.table}.{a.column}" for a, _ in best))
                elif best[0][0].table == self.subject and best[0][0].column in (entity.column or "").split("+"):
                    # "Which airline ... flight HA567?" read as airline_flight of HA567: the value asked is
                    # the one that named the row, which answers nothing
                    reading.problems.append(f"the question asks for {self.subject}.{best[0][0].column}, "
                                            f"the column that names '{entity.value}'")
                elif compared and best[0][0].kind != "measure":
                    reading.problems.append(f"a difference of {best[0][0].column}, which is no measure")
                else:
                    reading.asked = [best[0][0]]
                    w.used.update(best[0][1])
                    label = "+".join(tables[self.subject].label.columns)
                    reading.conditions.append(Condition(self.subject, entity.column or label, "=", entity.value, "label"))
                    if compared:
                        reading.aggregate = "difference"
                        reading.parts = [QuestionReading(self.question, subject=self.subject, entities=[e], asked=[best[0][0]],
                                                         aggregate="lookup", conditions=[Condition(
                                                             self.subject, e.column or label, "=", e.value, "label")])
                                         for e in sorted(self.entities, key=lambda e: e.span)]
                        w.used.update([*compared, *(i for e in self.entities for i in range(*e.span))])
        reading.subject = self.subject

    def _conditions(self) -> None:
        """Conditions from named rows, values and bounds; what a lookup asks."""
        reading, w, tokens, tables = self.reading, self.w, self.tokens, self.tables
        named_tables, group, top, table_words = self.named_tables, self.group, self.top, self.table_words
        columns, group_word = self.columns, self.group_word
        if self.subject and reading.aggregate == "count":
            # a row that holds its own count (checkin.count: check-ins per business and day): "how many
            # check-ins" is the number of rows or the total of that column, and the words cannot tell which
            tallies = [m.column for m in tables[self.subject].measures if set(self.words_of(m.column)) <= COUNT_NAME_WORDS]
            if tallies:
                reading.problems.append(f"each {self.subject} row holds a count ({self.subject}.{tallies[0]}): "
                                        "the number of rows, or their total")

        if self.subject and reading.aggregate in ("count", "list", "values", "sum", "avg", "min", "max"):
            subject_columns = {c.lower(): c for c in columns.get(self.subject, [])} if columns else {}
            own_label = {c.lower() for c in tables[self.subject].label.columns} if tables[self.subject].label.own else set()
            by_span: dict[tuple[int, int], list[Entity]] = {}
            for entity in self.entities:
                by_span.setdefault(entity.span, []).append(entity)
            for span, named in by_span.items():
                applied: list[tuple[Entity, Condition]] = []
                for entity in named:
                    label = tables[entity.table].label.columns
                    naming = entity.column or "+".join(label)
                    if entity.table != self.subject and entity.table in tables[self.subject].paths:  # through the key
                        applied.append((entity, Condition(entity.table, naming, "=", entity.value, "label")))
                    elif entity.table != self.subject and (links := link_tables(tables, self.subject, entity.table)):
                        # through a table whose rows point to both ("the stations on the Valley Line": line_stops)
                        for link in links:
                            applied.append((entity, Condition(entity.table, naming, "=", entity.value, "label",
                                                              via=link)))
                    elif entity.table != self.subject and naming == "+".join(label) and len(label) == 1 \
                            and label[0].lower() in subject_columns \
                            and label[0].lower() not in own_label:
                        # the subject holds the name itself, in a column of the same name (lake.state_name: state.state_name)
                        applied.append((entity, Condition(self.subject, subject_columns[label[0].lower()], "=", entity.value)))
                if len({(c.table, c.column) for _, c in applied}) != 1:
                    entity = named[0]
                    reading.problems.append(f"'{entity.value}' is a row of {entity.table}, which {self.subject} does not point to"
                                            if not applied else f"'{entity.value}' fits "
                                            + " and ".join(f"{c.table}.{c.column}" for _, c in applied))
                    continue
                if len({c.via for _, c in applied}) > 1:  # two ties: the one whose link the question names ("stop": line_stops)
                    said_link = [(e, c) for e, c in applied
                                 if any(w.says(i, x) for i in range(len(tokens)) if i not in w.used for x in table_words[c.via])]
                    applied = said_link if len({c.via for _, c in said_link}) == 1 else applied
                if len({c.via for _, c in applied}) != 1:
                    reading.problems.append(f"'{named[0].value}' is tied to {self.subject} by "
                                            + " and by ".join(c.via for _, c in applied))
                    continue
                entity, condition = applied[0]
                w.used.update(range(*entity.span))
                reading.conditions.append(condition)
                if condition.via:  # the link's own words ("Which lines stop at ...": line_stops) name the tie it makes
                    for i, tok in enumerate(tokens):
                        if i not in w.used and tok not in FUNCTION_WORDS and any(w.says(i, c) for c in table_words[condition.via]):
                            w.used.add(i)
                fk = [a for a, h in self.column_hits if a.kind == "fk" and a.table == self.subject and a.target == entity.table]
                if len(fk) == 1:  # "as their home station": the key's own words
                    w.used.update(next(h for a, h in self.column_hits if a == fk[0]))
                for t in list(named_tables):
                    if t == entity.table:
                        w.used.update(named_tables.pop(t))
            for a, hit in self.column_hits:  # "Which stations are staffed?": a yes/no column said alone is its yes
                if a.kind != "category" or not self.reaches(self.subject, a.table) or any(i in w.used for i in hit):
                    continue
                held = next(c.values for c in tables[a.table].categories if c.column == a.column)
                truth = [v for v in held if str(v).lower() in ("yes", "y", "true", "1")]
                if truth and {str(v).lower() for v in held} <= {"yes", "no", "y", "n", "true", "false", "1", "0"}:
                    reading.conditions.append(Condition(a.table, a.column, "=", truth[0]))
                    w.used.update(hit)
            values = self.conditions_from_values(self.subject)
            if values is None:
                reading.problems.append("a value the question says is not one of the rows it asks about")
            else:
                reading.conditions += values
            bounded = self.bound_conditions(self.subject)
            if bounded and reading.aggregate == "values":  # "Which food types have a rating above 4.5?"
                reading.problems.append(f"a bound on each {reading.asked[0].column}'s rows, or on their average")
            if bounded is None:
                reading.problems.append("a bound the question sets fits no one column")
            else:
                reading.conditions += bounded
            if self.absent is not None:
                reading.conditions += self.absent_condition(self.subject, self.absent)
            columns_set = [(c.table, c.column) for c in reading.conditions if c.op == "="]
            if len(columns_set) != len(set(columns_set)):  # "in the Coast region and the North region": one row has one
                reading.problems.append("two values of one column")
            if reading.aggregate == "list" and top is not None:  # the ranked measure, asked first
                ranked = [(a, h) for a, h in self.column_hits if a.kind == "measure" and not any(i in w.used for i in h)
                          and (a.table == self.subject or one_each(tables, a.table, self.subject))]
                # a column said by name ("the largest population") before one the superlative's dimension says (area)
                ranked = [(a, h) for a, h in ranked if not set(h) <= set(top[2])] or ranked
                best = fullest(ranked)
                if not best:  # "the fastest train class": the one measure whose name holds the superlative's dimension
                    dimensions = [SUPERLATIVE_DIMENSIONS[tokens[i]] for i in top[2] if tokens[i] in SUPERLATIVE_DIMENSIONS]
                    best = [(Asked(self.subject, m.column, "measure"), []) for m in tables[self.subject].measures
                            if any(measures_dimension(d, c) for d in dimensions for c in self.words_of(m.column))]
                direction = top[1]
                if direction in ("best", "worst") and len({a.column for a, _ in best}) == 1:
                    better = (self.lexicon.better if self.lexicon is not None else {}).get(best[0][0].column.lower())
                    direction = "" if better is None else "desc" if (better == "higher") == (top[1] == "best") else "asc"
                    if not direction:
                        reading.problems.append(f"whether a higher or a lower {best[0][0].column} is {top[1]} "
                                                "(say it in the lexicon file, under [better])")
                if len({a.column for a, _ in best}) == 1 and direction:
                    reading.asked.append(best[0][0])
                    w.used.update(best[0][1])
                    w.used.update(top[2])
                    reading.limit, reading.order = top[0], f"value {direction}"
                elif direction:
                    reading.problems.append("the top rows of which column")
            if reading.aggregate == "list":  # "the names and areas of the lakes": the columns it also asks for
                condition_columns = {(c.table, c.column) for c in reading.conditions}
                for a, hit in self.column_hits:
                    if a.table == self.subject and a.kind != "fk" and (a.table, a.column) not in condition_columns \
                            and not any(i in w.used for i in hit):
                        reading.asked.append(a)
                        w.used.update(hit)
                # "the aircraft codes", "the flight ids": a key or code of the subject said by every word
                # of its name, "id" and "code" included, the table's word shared with the subject's
                for column in dict.fromkeys([*tables[self.subject].keys, *self.text_columns(self.subject)]):
                    whole = _name_words(column)
                    if len(whole) < 2 or (self.subject, column) in condition_columns \
                            or any(a.table == self.subject and a.column == column for a in reading.asked):
                        continue
                    hit = w.find(whole, free_only=False)
                    if hit is not None and any(i not in w.used for i in hit) and tokens[hit[-1]] not in ("number",):
                        reading.asked.append(Asked(self.subject, column, "key"))
                        w.used.update(hit)
            if reading.aggregate == "list" and not reading.conditions and "all" not in self.said and top is None:
                reading.problems.append("a list with no condition")
            if group is not None:
                # a group reached through rows that point back to the subject's ("each street" of
                # location.restaurant_id) holds each subject row once: a count, never a total of theirs
                back = reading.aggregate == "count" and (points_back(tables, group.table, self.subject)
                                                         or one_link(tables, self.subject, group.table) is not None)
                if not self.reaches(self.subject, group.table) and not back:
                    reading.problems.append(f"{self.subject} rows do not point to {group.table}")
                if group.kind == "label" and group.table == self.subject:  # "the average platforms per station": no group
                    reading.problems.append(f"one group per {self.subject} row")
                reading.group = group
        elif self.subject and reading.aggregate == "lookup":
            if self.value_spans or self.bounds:
                reading.problems.append("a lookup with a condition")
        if reading.aggregate in ("lookup", "sum", "avg", "min", "max") and self.subject and not reading.asked:
            reading.problems.append(f"the question asks for no column of {self.subject}")
        if group_word is not None and reading.group is None and not reading.problems:
            reading.problems.append(f"the group '{tokens[group_word]} ...' fits no column of {self.subject or 'the rows'}")

    def _order(self) -> None:
        """The label's and the table's own words; the most counted group's order; the order asked."""
        reading, w, tokens, subject = self.reading, self.w, self.tokens, self.subject
        most = self.most
        if subject and reading.aggregate in ("list", "lookup", "count", "sum", "avg", "min", "max"):
            label = self.tables[subject].label
            # the label's own words, "name" included ("the names ... of the lakes": lake_name)
            own = label_words(label.columns) if label.own else []
            derived = self.table_words.get(subject, [])
            for i, tok in enumerate(tokens):
                if i in w.used:
                    continue
                # "the titles of the publications": the label's own word; "publications published": the table's
                if (reading.aggregate in ("list", "lookup") and any(w.says(i, c) for c in own)) \
                        or (len(tok) >= 5 and any(len(d) >= 5 and tok[:5] == d[:5] for d in derived)):
                    w.used.add(i)
            if self.having is not None and reading.group is not None:
                reading.having = self.having
                if self.having[0] in ("<", "<="):  # a group with no rows at all is not counted from them
                    group = reading.group.table if reading.group.kind == "label" else reading.group.column
                    reading.problems.append(f"{self.having[0]} {self.having[1]} {subject}: a {group} "
                                            f"with none is not counted")
                reading.groups_counted = self.counting  # "How many countries have more than 2 rivers?"
            elif self.ranked_aggregate is not None and reading.group is not None and reading.aggregate in ("avg", "sum"):
                reading.order, reading.limit = f"value {self.ranked_aggregate[1]}", 1
            elif most is not None and reading.group is not None:
                highest = tokens[most[1]] in DESCENDING_WORDS | MOST_WORDS
                if not highest:  # a group with no rows at all is not counted from them
                    reading.problems.append(f"the {tokens[most[1]]} {subject}: a {reading.group.table} with none is not counted")
                reading.order, reading.limit = f"value {'desc' if highest else 'asc'}", 1
                if tokens[0] in ("what", "which") and reading.group.kind == "label":  # "the name of the instructor"
                    named = label_words(reading.group.column.split("+"))
                    w.used.update(i for i, _ in enumerate(tokens) if i not in w.used and any(w.says(i, c) for c in named))
            read_order(reading, tokens, w, self.words_of)

    def _described(self) -> None:
        """Words the data's own descriptions say, dimensions and units said again, a second sentence."""
        reading, w, tokens, tables = self.reading, self.w, self.tokens, self.tables
        # words the data's own description of a column the reading uses says ("metres above sea level"
        # of elevation_m, "passengers entering and leaving per day" of daily_footfall): read, by that column
        if self.subject:
            read_columns = [(a.table, a.column) for a in reading.asked] + [(c.table, c.column) for c in reading.conditions]
            if reading.group is not None:
                read_columns.append((reading.group.table, reading.group.column))
            described = [w_ for t, c in read_columns if t in tables for part in c.split("+")
                         for w_ in comment_words(tables[t].comments.get(part, ""))]
            # a value of the data is a condition, never a description ("NULL when cancelled")
            held = {x for tp in tables.values() for cat in tp.categories for v in cat.values if isinstance(v, str)
                    for x in re.findall(r"[a-z]+", v.lower())}
            for i, tok in enumerate(tokens):
                if i not in w.used and tok not in FUNCTION_WORDS and tok not in held \
                        and any(same_word(tok, d) for d in described):
                    w.used.add(i)

        # "How many kilometres long is ...": the dimension the asked column measures, said again
        for i, tok in enumerate(tokens):
            if i not in w.used and tok in DIMENSIONS and any(
                    same_word(DIMENSIONS[tok], c) for a in reading.asked for c in self.words_of(a.column)):
                w.used.add(i)
        # "in metres" after a value asked: the unit the asked column is held in
        for i in range(len(tokens) - 1):
            if tokens[i] == "in" and tokens[i + 1] in QUANTITY_UNITS and i + 1 not in w.used and reading.asked:
                a = reading.asked[0]
                if a.table in tables and column_unit(tables[a.table], a.column) == QUANTITY_UNITS[tokens[i + 1]]:
                    w.used.add(i + 1)
        # a second sentence that asks again for what the first one read ("What are the top 5 cities with the
        # highest population? Give both city names and the population."): the same word, read already
        sentence = sentence_of_tokens(self.question, len(tokens))
        read_before = {(singular(tokens[i]), sentence[i]) for i in w.used}
        for i, tok in enumerate(tokens):
            if i not in w.used and tok not in FUNCTION_WORDS and sentence[i] > 0 \
                    and any(word == singular(tok) and at < sentence[i] for word, at in read_before):
                w.used.add(i)

    def _unread(self) -> None:
        """The content words left: each one stops the reading."""
        reading, w, lexicon = self.reading, self.w, self.lexicon
        # the database's own name ("the railway" of railway.sqlite) names where the data sits, not a fact
        named_db = set(re.findall(r"[a-z0-9]+", re.sub(r"\.[a-z0-9]+$", "", re.split(r"[/\\:]", self.profile.database.lower())[-1])))
        skip = FUNCTION_WORDS | DATA_WORDS | named_db | (lexicon.known_words if lexicon is not None else frozenset())
        for i, tok in enumerate(self.tokens):
            if tok in TURNING_WORDS and i not in w.used:  # "not", "or", "except": they change which rows, and no condition says so
                reading.unread.append(tok)
                continue
            if i in w.used or tok in skip or tok in ("many", "much", "there", "get", "return", "display", "provide",
                                                     "overall"):
                continue
            if tok in LIGHT_VERBS and reading.subject and not any(c.kind == "date" or "year" in self.words_of(c.column)
                                                                    for c in reading.conditions):
                continue  # "Which stations see more than 5,000 passengers a day?": its object says what; not beside a date
            if reading.subject and names_what_is_read(tok, reading, self.words_of):
                continue  # "Which driver drove the most journeys?": "drove" is what a driver does
            if tok in LINKING_VERBS and reading.subject and (reading.asked or reading.group) \
                    and all(c.kind == "label" for c in reading.conditions):
                # "At which depot is unit 31105 kept?", "How many units are kept at each depot?": the verb
                # places the subject at what the question asks or groups by. Beside a value it stays unread:
                # "actors who lived in Paris" is not "born in Paris" because Paris is a value of birth_city
                continue
            reading.unread.append(tok)
        if self.unmeant:  # a meaning said for no place where columns fit alike: not applied, so no answer
            reading.problems.append("the question means " + " and ".join(sorted(self.unmeant)) + ", which fits no place it reads")

    def chosen(self, place: str, options: list[tuple[Asked, list[int]]]) -> tuple[Asked, list[int]] | None:
        """One of columns that fit alike, if the caller chose it (``choose``, or the question's
        "(meaning: table.column)"); the place is kept either way."""
        reading = self.reading
        distinct = list({(a.table, a.column): (a, h) for a, h in options}.values())
        names = [f"{a.table}.{a.column}" for a, _ in distinct]
        reading.choices.append((place, names))
        k = self.forced.get(place)
        if k is None and (said := [n for n in names if n in self.unmeant]):
            k = names.index(said[0]) if len(said) == 1 else None
            self.unmeant.difference_update(said)
        if k is not None and 0 <= k < len(distinct):
            reading.chosen[place] = names[k]
            return distinct[k]
        return None

    def text_columns(self, table: str) -> list[str]:
        tp = self.tables[table]
        described = {m.column for m in tp.measures} | {c.column for c in tp.categories} | set(tp.dates) \
            | set(tp.keys) | set(tp.label.columns if tp.label.own else ())
        return [c for c in self.columns.get(table, []) if c not in described]

    def words_of(self, name: str) -> list[str]:
        return schema_words(name, self.units)

    def said_whole(self, options: list[tuple[Asked, list[int]]]) -> list[tuple[Asked, list[int]]]:
        """Of columns said alike, those every word of whose name is said, when there are any ("70b
        parameters": params_b, not active_params_b, said only by its head noun)."""
        whole = [(a, h) for a, h in options if (a.table, a.column) not in self.partial]
        return whole if whole and len(whole) < len(options) else options

    def reaches(self, table: str, other: str) -> bool:
        return table == other or other in self.tables[table].paths
