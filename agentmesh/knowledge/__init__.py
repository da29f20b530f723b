"""The RDF knowledge graph: store, node index, grounding."""

from agentmesh.knowledge.describe import DescriptionConfig, NodeText
from agentmesh.knowledge.grounding import KnowledgeBase, PathStep, RetrievedNode, format_nodes
from agentmesh.knowledge.index import NodeIndex
from agentmesh.knowledge.langchain import KnowledgeGraphRetriever, LangChainRetriever
from agentmesh.knowledge.store import RDF_FORMATS, KnowledgeStore

__all__ = [
    "DescriptionConfig",
    "KnowledgeBase",
    "KnowledgeStore",
    "KnowledgeGraphRetriever",
    "LangChainRetriever",
    "NodeIndex",
    "NodeText",
    "PathStep",
    "RDF_FORMATS",
    "RetrievedNode",
    "format_nodes",
]
