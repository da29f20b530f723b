"""Which names the server answers to, and which pages may change its state: the guard against DNS
rebinding and cross-site requests, in front of every face of ``agentmesh serve`` (the API, the
web page, A2A, Slack). An allowlist: what it does not name is refused.

* **Host.** A request must name this server: a loopback name (``localhost``, ``127.0.0.1`` and the
  rest of 127/8, ``[::1]``), the IP address the connection arrived on (a load balancer's probe of
  ``10.0.0.5:8000``), or a name in ``server_public_names`` (a name given with a port matches that
  port only). Anything else, and a request with no Host at all, gets 421: a page whose own name
  was made to resolve to 127.0.0.1 (DNS rebinding) sends its own name, never one of these.
* **Origin.** A request that changes state (POST, PUT, PATCH, DELETE) and carries an ``Origin``
  must come from the origin its Host names (same scheme, host and port) or from a public name;
  ``Origin: null`` is refused, and so is a request without Origin that the browser marks
  ``Sec-Fetch-Site: cross-site`` or ``same-site``. No Origin and no such mark (curl, the OpenAI
  and A2A SDKs, Slack) passes: the bearer tokens guard those. Refusals get 403.
* **The page's token** (:func:`page_token`, :func:`page_token_matches`): the web page is served
  with a random token in a ``<meta>`` tag and the same value in a ``SameSite=Strict`` cookie; the
  page's approvals send it back in ``X-Agentmesh-Page`` and the server compares the two. A page of
  another site can neither read the token nor send that header without a preflight this server
  never answers. The token lives in the browser, not in the server process, so ``--workers N``
  and replicas behind one name accept each other's pages; all tabs of one browser share it.

    app.add_middleware(OriginGuard, public_names=["kb.example.com"])
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from typing import Any, Iterable

__all__ = ["OriginGuard", "parse_host", "page_token", "page_token_matches", "PAGE_TOKEN_HEADER", "PAGE_TOKEN_SLOT"]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PAGE_TOKEN_HEADER = "X-Agentmesh-Page"
PAGE_TOKEN_SLOT = "__AGENTMESH_PAGE_TOKEN__"
"""Where the web page's HTML takes its token."""

