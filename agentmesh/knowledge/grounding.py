"""Grounding: question -> the most relevant nodes -> their facts, with URIs to cite.

Ranking is hybrid: the cosine similarity of the question to each node's text, plus a lexical
bonus when the node's label appears in the question, so that an exact name wins over a merely
similar description.

>>> kb = KnowledgeBase.open(["examples/llm-landscape/landscape.ttl"], MiniLMEmbeddings())   # doctest: +SKIP
>>> [n.label for n in kb.retrieve("Who develops Mixtral?", k=2)]                            # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from langchain_core.embeddings import Embeddings
from rdflib import Literal, URIRef
from rdflib.namespace import RDF

from agentmesh.knowledge.describe import DescriptionConfig, describe_nodes, label_of
from agentmesh.knowledge.index import NodeIndex, embed_texts
from agentmesh.knowledge.store import KnowledgeStore
from agentmesh.models.embeddings import embedding_model_id

__all__ = ["KnowledgeBase", "RetrievedNode", "format_nodes"]

_WORD = re.compile(r"[a-z0-9][a-z0-9.\-]*")
LABEL_IN_QUESTION_BONUS = 0.35
TOKEN_OVERLAP_WEIGHT = 0.15
MAX_FACTS = 8
MIN_RELATIVE_SCORE = 0.5


@dataclass
class RetrievedNode:
    """A node found for a question, with its label-resolved 1-hop facts."""

    uri: str
    label: str
    description: str
    score: float
    facts: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    """(URI, label) of the nodes its facts point to, so an answer naming them can cite them."""

    def render(self) -> str:
        facts = "; ".join(self.facts)
        text = f"<{self.uri}> {self.label}"
        if self.description:
            text += f": {self.description}"
        return f"{text} [{facts}]" if facts else text


def format_nodes(nodes: Iterable[RetrievedNode]) -> str:
    return "\n".join(node.render() for node in nodes)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


class KnowledgeBase:
    """A loaded knowledge graph with its node index; the retriever used by ``ground`` and ``kg_search``."""

    def __init__(self, store: KnowledgeStore, index: NodeIndex, embeddings: Embeddings, config: DescriptionConfig) -> None:
        self.store = store
        self.index = index
        self.embeddings = embeddings
        self.config = config
        self.skipped = 0
        self._label_words = [_words(n.label) for n in index.nodes]

    @classmethod
    def open(
        cls,
        paths: Iterable[str | Path],
        embeddings: Embeddings,
        *,
        cache_dir: Path | None = None,
        config: DescriptionConfig | None = None,
    ) -> "KnowledgeBase":
        """Load ``paths`` and reuse the saved index in ``cache_dir`` when it still matches, else build it."""
        config = config or DescriptionConfig()
        store = KnowledgeStore.from_paths(paths)
        folder = cache_dir / f"kg-{store.content_hash}" if cache_dir else None
        index = None
        if folder is not None:
            index = NodeIndex.load(
                folder, embedding_model=embedding_model_id(embeddings), graph_hash=store.content_hash, config_key=config.key()
            )
        skipped = 0
        if index is None:
            nodes, skipped = describe_nodes(store.graph, config)
            index = NodeIndex.build(nodes, embeddings, graph_hash=store.content_hash, config_key=config.key())
            if folder is not None:
                index.save(folder)
        kb = cls(store, index, embeddings, config)
        kb.skipped = skipped
        return kb

    @property
    def version(self) -> str:
        return self.store.content_hash

    def has_node(self, uri: str) -> bool:
        return (URIRef(uri), None, None) in self.store.graph or (None, None, URIRef(uri)) in self.store.graph

    def retrieve(self, question: str, k: int = 5, *, min_relative_score: float = MIN_RELATIVE_SCORE) -> list[RetrievedNode]:
        """The ``k`` nodes most relevant to ``question``, best first, each with its facts.

        Nodes scoring below ``min_relative_score`` times the best score are left out: when
        one node matches by name, loosely similar ones only distract a small model."""
        if k <= 0 or not self.index.nodes:
            return []
        query = embed_texts(self.embeddings, [question])[0]
        candidates = dict(self.index.search(query, max(k * 4, 20)))
        question_words = _words(question)
        lowered = question.lower()
        # exact label mentions are candidates even when the embedding missed them
        for i, label_words in enumerate(self._label_words):
            if label_words and label_words <= question_words and i not in candidates:
                candidates[i] = float(self.index.index.reconstruct(i) @ query)
        scored = []
        for i, cosine in candidates.items():
            node = self.index.nodes[i]
            label_words = self._label_words[i]
            overlap = len(label_words & question_words) / len(label_words) if label_words else 0.0
            bonus = LABEL_IN_QUESTION_BONUS if node.label.lower() in lowered else 0.0
            scored.append((cosine + TOKEN_OVERLAP_WEIGHT * overlap + bonus, i))
        scored.sort(reverse=True)
        floor = scored[0][0] * min_relative_score if scored and scored[0][0] > 0 else float("-inf")
        return [self._node(i, score) for score, i in scored[:k] if score >= floor]

    def _node(self, i: int, score: float) -> RetrievedNode:
        text = self.index.nodes[i]
        facts, links = self.facts(text.uri)
        return RetrievedNode(text.uri, text.label, text.description, round(score, 4), facts, links)

    def facts(self, uri: str, limit: int = MAX_FACTS) -> tuple[list[str], list[tuple[str, str]]]:
        """Label-resolved statements about ``uri`` ("license: Apache 2.0"), outgoing then incoming,
        and the (URI, label) of the nodes they mention."""
        graph, node = self.store.graph, URIRef(uri)
        skip = set(self.config.label_predicates) | set(self.config.description_predicates)
        facts: list[str] = []
        links: list[tuple[str, str]] = []
        for predicate, obj in sorted(graph.predicate_objects(node)):
            if predicate in skip or len(facts) >= limit:
                continue
            name = "type" if predicate == RDF.type else label_of(graph, predicate, self.config)
            value = str(obj) if isinstance(obj, Literal) else label_of(graph, obj, self.config)
            facts.append(f"{name}: {value}")
            if isinstance(obj, URIRef) and predicate != RDF.type:
                links.append((str(obj), value))
        for subject, predicate in sorted(graph.subject_predicates(node)):
            if predicate == RDF.type or len(facts) >= limit:
                continue
            label = label_of(graph, subject, self.config)
            facts.append(f"{label} {label_of(graph, predicate, self.config)} this")
            if isinstance(subject, URIRef):
                links.append((str(subject), label))
        return facts, links
