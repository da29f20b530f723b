"""The agent graph, driven by a scripted fake model: tools, parallelism, errors, limits, grounding."""

from __future__ import annotations

import threading

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.graphs.agent import NOT_RUN_OBSERVATION, build_agent_graph
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call
from agentmesh.prompts import ERROR_BUDGET_MESSAGE, STEP_LIMIT_MESSAGE


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def broken(x: str) -> str:
    """A tool that always fails."""
    raise ValueError(f"cannot handle {x!r}")


def run(graph, text: str, thread: str = "t1") -> dict:
    return graph.invoke({"messages": [HumanMessage(text)]}, {"configurable": {"thread_id": thread}})


def test_tool_result_reaches_the_model_and_the_answer():
    model = FakeToolChatModel(responses=[tool_call("add", a=2, b=3), AIMessage("The sum is 5.")])
    graph = build_agent_graph(model, [add], checkpointer=InMemorySaver())

    state = run(graph, "What is 2 + 3?")

    assert state["answer"] == "The sum is 5."
    assert state["stop_reason"] == "answered"
    second_call = model.calls[1]
    observation = [m for m in second_call if isinstance(m, ToolMessage)]
    assert [m.text for m in observation] == ["<data>\n5\n</data>"]  # marked as data for the model
    assert observation[0].status == "success"
    assert state["steps"] == 2


def test_two_independent_tool_calls_run_in_parallel_in_one_step():
    barrier = threading.Barrier(2, timeout=5)  # only passes if both calls are in flight at once

    @tool
    def lookup(key: str) -> str:
        """Look a key up."""
        barrier.wait()
        return f"value of {key}"

    both = AIMessage(
        "",
        tool_calls=[
            {"name": "lookup", "args": {"key": "a"}, "id": "c1"},
            {"name": "lookup", "args": {"key": "b"}, "id": "c2"},
        ],
    )
    model = FakeToolChatModel(responses=[both, AIMessage("a and b found")])
    graph = build_agent_graph(model, [lookup], checkpointer=InMemorySaver())

    state = run(graph, "look up a and b")

    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert sorted(m.text for m in tool_messages) == ["value of a", "value of b"]
    assert all(m.status == "success" for m in tool_messages)
    assert state["steps"] == 2  # one model step proposed both calls, one step answered
    assert state["answer"] == "a and b found"


def test_tool_error_goes_back_to_the_model_and_the_run_finishes():
    model = FakeToolChatModel(responses=[tool_call("broken", x="boom"), AIMessage("The tool failed, sorry.")])
    graph = build_agent_graph(model, [broken], checkpointer=InMemorySaver())

    state = run(graph, "try it")

    error = [m for m in model.calls[1] if isinstance(m, ToolMessage)][0]
    assert error.status == "error"
    assert "cannot handle 'boom'" in error.text
    assert state["answer"] == "The tool failed, sorry."
    assert state["tool_errors"] == 1


def test_bad_arguments_and_unknown_tools_are_observations_too():
    calls = AIMessage(
        "",
        tool_calls=[
            {"name": "add", "args": {"a": "not a number"}, "id": "c1"},
            {"name": "nope", "args": {}, "id": "c2"},
        ],
    )
    model = FakeToolChatModel(responses=[calls, AIMessage("done")])
    graph = build_agent_graph(model, [add], checkpointer=InMemorySaver())

    state = run(graph, "go")

    observations = {m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)}
    assert observations["c1"].status == "error" and "add" in observations["c1"].text
    assert "no tool named 'nope'" in observations["c2"].text
    assert state["answer"] == "done"


def test_step_limit_stops_a_looping_model_with_a_clear_message():
    model = FakeToolChatModel(responses=[tool_call("add", a=1, b=1)])  # repeats forever
    graph = build_agent_graph(model, [add], max_steps=3, checkpointer=InMemorySaver())

    state = run(graph, "loop")

    assert state["stop_reason"] == "step_limit"
    assert state["answer"] == STEP_LIMIT_MESSAGE.format(steps=3, limit=3)
    assert len(model.calls) == 3
    # the dangling calls are closed, so the thread can take another question
    assert state["messages"][-2].text == NOT_RUN_OBSERVATION
    assert isinstance(state["messages"][-1], AIMessage)


def test_error_budget_ends_the_run():
    model = FakeToolChatModel(responses=[tool_call("broken", x="again")])
    graph = build_agent_graph(model, [broken], max_tool_errors=1, checkpointer=InMemorySaver())

    state = run(graph, "keep failing")

    assert state["stop_reason"] == "error_budget"
    assert state["answer"].startswith(ERROR_BUDGET_MESSAGE.split("{")[0])
    assert state["tool_errors"] == 2


