"""Attacks from a web browser on `agentmesh serve`: DNS rebinding and cross-site requests.

A page on another site cannot read the server's answers (the browser's same-origin policy), but
it can still *send* requests. Two ways it reaches a server on 127.0.0.1 that has no token:

* DNS rebinding: the page's own name (``attacker.example``) is made to resolve to 127.0.0.1, so
  the browser treats the server as the page's own origin and reads everything. The request
  carries ``Host: attacker.example:<port>``; only the Host check stops it.
* Cross-site requests: the page posts to ``http://127.0.0.1:<port>/...`` without reading the
  answer. The request carries the page's ``Origin``; the Origin check stops it, and the web page's
  approvals also need the page's own token. A browser sends such a post unasked only with a
  "simple" body and headers (no Content-Type, text/plain, a form): that reaches routes without a
  body (cache-wrong; the real-browser attack below did remove a cache entry before the check).
  FastAPI refuses a JSON route's body without a JSON Content-Type (422), the A2A SDK refuses a
  request without its ``A2A-Version`` header, and a cross-site post with either is preflighted,
  which this server never answers; the attacks on those routes send them anyway, so that the
  Origin check alone must hold.

Every attack goes through a real socket (uvicorn on 127.0.0.1 in a thread) with the Host and
Origin headers a browser would send, and checks the effect did not happen: the python call did
not run (its output, a marker, is in no tool message and the call still waits), the model was not
asked, the cache entry is still there, Slack got no message. The cases that must keep working
(loopback names, the configured public name, API clients without an Origin, the page itself) are
tested at the end.
"""

from __future__ import annotations

import json
import re
import socket
import uuid

import httpx
import pytest
from langchain_core.messages import AIMessage

from agentmesh import Agent, Settings
from agentmesh.apps.server import BackgroundServer, create_app
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

MARKER = f"ran-{uuid.uuid4().hex[:12]}"
SECRET_QUESTION = "What is our Q3 payroll for the Zurich team?"
EVIL = "http://attacker.example"
TOKEN = "browser-attacks-token-0123456789"


def python_script() -> list:
    # the code prints MARKER without holding it: only a run of the code can put it in a tool message
    code = "print('ran-' + " + repr(MARKER.removeprefix("ran-")) + ")"
    return [tool_call("python", code=code), AIMessage("It ran.")]


def serve(tmp_path, example_kg, responses, tools=("kg_search",), cache=False, slack=None, **settings):
    s = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=list(tools), cache=cache, **settings)
    agent = Agent(s, model=FakeToolChatModel(responses=responses), embeddings=HashingEmbeddings())
    if slack is not None:
        slack = slack(agent)
    return BackgroundServer(create_app(agent, slack=slack)), agent


