"""answer_style = "pick": the model answers by choosing evidence lines, and the answer is
rendered from the chosen items alone, so nothing the evidence does not say can reach it.

Scripted fakes play the model; one test runs the real JSON tool-calling wrapper over an inner
model that obeys the JSON schema it is sent, the way llama.cpp's grammar makes the embedded
model obey it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import StructuredTool, tool
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh.claims import (ANSWER_TOOL, DERIVED_HEADER, NOT_FOUND, PARTIAL_HEADER, Claim, ClaimChecker, Evidence, quotable,
                              uncovered, unworked, worked_out)
from agentmesh.config import Settings
from agentmesh.graphs.agent import build_agent_graph, run_evidence
from agentmesh.models.json_tools import JsonToolCallingModel
from agentmesh.models.testing import FakeToolChatModel, tool_call
from agentmesh.prompts import JSON_TOOLS_INSTRUCTIONS_MUST_CALL
from tests.test_claims import LABELS, MIXTRAL, NODE_URIS, PHI

DEVELOPER = "Mixtral 8x7B Instruct - developer: Mistral AI"
LICENCE = "Mixtral 8x7B Instruct - license: Apache 2.0"
CONTEXT = "Mixtral 8x7B Instruct - context window (tokens): 32768"


@tool
def sql(query: str) -> str:
    """Run SQL on the models database."""
    return "name | output_per_1m_usd\nLlama 3.2 11B | 0.37\nGPT-4o | 10.0"


def graph(model, policy="strict", nodes=(MIXTRAL, PHI), tools=()):
    return build_agent_graph(model, list(tools), retrieve=lambda q: [dict(n) for n in nodes],
                             is_node=lambda uri: uri in NODE_URIS, check_answer=ClaimChecker(LABELS),
                             answer_policy=policy, answer_style="pick", checkpointer=InMemorySaver(),
                             searched="the knowledge graph")


def ask(compiled, question, thread="t"):
    return compiled.invoke({"messages": [HumanMessage(question)]}, {"configurable": {"thread_id": thread}})


def pick(*lines):
    return tool_call(ANSWER_TOOL, evidence=list(lines))


def test_a_pick_is_rendered_from_the_picked_evidence_alone():
    model = FakeToolChatModel(responses=[pick(DEVELOPER)])
    state = ask(graph(model, tools=[sql]), "Who develops Mixtral 8x7B Instruct?")
    assert state["answer"] == "Mixtral 8x7B Instruct — developer: Mistral AI"
    assert state["stop_reason"] == "answered"
    assert state["claims"] and all(c["status"] == "supported" for c in state["claims"])
    assert [c["ref"] for c in state["citations"]] == [MIXTRAL["uri"]]
    # the evidence holds the developer of the thing asked about: the model is only asked to pick
    assert model.offered[0] == [ANSWER_TOOL] and model.choices[0] == ANSWER_TOOL
    # the thread holds the rendered answer in place of the call: a valid conversation to go on from
    last = state["messages"][-1]
    assert isinstance(last, AIMessage) and not last.tool_calls and last.text == state["answer"]


def test_when_the_evidence_lacks_the_asked_fact_the_model_must_call_a_tool_or_pick():
    model = FakeToolChatModel(responses=[pick()])
    ask(graph(model, tools=[sql]), "Which models are released under Apache 2.0?")
    assert model.offered[0] == [ANSWER_TOOL, "sql"] and model.choices[0] == "any"


def test_a_lookup_picks_one_line_a_list_up_to_three():
    for question, most in (("Who develops Mixtral 8x7B Instruct?", 1), ("Which models use Apache 2.0?", 3),
                           ("Which licence do Phi-2 and Mixtral 8x7B Instruct use?", 3)):
        model = FakeToolChatModel(responses=[pick()])
        compiled = graph(model)
        bound = []
        original = model.bind_tools
        object.__setattr__(model, "bind_tools", lambda tools, **kw: bound.append(tools) or original(tools, **kw))
        ask(compiled, question)
        assert bound[0][0].args_schema["properties"]["evidence"]["maxItems"] == most, question


def test_the_lines_offered_are_this_runs_evidence_that_holds_what_is_asked():
    question = "Who develops Mixtral 8x7B Instruct?"
    enum = quotable(question, run_evidence({"grounding": [MIXTRAL, PHI], "question": question}))
    # the developer of the thing asked about; not its licence, nor another model's developer,
    # nor the question, nor a bare label
    assert list(enum) == [DEVELOPER]
    listing = "Which models are released under Apache 2.0?"
    enum = quotable(listing, run_evidence({"grounding": [MIXTRAL, PHI], "question": listing}))
    assert LICENCE in enum and not any("developer" in q for q in enum)


def test_with_no_line_that_answers_and_no_tool_left_nothing_is_asked_of_the_model():
    model = FakeToolChatModel(responses=[AIMessage("Arthur Mensch.")])
    state = ask(graph(model), "Who is the CEO of Mistral AI?")
    assert model.calls == [] and state["stop_reason"] == "not_found"
    assert "Arthur" not in state["answer"] and state["messages"][-1].text == state["answer"]


def test_with_no_line_that_answers_a_tool_must_be_called():
    model = FakeToolChatModel(responses=[tool_call("sql", query="SELECT ceo FROM developers"), pick()])
    state = ask(graph(model, tools=[sql]), "Who is the CEO of Mistral AI?")
    assert model.offered[0] == ["sql"] and model.choices[0] == "any"
    assert state["stop_reason"] == "not_found"


def test_a_line_that_is_not_evidence_is_never_shown():
    invented = "Mixtral 8x7B Instruct - developer: Meta AI"
    model = FakeToolChatModel(responses=[pick(invented)])
    state = ask(graph(model), "Who develops Mixtral 8x7B Instruct?")
    assert "Meta AI" not in state["answer"]
    assert state["stop_reason"] == "not_found" and state["answer"] == NOT_FOUND.format(searched="the knowledge graph")


def test_an_empty_pick_says_it_could_not_find_it():
    model = FakeToolChatModel(responses=[pick()])
    state = ask(graph(model), "Who is the CEO of Mistral AI?")
    assert state["stop_reason"] == "not_found" and state["citations"] == [] and state["claims"] == []


def test_after_a_tool_result_the_model_may_only_pick():
    row = "name | output_per_1m_usd: Llama 3.2 11B | 0.37"
    model = FakeToolChatModel(responses=[tool_call("sql", query="SELECT name, output_per_1m_usd FROM models"), pick(row)])
    state = ask(graph(model, nodes=(), tools=[sql]), "Which hosted model is cheapest per 1M output tokens?")
    assert model.offered[1] == [ANSWER_TOOL] and model.choices[1] == ANSWER_TOOL
    assert state["answer"] == row and state["stop_reason"] == "answered"
    assert [c["kind"] for c in state["citations"]] == ["sql"]
    # the rows came first among the lines offered, in the query's order
    offered = quotable(state["question"], run_evidence(state))
    assert list(offered)[:2] == [row, "name | output_per_1m_usd: GPT-4o | 10.0"]


class RejectFirst:
    """An answer check (the protocol is pluggable) that rejects the first answer it sees."""

    def __init__(self):
        self.seen = []

    def check(self, answer, evidence):
        self.seen.append(answer)
        status = "unsupported" if len(self.seen) == 1 else "supported"
        return [Claim(text=answer, kind="answer", status=status)]


def test_a_pick_the_check_rejects_is_retried_with_only_the_pick_offered():
    model = FakeToolChatModel(responses=[pick(LICENCE), pick(LICENCE)])
    check = RejectFirst()
    compiled = build_agent_graph(model, [sql], retrieve=lambda q: [dict(MIXTRAL)], check_answer=check,
                                 answer_policy="strict", answer_style="pick", checkpointer=InMemorySaver())
    state = ask(compiled, "Which models are released under Apache 2.0?")
    assert len(model.calls) == 2 and check.seen == [state["answer"]] * 2
    assert model.offered[1] == [ANSWER_TOOL] and model.choices[1] == ANSWER_TOOL
    assert state["answer"] == "Mixtral 8x7B Instruct — license: Apache 2.0" and state["stop_reason"] == "answered"
    assert [m.text for m in state["messages"]].count(state["answer"]) == 1  # the rejected one is gone


def test_free_style_offers_no_pick_tool():
    model = FakeToolChatModel(responses=[AIMessage("Mistral AI.")])
    compiled = build_agent_graph(model, [sql], retrieve=lambda q: [dict(MIXTRAL)], check_answer=ClaimChecker(LABELS),
                                 answer_policy="strict", checkpointer=InMemorySaver())
    assert ask(compiled, "Who develops Mixtral 8x7B Instruct?")["answer"] == "Mistral AI."
    assert model.offered[0] == ["sql"] and model.choices[0] is None


def test_an_unknown_answer_style_is_refused():
    with pytest.raises(ValueError, match="answer_style must be one of free, pick"):
        build_agent_graph(FakeToolChatModel(responses=[AIMessage("x")]), answer_style="choose")


class LooksEmbedded(FakeToolChatModel):
    @property
    def _llm_type(self) -> str:
        return "agentmesh-embedded-llamacpp"


@pytest.mark.parametrize("model,setting,style", [(LooksEmbedded, None, "pick"), (FakeToolChatModel, None, "free"),
                                                 (FakeToolChatModel, "pick", "pick"), (LooksEmbedded, "free", "free")])
def test_the_embedded_model_picks_by_default_and_others_write(tmp_path, model, setting, style):
    from agentmesh.agent import Agent
    from agentmesh.models.testing import HashingEmbeddings

    settings = Settings.load(home=tmp_path, tools=[], cache=False, answer_style=setting)
    agent = Agent(settings, model=model(responses=[AIMessage("x")]), embeddings=HashingEmbeddings())
    assert agent.answer_style == style


class SchemaFollower(FakeToolChatModel):
    """An inner model that obeys the JSON schema it is sent: it calls the first tool the schema
    allows, with the first value of each enum (a grammar-bound model cannot write any other)."""

    schemas: list[Any] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        fmt = kwargs.get("response_format")
        if not fmt:
            return ChatResult(generations=[ChatGeneration(message=AIMessage("free text"))])
        schema = fmt["json_schema"]["schema"]
        self.schemas.append(schema)
        option = (schema.get("anyOf") or [schema])[0]
        if "answer" in option["properties"]:
            return ChatResult(generations=[ChatGeneration(message=AIMessage('{"answer": true}'))])
        args = {name: [p["items"]["enum"][0]] if p.get("type") == "array" else "x"
                for name, p in option["properties"]["arguments"]["properties"].items()}
        reply = {"tool": option["properties"]["tool"]["const"], "arguments": args}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(json.dumps(reply)))])


def test_through_the_json_wrapper_the_enum_reaches_the_grammar_and_the_answer_is_evidence():
    inner = SchemaFollower(responses=[AIMessage("unused")])
    inner.schemas = []
    question = "Who develops Mixtral 8x7B Instruct?"
    state = ask(graph(JsonToolCallingModel(inner=inner), tools=[sql]), question)
    arguments = inner.schemas[0]["properties"]["arguments"]["properties"]
    assert inner.schemas[0]["properties"]["tool"]["const"] == ANSWER_TOOL and "anyOf" not in inner.schemas[0]
    assert arguments["evidence"]["items"]["enum"][0] == DEVELOPER and arguments["evidence"]["maxItems"] == 1
    assert state["answer"] == "Mixtral 8x7B Instruct — developer: Mistral AI" and state["stop_reason"] == "answered"
    # not answerable from the graph: a tool call or a pick, and never {"answer": true}
    inner.schemas = []
    ask(graph(JsonToolCallingModel(inner=inner), tools=[sql]), "Which models are under Apache 2.0?", thread="u")
    options = inner.schemas[0]["anyOf"]
    assert [o["properties"]["tool"]["const"] for o in options] == [ANSWER_TOOL, "sql"]


def test_the_wrapper_calls_a_named_tool_even_after_tool_results():
    inner = SchemaFollower(responses=[AIMessage("unused")])
    inner.schemas = []
    model = JsonToolCallingModel(inner=inner)  # answer_after_tools: after results it would answer in text
    messages = [HumanMessage("Cheapest?"), tool_call("sql", _id="c1", query="SELECT 1"),
                ToolMessage("n\n1", tool_call_id="c1", name="sql")]
    assert model.bind_tools([sql]).invoke(messages).tool_calls == []
    reply = model.bind_tools([sql], tool_choice="sql").invoke(messages)
    assert [c["name"] for c in reply.tool_calls] == ["sql"]
    assert "anyOf" not in inner.schemas[-1]  # one option: the named tool


def test_a_required_call_is_asked_for_without_offering_an_answer():
    inner = SchemaFollower(responses=[AIMessage("unused")])
    inner.schemas = []
    recorded: list[Any] = []

    class Spy(SchemaFollower):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            recorded.append(messages)
            return super()._generate(messages, stop, run_manager, **kwargs)

    model = JsonToolCallingModel(inner=Spy(responses=[AIMessage("unused")]))
    model.bind_tools([sql], tool_choice="any").invoke([HumanMessage("Cheapest model?")])
    prompt = "\n".join(m.text for m in recorded[0] if m.type == "system") if hasattr(recorded[0][0], "type") else \
        "\n".join(m["content"] for m in recorded[0] if m["role"] == "system")
    assert JSON_TOOLS_INSTRUCTIONS_MUST_CALL.split("{tool_list}")[0] in prompt
    assert '"answer": true' not in prompt


def test_who_asks_for_the_developer_only_when_the_question_names_nothing_else():
    mistral = {"uri": "https://example.org/llm/MistralAI", "label": "Mistral AI", "description": "Paris-based company.",
               "facts": ["type: Developer", "developer of: Mixtral 8x7B Instruct"]}
    evidence = run_evidence({"grounding": [mistral, MIXTRAL], "question": "Who is the CEO of Mistral AI?"})
    assert quotable("Who is the CEO of Mistral AI?", evidence) == {}
    evidence = run_evidence({"grounding": [MIXTRAL], "question": "Who develops Mixtral 8x7B Instruct?"})
    assert list(quotable("Who develops Mixtral 8x7B Instruct?", evidence)) == [DEVELOPER]


def test_a_description_answers_only_of_its_own_node():
    question = "Which small model was trained on textbook data?"
    evidence = run_evidence({"grounding": [PHI], "question": question})
    assert quotable(question, evidence) == {}  # Phi-2's description, but the question names no Phi-2
    assert list(quotable("What is Phi-2 trained on?", run_evidence({"grounding": [PHI], "question": "x"}))) == \
        ["Phi-2 - Small model trained on textbook data."]


def test_kg_search_results_are_facts_of_their_nodes():
    @tool
    def kg_search(query: str) -> str:
        """Search the knowledge graph."""
        return f"<{PHI['uri']}> Phi-2: Small model trained on textbook data. [developer: Microsoft; license: MIT]"

    model = FakeToolChatModel(responses=[tool_call("kg_search", query="Phi-2"), pick("Phi-2 - developer: Microsoft")])
    state = ask(graph(model, nodes=(), tools=[kg_search]), "Who develops Phi-2?")
    assert state["answer"] == "Phi-2 — developer: Microsoft" and [c["ref"] for c in state["citations"]] == [PHI["uri"]]
    items = [e for e in run_evidence(state) if e.source == PHI["uri"]]
    assert [(e.kind, e.subject, e.text) for e in items] == [
        ("description", "Phi-2", "Small model trained on textbook data."), ("fact", "Phi-2", "developer: Microsoft"),
        ("fact", "Phi-2", "license: MIT")]


def test_what_else_the_question_asks_of_the_thing_is_added_to_a_short_pick():
    model = FakeToolChatModel(responses=[pick(LICENCE)])
    state = ask(graph(model), "Which licence does Mixtral 8x7B Instruct use, and who develops it?")
    assert state["answer"] == ("- Mixtral 8x7B Instruct — license: Apache 2.0\n"
                               "- Mixtral 8x7B Instruct — developer: Mistral AI")


SIZES = {**MIXTRAL, "facts": [*MIXTRAL["facts"], "active parameters (billions): 12.9", "parameters (billions): 46.7"]}
ACTIVE = "Mixtral 8x7B Instruct - active parameters (billions): 12.9"
TOTAL = "Mixtral 8x7B Instruct - parameters (billions): 46.7"


def test_a_share_is_worked_out_from_the_part_and_the_whole_by_the_framework():
    """The model picks the two facts; the arithmetic is agentmesh's, and its result is evidence
    the claim check reads, cited to the node it is worked out from."""
    question = "What share of Mixtral 8x7B Instruct's parameters is active per token?"
    model = FakeToolChatModel(responses=[pick(ACTIVE, TOTAL)])
    state = ask(graph(model, nodes=(SIZES,)), question)
    assert state["stop_reason"] == "answered"
    assert state["answer"] == ("Mixtral 8x7B Instruct — active parameters (billions) as a share of parameters (billions): "
                               "12.9 / 46.7 = 27.6%")
    assert [c["ref"] for c in state["citations"]] == [MIXTRAL["uri"]]
    assert state["claims"] and all(c["status"] == "supported" for c in state["claims"])
    assert state["messages"][-1].text == state["answer"]


def test_the_parts_of_a_share_that_cannot_be_worked_out_are_shown_as_evidence_not_as_the_share():
    """Two true facts are not the share the question asks for: shown as the answer they would
    pass for one (eval.jsonl counted it as wrong, shown as fact). Where no part and whole of
    one node fit the question, nothing is divided: they are shown as evidence."""
    question = "What share of Mixtral 8x7B Instruct's parameters is in its context window?"
    window = "Mixtral 8x7B Instruct - context window (tokens): 32768"
    model = FakeToolChatModel(responses=[pick(window, TOTAL)])
    state = ask(graph(model, nodes=(SIZES,)), question)
    assert state["stop_reason"] == "evidence_only"
    lines = state["answer"].splitlines()
    assert lines[0] == DERIVED_HEADER.format(what="share")
    assert f"- Mixtral 8x7B Instruct — parameters (billions): 46.7 <{MIXTRAL['uri']}>" in lines[1:]
    assert not any("%" in line for line in lines)
    assert [c["ref"] for c in state["citations"]] == [MIXTRAL["uri"]]
    assert state["claims"] and all(c["status"] == "supported" for c in state["claims"])


@pytest.mark.parametrize("question,facts,expected", [
    ("What share of Mixtral 8x7B Instruct's parameters is active?", ["active parameters (billions): 12.9", "parameters (billions): 46.7"],
     "active parameters (billions) as a share of parameters (billions): 12.9 / 46.7 = 27.6%"),
    # the part's qualifier must be asked; units must agree; a part is no larger than its whole
    ("What share of Mixtral 8x7B Instruct's parameters is open?", ["active parameters (billions): 12.9", "parameters (billions): 46.7"], None),
    ("What share of Mixtral 8x7B Instruct's parameters is active?", ["active parameters (millions): 12.9", "parameters (billions): 46.7"], None),
    ("What share of Mixtral 8x7B Instruct's parameters is active?", ["active parameters (billions): 99", "parameters (billions): 46.7"], None),
    # a qualifier the question does not say is another part; two parts that disagree leave no choice
    ("What share of Mixtral 8x7B Instruct's parameters is active?",
     ["active parameters (billions): 12.9", "parameters (billions): 46.7", "active expert parameters (billions): 2"],
     "active parameters (billions) as a share of parameters (billions): 12.9 / 46.7 = 27.6%"),
    ("What share of Mixtral 8x7B Instruct's parameters is active?",
     ["active parameters (billions): 12.9", "parameters (billions): 46.7", "active parameters (billions): 13"], None),
    ("What is Mixtral 8x7B Instruct's parameter count?", ["active parameters (billions): 12.9", "parameters (billions): 46.7"], None),
])
def test_a_share_needs_one_part_and_its_whole(question, facts, expected):
    items = [Evidence(id=f"f{i}", kind="fact", text=t, source=MIXTRAL["uri"], subject="Mixtral 8x7B Instruct")
             for i, t in enumerate(facts)]
    worked = worked_out(question, items)
    assert (worked.text if worked else None) == expected
    if worked:
        assert worked.kind == "output" and worked.source == MIXTRAL["uri"]
    other = [e.model_copy(update={"subject": "Phi-2", "source": PHI["uri"]}) for e in items]
    assert worked_out(question, other) is None  # a node the question does not name


@pytest.mark.parametrize("question,what", [
    ("What is the MMLU gap between Mixtral 8x7B Instruct and Phi-2, and who develops Phi-2?", "gap"),
    ("How much would Mixtral 8x7B Instruct cost for 2M input tokens?", "cost"),
    ("What is the total of Mixtral 8x7B Instruct's parameters?", "total"),
])
def test_a_question_that_asks_for_a_worked_out_value_is_not_answered_by_recorded_facts(question, what):
    facts = [Evidence(id="f1", kind="fact", text="parameters (billions): 46.7", source=MIXTRAL["uri"],
                      subject="Mixtral 8x7B Instruct"),
             Evidence(id="f2", kind="fact", text="developer: Microsoft", source=PHI["uri"], subject="Phi-2")]
    assert unworked(question, facts) == what
    # a tool's row or output is worked out; so is a fact named for what is asked
    assert unworked(question, [*facts, Evidence(id="r1", kind="row", text="gap: 12.0", source="sql: SELECT ...")]) == ""
    assert unworked(question, [Evidence(id="f3", kind="fact", text=f"{what} (usd): 3", source=MIXTRAL["uri"])]) == ""


def test_a_lookup_is_still_an_answer():
    assert unworked("How many parameters does Mixtral 8x7B Instruct have?",
                    [Evidence(id="f1", kind="fact", text="parameters (billions): 46.7", source=MIXTRAL["uri"])]) == ""


def test_half_an_answer_is_shown_as_half():
    """A true row answering the first part of "..., and under which licence ...?", shown alone,
    reads as the whole answer (eval.jsonl counted it wrong and shown as fact)."""
    question = "Which hosted model is cheapest per 1M output tokens, and under which licence are its weights published?"
    row = Evidence(id="r", kind="row", text="name | output_per_1m_usd: Llama 3.2 11B | 0.37", source="sql: SELECT ...")
    assert uncovered(question, [row]) == "license"
    licence = Evidence(id="f", kind="fact", text="license: Llama Community License", subject="Llama 3.2 11B", source="http://x")
    assert uncovered(question, [row, licence]) == ""
    assert uncovered("Which model is cheapest per 1M output tokens?", [row]) == ""  # one question, answered


def test_a_compound_pick_that_covers_one_part_is_evidence_not_an_answer():
    model = FakeToolChatModel(responses=[pick(LICENCE)])
    state = ask(graph(model), "Which licence does Mixtral 8x7B Instruct use, and who develops it?")
    # complete() adds the developer fact the model left out: both parts covered, an answer
    assert state["stop_reason"] == "answered" and "Mistral AI" in state["answer"]
    model = FakeToolChatModel(responses=[pick(LICENCE)])
    nodes = ({**MIXTRAL, "facts": [f for f in MIXTRAL["facts"] if not f.startswith("developer")]},)
    state = ask(graph(model, nodes=nodes), "Which licence does Mixtral 8x7B Instruct use, and who develops it?")
    assert state["stop_reason"] == "evidence_only"
    assert state["answer"].splitlines()[0] == PARTIAL_HEADER.format(what="developer")


LLAMA = {"uri": "https://example.org/llm/Llama-3.2-11B", "label": "Llama 3.2 11B", "description": "Mid-sized Llama model.",
         "facts": ["developer: Meta AI", "license: Llama Community License", "parameters (billions): 11.0"], "links": []}
CHEAPEST = "Which hosted model is cheapest per 1M output tokens, and under which licence are its weights published?"


def test_the_second_part_of_a_question_is_looked_up_in_the_graph_by_the_name_a_picked_row_gives():
    """The cheapest model comes from SQL, its licence from the graph: the framework joins the two
    by the row's name (the node labelled exactly so), not the model; the claim check reads both."""
    asked = []

    def retrieve(query):
        asked.append(query)
        return [dict(n) for n in (MIXTRAL, LLAMA) if n["label"] in query]

    model = FakeToolChatModel(responses=[tool_call("sql", query="SELECT name, output_per_1m_usd ..."),
                                         pick("name | output_per_1m_usd: Llama 3.2 11B | 0.37")])
    compiled = build_agent_graph(model, [sql], retrieve=retrieve, check_answer=ClaimChecker([*LABELS, "Llama 3.2 11B"]),
                                 answer_policy="strict", answer_style="pick", checkpointer=InMemorySaver())
    state = ask(compiled, CHEAPEST)
    assert state["stop_reason"] == "answered", state["answer"]
    assert state["answer"].splitlines() == ["- name | output_per_1m_usd: Llama 3.2 11B | 0.37",
                                            "- Llama 3.2 11B — license: Llama Community License"]
    assert asked[-1] == "Llama 3.2 11B" and all(c["status"] == "supported" for c in state["claims"])
    assert {c["ref"] for c in state["citations"]} >= {LLAMA["uri"]}


