"""One registry of tools. Built-ins are registered exactly as a user's own tools are.

>>> from langchain_core.tools import tool
>>> from agentmesh.tools import default_registry
>>> @tool
... def shout(text: str) -> str:
...     "Upper-case the text."
...     return text.upper()
>>> default_registry.add(shout)
>>> "shout" in default_registry
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from langchain_core.tools import BaseTool

from agentmesh.errors import ConfigError
from agentmesh.knowledge import KnowledgeBase

__all__ = ["ToolContext", "ToolRegistry", "default_registry"]


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
    embeddings: Any = None
    docs: list[Path] = field(default_factory=list)
    data_dir: Path | None = None
    web_search: Any = None
    """A WebSearchProvider; the web_search tool exists only when one is given."""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any, **parts: Any) -> "ToolContext":
        """The context every face builds tools from: the settings' limits plus the parts given."""
        return cls(
            db=settings.db, python_timeout=settings.python_timeout, sql_row_limit=settings.sql_row_limit,
            sql_writes=settings.sql_writes, sql_role=settings.sql_role, sql_allow_privileged=settings.sql_allow_privileged,
            sql_functions=tuple(settings.sql_functions), data_dir=settings.data_dir(), **parts,
        )


ToolFactory = Callable[[ToolContext], BaseTool | None]


class ToolRegistry:
    """Maps tool names to factories; a factory returns None when its resource is not configured."""

    def __init__(self) -> None:
        self._factories: dict[str, ToolFactory] = {}

    def register(self, name: str, factory: ToolFactory) -> None:
        self._factories[name] = factory

    def add(self, tool: BaseTool) -> None:
        """Register a ready LangChain tool (e.g. one made with ``@tool``)."""
        self._factories[tool.name] = lambda _ctx: tool

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def names(self) -> list[str]:
        return sorted(self._factories)

    def build(self, names: list[str], context: ToolContext) -> list[BaseTool]:
        """The tools called ``names`` that can run in ``context``; unknown names are an error."""
        tools = []
        for name in names:
            if name not in self._factories:
                raise ConfigError(f"unknown tool '{name}' in settings 'tools'; known tools: {', '.join(self.names())}")
            tool = self._factories[name](context)
            if tool is not None:
                tools.append(tool)
        return tools


def _kg_search(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.knowledge import make_kg_search

    return make_kg_search(ctx.knowledge) if ctx.knowledge is not None else None


def _kg_path(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.knowledge import make_kg_path

    return make_kg_path(ctx.knowledge) if ctx.knowledge is not None else None


def _sparql(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.sparql import make_sparql_tool

    return make_sparql_tool(ctx.knowledge, row_limit=ctx.sql_row_limit) if ctx.knowledge is not None else None


def _database(ctx: ToolContext):
    from agentmesh.tools.sql import SQLDatabase

    if "sql_database" not in ctx.extra:
        # with writes on, the approval is the agent graph's interrupt (the tool is marked dangerous
        # for writing statements), so the database itself approves what reaches it
        ctx.extra["sql_database"] = SQLDatabase(
            ctx.db, row_limit=ctx.sql_row_limit, allow_writes=ctx.sql_writes,
            approve=(lambda statement: True) if ctx.sql_writes else None,
            role=ctx.sql_role, allow_privileged=ctx.sql_allow_privileged, functions=ctx.sql_functions,
        )
    return ctx.extra["sql_database"]


def _sql(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.sql import make_sql_tool

    return make_sql_tool(_database(ctx)) if ctx.db is not None else None


def _sql_schema(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.sql import make_sql_schema_tool

    return make_sql_schema_tool(_database(ctx)) if ctx.db is not None else None


def _python(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.python_repl import PythonSandbox, make_python_tool

    root = ctx.data_dir / "sandbox" if ctx.data_dir else None
    return make_python_tool(PythonSandbox(timeout=ctx.python_timeout, root_dir=root))


def _search(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.search import DocumentIndex, make_search_tool

    if not ctx.docs or ctx.embeddings is None:
        return None
    if len(ctx.docs) > 1:
        raise ConfigError("'docs' takes one folder for now; put the documents under one folder")
    index = DocumentIndex(ctx.docs[0], ctx.embeddings, cache_dir=ctx.data_dir / "docs" if ctx.data_dir else None)
    index.refresh()
    return make_search_tool(index)


def _remember(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.memory import make_remember_tool

    facts = ctx.extra.get("facts")
    return make_remember_tool(facts, ctx.extra.get("on_facts_changed")) if facts is not None else None


def _forget(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.memory import make_forget_tool

    facts = ctx.extra.get("facts")
    return make_forget_tool(facts, ctx.extra.get("on_facts_changed")) if facts is not None else None


def _web_search(ctx: ToolContext) -> BaseTool | None:
    from agentmesh.tools.search import make_web_search_tool

    return make_web_search_tool(ctx.web_search) if ctx.web_search is not None else None


default_registry = ToolRegistry()
default_registry.register("kg_search", _kg_search)
default_registry.register("kg_path", _kg_path)
default_registry.register("sparql", _sparql)
default_registry.register("sql", _sql)
default_registry.register("sql_schema", _sql_schema)
default_registry.register("python", _python)
default_registry.register("search", _search)
default_registry.register("web_search", _web_search)
default_registry.register("remember", _remember)
default_registry.register("forget", _forget)
