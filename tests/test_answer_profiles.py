"""One decision of how an agent answers, made from the model it uses, not from the `model` setting's text."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.answering import decide_profile
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings


class _Completions(BaseHTTPRequestHandler):
    """An OpenAI-compatible server on 127.0.0.1 that answers every chat completion with one sentence."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"id": "c1", "object": "chat.completion", "created": 0, "model": "capable-1",
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": "I could not find that."}}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def openai_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Completions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_capable_chat_model_passed_in_gets_the_open_profile_with_default_settings(openai_server):
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="capable-1", base_url=openai_server, api_key="sk-test-not-a-real-key", max_retries=0)
    agent = Agent(Settings.load(tools=[]), model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver(),
                  cache=False)
    profile = agent.answer_profile
    # the settings still say model = "embedded": the model object decides, not the string
    assert agent.settings.model == "embedded"
    assert (profile.name, profile.tools_per_question, profile.tool_floor, profile.history_budget) == ("open", 4, 0.0, 16000)
    assert (agent.answer_policy, agent.answer_style) == ("flag", "free")
    result = agent.run("Who develops Qwen 72B Chat?", thread_id="t")
    assert result.answer_profile == "open" and result.to_dict()["answer_profile"] == "open"


def test_a_model_that_declares_itself_small_gets_the_constrained_profile():
    model = FakeToolChatModel(responses=[AIMessage("ok")], metadata={"answer_profile": "constrained"})
    profile = decide_profile(Settings.load(model="openai:gpt-4o"), model)
    assert (profile.name, profile.tools_per_question, profile.tool_floor, profile.answer_check, profile.answer_style) == \
        ("constrained", 1, 0.4, "strict", "pick")
    assert "small" in profile.reason


def test_the_setting_overrides_the_model_and_explicit_keys_override_the_profile():
    model = FakeToolChatModel(responses=[])
    assert decide_profile(Settings.load(answer_profile="constrained"), model).name == "constrained"
    profile = decide_profile(Settings.load(answer_profile="constrained", top_k_tools=3, answer_check="flag"), model)
    assert (profile.tools_per_question, profile.answer_check, profile.answer_style) == (3, "flag", "pick")
    assert "settings" in profile.reason


def test_the_embedded_model_is_judged_by_what_it_is():
    class Embedded(FakeToolChatModel):
        @property
        def _llm_type(self) -> str:
            return "agentmesh-embedded-llamacpp"

    assert decide_profile(Settings.load(model="openai:gpt-4o"), Embedded(responses=[])).name == "constrained"


def test_the_profile_is_in_the_trace(tmp_path):
    agent = Agent(Settings.load(tools=[]), model=FakeToolChatModel(responses=[AIMessage("Nothing to say.")]),
                  embeddings=HashingEmbeddings(), checkpointer=InMemorySaver(), cache=False)
    result = agent.run("hello", thread_id="t")
    from agentmesh.runs.provenance import load_trace

    trace = load_trace(agent.traces_dir, result.run_id)
    assert "open" in {str(o) for s, p, o in trace if str(p).endswith("answerProfile")}


def test_a_tool_that_changes_state_is_offered_only_to_a_question_that_asks_for_it(example_db):
    """With only a database and the memory tools, a read-only question must never be offered
    `forget` (the embedded model called it on 'Who develops X?'); 'please forget ...' is."""
    from agentmesh.graphs.middleware import ToolSelection

    agent = Agent(Settings.load(db=example_db, tools=["sql", "remember", "forget"], answer_profile="constrained",
                                top_k_tools=3, tool_min_similarity=0.0),
                  model=FakeToolChatModel(responses=[]), embeddings=HashingEmbeddings(), checkpointer=InMemorySaver(),
                  cache=False)

    from agentmesh.tools.selection import EmbeddingToolSelector

    select = EmbeddingToolSelector(agent.tools, HashingEmbeddings(), k=3, min_score=0.0)

    def offered(question: str) -> list[str]:
        return ToolSelection(select, agent.tools).chosen({"question": question, "messages": []})

    for question in ("Who develops Qwen 72B Chat?", "How many models are there?", "Which model has the highest MMLU score?"):
        assert not {"forget", "remember"} & set(offered(question)), question
    assert "forget" in offered("Please forget that my team uses Mixtral.")
    assert "remember" in offered("Remember that my team uses Mixtral.")