def test_a_name_the_graph_does_not_hold_exactly_leaves_half_an_answer():
    vision = {**LLAMA, "label": "Llama 3.2 11B Vision", "uri": "https://example.org/llm/Llama-3.2-11B-Vision"}
    model = FakeToolChatModel(responses=[tool_call("sql", query="SELECT ..."), pick("name | output_per_1m_usd: Llama 3.2 11B | 0.37")])
    compiled = build_agent_graph(model, [sql], retrieve=lambda q: [dict(vision)], check_answer=ClaimChecker(LABELS),
                                 answer_policy="strict", answer_style="pick", checkpointer=InMemorySaver())
    state = ask(compiled, CHEAPEST)
    assert state["stop_reason"] == "evidence_only"
    assert state["answer"].splitlines()[0] == PARTIAL_HEADER.format(what="license") and "Vision" not in state["answer"]


def test_a_picked_row_cites_the_sql_its_tool_ran_though_the_call_shows_none():
    """sql_rank's arguments name a ranking, not a query: the SQL it ran comes with its result
    (the artifact), and a picked row of it cites that SQL."""
    from langchain_core.tools import StructuredTool

    ran = "SELECT name, output_per_1m_usd FROM prices JOIN models ... ORDER BY output_per_1m_usd LIMIT 1"

    def rank(measure: str) -> tuple[str, list[dict]]:
        return "name | output_per_1m_usd\nLlama 3.2 11B | 0.37", [{"kind": "sql", "ref": "landscape.sqlite", "detail": ran}]

    ranking = StructuredTool.from_function(rank, name="sql_rank", description="The top row of a measure.",
                                           response_format="content_and_artifact")
    model = FakeToolChatModel(responses=[tool_call("sql_rank", measure="lowest output_per_1m_usd"),
                                         pick("name | output_per_1m_usd: Llama 3.2 11B | 0.37")])
    compiled = build_agent_graph(model, [ranking], retrieve=lambda q: [], check_answer=ClaimChecker(LABELS),
                                 answer_policy="strict", answer_style="pick", checkpointer=InMemorySaver())
    state = ask(compiled, "Which hosted model is cheapest per 1M output tokens?")
    assert state["stop_reason"] == "answered"
    assert [(c["kind"], c["detail"]) for c in state["citations"]] == [("sql", ran)]


