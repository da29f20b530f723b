"""Embeddings from an OpenAI-compatible server over a real socket: batches, concurrency, order,
retries, the rate limit, errors, and `agentmesh kg index` through it."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from agentmesh import Settings
from agentmesh.apps.cli import app
from agentmesh.errors import ModelError, ModelUnavailableError
from agentmesh.models.embeddings import make_embeddings
from agentmesh.models.remote_embeddings import RemoteEmbeddings
from agentmesh.models.testing import FakeEmbeddingServer, HashingEmbeddings

TEXTS = [f"node {i} pump valve {'sensor ' * (i % 7)}" for i in range(150)]


def test_vectors_come_back_in_the_order_of_the_texts_in_batches():
    with FakeEmbeddingServer(per_text=0.0005) as server:  # longer batches answer later: replies arrive out of order
        emb = RemoteEmbeddings("fake", base_url=server.base_url, batch_size=64, concurrency=4)
        vectors = emb.embed(TEXTS)
    expected = HashingEmbeddings(64).embed(TEXTS)
    assert vectors.shape == (150, 64) and np.allclose(vectors, expected, atol=1e-6)
    assert sorted(server.batches) == [22, 64, 64]
    assert emb.embed_query(TEXTS[3]) == pytest.approx(expected[3].tolist(), abs=1e-6)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_at_most_concurrency_requests_are_in_flight(concurrency):
    with FakeEmbeddingServer(latency=0.05) as server:
        RemoteEmbeddings("fake", base_url=server.base_url, batch_size=10, concurrency=concurrency).embed(TEXTS)
    assert server.requests == 15
    assert server.peak == concurrency


def test_throttled_and_failing_requests_are_retried():
    with FakeEmbeddingServer(failures=[429, 503, 500]) as server:
        emb = RemoteEmbeddings("fake", base_url=server.base_url, batch_size=50, concurrency=2, max_retries=5)
        vectors = emb.embed(TEXTS)
    assert vectors.shape == (150, 64) and server.requests == 3 + 3  # three batches, three retried


def test_a_server_that_keeps_failing_is_a_clear_error_without_the_key():
    with FakeEmbeddingServer(failures=[503] * 10) as server:
        emb = RemoteEmbeddings("fake", base_url=server.base_url, api_key="sk-secret-embeddings-key", max_retries=2)
        with pytest.raises(ModelUnavailableError, match=r"embeddings server http://127.0.0.1:\d+/v1 answered HTTP 503") as info:
            emb.embed(["a"])
    assert server.requests == 3  # the first try and two retries
    assert server.auth[0] == "Bearer sk-secret-embeddings-key" and "sk-secret" not in str(info.value)


def test_a_batch_too_large_for_the_server_is_named():
    with FakeEmbeddingServer(max_batch=32) as server:
        with pytest.raises(ModelUnavailableError, match="HTTP 413 for a batch of 64 texts"):
            RemoteEmbeddings("fake", base_url=server.base_url, batch_size=64, max_retries=0).embed(TEXTS)


def test_a_reply_with_too_few_vectors_is_refused(monkeypatch):
    with FakeEmbeddingServer() as server:
        emb = RemoteEmbeddings("fake", base_url=server.base_url)
        real = server.embedder.embed
        monkeypatch.setattr(server.embedder, "embed", lambda texts: real(texts)[:-1])
        with pytest.raises(ModelError, match="returned 2 vectors for 3 texts"):
            emb.embed(["a", "b", "c"])


def test_the_rate_limit_spaces_requests_out():
    """A lower bound only: a slow machine spaces them further, never closer."""
    with FakeEmbeddingServer() as server:
        RemoteEmbeddings("fake", base_url=server.base_url, batch_size=15, concurrency=4, rate_limit=20).embed(TEXTS)
    gaps = np.diff(sorted(server.arrivals))
    assert server.requests == 10 and gaps.min() >= 0.8 / 20
    with FakeEmbeddingServer() as unlimited:
        RemoteEmbeddings("fake", base_url=unlimited.base_url, batch_size=15, concurrency=4).embed(TEXTS)
    assert np.diff(sorted(unlimited.arrivals)).min() < 0.8 / 20  # the bound above is the limiter's doing


def test_settings_build_it_and_a_key_or_a_url_is_required(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = Settings.load(home=tmp_path, embeddings="openai:bge-small", embeddings_base_url="http://127.0.0.1:9/v1",
                             embeddings_batch_size=16, embeddings_concurrency=8, embeddings_rate_limit=50)
    emb = make_embeddings(settings.embeddings, settings)
    assert isinstance(emb, RemoteEmbeddings) and (emb.batch_size, emb.concurrency, emb.model_id) == (16, 8, "bge-small")
    with pytest.raises(ModelUnavailableError, match="need an API key"):
        make_embeddings("openai:text-embedding-3-small", Settings.load(home=tmp_path))


def test_kg_index_through_an_embeddings_server_shows_its_throughput(tmp_path, example_kg, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeEmbeddingServer(latency=0.01) as server:
        env = {"AGENTMESH_HOME": str(tmp_path / "home"), "AGENTMESH_EMBEDDINGS": "openai:fake-embedder",
               "AGENTMESH_EMBEDDINGS_BASE_URL": server.base_url, "AGENTMESH_EMBEDDINGS_BATCH_SIZE": "8",
               "COLUMNS": "200"}
        result = CliRunner(env=env).invoke(app, ["kg", "index", str(example_kg)])
    assert result.exit_code == 0, result.output
    assert "nodes/s" in result.output and "fake-embedder" in result.output
    assert server.requests > 1 and max(server.batches) == 8
