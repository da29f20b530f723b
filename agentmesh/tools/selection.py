"""Choose the tools to offer for a question by embedding similarity.

A 135M-parameter model picks the right tool about 1 time in 5 when offered many; offered
the few whose descriptions are closest to the question, it rarely has to choose at all.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.tools import BaseTool

from agentmesh.knowledge.index import embed_texts

__all__ = ["EmbeddingToolSelector"]


class EmbeddingToolSelector:
    """``selector(question)`` returns the names of the ``k`` tools most similar to the question,
    leaving out those less similar than ``min_score``: with no tool near the question, a small
    model offered one calls it anyway (on BFCL's irrelevance items it called 34 of 40).

    A tool marked ``metadata={"general": True}`` (agentmesh's own: sql, kg_search, python, ...)
    has no floor: its description names a kind of question, not one, so it scores low against
    any particular question it serves."""

    def __init__(self, tools: Sequence[BaseTool], embeddings: Embeddings, k: int = 3, min_score: float = 0.0) -> None:
        self.names = [t.name for t in tools]
        self._general = {t.name for t in tools if (getattr(t, "metadata", None) or {}).get("general")}
        self.k = k
        self.min_score = min_score
        self.embeddings = embeddings
        texts = [f"{t.name}: {t.description}" for t in tools]
        self._matrix = embed_texts(embeddings, texts) if texts else np.zeros((0, 1), np.float32)

    def scores(self, question: str) -> list[tuple[str, float]]:
        if not self.names:
            return []
        query = embed_texts(self.embeddings, [question])[0]
        sims = self._matrix @ query
        return sorted(zip(self.names, map(float, sims)), key=lambda x: -x[1])

    def __call__(self, question: str) -> list[str]:
        if len(self.names) <= self.k and (self.min_score <= 0.0 or set(self.names) <= self._general):
            return list(self.names)
        return [name for name, score in self.scores(question)[: self.k]
                if score >= self.min_score or name in self._general]
