"""The tools an agent is offered. Built-ins are entry points of the ``agentmesh.tools`` group
(agentmesh's pyproject.toml), found exactly as a plugin's tools are; a registry adds tools of
this process on top:

* ``registry.add(tool)``: a ready LangChain tool, offered to every agent built from the registry
  (``default_registry`` by default), whatever the ``tools`` setting lists;
* ``registry.register(name, factory)``: a factory, offered when the ``tools`` setting names it.

>>> from langchain_core.tools import tool
>>> from agentmesh.tools import default_registry
>>> @tool
... def shout(text: str) -> str:
...     "Upper-case the text."
...     return text.upper()
>>> default_registry.add(shout)
>>> "shout" in default_registry
True
>>> default_registry.remove("shout")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool

from agentmesh import plugins
from agentmesh.errors import ConfigError
from agentmesh.knowledge import KnowledgeBase
from agentmesh.ports import ToolFactory

__all__ = ["ToolContext", "ToolFactory", "ToolRegistry", "default_registry", "kg_search_tool", "kg_path_tool", "sparql_tool", "sql_tool", "sql_schema_tool", "sql_rank_tool", "sql_answer_tool", "sql_lookup_tool", "python_tool", "search_tool", "remember_tool", "forget_tool", "web_search_tool", "open_database"]


@dataclass
class ToolContext:
    """What tool factories may use: the loaded knowledge graph, the database, limits."""

    knowledge: KnowledgeBase | None = None
    db: str | Path | None = None
    """A SQLite file or a SQLAlchemy URL."""
    python_timeout: float = 10.0
    sql_row_limit: int = 200
    sql_writes: bool = False
    """Writes are allowed on the database; the agent graph asks a person before each one."""
    sql_role: str | None = None
    """PostgreSQL role the sql tool's session takes (SET ROLE)."""
    sql_allow_privileged: bool = False
    """Accept a database login that is a superuser or may touch server files (not recommended)."""
    sql_functions: tuple[str, ...] = ()
    """Functions added to the sql tool's allowlist (PostgreSQL, MariaDB/MySQL)."""
    lexicon: Path | None = None
    """The domain's lexicon file (agentmesh.answering.lexicon): words the data cannot say."""
    embeddings: Any = None
    docs: list[Path] = field(default_factory=list)
    data_dir: Path | None = None
    web_search: Any = None
    """A WebSearchProvider; the web_search tool exists only when one is given."""
    retriever: Any = None
    """What questions are grounded in (an agentmesh.ports.Retriever; ``knowledge`` when it is the graph)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any, **parts: Any) -> "ToolContext":
        """The context every face builds tools from: the settings' limits plus the parts given."""
        return cls(
            db=settings.db, python_timeout=settings.python_timeout, sql_row_limit=settings.sql_row_limit,
            sql_writes=settings.sql_writes, sql_role=settings.sql_role, sql_allow_privileged=settings.sql_allow_privileged,
            sql_functions=tuple(settings.sql_functions), data_dir=settings.data_dir(), lexicon=settings.lexicon, **parts,
        )


class ToolRegistry:
    """Tool names to factories: this registry's own, then the ``agentmesh.tools`` entry points.
    A factory returns None when its resource (a database, a graph) is not configured."""

    def __init__(self) -> None:
        self._factories: dict[str, ToolFactory] = {}
        self._always: dict[str, BaseTool] = {}

    def register(self, name: str, factory: ToolFactory) -> None:
        """Offer ``factory``'s tool when the ``tools`` setting names ``name``."""
        self._factories[name] = factory

    def add(self, tool: BaseTool) -> None:
        """Offer a ready LangChain tool (e.g. one made with ``@tool``) to every agent built from this registry."""
        self._always[tool.name] = tool

    def remove(self, name: str) -> None:
        self._factories.pop(name, None)
        self._always.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._factories or name in self._always or name in plugins.tools

    def names(self) -> list[str]:
        return sorted({*self._factories, *self._always, *plugins.tools.names()})

    def _factory(self, name: str) -> ToolFactory:
        if name in self._factories:
            return self._factories[name]
        if name in self._always:
            tool = self._always[name]
            return lambda _ctx: tool
        if name not in plugins.tools:
            raise ConfigError(f"unknown tool '{name}' in settings 'tools'; known tools: {', '.join(self.names())}")
        found = plugins.tools.get(name)
        if isinstance(found, BaseTool):  # an entry point may name a ready tool
            return lambda _ctx: found
        return found

    def build(self, names: list[str], context: ToolContext, *, extras: bool = True) -> list[BaseTool]:
        """The tools called ``names`` that can run in ``context`` (unknown names are an error),
        then, with ``extras``, the tools added with :meth:`add` that ``names`` did not list."""
        tools = []
        for name in names:
            factory = self._factory(name)
            tool = factory(context)
            if tool is not None:
                if getattr(factory, "__module__", "") == __name__:
                    # agentmesh's own tools serve any question of their kind: no similarity floor
                    tool.metadata = {**(tool.metadata or {}), "general": True}
                tools.append(tool)
        if extras:
            tools += [tool for name, tool in self._always.items() if name not in names]
        return tools


