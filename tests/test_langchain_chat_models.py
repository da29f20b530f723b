"""langchain-tests' unit suite for the chat models a LangChain user composes: the scripted fake
(tests, examples), the JSON tool-calling wrapper (servers without native tools) and the routed
model. bind_tools returns a RunnableBinding, as LangChain's own models do, and leaves the model
unchanged, so one model object serves many concurrent runs."""

from __future__ import annotations

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field
from typing_extensions import Annotated, TypedDict
from langchain_core.runnables import RunnableBinding
from langchain_tests.unit_tests import ChatModelUnitTests

from agentmesh.models.catalog import Catalog
from agentmesh.models.json_tools import JsonToolCallingModel
from agentmesh.models.routed import RoutedChatModel
from agentmesh.models.router import PolicyRouter
from agentmesh.models.testing import FakeToolChatModel



class Joke(TypedDict):  # at module level: the TypedDict's annotations must resolve
    """Joke to tell user."""

    setup: Annotated[str, ..., "question to set up a joke"]
    punchline: Annotated[str, ..., "answer to resolve the joke"]


class JokeModel(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


class TestFakeToolChatModel(ChatModelUnitTests):
    @property
    def chat_model_class(self):
        return FakeToolChatModel

    @property
    def chat_model_params(self) -> dict:
        return {"responses": [AIMessage("hello")]}


class TestJsonToolCallingModel(ChatModelUnitTests):
    @property
    def chat_model_class(self):
        return JsonToolCallingModel

    @property
    def chat_model_params(self) -> dict:
        return {"inner": FakeToolChatModel(responses=[AIMessage("hello")])}


class TestEmbeddedChatModel(ChatModelUnitTests):
    """SmolLM2 in-process; the unit suite builds it and binds tools, it does not generate."""

    @property
    def chat_model_class(self):
        from agentmesh.models.embedded import EmbeddedChatModel

        return EmbeddedChatModel

    @property
    def chat_model_params(self) -> dict:
        return {}


class TestRoutedChatModel(ChatModelUnitTests):
    @property
    def chat_model_class(self):
        return RoutedChatModel

    @property
    def chat_model_params(self) -> dict:
        catalog = Catalog.load()
        return {"catalog": catalog, "router": PolicyRouter(catalog)}


def test_bind_tools_leaves_the_model_as_it_was():
    from langchain_core.tools import tool

    @tool
    def shout(text: str) -> str:
        """Shout."""
        return text.upper()

    model = FakeToolChatModel(responses=[AIMessage("hi")])
    bound = model.bind_tools([shout])
    assert isinstance(bound, RunnableBinding) and bound.kwargs["tools"][0]["function"]["name"] == "shout"
    bound.invoke("x")
    model.invoke("y")  # the unbound model is offered nothing
    assert model.offered == [["shout"], []]


class Starts(BaseCallbackHandler):
    """Counts chat-model runs as a tracer sees them."""

    def __init__(self):
        self.starts = 0

    def on_chat_model_start(self, *args, **kwargs):
        self.starts += 1


def test_one_invoke_is_one_chat_model_run():
    """The JSON wrapper's inner calls (decide, then answer) must not surface as runs of their own,
    also inside a chain or a LangGraph node, whose callbacks a nested invoke inherits."""
    from langchain_core.runnables import RunnableLambda
    from langchain_core.tools import tool

    @tool
    def shout(text: str) -> str:
        """Shout."""
        return text.upper()

    inner = FakeToolChatModel(responses=[AIMessage('{"answer": true}'), AIMessage("Hello.")])
    seen = Starts()
    bound = JsonToolCallingModel(inner=inner).bind_tools([shout])
    reply = RunnableLambda(lambda text: bound.invoke(text)).invoke("hi", config={"callbacks": [seen]})
    assert reply.text == "Hello." and len(inner.calls) == 2 and seen.starts == 1


def test_structured_output_in_every_schema_form_through_the_json_wrapper():
    """with_structured_output gave None for TypedDict and JSON-schema outputs on the embedded
    model's wrapper; through bind_tools' RunnableBinding all three forms parse."""
    schema = {"title": "joke", "description": "Joke to tell user.", "type": "object",
              "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}}, "required": ["setup", "punchline"]}
    for form, name in ((Joke, "Joke"), (JokeModel, "JokeModel"), (schema, "joke")):
        reply = f'{{"tool": "{name}", "arguments": {{"setup": "Why?", "punchline": "Because."}}}}'
        model = JsonToolCallingModel(inner=FakeToolChatModel(responses=[AIMessage(reply)]))
        joke = model.with_structured_output(form).invoke("Tell me a joke")
        got = joke.model_dump() if isinstance(joke, BaseModel) else joke
        assert got == {"setup": "Why?", "punchline": "Because."}, form


def test_usage_counts_both_calls_of_the_json_wrapper_streamed_or_not():
    """A turn of the wrapper is a deciding call and, for an answer, a writing call: both cost
    tokens. Streamed tool calls carried no usage_metadata; answers counted only the second call."""
    from langchain_core.tools import tool

    @tool
    def shout(text: str) -> str:
        """Shout."""
        return text.upper()

    usage = {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    call = AIMessage('{"tool": "shout", "arguments": {"text": "a"}}', usage_metadata=usage)
    decide, write = AIMessage('{"answer": true}', usage_metadata=usage), AIMessage("Hello.", usage_metadata=usage)
    twice = {"input_tokens": 10, "output_tokens": 4, "total_tokens": 14}
    for replies, expected in (([call], usage), ([decide, write], twice)):
        model = JsonToolCallingModel(inner=FakeToolChatModel(responses=list(replies))).bind_tools([shout])
        assert model.invoke("x").usage_metadata == expected
        model = JsonToolCallingModel(inner=FakeToolChatModel(responses=list(replies))).bind_tools([shout])
        streamed, counted = None, 0
        for chunk in model.stream("x"):
            streamed = chunk if streamed is None else streamed + chunk
            counted += bool(chunk.usage_metadata and chunk.usage_metadata["input_tokens"])
        assert streamed.usage_metadata == expected
        assert counted == 1  # as langchain-tests requires: one chunk carries the input tokens


@pytest.mark.parametrize("stream", [False, True])
def test_one_invoke_of_the_routed_model_is_one_chat_model_run(stream):
    """The chosen model is called with tools bound (a RunnableBinding, which merges the caller's
    callbacks back into its config): still one run, and the ledger still records the attempt."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.tools import tool

    from agentmesh.models.catalog import ModelSpec
    from agentmesh.models.testing import FakeOpenAIServer

    @tool
    def shout(text: str) -> str:
        """Shout."""
        return text.upper()

    with FakeOpenAIServer([{"content": "Hello."}]) as server:
        spec = ModelSpec(name="local", provider="openai-compatible", model="fake", context_window=4096,
                         input_per_1m=0.0, output_per_1m=0.0, latency_s=0.1, tokens_per_s=50.0, tier=0,
                         local=True, endpoint=server.base_url)
        catalog = Catalog([spec])
        routed = RoutedChatModel(catalog=catalog, router=PolicyRouter(catalog))
        seen = Starts()
        # in a chain, as with_structured_output builds one: the chain puts the callbacks in context
        chain = routed.bind_tools([shout]) | StrOutputParser()
        config = {"callbacks": [seen]}
        reply = "".join(chain.stream("hi", config=config)) if stream else chain.invoke("hi", config=config)
    assert reply == "Hello." and seen.starts == 1
    assert [(row.model, row.calls) for row in routed.ledger.usage()] == [("local", 1)]
