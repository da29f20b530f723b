"""Answers made of evidence lines: which lines a model may pick as its answer (``quotable``),
the asked facts a pick leaves out (``complete``), and evidence shown as evidence when no checked
answer can be phrased (``evidence_answer``).

A small model answers by choosing lines (``ANSWER_TOOL``); the framework renders them, so what is
shown is what the evidence says.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable, Sequence

from agentmesh.english import is_plural_noun
from agentmesh.answering.names import _name_words, _named_share, _norm, said_whole, whole_name
from agentmesh.answering.questions import (_COMPOUND, _INTERROGATIVE_HINTS, _SECOND_ASK, _SUPERLATIVE, _asks_things,
                                           _facts_said, _generic, _hints, _stems, asked_fields, first_ask)
from agentmesh.records import MORE_NOT_SHOWN, Evidence

__all__ = ["NOT_FOUND", "EVIDENCE_HEADER", "evidence_answer", "ANSWER_TOOL", "MAX_QUOTES", "picks_for", "quotable",
           "asked_facts", "answerable", "complete", "picked", "PARTIAL_HEADER", "cut_short", "uncovered", "facts_of", "picked_answer"]

NOT_FOUND = "I could not find that in {searched}."
EVIDENCE_HEADER = "I could not phrase a checked answer; this is what the evidence says:"


def _ranked(question: str, evidence: Sequence[Evidence]) -> list[tuple[bool, bool, float, Evidence]]:
    """Every item worth quoting (not the question, not a bare label), best first, each with
    whether it qualifies as an answer (it is about a thing the question names: most of its
    label's words are in the question, or it shares two words with it), whether it holds what
    the question asks (its fact name, or for a row or passage its text, shares a word with the
    question beyond the names of the things asked about: "who" -> developer, "context window"),
    and how much of its subject's name the question says."""
    q_words = _name_words(question)
    q_stems = _stems(question)
    listing = _asks_things(question)
    ranking = bool(_SUPERLATIVE.search(first_ask(question)))
    lowered = question.lower()
    variants = {subject for subject in {e.subject for e in evidence if e.subject}
                if whole_name(subject).search(lowered) and not said_whole(subject, question)}

    def about(e: Evidence) -> float:
        # "the context window of GPT-4 Turbo" names another model than GPT-4, though it says "GPT-4"
        return 0.0 if e.subject in variants else _named_share(e.subject, q_words)

    items = [e for e in evidence if e.kind != "question" and e.text != e.subject  # a bare label says nothing
             and not _cut_marker(e)]  # nor does "... (more not shown)"
    named = {stem for e in items if about(e) >= 0.6 for stem in _stems(e.subject)}
    hinted = {key: hint for w in q_words for key, hint in _hints().items() if w.startswith(key)}
    generic = _generic()
    rest = q_stems - named - generic - {w[:5] for w in q_words for key in hinted if w.startswith(key)}
    if rest:  # the question says what it asks: "who" adds nothing to "Who is the CEO of ...?"
        hinted = {k: h for k, h in hinted.items() if k not in _INTERROGATIVE_HINTS}
    asked = (q_stems - named - generic) | {_stem for hint in hinted.values() for _stem in _stems(hint)}
    scored = []
    for e in items:
        share = about(e)
        fact = e.kind == "fact" and ":" in e.text
        field, _, value = e.text.partition(":") if fact else (e.text, "", "")
        # a fact is about what its name says, not the unit after it: "context window (tokens)" is no cost per token
        relevance = len(_stems(field.partition("(")[0] if fact else field) & asked)
        # "Which models use Apache 2.0?" asks for the things whose fact holds the value it names
        says_value = listing and len(value.strip()) >= 3 and bool(
            re.search(rf"(?<!\w){re.escape(_norm(value.strip()))}(?!\w)", _norm(question)))
        qualifies = share >= 0.6 or len(_stems(e.text) & q_stems) >= 2 or says_value
        if e.subject and ranking:  # one node's fact cannot say it is the highest of all: only a ranking of rows can
            asks = False
        elif fact:  # a fact answers what is asked of its own subject: "who" of Mistral AI is not Mixtral's developer
            asks = (share >= 0.6 and (relevance > 0 or bool(_stems(value) & asked))) or says_value
        elif e.subject:  # a description speaks of its node only
            asks = share >= 0.6 and relevance > 0
        else:  # a row or an output of this turn's tools
            asks = relevance > 0
        scored.append(((qualifies, asks, e.kind == "fact", relevance, share), e))
    # of a thing's facts that hold what is asked, the plainest: "parameters" is asked, not "active parameters"
    plain = _plainest([e for key, e in scored if key[1] and key[2]], q_stems)
    scored = [((key[0], key[1] and (not key[2] or e in plain), *key[2:]), e) for key, e in scored]
    scored.sort(key=lambda t: t[0], reverse=True)  # the facts the question asks for, then the rest
    return [(key[0], key[1], key[4], e) for key, e in scored]


def _plainest(facts: Sequence[Evidence], q_stems: set[str]) -> list[Evidence]:
    """Of each thing's ``facts``, those whose name adds fewest words the question does not say
    ("How many parameters ...?": "parameters (billions)", not "active parameters (billions)")."""
    def extra(e: Evidence) -> int:
        return len(_stems(e.text.partition(":")[0].partition("(")[0]) - q_stems)

    fewest: dict[str, int] = {}
    for e in facts:
        fewest[e.subject] = min(fewest.get(e.subject, 99), extra(e))
    return [e for e in facts if extra(e) == fewest[e.subject]]


def _line(e: Evidence, sources: bool = True) -> str:
    """One evidence item as a person reads it: "Mistral 7B — context window (tokens): 8192 <uri>"."""
    head = f"{e.subject} — " if e.subject and not e.text.startswith(e.subject) else ""
    if not sources:
        return head + e.text
    return head + e.text + (f" <{e.source}>" if e.source.startswith("http") else f" ({e.source})" if e.source else "")


def evidence_answer(question: str, evidence: Sequence[Evidence], searched: str, limit: int = 4) -> str:
    """An answer made only of evidence items that match the question, or a plain "not found":
    the asked facts about the things the question names first, then the rest of what qualifies."""
    ranked = [t for t in _ranked(question, evidence) if t[0]]
    chosen = ([e for _, asks, _, e in ranked if asks and e.kind == "fact"] or [e for _, asks, _, e in ranked if asks]
              or [e for *_, e in ranked[:2]])[:limit]
    if not chosen:
        return NOT_FOUND.format(searched=searched)
    return _listed(EVIDENCE_HEADER, chosen)


def _listed(header: str, items: Sequence[Evidence]) -> str:
    """``header``, then each item as a line with its source: evidence shown as evidence, not as an answer."""
    return "\n".join([header, *(f"- {_line(e)}" for e in items)])


ANSWER_TOOL = "answer_from_evidence"
"""The output tool of ``answer_style = "pick"``: the model answers by choosing evidence lines."""
MAX_QUOTES = 16
_QUOTE_CHARS = 160


def _ascii(text: str) -> str:
    """``text`` as one plain ASCII line: what a grammar-constrained small model copies best."""
    text = text.replace("—", "-").replace("–", "-").replace("’", "'")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text).strip()