def test_when_no_tool_fits_the_question_and_nothing_can_be_picked_no_model_is_asked():
    """A tool that narrows itself away for this question (``narrow`` gives None) leaves nothing to
    call: with nothing to pick either, the answer is "not found" without a model call, never a
    free-text answer from a model offered no tool."""
    ranked = StructuredTool.from_function(lambda metric: "", name="ranked", description="Rank models by a metric.",
                                          metadata={"narrow": lambda question: None})
    model = FakeToolChatModel(responses=[AIMessage("Arthur Mensch.")])
    state = ask(graph(model, tools=[ranked]), "Who is the CEO of Mistral AI?")
    assert model.calls == [] and state["stop_reason"] == "not_found" and "Arthur" not in state["answer"]


def test_text_a_model_writes_instead_of_a_pick_is_never_shown():
    """A constrained call cut off at max_tokens comes back as text: in pick mode it is no answer,
    however well its numbers match the question (they come from the question)."""
    model = FakeToolChatModel(responses=[AIMessage("The price of Mixtral 8x7B Instruct for 2M tokens is currently unknown.")])
    state = ask(graph(model, tools=[sql]), "What does Mixtral 8x7B Instruct cost for 2M tokens?")
    assert state["stop_reason"] == "not_found" and "unknown" not in state["answer"]
    assert not any("unknown" in m.text for m in state["messages"])  # the thread does not keep it either


