"""Middleware: a user's own step around each model call and tool call, without forking the graph."""

from __future__ import annotations

from langchain_core.messages import AIMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Middleware, Settings
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

SECRET = "sk-middleware-secret-123456"


@tool
def lookup(key: str) -> str:
    """Look up a key."""
    return f"value of {key}"


def _agent(responses, middleware, **settings):
    model = FakeToolChatModel(responses=responses)
    agent = Agent(Settings.load(cache=False, tools=[], answer_check="off", **settings), model=model,
                  embeddings=HashingEmbeddings(), extra_tools=[lookup], checkpointer=InMemorySaver(), middleware=middleware)
    return agent, model


class Recorder(Middleware):
    def __init__(self, name, log):
        self.name, self.log = name, log

    def wrap_model_call(self, request, handler):
        self.log.append(f"{self.name}:model-in")
        reply = handler(request)
        self.log.append(f"{self.name}:model-out")
        return reply

    def wrap_tool_call(self, request, handler):
        self.log.append(f"{self.name}:tool {request.call['name']}")
        return handler(request)


def test_hooks_wrap_each_call_first_outermost_and_see_the_run():
    log: list[str] = []
    agent, _ = _agent([tool_call("lookup", key="a"), AIMessage("It is the value of a.")],
                      [Recorder("outer", log), Recorder("inner", log)])
    result = agent.run("What is a?", thread_id="t1")
    assert result.answer == "It is the value of a."
    assert log == ["outer:model-in", "inner:model-in", "inner:model-out", "outer:model-out",
                   "outer:tool lookup", "inner:tool lookup",
                   "outer:model-in", "inner:model-in", "inner:model-out", "outer:model-out"]


def test_a_hook_changes_the_request_or_answers_itself_and_secrets_stay_scrubbed():
    class House(Middleware):
        def wrap_model_call(self, request, handler):  # a house rule added to every prompt
            return handler(request.override(messages=[SystemMessage("Answer in French."), *request.messages]))

        def wrap_tool_call(self, request, handler):  # a cache of its own: answers without the tool
            return ToolMessage(f"cached: {SECRET}", tool_call_id=request.call["id"], name=request.call["name"])

    agent, model = _agent([tool_call("lookup", key="a"), AIMessage("C'est fait.")], [House()], api_key=SECRET)
    result = agent.run("What is a?", thread_id="t2")
    assert model.calls[0][0].text == "Answer in French."
    output = result.tool_calls[0].output
    assert output.startswith("cached: ") and SECRET not in output  # the hook answered; the redactor still ran


def test_a_failing_hook_is_an_observation_not_the_end_of_the_run():
    class Broken(Middleware):
        def wrap_tool_call(self, request, handler):
            raise RuntimeError("the audit log is full")

    agent, _ = _agent([tool_call("lookup", key="a"), AIMessage("I could not look it up.")], [Broken()])
    result = agent.run("What is a?", thread_id="t3")
    assert result.answer == "I could not look it up."
    assert not result.tool_calls[0].ok and "the audit log is full" in result.tool_calls[0].output
