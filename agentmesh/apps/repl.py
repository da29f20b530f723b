"""The chat REPL of ``agentmesh chat``.

* the answer streams as the model writes it, under a live panel of the tool calls (with their
  results) and, at the end, the citations;
* commands: /help /new /threads [N|ID|all] /model [NAME] /kg [search TEXT] /cache [clear|wrong] /exit;
* input history is kept across sessions (``<home>/chat_history``), and so are the threads;
* multi-line input: end a line with ``\\`` to continue it, or open a block with ``\"\"\"`` and
  close it with another; on a terminal Esc then Enter also inserts a new line;
* Ctrl-C cancels the answer being written and returns to the prompt; Ctrl-D or /exit ends;
* dangerous tool calls are asked about (y/N) before they run.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agentmesh.apps.events import run_events
from agentmesh.errors import AgentmeshError

__all__ = ["ChatREPL", "HELP"]

HELP = """Commands:
  /help              this text
  /new               start a new thread
  /threads [N|ID|all]  list recent chat threads (all: every kind), or switch to one (its number or id)
  /model [NAME]      show the model, or switch to another (e.g. auto, openai:gpt-4o-mini)
  /kg [search TEXT]  the knowledge graph: size and sources, or the nodes that match TEXT
  /cache [clear]     semantic cache statistics, or empty it
  /cache wrong       the last answer came from the cache and was wrong: remove it
  /exit              leave (Ctrl-D too); Ctrl-C cancels an answer being written
Multi-line input: end a line with \\ to continue, or wrap the text in \"\"\" ... \"\"\"."""


class _Cancelled(Exception):
    pass


