"""Conversation memory: threads in a LangGraph checkpointer, and history that fits the model.

* ``make_checkpointer``: SQLite in WAL mode by default (6 ms a run instead of 32 ms with the
  defaults), PostgreSQL by URL (``langgraph-checkpoint-postgres``), so threads survive restarts.
* ``list_threads`` / ``delete_thread``: what ``agentmesh threads`` shows and removes.
* ``fit_history`` (from graphs.history): the messages sent to the model, within a token budget
  counted offline (``count_tokens_approximately``: tiktoken would download its tables). The
  system prompt and the latest turns are kept; older turns are replaced by a running summary,
  never silently dropped. The checkpoint keeps every message.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection

from langchain_core.messages import HumanMessage

from agentmesh.errors import ConfigError
from agentmesh.graphs.history import fit_history, repair_tool_pairs

__all__ = ["make_checkpointer", "sqlite_checkpointer", "postgres_checkpointer", "ThreadInfo", "THREAD_KINDS", "thread_kind", "list_threads", "delete_thread", "fit_history", "repair_tool_pairs"]


def make_checkpointer(target: str, settings: Any = None) -> Any:
    """A checkpointer for ``target``: a SQLite file path, a ``postgresql://`` URL, or a plugin's
    ``<scheme>://...`` (the ``agentmesh.checkpointers`` entry point named by the scheme)."""
    from agentmesh import plugins

    scheme = target.split("://", 1)[0] if "://" in target else "sqlite"
    if scheme not in plugins.checkpointers:
        raise ConfigError(f"threads '{target}': no checkpointer for '{scheme}://'; "
                          f"known: a SQLite file path, {', '.join(n + '://' for n in plugins.checkpointers.names() if n != 'sqlite')}")
    return plugins.checkpointers.get(scheme)(target, settings)


# -- the built-ins, registered through agentmesh's own entry points (pyproject.toml) -------------
def postgres_checkpointer(target: str, settings: Any = None) -> Any:
    """Threads in PostgreSQL (langgraph-checkpoint-postgres), tables made on first use."""
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise ConfigError("threads in PostgreSQL need: pip install 'agentmesh[postgres]'") from exc
    url = target.replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    except Exception as exc:
        raise ConfigError(f"threads database '{target}' cannot be reached: {str(exc).splitlines()[0]}") from None
    saver = PostgresSaver(conn)
    saver.setup()
    return saver


def sqlite_checkpointer(target: str, settings: Any = None) -> Any:
    """Threads in a SQLite file, in WAL mode (6 ms a run instead of 32 ms with SQLite's defaults)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = target.removeprefix("sqlite://")
    if path != ":memory:" and Path(path).parent.is_dir():
        from agentmesh._home import private_file

        # threads hold every question: the file is 0600, and SQLite gives its -wal and -shm the same mode
        for part in (Path(path), Path(path + "-wal"), Path(path + "-shm")):
            if part == Path(path) or part.exists():
                private_file(part)
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


THREAD_KINDS = {"workflow:": "workflow", "ask-": "ask", "eval-": "eval", "slack:": "slack", "user:": "server"}
"""How a thread's id tells where it was made: a workflow's agent step, `agentmesh ask`, an eval
question, Slack, a server user; any other id is a conversation (chat, the API, Python)."""


def thread_kind(thread_id: str) -> str:
    return next((kind for prefix, kind in THREAD_KINDS.items() if thread_id.startswith(prefix)), "chat")


@dataclass
class ThreadInfo:
    thread_id: str
    messages: int
    last_question: str
    updated: str

    @property
    def kind(self) -> str:
        """Where the thread was made (see THREAD_KINDS)."""
        return thread_kind(self.thread_id)


def list_threads(checkpointer: Any, limit: int = 50, where: Callable[[str], bool] | None = None,
                 kinds: Collection[str] | None = None) -> list[ThreadInfo]:
    """The most recently updated threads, newest first (only those ``where(thread_id)`` keeps,
    and of ``kinds`` when given: "chat", "ask", "workflow", "eval", "slack", "server")."""
    seen: dict[str, ThreadInfo] = {}
    for item in checkpointer.list(None):
        thread = item.config["configurable"]["thread_id"]
        if thread in seen or (where is not None and not where(thread)) or (kinds is not None and thread_kind(thread) not in kinds):
            continue
        messages = item.checkpoint.get("channel_values", {}).get("messages", [])
        question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        seen[thread] = ThreadInfo(thread, len(messages), question, item.checkpoint.get("ts", ""))
    return sorted(seen.values(), key=lambda t: t.updated, reverse=True)[:limit]


def delete_thread(checkpointer: Any, thread_id: str) -> None:
    checkpointer.delete_thread(thread_id)


