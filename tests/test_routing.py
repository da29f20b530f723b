"""Routed models against fake OpenAI-compatible servers that fail on purpose."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, ModelUnavailableError, Settings
from agentmesh.models.catalog import Catalog, ModelSpec
from agentmesh.models.routed import CircuitBreaker, RoutedChatModel, UsageLedger, default_model_factory
from agentmesh.models.router import PolicyRouter
from agentmesh.models.testing import FakeOpenAIServer, HashingEmbeddings

SECRET = "sk-routing-secret-4242424242"


def spec(name, server, *, price=1.0, local=False, tier=3):
    return ModelSpec(name=name, provider="local" if local else "openai-compatible", model="fake-model",
                     endpoint=server.base_url, context_window=32_000, input_per_1m=price, output_per_1m=price,
                     latency_s=0.1, tokens_per_s=100, tier=tier, local=local, api_key_env="AGENTMESH_TEST_KEY")


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("AGENTMESH_TEST_KEY", SECRET)


def routed(specs, tmp_path, **kwargs):
    catalog = Catalog(specs)
    return RoutedChatModel(
        catalog=catalog, router=PolicyRouter(catalog), ledger=UsageLedger(tmp_path / "usage.sqlite"),
        factory=lambda s: default_model_factory(s, timeout=0.6, max_tokens=64),
        max_retries=1, backoff_s=0.01, **kwargs,
    )


def agent(model, tools=()):
    return Agent(Settings.load(tools=[], cache=False), model=model, embeddings=HashingEmbeddings(),
                 extra_tools=list(tools), checkpointer=InMemorySaver())


@pytest.mark.parametrize("fault", [
    {"delay": 2, "content": "too late"},     # timeout
    {"status": 500},                          # server error
    {"status": 503},
    {"raw": "this is not JSON"},              # malformed body
])
def test_a_failing_endpoint_falls_back(tmp_path, fault):
    with FakeOpenAIServer([fault]) as primary, FakeOpenAIServer([{"content": "From the backup."}]) as backup:
        model = routed([spec("primary", primary, price=1.0), spec("backup", backup, price=5.0)], tmp_path)
        result = agent(model).run("Who develops Qwen?")
    assert result.answer == "From the backup." and result.model == "backup"
    assert result.model_calls[-1]["fallback_after"][0].startswith("primary:")
    outcomes = [row[7] for row in model.ledger.rows()]
    assert outcomes[-1] == "ok" and all(o.startswith("error") for o in outcomes[:-1])


def test_rate_limit_is_retried_after_the_advertised_wait(tmp_path):
    script = [{"status": 429, "headers": {"Retry-After": "0.2"}}, {"content": "Fine now."}]
    with FakeOpenAIServer(script) as primary, FakeOpenAIServer([{"content": "backup"}]) as backup:
        model = routed([spec("primary", primary), spec("backup", backup, price=5.0)], tmp_path)
        result = agent(model).run("Who develops Qwen?")
    assert result.answer == "Fine now." and result.model == "primary"
    assert len(primary.requests) == 2 and backup.requests == []


def test_a_tool_call_with_invalid_arguments_falls_back(tmp_path):
    @tool
    def lookup(name: str) -> str:
        """Look a model up."""
        return f"{name}: Apache 2.0"

    bad = [{"tool_calls": [{"name": "lookup", "raw_arguments": "{not json"}]}]
    good = [{"tool_calls": [{"name": "lookup", "arguments": {"name": "Mixtral"}}]}, {"content": "Apache 2.0."}]
    with FakeOpenAIServer(bad) as primary, FakeOpenAIServer(good) as backup:
        model = routed([spec("primary", primary), spec("backup", backup, price=5.0)], tmp_path)
        result = agent(model, [lookup]).run("Licence of Mixtral?")
    assert result.answer == "Apache 2.0."
    assert [(a.name, a.ok) for a in result.tool_calls] == [("lookup", True)]
    assert "malformed tool call" in [row[7] for row in model.ledger.rows()]


def test_when_everything_fails_the_error_is_clear(tmp_path):
    with FakeOpenAIServer([{"status": 500}]) as a, FakeOpenAIServer([{"status": 500}]) as b:
        model = routed([spec("a", a), spec("b", b, price=2.0)], tmp_path)
        with pytest.raises(ModelUnavailableError, match="every model for this request failed: a: .*; b: "):
            agent(model).run("hello")


def test_no_budget_is_exceeded_through_a_fallback(tmp_path):
    # the cheap model fits the budget, the backup would not: when the cheap one fails, stop
    with FakeOpenAIServer([{"status": 500}]) as cheap, FakeOpenAIServer([{"content": "expensive"}]) as pricey:
        model = routed([spec("cheap", cheap, price=1.0), spec("pricey", pricey, price=100_000.0)], tmp_path,
                       budget_usd=0.01)
        with pytest.raises(ModelUnavailableError, match=r"left out: pricey: .*exceed the budget"):
            agent(model).run("hello")
    assert pricey.requests == []
    assert model.ledger.spent()[0] <= 0.01


def test_a_private_thread_never_reaches_a_hosted_model(tmp_path):
    with FakeOpenAIServer([{"content": "hosted"}]) as hosted, FakeOpenAIServer([{"content": "Local answer."}]) as local:
        model = routed([spec("hosted", hosted, price=0.0), spec("local", local, price=1.0, local=True)], tmp_path)
        bot = agent(model)
        first = bot.run("Our payroll totals are in the attached table. Summarise them.", thread_id="p", private=True)
        second = bot.run("And the average?", thread_id="p")  # the thread stays private
        other = bot.run("Who develops Qwen?", thread_id="public")
    assert first.model == second.model == "local"
    assert len(hosted.requests) == 1 and "Qwen" in str(hosted.requests[0]["messages"])  # only the public thread
    assert other.model == "hosted"


def test_a_private_tool_output_stays_local(tmp_path):
    @tool
    def salaries(team: str) -> str:
        """Salaries of a team."""
        return "Ada: 100, Bob: 90"

    salaries.metadata = {"private": True}

    hosted_script = [{"tool_calls": [{"name": "salaries", "arguments": {"team": "core"}}]}]
    with FakeOpenAIServer(hosted_script) as hosted, FakeOpenAIServer([{"content": "Ada earns most."}]) as local:
        model = routed([spec("hosted", hosted, price=0.0), spec("local", local, price=1.0, local=True)], tmp_path)
        result = agent(model, [salaries]).run("Who earns most in core?")
    assert result.answer == "Ada earns most."
    assert all("Ada: 100" not in str(r) for r in hosted.requests)


def test_the_circuit_breaker_takes_a_failing_endpoint_out(tmp_path):
    with FakeOpenAIServer([{"status": 500}]) as flaky, FakeOpenAIServer([{"content": "ok"}]) as steady:
        model = routed([spec("flaky", flaky), spec("steady", steady, price=5.0)], tmp_path)
        model.breaker = CircuitBreaker(threshold=2, cooldown=60)
        bot = agent(model)
        for i in range(4):
            assert bot.run(f"question {i}").model == "steady"
    assert len(flaky.requests) == 4  # 2 runs x 2 attempts, then left out
    assert "flaky" in model.breaker.open_names()


def test_api_keys_appear_in_no_trace_log_or_ledger(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer([{"status": 500}]) as a, FakeOpenAIServer([{"content": "fine"}]) as b:
        model = routed([spec("a", a), spec("b", b, price=2.0)], tmp_path)
        bot = agent(model)
        result = bot.run("hello")
    assert result.answer == "fine"
    assert SECRET not in caplog.text
    for path in list(bot.traces_dir.rglob("*")) + [tmp_path / "usage.sqlite"]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in str(sqlite3.connect(tmp_path / "usage.sqlite").execute("SELECT * FROM calls").fetchall())
    # the key did reach the servers, as it must
    assert a.requests and b.requests


def test_auto_model_from_settings(tmp_path):
    model = Settings.load(model="auto")
    from agentmesh.models.providers import make_chat_model

    routed_model = make_chat_model(model)
    assert isinstance(routed_model, RoutedChatModel) and len(routed_model.catalog) >= 5


def test_a_local_server_that_does_not_answer_is_left_out(tmp_path):
    with FakeOpenAIServer([{"content": "hosted"}]) as hosted:
        down = spec("local", hosted, local=True, price=0.0)
        down = ModelSpec(**{**down.__dict__, "endpoint": "http://127.0.0.1:9/v1"})  # nothing listens there
        model = routed([down, spec("hosted", hosted, price=1.0)], tmp_path)
        result = agent(model).run("Who develops Qwen?")
    assert result.model == "hosted"
    assert result.model_calls[-1]["rejected"]["local"].startswith("unavailable")


def test_a_local_server_that_answers_is_preferred(tmp_path):
    with FakeOpenAIServer([{"content": "hosted"}]) as hosted, FakeOpenAIServer([{"content": "local"}]) as local:
        model = routed([spec("hosted", hosted, price=0.5), spec("local", local, price=0.0, local=True)], tmp_path)
        assert agent(model).run("Who develops Qwen?").model == "local"


def test_models_cli_and_trace_show(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from agentmesh.apps.cli import app

    runner = CliRunner(env={"COLUMNS": "220"})
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and "gpt-4o" in listed.output and "GPU:" in listed.output
    assert "no API key in $OPENAI_API_KEY" in listed.output or "yes" in listed.output
    tested = runner.invoke(app, ["models", "test", "--timeout", "0.3"])
    assert tested.exit_code == 0 and "local-vllm-qwen2.5-7b" in tested.output

    with FakeOpenAIServer([{"status": 500}]) as a, FakeOpenAIServer([{"content": "fine"}]) as b:
        settings = Settings.load(tools=[], cache=False)
        model = routed([spec("a", a), spec("b", b, price=2.0)], tmp_path)
        model.ledger = UsageLedger(settings.data_dir() / "usage.sqlite")
        result = agent(model).run("hello")
    usage = runner.invoke(app, ["models", "usage"])
    assert usage.exit_code == 0 and "a" in usage.output and "b" in usage.output
    shown = runner.invoke(app, ["trace", "show", result.run_id])
    assert shown.exit_code == 0
    assert "model call 1: b — tier 3 >= 1 needed" in shown.output and "after: a:" in shown.output
    assert "answer: fine" in shown.output


def test_usage_is_accounted_per_call_run_and_thread(tmp_path):
    with FakeOpenAIServer([{"content": "one"}]) as server:
        model = routed([spec("m", server, price=1_000.0)], tmp_path)
        bot = agent(model)
        first = bot.run("first", thread_id="t1")
        bot.run("second", thread_id="t2")
    overall = model.ledger.usage()[0]
    per_run = model.ledger.usage(run=first.run_id)[0]
    per_thread = model.ledger.usage(thread="t2")[0]
    assert (overall.calls, per_run.calls, per_thread.calls) == (2, 1, 1)
    assert per_run.input_tokens == 10 and per_run.output_tokens == 5  # the server's usage figures
    assert per_run.cost_usd == pytest.approx(15 * 1_000.0 / 1e6)


def test_concurrent_runs_on_one_routed_model_are_accounted_to_their_own_thread_and_run(tmp_path):
    """One model object serves every server thread: the run's context comes with each call
    (never from state kept on the model), so parallel runs cannot take each other's ids."""
    from concurrent.futures import ThreadPoolExecutor

    with FakeOpenAIServer([{"content": "one", "delay": 0.05}]) as server:
        model = routed([spec("m", server)], tmp_path)
        bot = agent(model)
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda i: bot.run(f"question {i}", thread_id=f"t{i}"), range(12)))
    for i, result in enumerate(results):
        assert [(u.calls) for u in model.ledger.usage(run=result.run_id)] == [1]
        assert [(u.calls) for u in model.ledger.usage(thread=f"t{i}", run=result.run_id)] == [1]
    messages = [m for r in results for m in bot.history(r.thread_id)]
    assert all(not m.additional_kwargs for m in messages if m.type == "human")  # nothing of the run inside messages


