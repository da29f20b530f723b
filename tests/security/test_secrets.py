"""Secrets never reach checkpoints, traces or the model, even when a tool reads them."""

from __future__ import annotations

import logging
import os

from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from agentmesh import Agent, Settings
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

KEY = "sk-agentmesh-secret-7f3a9c2e41"
TOKEN = "server-token-5b8d1e0f7a"
DB_PASSWORD = "pg-pass-91c2e7"


@tool
def read_file(path: str) -> str:
    """Read a text file (what a model-written script would do with the python tool)."""
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def test_attack_server_secret_read_by_a_tool_is_redacted_from_checkpoints_and_traces(tmp_path, caplog):
    settings_file = tmp_path / "agentmesh.toml"
    settings_file.write_text(f'api_key = "{KEY}"\nserver_token = "{TOKEN}"\n'
                             f'threads = "{tmp_path / "threads.sqlite"}"\n')
    os.chmod(settings_file, 0o644)  # world-readable, as the red team found it
    with caplog.at_level(logging.WARNING):
        settings = Settings.load(settings_file, home=tmp_path / "home", cache=False, kg=[], tools=[])
    assert "every user of this machine may read it: chmod 600" in caplog.text
    model = FakeToolChatModel(responses=[tool_call("read_file", "c1", path=str(settings_file)), AIMessage("Read it.")])
    agent = Agent(settings, model=model, embeddings=HashingEmbeddings(), extra_tools=[read_file])
    result = agent.run("What is in the settings?", thread_id="t")
    assert result.answer == "Read it."
    observation = next(m for m in agent.history("t") if m.type == "tool")
    assert "[redacted secret]" in observation.content and "threads" in observation.content
    stored = [(tmp_path / "threads.sqlite").read_bytes()]
    stored += [p.read_bytes() for p in (tmp_path / "home" / "traces").rglob("*") if p.is_file()]
    for secret in (KEY, TOKEN):
        assert secret.encode() not in b"".join(stored)
        assert secret not in observation.content and secret not in result.answer


def test_passwords_inside_urls_count_as_secrets():
    settings = Settings.load(db=f"postgresql://reader:{DB_PASSWORD}@db.internal/app",
                             kg_endpoints=[f"https://kg:{DB_PASSWORD}x@kg.internal/sparql"])
    assert {DB_PASSWORD, DB_PASSWORD + "x"} <= set(settings.secret_values())


def test_a_secret_under_an_agentmesh_table_is_warned_about_too(tmp_path, caplog):
    settings_file = tmp_path / "agentmesh.toml"
    settings_file.write_text(f'[agentmesh]\napi_key = "{KEY}"\n')
    os.chmod(settings_file, 0o644)
    with caplog.at_level(logging.WARNING):
        Settings.load(settings_file, home=tmp_path / "home")
    assert "holds a secret (api_key)" in caplog.text