def port_of(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def ran(agent, thread: str) -> bool:
    """Whether the python call's code ran: its output is in a tool message of the thread."""
    return any(m.type == "tool" and MARKER in m.text for m in agent.history(thread))


def read_stream(response: httpx.Response) -> str:
    return response.text  # (httpx has read the whole event stream)


def pending_on_the_page(server) -> str:
    """The person asks on the web page; the python call waits for their approval. Returns the thread."""
    asked = httpx.post(server.url + "/api/chat", json={"message": "Run it."}, timeout=30)
    assert asked.status_code == 200 and "event: approval" in read_stream(asked), asked.text
    return asked.headers["x-thread-id"]


def page_token(page: httpx.Response) -> dict[str, str]:
    """The header a page the server served sends with its approvals (none if the page has no token)."""
    found = re.search(r'<meta name="agentmesh-page" content="([^"]*)"', page.text)
    return {"X-Agentmesh-Page": found.group(1)} if found and found.group(1) else {}


# -- DNS rebinding: a foreign Host ---------------------------------------------------------------

def test_attack_server_dns_rebinding_approves_a_python_call(tmp_path, example_kg):
    server, agent = serve(tmp_path, example_kg, python_script(), tools=("python",))
    with server:
        thread = pending_on_the_page(server)
        assert agent.pending(thread)
        # the rebound page is same-origin with the server in the browser's eyes: it reads the page
        # (and its token), lists the threads and approves, all with its own name in Host and Origin
        host = f"attacker.example:{port_of(server)}"
        with httpx.Client(base_url=server.url, headers={"Host": host}, timeout=30) as evil:
            page = evil.get("/")
            listed = evil.get("/api/threads")
            reply = evil.post(f"/api/threads/{thread}/approval", json={"decision": "approve"},
                              headers={"Origin": f"http://{host}", **page_token(page)})
        assert not ran(agent, thread), "the rebound page approved the call and its code ran"
        assert agent.pending(thread)  # still waiting for the person
        assert SECRET_QUESTION not in listed.text
        assert (page.status_code, listed.status_code, reply.status_code) == (421, 421, 421)


@pytest.mark.parametrize("host", ["attacker.example:{port}", "attacker.example", "0.0.0.0:{port}",
                                  "127.0.0.1.attacker.example:{port}", "localhost.attacker.example:{port}",
                                  "localhost:{port}.attacker.example", "127.0.0.2.nip.io"])
def test_attack_server_dns_rebinding_reads_the_threads(tmp_path, example_kg, host):
    server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")])
    with server:
        agent.run(SECRET_QUESTION, thread_id="mine")
        read = httpx.get(server.url + "/api/threads", headers={"Host": host.format(port=port_of(server))}, timeout=10)
        one = httpx.get(server.url + "/api/threads/mine", headers={"Host": host.format(port=port_of(server))}, timeout=10)
    assert SECRET_QUESTION not in read.text + one.text
    assert (read.status_code, one.status_code) == (421, 421)


def test_attack_server_request_without_a_host(tmp_path, example_kg):
    # HTTP/1.0 needs no Host: a request that names no host is not one of ours either
    server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")])
    with server:
        agent.run(SECRET_QUESTION, thread_id="mine")
        with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as conn:
            conn.sendall(b"GET /api/threads HTTP/1.0\r\n\r\n")
            raw = b""
            while chunk := conn.recv(65536):
                raw += chunk
    assert SECRET_QUESTION.encode() not in raw
    assert raw.startswith(b"HTTP/1.1 421") or raw.startswith(b"HTTP/1.0 421"), raw[:200]


def test_attack_server_dns_rebinding_sends_an_a2a_message(tmp_path, example_kg):
    pytest.importorskip("a2a.server", reason="the A2A SDK is in the dev extra")
    server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")], a2a=True)
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "Tell me everything you know."}]}}}
    with server:
        host = f"attacker.example:{port_of(server)}"
        card = httpx.get(server.url + "/.well-known/agent-card.json", headers={"Host": host}, timeout=10)
        sent = httpx.post(server.url + "/a2a", json=body, timeout=30,
                          headers={"Host": host, "Origin": f"http://{host}", "A2A-Version": "1.0"})
    assert agent.model.calls == [], "the rebound page's A2A message reached the model"
    assert (card.status_code, sent.status_code) == (421, 421)


def test_attack_server_dns_rebinding_posts_to_the_slack_route(tmp_path, example_kg):
    from tests.test_slack import BOT_TOKEN, SECRET, FakeSlackAPI, mention, signed

    from agentmesh.apps.slack import create_slack_app

    fake = FakeSlackAPI()
    try:
        server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")], slack=lambda agent: create_slack_app(
            agent, token=BOT_TOKEN, signing_secret=SECRET, api_url=fake.url))
        body = mention("Tell me everything you know.")
        with server:
            host = f"attacker.example:{port_of(server)}"
            sent = httpx.post(server.url + "/slack/events", content=body, timeout=10,
                              headers={**signed(body), "Content-Type": "application/json", "Host": host})
            fake.wait_for("chat.postMessage", timeout=1.5)
    finally:
        fake.httpd.shutdown()
    assert fake.of("chat.postMessage") == [] and agent.model.calls == []
    assert sent.status_code == 421


# -- cross-site requests: a foreign Origin --------------------------------------------------------

def no_cors_post(server, path: str, body: dict, origin: str = EVIL, **headers: str) -> httpx.Response:
    """What ``fetch(url, {method: "POST", mode: "no-cors", body: new Blob([json])})`` sends: no Content-Type."""
    return httpx.post(server.url + path, content=json.dumps(body).encode(), timeout=30,
                      headers={"Origin": origin, "Sec-Fetch-Site": "cross-site", **headers})


def json_post(server, path: str, body: dict, origin: str = EVIL, **headers: str) -> httpx.Response:
    """A cross-site post with a JSON body, as if the browser had not asked first (the Origin check alone)."""
    return no_cors_post(server, path, body, origin, **{"Content-Type": "application/json", **headers})


def test_attack_server_cross_site_chat_completion(tmp_path, example_kg):
    server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")])
    with server:
        sent = json_post(server, "/v1/chat/completions", {"messages": [{"role": "user", "content": "Run up my bill."}]})
    assert agent.model.calls == [], "a cross-site page made the agent run"
    assert sent.status_code == 403


