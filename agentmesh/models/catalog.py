"""The model catalog: specs of local and hosted models, from TOML, extendable by the user.

>>> catalog = Catalog.load()                      # the built-in catalog.toml
>>> catalog["gpt-4o"].output_per_1m
10.0
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterator

from agentmesh.errors import ConfigError

__all__ = ["ModelSpec", "Catalog", "BUILTIN_CATALOG"]

BUILTIN_CATALOG = Path(__file__).with_name("catalog.toml")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    provider: str
    model: str
    context_window: int
    input_per_1m: float
    output_per_1m: float
    latency_s: float
    tokens_per_s: float
    tier: int
    local: bool
    tool_calls: bool = True
    json_mode: bool = True
    vision: bool = False
    endpoint: str | None = None
    api_key_env: str | None = None
    """The environment variable holding this endpoint's key (the key itself is never stored)."""
    source: str = ""

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """US dollars for one call."""
        return (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1e6

    def expected_seconds(self, output_tokens: int) -> float:
        return self.latency_s + output_tokens / max(self.tokens_per_s, 1e-6)


class Catalog:
    """Model specs by name; later files replace earlier entries of the same name."""

    def __init__(self, specs: list[ModelSpec]) -> None:
        self._specs = {s.name: s for s in specs}

    @classmethod
    def load(cls, *extra: str | Path) -> "Catalog":
        specs: dict[str, ModelSpec] = {}
        for path in (BUILTIN_CATALOG, *map(Path, extra)):
            for spec in _read(path):
                specs[spec.name] = spec
        return cls(list(specs.values()))

    def __getitem__(self, name: str) -> ModelSpec:
        if name not in self._specs:
            raise ConfigError(f"model '{name}' is not in the catalog; known: {', '.join(sorted(self._specs))}")
        return self._specs[name]

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def add(self, spec: ModelSpec) -> None:
        self._specs[spec.name] = spec


def _read(path: Path) -> list[ModelSpec]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"model catalog '{path}': {exc}") from None
    known = {f.name for f in fields(ModelSpec)}
    specs = []
    for i, entry in enumerate(data.get("model", []), 1):
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"model catalog '{path}', entry {i}: unknown keys {', '.join(sorted(unknown))}")
        try:
            specs.append(ModelSpec(**entry))
        except TypeError as exc:
            raise ConfigError(f"model catalog '{path}', entry {i}: {exc}") from None
    return specs
