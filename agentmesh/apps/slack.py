"""The Slack app: answers mentions and direct messages in threads, on slack-bolt.

One agent thread per Slack thread (``slack:<team>:<channel>:<thread ts>``), so a conversation
in a Slack thread keeps its history. Slack's HTTP events arrive at ``POST /slack/events`` of
``agentmesh serve``; bolt checks each request's signature (a bad or stale one gets 401), and
acknowledges at once, well within Slack's 3 seconds: the answer is posted afterwards from a
worker thread. Slack re-sends an event it thinks was missed; those retries are answered once.

Dangerous tool calls are asked about in the thread with Approve/Reject buttons; the click
resumes the run and the answer follows in the thread.

    app = create_slack_app(agent)            # token and secret from settings
    fastapi_app = create_app(agent, slack=app)

Socket Mode (no public URL) works too: ``agentmesh slack``, or :func:`run_socket_mode`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Any

from fastapi import Request
from slack_bolt import App
from slack_sdk import WebClient

from agentmesh.errors import AgentmeshError, ConfigError

__all__ = ["create_slack_app", "run_socket_mode", "mount_slack", "thread_key", "format_answer"]

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
APPROVE, REJECT, CACHE_WRONG = "agentmesh_approve", "agentmesh_reject", "agentmesh_cache_wrong"


def thread_key(team: str | None, channel: str, thread_ts: str) -> str:
    return f"slack:{team or '-'}:{channel}:{thread_ts}"


def format_answer(result: Any) -> str:
    """The answer in Slack's mrkdwn, with its sources as links."""
    text = result.answer or "(no answer)"
    sources = []
    for c in result.citations:
        if c.kind == "node":
            sources.append(f"<{c.ref}|{c.detail or c.ref}>")
        else:
            sources.append(f"{c.kind}: `{c.detail[:120]}`" if c.detail else f"{c.kind}: {c.ref}")
    if sources:
        text += "\n\n*Sources:* " + " · ".join(dict.fromkeys(sources))
    unsupported = [c.text for c in getattr(result, "claims", []) if not c.supported]
    if unsupported:
        text += "\n\n:warning: *Not supported by the evidence:* " + "; ".join(f"_{t}_" for t in unsupported)
    return text


def _approval_blocks(thread_id: str, pending: list[dict]) -> list[dict]:
    import json

    calls = "\n".join(f"• `{c['name']}` `{json.dumps(c['args'], ensure_ascii=False)[:500]}`" for c in pending)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Approval needed* before running:\n{calls}"}},
        {"type": "actions", "elements": [
            {"type": "button", "action_id": APPROVE, "style": "primary", "value": thread_id,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": REJECT, "style": "danger", "value": thread_id,
             "text": {"type": "plain_text", "text": "Reject"}},
        ]},
    ]


class _Seen:
    """The last event ids handled: Slack's retries of an event are answered once."""

    def __init__(self, size: int = 2048) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True