class ChatREPL:
    """A chat session over ``agent``. ``make_agent(model)`` rebuilds the agent for /model."""

    def __init__(self, agent: Any, *, console: Console | None = None, thread_id: str | None = None,
                 make_agent: Callable[[str], Any] | None = None, history_file: Path | None = None,
                 read_line: Callable[[str], str] | None = None) -> None:
        self.agent = agent
        self.console = console or Console()
        self.thread_id = thread_id or uuid.uuid4().hex
        self.make_agent = make_agent
        self.history_file = history_file or agent.settings.data_dir() / "chat_history"
        self._read_line = read_line or self._line_reader()
        self._worker: threading.Thread | None = None

    def _say(self, *objects: Any) -> None:
        self.console.print(*objects, highlight=False)

    # -- input ---------------------------------------------------------------------------------
    def _line_reader(self) -> Callable[[str], str]:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from prompt_toolkit import PromptSession
            from prompt_toolkit.history import FileHistory

            session = PromptSession(history=FileHistory(str(self.history_file)))
            return lambda prompt: session.prompt(prompt)

        def plain(prompt: str) -> str:  # piped input: still recorded in the history file
            print(prompt, end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            with open(self.history_file, "a", encoding="utf-8") as f:
                f.write(f"\n+{line.rstrip()}\n")
            return line.rstrip("\n")

        return plain

    def read_message(self) -> str:
        """One message, which may span lines (trailing \\ or a \"\"\" block)."""
        first = self._read_line("you> ")
        if first.strip().startswith('"""'):
            parts = [first.strip()[3:]]
            while not parts[-1].rstrip().endswith('"""') or (len(parts) == 1 and parts[0].strip() == ""):
                parts.append(self._read_line("...> "))
            text = "\n".join(parts)
            return text.rstrip()[:-3].strip()
        lines = [first]
        while lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1]
            lines.append(self._read_line("...> "))
        return "\n".join(lines).strip()

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        self._say(f"[dim]agentmesh chat · model {escape(self.agent.model_name)} · thread {self.thread_id}[/]")
        self._say("[dim]/help for commands · Ctrl-C cancels an answer · Ctrl-D leaves[/]")
        while True:
            try:
                text = self.read_message()
            except KeyboardInterrupt:
                self._say("[dim](Ctrl-D or /exit to leave)[/]")
                continue
            except EOFError:
                self._say()
                break
            if not text:
                continue
            if text.startswith("/"):
                if self.command(text) is False:
                    break
                continue
            self.ask(text)
        self._say(f"[dim]thread {self.thread_id} saved; resume with: agentmesh chat --thread {self.thread_id}[/]")

    def command(self, text: str) -> bool | None:
        """Run a /command; False means leave."""
        name, _, arg = text.partition(" ")
        arg = arg.strip()
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            self._say(escape(HELP))
        elif name == "/new":
            self.thread_id = uuid.uuid4().hex
            self._say(f"[dim]new thread {self.thread_id}[/]")
        elif name in ("/threads", "/thread"):
            self._threads(arg)
        elif name == "/model":
            self._model(arg)
        elif name == "/kg":
            self._kg(arg)
        elif name == "/cache":
            self._cache(arg)
        else:
            self._say(f"[yellow]unknown command {escape(name)}[/]; /help lists them")
        return None

    def _threads(self, arg: str) -> None:
        from agentmesh.memory.conversation import list_threads

        everything = arg == "all"  # workflow, ask, eval and Slack threads too
        threads = list_threads(self.agent.checkpointer, limit=20, kinds=None if everything else ("chat",))
        arg = "" if everything else arg
        if arg:
            chosen = threads[int(arg) - 1].thread_id if arg.isdigit() and 0 < int(arg) <= len(threads) else arg
            if not self.agent.history(chosen):
                self._say(f"[yellow]no thread {escape(chosen)}[/]")
                return
            self.thread_id = chosen
            self._say(f"[dim]switched to thread {chosen}[/]")
            for message in self.agent.history(chosen)[-4:]:
                if message.type in ("human", "ai") and message.text:
                    self._say(f"[dim]{'you' if message.type == 'human' else 'agent'}: {escape(message.text[:200])}[/]")
            return
        table = Table(show_header=True, header_style="bold")
        for col in ("#", "thread", "kind", "messages", "last question", "updated"):
            table.add_column(col)
        for i, t in enumerate(threads, 1):
            mark = " *" if t.thread_id == self.thread_id else ""
            table.add_row(str(i), t.thread_id + mark, t.kind, str(t.messages), escape(t.last_question[:60]), t.updated)
        self._say(table if threads else "[dim]no chat threads yet (/threads all also lists ask, workflow and eval threads)[/]")

    def _model(self, arg: str) -> None:
        if not arg:
            self._say(f"model: {escape(self.agent.model_name)} (settings: {escape(self.agent.settings.model)})")
            return
        if self.make_agent is None:
            self._say("[yellow]this session cannot switch models[/]")
            return
        try:
            self._say(f"[dim]loading {escape(arg)}...[/]")  # (make_agent may show its own spinner)
            agent = self.make_agent(arg)
        except AgentmeshError as exc:
            self._say(f"[red]error:[/] {escape(str(exc))}")
            return
        self.agent.close()  # the old model's parts (its MCP servers) end with it
        self.agent = agent
        self._say(f"[dim]model {escape(self.agent.model_name)}; the thread goes on[/]")

    def _kg(self, arg: str) -> None:
        kb = self.agent.knowledge
        if kb is None:
            self._say("[dim]no knowledge graph loaded (settings 'kg')[/]")
            return
        if arg.startswith("search"):
            query = arg[len("search"):].strip()
            for node in kb.retrieve(query, k=5, hops=0) if query else []:
                self._say(f"  {escape(node.uri)}  {escape(node.label)}")
            return
        sources = ", ".join(str(p) for p in self.agent.settings.kg) or "(facts only)"
        self._say(f"knowledge graph: {len(kb.index.nodes)} nodes indexed · version {kb.version[:12]} · {escape(sources)}")

    def _cache(self, arg: str) -> None:
        cache = self.agent.cache
        if cache is None:
            self._say("[dim]the semantic cache is off (settings 'cache')[/]")
            return
        if arg == "clear":
            cache.clear()
            self._say("[dim]cache cleared[/]")
            return
        if arg == "wrong":
            try:
                marked = self.agent.mark_cached_wrong(self.thread_id)
            except AgentmeshError as exc:
                self._say(f"[yellow]{escape(str(exc))}[/]")
                return
            self._say(f"[dim]removed the cached answer to {escape(marked['cached_question'])!r}; it is served again "
                      f"only to questions closer than {marked['now_needs']:.2f}. Ask again for a fresh answer.[/]")
            return
        info = cache.info()
        self._say(f"cache: {info['entries']} entries · {info['hits']} hits / {info['misses']} misses"
                  f" / {info.get('refused', 0)} refused by the checks · threshold {info['threshold']}")

    # -- one question --------------------------------------------------------------------------
    def ask(self, text: str, resume: Any = None) -> None:
        """Stream one answer; Ctrl-C cancels it. Dangerous calls are asked about, then the run goes on."""
        if self._worker is not None and self._worker.is_alive():
            with self.console.status("waiting for the cancelled answer to stop..."):
                self._worker.join()
        if resume is None and self.agent.pending(self.thread_id):
            # an earlier session stopped at an approval: settle it before a new question
            self._say("[yellow]this thread has an earlier run waiting for approval[/]")
            self.ask("", resume=self._decide(self.agent.pending(self.thread_id)))
            if self.agent.pending(self.thread_id):
                return
        view = _TurnView()
        stop = threading.Event()
        events: queue.Queue[Any] = queue.Queue()
        done = object()
        message = None if resume is not None else text

        def work() -> None:
            try:
                for event in run_events(self.agent, message, self.thread_id, resume=resume, stop=stop):
                    events.put(event)
            except BaseException as exc:
                events.put(exc)
            finally:
                events.put(done)

        self._worker = threading.Thread(target=work, daemon=True, name="agentmesh-answer")
        self._worker.start()
        pending: list[dict] = []
        try:
            with Live(view.render(), console=self.console, refresh_per_second=12, transient=False) as live:
                for event in _drain(events, done):
                    if isinstance(event, AgentmeshError):
                        view.error = str(event)
                    elif isinstance(event, BaseException):
                        raise event
                    else:
                        view.update(event)
                        if event["type"] == "approval":
                            pending = event["calls"]
                    live.update(view.render())
        except KeyboardInterrupt:
            stop.set()
            self._say("[yellow]cancelled[/] [dim](the thread keeps the question; ask again or go on)[/]")
            return
        if pending:
            self.ask(text, resume=self._decide(pending))
        elif view.choices and message:
            again = self._which(view.choices[0])
            if again:
                self.ask(again)

    def _which(self, choice: dict[str, Any]) -> str:
        """Ask which of the options of a place where the question fit the data alike is meant: the
        question to ask for it, or "" (Enter, or anything else: no question is asked again)."""
        options = choice["options"]
        self._say(f"[bold]The question fits {len(options)} columns for {escape(choice['place'])}:[/]")
        for n, option in enumerate(options, 1):
            self._say(f"  {n}. {escape(option)}")
        try:
            picked = self._read_line(f"which one do you mean? [1-{len(options)}, Enter for none] ").strip()
        except (EOFError, KeyboardInterrupt):
            return ""
        return choice["asks"][int(picked) - 1] if picked.isdigit() and 1 <= int(picked) <= len(options) else ""

    def _decide(self, pending: list[dict]) -> dict[str, bool]:
        decisions = {}
        for call in pending:
            shown = f"{call['name']} {json.dumps(call['args'], ensure_ascii=False)[:400]}"
            self._say(f"[bold yellow]approval needed:[/] {escape(shown)}")
            try:
                answer = self._read_line("run it? [y/N] ").strip().lower()
            except (EOFError, KeyboardInterrupt):
                answer = ""
            decisions[call["id"]] = answer in ("y", "yes")
        return decisions


