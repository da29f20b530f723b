"""`agentmesh gc`: old stores, indexes and cache scopes go; anything in use or recent stays."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from typer.testing import CliRunner

from agentmesh.maintenance import leftovers, remove

DAY = 86400


def age(folder, days):
    old = time.time() - days * DAY
    os.utime(folder / ".last_used", (old, old))


BUILD = """
import sys
from langchain_core.messages import AIMessage
from agentmesh import Agent, Settings
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings
home, *graphs = sys.argv[1:]
for kg in graphs:
    agent = Agent(Settings.load(home=home, kg=[kg], tools=[], cache=True),
                  model=FakeToolChatModel(responses=[AIMessage("Hello.")]), embeddings=HashingEmbeddings())
    agent.run("Say hello.")  # an answer the claim check passes on either graph, so it is cached
"""


def make_home(tmp_path, example_kg, small_kg):
    """Two graphs used in turn, in a process that then ends: the first one's store, index and
    cache scope are left over, and nothing is held."""
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-c", BUILD, str(home), str(small_kg), str(example_kg)], check=True, timeout=120)
    return home


def test_only_old_unheld_folders_are_removed(tmp_path, example_kg, small_kg):
    home = make_home(tmp_path, example_kg, small_kg)
    stores = sorted((home / "kg" / "stores").glob("store-*"))
    indexes = sorted((home / "kg").glob("index-*"))
    scopes = sorted((home / "cache").glob("scope-*"))
    assert len(stores) == 2 and len(indexes) == 2 and len(scopes) == 2
    assert leftovers(home, older_than_days=30) == []  # everything was used just now

    for folder in [*stores, *indexes, *scopes]:
        age(folder, 40)
    # another process holds one store open (as a running server would): the agent's sources, facts included
    held = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from agentmesh.knowledge.store import KnowledgeStore; "
        f"s = KnowledgeStore.open([{str(example_kg)!r}, {str(home / 'facts.nq')!r}], cache_dir={str(home / 'kg' / 'stores')!r}); "
        "print('open', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert held.stdout.readline().strip() == "open"
        for folder in stores:
            age(folder, 40)  # opening marked it used again; make it look old anyway
        found = leftovers(home, older_than_days=30)
        assert len(found) == 6 and sum(f.held for f in found) == 1
        removed = remove(found)
    finally:
        held.kill()
    assert len(removed) == 5
    assert [p.name for p in (home / "kg" / "stores").glob("store-*")] == [next(f for f in found if f.held).path.name]
    assert not list((home / "kg").glob("index-*")) and not list((home / "cache").glob("scope-*"))
    assert (home / "threads.sqlite").exists() and list((home / "traces").iterdir())  # never touched


def test_gc_command_lists_asks_and_removes(tmp_path, example_kg, small_kg, monkeypatch):
    from agentmesh.apps import cli

    home = make_home(tmp_path, example_kg, small_kg)
    for folder in sorted((home / "kg" / "stores").glob("store-*"))[:1]:
        age(folder, 90)
    monkeypatch.setenv("AGENTMESH_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    listed = runner.invoke(cli.app, ["gc", "--dry-run"])
    assert listed.exit_code == 0 and "kg store" in listed.output
    assert len(list((home / "kg" / "stores").glob("store-*"))) == 2
    declined = runner.invoke(cli.app, ["gc"], input="n\n")
    assert declined.exit_code == 1 and len(list((home / "kg" / "stores").glob("store-*"))) == 2
    done = runner.invoke(cli.app, ["gc", "--yes"])
    assert done.exit_code == 0 and "removed 1 folders" in done.output
    assert len(list((home / "kg" / "stores").glob("store-*"))) == 1
    assert "nothing unused" in runner.invoke(cli.app, ["gc"]).output