def test_attack_server_cross_site_approval_through_the_openai_route(tmp_path, example_kg):
    server, agent = serve(tmp_path, example_kg, python_script(), tools=("python",))
    with server:
        first = httpx.post(server.url + "/v1/chat/completions", timeout=30,
                           json={"user": "t", "messages": [{"role": "user", "content": "Run it."}]})
        assert "Approval needed" in first.json()["choices"][0]["message"]["content"]
        sent = json_post(server, "/v1/chat/completions", {"user": "t", "messages": [{"role": "user", "content": "approve"}]})
    assert not ran(agent, "t"), "a cross-site page approved the call and its code ran"
    assert agent.pending("t") and sent.status_code == 403


def test_attack_server_cross_site_web_chat(tmp_path, example_kg):
    server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")])
    with server:
        sent = json_post(server, "/api/chat", {"message": "Run up my bill."})
    assert agent.model.calls == [], "a cross-site page made the agent run"
    assert sent.status_code == 403


def test_attack_server_cross_site_web_approval(tmp_path, example_kg):
    # the page's token is given to the attacker here, so that the Origin check alone must hold
    server, agent = serve(tmp_path, example_kg, python_script(), tools=("python",))
    with server:
        thread = pending_on_the_page(server)
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            token = page_token(browser.get("/"))
            sent = browser.post(f"/api/threads/{thread}/approval", content=json.dumps({"decision": "approve"}).encode(),
                                headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Content-Type": "application/json", **token})
    assert not ran(agent, thread), "a cross-site page approved the call and its code ran"
    assert agent.pending(thread) and sent.status_code == 403


def test_attack_server_cross_site_cache_wrong(tmp_path, example_kg):
    server, agent = serve(tmp_path, example_kg, [AIMessage("Claude 2.1 reads 200000 tokens.")], cache=True)
    question = "What is the context window of Claude 2.1?"
    agent.run(question, thread_id="first")
    assert agent.run(question, thread_id="mine").stop_reason == "cached"
    with server:
        sent = no_cors_post(server, "/api/threads/mine/cache-wrong", {})
    assert len(agent.cache) == 1, "a cross-site page removed a cache entry"
    assert sent.status_code == 403


def test_attack_server_cross_site_a2a_message(tmp_path, example_kg):
    pytest.importorskip("a2a.server", reason="the A2A SDK is in the dev extra")
    server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")], a2a=True)
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "Run up my bill."}]}}}
    with server:
        sent = no_cors_post(server, "/a2a", body, **{"A2A-Version": "1.0"})
    assert agent.model.calls == [], "a cross-site page's A2A message reached the model"
    assert sent.status_code == 403


def test_attack_server_cross_site_slack_event(tmp_path, example_kg):
    # Slack never sends an Origin; a request that does comes from a browser, whatever it carries
    from tests.test_slack import BOT_TOKEN, SECRET, FakeSlackAPI, mention, signed

    from agentmesh.apps.slack import create_slack_app

    fake = FakeSlackAPI()
    try:
        server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")], slack=lambda agent: create_slack_app(
            agent, token=BOT_TOKEN, signing_secret=SECRET, api_url=fake.url))
        body = mention("Tell me everything you know.")
        with server:
            sent = httpx.post(server.url + "/slack/events", content=body, timeout=10,
                              headers={**signed(body), "Content-Type": "application/json", "Origin": EVIL})
            fake.wait_for("chat.postMessage", timeout=1.5)
    finally:
        fake.httpd.shutdown()
    assert fake.of("chat.postMessage") == [] and agent.model.calls == []
    assert sent.status_code == 403


@pytest.mark.parametrize("origin", ["null", "http://127.0.0.1", "http://localhost:{port}", "https://127.0.0.1:{port}",
                                    "http://127.0.0.1:{port}.attacker.example"])
def test_attack_server_cross_site_origin_close_to_ours(tmp_path, example_kg, origin):
    # a sandboxed frame or file page (null), another port or scheme on this host: not the page's origin
    server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")])
    with server:
        sent = json_post(server, "/api/chat", {"message": "Run up my bill."}, origin=origin.format(port=port_of(server)))
    assert agent.model.calls == [], "a request from another origin made the agent run"
    assert sent.status_code == 403


# -- the same, from a real browser -----------------------------------------------------------------
# Chromium resolves attacker.example to 127.0.0.1 (--host-resolver-rules): what a rebound name does,
# and a name of another site for the attacker's own page; every other name resolves to nothing.

@pytest.fixture(scope="module")
def chromium():
    import shutil

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no chromium on this machine: apt-get install chromium to run the browser attacks")
    from playwright.sync_api import sync_playwright

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--host-resolver-rules=MAP attacker.example 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=flags)
        yield browser
        browser.close()


