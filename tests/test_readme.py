"""README.md says what the code does: its settings table lists each setting once, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from agentmesh import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def _settings_rows() -> list[str]:
    """The keys of the table under "## Configuration" (a row may name several: `a` / `b`)."""
    section = README.read_text().split("## Configuration", 1)[1]
    table = section[section.index("| key | default | meaning |"):]
    table = table[:table.index("\n\n")]
    return [name for row in table.splitlines()[2:] for name in re.findall(r"`([a-z][a-z0-9_]*)`", row.split("|")[1])]


def test_the_settings_table_lists_every_setting_exactly_once():
    rows = _settings_rows()
    twice = sorted({name for name in rows if rows.count(name) > 1})
    fields = set(Settings.model_fields)
    assert twice == []
    assert sorted(fields - set(rows)) == []
    assert sorted(set(rows) - fields) == []


class _ReadmeModel:
    """What the README's examples need from a model, offline: a python call when the question
    asks for python, else a one-line answer naming the first thing the facts mention."""

    @staticmethod
    def make(name, settings):
        from langchain_core.language_models import BaseChatModel
        from langchain_core.messages import AIMessage, ToolMessage
        from langchain_core.outputs import ChatGeneration, ChatResult

        class Model(BaseChatModel):
            tools: list = []

            @property
            def _llm_type(self) -> str:
                return "readme"

            def bind_tools(self, tools, **kwargs):
                return self.model_copy(update={"tools": [getattr(t, "name", "") for t in tools]})

            def _generate(self, messages, stop=None, run_manager=None, **kwargs):
                asked = next(m.text for m in reversed(messages) if m.type == "human")
                done = [m for m in messages if isinstance(m, ToolMessage)]
                if "python" in asked.lower() and "python" in self.tools and not done:
                    reply = AIMessage("", tool_calls=[{"name": "python", "args": {"code": "print(2 ** 10)"}, "id": "c1"}])
                else:
                    said = done[-1].text.replace("<data>", "").replace("</data>", "").strip() if done else ""
                    reply = AIMessage(f"From the tools: {said[:40]}" if done else "I could not find that.")
                return ChatResult(generations=[ChatGeneration(message=reply)])

        return Model()


def test_the_python_examples_run(tmp_path, monkeypatch, capsys):
    """Every ```python block of README.md, in order, in one namespace, as a reader would paste
    them: from a copy of the repository's examples and agentmesh.toml (so the workflow's report
    is written there, not into the checkout), with an offline model; the OpenAI-client example
    talks to a real `agentmesh serve` app on a free port."""
    import shutil

    from agentmesh import Agent, Settings, plugins
    from agentmesh.apps.server import BackgroundServer, create_app

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 4
    work = tmp_path / "repo"
    shutil.copytree(README.parent / "examples", work / "examples", ignore=shutil.ignore_patterns("out"))
    shutil.copy(README.parent / "agentmesh.toml", work / "agentmesh.toml")
    monkeypatch.chdir(work)
    monkeypatch.setenv("AGENTMESH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTMESH_EMBEDDINGS", "hashing")
    monkeypatch.setenv("AGENTMESH_MODEL", "readme")
    monkeypatch.setitem(plugins.models._local, "readme", _ReadmeModel.make)
    served = Agent(Settings.load())
    namespace: dict = {}
    with BackgroundServer(create_app(served)) as server:
        for number, block in enumerate(blocks, 1):
            code = block.replace("http://127.0.0.1:8000", server.url)
            try:
                exec(compile(code, f"README.md python block {number}", "exec"), namespace)
            except Exception as exc:  # which block, and what it said
                raise AssertionError(f"README python block {number} failed: {type(exc).__name__}: {exc}\n{block}") from exc
    printed = capsys.readouterr().out
    assert "From the tools: 1024" in printed  # the streaming example's python call ran, after approval
    assert "(from the team's knowledge graph)" in printed  # the answer hook's rewrite is what was shown
    assert "only admins may run code" in printed  # the review declined the guest's python call, asking nobody
    reports = list((work / "examples" / "workflows" / "out").rglob("model-comparison.md"))
    assert len(reports) == 1 and str(reports[0]) in printed  # the workflow wrote its report where it said
