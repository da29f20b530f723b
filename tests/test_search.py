"""Hybrid document search: line citations, BM25 + embeddings fused, incremental re-indexing, web providers."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.errors import ToolError
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings
from agentmesh.tools.search import DocumentIndex, FakeWebSearch, WebResult, make_search_tool, make_web_search_tool

GUIDE = """# Operations guide

## Rotating keys

API keys expire after ninety days.
To rotate a key, open the console and choose *Regenerate*.
Old keys keep working for one hour.

## Errors

ERR-4711 means the billing database refused the connection.
Check that the read replica is up.
"""

FAQ = """Frequently asked questions

How do I change my password?
Use the account page; a reset link arrives by mail.

Where are invoices stored?
Invoices are kept for ten years in the billing archive.
"""

PAGE = """<html><head><title>Status</title><script>var secret = "do not index";</script></head>
<body>
<h1>Service status</h1>
<p>The payment gateway is degraded since Tuesday.</p>
</body></html>
"""


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (hand-built: no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


class Counting(HashingEmbeddings):
    def __init__(self):
        super().__init__()
        self.embedded = 0

    def embed(self, texts):
        self.embedded += len(texts)
        return super().embed(texts)


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    (folder / "ops").mkdir(parents=True)
    (folder / "ops" / "guide.md").write_text(GUIDE)
    (folder / "faq.txt").write_text(FAQ)
    (folder / "status.html").write_text(PAGE)
    (folder / ".hidden.md").write_text("ERR-4711 hidden copy")
    return folder


def test_exact_term_is_found_with_file_and_line(docs, minilm):
    index = DocumentIndex(docs, minilm)
    assert index.refresh()["added"] == 3
    hit = index.search("ERR-4711", k=1)[0]
    assert hit.chunk.ref == "ops/guide.md:9-12"
    assert hit.bm25_rank == 1


def test_a_paraphrase_is_found_by_the_embeddings(docs, minilm):
    index = DocumentIndex(docs, minilm)
    index.refresh()
    hit = index.search("how often must secrets be renewed?", k=1)[0]
    assert hit.chunk.ref == "ops/guide.md:3-7"
    assert hit.vector_rank == 1 and hit.bm25_rank is None  # no shared word: only the embeddings found it


def test_html_text_without_scripts(docs, minilm):
    index = DocumentIndex(docs, minilm)
    index.refresh()
    texts = " ".join(c.text for c in index.chunks if c.path == "status.html")
    assert "payment gateway is degraded" in texts and "do not index" not in texts
    assert index.search("payment gateway outage", k=1)[0].chunk.ref == "status.html:3-4"


def test_pdf_pages_are_cited(tmp_path, minilm):
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "manual.pdf").write_bytes(minimal_pdf("The chiller must be descaled every spring."))
    index = DocumentIndex(folder, minilm)
    index.refresh()
    assert index.search("descaling the chiller", k=1)[0].chunk.ref == "manual.pdf#page=1"


def test_incremental_refresh_embeds_only_changed_files(docs, tmp_path):
    emb = Counting()
    index = DocumentIndex(docs, emb, cache_dir=tmp_path / "cache")
    first = index.refresh()
    total = emb.embedded
    assert first["embedded"] == total == len(index.chunks)

    assert index.refresh() == {"added": 0, "changed": 0, "removed": 0, "embedded": 0}
    (docs / "faq.txt").write_text(FAQ + "\nWho runs payroll?\nThe finance team runs payroll monthly.\n")
    (docs / "status.html").unlink()
    stats = index.refresh()
    faq_chunks = sum(c.path == "faq.txt" for c in index.chunks)
    assert stats == {"added": 0, "changed": 1, "removed": 1, "embedded": faq_chunks}
    assert emb.embedded == total + faq_chunks
    assert not any(c.path == "status.html" for c in index.chunks)

    reopened = DocumentIndex(docs, Counting(), cache_dir=tmp_path / "cache")  # from disk, nothing to embed
    assert reopened.refresh()["embedded"] == 0
    assert reopened.search("payroll", k=1)[0].chunk.path == "faq.txt"


def test_search_tool_cites_passages(docs, minilm):
    tool = make_search_tool(DocumentIndex(docs, minilm))
    message = tool.invoke({"name": "search", "args": {"query": "how long are invoices kept?", "k": 2}, "id": "1", "type": "tool_call"})
    assert message.text.startswith("[faq.txt:")
    assert message.artifact[0]["kind"] == "doc" and message.artifact[0]["ref"].startswith("faq.txt:")


def test_web_search_through_a_fake_provider():
    provider = FakeWebSearch({"mixtral license": [WebResult("Mixtral of experts", "https://mistral.ai/news/mixtral", "Apache 2.0")]})
    tool = make_web_search_tool(provider)
    message = tool.invoke({"name": "web_search", "args": {"query": "Mixtral license"}, "id": "1", "type": "tool_call"})
    assert "https://mistral.ai/news/mixtral" in message.text
    assert message.artifact[0]["kind"] == "web"
    assert provider.queries == ["Mixtral license"]

    class Down:
        def search(self, query, k):
            raise TimeoutError("provider timed out")

    with pytest.raises(ToolError, match="web search failed: provider timed out"):
        make_web_search_tool(Down()).invoke({"query": "x"})


def test_agent_offers_search_and_web_search_when_configured(docs):
    settings = Settings.load(docs=[docs], tools=["search", "web_search", "sql"])
    agent = Agent(settings, model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings(),
                  checkpointer=InMemorySaver(), web_search=FakeWebSearch({}))
    assert sorted(t.name for t in agent.tools) == ["search", "web_search"]  # no db: no sql tool
