"""How the tables a question names are tied (a key, a table whose rows point back, a link table),
and which of several columns or groups the question means: the reading's helpers over the profile."""

from __future__ import annotations

from agentmesh.english import (COUNT_RANKING_WORDS, FUNCTION_WORDS, LIST_STARTS, MAX_WORDS, MIN_WORDS,
                                         ORDER_DIRECTIONS, ORDER_WORDS)
from agentmesh.answering.matching import QuestionWords, same_word
from agentmesh.answering.reading_types import Asked, QuestionReading

__all__ = ["points_back", "named_by", "one_each", "untied", "link_tables", "one_link", "lists_rows_of", "most_counted", "fullest", "preferred_group",
           "column_unit", "read_order", "names_what_is_read"]


def points_back(tables: dict, table: str, subject: str) -> bool:
    """``table``'s rows point to ``subject``'s by exactly one single-column key (``category`` rows
    name a business's categories): a value of theirs is a condition on the subject through them."""
    return table != subject and sum(1 for fk in tables[table].foreign_keys
                                    if fk.table == subject and len(fk.columns) == 1) == 1


def named_by(tables: dict, table: str, other: str) -> bool:
    """``table``'s label is its one key to ``other``: one row each, named as ``other``'s (highlow's
    state_name, a key to state): a value of it names the ``other`` row, and its columns are that row's."""
    label = tables[table].label
    return label.own and len(label.columns) == 1 and any(
        fk.table == other and fk.columns == label.columns for fk in tables[table].foreign_keys)


def one_each(tables: dict, table: str, other: str) -> bool:
    """At most one ``table`` row per ``other`` row, and its columns that row's own: ``table`` is named
    by its key to ``other`` (:func:`named_by`), or its declared primary key is its one key to
    ``other`` (``benchmarks.model_id``: a model's scores)."""
    tp = tables[table]
    return named_by(tables, table, other) or (len(tp.primary_key) == 1 and any(
        fk.table == other and fk.columns == tp.primary_key for fk in tp.foreign_keys))


def untied(tables: dict, candidates: list[str], entity_tables: set[str]) -> list[str]:
    """``candidates`` less the link tables that tie one of them to a named row's table ("How many
    papers has Michael Brown written?": ``writes``, named by its verb, is the tie, not the rows asked)."""
    tying = {link for e in entity_tables for t in candidates for link in link_tables(tables, t, e)}
    return [t for t in candidates if t not in tying] or candidates


def link_tables(tables: dict, subject: str, other: str) -> list[str]:
    """The tables whose rows point to ``subject``'s rows by one key and reach ``other``'s: the
    link tables of a many-to-many tie (``line_stops`` between stations and lines)."""
    return [t for t, tp in tables.items() if t not in (subject, other)
            and sum(1 for fk in tp.foreign_keys if fk.table == subject and len(fk.columns) == 1) == 1
            and other in tp.paths]


def one_link(tables: dict, subject: str, other: str) -> str | None:
    """The one link table whose rows tie ``subject``'s rows to ``other``'s on their own ("writes"
    between authors and papers), not through the subject's own key; None for none or two."""
    links = [t for t in link_tables(tables, subject, other) if subject not in tables[t].paths[other]
             and other not in tables[subject].paths]
    return links[0] if len(links) == 1 else None


def lists_rows_of(tokens: list[str], named: dict[str, list[int]], entity_tables: set[str], tables: dict,
                   columns: dict[str, list[str]]) -> bool:
    """"Which drivers have Castelmoor Central as their home station?": the table named right after
    the question word points to the named row's table (a list of its rows), rather than being
    pointed to by it (a lookup: "Which train class is unit 70602?")."""
    if not tokens or tokens[0] not in LIST_STARTS:
        return False
    first = untied(tables, [t for t in named if t not in entity_tables], entity_tables)
    if len(first) != 1:
        return False

    def holds(subject: str, other: str) -> bool:  # through a key or a link table, or a column of the same name as its label
        label = tables[other].label.columns
        return other in tables[subject].paths or bool(link_tables(tables, subject, other)) or (
            len(label) == 1 and label[0].lower() in {c.lower() for c in columns.get(subject, [])})
    return all(holds(first[0], e) for e in entity_tables)