def test_grounding_facts_reach_the_model_and_named_nodes_are_cited():
    nodes = [
        {"uri": "http://ex.org/billing", "label": "Billing database", "description": "Invoices.", "score": 1.0,
         "facts": ["owned by: Team A"]},
        {"uri": "http://ex.org/crm", "label": "CRM", "description": "Contacts.", "score": 0.5, "facts": []},
    ]
    model = FakeToolChatModel(responses=[AIMessage("Team A owns the Billing database.")])
    graph = build_agent_graph(model, [], retrieve=lambda q: nodes, checkpointer=InMemorySaver())

    state = run(graph, "Who owns billing?")

    system = model.calls[0][0]
    assert isinstance(system, SystemMessage)
    assert "<http://ex.org/billing> Billing database: Invoices. [owned by: Team A]" in system.text
    assert [c["ref"] for c in state["citations"]] == ["http://ex.org/billing"]


def test_select_offers_only_the_most_similar_tools():
    @tool
    def weather(city: str) -> str:
        """Weather forecast for a city: rain, sun, temperature."""
        return "sunny"

    @tool
    def invoices(customer: str) -> str:
        """Unpaid invoices of a customer."""
        return "none"

    model = FakeToolChatModel(responses=[AIMessage("ok")])
    settings = Settings.load(top_k_tools=1, tools=[])
    agent = Agent(
        settings, model=model, embeddings=HashingEmbeddings(), extra_tools=[add, weather, invoices],
        checkpointer=InMemorySaver(),
    )

    agent.run("What is the weather forecast in Paris: rain or sun?")

    assert model.offered == [["weather"]]


def test_no_tool_is_offered_when_none_is_near_the_question():
    """With ``tool_min_similarity``, a question no tool fits gets a text answer, not a stray call."""
    @tool
    def weather(city: str) -> str:
        """Weather forecast for a city: rain, sun, temperature."""
        return "sunny"

    model = FakeToolChatModel(responses=[AIMessage("ok")])
    agent = Agent(Settings.load(top_k_tools=2, tool_min_similarity=0.3, tools=[]), model=model,
                  embeddings=HashingEmbeddings(), extra_tools=[add, weather], checkpointer=InMemorySaver())
    agent.run("What is the weather forecast in Paris: rain or sun?")
    agent.run("Summarise the plot of Hamlet.")
    assert model.offered == [["weather"], []]


def test_agentmeshs_own_tools_have_no_similarity_floor_and_yours_do(example_db):
    """The embedded model's floor (0.4) leaves out a specific tool far from the question, never sql: its
    description names a kind of question, so it scores low against any one question it serves."""
    @tool
    def weather(city: str) -> str:
        """Weather forecast for a city: rain, sun, temperature."""
        return "sunny"

    model = FakeToolChatModel(responses=[AIMessage("ok")])
    agent = Agent(Settings.load(db=example_db, tools=["sql"], top_k_tools=2, tool_min_similarity=0.4), model=model,
                  embeddings=HashingEmbeddings(), extra_tools=[weather], checkpointer=InMemorySaver())
    assert (next(t for t in agent.tools if t.name == "sql").metadata or {}).get("general") is True
    assert not (weather.metadata or {}).get("general")
    agent.run("How many models have open weights?")
    assert model.offered == [["sql"]]


def test_agent_result_lists_tool_activity_and_sql_citation(example_db):
    query = "SELECT name FROM models WHERE id = 'Phi-2'"
    model = FakeToolChatModel(responses=[tool_call("sql", query=query), AIMessage("It is Phi-2.")])
    settings = Settings.load(db=example_db, tools=["sql"])
    agent = Agent(settings, model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())

    result = agent.run("Name of model Phi-2?")

    assert result.answer == "It is Phi-2."
    assert [(a.name, a.ok) for a in result.tool_calls] == [("sql", True)]
    assert "Phi-2" in result.tool_calls[0].output
    assert [(c.kind, c.detail) for c in result.citations] == [("sql", query)]


def test_arun_and_stream_give_the_same_run(example_kg):
    import asyncio

    settings = Settings.load(kg=[example_kg], tools=[])
    model = FakeToolChatModel(responses=[AIMessage("Claude 2.1 reads 200000 tokens.")])
    agent = Agent(settings, model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())

    result = asyncio.run(agent.arun("Context window of Claude 2.1?", thread_id="a"))
    events = list(agent.stream("And Claude 2?", thread_id="a"))
    nodes = [node for node, _ in events]

    assert result.answer == "Claude 2.1 reads 200000 tokens."
    assert any(c.ref.endswith("/Claude-2.1") for c in result.citations)
    assert nodes == ["act", "answer", "result"]
    assert events[-1][1].answer == "Claude 2.1 reads 200000 tokens." and events[-1][1].thread_id == "a"
    assert [m.text for m in agent.history("a") if isinstance(m, HumanMessage)] == ["Context window of Claude 2.1?", "And Claude 2?"]