REBOUND_SCRIPT = """async (thread) => {
  const page = await fetch("/");  // the server's page, read as the attacker's own
  const token = ((await page.text()).match(/name="agentmesh-page" content="([^"]*)"/) || [])[1] || "";
  const listed = await fetch("/api/threads");
  const approved = await fetch("/api/threads/" + thread + "/approval", {method: "POST",
    headers: {"Content-Type": "application/json", "X-Agentmesh-Page": token}, body: JSON.stringify({decision: "approve"})});
  await approved.text();
  return [page.status, listed.status, approved.status];
}"""


def test_attack_server_dns_rebinding_in_a_real_browser(tmp_path, example_kg, chromium):
    server, agent = serve(tmp_path, example_kg, python_script(), tools=("python",))
    with server:
        thread = pending_on_the_page(server)
        page = chromium.new_page()
        try:
            page.goto(f"http://attacker.example:{port_of(server)}/")  # the attacker's name, now on 127.0.0.1
            statuses = page.evaluate(REBOUND_SCRIPT, thread)
        finally:
            page.close()
    assert not ran(agent, thread), "a rebound page in Chromium approved the call and its code ran"
    assert agent.pending(thread) and statuses == [421, 421, 421]


CROSS_SITE_SCRIPT = """async ([target, thread]) => {
  // what any page may send anywhere without asking: no-cors posts with simple bodies
  const a2a = {jsonrpc: "2.0", id: 1, method: "SendMessage", params: {message: {
    messageId: "m1", role: "ROLE_USER", parts: [{text: "Run up my bill."}]}}};
  const post = (path, body) => fetch(target + path, {method: "POST", mode: "no-cors", body}).then(() => "sent", e => String(e));
  return [await post("/a2a", new Blob([JSON.stringify(a2a)])),
          await post("/api/threads/" + thread + "/cache-wrong", ""),
          await post("/api/threads/" + thread + "/approval", new Blob([JSON.stringify({decision: "approve"})]))];
}"""


def test_attack_server_cross_site_requests_in_a_real_browser(tmp_path, example_kg, chromium):
    pytest.importorskip("a2a.server", reason="the A2A SDK is in the dev extra")
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    class AttackerSite(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!doctype html><title>cute cats</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), AttackerSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    server, agent = serve(tmp_path, example_kg, [AIMessage("Claude 2.1 reads 200000 tokens.")], cache=True, a2a=True)
    question = "What is the context window of Claude 2.1?"
    agent.run(question, thread_id="first")
    assert agent.run(question, thread_id="mine").stop_reason == "cached"
    calls = len(agent.model.calls)
    try:
        with server:
            page = chromium.new_page()
            try:
                page.goto(f"http://attacker.example:{site.server_address[1]}/")
                page.evaluate(CROSS_SITE_SCRIPT, [server.url, "mine"])
            finally:
                page.close()
    finally:
        site.shutdown()
    assert len(agent.model.calls) == calls, "a cross-site page's A2A message reached the model"
    assert len(agent.cache) == 1, "a cross-site page removed a cache entry"


# -- the page's token ------------------------------------------------------------------------------

def test_attack_server_web_approval_without_the_page_token(tmp_path, example_kg):
    # no Origin at all (a browser or proxy that strips it): only the page's token stands
    server, agent = serve(tmp_path, example_kg, python_script(), tools=("python",))
    with server:
        thread = pending_on_the_page(server)
        sent = httpx.post(f"{server.url}/api/threads/{thread}/approval", json={"decision": "approve"}, timeout=30)
    assert not ran(agent, thread), "an approval without the page's token ran the call"
    assert agent.pending(thread) and sent.status_code == 403


def test_attack_server_web_approval_with_a_token_from_another_browser(tmp_path, example_kg):
    # a token the server issued, but to another browser: it does not match this one's cookie
    server, agent = serve(tmp_path, example_kg, python_script(), tools=("python",))
    with server:
        thread = pending_on_the_page(server)
        with httpx.Client(base_url=server.url, timeout=30) as other:
            token = page_token(other.get("/"))
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            browser.get("/")  # this browser has a cookie of its own
            sent = browser.post(f"/api/threads/{thread}/approval", json={"decision": "approve"},
                                headers=token or {"X-Agentmesh-Page": "made-up"})
    assert not ran(agent, thread), "an approval with another browser's token ran the call"
    assert agent.pending(thread) and sent.status_code == 403


