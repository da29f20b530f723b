"""Typed state of the agent graph, and the citation record that tools and grounding produce."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from agentmesh.records import Citation

__all__ = ["AgentState", "Citation", "StopReason"]

StopReason = Literal["answered", "cached", "step_limit", "error_budget", "evidence_only", "not_found"]
"""``evidence_only`` / ``not_found``: the strict answer check replaced an answer it could not support."""


class AgentState(TypedDict, total=False):
    """One thread's state. ``messages`` accumulates over turns; the rest is reset for each question."""

    messages: Annotated[list[AnyMessage], add_messages]
    question: str
    summary: str
    """A running summary of turns too old to send to the model (they stay in ``messages``)."""
    summarized_turns: int
    grounding: list[dict[str, Any]]
    """Retrieved knowledge-graph nodes: uri, label, description, score, facts."""
    tools: list[str] | None
    """Names of the tools offered to the model for this question (None until a selector chose them:
    agentmesh.graphs.middleware.ToolSelection)."""
    steps: int
    tool_errors: int
    last_error: str
    citations: list[dict[str, Any]]
    """SQL and code that ran, and the nodes the answer names (``Citation`` records, as dicts: the
    checkpoint's form)."""
    evidence: list[dict[str, Any]]
    """Node citations returned by tools; those the answer names become citations."""
    answer: str
    unverified: list[str]
    """URIs cited or written in the answer that are not nodes of the knowledge graph."""
    stop_reason: StopReason
    claims: list[dict[str, Any]]
    """The answer's claims, each checked against this run's evidence (agentmesh.claims.Claim)."""
    check_retries: int
    check_feedback: str
    """The answer step's note to the model (which claims failed the strict check, or a hook's own
    ``Answer(retry=...)``): told once, never stored as a message."""
    cached: dict[str, Any] | None
    """The semantic-cache hit that answered this question, if any."""
    reading: dict[str, Any] | None
    """The question read once against the data profile, at the start of the turn (a tool's
    ``read`` metadata: ``sql_answer``'s): what it asks, and the words it could not use
    (:meth:`agentmesh.answering.reading.QuestionReading.to_dict`)."""
    run: dict[str, Any]
    """``id``: the run that asked the last question (its trace, its ledger rows); ``private``: the
    thread's data may reach local models only, set by a private run or a private tool's output and
    kept for the rest of the thread. One channel for both: each channel costs at every step."""
