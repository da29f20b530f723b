"""What a domain's data cannot say about itself, in a file the user owns (``lexicon = "lexicon.toml"``).

A database names its columns ``mmlu`` and ``context_window``; people ask for "the MMLU score"
and "how long a context". The framework reads the schema, the labels and the comments; the
lexicon adds the rest, per domain, so that no word list about any domain lives in agentmesh::

    # lexicon.toml
    known_words = ["score", "hosted"]          # words that may stand in a question without restricting its rows
    [synonyms]                                 # a word people say -> the schema's words it means
    long = ["context"]
    who = ["developer"]

A missing file is an error that names it; an unknown key is an error that names the nearest.
"""

from __future__ import annotations

import difflib
import tomllib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from agentmesh.errors import ConfigError

__all__ = ["Lexicon", "load_lexicon", "current_lexicon", "using_lexicon"]

_KEYS = ("known_words", "generic_words", "synonyms", "variant_words", "units", "labels", "asks", "better")


@dataclass(frozen=True)
class Lexicon:
    known_words: frozenset[str] = frozenset()
    """Words of this domain that restrict nothing ("Which *hosted* model is cheapest?": every priced model is hosted)."""
    generic_words: frozenset[str] = frozenset()
    """Words for the kind of thing the data holds, which name no fact of it ("model" in a graph of
    models): "Which model ...?" asks for no fact called model."""
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A word people say -> the words of the schema it means ("long" -> "context")."""
    variant_words: frozenset[str] = frozenset()
    """Words that, after a name, name another thing ("GPT-4 *Turbo*" is not GPT-4)."""
    units: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A unit of this domain, as its column names abbreviate it -> how people write it
    (``tok = ["token", "tokens"]``); everyday units (dollars, seconds, ...) need no entry."""
    asks: dict[str, str] = field(default_factory=dict)
    """The start of a question's word -> the fact it asks for (``who = "developer"``,
    ``long = "context"``), where the word and the fact's name share no stem."""
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A table -> the columns that name its rows, where the data profile's choice is not the
    user's (``drivers = ["FirstName", "LastName"]``; see :mod:`agentmesh.answering.profile`)."""
    better: dict[str, str] = field(default_factory=dict)
    """A column -> "higher" or "lower": which of its values is the best ("the *best* MMLU score" is the
    highest; the best time of a race, the lowest). English cannot say it, so "best" and "worst" are read
    only for a column named here."""
    source: str = ""

    def accounts_for(self, word: str) -> bool:
        return word in self.known_words


def load_lexicon(path: str | Path | None) -> Lexicon:
    """The lexicon in ``path`` (TOML), or an empty one when ``path`` is None."""
    if path is None:
        return Lexicon()
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"lexicon file '{file}' does not exist; set 'lexicon' to a TOML file, or remove the setting")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"lexicon file '{file}': {exc}") from None
    for key in data:
        if key not in _KEYS:
            near = difflib.get_close_matches(key, _KEYS, n=1)
            raise ConfigError(f"lexicon file '{file}': unknown key '{key}'" + (f"; did you mean '{near[0]}'?" if near else
                              f"; the keys are {', '.join(_KEYS)}"))

    def lowered(values: object, key: str) -> frozenset[str]:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"lexicon file '{file}': '{key}' must be a list of words")
        return frozenset(v.lower() for v in values)

    def mapping(values: object, key: str) -> dict[str, tuple[str, ...]]:
        if not isinstance(values, dict):
            raise ConfigError(f"lexicon file '{file}': [{key}] must be a table of word = [words]")
        return {k.lower(): tuple(sorted(lowered(v if isinstance(v, list) else [v], f"{key}.{k}"))) for k, v in values.items()}

    asks = data.get("asks", {})
    if not isinstance(asks, dict) or not all(isinstance(v, str) for v in asks.values()):
        raise ConfigError(f"lexicon file '{file}': [asks] must be a table of word = \"fact name\"")
    labels = data.get("labels", {})
    if not isinstance(labels, dict):
        raise ConfigError(f"lexicon file '{file}': [labels] must be a table of table = \"column\" or [\"column\", ...]")
    for table, columns in labels.items():
        if isinstance(columns, str):
            columns = labels[table] = [columns]
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c for c in columns):
            raise ConfigError(f"lexicon file '{file}': [labels] {table} must be a column name or a list of column "
                              f"names (FirstName, LastName), not {columns!r}")
    better = data.get("better", {})
    if not isinstance(better, dict) or not all(v in ("higher", "lower") for v in better.values()):
        raise ConfigError(f"lexicon file '{file}': [better] must be a table of column = \"higher\" or \"lower\"")
    return Lexicon(better={k.lower(): v for k, v in better.items()}, labels={t: tuple(c) for t, c in labels.items()}, known_words=lowered(data.get("known_words", []), "known_words"),
                   generic_words=lowered(data.get("generic_words", []), "generic_words"),
                   synonyms=mapping(data.get("synonyms", {}), "synonyms"),
                   variant_words=lowered(data.get("variant_words", []), "variant_words"),
                   units=mapping(data.get("units", {}), "units"),
                   asks={k.lower(): v.lower() for k, v in asks.items()}, source=str(file))


_IN_EFFECT: ContextVar[Lexicon] = ContextVar("agentmesh_lexicon", default=Lexicon())


def current_lexicon() -> Lexicon:
    """The lexicon of the run in progress (an empty one outside a run): what the answer path's
    rules read for a domain's words, so that none of them is written into agentmesh."""
    return _IN_EFFECT.get()


@contextmanager
def using_lexicon(lexicon: Lexicon) -> Iterator[Lexicon]:
    """Make ``lexicon`` the one in effect for the code run inside (the Agent wraps each run)."""
    token = _IN_EFFECT.set(lexicon)
    try:
        yield lexicon
    finally:
        _IN_EFFECT.reset(token)