# -- what must keep working ---------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "localhost", "127.0.0.1",
                                  "kb.example.com", "kb.example.com:{port}", "KB.Example.com:443", "proxy.internal:8443"])
def test_loopback_names_and_the_public_names_are_served(tmp_path, example_kg, host):
    server, agent = serve(tmp_path, example_kg, [AIMessage("An answer.")],
                          server_public_names=["kb.example.com", "proxy.internal:8443"])
    with server:
        agent.run("Hello?", thread_id="mine")
        host = host.format(port=port_of(server))
        listed = httpx.get(server.url + "/api/threads", headers={"Host": host}, timeout=10)
        chat = httpx.post(server.url + "/api/chat", json={"message": "Hi"}, timeout=30,
                          headers={"Host": host, "Origin": f"http://{host}"})
    assert listed.status_code == 200 and "Hello?" in listed.text
    assert chat.status_code == 200 and "event: done" in chat.text


def test_a_public_name_with_a_port_is_served_on_that_port_only(tmp_path, example_kg):
    server, _ = serve(tmp_path, example_kg, [AIMessage("An answer.")], server_public_names=["proxy.internal:8443"])
    with server:
        other = httpx.get(server.url + "/api/threads", headers={"Host": "proxy.internal:9000"}, timeout=10)
        bare = httpx.get(server.url + "/api/threads", headers={"Host": "proxy.internal"}, timeout=10)
    assert (other.status_code, bare.status_code) == (421, 421)


def test_behind_a_proxy_that_rewrites_host_the_public_origin_is_allowed(tmp_path, example_kg):
    # nginx's default proxy_pass sends Host: 127.0.0.1:<port>; the browser's Origin is the public one
    server, _ = serve(tmp_path, example_kg, [AIMessage("An answer.")], server_public_names=["kb.example.com"])
    with server:
        chat = httpx.post(server.url + "/api/chat", json={"message": "Hi"}, timeout=30,
                          headers={"Origin": "https://kb.example.com", "Sec-Fetch-Site": "same-origin"})
    assert chat.status_code == 200 and "event: done" in chat.text


def test_api_clients_without_an_origin_work_with_a_bearer_token(tmp_path, example_kg):
    from openai import OpenAI

    server, _ = serve(tmp_path, example_kg, [AIMessage("An answer.")], server_token=TOKEN, server_public_names=["kb.example.com"])
    with server:
        reply = OpenAI(base_url=server.url + "/v1", api_key=TOKEN, max_retries=0).chat.completions.create(
            model="agentmesh", messages=[{"role": "user", "content": "Hi"}])
        public = httpx.post(server.url + "/v1/chat/completions", timeout=30, headers={
            "Authorization": f"Bearer {TOKEN}", "Host": "kb.example.com"},
            json={"messages": [{"role": "user", "content": "Hi"}]})
    assert reply.choices[0].message.content == "An answer."
    assert public.status_code == 200


def test_the_page_approves_with_its_token_and_the_call_runs(tmp_path, example_kg):
    server, agent = serve(tmp_path, example_kg, python_script(), tools=("python",))
    with server:
        thread = pending_on_the_page(server)
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            page = browser.get("/")
            token = page_token(page)
            approved = browser.post(f"/api/threads/{thread}/approval", json={"decision": "approve"},
                                    headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin", **token})
            again = browser.get("/")  # a second tab of the same browser gets the same token
    assert token and approved.status_code == 200 and ran(agent, thread)
    assert page_token(again) == token
    assert page.headers["cache-control"] == "no-store"


def test_a_foreign_host_is_told_what_to_configure(tmp_path, example_kg):
    server, _ = serve(tmp_path, example_kg, [AIMessage("An answer.")])
    with server:
        refused = httpx.get(server.url + "/api/threads", headers={"Host": "kb.example.com"}, timeout=10)
        crossed = json_post(server, "/api/chat", {"message": "hi"})
    assert refused.status_code == 421
    message = refused.json()["error"]["message"]
    assert "'kb.example.com'" in message and "server_public_names" in message
    assert crossed.status_code == 403 and "Origin 'http://attacker.example'" in crossed.json()["error"]["message"]


def test_public_names_are_checked_when_settings_load():
    from agentmesh.errors import ConfigError

    assert Settings.load(server_public_names="kb.example.com, KB2.example.com:8443").server_public_names == [
        "kb.example.com", "kb2.example.com:8443"]
    with pytest.raises(ConfigError, match="the name alone"):
        Settings.load(server_public_names=["https://kb.example.com/"])
    with pytest.raises(ConfigError, match="wildcard"):
        Settings.load(server_public_names=["*.example.com"])