def _drain(events: "queue.Queue[Any]", done: object) -> Iterator[Any]:
    while True:
        try:
            item = events.get(timeout=0.1)  # short waits: Ctrl-C is seen at once
        except queue.Empty:
            continue
        if item is done:
            return
        yield item


class _TurnView:
    """What the live panel shows: tool calls and their results, the answer so far, citations."""

    def __init__(self) -> None:
        self.tools: dict[str, dict[str, Any]] = {}
        self.text = ""
        self.citations: list[dict] = []
        self.unsupported: list[str] = []
        self.meta = ""
        self.error = ""
        self.choices: list[dict[str, Any]] = []

    def update(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "token":
            self.text += event["text"]
        elif kind == "tool_call":
            self.tools[event["id"]] = {"name": event["name"], "args": event["args"], "status": "running"}
            self.text = ""  # text before tool calls was not the answer
        elif kind == "tool_result":
            entry = self.tools.setdefault(event["id"], {"name": event["name"], "args": {}})
            entry.update(status="ok" if event["ok"] else "error", output=event["output"])
        elif kind == "answer":
            self.text = event["text"]
            if event["stop_reason"] not in ("answered", "cached"):
                self.meta = f"stopped: {event['stop_reason']}"
            elif event["stop_reason"] == "cached":
                self.meta = "from the semantic cache"
        elif kind == "citations":
            self.citations = event["citations"]
        elif kind == "claims":
            self.unsupported = [c["text"] for c in event["claims"] if c["status"] == "unsupported"]
        elif kind == "approval":
            for call in event["calls"]:
                self.tools.setdefault(call["id"], {"name": call["name"], "args": call["args"]})["status"] = "awaiting approval"
        elif kind == "done":
            self.meta = " · ".join(p for p in (self.meta, f"model {event['model']}", f"run {event['run_id']}") if p)
            self.choices = event.get("choices", [])

    def render(self) -> Any:
        parts: list[Any] = []
        if self.tools:
            table = Table(show_header=False, box=None, padding=(0, 1))
            for call in self.tools.values():
                status = call.get("status", "")
                colour = {"ok": "green", "error": "red", "running": "cyan"}.get(status, "yellow")
                row = Text.assemble(("→ ", "dim"), (call["name"], "bold"), " ", json.dumps(call["args"], ensure_ascii=False)[:120])
                result = call.get("output", "").replace("\n", " ")[:120]
                table.add_row(row, Text(status, style=colour), Text(result, style="dim"))
            parts.append(Panel(table, title="tools", title_align="left", border_style="dim"))
        parts.append(Text(self.text or ("" if self.tools else "…")))
        if self.citations:
            lines = [f"[{i}] {c['kind']}: {c['ref']}" + (f"  {c['detail'][:80]}" if c.get("detail") and c["kind"] == "node" else "")
                     for i, c in enumerate(self.citations, 1)]
            parts.append(Text("\n".join(lines), style="cyan"))
        if self.unsupported:
            parts.append(Text("not supported by the evidence: " + "; ".join(self.unsupported), style="yellow"))
        if self.error:
            parts.append(Text(f"error: {self.error}", style="red"))
        if self.meta:
            parts.append(Text(self.meta, style="dim"))
        return Group(*parts)