PRICES = "name | input_per_1m_usd | output_per_1m_usd: GPT-4o | 2.5 | 10.0"


@pytest.mark.parametrize("question, rows, expected", [
    ("How much does GPT-4o cost for 2M input and 500K output tokens?", [PRICES],
     "cost: 2M input x 2.5 USD per 1M + 500K output x 10 USD per 1M = 10.00 USD"),
    ("How much would GPT-4o cost for 300 thousand output tokens?", [PRICES], "cost: 300K output x 10 USD per 1M = 3.00 USD"),
    ("How much does GPT-4o cost for 2M cached tokens?", [PRICES], None),  # no rate for that amount
    ("How much does GPT-4o cost for 2M input and 1M cached tokens?", [PRICES], None),  # one amount without a rate
    ("How much does GPT-4o cost?", [PRICES], None),  # no amount: nothing to work out
    ("How much does GPT-4o cost for 2M input tokens?",  # two rows to choose from: the framework does not choose
     [PRICES, "name | input_per_1m_usd | output_per_1m_usd: Phi-3 Medium | 0.17 | 0.68"], None),
    ("How much does GPT-4o cost for 2M input and 1M output tokens?",  # two currencies do not add up
     ["name | input_per_1m_usd | output_per_1m_eur: GPT-4o | 2.5 | 9.0"], None),
    ("How much does GPT-4o cost for 2M input words?", [PRICES], None),  # a rate per token does not price words
    ("How much does GPT-4o cost for 2M input and 500K output characters?", [PRICES], None),
    ("How much does GPT-4o cost in euros for 2M input tokens?", [PRICES], None),  # USD rates give no euros
    ("How much does GPT-4o cost in dollars for 2M input tokens?", [PRICES], "cost: 2M input x 2.5 USD per 1M = 5.00 USD"),
])
def test_a_cost_is_worked_out_from_one_rows_rates(question, rows, expected):
    items = [Evidence(id=f"r{i}", kind="row", text=t, source="sql_lookup") for i, t in enumerate(rows)]
    worked = worked_out(question, items)
    assert (worked.text if worked else None) == expected
    if worked:
        assert worked.subject == "GPT-4o" and worked.source == "sql_lookup"
    assert unworked(question, items) == ("cost" if "for" in question else "")  # recorded prices are no cost


