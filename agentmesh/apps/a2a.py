"""The agent as an A2A server (Agent2Agent protocol, through the official ``a2a-sdk``), inside
``agentmesh serve`` when ``a2a = true``.

* ``GET /.well-known/agent-card.json``: the agent card (public, as A2A clients discover it);
* ``POST /a2a``: JSON-RPC (``SendMessage``, ``GetTask``...), behind the server's bearer tokens.

Each A2A context is one agentmesh thread (a user's own, with ``server_tokens``), so follow-ups
keep their history, and its turns run one at a time like the server's other faces. The reply is
one message: the answer as text, then a data part with its citations, claim checks and run id.
A run waiting for approval (a dangerous tool call) is declined, since an A2A peer cannot approve.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse

from agentmesh.errors import ConfigError

__all__ = ["add_a2a_routes", "A2A_PATH", "AGENT_CARD_PATH"]

A2A_PATH = "/a2a"
AGENT_CARD_PATH = "/.well-known/agent-card.json"


def _card(settings: Any, base_url: str | None = None) -> Any:
    """The agent card; its endpoint is ``a2a_url`` + /a2a, else the URL the card was asked at."""
    from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
    from a2a.utils.constants import PROTOCOL_VERSION_CURRENT

    from agentmesh import __version__

    url = (settings.a2a_url or base_url or "http://127.0.0.1:8000").rstrip("/") + A2A_PATH
    return AgentCard(
        name="agentmesh",
        description="Answers from the organisation's own knowledge graph and data, with citations and a check of each claim.",
        version=__version__,
        supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version=PROTOCOL_VERSION_CURRENT)],
        capabilities=AgentCapabilities(streaming=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[AgentSkill(id="grounded_answer", name="Grounded answer",
                           description="A question answered from the knowledge graph, the database and the documents, "
                                       "with citations; a claim the evidence does not support is marked.",
                           tags=["knowledge graph", "rag", "citations"],
                           examples=["What is the context window of Claude 2.1?"])],
    )


def add_a2a_routes(app: Any, agent: Any, *, locks: Any) -> None:
    """Mount the A2A agent card and JSON-RPC endpoint on the server's FastAPI ``app``."""
    try:
        from a2a.helpers.proto_helpers import get_message_text, new_data_part, new_message, new_text_part
        from a2a.server.agent_execution import AgentExecutor
        from a2a.server.request_handlers import DefaultRequestHandlerV2
        from a2a.server.request_handlers.response_helpers import agent_card_to_dict
        from a2a.server.routes import DefaultServerCallContextBuilder, add_a2a_routes_to_fastapi, create_jsonrpc_routes
        from a2a.server.tasks import InMemoryTaskStore
    except ImportError:
        raise ConfigError("a2a = true needs the A2A SDK: pip install 'agentmesh[a2a]'") from None

    from agentmesh.apps.access import stored_thread, turn_lock

    class Executor(AgentExecutor):
        async def execute(self, context: Any, event_queue: Any) -> None:
            question = get_message_text(context.message).strip() if context.message else ""
            user = context.call_context.state.get("agentmesh_user") or None
            thread = stored_thread(user, f"a2a-{context.context_id}")
            if not question:
                text, data = "The message has no text to answer.", {}
            else:
                async with turn_lock(locks, thread):
                    result = await anyio.to_thread.run_sync(lambda: agent.run(question, thread_id=thread, user=user))
                    if result.pending:  # nobody on the other side can approve a dangerous call
                        result = await anyio.to_thread.run_sync(
                            lambda: agent.resume(thread, {"decision": "reject", "reason": "A2A callers cannot approve"}))
                text = result.answer or "(no answer)"
                data = {k: v for k, v in result.to_dict().items() if k in ("supported", "stop_reason", "run_id", "citations", "claims")}
            parts = [new_text_part(text)] + ([new_data_part(data)] if data else [])
            await event_queue.enqueue_event(new_message(parts=parts, context_id=context.context_id, task_id=context.task_id))

        async def cancel(self, context: Any, event_queue: Any) -> None:
            raise NotImplementedError("an agentmesh run cannot be cancelled half-way")

    class ContextBuilder(DefaultServerCallContextBuilder):
        def build(self, request: Any) -> Any:
            built = super().build(request)
            headers = built.state.get("headers") or {}  # (the SDK reads the A2A version from them)
            built.state["headers"] = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
            built.state["agentmesh_user"] = getattr(request.state, "user", "") or None
            return built

    settings = agent.settings
    handler = DefaultRequestHandlerV2(agent_executor=Executor(), task_store=InMemoryTaskStore(), agent_card=_card(settings))
    add_a2a_routes_to_fastapi(app, jsonrpc_routes=create_jsonrpc_routes(handler, rpc_url=A2A_PATH, context_builder=ContextBuilder()))

    @app.get(AGENT_CARD_PATH, include_in_schema=False)
    async def agent_card(request: Request) -> JSONResponse:  # (served here: its URL follows the host asked)
        return JSONResponse(agent_card_to_dict(_card(settings, str(request.base_url))))
