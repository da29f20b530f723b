"""Plugins: parts found by name, through Python entry points, the way ``llm`` and pytest do it.

A distribution adds parts by declaring entry points in one of these groups; agentmesh's own
built-ins are declared the same way in its pyproject.toml, so a plugin is never second class::

    [project.entry-points."agentmesh.models"]
    echo = "my_plugin:make_model"            # model = "echo" or "echo:<name>"

=========================  ==============================================  =====================
group                      the entry point is                              a setting names it
=========================  ==============================================  =====================
``agentmesh.models``       ``factory(name, settings) -> BaseChatModel``    ``model = "<p>:<name>"``
``agentmesh.embeddings``   ``factory(name, settings) -> Embeddings``       ``embeddings``
``agentmesh.tools``        ``factory(ToolContext) -> BaseTool | None``,    ``tools``
                           or a ready ``BaseTool``
``agentmesh.caches``       ``factory(settings, embeddings) -> AnswerCache``  ``cache_backend``
``agentmesh.checkpointers``  ``factory(target, settings) -> checkpointer``  ``threads`` (by URL
                                                                            scheme)
``agentmesh.retrievers``   ``factory(settings, embeddings) -> Retriever``  ``retriever``
``agentmesh.checkers``     ``factory(settings, retriever) -> AnswerCheck``  ``answer_checker``
=========================  ==============================================  =====================

An entry point is imported only when its name is used, so an installed plugin costs nothing
until a setting names it. In-process registration works too and wins over entry points:

>>> from agentmesh.plugins import models
>>> models.register("echo", lambda name, settings: MyEchoModel())     # doctest: +SKIP

``agentmesh plugins`` lists what is installed, by group, with the distribution it comes from.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable, Generic, Iterator, TypeVar

from agentmesh.errors import ConfigError

__all__ = ["GROUPS", "Plugin", "PluginRegistry", "models", "embeddings", "tools", "caches", "checkpointers",
           "retrievers", "checkers", "registries", "installed", "refresh"]

F = TypeVar("F", bound=Callable[..., Any])

GROUPS = {
    "models": "agentmesh.models",
    "embeddings": "agentmesh.embeddings",
    "tools": "agentmesh.tools",
    "caches": "agentmesh.caches",
    "checkpointers": "agentmesh.checkpointers",
    "retrievers": "agentmesh.retrievers",
    "checkers": "agentmesh.checkers",
}


@dataclass(frozen=True)
class Plugin:
    """One named part: where it comes from, and what provides it."""

    kind: str
    name: str
    source: str
    """The distribution that declares it ("agentmesh" for the built-ins), or "in-process"."""
    target: str
    """The entry point's ``module:attribute``, or the object's qualified name."""


class PluginRegistry(Generic[F]):
    """The parts of one kind, by name: in-process registrations first, then entry points."""

    def __init__(self, kind: str, setting: str) -> None:
        self.kind, self.group, self.setting = kind, GROUPS[kind], setting
        self._local: dict[str, F] = {}
        self._loaded: dict[str, F] = {}
        self._found: dict[str, metadata.EntryPoint] | None = None
        self._lock = threading.Lock()

    def register(self, name: str, factory: F) -> F:
        """Make ``name`` create parts with ``factory`` in this process (over any entry point)."""
        with self._lock:
            self._local[name] = factory
        return factory

    def unregister(self, name: str) -> None:
        with self._lock:
            self._local.pop(name, None)

    def refresh(self) -> None:
        """Look for entry points again (after a distribution was installed in this process)."""
        with self._lock:
            self._found, self._loaded = None, {}

    def _entry_points(self) -> dict[str, metadata.EntryPoint]:
        if self._found is not None:
            return self._found
        found: dict[str, metadata.EntryPoint] = {}
        for ep in metadata.entry_points(group=self.group):
            # the first distribution declaring a name wins; agentmesh's own names cannot be taken over
            if ep.name not in found or (ep.dist is not None and ep.dist.name == "agentmesh"):
                found[ep.name] = ep
        self._found = found
        return found

    def names(self) -> list[str]:
        return sorted({*self._local, *self._entry_points()})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._local or name in self._entry_points())

    def get(self, name: str) -> F:
        """The factory called ``name``; a ConfigError naming the setting and the choices if none."""
        if name in self._local:
            return self._local[name]
        if name in self._loaded:
            return self._loaded[name]
        ep = self._entry_points().get(name)
        if ep is None:
            raise ConfigError(self._unknown(name))
        try:
            factory = ep.load()
        except Exception as exc:  # a broken plugin names itself, and the rest keeps working
            where = ep.dist.name if ep.dist is not None else "?"
            raise ConfigError(f"{self.kind} plugin '{name}' ({ep.value}, from {where}) failed to load: "
                              f"{type(exc).__name__}: {exc}") from exc
        with self._lock:
            self._loaded[name] = factory
        return factory

    def _unknown(self, name: str) -> str:
        known = self.names()
        hint = "" if known else " (none installed: is agentmesh installed with pip? its built-ins are entry points)"
        return f"unknown {self.kind[:-1]} '{name}' in setting '{self.setting}'; known: {', '.join(known)}{hint}"

    def plugins(self) -> Iterator[Plugin]:
        for name, ep in sorted(self._entry_points().items()):
            if name not in self._local:
                yield Plugin(self.kind, name, ep.dist.name if ep.dist is not None else "?", ep.value)
        for name, factory in sorted(self._local.items()):
            target = getattr(factory, "__qualname__", None) or type(factory).__name__
            yield Plugin(self.kind, name, "in-process", f"{getattr(factory, '__module__', '?')}:{target}")


models: PluginRegistry[Callable[..., Any]] = PluginRegistry("models", "model")
embeddings: PluginRegistry[Callable[..., Any]] = PluginRegistry("embeddings", "embeddings")
tools: PluginRegistry[Any] = PluginRegistry("tools", "tools")
caches: PluginRegistry[Callable[..., Any]] = PluginRegistry("caches", "cache_backend")
checkpointers: PluginRegistry[Callable[..., Any]] = PluginRegistry("checkpointers", "threads")
retrievers: PluginRegistry[Callable[..., Any]] = PluginRegistry("retrievers", "retriever")
checkers: PluginRegistry[Callable[..., Any]] = PluginRegistry("checkers", "answer_checker")

registries = {r.kind: r for r in (models, embeddings, tools, caches, checkpointers, retrievers, checkers)}


def refresh() -> None:
    """Look for entry points again, in every group."""
    for registry in registries.values():
        registry.refresh()


def installed() -> list[Plugin]:
    """Every part of every kind, built-ins included."""
    return [plugin for registry in registries.values() for plugin in registry.plugins()]