_WHICH_THINGS = re.compile(r"\b(?:which|what)\s+(?:(\w+)\s+)?(\w+)\b", re.IGNORECASE)
"""Which or what, then a noun, perhaps after one word: a plural noun there asks for several things."""
_LIST_QUESTION = re.compile(r"\b(list|all|both|and)\b",
                            re.IGNORECASE)


def picks_for(question: str) -> int:
    """How many lines an answer to ``question`` needs: one for a lookup of one thing, up to
    three for a list or a comparison (the answer's length fit to the question)."""
    plural = any(any(w and (w.lower() == "ones" or is_plural_noun(w)) for w in m.groups())
                 for m in _WHICH_THINGS.finditer(question))
    return 3 if plural or _LIST_QUESTION.search(question) or _COMPOUND.search(question) else 1


def quotable(question: str, evidence: Sequence[Evidence], limit: int = MAX_QUOTES,
             answering: frozenset[str] = frozenset()) -> dict[str, Evidence]:
    """The evidence lines a model may pick as its answer, keyed by the line it is shown: only
    those that hold what the question asks (of the graph's, only those about a thing it names
    or close to it), the graph's facts first (a weak model's first choice is then a good one),
    rows of one query in the query's order; at most ``limit``. The rows of a tool in
    ``answering`` (``sql_answer``: it runs only the question's own whole reading) hold what it
    asks by how they were made, whatever words they share with it ("Which lines are longer than
    60 km?": line names), and come first."""
    quotes: dict[str, Evidence] = {}
    ranked = _ranked(question, evidence)
    read = [(True, True, 1.0, e) for *_, e in ranked if e.kind == "row" and e.source.partition(":")[0] in answering]
    for qualifies, asks, _, e in [*read, *ranked]:
        if not asks or not (qualifies or not (e.source.startswith("http") or e.kind == "output")):
            continue  # a line that holds nothing the question asks is no answer to it; a tool's whole
            # output (a kg_path chain) must also be about what the question names, not share one word
        quote = _ascii(_line(e, sources=False))[:_QUOTE_CHARS].rstrip()
        if quote and quote not in quotes:
            quotes[quote] = e
        if len(quotes) >= limit:
            break
    return quotes