_HOST = re.compile(r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(?P<port>[0-9]{1,5}))?")
_ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<rest>[^/?#@]+)")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def parse_host(value: str) -> tuple[str, int | None] | None:
    """``"Kb.Example.com:8443"`` -> ``("kb.example.com", 8443)``, ``"[::1]"`` -> ``("::1", None)``;
    None for anything that is not a host name or IP address with an optional port."""
    found = _HOST.fullmatch(value.strip().lower())
    if found is None:
        return None
    host, port = found["host"], found["port"]
    if host.startswith("["):
        try:
            host = str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            return None
    if port is not None and not 0 < int(port) < 65536:
        return None
    return host, int(port) if port is not None else None


def _ip(host: str) -> Any:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _shown(host: str, port: int | None) -> str:
    name = f"[{host}]" if ":" in host else host
    return f"{name}:{port}" if port is not None else name


class OriginGuard:
    """ASGI middleware: the Host and Origin checks above. ``public_names``: the names besides loopback
    this server is reached by (``server_public_names``), each ``host`` or ``host:port``."""

    def __init__(self, app: Any, public_names: Iterable[str] = ()) -> None:
        self.app = app
        self.public: set[tuple[str, int | None]] = set()
        for name in public_names:
            parsed = parse_host(name)
            if parsed is None:
                from agentmesh.errors import ConfigError

                raise ConfigError(f"server_public_names: {name!r} is not a host name; give the name alone, as the "
                                  "Host header carries it: kb.example.com or kb.example.com:8443")
            self.public.add(parsed)

    def is_public(self, host: str, port: int | None) -> bool:
        return (host, None) in self.public or (port is not None and (host, port) in self.public)

    def host_allowed(self, host: str, port: int | None, local: str | None) -> bool:
        ip = _ip(host)
        if host == "localhost" or (ip is not None and ip.is_loopback):
            return True
        if ip is not None and local is not None and ip == _ip(local):
            return True  # the address the client connected to, written as an address: no name to rebind
        return self.is_public(host, port)

    def origin_allowed(self, origin: str, scheme: str, host: str, port: int | None) -> bool:
        found = _ORIGIN.fullmatch(origin.strip().lower())
        parsed = parse_host(found["rest"]) if found else None
        if parsed is None:
            return False  # "null", a file: page, anything unusual
        origin_scheme = found["scheme"]
        origin_host, origin_port = parsed[0], parsed[1] or _DEFAULT_PORTS[origin_scheme]
        if self.is_public(origin_host, origin_port):
            return True
        # the page's own origin: the scheme this request came by, and the host and port it names
        own_port = port or _DEFAULT_PORTS.get(scheme)
        return origin_scheme == scheme and origin_host == host and origin_port == own_port

    def refusal(self, scope: dict[str, Any]) -> tuple[int, str, str] | None:
        """Why this request is refused (status, message, type), or None when it may pass."""
        headers: dict[str, list[str]] = {}
        for key, value in scope.get("headers") or ():
            headers.setdefault(key.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        hosts = headers.get("host", [])
        parsed = parse_host(hosts[0]) if len(hosts) == 1 else None
        server = scope.get("server")
        if parsed is None or not self.host_allowed(*parsed, server[0] if server else None):
            named = repr(hosts[0]) if len(hosts) == 1 else "no Host header" if not hosts else f"{len(hosts)} Host headers"
            return 421, (
                f"this server does not answer to {named}: it answers to localhost, 127.0.0.1, [::1], the address it "
                "was reached at and the names in server_public_names. A page of another site may have sent this "
                "through your browser (DNS rebinding). If it is this server's own public name (behind a reverse "
                "proxy), add it to server_public_names (AGENTMESH_SERVER_PUBLIC_NAMES)."), "host_not_allowed"
        host, port = parsed
        method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
        if method not in UNSAFE_METHODS and scope["type"] != "websocket":
            return None
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
        origins = headers.get("origin", [])
        own = f"{scheme}://{_shown(host, port)}"
        if origins:
            if len(origins) == 1 and self.origin_allowed(origins[0], scheme, host, port):
                return None
            return 403, (
                f"refused a {method} from Origin {origins[0]!r}: changes come only from this server's own page "
                f"({own}) or a name in server_public_names; a page of another site may have sent it through your "
                "browser. API clients send no Origin header."), "origin_not_allowed"
        fetch_site = (headers.get("sec-fetch-site") or [""])[0].lower()
        if fetch_site in ("cross-site", "same-site"):
            return 403, (f"refused a {method} the browser marks {fetch_site} (Sec-Fetch-Site) and that names no "
                         f"Origin: changes come only from this server's own page ({own})"), "origin_not_allowed"
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": refused[1][:120]})
            return
        from starlette.responses import JSONResponse

        status, message, kind = refused
        await JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)(scope, receive, send)


def _cookie_name(request: Any) -> str:
    """One cookie per port: browsers share cookies between ports of one host, servers do not."""
    parsed = parse_host(request.headers.get("host", ""))
    return f"agentmesh_page_{parsed[1]}" if parsed and parsed[1] else "agentmesh_page"


def page_token(request: Any) -> tuple[str, str]:
    """The token to serve the web page with, and the cookie to carry it: the browser's own if it
    has one already (every tab of it shares one token), else a new random one."""
    name = _cookie_name(request)
    held = request.cookies.get(name, "")
    return (held if _TOKEN.fullmatch(held) else secrets.token_urlsafe(32)), name


def page_token_matches(request: Any) -> bool:
    """Whether ``request`` carries the web page's token: the header equals the browser's cookie."""
    given = request.headers.get(PAGE_TOKEN_HEADER, "")
    held = request.cookies.get(_cookie_name(request), "")
    return bool(_TOKEN.fullmatch(held)) and hmac.compare_digest(given.encode(), held.encode())