def create_slack_app(agent: Any, *, token: str | None = None, signing_secret: str | None = None,
                     api_url: str | None = None, socket_mode: bool = False) -> App:
    """A bolt ``App`` answering with ``agent``. Token, secret and API URL default to settings.
    ``socket_mode``: events come over Slack's WebSocket (:func:`run_socket_mode`), so there is
    no HTTP request to sign and no signing secret is needed."""
    s = agent.settings
    token = token or (s.slack_bot_token.get_secret_value() if s.slack_bot_token else None)
    signing_secret = signing_secret or (s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else None)
    if not token:
        raise ConfigError("Slack needs slack_bot_token (AGENTMESH_SLACK_BOT_TOKEN)")
    if not signing_secret and not socket_mode:
        raise ConfigError("Slack over HTTP needs slack_signing_secret (AGENTMESH_SLACK_SIGNING_SECRET); "
                          "without a public URL use Socket Mode: agentmesh slack")
    client = WebClient(token=token, base_url=api_url or s.slack_api_url)
    app = App(client=client, signing_secret=signing_secret or "socket-mode", process_before_response=False,
              request_verification_enabled=not socket_mode)
    seen = _Seen()
    locks: dict[str, threading.Lock] = {}
    locks_guard = threading.Lock()

    def lock_for(thread_id: str) -> threading.Lock:
        with locks_guard:
            return locks.setdefault(thread_id, threading.Lock())

    def reply(result: Any, client: WebClient, channel: str, thread_ts: str) -> None:
        if result.pending:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text="Approval needed before running a tool",
                                    blocks=_approval_blocks(result.thread_id, result.pending))
        elif result.stop_reason == "cached":  # served from the cache: the person can say it answered another question
            text = format_answer(result)
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "_from the semantic cache_"}]},
                {"type": "actions", "elements": [{"type": "button", "action_id": CACHE_WRONG, "value": result.thread_id,
                                                  "text": {"type": "plain_text", "text": "Wrong answer for my question"}}]},
            ])
        else:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=format_answer(result))

    def answer(event: dict, body: dict, client: WebClient) -> None:
        if not seen.first_time(body.get("event_id")):
            return
        channel = event["channel"]
        thread_ts = event.get("thread_ts") or event["ts"]
        text = _MENTION.sub("", event.get("text") or "").strip()
        if not text:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text="Ask me a question about our data.")
            return
        thread_id = thread_key(body.get("team_id") or event.get("team"), channel, thread_ts)
        with lock_for(thread_id):
            try:
                if agent.pending(thread_id):
                    client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                            text="This thread is waiting for the approval above: press Approve or Reject first.")
                    return
                result = agent.run(text, thread_id=thread_id)
            except AgentmeshError as exc:
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=f":warning: {exc}")
                return
            except Exception:
                log.exception("the Slack answer failed")
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=":warning: something went wrong; see the server log")
                return
            reply(result, client, channel, thread_ts)

    @app.event("app_mention")
    def on_mention(event: dict, body: dict, client: WebClient) -> None:
        answer(event, body, client)

    @app.event("message")
    def on_message(event: dict, body: dict, client: WebClient) -> None:
        # direct messages only; a channel message reaches the bot as app_mention when it is named
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return
        answer(event, body, client)

    def decide(ack: Any, body: dict, client: WebClient, approve: bool) -> None:
        ack()
        action = body["actions"][0]
        thread_id = action["value"]
        channel = body["channel"]["id"]
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        who = body.get("user", {}).get("id", "someone")
        with lock_for(thread_id):
            if not agent.pending(thread_id):
                return  # decided already (a double click, or another person)
            client.chat_update(channel=channel, ts=message.get("ts"), blocks=[],
                               text=f"{'Approved' if approve else 'Rejected'} by <@{who}>.")
            try:
                result = agent.resume(thread_id, approve)
            except AgentmeshError as exc:
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=f":warning: {exc}")
                return
            reply(result, client, channel, thread_ts)

    @app.action(APPROVE)
    def on_approve(ack: Any, body: dict, client: WebClient) -> None:
        decide(ack, body, client, True)

    @app.action(REJECT)
    def on_reject(ack: Any, body: dict, client: WebClient) -> None:
        decide(ack, body, client, False)

    @app.action(CACHE_WRONG)
    def on_cache_wrong(ack: Any, body: dict, client: WebClient) -> None:
        ack()
        thread_id = body["actions"][0]["value"]
        channel = body["channel"]["id"]
        message = body.get("message") or {}
        with lock_for(thread_id):
            try:
                marked = agent.mark_cached_wrong(thread_id)
            except AgentmeshError as exc:
                client.chat_postMessage(channel=channel, thread_ts=message.get("thread_ts") or message.get("ts"),
                                        text=f":warning: {exc}")
                return
        client.chat_update(channel=channel, ts=message.get("ts"), blocks=[],
                           text=f"~{message.get('text', '')[:3000]}~\nRemoved from the cache (it answered "
                                f"_{marked['cached_question']}_); ask again for a fresh answer.")

    return app


def run_socket_mode(agent: Any, *, app_token: str | None = None, **options: Any) -> Any:
    """Connect to Slack over Socket Mode (no public URL needed) and answer until stopped.
    Returns the started handler; ``handler.close()`` disconnects. ``options`` go to :func:`create_slack_app`."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    s = agent.settings
    app_token = app_token or (s.slack_app_token.get_secret_value() if s.slack_app_token else None)
    if not app_token or not app_token.startswith("xapp-"):
        raise ConfigError("Socket Mode needs an app-level token (xapp-..., scope connections:write) in slack_app_token")
    handler = SocketModeHandler(create_slack_app(agent, socket_mode=True, **options), app_token)
    handler.connect()  # returns once connected; events are handled on the client's threads
    return handler


def mount_slack(fastapi_app: Any, slack: App, path: str = "/slack/events") -> None:
    """Serve ``slack`` at ``path``; bolt's dispatch (signature check, ack) runs off the event loop."""
    import anyio
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    @fastapi_app.post(path, include_in_schema=False)
    async def slack_events(request: Request):
        body = await request.body()
        response = await anyio.to_thread.run_sync(slack.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)
