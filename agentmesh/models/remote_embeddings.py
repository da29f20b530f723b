"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` server (OpenAI, vLLM, TEI, Ollama), at scale.

The official ``openai`` client sends each request and retries it, with exponential backoff and
the server's ``Retry-After``, on 408/409/429/5xx and on dropped connections. This class adds
what indexing a large graph needs on top of that:

- batches of ``batch_size`` texts;
- ``concurrency`` batches in flight at once;
- at most ``rate_limit`` requests a second across all of them (langchain-core's
  ``InMemoryRateLimiter``, a token bucket);
- vectors put back in the order of the texts, however the replies arrive;
- a reply that does not hold one vector per text is refused.

>>> emb = RemoteEmbeddings("bge-small", base_url="http://127.0.0.1:8080/v1", concurrency=8)   # doctest: +SKIP
>>> emb.embed(["pump", "valve"]).shape                                                      # doctest: +SKIP
(2, 384)
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from langchain_core.embeddings import Embeddings

from agentmesh.errors import ModelError, ModelUnavailableError

__all__ = ["RemoteEmbeddings"]


class RemoteEmbeddings(Embeddings):
    """A LangChain ``Embeddings`` over an OpenAI-compatible embeddings endpoint; see the module doc."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None, batch_size: int = 64,
                 concurrency: int = 4, rate_limit: float | None = None, max_retries: int = 5,
                 timeout: float = 60.0) -> None:
        from openai import OpenAI

        if batch_size < 1 or concurrency < 1:
            raise ValueError("batch_size and concurrency must be at least 1")
        self.model = self.model_id = model
        self.base_url = base_url
        self.batch_size, self.concurrency = batch_size, concurrency
        self.client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", max_retries=max_retries,
                             timeout=timeout)
        self.limiter = None
        if rate_limit:
            from langchain_core.rate_limiters import InMemoryRateLimiter

            self.limiter = InMemoryRateLimiter(requests_per_second=rate_limit, check_every_n_seconds=0.005,
                                               max_bucket_size=1)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def preferred_chunk(self) -> int:
        """How many texts to hand over at once so that every request slot has work."""
        return self.batch_size * self.concurrency * 4

    def _where(self) -> str:
        return self.base_url or "OpenAI"

    def _request(self, texts: list[str]) -> np.ndarray:
        import openai

        if self.limiter is not None:
            self.limiter.acquire()
        try:
            # no encoding_format: the client asks for base64 and decodes it with numpy, far cheaper than
            # JSON floats, and keeps float lists from servers that send them anyway
            reply = self.client.embeddings.create(model=self.model, input=texts)
        except openai.APIStatusError as exc:
            raise ModelUnavailableError(f"embeddings server {self._where()} answered HTTP {exc.status_code} for a batch "
                                        f"of {len(texts)} texts: {str(exc.message)[:300]}") from None
        except openai.APIError as exc:  # connection failures and timeouts, after the client's retries
            raise ModelUnavailableError(f"embeddings server {self._where()} cannot be reached: "
                                        f"{type(exc).__name__}: {exc}") from None
        rows = sorted(reply.data, key=lambda d: d.index)
        if len(rows) != len(texts) or [d.index for d in rows] != list(range(len(texts))):
            raise ModelError(f"embeddings server {self._where()} returned {len(rows)} vectors for {len(texts)} texts")
        return np.asarray([d.embedding for d in rows], dtype=np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        """``texts`` as float32 rows, in order."""
        if not texts:
            return np.zeros((0, 0), np.float32)
        batches = [texts[i:i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1 or self.concurrency == 1:
            return np.vstack([self._request(b) for b in batches])
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="agentmesh-embed")
        return np.vstack(list(self._pool.map(self._request, batches)))  # map keeps the order

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        self.client.close()
