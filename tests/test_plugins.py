"""Plugins: a distribution installed with pip registers parts through agentmesh's entry-point
groups, `agentmesh plugins` lists them, and settings that name them get them; in-process
registration works too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from agentmesh import Agent, ClaimChecker, ConfigError, Settings, plugins
from agentmesh.assembly import Components
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings
from agentmesh.records import Claim, RetrievedNode
from agentmesh.tools import ToolRegistry, default_registry

PLUGIN = Path(__file__).parent / "data" / "plugin_demo"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo plugin built and pip-installed into a folder of its own (no network: the
    build uses this environment's setuptools)."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "src"
    shutil.copytree(PLUGIN, source)
    target = work / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert list(target.glob("agentmesh_demo_plugin-*.dist-info"))
    return target


def _agentmesh(site: Path, home: Path, *args: str, settings: str = "") -> subprocess.CompletedProcess:
    home.mkdir(parents=True, exist_ok=True)
    (home / "agentmesh.toml").write_text(settings)
    env = {**os.environ, "PYTHONPATH": str(site), "AGENTMESH_HOME": str(home / "data")}
    return subprocess.run([sys.executable, "-m", "agentmesh.apps.cli", *args], capture_output=True, text=True,
                          env=env, cwd=home, timeout=120)


def test_plugins_lists_the_installed_distribution(site, tmp_path):
    listed = _agentmesh(site, tmp_path, "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    found = {(p["kind"], p["name"]): p["source"] for p in json.loads(listed.stdout)}
    for part in [("models", "demo"), ("embeddings", "demo"), ("tools", "shout"), ("tools", "whisper"),
                 ("caches", "demo"), ("checkpointers", "memory"), ("retrievers", "demo"), ("checkers", "demo")]:
        assert found[part] == "agentmesh-demo-plugin"
    assert found[("models", "embedded")] == "agentmesh"  # the built-ins come through the same groups
    assert found[("caches", "sqlite")] == "agentmesh"
    assert found[("checkers", "claims")] == "agentmesh"


DEMO_SETTINGS = '''
model = "demo"
embeddings = "demo"
tools = ["shout", "whisper"]
cache_backend = "demo"
retriever = "demo"
threads = "memory://"
answer_checker = "demo"
'''


def test_ask_uses_the_model_tool_cache_and_retriever_the_settings_name(site, tmp_path):
    first = _agentmesh(site, tmp_path, "ask", "What melts at 1234 K?", "--json", settings=DEMO_SETTINGS)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["answer"] == "The tool said HELLO PLUGIN and the evidence names Zephyrium."  # model + tool + retriever
    assert result["model"] == "demo-model"
    assert [c["name"] for c in result["tool_calls"]] == ["shout"]
    assert result["grounding"][0]["uri"] == "urn:demo:zephyrium"
    assert result["cached"] is None
    assert [(c["text"], c["status"]) for c in result["claims"]] == [("Zephyrium", "supported")]  # the plugin's checker
    stored = json.loads((tmp_path / "data" / "demo-cache.json").read_text())  # the plugin's cache got the answer
    assert [v["answer"] for v in stored.values()] == [result["answer"]]

    again = _agentmesh(site, tmp_path, "ask", "What melts at 1234 K?", "--json", settings=DEMO_SETTINGS)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cached"]["answer"] == result["answer"]  # served by the plugin's cache


def test_a_plugin_that_fails_to_load_is_named(site, tmp_path):
    broken = _agentmesh(site, tmp_path, "ask", "hello", settings='model = "broken"\n')
    assert broken.returncode == 2
    assert "models plugin 'broken' (agentmesh_demo:no_such_factory, from agentmesh-demo-plugin) failed to load" in broken.stderr
    unknown = _agentmesh(site, tmp_path, "ask", "hello", settings='model = "embedded"\ncache_backend = "nosuch"\n')
    assert unknown.returncode == 2
    assert "unknown cache 'nosuch' in setting 'cache_backend'; known: demo, redis, sqlite" in unknown.stderr


# -- in process -------------------------------------------------------------------------------
@tool
def shout(text: str) -> str:
    """Repeat the text in capital letters."""
    return text.upper()


def _scripted(*replies: AIMessage) -> FakeToolChatModel:
    return FakeToolChatModel(responses=list(replies))


def test_default_registry_add_offers_a_tool_to_every_agent():
    """README says ``default_registry.add(tool)`` adds a tool for every agent; the agent used
    to build only the tools the settings named, so the added tool was never offered."""
    default_registry.add(shout)
    try:
        call = AIMessage("", tool_calls=[{"name": "shout", "args": {"text": "hi"}, "id": "c1"}])
        agent = Agent(Settings.load(tools=["python"], cache=False),
                      model=_scripted(call, AIMessage("It said HI.")), embeddings=HashingEmbeddings())
        assert [t.name for t in agent.tools] == ["python", "shout"]
        result = agent.run("Shout hi")
        assert result.tool_calls[0].output == "HI"
    finally:
        default_registry.remove("shout")
    assert "shout" not in [t.name for t in Agent(Settings.load(tools=["python"], cache=False), model=_scripted(
        AIMessage("ok")), embeddings=HashingEmbeddings()).tools]


def test_registered_factories_and_models_in_process(monkeypatch):
    registry = ToolRegistry()
    registry.register("loud", lambda ctx: shout)
    assert "loud" in registry and "kg_search" in registry  # its own, then the entry points
    monkeypatch.setitem(plugins.models._local, "scripted", lambda name, s: _scripted(AIMessage(f"model {name}")))
    agent = Agent(Settings.load(model="scripted:x", tools=["loud"], cache=False), registry=registry,
                  embeddings=HashingEmbeddings())
    assert [t.name for t in agent.tools] == ["shout"]
    assert agent.run("hello").answer == "model x"
    with pytest.raises(ConfigError, match="unknown tool 'nosuch'"):
        registry.build(["nosuch"], None)


class _Metals:
    """Any object with retrieve(): no KnowledgeBase needed."""

    def retrieve(self, question, k=5, *, hops=1):
        return [RetrievedNode("urn:x:osmium", "Osmium", "The densest element.", 0.9)]


class _Strict:
    """A checker of one's own: every answer's one claim is unsupported."""

    def check(self, answer, evidence):
        return [Claim(text=answer, kind="answer", status="unsupported")]


def test_the_settings_name_the_claim_checker_and_a_part_passed_in_replaces_it(monkeypatch):
    monkeypatch.setitem(plugins.checkers._local, "strict", lambda settings, retriever: _Strict())
    settings = Settings.load(cache=False, tools=[], answer_checker="strict", answer_check="flag")
    agent = Agent(settings, model=_scripted(AIMessage("Osmium.")), retriever=_Metals(), embeddings=HashingEmbeddings())
    assert [c.status for c in agent.run("What is the densest element?").claims] == ["unsupported"]
    builtin = Agent(Settings.load(cache=False, tools=[], answer_check="flag"), model=_scripted(AIMessage("x")),
                    retriever=_Metals(), embeddings=HashingEmbeddings())
    assert agent._base_scope != builtin._base_scope  # what another checker let through is another cache's
    parts = Components.from_settings(Settings.load(cache=False, tools=[], answer_check="flag"), answer_check=_Strict(),
                                     model=_scripted(AIMessage("Osmium.")), embeddings=HashingEmbeddings())
    assert isinstance(Agent(components=parts).answer_check, _Strict)
    default = Components.from_settings(Settings.load(cache=False, tools=[]), retriever=_Metals()).answer_check
    assert isinstance(default, ClaimChecker)  # the built-in, through its entry point


def test_a_checker_plugin_that_makes_no_checker_is_refused(monkeypatch):
    monkeypatch.setitem(plugins.checkers._local, "wrong", lambda settings, retriever: object())
    with pytest.raises(ConfigError, match="answer checker 'wrong' made a object, which has no check"):
        Agent(Settings.load(answer_checker="wrong", cache=False, tools=[]), model=_scripted(AIMessage("x")),
              embeddings=HashingEmbeddings())
    with pytest.raises(ConfigError, match="unknown checker 'nosuch' in setting 'answer_checker'; known: claims"):
        Components.from_settings(Settings.load(answer_checker="nosuch", cache=False, tools=[])).answer_check


def test_agent_grounds_in_any_retriever():
    model = _scripted(AIMessage("Osmium is the densest element."))
    agent = Agent(Settings.load(cache=False, tools=[]), model=model, retriever=_Metals(), embeddings=HashingEmbeddings())
    result = agent.run("What is the densest element?")
    assert result.grounding[0]["label"] == "Osmium"
    assert "Osmium" in " ".join(m.text for m in model.calls[0])
    assert agent.knowledge is None  # the graph tools need a KnowledgeBase; they are not offered


def test_a_retriever_plugin_that_returns_something_else_is_refused(monkeypatch):
    monkeypatch.setitem(plugins.retrievers._local, "wrong", lambda s, e: object())
    with pytest.raises(ConfigError, match="retriever 'wrong' made a object, which has no retrieve"):
        Agent(Settings.load(retriever="wrong", cache=False, tools=[]), model=_scripted(AIMessage("x")),
              embeddings=HashingEmbeddings())


def test_a_retriever_of_ones_own_is_part_of_the_cache_scope(example_kg):
    """An answer grounded in other evidence is another answer: the scope names the retriever,
    while the knowledge graph's scope stays what it was (its cached answers are kept)."""
    from agentmesh.memory.cache import cache_scope
    from agentmesh.prompts import PROMPTS_VERSION, SYSTEM_PROMPT

    settings = Settings.load(cache=False, tools=[], kg=[example_kg])
    graph = Agent(settings, model=_scripted(AIMessage("x")), embeddings=HashingEmbeddings())
    own = Agent(settings, model=_scripted(AIMessage("x")), retriever=_Metals(), embeddings=HashingEmbeddings())
    assert graph._base_scope != own._base_scope
    assert graph._base_scope == cache_scope(model=graph.model_name, prompts=PROMPTS_VERSION, system=SYSTEM_PROMPT, tools=[],
                                            db=str(settings.db), top_k_nodes=settings.top_k_nodes)