def test_a_cost_worked_out_by_the_framework_is_checked_and_cites_the_query():
    lookup = StructuredTool.from_function(
        lambda name, columns: ("name | input_per_1m_usd | output_per_1m_usd\nGPT-4o | 2.5 | 10.0",
                               [{"kind": "sql", "ref": "prices.sqlite", "detail": "SELECT ... WHERE name = 'GPT-4o'"}]),
        name="sql_lookup", description="Values of a named row.", response_format="content_and_artifact")
    call = AIMessage("", tool_calls=[{"name": "sql_lookup", "args": {"name": "GPT-4o", "columns": ["input_per_1m_usd"]},
                                      "id": "c1"}])
    model = FakeToolChatModel(responses=[call, pick(PRICES)])
    state = ask(graph(model, tools=[lookup], nodes=()), "How much does GPT-4o cost for 2M input and 500K output tokens?")
    assert state["answer"] == "GPT-4o — cost: 2M input x 2.5 USD per 1M + 500K output x 10 USD per 1M = 10.00 USD"
    assert state["stop_reason"] == "answered" and all(c["status"] == "supported" for c in state["claims"])
    assert any(c["kind"] == "sql" and "GPT-4o" in c["detail"] for c in state["citations"])


GAP_ROWS = ["name | mmlu: GPT-4 | 86.4", "name | mmlu: Qwen 72B Chat | 74.4"]


