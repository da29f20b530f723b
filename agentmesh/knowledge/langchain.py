"""The knowledge graph as a LangChain retriever, and any LangChain retriever as agentmesh's.

* :class:`KnowledgeGraphRetriever`: a ``BaseRetriever`` over a :class:`KnowledgeBase`, so the
  graph's hybrid node search plugs into LangChain chains (one ``Document`` per node: its text
  with its facts, and ``uri``, ``label``, ``score`` and ``facts`` in the metadata).
* :class:`LangChainRetriever`: the other way round: a vector store's ``as_retriever()`` (or any
  ``BaseRetriever``) as the agent's :class:`~agentmesh.ports.Retriever`, so an agent grounds in
  it (``Agent(retriever=store.as_retriever())``); each document becomes one grounding item.

>>> kb.as_retriever(k=3).invoke("Who develops Mixtral?")[0].metadata["label"]   # doctest: +SKIP
'Mixtral 8x7B Instruct'
"""

from __future__ import annotations

import hashlib
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from agentmesh.records import RetrievedNode

__all__ = ["KnowledgeGraphRetriever", "LangChainRetriever", "node_document"]


def node_document(node: RetrievedNode) -> Document:
    """One retrieved node as a LangChain document (its id is the node's URI)."""
    text = f"{node.label}: {node.description}" if node.description else node.label
    if node.facts:
        text += "\n" + "\n".join(node.facts)
    return Document(page_content=text, id=node.uri, metadata={"uri": node.uri, "label": node.label,
                                                              "score": node.score, "facts": list(node.facts)})


class KnowledgeGraphRetriever(BaseRetriever):
    """The nodes of a knowledge graph most relevant to a query, best first, as documents.

    ``k`` nodes (``invoke(query, k=3)`` overrides it), each with its facts (``hops=2`` adds the
    facts of the nodes it links to). ``min_relative_score`` drops nodes scoring below that
    fraction of the best (0: always ``k`` nodes, as LangChain callers expect)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    knowledge: Any
    """A :class:`~agentmesh.knowledge.KnowledgeBase`."""
    k: int = 5
    hops: int = 1
    min_relative_score: float = 0.0

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, hops: int | None = None) -> list[Document]:
        nodes = self.knowledge.retrieve(query, k=self.k if k is None else k, hops=self.hops if hops is None else hops,
                                        min_relative_score=self.min_relative_score)
        return [node_document(node) for node in nodes]


class LangChainRetriever:
    """A LangChain ``BaseRetriever`` as an agentmesh :class:`~agentmesh.ports.Retriever`.

    A document's URI is its ``id``, else its ``source`` metadata, else a hash of its text; its
    label is the ``title`` (or ``source``) metadata; its score the ``score`` metadata, else its
    rank. ``k`` is passed to the retriever only if it was built to take it (``pass_k``)."""

    def __init__(self, retriever: BaseRetriever, *, pass_k: bool = False) -> None:
        self.retriever, self.pass_k = retriever, pass_k

    def retrieve(self, question: str, k: int = 5, *, hops: int = 1) -> list[RetrievedNode]:
        documents = self.retriever.invoke(question, **({"k": k} if self.pass_k else {}))
        return [self._node(document, rank) for rank, document in enumerate(documents[:k])]

    @staticmethod
    def _node(document: Document, rank: int) -> RetrievedNode:
        meta = document.metadata or {}
        uri = str(document.id or meta.get("uri") or meta.get("source")
                  or "urn:doc:" + hashlib.sha256(document.page_content.encode()).hexdigest()[:16])
        label = str(meta.get("title") or meta.get("label") or meta.get("source") or uri)
        score = meta.get("score")
        return RetrievedNode(uri, label, document.page_content, float(score) if isinstance(score, (int, float)) else 1.0 / (1 + rank),
                             facts=[str(f) for f in meta.get("facts", [])] if isinstance(meta.get("facts"), list) else [])

    def has_node(self, uri: str) -> bool:
        return False  # a document store has no nodes: URIs in an answer are not verified against it
