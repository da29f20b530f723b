"""The JSON tool-calling wrapper's decision: the prompt fits what is known, tool_choice is honoured."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool

from agentmesh.graphs.agent import render_grounding
from agentmesh.models.json_tools import JsonToolCallingModel
from agentmesh.models.testing import FakeToolChatModel
from agentmesh.prompts import JSON_TOOLS_INSTRUCTIONS, JSON_TOOLS_INSTRUCTIONS_NO_FACTS, SYSTEM_PROMPT


class Recorder(FakeToolChatModel):
    """Replies with ``responses`` and keeps each call's messages and ``response_format``."""

    formats: list[Any] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.formats.append(kwargs.get("response_format"))
        return super()._generate(messages, stop, run_manager, **kwargs)


@tool
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return "sunny"


@tool
def sql(query: str) -> str:
    """Run SQL."""
    return "n\n1"


def system(nodes=()):
    return SystemMessage(SYSTEM_PROMPT.format(grounding=render_grounding(list(nodes))))


def decision_prompt(inner: Recorder) -> str:
    return next(m["content"] for m in reversed(inner.calls[0]) if m.get("role") == "system") \
        if isinstance(inner.calls[0][0], dict) else "\n".join(m.text for m in inner.calls[0] if m.type == "system")


@pytest.mark.parametrize("facts", [False, True])
def test_the_decision_prompt_says_answer_directly_only_when_there_are_facts(facts):
    nodes = [{"uri": "http://x/a", "label": "Paris", "facts": ["weather: sunny"]}] if facts else []
    inner = Recorder(responses=[AIMessage('{"tool": "get_weather", "arguments": {"city": "Paris"}}')])
    model = JsonToolCallingModel(inner=inner).bind_tools([get_weather, sql])
    reply = model.invoke([system(nodes), HumanMessage("What's the weather in Paris?")])
    assert reply.tool_calls[0]["name"] == "get_weather"
    prompt = decision_prompt(inner)
    head = (JSON_TOOLS_INSTRUCTIONS if facts else JSON_TOOLS_INSTRUCTIONS_NO_FACTS).split("{tool_list}")[0]
    assert head in prompt
    assert ("If the facts above answer the question" in prompt) is facts


@pytest.mark.parametrize("choice", ["sql", {"type": "function", "function": {"name": "sql"}}])
def test_a_named_tool_choice_forces_that_tool(choice):
    inner = Recorder(responses=[AIMessage('{"tool": "sql", "arguments": {"query": "SELECT 1"}}')])
    inner.formats.clear()
    model = JsonToolCallingModel(inner=inner).bind_tools([get_weather, sql], tool_choice=choice)
    reply = model.invoke([system(), HumanMessage("Anything")])
    assert reply.tool_calls[0]["name"] == "sql"
    schema = inner.formats[0]["json_schema"]["schema"]
    assert schema["properties"]["tool"] == {"const": "sql"}  # one option: that tool, no answer


def test_a_named_tool_that_is_not_bound_is_an_error_when_bound():
    with pytest.raises(ValueError, match="tool_choice names 'nope'"):
        JsonToolCallingModel(inner=Recorder(responses=[AIMessage("{}")])).bind_tools([sql], tool_choice="nope")