@pytest.mark.parametrize("question, rows, expected", [
    ("What is the MMLU gap between GPT-4 and Qwen 72B Chat?", GAP_ROWS, "mmlu gap: GPT-4 86.4 - Qwen 72B Chat 74.4 = 12.0"),
    ("How much higher is the MMLU score of Qwen 72B Chat than GPT-4?", GAP_ROWS,  # the first said minus the second
     "mmlu gap: Qwen 72B Chat 74.4 - GPT-4 86.4 = -12.0"),
    ("What is the HumanEval gap between GPT-4 and Qwen 72B Chat?", GAP_ROWS, None),  # a measure the rows do not hold
    ("What is the MMLU gap between GPT-4 and Phi-2?", GAP_ROWS, None),  # one of the two has no value
    ("What is the MMLU gap between GPT-4 and Qwen 72B Chat?", GAP_ROWS[:1], None),
    ("What is the MMLU score of GPT-4 and Qwen 72B Chat?", GAP_ROWS, None),  # no gap asked
    ("What is the MMLU gap between GPT-4o and Qwen 72B Chat?", GAP_ROWS, None),  # GPT-4 is not GPT-4o
])
def test_a_gap_is_worked_out_from_two_named_things_values_of_one_measure(question, rows, expected):
    items = [Evidence(id=f"r{i}", kind="row", text=t, source="sql_lookup") for i, t in enumerate(rows)]
    worked = worked_out(question, items)
    assert (worked.text if worked else None) == expected


def test_a_gap_between_two_facts_of_the_graph_is_worked_out_and_checked():
    question = "How much higher is the context window of Mixtral 8x7B Instruct than that of Phi-2?"
    phi = {**PHI, "facts": [*PHI["facts"], "context window (tokens): 2048"]}
    model = FakeToolChatModel(responses=[pick(CONTEXT, "Phi-2 - context window (tokens): 2048")])
    state = ask(graph(model, nodes=(MIXTRAL, phi)), question)
    assert state["answer"] == "context window (tokens) gap: Mixtral 8x7B Instruct 32768 - Phi-2 2048 = 30720"
    assert state["stop_reason"] == "answered" and all(c["status"] == "supported" for c in state["claims"])


