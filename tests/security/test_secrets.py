"""Secrets never reach checkpoints, traces or the model, even when a tool reads them."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from agentmesh import Agent, Settings
from agentmesh.errors import ConfigError
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
    os.chmod(settings_file, 0o600)  # a world-readable one is refused (below): the tool reads it as its owner
    settings = Settings.load(settings_file, home=tmp_path / "home", cache=False, kg=[], tools=[])
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


# -- a settings file others can read is refused, as ssh refuses such a key -------------------------

@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=["0644", "0640", "0604"])
def test_attack_secrets_settings_file_that_others_can_read_is_refused(tmp_path, mode):
    settings_file = tmp_path / "agentmesh.toml"
    settings_file.write_text(f'api_key = "{KEY}"\n')
    os.chmod(settings_file, mode)
    with pytest.raises(ConfigError) as refused:
        Settings.load(settings_file, home=tmp_path / "home")
    message = str(refused.value)
    assert str(settings_file) in message and "api_key" in message and f"chmod 600 '{settings_file}'" in message
    assert KEY not in message


def test_attack_secrets_under_an_agentmesh_table_or_in_an_mcp_server_are_refused_too(tmp_path):
    settings_file = tmp_path / "agentmesh.toml"
    settings_file.write_text(f'[agentmesh]\n[agentmesh.mcp_servers.tickets]\nurl = "http://127.0.0.1:9/mcp"\n'
                             f'bearer_token = "{TOKEN}"\n')
    os.chmod(settings_file, 0o644)
    with pytest.raises(ConfigError, match=r"mcp_servers\.tickets.*chmod 600"):
        Settings.load(settings_file, home=tmp_path / "home")


def test_a_private_settings_file_or_one_without_secrets_loads(tmp_path):
    settings_file = tmp_path / "agentmesh.toml"
    settings_file.write_text('max_steps = 3\n')
    os.chmod(settings_file, 0o644)
    assert Settings.load(settings_file).max_steps == 3
    settings_file.write_text(f'api_key = "{KEY}"\n')
    os.chmod(settings_file, 0o600)
    assert Settings.load(settings_file).api_key.get_secret_value() == KEY


# -- the data home is its user's alone ------------------------------------------------------------

def loose(home: Path) -> list[str]:
    """Everything under ``home`` (itself included) that a group or other users may read or enter."""
    found = []
    for path in [home, *home.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found.append(f"{path.relative_to(home.parent)} {stat.filemode(mode)}")
    return found


def test_attack_secrets_data_home_of_a_real_run_is_private(tmp_path, small_kg):
    """Folders 0700 and files 0600 after a real run (threads and their WAL, traces, cache, the
    graph's index), whatever the umask: another user of the machine reads no question from them."""
    home = tmp_path / "home"
    old = os.umask(0o002)  # a umask that leaves files group- and world-readable
    try:
        settings = Settings.load(home=home, kg=[small_kg], tools=["kg_search"], model="embedded")
        agent = Agent(settings, model=FakeToolChatModel(responses=[AIMessage("Team A owns billing.")] * 2),
                      embeddings=HashingEmbeddings())
        agent.run("Who owns the billing database?", thread_id="t")
        agent.run("Who owns the billing database, again?", thread_id="t")
    finally:
        os.umask(old)
    made = {p.relative_to(home).as_posix() for p in home.rglob("*")}
    assert {"threads.sqlite", "traces", "cache"} <= made | {m.split("/")[0] for m in made}, sorted(made)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert loose(home) == []


def test_attack_secrets_data_home_made_by_an_older_version_is_tightened_on_open(tmp_path, caplog):
    home = tmp_path / "home"
    (home / "traces").mkdir(parents=True)
    (home / "traces" / "run.json").write_text('{"question": "a private question"}')
    os.chmod(home, 0o755)
    os.chmod(home / "traces", 0o755)
    os.chmod(home / "traces" / "run.json", 0o644)
    with caplog.at_level(logging.WARNING):
        Settings.load(home=home).data_dir("traces")
    assert loose(home) == []
    assert f"data home '{home}'" in caplog.text and "0700" in caplog.text
