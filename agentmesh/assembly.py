"""The one place agentmesh's parts are built from settings.

Every face (``Agent``, each CLI command, the server) gets its model, embeddings, knowledge,
tools, cache and checkpointers from :class:`Components`, so two faces can never disagree on
where a part lives or how it is made (they did: ``agentmesh kg index`` built a node index
without the remembered facts, which the agent never used).

Each part is built on first use and named in the settings by its registered name (see
:mod:`agentmesh.plugins`); a part passed in replaces the one the settings name.

>>> from agentmesh.assembly import Components
>>> parts = Components.from_settings(Settings.load(kg=["examples/llm-landscape/landscape.ttl"]))  # doctest: +SKIP
>>> parts.knowledge.retrieve("Who develops Mixtral?")[0].label                              # doctest: +SKIP
'Mixtral 8x7B Instruct'
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from agentmesh import plugins
from agentmesh.config import Settings
from agentmesh.errors import ConfigError
from agentmesh.ports import AnswerCache, AnswerCheck, Retriever

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel
    from langchain_core.tools import BaseTool

    from agentmesh.answering import AnswerProfile
    from agentmesh.answering.profile import DataProfile
    from agentmesh.answering.lexicon import Lexicon
    from agentmesh.knowledge import KnowledgeBase
    from agentmesh.tools.mcp import McpClients
    from agentmesh.memory.facts import FactStore
    from agentmesh.runs.telemetry import Telemetry
    from agentmesh.tools.registry import ToolRegistry
    from agentmesh.tools.sql import SQLDatabase

__all__ = ["Components", "build_model", "build_embeddings", "build_cache", "build_answer_check", "build_checkpointer", "knowledge_sources",
           "open_knowledge", "open_live_knowledge", "threads_target", "facts_path", "wants_knowledge", "knowledge_graph_retriever", "sqlite_cache", "redis_cache", "claim_checker"]

def build_model(settings: Settings) -> "BaseChatModel":
    """The chat model ``settings.model`` names: ``<provider>`` or ``<provider>:<name>``."""
    from agentmesh.models.providers import make_chat_model

    return make_chat_model(settings)


def build_embeddings(settings: Settings) -> "Embeddings":
    """The embedder ``settings.embeddings`` names (``minilm``, ``openai:<model>``, a plugin's), memoised per text."""
    from agentmesh.models.embeddings import MemoEmbeddings, make_embeddings

    return MemoEmbeddings(make_embeddings(settings.embeddings, settings))


def threads_target(settings: Settings) -> str:
    """Where threads are kept: the ``threads`` setting, or ``<home>/threads.sqlite``."""
    return settings.threads or str(settings.data_dir() / "threads.sqlite")


def build_checkpointer(settings: Settings, target: str | None = None) -> Any:
    """The checkpointer for ``target`` (default: the ``threads`` setting), chosen by its URL
    scheme (``postgresql://``, a plugin's ``<name>://``); a plain path is a SQLite file."""
    from agentmesh.memory.conversation import make_checkpointer

    return make_checkpointer(target or threads_target(settings), settings)


def build_cache(settings: Settings, embeddings: "Embeddings") -> AnswerCache:
    """The semantic cache ``cache_backend`` names; by default Redis when ``cache_url`` is set, else SQLite."""
    backend = settings.cache_backend or ("redis" if settings.cache_url else "sqlite")
    cache = plugins.caches.get(backend)(settings, embeddings)
    if not isinstance(cache, AnswerCache):
        raise ConfigError(f"cache backend '{backend}' made a {type(cache).__name__}, which lacks get/put/mark_wrong/close")
    return cache


def build_answer_check(settings: Settings, retriever: Retriever | None) -> AnswerCheck:
    """The claim checker ``answer_checker`` names (``claims``, the built-in, or a plugin's), made
    with what grounds the answers (None without a retriever)."""
    name = settings.answer_checker
    check = plugins.checkers.get(name)(settings, retriever)
    if not isinstance(check, AnswerCheck):
        raise ConfigError(f"answer checker '{name}' made a {type(check).__name__}, which has no check(answer, evidence)")
    return check


def facts_path(settings: Settings) -> Path:
    return settings.data_dir() / "facts.nq"


def knowledge_sources(settings: Settings, *, refresh: bool = False) -> list[Path]:
    """The graph the agent grounds in: the ``kg`` files, a mirror of each ``kg_endpoints``, and
    the remembered facts. Every face opens exactly these, so they share one store and one index."""
    from agentmesh.knowledge.remote import knowledge_sources as configured
    from agentmesh.memory.facts import FactStore

    facts = FactStore(facts_path(settings)).path  # made empty on first use, so the sources never change shape
    return configured(settings, refresh=refresh, extra=[facts])


def wants_knowledge(settings: Settings) -> bool:
    return bool(settings.kg or settings.kg_endpoints or "remember" in settings.tools)


def open_knowledge(settings: Settings, embeddings: "Embeddings", *, kind: str | None = None, on_stale: str = "rebuild",
                   progress: Callable[[int, int], None] | None = None, refresh: bool = False) -> "KnowledgeBase":
    """The knowledge graph and its node index, as the agent uses them: loaded from the sources,
    or, with ``kg_endpoint_mode = "live"``, left behind its endpoint with only the index here."""
    from agentmesh.knowledge import DescriptionConfig, KnowledgeBase

    if settings.kg_endpoint_mode == "live":
        return open_live_knowledge(settings, embeddings, kind=kind, progress=progress, refresh=refresh)

    return KnowledgeBase.open(knowledge_sources(settings, refresh=refresh), embeddings, cache_dir=settings.data_dir("kg"),
                              kind=kind or settings.kg_index, config=DescriptionConfig.from_settings(settings), on_stale=on_stale,
                              progress=progress)


def open_live_knowledge(settings: Settings, embeddings: "Embeddings", *, kind: str | None = None,
                        progress: Callable[[int, int], None] | None = None, refresh: bool = False) -> "KnowledgeBase":
    """The live graph of the one ``kg_endpoints`` entry (see :mod:`agentmesh.knowledge.live`)."""
    from agentmesh.knowledge import DescriptionConfig
    from agentmesh.knowledge.live import LiveKnowledgeBase

    if len(settings.kg_endpoints) != 1 or settings.kg:
        raise ConfigError("kg_endpoint_mode = 'live' grounds in exactly one SPARQL endpoint (kg_endpoints) and no kg "
                          f"files; these settings have {len(settings.kg_endpoints)} endpoint(s) and {len(settings.kg)} file(s)")
    token = settings.kg_endpoint_token.get_secret_value() if settings.kg_endpoint_token else None
    return LiveKnowledgeBase.open(settings.kg_endpoints[0], embeddings, cache_dir=settings.data_dir("kg"),
                                  config=DescriptionConfig.from_settings(settings), kind=kind or settings.kg_index,
                                  progress=progress, token=token, timeout=settings.kg_endpoint_timeout,
                                  max_bytes=settings.kg_endpoint_max_bytes, page_size=settings.kg_endpoint_page_size,
                                  max_age=settings.kg_endpoint_max_age, refresh=refresh)


class Components:
    """The parts of one agent, each built from the settings on first use unless passed in.

    ``Components.from_settings(settings, model=..., tools=[...])`` takes any part ready-made:
    ``model``, ``embeddings``, ``knowledge`` (a KnowledgeBase), ``retriever`` (any
    :class:`~agentmesh.ports.Retriever`), ``tools`` (replaces the configured ones),
    ``extra_tools``, ``registry``, ``cache`` (an AnswerCache, or False for none),
    ``checkpointer``, ``web_search``, ``telemetry`` (a :class:`~agentmesh.runs.telemetry.Telemetry`),
    ``answer_check`` (any :class:`~agentmesh.ports.AnswerCheck`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._parts: dict[str, Any] = {}
        self._lock = threading.RLock()
        self.extra_tools: list["BaseTool"] = []
        self.registry: "ToolRegistry | None" = None
        self.web_search: Any = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, extra_tools: Sequence["BaseTool"] = (),
                      registry: "ToolRegistry | None" = None, web_search: Any = None, **parts: Any) -> "Components":
        unknown = set(parts) - {"model", "embeddings", "knowledge", "retriever", "tools", "cache", "checkpointer", "telemetry",
                                "answer_check"}
        if unknown:
            raise TypeError(f"Components.from_settings() got unknown parts: {', '.join(sorted(unknown))}")
        self = cls(settings or Settings.load())
        self.extra_tools, self.registry, self.web_search = list(extra_tools), registry, web_search
        for name, value in parts.items():
            if value is None:
                continue
            if name == "embeddings":
                from agentmesh.models.embeddings import MemoEmbeddings

                value = value if isinstance(value, MemoEmbeddings) else MemoEmbeddings(value)
            if name == "cache" and value is True:
                continue  # True: the configured one
            if name == "retriever":
                value = _as_retriever(value)
            self._parts[name] = value
        return self

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build()
            return self._parts[name]

    # -- the parts ----------------------------------------------------------------------------
    @property
    def model(self) -> "BaseChatModel":
        return self._part("model", lambda: build_model(self.settings))

    @property
    def lexicon(self) -> "Lexicon":
        """The domain's lexicon file (setting ``lexicon``), or an empty lexicon: read once."""
        from agentmesh.answering.lexicon import load_lexicon

        return self._part("lexicon", lambda: load_lexicon(self.settings.lexicon))

    @property
    def answer_profile(self) -> "AnswerProfile":
        """How this agent answers (``constrained`` or ``open``), decided once from the model in use
        (not from the ``model`` setting's text: a model passed in is judged by what it is)."""
        from agentmesh.answering import decide_profile

        return self._part("answer_profile", lambda: decide_profile(self.settings, self.model))

    @property
    def answer_check(self) -> AnswerCheck:
        """What checks each answer's claims against its run's evidence: the ``answer_checker``
        setting's part (the built-in ``claims``, which knows the retriever's labels)."""
        return self._part("answer_check", lambda: build_answer_check(self.settings, self.retriever))

    @property
    def embeddings(self) -> "Embeddings":
        return self._part("embeddings", lambda: build_embeddings(self.settings))

    @property
    def facts(self) -> "FactStore":
        from agentmesh.memory.facts import FactStore

        return self._part("facts", lambda: FactStore(facts_path(self.settings)))

    @property
    def retriever(self) -> Retriever | None:
        """What questions are grounded in: the ``retriever`` setting's part (the knowledge graph by default)."""
        def build() -> Retriever | None:
            if "knowledge" in self._parts:
                return self._parts["knowledge"]
            name = self.settings.retriever
            if name == "knowledge_graph" and not wants_knowledge(self.settings):
                return None
            part = _as_retriever(plugins.retrievers.get(name)(self.settings, self.embeddings))
            if part is not None and not isinstance(part, Retriever):
                raise ConfigError(f"retriever '{name}' made a {type(part).__name__}, which has no retrieve(question, k, hops=)")
            return part

        return self._part("retriever", build)

    @property
    def knowledge(self) -> "KnowledgeBase | None":
        """The knowledge graph, when the retriever is one (the graph tools need its store)."""
        from agentmesh.knowledge import KnowledgeBase

        def build() -> "KnowledgeBase | None":
            retriever = self.retriever
            return retriever if isinstance(retriever, KnowledgeBase) else None

        return self._part("knowledge", build)

    @property
    def tools(self) -> list["BaseTool"]:
        def build() -> list["BaseTool"]:
            from agentmesh.tools import ToolContext, default_registry

            s = self.settings
            # a live graph is the endpoint's: there is no local graph for remember/forget to write to,
            # so those tools are left out, as any tool whose resource is not there
            facts = {} if s.kg_endpoint_mode == "live" else {"facts": self.facts, "on_facts_changed": self.reload_knowledge}
            if s.db is not None:  # the one database, its data profile read from the data home
                facts = {**facts, "sql_database": self.database}
            context = ToolContext.from_settings(
                s, knowledge=self.knowledge, embeddings=self.embeddings if s.docs else None, docs=list(s.docs),
                web_search=self.web_search, retriever=self.retriever, extra=facts,
            )
            registry = self.registry or default_registry
            built = registry.build(list(s.tools), context)
            if self.mcp is None:
                return built
            # an MCP tool may not take a name another tool has, offered or not (sql_schema from a server 'sql')
            reserved = {t.name: "the tool" for t in built} | {name: "the built-in tool" for name in registry.names()}
            reserved |= {t.name: "the application's tool" for t in self.extra_tools}
            return built + self.mcp.tools(reserved)

        return [*self._part("tools", build), *self.extra_tools]

    @property
    def database(self) -> "SQLDatabase | None":
        """The ``db`` setting's database (None without one), opened once; its data profile is
        read from the data home on first use (built and stored when missing or stale)."""
        def build() -> "SQLDatabase | None":
            if self.settings.db is None:
                return None
            from agentmesh.tools import ToolContext
            from agentmesh.tools.registry import open_database

            return open_database(ToolContext.from_settings(self.settings, knowledge=self.knowledge))

        return self._part("database", build)

    @property
    def data_profile(self) -> "DataProfile":
        """What the database and the graph say about themselves (``agentmesh profile`` prints it)."""
        def build() -> "DataProfile":
            from agentmesh.answering.profile import DataProfile, graph_terms

            if self.database is not None:
                return self.database.profile
            knowledge = self.knowledge
            return DataProfile(graph=graph_terms(knowledge) if knowledge is not None else [])

        return self._part("data_profile", build)

    @property
    def mcp(self) -> "McpClients | None":
        """The ``mcp_servers``' clients (each server starts when its tools are first asked for), or None."""
        def build() -> "McpClients | None":
            if not self.settings.mcp_servers:
                return None
            from agentmesh.tools.mcp import McpClients

            return McpClients(self.settings.mcp_servers, log_dir=self.settings.data_dir("mcp"))

        return self._part("mcp", build)

    @property
    def cache(self) -> AnswerCache | None:
        def build() -> AnswerCache | None:
            return build_cache(self.settings, self.embeddings) if self.settings.cache else None

        part = self._part("cache", build)
        return None if part is None or part is False else part  # (an empty cache is falsy: len 0)

    @property
    def checkpointer(self) -> Any:
        return self._part("checkpointer", lambda: build_checkpointer(self.settings))

    @property
    def workflow_checkpointer(self) -> Any:
        """Where workflow runs are kept (``<home>/workflows.sqlite``)."""
        return self._part("workflow_checkpointer",
                          lambda: build_checkpointer(self.settings, str(self.settings.data_dir() / "workflows.sqlite")))

    @property
    def telemetry(self) -> "Telemetry | None":
        """OpenTelemetry spans of each run, when the OTEL_* environment asks for them (else None)."""
        def build() -> "Telemetry | None":
            from agentmesh.graphs.agent import redactor
            from agentmesh.runs.telemetry import telemetry_from_env

            return telemetry_from_env(redact=redactor(self.settings.secret_values()))

        return self._part("telemetry", build)

    @property
    def traces_dir(self) -> Path:
        return self.settings.data_dir("traces")

    def light_tools(self, names: Sequence[str] = ("sql", "sql_schema", "python")) -> list["BaseTool"]:
        """Tools that need no model, embeddings or graph (workflow ``tool:`` steps), built alone."""
        from agentmesh.tools import ToolContext, default_registry

        wanted = [n for n in self.settings.tools if n in names]
        return (self.registry or default_registry).build(wanted, ToolContext.from_settings(self.settings), extras=False)

    def reload_knowledge(self) -> None:
        """Reload the knowledge graph after the remembered facts changed; tools and grounding see it at once.
        (Only the graph holds the facts: another retriever is left as it is.)"""
        knowledge = self.knowledge
        if knowledge is not None:
            s = self.settings
            if s.kg_endpoint_mode == "live":  # nothing local to reload: read the endpoint's changes
                knowledge.sync(page_size=s.kg_endpoint_page_size, changes=s.kg_endpoint_changes)
                return
            knowledge.reload(knowledge_sources(s), cache_dir=s.data_dir("kg"), kind=s.kg_index)

    def close(self) -> None:
        """Close what was opened: the cache's store, the MCP servers' sessions (a stdio server's process ends)."""
        cache = self._parts.get("cache")
        if cache:
            cache.close()
        clients = self._parts.get("mcp")
        if clients is not None:
            clients.close()


def _as_retriever(part: Any) -> Any:
    """A LangChain ``BaseRetriever`` (a vector store's ``as_retriever()``) becomes a Retriever."""
    from langchain_core.retrievers import BaseRetriever

    if isinstance(part, BaseRetriever):
        from agentmesh.knowledge.langchain import LangChainRetriever

        return LangChainRetriever(part)
    return part


# -- the built-ins, registered through agentmesh's own entry points (pyproject.toml) -------------
def knowledge_graph_retriever(settings: Settings, embeddings: "Embeddings") -> "KnowledgeBase":
    return open_knowledge(settings, embeddings)


def claim_checker(settings: Settings, retriever: Retriever | None) -> AnswerCheck:
    """The built-in checker (``answer_checker = "claims"``): names are the retriever's labels,
    read at each check, so a reloaded graph's new labels count."""
    from agentmesh.answering.checker import ClaimChecker

    labels = getattr(retriever, "labels", None)
    return ClaimChecker(labels=labels if labels is not None else ())


def sqlite_cache(settings: Settings, embeddings: "Embeddings") -> AnswerCache:
    from agentmesh.memory.cache import SemanticCache

    return SemanticCache(settings.data_dir("cache"), embeddings, **_cache_options(settings))


def redis_cache(settings: Settings, embeddings: "Embeddings") -> AnswerCache:
    from agentmesh.memory.redis_cache import RedisSemanticCache

    if settings.cache_url is None:
        raise ConfigError("cache_backend 'redis' needs cache_url (redis://host:6379/0)")
    return RedisSemanticCache(settings.cache_url.get_secret_value(), embeddings, **_cache_options(settings))


def _cache_options(settings: Settings) -> dict[str, Any]:
    from agentmesh.memory.verify import JudgeBound, Lexicon

    return {"threshold": settings.cache_threshold, "ttl": settings.cache_ttl, "max_size": settings.cache_max_size,
            "judge_bound": JudgeBound(error=settings.cache_model_check_error), "max_error": settings.cache_max_error,
            "lexicon": Lexicon.load(settings.cache_lexicon) if settings.cache_lexicon is not None else None}