def test_a_call_the_question_fixes_is_made_for_a_tool_of_either_schema_kind():
    from agentmesh.graphs.pick import determined_calls

    schema = {"type": "object", "required": ["name", "fields"], "properties": {
        "name": {"type": "string", "enum": ["Phi-2"]}, "fields": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}}}
    fixed = StructuredTool.from_function(lambda name, fields: "", name="fixed", description="d.", args_schema=schema,
                                         metadata={"narrow": lambda q: None})
    open_ended = StructuredTool.from_function(lambda query: "", name="free", description="d.",
                                              metadata={"narrow": lambda q: None})
    unmarked = StructuredTool.from_function(lambda name, fields: "", name="unmarked", description="d.", args_schema=schema)
    (call,) = determined_calls([open_ended, unmarked, fixed])
    assert (call["name"], call["args"]) == ("fixed", {"name": "Phi-2", "fields": ["a", "b"]})
    assert determined_calls([open_ended, unmarked]) == []  # a free argument, or a tool that does not narrow itself


def test_a_gap_to_a_ranking_takes_the_ranked_row_as_its_operand():
    question = "What is the MMLU gap between GPT-4 and the best open-weight model?"
    looked_up = Evidence(id="r0", kind="row", text="name | mmlu: GPT-4 | 86.4", source="sql_lookup")
    ranked = Evidence(id="r1", kind="row", text="name | mmlu: Qwen 72B Chat | 74.4", source="sql_rank")
    assert worked_out(question, [looked_up, ranked]).text == "mmlu gap: GPT-4 86.4 - Qwen 72B Chat 74.4 = 12.0"
    other = ranked.model_copy(update={"source": "sql: SELECT ..."})  # a row that is no ranking stands for nothing
    assert worked_out(question, [looked_up, other]) is None
    assert worked_out("What is the MMLU gap between GPT-4 and Qwen?", [looked_up, ranked]) is None  # no ranking said


def test_a_pick_that_holds_no_asked_fact_gets_the_asked_fact():
    """SmolLM2 picked Llama 4 Scout's description ("... a long context window") for "What is the
    context window of Llama 4 Scout?": true, and no answer. The asked fact comes in its place."""
    from agentmesh.claims import complete

    uri = "https://example.org/llm/Llama-4-Scout"
    description = Evidence(id="n0", kind="description", text="Llama 4 generation model with a long context window.",
                           subject="Llama 4 Scout", source=uri)
    window = Evidence(id="n1", kind="fact", text="context window (tokens): 128000", subject="Llama 4 Scout", source=uri)
    licence = Evidence(id="n2", kind="fact", text="license: Llama Community License", subject="Llama 4 Scout", source=uri)
    evidence = [description, window, licence]
    question = "What is the context window of Llama 4 Scout?"
    assert complete(question, evidence, [description], 1) == [window]  # a lookup: the fact stands in for it
    assert complete("What are the context window and the licence of Llama 4 Scout?", evidence, [description], 3) == \
        [description, window, licence]  # more than one fact asked: beside it
    assert complete(question, evidence, [window], 1) == [window]  # a pick that answers stays as it is


def test_a_list_question_gets_every_value_of_the_fact_picked():
    """"Which models does Mistral AI make?": SmolLM2 picked one "developer of" line of four; a list
    shown short reads as the whole list."""
    from agentmesh.claims import complete

    uri = "https://example.org/llm/Mistral-AI"
    made = [Evidence(id=f"n{i}", kind="fact", text=f"developer of: {m}", subject="Mistral AI", source=uri)
            for i, m in enumerate(["Mistral 7B Instruct", "Mixtral 8x7B Instruct", "Mixtral 8x22B", "Mistral Large"])]
    founded = Evidence(id="n9", kind="fact", text="founded: 2023", subject="Mistral AI", source=uri)
    assert complete("Which models does Mistral AI make?", [*made, founded], made[:1], 3) == made
    # a pick of no asked fact: the asked facts come in, every value of them
    assert complete("Which models does Mistral AI make?", [*made, founded], [founded], 3) == [founded, *made]
    # one thing's one value, asked once, stays one line
    assert complete("Who develops Mixtral 8x22B?", made, made[:1], 1) == made[:1]


@pytest.mark.parametrize("question", ["What is the context window of GPT-4 Turbo?", "Who develops GPT-4 mini?"])
def test_a_variant_of_a_named_thing_is_not_answered_with_the_thing_s_facts(question):
    """Tried as a new user would: "What is the context window of GPT-4 Turbo?" got GPT-4's window,
    shown as the answer. The question names another model; GPT-4's facts are not quotable for it."""
    from agentmesh.claims import quotable

    uri = "https://example.org/llm/GPT-4"
    facts = [Evidence(id="n0", kind="fact", text="context window (tokens): 128000", subject="GPT-4", source=uri),
             Evidence(id="n1", kind="fact", text="developer: OpenAI", subject="GPT-4", source=uri)]
    assert quotable(question, facts) == {}
    assert quotable(question.replace(" Turbo", "").replace(" mini", ""), facts)  # GPT-4 itself: quotable


def test_the_plainest_fact_of_what_is_asked_is_offered():
    """"How many parameters does Mixtral 8x7B have?" got "active parameters (billions): 12.9", which
    SmolLM2 picked and the check passed (a true number of the named model): it is not what was asked."""
    from agentmesh.claims import asked_facts, quotable

    uri = "https://example.org/llm/Mixtral-8x7B-Instruct"
    total = Evidence(id="n0", kind="fact", text="parameters (billions): 46.7", subject="Mixtral 8x7B Instruct", source=uri)
    active = Evidence(id="n1", kind="fact", text="active parameters (billions): 12.9", subject="Mixtral 8x7B Instruct", source=uri)
    question = "How many parameters does Mixtral 8x7B Instruct have?"
    assert list(quotable(question, [active, total]).values())[:1] == [total]
    assert asked_facts(question, [active, total]) == [total]
    assert asked_facts("How many active parameters does Mixtral 8x7B Instruct have?", [total, active])[0] == active