def kg_search_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.knowledge import make_kg_search

    return make_kg_search(ctx.knowledge, ctx.extra.get("facts")) if ctx.knowledge is not None else None


def kg_path_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.knowledge import make_kg_path

    return make_kg_path(ctx.knowledge) if ctx.knowledge is not None else None


def sparql_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.sparql import make_sparql_tool

    return make_sparql_tool(ctx.knowledge, row_limit=ctx.sql_row_limit, facts=ctx.extra.get("facts")) if ctx.knowledge is not None else None


def open_database(ctx: ToolContext):
    """The context's database, opened once per context. Its data profile (which columns name rows,
    units, categories: :mod:`agentmesh.answering.profile`) is read from the data home on first use,
    and built and stored there when missing or when the schema, the row counts, the graph or the
    lexicon changed."""
    from agentmesh.tools.sql import SQLDatabase

    if "sql_database" not in ctx.extra:
        # with writes on, the approval is the agent graph's interrupt (the tool is marked dangerous
        # for writing statements), so the database itself approves what reaches it
        db = SQLDatabase(
            ctx.db, row_limit=ctx.sql_row_limit, allow_writes=ctx.sql_writes,
            approve=(lambda statement: True) if ctx.sql_writes else None,
            role=ctx.sql_role, allow_privileged=ctx.sql_allow_privileged, functions=ctx.sql_functions,
        )

        def profile():
            from agentmesh.answering.lexicon import load_lexicon
            from agentmesh.answering.profile import load_or_build

            return load_or_build(db, home=ctx.data_dir, knowledge=ctx.knowledge, lexicon=load_lexicon(ctx.lexicon))

        db.use_profile(profile)  # on first use: the sql tool alone never needs it
        ctx.extra["sql_database"] = db
    return ctx.extra["sql_database"]


_database = open_database


def sql_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.sql import make_sql_tool

    return make_sql_tool(_database(ctx)) if ctx.db is not None else None


def sql_schema_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.sql import make_sql_schema_tool

    return make_sql_schema_tool(_database(ctx)) if ctx.db is not None else None


def sql_rank_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.sql_rank import make_sql_rank_tool

    from agentmesh.answering.lexicon import load_lexicon

    return make_sql_rank_tool(_database(ctx), lexicon=load_lexicon(ctx.lexicon)) if ctx.db is not None else None


def sql_answer_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.answering.lexicon import load_lexicon
    from agentmesh.tools.sql_answer import make_sql_answer_tool

    return make_sql_answer_tool(_database(ctx), lexicon=load_lexicon(ctx.lexicon)) if ctx.db is not None else None


def sql_lookup_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.sql_lookup import make_sql_lookup_tool

    return make_sql_lookup_tool(_database(ctx)) if ctx.db is not None else None


def python_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.python_repl import PythonSandbox, make_python_tool

    root = ctx.data_dir / "sandbox" if ctx.data_dir else None
    return make_python_tool(PythonSandbox(timeout=ctx.python_timeout, root_dir=root))


def search_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.search import DocumentIndex, make_search_tool

    if not ctx.docs or ctx.embeddings is None:
        return None
    if len(ctx.docs) > 1:
        raise ConfigError("'docs' takes one folder for now; put the documents under one folder")
    index = DocumentIndex(ctx.docs[0], ctx.embeddings, cache_dir=ctx.data_dir / "docs" if ctx.data_dir else None)
    index.refresh()
    return make_search_tool(index)


def remember_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.memory import make_remember_tool

    facts = ctx.extra.get("facts")
    return make_remember_tool(facts, ctx.extra.get("on_facts_changed")) if facts is not None else None


def forget_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.memory import make_forget_tool

    facts = ctx.extra.get("facts")
    return make_forget_tool(facts, ctx.extra.get("on_facts_changed")) if facts is not None else None


def web_search_tool(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.search import make_web_search_tool

    return make_web_search_tool(ctx.web_search) if ctx.web_search is not None else None


default_registry = ToolRegistry()