def asked_facts(question: str, evidence: Sequence[Evidence]) -> list[Evidence]:
    """The graph's facts that state what the question asks of a thing it names: the fact name
    is one the question asks for ("Which licence does Gemma use, and who develops it?" ->
    license and developer of Gemma)."""
    if _SUPERLATIVE.search(first_ask(question)):  # no fact of one thing says it is the highest of all
        return []
    asked = asked_fields(question) | _facts_said(question, evidence)
    if "count" in asked:  # "How many MIT-licensed models are there?": a count, not MIT's licence
        asked = {"count"}
    found = [e for _, _, about, e in _ranked(question, evidence)
             if about >= 0.6 and e.kind == "fact" and e.source.startswith("http") and ":" in e.text
             and any(hint in e.text.split(":", 1)[0].lower() for hint in asked)]
    plain = _plainest(found, _stems(question))
    return [e for e in found if e in plain]


def answerable(question: str, evidence: Sequence[Evidence]) -> bool:
    """Whether the evidence already holds a fact the question asks about, of a thing it names:
    then the model is only asked to pick, not offered a tool call it would make at random."""
    return bool(asked_facts(question, evidence))


def complete(question: str, evidence: Sequence[Evidence], chosen: Sequence[Evidence], most: int = 3, *,
             answering: frozenset[str] = frozenset(), whole: frozenset[str] = frozenset()) -> list[Evidence]:
    """``chosen`` with the asked facts it leaves out (one per fact name and thing): a question
    that asks two things of one model gets both, though a small model picked one; a pick of no
    asked fact at all (a description) gets the asked fact beside it. The rows of a tool in
    ``answering`` (metadata ``answers``: a ranking returns the top value's rows, a reading the rows it
    asks for) come with the rest of that call's rows; those of a tool in ``whole`` (it ran the
    question's own whole reading) are the answer, and nothing is added to them."""
    out = list(chosen)
    tool = lambda e: e.source.partition(":")[0]  # noqa: E731 - "sql_answer: SELECT ..." -> sql_answer
    tied = {e.source for e in out if e.kind == "row" and tool(e) in answering | whole}
    shown = {(e.source, e.text) for e in out}
    for e in evidence:  # each once, though the same call ran twice
        if e.kind == "row" and e.source in tied and (e.source, e.text) not in shown:
            out.append(e)
            shown.add((e.source, e.text))
    if any(e.kind == "row" and tool(e) in whole for e in out):
        return out  # the rows of a reading that used every word of the question: nothing is left to add
    covered = {(e.subject, e.text.split(":", 1)[0]) for e in out}
    asked = asked_facts(question, evidence)
    # a pick that holds no asked fact (the description, for "What is the context window of X?")
    # answers nothing: the asked facts come in, up to ``most`` of them, and for a lookup of one
    # fact they stand in for a picked description, which says nothing more
    answers, listing = any(e in asked for e in out), picks_for(question) > 1
    if not answers and asked and not listing:
        out = [e for e in out if e.kind != "description"]
    limit = most if answers else len(out) + most
    for e in asked:
        key = (e.subject, e.text.split(":", 1)[0])
        if key not in covered and len(out) < limit:
            out.append(e)
            covered.add(key)
    if listing:  # a list: every value of a fact it holds ("Which models does Mistral AI make?"), not the first
        for e in asked:
            if e.kind == "fact" and (e.subject, e.text.split(":", 1)[0]) in covered and e not in out and len(out) < MAX_QUOTES:
                out.append(e)
    return out


