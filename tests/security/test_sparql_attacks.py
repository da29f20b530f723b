"""Attacks by a SPARQL endpoint on the mirror: an endless or huge reply, and a trickle.

A real HTTP server on 127.0.0.1 plays the hostile endpoint. Each attack must end with a clear
error (or the last good mirror kept), within the deadline, with no partial file left behind."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentmesh.errors import KnowledgeGraphError
from agentmesh.knowledge.remote import mirror_endpoint

GOOD = b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n"
LINE = b"<http://example.org/x> <http://example.org/y> \"padding padding padding padding\" .\n"


class HostileEndpoint:
    """Answers the first request well (a last good mirror), then as ``mode`` says."""

    def __init__(self) -> None:
        self.mode = "good"
        self.stop = threading.Event()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # no length needed: the body ends when the connection does

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Type", "application/n-triples")
                if hostile.mode == "declared_huge":
                    self.send_header("Content-Length", str(300 * 1024 * 1024))
                self.end_headers()
                try:
                    if hostile.mode == "good":
                        self.wfile.write(GOOD)
                    elif hostile.mode in ("endless", "declared_huge"):
                        for _ in range(200_000):  # bounded: at most ~16 MB, far past the test's cap
                            if hostile.stop.is_set():
                                break
                            self.wfile.write(LINE)
                    elif hostile.mode == "trickle":
                        for _ in range(300):  # one byte every 0.1 s, 30 s at most
                            if hostile.stop.is_set():
                                break
                            self.wfile.write(b"<")
                            self.wfile.flush()
                            time.sleep(0.1)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sparql"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "mirrors"


@pytest.fixture
def hostile():
    server = HostileEndpoint()
    yield server
    server.close()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("mode", ["endless", "declared_huge"])
def test_attack_sparql_reply_larger_than_the_cap(folder, hostile, mode):
    hostile.mode = mode
    with pytest.raises(KnowledgeGraphError, match="kg_endpoint_max_bytes"):
        mirror_endpoint(hostile.url, folder, max_bytes=1024 * 1024, timeout=3)
    assert list(folder.iterdir()) == []  # no mirror, no partial file


def test_attack_sparql_trickle_past_the_deadline(folder, hostile):
    start = time.monotonic()
    hostile.mode = "trickle"
    with pytest.raises(KnowledgeGraphError, match="kg_endpoint_deadline"):
        mirror_endpoint(hostile.url, folder, timeout=3, deadline=2)
    assert time.monotonic() - start < 6
    assert list(folder.iterdir()) == []


def test_attack_sparql_hostile_refresh_keeps_the_last_good_mirror(folder, hostile, caplog):
    good = mirror_endpoint(hostile.url, folder)
    for mode in ("endless", "trickle"):
        hostile.mode = mode
        again = mirror_endpoint(hostile.url, folder, refresh=True, max_bytes=1024 * 1024, timeout=3, deadline=2)
        assert again == good and good.read_bytes() == GOOD
    assert leftovers(folder) == [] and "using the mirror from" in caplog.text
