"""search: hybrid search over local documents, with file-and-line citations; web search providers.

Documents (Markdown, text, reStructuredText, HTML; PDF with ``pip install 'agentmesh[pdf]'``)
are cut into chunks that remember their lines (or PDF page). A query is ranked two ways,
BM25 over words and cosine over MiniLM embeddings, and the rankings are fused by reciprocal
rank fusion: an exact rare term (an error code, a product name) is found by BM25, a
paraphrase by the embeddings. The index lives under the data home; a refresh re-reads only
files whose content changed and re-embeds only their chunks.

Web search goes through a provider (``WebSearchProvider``); none can be reached from this
machine, so only the fake one ships, for tests and demos.
"""

from __future__ import annotations

import hashlib
import html.parser
import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import faiss
import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from agentmesh._files import replacing_dir
from agentmesh.errors import ConfigError, ToolError
from agentmesh.records import Citation
from agentmesh.knowledge.index import embed_texts
from agentmesh.models.embeddings import embedding_model_id

__all__ = [
    "Chunk", "SearchHit", "DocumentIndex", "make_search_tool",
    "WebResult", "WebSearchProvider", "FakeWebSearch", "make_web_search_tool", "SearchArgs", "WebArgs"]

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".rst", ".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
CHUNK_CHARS = 900
RRF_K = 60
BM25_K1, BM25_B = 1.5, 0.75
_TOKEN = re.compile(r"[a-z0-9][a-z0-9_\-]*")
SEARCH_DESCRIPTION = "Search the local documents ({what}) and get the best passages with file and line citations."
WEB_DESCRIPTION = "Search the web and get titles, URLs and snippets."


STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its my of on or our "
    "should so than that the their then there these this to was we what when where which who why "
    "will with you your".split()
)