def picked(quotes: dict[str, Evidence], chosen: Iterable[Any]) -> list[Evidence]:
    """The items behind the lines a model chose; a line that is not among ``quotes`` (a model
    without constrained output may write its own) is dropped, never shown."""
    by_key = {_norm(q): e for q, e in quotes.items()}
    items: list[Evidence] = []
    for quote in chosen:
        e = by_key.get(_norm(str(quote)).strip())
        if e is not None and e not in items:
            items.append(e)
    return items


def cut_short(chosen: Sequence[Evidence], evidence: Sequence[Evidence]) -> list[str]:
    """The statement names of the chosen graph facts whose node had more statements of that name
    than it showed (its "name: (more not shown)" line): an answer made of them is part of a list."""
    cut = {(e.subject, e.text.split(":", 1)[0]) for e in evidence if _cut_marker(e)}
    return list(dict.fromkeys(e.text.split(":", 1)[0] for e in chosen
                              if e.kind == "fact" and (e.subject, e.text.split(":", 1)[0]) in cut))


def _cut_marker(e: Evidence) -> bool:
    """The line a node's facts end with when some statements of a name were left out ("on line of:
    (more not shown)", :data:`agentmesh.records.MORE_NOT_SHOWN`): no fact itself."""
    return e.kind == "fact" and e.text.endswith(": " + MORE_NOT_SHOWN)


PARTIAL_HEADER = "I found only part of the answer (not the {what}); this is what the evidence says:"


def uncovered(question: str, items: Sequence[Evidence], evidence: Sequence[Evidence] = ()) -> str:
    """The fact a part of a two-part question asks for ("..., and under which licence are its
    weights published?" -> license) when none of ``items`` is about it, else "". A part asks for a
    fact by the lexicon's ``asks`` or by a word of a fact's name in ``evidence`` ("who *develops*"
    -> developer). A true row that answers one part, shown alone, reads as the whole answer."""
    match = _SECOND_ASK.search(question)
    if match is None:
        return ""
    # the second part by the lexicon's asks and the facts it names; the first part, which a row of
    # the framework's own call answers when there is one, by the facts it names
    parts = [(match.group(1), True)] + ([] if any(e.kind == "row" for e in items) else [(question[:match.start()], False)])
    for part, second in parts:
        for field in sorted((asked_fields(part) if second else set()) | _facts_said(part, evidence)):
            stems = _stems(field.partition("(")[0]) or {field[:5]}
            if not any(stem in (e.text.split(":", 1)[0] if e.kind == "fact" else e.text).lower()
                       for e in items for stem in stems):
                return field
    return ""


def facts_of(name: str, field: str, nodes: Sequence[dict[str, Any]]) -> list[Evidence]:
    """The ``field`` facts of the node labelled exactly ``name`` among retrieved ``nodes`` (dicts
    as the grounding has them): a row's thing, looked up in the graph by its name, and only by
    its whole name ("Llama 3.2 11B" is not "Llama 3.2 11B Vision")."""
    stem = field[:5]
    found: list[Evidence] = []
    for node in nodes:
        if _norm(node.get("label", "")) != _norm(name):
            continue
        for fact in node.get("facts", []):
            if stem in fact.split(":", 1)[0].lower():
                found.append(Evidence(id=f"l{len(found)}", kind="fact", text=fact, subject=node["label"], source=node["uri"]))
    return found


def picked_answer(items: Sequence[Evidence]) -> str:
    """The answer rendered from the picked items alone: one line, or a short list."""
    if len(items) == 1:
        return _line(items[0], sources=False)
    return "\n".join(f"- {_line(e, sources=False)}" for e in items)