@pytest.mark.no_lexicon
def test_without_a_lexicon_a_fact_that_answers_another_question_is_not_an_answer():
    """Without the example's lexicon the embedded default showed 8 wrong answers as fact, each a
    true fact of the named thing that answered another question. Read from the data instead: a
    fact is about its name, not the unit after it; no fact of one thing says it is the highest of
    all; a part of a two-part question asks for the facts its words name."""
    from agentmesh.claims import answerable, uncovered

    window = Evidence(id="f", kind="fact", text="context window (tokens): 128000", subject="GPT-4o", source="http://x/gpt-4o")
    assert not answerable("What does GPT-4o cost per 1M input tokens?", [window])
    assert answerable("What is the context window of GPT-4o?", [window])  # its name says it
    score = Evidence(id="s", kind="fact", text="mmlu score: 70.6", subject="Mixtral 8x7B", source="http://x/mixtral")
    assert answerable("What is the MMLU score of Mixtral 8x7B?", [score])
    assert not answerable("Which model has the highest MMLU score, Mixtral 8x7B?", [score])
    gap = Evidence(id="w0", kind="output", text="mmlu gap: GPT-4 86.4 - Qwen 72B Chat 74.4 = 12.0", source="sql_rank")
    developer = Evidence(id="f2", kind="fact", text="developer: Alibaba Cloud", subject="Qwen 72B Chat", source="http://x/qwen")
    question = "What is the MMLU gap between GPT-4 and the best open-weight model, and who develops that open model?"
    assert uncovered(question, [gap], [gap, developer]) == "developer"
    assert uncovered(question, [gap, developer], [gap, developer]) == ""


@pytest.mark.no_lexicon
def test_a_common_noun_that_is_also_a_nodes_label_still_asks_for_the_fact():
    """"Which licence does X use, and who develops it?": the graph has a node labelled "Licence",
    but a lower-case "licence" names no thing; the licence fact is asked (with no lexicon, the
    answer held the developer only, shown as fact)."""
    from agentmesh.answering.questions import _facts_said

    question = "Which licence does Mixtral 8x7B Instruct use, and who develops it?"
    facts = [Evidence(id="f1", kind="fact", text="developer: Mistral AI", subject="Mixtral 8x7B Instruct", source="u:m"),
             Evidence(id="f2", kind="fact", text="license: Apache 2.0", subject="Mixtral 8x7B Instruct", source="u:m"),
             Evidence(id="f3", kind="fact", text="type: class", subject="Licence", source="u:l")]
    assert _facts_said(question, facts) == {"developer", "license"}
    assert _facts_said("Which models does Licence cover?", facts) == set()  # written as a name: the node


def test_a_list_made_of_a_nodes_facts_it_showed_only_some_of_is_shown_as_part_of_one():
    from agentmesh.records import MORE_NOT_SHOWN

    shown = ["type: railway line", "on line of: Alder Estuary Bridge", "on line of: Brinecliff Tunnel"]
    line = {"uri": "https://example.org/rail/coastal-line", "label": "Coastal Line", "description": "A line.",
            "facts": shown, "links": []}
    cut = {**line, "facts": [*shown, f"on line of: {MORE_NOT_SHOWN}"]}
    question = "Which bridges are on the Coastal Line?"
    picked = "Coastal Line - on line of: Alder Estuary Bridge"
    whole = ask(build_agent_graph(FakeToolChatModel(responses=[pick(picked)]), [], retrieve=lambda q: [dict(line)],
                                  answer_style="pick", checkpointer=InMemorySaver()), question)
    assert whole["stop_reason"] == "answered", whole["answer"]
    part = ask(build_agent_graph(FakeToolChatModel(responses=[pick(picked)]), [], retrieve=lambda q: [dict(cut)],
                                 answer_style="pick", checkpointer=InMemorySaver()), question)
    assert part["stop_reason"] == "evidence_only" and "only part of the answer" in part["answer"], part["answer"]
    assert "Alder Estuary Bridge" in part["answer"] and MORE_NOT_SHOWN not in part["answer"]


def test_a_node_cut_at_its_fact_limit_says_which_statements_have_more(tmp_path):
    from agentmesh.knowledge import KnowledgeBase
    from agentmesh.models.testing import HashingEmbeddings
    from agentmesh.records import MORE_NOT_SHOWN

    ttl = tmp_path / "line.ttl"
    bridges = "\n".join(f'ex:b{i} rdfs:label "Bridge {i}" ; ex:onLine ex:line .' for i in range(12))
    ttl.write_text('@prefix ex: <https://example.org/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
                   'ex:line rdfs:label "Coast Line" ; ex:opened "1887" .\nex:onLine rdfs:label "on line" .\n' + bridges)
    kb = KnowledgeBase.open([ttl], HashingEmbeddings(), cache_dir=tmp_path / "kg", writable=True)
    facts, _ = kb.facts("https://example.org/line")
    assert facts[-1] == f"on line of: {MORE_NOT_SHOWN}" and facts.count(f"on line of: {MORE_NOT_SHOWN}") == 1
    assert "opened: 1887" in facts  # a statement shown whole gets no such line
    assert not any(f.startswith("opened") and MORE_NOT_SHOWN in f for f in facts)


def test_a_tools_whole_output_is_offered_only_when_it_is_about_what_the_question_names():
    path = Evidence(id="t0", kind="output", source="kg_path: {}",
                    text="Highland Line --operated by--> Valdora Regional Railway")  # shares only "region"
    assert quotable("In which region is Niall Okafor based?", [path]) == {}
    about = Evidence(id="t1", kind="output", source="kg_path: {}",
                     text="Niall Okafor --home station--> Port Alder --in region--> South")
    assert list(quotable("In which region is Niall Okafor based?", [about]).values()) == [about]