def test_a_routed_answer_streams_and_a_failure_before_the_first_token_falls_back(tmp_path):
    from agentmesh.apps.events import run_events

    with FakeOpenAIServer([{"status": 500}]) as primary, FakeOpenAIServer([{"content": "From the backup, streamed."}]) as backup:
        model = routed([spec("primary", primary, price=1.0), spec("backup", backup, price=5.0)], tmp_path)
        events = list(run_events(agent(model), "Who develops Qwen?", "t"))
        streamed_request = backup.requests[-1]
    tokens = [e["text"] for e in events if e["type"] == "token"]
    (answer,) = [e for e in events if e["type"] == "answer"]
    (done,) = [e for e in events if e["type"] == "done"]
    assert "".join(tokens) == answer["text"] == "From the backup, streamed." and answer["streamed"]
    assert streamed_request.get("stream") is True  # really streamed from the server, not faked here
    assert done["model"] == "backup"
    outcomes = [row[7] for row in model.ledger.rows()]
    assert outcomes[-1] == "ok" and outcomes[0].startswith("error")


def test_a_streamed_tool_call_with_invalid_arguments_still_falls_back(tmp_path):
    from agentmesh.apps.events import run_events

    @tool
    def lookup(key: str) -> str:
        """Look a key up."""
        return f"value of {key}"

    bad = {"tool_calls": [{"name": "lookup", "raw_arguments": '{"key": '}]}
    good = [{"tool_calls": [{"name": "lookup", "arguments": {"key": "a"}}]}, {"content": "It is the value of a."}]
    with FakeOpenAIServer([bad]) as primary, FakeOpenAIServer(good) as backup:
        model = routed([spec("primary", primary, price=1.0), spec("backup", backup, price=5.0)], tmp_path)
        events = list(run_events(agent(model, [lookup]), "What is a?", "t"))
    calls = [e for e in events if e["type"] == "tool_call"]
    assert [c["args"] for c in calls] == [{"key": "a"}]
    assert [e for e in events if e["type"] == "answer"][0]["text"] == "It is the value of a."
    assert "malformed tool call" in [row[7] for row in model.ledger.rows()]


def test_no_token_budget_is_exceeded_through_a_fallback(tmp_path):
    # a first answer spends most of the token budget; the next request would pass it, on any model
    with FakeOpenAIServer([{"content": "first"}] * 3) as cheap, \
            FakeOpenAIServer([{"content": "backup"}]) as backup:
        model = routed([spec("cheap", cheap, price=1.0), spec("backup", backup, price=2.0)], tmp_path, budget_tokens=700)
        agent(model).run("hello")
        spent = model.ledger.spent()[1]
        assert 0 < spent <= 700
        with pytest.raises(ModelUnavailableError):
            agent(model).run("hello again, with a longer question that needs more tokens than are left " * 20)
    assert backup.requests == [] and len(cheap.requests) == 1
    assert model.ledger.spent()[1] == spent <= 700
