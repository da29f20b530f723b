"""kg_search: the knowledge graph as a tool."""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from agentmesh.graphs.state import Citation
from agentmesh.knowledge import KnowledgeBase, format_nodes

__all__ = ["make_kg_search"]

KG_SEARCH_DESCRIPTION = (
    "Search the knowledge graph for entities (models, organisations, licences, products...) and "
    "return their descriptions and facts with URIs."
)


class KgSearchArgs(BaseModel):
    query: str = Field(description="Names or a short description of what to look up.")
    k: int = Field(3, ge=1, le=20, description="How many nodes to return.")


def make_kg_search(kb: KnowledgeBase) -> BaseTool:
    def kg_search(query: str, k: int = 3) -> tuple[str, list[dict]]:
        nodes = kb.retrieve(query, k=k)
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
