"""Shaping a thread's history for the model: repair interrupted tool calls, fit a token budget,
and what a follow-up question refers back to."""

from __future__ import annotations

import re
from typing import Callable, Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately

from agentmesh.prompts import HISTORY_SUMMARY_HEADER, INTERRUPTED_OBSERVATION

__all__ = ["repair_tool_pairs", "fit_history", "retrieval_query", "Summarizer"]

Summarizer = Callable[[str, Sequence[AnyMessage]], str]


def repair_tool_pairs(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """The messages with a result right after every tool call that has none (a run killed
    mid-step leaves such calls), so the history stays valid for any chat API."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    out: list[AnyMessage] = []
    for message in messages:
        out.append(message)
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["id"] not in answered:
                    out.append(ToolMessage(INTERRUPTED_OBSERVATION, tool_call_id=call["id"], name=call["name"], status="error"))
    return out


def fit_history(
    messages: Sequence[AnyMessage],
    budget: int,
    *,
    summary: str = "",
    summarized_turns: int = 0,
    summarize: Summarizer | None = None,
    counter: Callable[[Sequence[AnyMessage]], int] = count_tokens_approximately,
) -> tuple[list[AnyMessage], str, int]:
    """(messages to send, summary, turns the summary covers).

    Skips the first ``summarized_turns`` turns (already in ``summary``); while the rest exceeds
    ``budget`` tokens and more than the latest turn remains, folds the oldest turn into the
    summary with ``summarize(old summary, its messages)``. Cuts fall only before a user
    message, so a tool call stays with its result. Without a summarizer the folded turns are
    dropped, and the summary says how many."""
    starts = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    turn = min(summarized_turns, max(len(starts) - 1, 0))
    first = starts[turn] if starts else 0

    def size(begin: int, text: str) -> int:
        head = [SystemMessage(HISTORY_SUMMARY_HEADER + text)] if text else []
        return counter(head + list(messages[begin:]))

    while turn + 1 < len(starts) and size(first, summary) > budget:
        nxt = starts[turn + 1]
        old = list(messages[first:nxt])
        summary = summarize(summary, old) if summarize else f"{summary} ({len(old)} earlier messages left out)".strip()
        turn, first = turn + 1, nxt
    head = [SystemMessage(HISTORY_SUMMARY_HEADER + summary)] if summary else []
    return head + list(messages[first:]), summary, turn


_REFERS_BACK = re.compile(r"\b(it|its|it's|they|them|their|this|that|these|those|he|she|his|her|one|ones)\b", re.I)


def retrieval_query(messages: Sequence[AnyMessage], question: str) -> str:
    """What to retrieve for: the question, joined with the previous one when it refers back to it
    ("What is its context window?" after "Who develops Qwen 72B Chat?")."""
    humans = [m.text for m in messages if isinstance(m, HumanMessage)]
    if len(humans) >= 2 and _REFERS_BACK.search(question):
        return f"{humans[-2]} {question}"
    return question