def test_a_label_inside_a_longer_name_is_not_cited():
    from agentmesh.graphs.nodes import _mentions

    assert _mentions("The context window of Claude 2.1 is 200K tokens.", "Claude 2.1")
    assert not _mentions("The context window of Claude 2.1 is 200K tokens.", "Claude 2")
    assert _mentions("Claude 2 reads 100K tokens.", "Claude 2")
    assert _mentions("It is developed by Mistral AI.", "Mistral AI")
    assert not _mentions("MITRE publishes CVEs.", "MIT")


def test_a_question_is_embedded_once_for_cache_retrieval_and_tool_selection(example_kg):
    class Counting(HashingEmbeddings):
        seen: list[str] = []

        def embed(self, texts):
            Counting.seen.extend(texts)
            return super().embed(texts)

    model = FakeToolChatModel(responses=[AIMessage("ok")])
    settings = Settings.load(kg=[example_kg], tools=["kg_search", "kg_path", "sparql"], top_k_tools=1)
    agent = Agent(settings, model=model, embeddings=Counting(), checkpointer=InMemorySaver())
    Counting.seen.clear()

    agent.run("Which licence does Phi-2 use?")

    assert Counting.seen.count("Which licence does Phi-2 use?") == 1


def test_a_follow_up_that_refers_back_is_grounded_in_the_earlier_question(example_kg):
    model = FakeToolChatModel(responses=[AIMessage("Alibaba Cloud."), AIMessage("32768 tokens.")])
    settings = Settings.load(kg=[example_kg], tools=[], cache=False)
    agent = Agent(settings, model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    agent.run("Who develops Qwen 72B Chat?", thread_id="f")
    follow_up = agent.run("What is its context window?", thread_id="f")
    assert follow_up.grounding[0]["uri"] == "https://example.org/llm/Qwen-72B-Chat"
    unrelated = agent.run("What is a context window?", thread_id="f")  # no reference back: the question alone
    assert all(n["uri"] != "https://example.org/llm/Qwen-72B-Chat" for n in unrelated.grounding[:1])


def test_a_call_on_numbers_nobody_gave_is_declined_and_the_result_says_so():
    """The JSON tool-calling wrapper drops a call whose numbers the model made up; the agent's
    result lists it, so a person sees why no tool ran."""
    from agentmesh.models.json_tools import JsonToolCallingModel

    inner = FakeToolChatModel(responses=[AIMessage('{"tool": "add", "arguments": {"a": 2, "b": 40}}'),
                                         AIMessage("I need the two numbers to add.")])
    agent = Agent(Settings.load(tools=[], answer_check="off"), model=JsonToolCallingModel(inner=inner),
                  embeddings=HashingEmbeddings(), extra_tools=[add], checkpointer=InMemorySaver())
    result = agent.run("Add two numbers for me.")
    assert result.tool_calls == [] and result.answer == "I need the two numbers to add."
    assert result.declined_calls == [{"tool": "add", "arguments": {"a": 2, "b": 40}, "reason": "not in the conversation: b=40"}]
    assert result.to_dict()["declined_calls"] == result.declined_calls


def test_each_node_runs_alone_over_the_parts_it_is_given():
    from langgraph.graph import END
    from langgraph.runtime import Runtime

    from agentmesh.graphs.nodes import Act, AnswerNode, CallModel, CallTool, Cite, GraphParts, RunTools

    model = FakeToolChatModel(responses=[tool_call("add", a=2, b=3)])
    parts = GraphParts(model_call=CallModel(model), tool_call=CallTool([add]), answer_call=Cite(None), tools=(add,),
                       max_tool_errors=0)
    runtime = Runtime(context=None)
    asked = HumanMessage("What is 2 + 3?", id="h1")
    step = Act(parts)({"messages": [asked]}, runtime)
    assert step.goto == "tools" and step.update["question"] == "What is 2 + 3?" and step.update["steps"] == 1
    call = step.update["messages"][0]
    ran = RunTools(parts)({"messages": [asked, call]}, runtime)
    assert [m.text for m in ran["messages"]] == ["5"] and RunTools(parts).after_tools(ran) == "act"
    assert RunTools(parts).after_tools({"tool_errors": 1}) == "answer"  # the error budget is spent
    done = AnswerNode(parts)({"messages": [asked, call, *ran["messages"], AIMessage("It is 5.", id="a2")]}, runtime)
    assert done.goto == END and done.update["answer"] == "It is 5." and done.update["stop_reason"] == "answered"
