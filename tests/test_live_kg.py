"""A graph that stays behind its endpoint (kg_endpoint_mode = "live"), against a real
`oxigraph serve` started here: the index built by paged SELECTs (and resumed after a kill),
grounding facts, sparql, kg_path and citations per question, and a sync that re-embeds only
what changed."""

from __future__ import annotations

import shutil
import subprocess
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import threading

import httpx
import pytest
from langchain_core.messages import AIMessage
from typer.testing import CliRunner

from agentmesh import Agent, Settings
from agentmesh.errors import ConfigError, KnowledgeGraphError, ReadOnlyViolationError, ToolError
from agentmesh.knowledge import KnowledgeBase
from agentmesh.knowledge.live import LiveKnowledgeBase, SparqlEndpoint
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings
from agentmesh.tools.sparql import run_sparql
from tests._net import free_port

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "llm-landscape" / "landscape.ttl"
LLM = "https://example.org/llm/"


class Oxigraph:
    def __init__(self, folder: Path) -> None:
        if shutil.which("oxigraph") is None:
            pytest.skip("the SPARQL server for these tests is Oxigraph's: pip install oxigraph")
        self.port = free_port()
        self.proc = subprocess.Popen(["oxigraph", "serve", "--location", str(folder), "--bind", f"127.0.0.1:{self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.base}/query", params={"query": "ASK {}"}, timeout=2)
                break
            except httpx.TransportError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "oxigraph serve did not start"
                time.sleep(0.1)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return f"{self.base}/query"

    def load(self, path: Path) -> None:
        httpx.post(f"{self.base}/store?default", content=path.read_bytes(), headers={"Content-Type": "text/turtle"},
                   timeout=30).raise_for_status()

    def update(self, text: str) -> None:
        httpx.post(f"{self.base}/update", content=text, headers={"Content-Type": "application/sparql-update"},
                   timeout=30).raise_for_status()

    def count(self) -> int:
        reply = httpx.post(self.query_url, data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"})
        return int(reply.json()["results"]["bindings"][0]["n"]["value"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def server(tmp_path):
    ox_server = Oxigraph(tmp_path / "oxigraph")
    ox_server.load(EXAMPLE)
    yield ox_server
    ox_server.stop()


class Counting(HashingEmbeddings):
    """Counts the texts it embeds; fails on purpose after ``fail_after`` calls (a killed build)."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.texts, self.calls, self.fail_after = 0, 0, fail_after

    def embed(self, texts):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("killed mid-build")
        self.calls += 1
        self.texts += len(texts)
        return super().embed(texts)


def live(server, tmp_path, embeddings=None, **options) -> LiveKnowledgeBase:
    return LiveKnowledgeBase.open(server.query_url, embeddings or HashingEmbeddings(), cache_dir=tmp_path / "kg", **options)


def test_the_live_index_holds_the_nodes_a_local_load_holds_and_grounds_the_same(server, tmp_path):
    kb = live(server, tmp_path, page_size=25)  # many pages
    local = KnowledgeBase.open([EXAMPLE], HashingEmbeddings())
    assert [(n.uri, n.text) for n in kb.index.nodes] == [(n.uri, n.text) for n in local.index.nodes]
    assert kb.skipped == local.skipped
    for question in ("Who develops Claude 2.1?", "What licence does Mixtral 8x7B Instruct have?", "Which models are open weight?"):
        got, want = kb.retrieve(question, k=3), local.retrieve(question, k=3)
        assert [n.uri for n in got] == [n.uri for n in want]
        for a, b in zip(got, want):
            assert sorted(a.facts) == sorted(b.facts) and sorted(a.links) == sorted(b.links)
    assert kb.has_node(f"{LLM}Claude-2.1") and not kb.has_node(f"{LLM}Claude-9")
    assert sorted(kb.labels()) == sorted(local.labels())


def test_grounding_asks_the_endpoint_each_question_in_one_query(server, tmp_path):
    kb = live(server, tmp_path)
    before = kb.endpoint.requests
    nodes = kb.retrieve("Who develops Claude 2.1?", k=5)
    assert kb.endpoint.requests == before + 1 and nodes
    server.update(f'INSERT DATA {{ <{LLM}Claude-2.1> <{LLM}note> "added after the index was built" }}')
    fresh = kb.retrieve("Who develops Claude 2.1?", k=1)[0]
    assert "note: added after the index was built" in fresh.facts  # live: no re-index needed for facts


def test_sparql_runs_at_the_endpoint_and_a_write_is_refused_before_anything_is_sent(server, tmp_path):
    kb = live(server, tmp_path)
    result = run_sparql(kb, f"SELECT ?d WHERE {{ <{LLM}Claude-2.1> <{LLM}developer> ?d }}")
    assert result.rows == [[{"uri": f"{LLM}Anthropic"}]]
    capped = run_sparql(kb, "SELECT ?s WHERE { ?s ?p ?o }", row_limit=5)
    assert len(capped.rows) == 5 and capped.truncated
    assert run_sparql(kb, "ASK { ?s ?p ?o }").boolean is True
    built = run_sparql(kb, f"CONSTRUCT {{ <{LLM}Claude-2.1> ?p ?o }} WHERE {{ <{LLM}Claude-2.1> ?p ?o }}")
    assert built.columns == ["subject", "predicate", "object"] and built.rows
    triples, sent = server.count(), kb.endpoint.requests
    for attack in (f"INSERT DATA {{ <{LLM}x> <{LLM}y> <{LLM}z> }}", "DROP ALL",
                   "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"):
        with pytest.raises(ReadOnlyViolationError):
            run_sparql(kb, attack)
    assert kb.endpoint.requests == sent and server.count() == triples
    with pytest.raises(ToolError, match="SPARQL error: .*answered HTTP 5"):  # parses, but the server cannot run it
        run_sparql(kb, "SELECT ?s WHERE { ?s ?p ?o FILTER(<http://example.org/no-such-function>(?s)) }")


def test_paths_are_found_on_the_endpoint(server, tmp_path):
    kb = live(server, tmp_path)
    local = KnowledgeBase.open([EXAMPLE], HashingEmbeddings())
    a, b = f"{LLM}Claude-2.1", f"{LLM}Claude-2"
    got, want = kb.path(a, b), local.path(a, b)
    assert got is not None and len(got) == len(want)
    assert got[0].subject[0] in (a, got[0].object[0]) and kb.path(a, f"{LLM}no-such-node") is None


def test_a_killed_build_continues_where_it_stopped(server, tmp_path, monkeypatch):
    real = SparqlEndpoint.select
    pages: list[str] = []

    def counting(self, query, timeout=None):
        if "ORDER BY ?s LIMIT" in query:
            pages.append(query)
        return real(self, query, timeout)

    monkeypatch.setattr(SparqlEndpoint, "select", counting)
    live(server, tmp_path / "whole", page_size=10)
    full = len(pages)
    assert full > 8  # many pages: labels and descriptions, ten values a page
    # killed while reading pages: the pages already read are not asked for again
    pages.clear()

    def dying(self, query, timeout=None):
        if "ORDER BY ?s LIMIT" in query and len(pages) >= 4:
            raise KeyboardInterrupt("killed while paging")
        return counting(self, query, timeout)

    monkeypatch.setattr(SparqlEndpoint, "select", dying)
    with pytest.raises(KeyboardInterrupt):
        live(server, tmp_path, page_size=10)
    saved = next((tmp_path / "kg").glob("live-*/build/pages.jsonl")).read_text().splitlines()
    assert len(saved) == 4
    # killed while embedding: the chunks already embedded are not embedded again
    monkeypatch.setattr(SparqlEndpoint, "select", counting)
    monkeypatch.setattr("agentmesh.knowledge.index.EMBED_BATCH", 16)
    pages.clear()
    with pytest.raises(KeyboardInterrupt):
        live(server, tmp_path, embeddings=Counting(fail_after=1), page_size=10)
    assert len(pages) == full - 4  # the rest of the pages, none of the four again
    pages.clear()
    counting_embedder = Counting()
    kb = live(server, tmp_path, embeddings=counting_embedder, page_size=10)
    assert pages == [] and counting_embedder.texts == len(kb.index.nodes) - 16  # one chunk of 16 was saved before the kill
    assert [n.text for n in kb.index.nodes] == [n.text for n in live(server, tmp_path / "whole").index.nodes]
    assert not (kb.folder / "build").exists()


def test_sync_re_embeds_only_what_changed_and_moves_the_version(server, tmp_path):
    counting = Counting()
    kb = live(server, tmp_path, embeddings=counting)
    version, total = kb.version, len(kb.index.nodes)
    server.update(f"""
        DELETE {{ ?s <http://purl.org/dc/terms/description> ?d }} INSERT {{ ?s <http://purl.org/dc/terms/description> "Rewritten." }}
        WHERE {{ VALUES ?s {{ <{LLM}Claude-2.1> <{LLM}Mixtral-8x7B-Instruct> }} ?s <http://purl.org/dc/terms/description> ?d }} ;
        INSERT DATA {{ <{LLM}Brand-New> <http://www.w3.org/2000/01/rdf-schema#label> "Brand New Model" }}""")
    counting.texts = 0
    assert kb.sync() == 3 and counting.texts == 3
    assert len(kb.index.nodes) == total + 1 and kb.version != version
    assert kb.retrieve("Brand New Model", k=1)[0].uri == f"{LLM}Brand-New"
    reopened = live(server, tmp_path, embeddings=Counting())  # the synced index is what is saved
    assert reopened.version == kb.version and len(reopened.index.nodes) == total + 1


def test_the_agent_in_live_mode_grounds_cites_and_checks_claims_at_the_endpoint(server, tmp_path):
    settings = Settings.load(home=tmp_path / "home", kg_endpoints=[server.query_url], kg_endpoint_mode="live",
                             tools=["kg_search", "sparql"], cache=False)
    agent = Agent(settings, model=FakeToolChatModel(responses=[AIMessage("Anthropic develops Claude 2.1.")]),
                  embeddings=HashingEmbeddings())
    result = agent.run("Who develops Claude 2.1?")
    assert result.supported and {c.text for c in result.claims} >= {"Anthropic", "Claude 2.1"}
    assert all(c.verified for c in result.citations) and any(c.ref == f"{LLM}Claude-2.1" for c in result.citations)
    assert not list((tmp_path / "home").glob("kg/endpoints/*.nt"))  # nothing mirrored


def test_live_settings_that_cannot_work_are_refused(server, tmp_path):
    base = {"home": tmp_path / "home", "kg_endpoint_mode": "live"}
    for extra, message in (({"kg_endpoints": [server.query_url, server.query_url]}, "exactly one SPARQL endpoint"),
                           ({"kg_endpoints": [server.query_url], "kg": [EXAMPLE]}, "no kg files")):
        with pytest.raises(ConfigError, match=message):
            Agent(Settings.load(**base, **extra), model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings())
    env = {"AGENTMESH_HOME": str(tmp_path / "home"), "AGENTMESH_KG_ENDPOINTS": server.query_url,
           "AGENTMESH_KG_ENDPOINT_MODE": "live", "AGENTMESH_EMBEDDINGS": "hashing"}
    agent = Agent(Settings.load(**base, kg_endpoints=[server.query_url]), model=FakeToolChatModel(responses=[]),
                  embeddings=HashingEmbeddings())
    names = {t.name for t in agent.tools}  # nothing local to remember into: those tools are left out
    assert {"kg_search", "sparql", "kg_path"} <= names and not names & {"remember", "forget"}
    loaded = CliRunner(env=env).invoke(__import__("agentmesh.apps.cli", fromlist=["app"]).app, ["kg", "load"])
    assert loaded.exit_code != 0 and "nothing is loaded here" in loaded.output


def test_kg_index_and_kg_sync_from_the_command_line(server, tmp_path):
    from agentmesh.apps.cli import app

    env = {"AGENTMESH_HOME": str(tmp_path / "home"), "AGENTMESH_KG_ENDPOINTS": server.query_url,
           "AGENTMESH_KG_ENDPOINT_MODE": "live", "AGENTMESH_EMBEDDINGS": "hashing", "COLUMNS": "200"}
    runner = CliRunner(env=env)
    built = runner.invoke(app, ["kg", "index"])
    assert built.exit_code == 0, built.output
    assert "nodes/s" in built.output
    server.update(f'INSERT DATA {{ <{LLM}Brand-New> <http://www.w3.org/2000/01/rdf-schema#label> "Brand New Model" }}')
    synced = runner.invoke(app, ["kg", "sync"])
    assert synced.exit_code == 0, synced.output
    assert "1 re-embedded" in synced.output


class _Guarded(BaseHTTPRequestHandler):
    """A SPARQL endpoint behind a bearer token: forwards to Oxigraph only with the right one."""

    target = ""
    seen: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append(self.headers.get("Authorization", ""))
        if self.headers.get("Authorization") != "Bearer graph-token-123456":
            self.send_response(401)
            self.send_header("Content-Length", "12")
            self.end_headers()
            self.wfile.write(b"unauthorized")
            return
        reply = httpx.post(self.target, content=body, headers={"Content-Type": self.headers["Content-Type"],
                                                               "Accept": self.headers.get("Accept", "*/*")})
        self.send_response(reply.status_code)
        self.send_header("Content-Type", reply.headers.get("content-type", ""))
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)


def test_the_token_goes_as_a_bearer_header_and_a_refusal_is_a_clear_error(server, tmp_path):
    _Guarded.target, _Guarded.seen = server.query_url, []
    guard = ThreadingHTTPServer(("127.0.0.1", 0), _Guarded)
    threading.Thread(target=guard.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{guard.server_address[1]}/query"
    try:
        kb = LiveKnowledgeBase.open(url, HashingEmbeddings(), cache_dir=tmp_path / "kg", token="graph-token-123456")
        assert kb.retrieve("Who develops Claude 2.1?", k=1)
        with pytest.raises(KnowledgeGraphError, match=r"answered HTTP 401") as info:
            LiveKnowledgeBase.open(url, HashingEmbeddings(), cache_dir=tmp_path / "other", token="wrong-token-00000")
        assert "wrong-token" not in str(info.value)
    finally:
        guard.shutdown()
    assert set(_Guarded.seen) == {"Bearer graph-token-123456", "Bearer wrong-token-00000"}


def test_a_change_query_syncs_only_the_nodes_it_names(server, tmp_path):
    counting = Counting()
    kb = live(server, tmp_path, embeddings=counting)
    total, pages = len(kb.index.nodes), []
    time.sleep(0.01)
    server.update(f"""PREFIX dct: <http://purl.org/dc/terms/>
        DELETE {{ <{LLM}Claude-2.1> dct:description ?d }} INSERT {{ <{LLM}Claude-2.1> dct:description "Rewritten." ;
                                                                 dct:modified ?now }}
        WHERE {{ <{LLM}Claude-2.1> dct:description ?d BIND(NOW() AS ?now) }} ;
        INSERT {{ <{LLM}Brand-New> <http://www.w3.org/2000/01/rdf-schema#label> "Brand New Model" ; dct:modified ?now }}
        WHERE {{ BIND(NOW() AS ?now) }}""")
    real = kb.endpoint.select
    kb.endpoint.select = lambda q, timeout=None: (pages.append(q), real(q, timeout))[1]
    counting.texts = 0
    changes = "SELECT ?s WHERE { ?s <http://purl.org/dc/terms/modified> ?m FILTER(?m > {since}) }"
    assert kb.sync(changes=changes) == 2 and counting.texts == 2
    assert not any("ORDER BY ?s LIMIT" in q for q in pages)  # no page of the whole graph was read
    assert len(kb.index.nodes) == total + 1
    assert kb.index.nodes[kb.index.by_uri[f"{LLM}Claude-2.1"]].description == "Rewritten."
    full = live(server, tmp_path / "full")  # what a full read gives: the same texts
    assert [n.text for n in kb.index.nodes] == [n.text for n in full.index.nodes]
    assert kb.sync(changes=changes) == 0  # nothing changed since
    with pytest.raises(KnowledgeGraphError, match="must hold"):
        kb.sync(changes="SELECT ?s WHERE { ?s ?p ?o }")


def test_an_endpoint_gone_mid_service_is_a_503_that_names_it_not_an_invented_answer(server, tmp_path):
    from agentmesh.apps.server import BackgroundServer, create_app
    from agentmesh.errors import KnowledgeGraphUnavailableError

    settings = Settings.load(home=tmp_path / "home", kg_endpoints=[server.query_url], kg_endpoint_mode="live",
                             tools=["kg_search"], cache=False)
    agent = Agent(settings, model=FakeToolChatModel(responses=[AIMessage("Anthropic develops Claude 2.1.")] * 3),
                  embeddings=HashingEmbeddings())
    server.stop()
    with pytest.raises(KnowledgeGraphUnavailableError, match="cannot reach SPARQL endpoint"):
        agent.run("Who develops Claude 2.1?")
    with BackgroundServer(create_app(agent)) as app:
        reply = httpx.post(app.url + "/v1/chat/completions", timeout=30,
                           json={"model": "x", "messages": [{"role": "user", "content": "Who develops Claude 2.1?"}]})
        health = httpx.get(app.url + "/healthz", timeout=30)
    assert reply.status_code == 503 and reply.headers["retry-after"] == "10"
    assert "cannot reach SPARQL endpoint" in reply.json()["error"]["message"]
    assert health.status_code == 503 and health.json()["services"]["knowledge_graph"]["ok"] is False
