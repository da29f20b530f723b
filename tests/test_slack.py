"""The Slack app against a local fake of the Slack Web API, with signed event payloads over a real socket."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from langchain_core.messages import AIMessage

from agentmesh import Agent, Settings
from agentmesh.apps.server import BackgroundServer, create_app
from agentmesh.apps.slack import create_slack_app, thread_key
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"


class FakeSlackAPI:
    """The few Web API methods the app calls; every call is recorded with its form fields."""

    def __init__(self) -> None:
        self.ws_url = ""
        self.calls: list[tuple[str, dict]] = []
        self.posted = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                method = self.path.rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                if method == "apps.connections.open":
                    ok = self.headers.get("Authorization") == f"Bearer {APP_TOKEN}" and fake.ws_url
                    body = {"ok": True, "url": fake.ws_url} if ok else {"ok": False, "error": "invalid_auth"}
                elif self.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
                    body = {"ok": False, "error": "invalid_auth"}
                elif method == "auth.test":
                    body = {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "agentmesh"}
                else:
                    body = {"ok": True, "channel": args.get("channel"), "ts": f"{time.time():.6f}"}
                with fake.posted:
                    fake.calls.append((method, args))
                    fake.posted.notify_all()
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/"

    def wait_for(self, method: str, count: int = 1, timeout: float = 15) -> list[dict]:
        with self.posted:
            self.posted.wait_for(lambda: len(self.of(method)) >= count, timeout)
        return self.of(method)

    def of(self, method: str) -> list[dict]:
        return [args for m, args in self.calls if m == method]


def signed(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(timestamp or int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def mention(text: str, ts: str = "1700000000.000100", event_id: str = "Ev1", **event) -> str:
    return json.dumps({
        "type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id, "event_time": 1700000000,
        "event": {"type": "app_mention", "user": "U1", "text": f"<@UBOT> {text}", "ts": ts, "channel": "C1", **event},
    })


@pytest.fixture
def slack_setup(tmp_path, example_kg):
    release = threading.Event()

    class SlowModel(FakeToolChatModel):
        def _generate(self, *args, **kwargs):
            release.wait(15)  # held until the test has seen the acknowledgement
            return super()._generate(*args, **kwargs)

    def start(responses, tools=("kg_search",), cache=False):
        settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=list(tools), cache=cache)
        agent = Agent(settings, model=SlowModel(responses=responses), embeddings=HashingEmbeddings())
        fake = FakeSlackAPI()
        slack = create_slack_app(agent, token=BOT_TOKEN, signing_secret=SECRET, api_url=fake.url)
        server = BackgroundServer(create_app(agent, slack=slack)).__enter__()
        started.append((server, fake))
        return server, fake, agent

    started: list = []
    yield start, release
    release.set()
    for server, fake in started:
        server.__exit__(None)
        fake.httpd.shutdown()


def test_a_signed_mention_is_acknowledged_at_once_and_answered_in_its_thread(slack_setup):
    start, release = slack_setup
    server, fake, agent = start([AIMessage("Claude 2.1 reads 200000 tokens.")])
    body = mention("What is the context window of Claude 2.1?")

    ack = httpx.post(server.url + "/slack/events", content=body, headers={**signed(body), "Content-Type": "application/json"})

    assert ack.status_code == 200
    assert fake.of("chat.postMessage") == []  # acknowledged while the model is still busy
    release.set()
    (posted,) = fake.wait_for("chat.postMessage")
    assert posted["channel"] == "C1" and posted["thread_ts"] == "1700000000.000100"
    assert posted["text"].startswith("Claude 2.1 reads 200000 tokens.")
    assert "<https://example.org/llm/Claude-2.1|" in posted["text"]
    history = agent.history(thread_key("T1", "C1", "1700000000.000100"))
    assert [m.text for m in history if m.type == "human"] == ["What is the context window of Claude 2.1?"]


def test_a_reply_in_the_slack_thread_continues_the_same_agent_thread_and_retries_are_answered_once(slack_setup):
    start, release = slack_setup
    release.set()
    server, fake, agent = start([AIMessage("First."), AIMessage("Second.")])
    first = mention("Tell me about Claude 2.1.", event_id="Ev1")
    follow = mention("And its context window?", ts="1700000000.000200", event_id="Ev2", thread_ts="1700000000.000100")
    for body in (first, first, follow):  # the first event arrives twice (a Slack retry)
        headers = {**signed(body), "Content-Type": "application/json", "X-Slack-Retry-Num": "1"}
        assert httpx.post(server.url + "/slack/events", content=body, headers=headers).status_code == 200
    posts = fake.wait_for("chat.postMessage", 2)
    time.sleep(0.3)  # a duplicate answer, if any, would arrive now
    assert [p["text"] for p in fake.of("chat.postMessage")] == ["First.", "Second."]
    assert {p["thread_ts"] for p in posts} == {"1700000000.000100"}
    history = agent.history(thread_key("T1", "C1", "1700000000.000100"))
    assert [m.text for m in history if m.type == "human"] == ["Tell me about Claude 2.1.", "And its context window?"]


def test_a_bad_or_stale_signature_is_rejected_and_nothing_runs(slack_setup):
    start, release = slack_setup
    release.set()
    server, fake, agent = start([AIMessage("never")])
    body = mention("hello")
    bad = httpx.post(server.url + "/slack/events", content=body, headers={**signed(body, secret="wrong"), "Content-Type": "application/json"})
    stale = httpx.post(server.url + "/slack/events", content=body,
                       headers={**signed(body, timestamp=int(time.time()) - 3600), "Content-Type": "application/json"})
    assert bad.status_code == 401 and stale.status_code == 401
    time.sleep(0.3)
    assert fake.of("chat.postMessage") == [] and agent.model.calls == []


def test_approval_buttons_in_the_thread_resume_the_run(slack_setup):
    start, release = slack_setup
    release.set()
    server, fake, _ = start([tool_call("python", code="print(6 * 7)"), AIMessage("It is 42.")], tools=("python",))
    body = mention("What is 6 times 7?")
    httpx.post(server.url + "/slack/events", content=body, headers={**signed(body), "Content-Type": "application/json"})
    (ask,) = fake.wait_for("chat.postMessage")
    blocks = json.loads(ask["blocks"]) if isinstance(ask["blocks"], str) else ask["blocks"]
    button = blocks[1]["elements"][0]
    assert button["action_id"] == "agentmesh_approve" and "print(6 * 7)" in blocks[0]["text"]["text"]

    payload = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}, "channel": {"id": "C1"},
               "message": {"ts": "1700000000.000300", "thread_ts": "1700000000.000100"},
               "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button"}]}
    form = "payload=" + urllib.parse.quote(json.dumps(payload))
    click = httpx.post(server.url + "/slack/events", content=form,
                       headers={**signed(form), "Content-Type": "application/x-www-form-urlencoded"})
    assert click.status_code == 200
    posts = fake.wait_for("chat.postMessage", 2)
    assert posts[1]["text"].startswith("It is 42.") and posts[1]["thread_ts"] == "1700000000.000100"
    assert "Approved by <@U1>" in fake.of("chat.update")[0]["text"]


def test_a_cached_answer_has_a_button_that_removes_it(slack_setup):
    start, release = slack_setup
    release.set()
    server, fake, agent = start([AIMessage("Claude 2.1 reads 200000 tokens."), AIMessage("A fresh answer.")], cache=True)
    question = "What is the context window of Claude 2.1?"
    for ts, event_id in (("1700000000.000100", "Ev1"), ("1700000000.000200", "Ev2")):  # two Slack threads
        body = mention(question, ts=ts, event_id=event_id)
        httpx.post(server.url + "/slack/events", content=body, headers={**signed(body), "Content-Type": "application/json"})
        fake.wait_for("chat.postMessage", 1 if event_id == "Ev1" else 2)
    cached = fake.of("chat.postMessage")[1]
    blocks = json.loads(cached["blocks"]) if isinstance(cached["blocks"], str) else cached["blocks"]
    button = blocks[-1]["elements"][0]
    assert button["action_id"] == "agentmesh_cache_wrong" and len(agent.model.calls) == 1
    payload = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}, "channel": {"id": "C1"},
               "message": {"ts": "1700000000.000300", "thread_ts": "1700000000.000200", "text": cached["text"]},
               "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button"}]}
    form = "payload=" + urllib.parse.quote(json.dumps(payload))
    click = httpx.post(server.url + "/slack/events", content=form,
                       headers={**signed(form), "Content-Type": "application/x-www-form-urlencoded"})
    assert click.status_code == 200
    (update,) = fake.wait_for("chat.update")
    assert "Removed from the cache" in update["text"] and len(agent.cache) == 0


class FakeSocketModeServer:
    """Slack's Socket Mode side: a WebSocket on 127.0.0.1 that says hello, sends envelopes and
    collects the acknowledgements."""

    def __init__(self, envelopes: list[dict]) -> None:
        import asyncio

        from websockets.asyncio.server import serve

        self.envelopes, self.acks = envelopes, []
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def handler(ws):
            await ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
            for envelope in self.envelopes:
                await ws.send(json.dumps(envelope))
            async for message in ws:
                data = json.loads(message)
                if "envelope_id" in data:
                    self.acks.append(data["envelope_id"])

        async def main():
            async with serve(handler, "127.0.0.1", 0) as server:
                self.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/link"
                self.ready.set()
                await asyncio.Future()

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True)
        self.thread.start()
        self.ready.wait(10)


def test_socket_mode_answers_a_mention_without_a_public_url(tmp_path, example_kg):
    from agentmesh.apps.slack import run_socket_mode

    event = json.loads(mention("What is the context window of Claude 2.1?"))
    socket = FakeSocketModeServer([{"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                                    "payload": event}])
    fake = FakeSlackAPI()
    fake.ws_url = socket.url
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False)
    agent = Agent(settings, model=FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")]),
                  embeddings=HashingEmbeddings())

    handler = run_socket_mode(agent, app_token=APP_TOKEN, token=BOT_TOKEN, api_url=fake.url)
    try:
        (posted,) = fake.wait_for("chat.postMessage")
    finally:
        handler.close()
        fake.httpd.shutdown()
    assert posted["text"].startswith("Claude 2.1 reads 200000 tokens.") and posted["thread_ts"] == "1700000000.000100"
    assert socket.acks == ["env-1"]  # the envelope was acknowledged over the socket


def test_socket_mode_needs_an_app_token_and_http_needs_a_signing_secret(tmp_path, example_kg):
    from agentmesh.apps.slack import run_socket_mode
    from agentmesh.errors import ConfigError

    agent = Agent(Settings.load(home=tmp_path / "home", kg=[], tools=[], cache=False, slack_bot_token=BOT_TOKEN),
                  model=FakeToolChatModel(responses=[AIMessage("x")]), embeddings=HashingEmbeddings())
    with pytest.raises(ConfigError, match="app-level token"):
        run_socket_mode(agent, app_token="xoxb-not-an-app-token")
    with pytest.raises(ConfigError, match="needs slack_signing_secret"):
        create_slack_app(agent)
