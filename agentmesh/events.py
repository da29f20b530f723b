"""One run of the agent as typed events: the one set every face uses (the REPL, the HTTP API
and web page, Slack, your own code).

``Agent.events(message, thread_id)`` yields them as the run goes, in this order:

=====================  =========================================================================
event                  what happened
=====================  =========================================================================
``Token``              a piece of the model's text as it is written (not under the strict check,
                       which shows an answer only once it is checked)
``ToolCallStarted``    the model proposed a tool call (``id``, ``name``, ``args``)
``ToolCallFinished``   a tool returned (``ok``, ``output`` cut to :data:`OUTPUT_LIMIT` characters)
``ApprovalNeeded``     dangerous calls wait for a person; the run stops here (``Agent.resume``)
``Answer``             the answer shown (``stop_reason``; ``streamed``: its text came as tokens)
``Citations``          the evidence it rests on, each ``{kind, ref, detail, verified}``
``Claims``             each claim with its status and evidence (empty when the check is off)
``Done``               the run's :class:`~agentmesh.agent.AgentResult`
=====================  =========================================================================

Each has ``type`` (its wire name: ``token``, ``tool_call``, ``tool_result``, ``approval``,
``answer``, ``citations``, ``claims``, ``done``) and ``to_dict()``, the JSON the server streams.
The agent graph's node names stay inside this module: nothing else decodes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Iterator

from langchain_core.messages import AIMessage, ToolMessage


__all__ = ["Event", "Token", "ToolCallStarted", "ToolCallFinished", "ApprovalNeeded", "Answer", "Citations", "Claims",
           "Done", "OUTPUT_LIMIT", "events_of", "open_choices"]

OUTPUT_LIMIT = 2000


def _ends_the_run(node: str, update: Any) -> bool:
    """The update that shows the run's answer: the answer step's (a retry sends the model back
    instead, with no stop reason), or an answer given before the turn (a cache hit, a hook's
    reply): the model step's update that carries an answer, which only such an answer does."""
    if not isinstance(update, dict) or not isinstance(update.get("stop_reason"), str):
        return False
    if node == "answer":
        return True
    return node == "act" and bool(update.get("answer")) and any(isinstance(m, AIMessage) for m in update.get("messages", []))


@dataclass(frozen=True)
class Event:
    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **{k: v for k, v in self.__dict__.items()}}


@dataclass(frozen=True)
class Token(Event):
    type: ClassVar[str] = "token"
    text: str


@dataclass(frozen=True)
class ToolCallStarted(Event):
    type: ClassVar[str] = "tool_call"
    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolCallFinished(Event):
    type: ClassVar[str] = "tool_result"
    id: str
    name: str
    ok: bool
    output: str


@dataclass(frozen=True)
class ApprovalNeeded(Event):
    type: ClassVar[str] = "approval"
    calls: list[dict[str, Any]]
    """Each ``{"id", "name", "args"}``."""


@dataclass(frozen=True)
class Answer(Event):
    type: ClassVar[str] = "answer"
    text: str
    stop_reason: str
    streamed: bool


@dataclass(frozen=True)
class Citations(Event):
    type: ClassVar[str] = "citations"
    citations: list[dict[str, Any]]


@dataclass(frozen=True)
class Claims(Event):
    type: ClassVar[str] = "claims"
    claims: list[dict[str, Any]]


@dataclass(frozen=True)
class Done(Event):
    type: ClassVar[str] = "done"
    result: Any
    """The run's AgentResult (``pending`` calls when it stopped for approval)."""

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {"type": self.type, "thread_id": r.thread_id, "run_id": r.run_id, "model": r.model,
                "stop_reason": r.stop_reason, "pending": r.pending, "usage": r.usage,
                "tool_calls": [{"name": a.name, "args": a.args, "ok": a.ok, "output": a.output[:OUTPUT_LIMIT]}
                               for a in r.tool_calls],
                "choices": open_choices(r)}


def open_choices(result: Any) -> list[dict[str, Any]]:
    """Where the question fit the data in several ways and the run answered none of them: each
    place and its options ("the measure": course.clarity_score, course.helpfulness_score), for the
    REPL and the web page to ask which one is meant, with the question to ask for each (``asks``,
    :func:`agentmesh.answering.reading.clarified`)."""
    from agentmesh.answering.reading import clarified

    reading = getattr(result, "reading", None) or {}
    if reading.get("complete") or result.stop_reason not in ("evidence_only", "not_found"):
        return []
    return [{"place": c["place"], "options": c["options"],
             "asks": [clarified(reading.get("question", ""), option) for option in c["options"]]}
            for c in reading.get("choices", []) if len(c.get("options", [])) > 1 and not c.get("chosen")]


def events_of(stream: Iterable[tuple[str, Any]]) -> Iterator[Event]:
    """Typed events from ``Agent.stream``'s ``(node, update)`` pairs."""
    streamed: list[str] = []  # token texts of the current model step
    for node, update in stream:
        if node == "token":
            streamed.append(update)
            yield Token(update)
        elif _ends_the_run(node, update):
            text = update.get("answer", "")
            was_streamed = update.get("stop_reason") == "answered" and bool(streamed) \
                and "".join(streamed).strip() == text.strip()
            yield Answer(text, update["stop_reason"], was_streamed)
            yield Citations(list(update.get("citations", [])))
            yield Claims(list(update.get("claims", [])))
        elif node == "act":
            last = update.get("messages", [None])[-1]
            if isinstance(last, AIMessage) and last.tool_calls:
                streamed.clear()  # text before tool calls was thinking aloud, not the answer
                for call in last.tool_calls:
                    yield ToolCallStarted(call["id"], call["name"], call["args"])
        elif node == "tools":
            for out in update.get("messages", []):
                if isinstance(out, ToolMessage):
                    yield ToolCallFinished(out.tool_call_id, out.name or "", out.status != "error", out.text[:OUTPUT_LIMIT])
        elif node == "__interrupt__":
            yield ApprovalNeeded(list(update))
        elif node == "result":
            yield Done(update)
