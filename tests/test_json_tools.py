"""The JSON tool-calling wrapper's decision: the prompt fits what is known, tool_choice is honoured."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatResult
from langchain_core.tools import tool

from agentmesh.graphs.agent import render_grounding
from agentmesh.models.json_tools import DECLINED_CALL, JsonToolCallingModel, invented_numbers
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


@tool
def projectile_range(initial_velocity: float, angle: float) -> str:
    """Range of a projectile launched at a speed (m/s) and an angle (degrees)."""
    return "1 m"


def invoke(reply: str, question: str, history=(), **bind: Any):
    inner = Recorder(responses=[AIMessage(reply), AIMessage("I cannot compute that without the numbers.")])
    model = JsonToolCallingModel(inner=inner).bind_tools([projectile_range], **bind)
    return model.invoke([system(), *history, HumanMessage(question)]), inner


def test_a_call_with_numbers_the_question_never_gave_is_declined_and_answered_in_text():
    reply, inner = invoke('{"tool": "projectile_range", "arguments": {"initial_velocity": 100, "angle": 45.0}}',
                          "How far will a car travel in time t when launched with velocity v at an angle theta?")
    assert reply.tool_calls == []
    assert reply.text == "I cannot compute that without the numbers."
    declined = reply.response_metadata[DECLINED_CALL]
    assert declined["tool"] == "projectile_range"
    assert "initial_velocity=100" in declined["reason"] and "angle=45.0" in declined["reason"]
    assert len(inner.calls) == 2  # the decision, then the text answer


@pytest.mark.parametrize("question,args", [
    ("Range of a ball thrown at 20 m/s at 30 degrees?", {"initial_velocity": 20, "angle": 30}),
    ("Range at twenty metres a second and an angle of 45.0?", {"initial_velocity": 20.0, "angle": 45}),
    ("A charge of 1e-9 at 2.5e3 m/s, angle 0?", {"initial_velocity": 2500.0, "angle": 0}),
    ("Launched at 1,200 m/s and 15%?", {"initial_velocity": 1200, "angle": 0.15}),
])
def test_a_call_whose_numbers_the_question_gives_goes_through(question, args):
    reply, _ = invoke(json.dumps({"tool": "projectile_range", "arguments": args}), question)
    assert [c["args"] for c in reply.tool_calls] == [args]
    assert DECLINED_CALL not in reply.response_metadata


def test_numbers_from_earlier_turns_and_the_tools_schema_count_as_given():
    history = [HumanMessage("The ball leaves at 33 m/s."), AIMessage("Noted.")]
    reply, _ = invoke('{"tool": "projectile_range", "arguments": {"initial_velocity": 33, "angle": 0}}',
                      "And at angle zero, how far?", history)
    assert reply.tool_calls and reply.tool_calls[0]["args"]["initial_velocity"] == 33


def test_a_required_call_is_never_declined():
    reply, _ = invoke('{"tool": "projectile_range", "arguments": {"initial_velocity": 100, "angle": 45.0}}',
                      "How far does it go?", tool_choice="projectile_range")
    assert reply.tool_calls[0]["args"] == {"initial_velocity": 100, "angle": 45.0}


def test_the_check_can_be_switched_off():
    inner = Recorder(responses=[AIMessage('{"tool": "projectile_range", "arguments": {"initial_velocity": 100, "angle": 4}}')])
    model = JsonToolCallingModel(inner=inner, check_arguments=False).bind_tools([projectile_range])
    assert model.invoke([system(), HumanMessage("How far does it go?")]).tool_calls


def test_a_streamed_answer_says_which_call_was_declined():
    inner = Recorder(responses=[AIMessage('{"tool": "projectile_range", "arguments": {"initial_velocity": 7, "angle": 8}}'),
                                AIMessage("No numbers were given.")])
    model = JsonToolCallingModel(inner=inner).bind_tools([projectile_range])
    chunks = list(model.stream([system(), HumanMessage("How far does a ball go?")]))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.text == "No numbers were given." and not merged.tool_calls
    assert "initial_velocity=7" in merged.response_metadata[DECLINED_CALL]["reason"]


@pytest.mark.parametrize("args,context,invented", [
    ({"a": 1, "b": 0, "c": 0}, "Roots of bx + c = 0?", ["a=1"]),
    ({"xs": [1, 2, 3], "flag": True, "name": "x"}, "the list 1,2,3", []),
    ({"point": {"lat": 43.65, "lon": -79.38}}, "at 43.65, -79.38", []),
    ({"point": {"lat": 43.65, "lon": -79.38}}, "in Toronto", ["point.lat=43.65", "point.lon=-79.38"]),
    ({"window": 32768}, "a 32K window", []),
    ({"years": 10}, "over the past decade", []),
    ({"volume": 2}, "a 2 m chamber", []),
])
def test_invented_numbers(args, context, invented):
    assert invented_numbers(args, context) == invented


def test_a_number_the_tools_own_description_gives_counts_as_given():
    @tool
    def fall_time(height: float, gravity: float) -> str:
        """Seconds to fall from a height (m); gravity in m/s², 9.81 on Earth."""
        return "1 s"

    inner = Recorder(responses=[AIMessage('{"tool": "fall_time", "arguments": {"height": 20, "gravity": 9.81}}')])
    reply = JsonToolCallingModel(inner=inner).bind_tools([fall_time]).invoke([system(), HumanMessage("How long to fall 20 m?")])
    assert reply.tool_calls and reply.tool_calls[0]["args"]["gravity"] == 9.81


@pytest.mark.parametrize("stream", [False, True])
def test_a_decision_cut_off_at_the_token_limit_by_an_openai_server_is_answered_in_text(stream):
    """langchain-openai raises LengthFinishReasonError on a json_schema reply cut off at
    max_tokens; the wrapper reads it as any cut-off reply (no call), so the user gets an answer."""
    from langchain_openai import ChatOpenAI

    from agentmesh.models.testing import FakeOpenAIServer

    @tool
    def lookup(name: str) -> str:
        """Look a model up by name."""
        return name

    script = [{"content": '{"tool": "lookup", "arguments": {"name": "Mixtral 8x7B Instr', "finish_reason": "length"},
              {"content": "Mixtral 8x7B is a mixture-of-experts model."}]
    with FakeOpenAIServer(script) as server:
        inner = ChatOpenAI(base_url=server.base_url, api_key="-", model="fake", max_retries=0, stream_usage=True)
        bound = JsonToolCallingModel(inner=inner).bind_tools([lookup])
        if stream:
            chunks = list(bound.stream("Tell me about Mixtral 8x7B Instruct"))
            reply = chunks[0]
            for chunk in chunks[1:]:
                reply += chunk
        else:
            reply = bound.invoke("Tell me about Mixtral 8x7B Instruct")
        assert len(server.requests) == 2 and "response_format" in server.requests[0]
    assert reply.tool_calls == [] and reply.text == "Mixtral 8x7B is a mixture-of-experts model."
    # the cut-off decision's 10 input tokens count (the fake server's stream reports no usage of its own)
    assert reply.usage_metadata["input_tokens"] == (10 if stream else 20)