def most_counted(tokens: list[str], named_tables: dict[str, list[int]], w: "QuestionWords") -> tuple[str, int] | None:
    """(the table counted, the superlative's token) of "the most publications", "the largest number
    of courses", "the fewest stops": a ranking word, "number of" after one that is not a count word
    itself, then the words of one table; marks them read."""
    for k, tok in enumerate(tokens):
        if k in w.used or not (tok in COUNT_RANKING_WORDS or tok in MAX_WORDS | MIN_WORDS):
            continue
        j = k + 1
        if tokens[j:j + 2] == ["number", "of"]:
            j += 2
        elif tok not in COUNT_RANKING_WORDS:
            continue
        while j < len(tokens) and tokens[j] in FUNCTION_WORDS:
            j += 1
        counted = [t for t, hits in named_tables.items() if j in hits]
        if len(counted) == 1:
            w.used.update(range(k, j))
            w.used.update(named_tables[counted[0]])
            return counted[0], k
    return None


def fullest(hits: list[tuple[Asked, list[int]]]) -> list[tuple[Asked, list[int]]]:
    """The columns the question says with the most words ("active parameters" over "parameters")."""
    if not hits:
        return []
    top = max(len(h) for _, h in hits)
    return [(a, h) for a, h in hits if len(h) == top]


def preferred_group(options: list[Asked], subjects: list[str], tables: dict) -> Asked | None:
    """Of several groups, the one on (or reached from) the one table the question names."""
    fit = [a for a in options if any(a.table == s or a.table in tables[s].paths for s in subjects)]
    own = [a for a in fit if a.table in subjects]
    columns = [a for a in own if a.kind != "label"]
    for pool in (columns, own, fit):
        if len({(a.table, a.column) for a in pool}) == 1:
            return pool[0]
    return None


def column_unit(tp, column: str) -> str:
    return next((m.unit for m in tp.measures if m.column == column), "")


def read_order(reading: QuestionReading, tokens: list[str], w: QuestionWords, words_of) -> None:
    """"ordered by the number of publications in descending order", "sorted alphabetically",
    "ordered from highest to lowest": the order of the rows, on the group, the label or the value."""
    start = next((i for i, t in enumerate(tokens) if t in ORDER_WORDS and i not in w.used), None)
    if start is None:
        return
    if reading.order:  # set by "the top 5 ... highest": a second order would contradict it
        reading.problems.append("two orders")
        return
    key, direction, used = "", "", {start}
    i = start + 1
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("by", "in", "the", "from", "to", "of", "order", "sort", "a", "an"):
            used.add(i)
        elif tok in ORDER_DIRECTIONS:
            direction = direction or ORDER_DIRECTIONS[tok]
            key = key or ("label" if tok.startswith("alphabet") else "")
            used.add(i)
        elif tok in MAX_WORDS | MIN_WORDS:
            direction = direction or ("desc" if tok in MAX_WORDS else "asc")
            used.add(i)
        elif tok in ("number", "count", "total") and reading.aggregate in ("count", "sum"):
            key = "value"
            used.add(i)
        elif reading.group is not None and any(w.says(i, c) for c in words_of(reading.group.column) + words_of(reading.group.table)):
            key = key or "group"
            used.add(i)
        elif reading.asked and any(w.says(i, c) for c in words_of(reading.asked[0].column)):
            key = key or "value"
            used.add(i)
        elif reading.subject and any(w.says(i, c) for c in words_of(reading.subject)) and key == "value":
            used.add(i)
        else:
            break
        i += 1
    if not key:
        key = "value" if reading.aggregate in ("count", "sum", "avg", "min", "max") or reading.asked else "label"
    reading.order = f"{key} {direction or 'asc'}"
    w.used.update(used)


def names_what_is_read(token: str, reading: QuestionReading, words_of) -> bool:
    """``token`` is a verb from which English derives a noun (WordNet: "drove" a driver, "taught" a
    teacher or instructor, "enrolled" an enrollment) that names a table or a column the reading uses."""
    from agentmesh.memory.lemmas import known_lemmas
    from agentmesh.memory.wordnet import default_wordnet

    wordnet = default_wordnet()
    if wordnet is None or not token.isalpha() or len(token) < 3:
        return False  # without WordNet's files no verb is read this way: fewer answers, none other
    nouns = {n for v in known_lemmas(token).get("VERB", ()) for n in wordnet.derived_nouns(v.lower()) if " " not in n}
    if not nouns:
        return False
    names = {reading.subject, *(e.table for e in reading.entities)}
    for a in [*reading.asked, *([reading.group] if reading.group is not None else [])]:
        names.update((a.table, a.column, a.target))
    for c in reading.conditions:
        names.update((c.table, c.column, c.via))
    said = {w for name in names if name for part in name.split("+") for w in words_of(part)}
    return any(same_word(n, w) for n in nouns for w in said)
