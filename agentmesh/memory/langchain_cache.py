"""agentmesh's semantic cache as a LangChain ``BaseCache``, for ``set_llm_cache(...)`` users.

LangChain keys its cache on (prompt, llm_string); for a chat model the prompt is the whole
message list serialised, so a plain semantic cache over it compares system prompts and
histories, not questions (an unrelated question hit in our measurements). This adapter keys
the way agentmesh does: the *question* is the last user message, and everything else (the
llm_string, the system prompt, the earlier turns) goes into the scope, so an answer is only
served under the same model, the same instructions and the same conversation so far. Within
a scope, the cache's threshold, guards and checks decide as they do for the agent.

>>> from langchain_core.globals import set_llm_cache
>>> set_llm_cache(AgentmeshLLMCache(SemanticCache(folder, MiniLMEmbeddings())))   # doctest: +SKIP
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Sequence

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.load import dumps, loads

from agentmesh.memory.cache import SemanticCache, cache_scope
from agentmesh.memory.verify import CacheCheck

__all__ = ["AgentmeshLLMCache", "split_prompt"]


def _allowed() -> list[type]:
    from langchain_core import messages
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk

    kinds = [getattr(messages, name) for name in ("AIMessage", "AIMessageChunk", "HumanMessage", "SystemMessage",
                                                   "ToolMessage", "ChatMessage", "FunctionMessage")]
    return [Generation, GenerationChunk, ChatGeneration, ChatGenerationChunk, *kinds]


_GENERATIONS = _allowed()


def split_prompt(prompt: str) -> tuple[str, str]:
    """(question, context) of a LangChain cache prompt: for a serialised message list, the last
    user message and the rest; for a plain text prompt, the prompt itself and nothing."""
    try:
        with warnings.catch_warnings():  # loads is marked beta; the allowlist below is what makes it safe
            warnings.simplefilter("ignore")
            messages = loads(prompt, allowed_objects="messages")  # a prompt is data: revive messages only
    except Exception:  # noqa: BLE001 - not a serialised message list: an LLM's text prompt
        return prompt, ""
    if not isinstance(messages, list) or not messages:
        return prompt, ""
    last_user = max((i for i, m in enumerate(messages) if getattr(m, "type", "") == "human"), default=None)
    if last_user is None:
        return prompt, ""
    question = messages[last_user].text
    rest = [m for i, m in enumerate(messages) if i != last_user]
    return question, dumps(rest) if rest else ""


class AgentmeshLLMCache(BaseCache):
    """A LangChain cache over a :class:`SemanticCache` (or its Redis form)."""

    def __init__(self, cache: SemanticCache, *, checks: Sequence[CacheCheck] = ()) -> None:
        self.cache = cache
        self.checks = list(checks)

    def _key(self, prompt: str, llm_string: str) -> tuple[str, str]:
        question, context = split_prompt(prompt)
        return question, cache_scope(kind="langchain", llm=llm_string, context=context)

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        question, scope = self._key(prompt, llm_string)
        hit = self.cache.get(question, scope, checks=self.checks)
        if hit is None or "generations" not in hit.payload:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:  # a cached entry revives as generations and messages, never as a model or a client
                return loads(json.dumps(hit.payload["generations"]), allowed_objects=_GENERATIONS)
            except Exception:  # noqa: BLE001 - anything else in the store is not an answer: a miss
                return None

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        question, scope = self._key(prompt, llm_string)
        generations = json.loads(dumps(list(return_val)))
        text = " ".join(getattr(g, "text", "") for g in return_val)
        self.cache.put(question, text, scope, generations=generations)

    def clear(self, **kwargs: Any) -> None:
        self.cache.clear()
