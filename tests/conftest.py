"""Shared fixtures. Tests never reach the network: a fixture refuses any non-loopback connect."""

from __future__ import annotations

import ipaddress
import socket
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "llm-landscape"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


TEST_HOSTS = ipaddress.ip_network("10.213.0.0/16")
"""The addresses tests/test_replicas.py gives the hosts it makes (network namespaces on veth
pairs on this machine): local, though not loopback."""


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # unix socket
        return True
    host = address[0] if isinstance(address, tuple) else ""
    if host in ("localhost",):
        return True
    try:
        ip = ipaddress.ip_address(host)
        return ip.is_loopback or ip in TEST_HOSTS
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if not _is_local(address):
            raise ConnectionRefusedError(f"tests may not reach the network (tried {address!r})")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network, no keys, a fresh data home, and a working directory without agentmesh.toml."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    for name in ("OPENAI_API_KEY", "AGENTMESH_API_KEY", "AGENTMESH_MODEL", "AGENTMESH_KG", "AGENTMESH_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTMESH_HOME", str(tmp_path / "home"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture(autouse=True)
def _example_lexicon(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """The tests' world is the example domain, configured as this checkout's agentmesh.toml
    configures it: with its lexicon (what its data cannot say). agentmesh itself holds no word
    of it. A test of behaviour without any lexicon is marked ``no_lexicon``."""
    from agentmesh.answering.lexicon import Lexicon, load_lexicon, using_lexicon

    if request.node.get_closest_marker("no_lexicon"):
        monkeypatch.delenv("AGENTMESH_LEXICON", raising=False)
        with using_lexicon(Lexicon()):
            yield
        return
    monkeypatch.setenv("AGENTMESH_LEXICON", str(EXAMPLE_LEXICON))
    with using_lexicon(load_lexicon(EXAMPLE_LEXICON)):
        yield


@pytest.fixture
def example_kg() -> Path:
    return EXAMPLE / "landscape.ttl"


@pytest.fixture
def example_db() -> Path:
    return EXAMPLE / "landscape.sqlite"


EXAMPLE_LEXICON = EXAMPLE / "lexicon.toml"
"""What the example's data cannot say (the `lexicon` setting): agentmesh itself knows no word of its domain."""


@pytest.fixture
def example_lexicon():
    from agentmesh.answering.lexicon import load_lexicon

    return load_lexicon(EXAMPLE_LEXICON)


SMALL_TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .

ex:billing rdfs:label "Billing database"@en ;
    dcterms:description "Stores invoices and payments for all customers."@en ;
    ex:ownedBy ex:teamA .
ex:teamA skos:prefLabel "Team A"@en ; rdfs:comment "The payments team."@en .
ex:crm rdfs:label "CRM"@en ; rdfs:comment "Customer relationship records: contacts and deals."@en .
ex:orphan ex:ownedBy ex:teamA .
ex:ownedBy rdfs:label "owned by"@en .
"""


@pytest.fixture
def small_kg(tmp_path: Path) -> Path:
    path = tmp_path / "small.ttl"
    path.write_text(SMALL_TTL, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def minilm():
    """The real embedder (int8 MiniLM), loaded once for the whole run."""
    from agentmesh.models.embeddings import MiniLMEmbeddings

    return MiniLMEmbeddings()




@pytest.fixture
def redis_prefix():
    """A fresh key prefix on the Redis at REDIS_URL, its keys deleted afterwards; skips, saying
    why, when there is no Redis (CI has one)."""
    from _net import REDIS_URL

    redis = pytest.importorskip("redis", reason="redis is not installed: pip install 'agentmesh[redis]'")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    name = f"agentmesh-test-{uuid.uuid4().hex[:8]}"
    yield name
    for key in client.scan_iter(match=f"{name}:*"):
        client.delete(key)
