"""kg_search and kg_path: the knowledge graph as tools (``sparql`` lives in tools/sparql.py)."""

from __future__ import annotations

from typing import Annotated

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool
from pydantic import BaseModel, Field

from agentmesh.errors import ToolError
from agentmesh.records import Citation
from agentmesh.knowledge import KnowledgeBase, format_nodes
from agentmesh.memory.facts import FactStore, merge_recalled
from agentmesh.tools.memory import current_run

__all__ = ["make_kg_search", "make_kg_path", "KgSearchArgs", "KgPathArgs"]

KG_SEARCH_DESCRIPTION = (
    "Search the knowledge graph for entities (models, organisations, licences, products...) and "
    "return their descriptions and facts with URIs."
)


class KgSearchArgs(BaseModel):
    query: str = Field(description="Names or a short description of what to look up.")
    k: int = Field(3, ge=1, le=20, description="How many nodes to return.")


def make_kg_search(kb: KnowledgeBase, facts: FactStore | None = None) -> BaseTool:
    """The ``kg_search`` tool; with ``facts``, a run's search also finds the remembered facts of its user (only theirs)."""
    def kg_search(query: str, k: int = 3, config: Annotated[RunnableConfig, InjectedToolArg] = None) -> tuple[str, list[dict]]:
        nodes = kb.retrieve(query, k=k)
        if facts is not None:
            run = current_run(config)
            mine = facts.recall(query, kb.embeddings, user=run.user if run else None,
                                thread_id=run.thread_id if run else "", k=k)
            nodes = merge_recalled(nodes, mine, k)
        if not nodes:
            return "No matching nodes in the knowledge graph.", []
        citations = [Citation(kind="node", ref=n.uri, detail=n.label).model_dump() for n in nodes]
        return format_nodes(nodes), citations

    return StructuredTool.from_function(
        kg_search,
        name="kg_search",
        description=KG_SEARCH_DESCRIPTION,
        args_schema=KgSearchArgs,
        response_format="content_and_artifact",
    )


KG_PATH_DESCRIPTION = (
    "Find how two entities of the knowledge graph are related: the shortest chain of facts linking "
    "them. Give names or URIs."
)


class KgPathArgs(BaseModel):
    source: str = Field(description="The first entity: a name or a URI.")
    target: str = Field(description="The second entity: a name or a URI.")


def make_kg_path(kb: KnowledgeBase, max_length: int = 4) -> BaseTool:
    def kg_path(source: str, target: str) -> tuple[str, list[dict]]:
        a, b = kb.resolve(source), kb.resolve(target)
        if a is None or b is None:
            raise ToolError(f"no node matches {source if a is None else target!r}")
        steps = kb.path(a, b, max_length=max_length)
        if steps is None:
            return f"No chain of at most {max_length} facts links <{a}> and <{b}>.", []
        lines = [f"<{s.subject[0]}> --{s.predicate[1]}--> <{s.object[0]}>   ({s.render()})" for s in steps]
        nodes = {uri: label for s in steps for uri, label in (s.subject, s.object)}
        return "\n".join(lines), [Citation(kind="node", ref=u, detail=l).model_dump() for u, l in nodes.items()]

    return StructuredTool.from_function(
        kg_path, name="kg_path", description=KG_PATH_DESCRIPTION, args_schema=KgPathArgs, response_format="content_and_artifact"
    )