def _tokens(text: str) -> list[str]:
    """Words for BM25: lower-cased, without English stopwords (they would match every passage)."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


@dataclass(frozen=True)
class Chunk:
    path: str
    """Relative to the indexed folder."""
    start: int
    end: int
    """First and last line (1-based), or the PDF page twice."""
    text: str
    page: bool = False

    @property
    def ref(self) -> str:
        if self.page:
            return f"{self.path}#page={self.start}"
        return f"{self.path}:{self.start}" if self.start == self.end else f"{self.path}:{self.start}-{self.end}"


@dataclass
class SearchHit:
    chunk: Chunk
    score: float
    bm25_rank: int | None
    vector_rank: int | None


# -- reading files ---------------------------------------------------------------------------

class _HTMLText(html.parser.HTMLParser):
    """Visible text of an HTML page, each piece with the source line it starts on."""

    SKIP = {"script", "style", "head", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: dict[int, list[str]] = {}
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in self.SKIP

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in self.SKIP and self._skip > 0

    def handle_data(self, data: str) -> None:
        if self._skip or not data.strip():
            return
        line = self.getpos()[0]
        for offset, part in enumerate(data.split("\n")):
            if part.strip():
                self.lines.setdefault(line + offset, []).append(part.strip())


def _numbered_lines(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        parser = _HTMLText()
        parser.feed(text)
        return [(n, " ".join(parts)) for n, parts in sorted(parser.lines.items())]
    return list(enumerate(text.splitlines(), 1))


def _chunks_from_lines(rel: str, lines: list[tuple[int, str]]) -> list[Chunk]:
    """Paragraphs (blank-line separated) merged up to CHUNK_CHARS; a Markdown heading starts a
    new chunk, which it heads."""
    paragraphs: list[tuple[int, int, str, bool]] = []
    start, last, buf, heading = None, 0, [], False
    for number, line in lines + [(None, "")]:
        is_heading = line.lstrip().startswith("#")
        if (not line.strip() or is_heading) and buf:
            paragraphs.append((start, last, "\n".join(buf), heading))
            start, last, buf, heading = None, 0, [], False
        if line.strip():
            if start is None:
                start, heading = number, is_heading
            buf.append(line.rstrip())
            last = number
    chunks: list[Chunk] = []
    cur_start, cur_end, cur = None, None, []
    for p_start, p_end, text, starts_section in paragraphs:
        if cur and (starts_section or sum(len(t) for t in cur) + len(text) > CHUNK_CHARS):
            chunks.append(Chunk(rel, cur_start, cur_end, "\n".join(cur)))
            cur_start, cur = None, []
        if cur_start is None:
            cur_start = p_start
        cur.append(text[: CHUNK_CHARS * 3])
        cur_end = p_end
    if cur:
        chunks.append(Chunk(rel, cur_start, cur_end, "\n".join(cur)))
    return chunks


def _pdf_chunks(rel: str, path: Path) -> list[Chunk]:
    try:
        from pypdf import PdfReader
    except ImportError as exc:
        raise ConfigError(f"'{path}' is a PDF; reading PDFs needs pypdf: pip install 'agentmesh[pdf]'") from exc
    chunks = []
    for number, page in enumerate(PdfReader(str(path)).pages, 1):
        text = (page.extract_text() or "").strip()
        for start in range(0, len(text), CHUNK_CHARS):
            chunks.append(Chunk(rel, number, number, text[start : start + CHUNK_CHARS], page=True))
    return chunks


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:20]


# -- the index --------------------------------------------------------------------------------

class DocumentIndex:
    """Chunks of every document under ``root`` with BM25 statistics and embeddings.

    >>> index = DocumentIndex("docs/", MiniLMEmbeddings(), cache_dir=Path("~/.cache/x"))   # doctest: +SKIP
    >>> index.refresh()          # {'added': 12, 'changed': 0, 'removed': 0, 'embedded': 140}  # doctest: +SKIP
    >>> index.search("how do I rotate the API key?")[0].chunk.ref                            # doctest: +SKIP
    'ops/keys.md:14-22'
    """

    def __init__(self, root: str | Path, embeddings: Embeddings, *, cache_dir: Path | None = None, pdf: bool = True) -> None:
        self.root = Path(root).resolve()
        if not self.root.exists():
            raise ConfigError(f"documents folder '{root}' does not exist; set 'docs' to an existing folder or file")
        self.embeddings = embeddings
        self.suffixes = TEXT_SUFFIXES | (PDF_SUFFIXES if pdf else set())
        key = hashlib.sha256(f"{self.root}|{embedding_model_id(embeddings)}".encode()).hexdigest()[:12]
        self.folder = Path(cache_dir) / f"docs-{key}" if cache_dir else None
        self.files: dict[str, str] = {}
        self.chunks: list[Chunk] = []
        self.vectors = np.zeros((0, 0), np.float32)
        self._load()
        self._rebuild_search()

    # persistence
    def _load(self) -> None:
        if self.folder is None or not (self.folder / "manifest.json").is_file():
            return
        try:
            manifest = json.loads((self.folder / "manifest.json").read_text())
            chunks = [Chunk(**c) for c in json.loads((self.folder / "chunks.json").read_text())]
            vectors = np.load(self.folder / "vectors.npy")
        except (OSError, ValueError, TypeError):
            return
        if manifest.get("embedding_model") == embedding_model_id(self.embeddings) and len(vectors) == len(chunks):
            self.files, self.chunks, self.vectors = manifest["files"], chunks, vectors

    def _save(self) -> None:
        if self.folder is None:
            return
        with replacing_dir(self.folder) as tmp:
            (tmp / "chunks.json").write_text(json.dumps([asdict(c) for c in self.chunks]))
            np.save(tmp / "vectors.npy", self.vectors)
            manifest = {"root": str(self.root), "embedding_model": embedding_model_id(self.embeddings), "files": self.files}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))

    def _paths(self) -> Iterable[Path]:
        if self.root.is_file():
            yield self.root
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.suffix.lower() in self.suffixes and not any(p.startswith(".") for p in path.relative_to(self.root).parts):
                yield path

    def refresh(self) -> dict[str, int]:
        """Re-read changed files; return counts of files added, changed, removed and chunks embedded."""
        base = self.root.parent if self.root.is_file() else self.root
        current = {str(p.relative_to(base)): p for p in self._paths()}
        hashes = {rel: _file_hash(p) for rel, p in current.items()}
        changed = {rel for rel, h in hashes.items() if self.files.get(rel) != h}
        removed = set(self.files) - set(current)
        stats = {"added": len(changed - set(self.files)), "changed": len(changed & set(self.files)), "removed": len(removed), "embedded": 0}
        if not changed and not removed:
            return stats
        keep = [i for i, c in enumerate(self.chunks) if c.path not in changed and c.path not in removed]
        fresh: list[Chunk] = []
        for rel in sorted(changed):
            path = current[rel]
            fresh += _pdf_chunks(rel, path) if path.suffix.lower() in PDF_SUFFIXES else _chunks_from_lines(rel, _numbered_lines(path))
        new_vectors = embed_texts(self.embeddings, [c.text for c in fresh]) if fresh else None
        kept_vectors = self.vectors[keep] if keep else None
        parts = [v for v in (kept_vectors, new_vectors) if v is not None and len(v)]
        self.vectors = np.vstack(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)
        self.chunks = [self.chunks[i] for i in keep] + fresh
        self.files = {rel: hashes[rel] for rel in current}
        stats["embedded"] = len(fresh)
        self._rebuild_search()
        self._save()
        return stats

    def _rebuild_search(self) -> None:
        self._postings: dict[str, list[tuple[int, int]]] = {}
        self._lengths = np.zeros(len(self.chunks), np.float32)
        for i, chunk in enumerate(self.chunks):
            counts = Counter(_tokens(chunk.text))
            self._lengths[i] = sum(counts.values())
            for term, tf in counts.items():
                self._postings.setdefault(term, []).append((i, tf))
        self._avg = float(self._lengths.mean()) if len(self.chunks) else 1.0
        self._faiss = None
        if len(self.vectors):
            self._faiss = faiss.IndexFlatIP(self.vectors.shape[1])
            self._faiss.add(self.vectors)

    def bm25(self, query: str, k: int) -> list[int]:
        scores = np.zeros(len(self.chunks), np.float32)
        n = len(self.chunks)
        for term in set(_tokens(query)):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
            for i, tf in postings:
                norm = tf + BM25_K1 * (1 - BM25_B + BM25_B * self._lengths[i] / self._avg)
                scores[i] += idf * tf * (BM25_K1 + 1) / norm
        ranked = np.argsort(-scores)[:k]
        return [int(i) for i in ranked if scores[i] > 0]

    def dense(self, query: str, k: int) -> list[int]:
        if self._faiss is None:
            return []
        _, ids = self._faiss.search(embed_texts(self.embeddings, [query]), min(k, len(self.chunks)))
        return [int(i) for i in ids[0] if i >= 0]

    def search(self, query: str, k: int = 5) -> list[SearchHit]:
        """The ``k`` best chunks by reciprocal rank fusion of BM25 and embeddings."""
        depth = max(50, k * 5)
        lexical, semantic = self.bm25(query, depth), self.dense(query, depth)
        scores: dict[int, float] = {}
        for ranking in (lexical, semantic):
            for rank, i in enumerate(ranking):
                scores[i] = scores.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(scores, key=lambda i: -scores[i])[:k]
        lex_rank = {i: r + 1 for r, i in enumerate(lexical)}
        vec_rank = {i: r + 1 for r, i in enumerate(semantic)}
        return [SearchHit(self.chunks[i], round(scores[i], 5), lex_rank.get(i), vec_rank.get(i)) for i in best]


class SearchArgs(BaseModel):
    query: str = Field(description="What to look for in the documents.")
    k: int = Field(4, ge=1, le=20, description="How many passages.")


def make_search_tool(index: DocumentIndex) -> BaseTool:
    def search(query: str, k: int = 4) -> tuple[str, list[dict]]:
        index.refresh()  # cheap when nothing changed: hashes only
        hits = index.search(query, k)
        if not hits:
            return "No passage matches.", []
        text = "\n\n".join(f"[{h.chunk.ref}]\n{h.chunk.text}" for h in hits)
        citations = [Citation(kind="doc", ref=h.chunk.ref, detail=h.chunk.text[:200]).model_dump() for h in hits]
        return text, citations

    return StructuredTool.from_function(
        search, name="search", description=SEARCH_DESCRIPTION.format(what=index.root.name),
        args_schema=SearchArgs, response_format="content_and_artifact",
    )


# -- web search ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebResult:
    title: str
    url: str
    snippet: str


class WebSearchProvider(Protocol):
    """Anything with ``search(query, k) -> list[WebResult]`` (a SearXNG, Brave or Tavily client...)."""

    def search(self, query: str, k: int) -> list[WebResult]: ...


class FakeWebSearch:
    """A provider that answers from a fixed table: {query words: results}; records queries."""

    def __init__(self, results: dict[str, Sequence[WebResult]]) -> None:
        self.results = {k.lower(): list(v) for k, v in results.items()}
        self.queries: list[str] = []

    def search(self, query: str, k: int) -> list[WebResult]:
        self.queries.append(query)
        words = set(_tokens(query))
        ranked = sorted(self.results.items(), key=lambda kv: -len(words & set(_tokens(kv[0]))))
        if not ranked or not words & set(_tokens(ranked[0][0])):
            return []
        return ranked[0][1][:k]


class WebArgs(BaseModel):
    query: str = Field(description="A web search query.")
    k: int = Field(5, ge=1, le=10)


def make_web_search_tool(provider: WebSearchProvider) -> BaseTool:
    def web_search(query: str, k: int = 5) -> tuple[str, list[dict]]:
        try:
            results = provider.search(query, k)
        except Exception as exc:  # a provider's failure is an observation, like any tool's
            raise ToolError(f"web search failed: {exc}") from None
        if not results:
            return "No web results.", []
        text = "\n".join(f"{r.title} <{r.url}>\n  {r.snippet}" for r in results)
        return text, [Citation(kind="web", ref=r.url, detail=r.title).model_dump() for r in results]

    return StructuredTool.from_function(
        web_search, name="web_search", description=WEB_DESCRIPTION, args_schema=WebArgs, response_format="content_and_artifact"
    )
