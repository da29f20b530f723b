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
from dataclasses import dataclass, field
from pathlib import Path

from agentmesh.errors import ConfigError

__all__ = ["Lexicon", "load_lexicon"]

_KEYS = ("known_words", "synonyms", "variant_words", "units", "labels")


@dataclass(frozen=True)
class Lexicon:
    known_words: frozenset[str] = frozenset()
    """Words of this domain that restrict nothing ("Which *hosted* model is cheapest?": every priced model is hosted)."""
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A word people say -> the words of the schema it means ("long" -> "context")."""
    variant_words: frozenset[str] = frozenset()
    """Words that, after a name, name another thing ("GPT-4 *Turbo*" is not GPT-4)."""
    units: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A unit's abbreviation in column names -> how people say it ("tok" -> "tokens")."""
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A table -> the columns that name its rows, where the data profile's choice is not the
    user's (``drivers = ["FirstName", "LastName"]``; see :mod:`agentmesh.answering.profile`)."""
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

    labels = data.get("labels", {})
    if not isinstance(labels, dict):
        raise ConfigError(f"lexicon file '{file}': [labels] must be a table of table = \"column\" or [\"column\", ...]")
    for table, columns in labels.items():
        if isinstance(columns, str):
            columns = labels[table] = [columns]
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c for c in columns):
            raise ConfigError(f"lexicon file '{file}': [labels] {table} must be a column name or a list of column "
                              f"names (FirstName, LastName), not {columns!r}")
    return Lexicon(labels={t: tuple(c) for t, c in labels.items()}, known_words=lowered(data.get("known_words", []), "known_words"),
                   synonyms=mapping(data.get("synonyms", {}), "synonyms"),
                   variant_words=lowered(data.get("variant_words", []), "variant_words"),
                   units=mapping(data.get("units", {}), "units"), source=str(file))
