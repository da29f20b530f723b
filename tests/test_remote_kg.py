"""A knowledge graph behind a SPARQL endpoint: mirrored, grounded in, refreshed, and safe when the endpoint fails."""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyoxigraph as ox
import pytest
from langchain_core.messages import AIMessage

from agentmesh import Agent, Settings
from agentmesh.errors import KnowledgeGraphError
from agentmesh.knowledge.remote import mirror_endpoint
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings


class FakeSparqlEndpoint:
    """A SPARQL 1.1 protocol endpoint on 127.0.0.1 over a pyoxigraph store (CONSTRUCT as N-Triples or Turtle)."""

    def __init__(self, rdf_file, *, turtle: bool = False) -> None:
        self.store = ox.Store()
        self.store.bulk_load(path=str(rdf_file), format=ox.RdfFormat.TURTLE, to_graph=ox.DefaultGraph())
        self.queries: list[str] = []
        self.fail: int | None = None  # an HTTP status to answer with instead
        self.garbage = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                query = form["query"][0]
                fake.queries.append(query)
                if fake.fail:
                    self.send_response(fake.fail)
                    self.end_headers()
                    self.wfile.write(b"endpoint unavailable")
                    return
                fmt, kind = (ox.RdfFormat.TURTLE, "text/turtle") if turtle else (ox.RdfFormat.N_TRIPLES, "application/n-triples")
                body = b"<a> <b> this is not RDF" if fake.garbage else ox.serialize(fake.store.query(query), format=fmt)
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/repositories/main"

    def close(self) -> None:
        if self.httpd.socket.fileno() != -1:
            self.httpd.shutdown()
            self.httpd.server_close()  # stop listening: a client gets "connection refused" at once


@pytest.fixture
def endpoint(example_kg):
    fake = FakeSparqlEndpoint(example_kg)
    yield fake
    fake.close()


def test_the_agent_grounds_answers_in_a_mirrored_endpoint(tmp_path, endpoint):
    settings = Settings.load(home=tmp_path / "home", kg_endpoints=[endpoint.url], tools=["sparql"], cache=False)
    agent = Agent(settings, model=FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")]),
                  embeddings=HashingEmbeddings())

    result = agent.run("What is the context window of Claude 2.1?")

    assert any(c.ref == "https://example.org/llm/Claude-2.1" and c.verified for c in result.citations)
    assert len(endpoint.queries) == 1 and endpoint.queries[0].startswith("CONSTRUCT")
    # the sparql tool queries the local mirror: no round trip to the endpoint per question
    sparql = next(t for t in agent.tools if t.name == "sparql")
    out = sparql.invoke({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    assert int(str(out).split()[-1].strip('"')) == len(endpoint.store)
    assert len(endpoint.queries) == 1


def test_a_fresh_mirror_is_reused_a_stale_one_is_fetched_again(tmp_path, endpoint):
    folder = tmp_path / "mirrors"
    first = mirror_endpoint(endpoint.url, folder)
    assert mirror_endpoint(endpoint.url, folder) == first and len(endpoint.queries) == 1
    old = time.time() - 2 * 86400
    os.utime(first, (old, old))
    mirror_endpoint(endpoint.url, folder)
    assert len(endpoint.queries) == 2
    mirror_endpoint(endpoint.url, folder, refresh=True)
    assert len(endpoint.queries) == 3
    custom = mirror_endpoint(endpoint.url, folder, query="CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5")
    assert custom != first and len(list(ox.parse(path=str(custom), format=ox.RdfFormat.N_TRIPLES))) == 5


def test_a_failing_endpoint_keeps_the_last_good_mirror_or_says_what_failed(tmp_path, endpoint, caplog):
    folder = tmp_path / "mirrors"
    endpoint.fail = 503
    with pytest.raises(KnowledgeGraphError, match="answered HTTP 503: endpoint unavailable"):
        mirror_endpoint(endpoint.url, folder)
    assert not list(folder.glob("*"))  # nothing half-written

    endpoint.fail = None
    good = mirror_endpoint(endpoint.url, folder)
    before = good.read_bytes()
    endpoint.garbage = True
    with caplog.at_level(logging.WARNING):
        kept = mirror_endpoint(endpoint.url, folder, refresh=True)
    assert kept == good and good.read_bytes() == before
    assert "does not parse" in caplog.text and "using the mirror from" in caplog.text
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]

    endpoint.close()
    with caplog.at_level(logging.WARNING):
        assert mirror_endpoint(endpoint.url, folder, refresh=True) == good
    assert "cannot reach SPARQL endpoint" in caplog.text


def test_turtle_replies_are_stored_as_n_triples(tmp_path, example_kg):
    fake = FakeSparqlEndpoint(example_kg, turtle=True)
    try:
        path = mirror_endpoint(fake.url, tmp_path)
    finally:
        fake.close()
    assert len(list(ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES))) == len(fake.store)


def test_kg_load_refresh_from_the_command_line(tmp_path, endpoint, monkeypatch):
    from typer.testing import CliRunner

    from agentmesh.apps.cli import app

    monkeypatch.setenv("AGENTMESH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTMESH_KG_ENDPOINTS", endpoint.url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    first = runner.invoke(app, ["kg", "load"])
    again = runner.invoke(app, ["kg", "load", "--refresh"])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert f"{len(endpoint.store):,} triples from 1 file(s)" in first.output
    assert len(endpoint.queries) == 2


def test_credentials_in_the_endpoint_url_are_sent_but_never_shown(tmp_path, endpoint, caplog):
    secret_url = endpoint.url.replace("http://", "http://reader:s3cret-pw@")
    seen = {}
    original = endpoint.httpd.RequestHandlerClass.do_POST

    def record(handler):
        seen["auth"] = handler.headers.get("Authorization")
        original(handler)

    endpoint.httpd.RequestHandlerClass.do_POST = record
    path = mirror_endpoint(secret_url, tmp_path)
    assert seen["auth"].startswith("Basic ") and "s3cret-pw" not in path.name
    endpoint.fail = 500
    with caplog.at_level(logging.DEBUG), pytest.raises(KnowledgeGraphError) as error:
        mirror_endpoint(secret_url, tmp_path / "other")
    assert "s3cret-pw" not in str(error.value) and "s3cret-pw" not in caplog.text
    assert "reader" not in str(error.value)
