"""The extension points of agentmesh, as small protocols: implement one and pass it in (or
register it as a plugin, see :mod:`agentmesh.plugins`), without subclassing anything of ours.

=================  ===========================================  ================================
Port               what the agent calls                         built-in
=================  ===========================================  ================================
``Retriever``      ``retrieve(question, k=, hops=)``             ``KnowledgeBase`` (RDF + faiss);
                                                                ``LangChainRetriever`` wraps any
                                                                LangChain ``BaseRetriever``
``AnswerCache``    ``get`` / ``put`` / ``mark_wrong``            ``SemanticCache`` (GPTCache,
                                                                SQLite + faiss),
                                                                ``RedisSemanticCache``
``AnswerCheck``    ``check(answer, evidence)``                   ``ClaimChecker``
``Router``         ``route(request, budget, unavailable=)``      ``PolicyRouter``
``ToolFactory``    ``factory(ToolContext) -> tool | None``       the ``agentmesh.tools`` built-ins
=================  ===========================================  ================================

Optional methods are named in each docstring: the agent uses them when they are there.
The protocols are ``runtime_checkable``, so ``isinstance(obj, Retriever)`` tells whether an
object fits (it checks that the methods exist, not their signatures).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence, runtime_checkable

from agentmesh.records import Claim, Evidence, RetrievedNode

if TYPE_CHECKING:  # the built-ins' own types, for the signatures only
    from langchain_core.tools import BaseTool

    from agentmesh.memory.cache import CacheHit
    from agentmesh.memory.verify import CacheCheck
    from agentmesh.models.router import Budget, Decision, RouteRequest
    from agentmesh.tools.registry import ToolContext

__all__ = ["AnswerCache", "AnswerCheck", "Retriever", "Router", "ToolFactory"]


@runtime_checkable
class Retriever(Protocol):
    """Finds the evidence a question is grounded in, best first.

    Optional, used when present: ``has_node(uri) -> bool`` (citations of URIs are verified),
    ``labels() -> list[str]`` (names the claim check knows), ``named_nodes(question) -> set[str]``
    (the cache's knowledge check), ``version`` (a string that changes when the data does: cached
    answers are scoped by it)."""

    def retrieve(self, question: str, k: int = 5, *, hops: int = 1) -> list[RetrievedNode]: ...


@runtime_checkable
class AnswerCache(Protocol):
    """Answers repeated questions. ``scope`` names everything else an answer depends on (model,
    prompts, tools, data version): an entry is served only within its scope. ``checks`` are
    the verification steps a candidate must pass before it is served."""

    def get(self, question: str, scope: str, *, checks: Sequence["CacheCheck"] = ()) -> "CacheHit | None": ...

    def put(self, question: str, answer: str, scope: str, **extra: Any) -> None: ...

    def mark_wrong(self, hit: "CacheHit") -> float:
        """Remove the entry a person marked wrong; return the similarity its question now needs."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class AnswerCheck(Protocol):
    """What the answer step calls: the claims of ``answer``, each checked against ``evidence``."""

    def check(self, answer: str, evidence: Sequence[Evidence]) -> list[Claim]: ...


@runtime_checkable
class Router(Protocol):
    """Chooses the model for one call of a routed model (``model = "auto"``)."""

    def route(self, request: "RouteRequest", budget: "Budget | None" = None,
              unavailable: frozenset[str] = frozenset()) -> "Decision": ...


ToolFactory = Callable[["ToolContext"], "BaseTool | None"]
"""Makes a tool from what is configured, or returns None when its resource (a database, a
graph) is not there, so the tool is simply not offered."""
