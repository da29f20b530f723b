"""Knowledge graphs behind a SPARQL endpoint (GraphDB, Fuseki, Virtuoso, Stardog, Neptune...).

The endpoint is mirrored: a CONSTRUCT query (``kg_endpoint_query``; by default every triple,
up to a limit) is run once and its result kept as an N-Triples file under the data home. From
there the graph is one more source like a file: the same store, node index, grounding,
citations and read-only ``sparql`` tool, with no network call per question. The mirror is
refreshed when older than ``kg_endpoint_max_age`` seconds (or with ``agentmesh kg load
--refresh``). A refresh that fails (endpoint down, a malformed reply) keeps the last good
mirror and says so; with no mirror yet it is an error. For a large endpoint, write a CONSTRUCT
that selects the part the assistant needs.

    settings = Settings.load(kg_endpoints=["https://graphdb.example.org/repositories/main"])
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from pathlib import Path
from typing import Iterable

import httpx
import pyoxigraph as ox

from agentmesh.errors import KnowledgeGraphError

__all__ = ["mirror_endpoint", "knowledge_sources", "DEFAULT_CONSTRUCT"]

log = logging.getLogger(__name__)
DEFAULT_CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 2000000"


def _shown(endpoint: str) -> str:
    """The endpoint without credentials (https://user:secret@host/... -> https://host/...), for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(endpoint)
    if parts.username or parts.password:
        host = parts.hostname or ""
        parts = parts._replace(netloc=host + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts)


def _slug(endpoint: str, query: str) -> str:
    host = re.sub(r"[^A-Za-z0-9]+", "-", re.sub(r"^https?://", "", _shown(endpoint))).strip("-")[:60]
    return f"{host}-{hashlib.sha256((endpoint + chr(0) + query).encode()).hexdigest()[:12]}"


def mirror_endpoint(endpoint: str, folder: Path, *, query: str = DEFAULT_CONSTRUCT, max_age: float = 86400.0,
                    timeout: float = 120.0, refresh: bool = False, headers: dict[str, str] | None = None,
                    max_bytes: int = 512 * 1024 * 1024, deadline: float = 600.0) -> Path:
    """The N-Triples mirror of ``endpoint``'s CONSTRUCT ``query`` in ``folder``, fetched when
    missing, older than ``max_age`` seconds, or when ``refresh``.

    ``timeout`` bounds each network wait; ``deadline`` the whole fetch, so a server that
    trickles a byte a second is cut off; a reply over ``max_bytes`` is refused. Either way the
    partial download is removed and the last good mirror stays."""
    if not endpoint.startswith(("http://", "https://")):
        raise KnowledgeGraphError(f"SPARQL endpoint '{_shown(endpoint)}' is not an http(s) URL")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_slug(endpoint, query)}.nt"
    fresh = path.is_file() and time.time() - path.stat().st_mtime < max_age
    if fresh and not refresh:
        return path
    try:
        _fetch(endpoint, query, path, timeout, headers or {}, max_bytes, deadline)
    except KnowledgeGraphError as exc:
        if path.is_file():
            age_h = (time.time() - path.stat().st_mtime) / 3600
            log.warning("%s; using the mirror from %.1f hours ago (%s)", exc, age_h, path)
            return path
        raise
    return path


def _fetch(endpoint: str, query: str, path: Path, timeout: float, headers: dict[str, str], max_bytes: int,
           deadline: float) -> None:
    """Run the CONSTRUCT, check the reply parses, then swap it in (a failed fetch changes nothing).
    Credentials in the URL are sent as basic auth and never appear in a message."""
    shown = _shown(endpoint)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    accept = "application/n-triples, text/turtle;q=0.9"
    try:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(endpoint)  # credentials go as basic auth, so the URL httpx logs holds none
        auth = httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or "")) if parts.username else None
        stop_at = time.monotonic() + deadline
        with httpx.stream("POST", shown, data={"query": query}, timeout=min(timeout, deadline), auth=auth,
                          headers={"Accept": accept, **headers}) as reply:
            if reply.status_code != 200:
                body = reply.read().decode(errors="replace")[:200]
                raise KnowledgeGraphError(f"SPARQL endpoint '{shown}' answered HTTP {reply.status_code}: {body}")
            kind = reply.headers.get("content-type", "application/n-triples").split(";")[0].strip()
            declared = reply.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise KnowledgeGraphError(f"SPARQL endpoint '{shown}' would send {int(declared):,} bytes; "
                                          f"kg_endpoint_max_bytes is {max_bytes:,}")
            received = 0
            with open(tmp, "wb") as out:
                for block in reply.iter_bytes():  # as it comes (a trickle is seen), decoded: a compressed bomb counts at its real size
                    received += len(block)
                    if received > max_bytes:
                        raise KnowledgeGraphError(f"SPARQL endpoint '{shown}' sent more than kg_endpoint_max_bytes "
                                                  f"({max_bytes:,} bytes); write a CONSTRUCT that selects less")
                    if time.monotonic() > stop_at:
                        raise KnowledgeGraphError(f"SPARQL endpoint '{shown}' did not finish within "
                                                  f"kg_endpoint_deadline ({deadline:g} s); {received:,} bytes had come")
                    out.write(block)
        fmt = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
               "text/plain": ox.RdfFormat.N_TRIPLES, "application/rdf+xml": ox.RdfFormat.RDF_XML}.get(kind)
        if fmt is None:
            raise KnowledgeGraphError(f"SPARQL endpoint '{shown}' replied with {kind}, not RDF; is the query a CONSTRUCT?")
        try:  # parse all of it, and store it as N-Triples whatever came
            triples = list(ox.parse(path=str(tmp), format=fmt))
        except SyntaxError as exc:
            raise KnowledgeGraphError(f"SPARQL endpoint '{shown}' sent RDF that does not parse: {exc}") from None
        if fmt != ox.RdfFormat.N_TRIPLES:
            ox.serialize(triples, output=str(tmp), format=ox.RdfFormat.N_TRIPLES)
        tmp.replace(path)
        log.info("mirrored %d triples from %s to %s", len(triples), shown, path)
    except httpx.HTTPError as exc:
        reason = str(exc).replace(endpoint, shown)
        raise KnowledgeGraphError(f"cannot reach SPARQL endpoint '{shown}': {reason}") from None
    finally:
        tmp.unlink(missing_ok=True)


def knowledge_sources(settings, *, refresh: bool = False, extra: Iterable[Path] = ()) -> list[Path]:
    """The graph files of ``settings``: ``kg`` plus a mirror of each of ``kg_endpoints``."""
    folder = settings.data_dir("kg", "endpoints")
    mirrors = [mirror_endpoint(url, folder, query=settings.kg_endpoint_query, max_age=settings.kg_endpoint_max_age,
                               timeout=settings.request_timeout, refresh=refresh, max_bytes=settings.kg_endpoint_max_bytes,
                               deadline=settings.kg_endpoint_deadline) for url in settings.kg_endpoints]
    return [*settings.kg, *mirrors, *extra]
