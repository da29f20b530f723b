"""A plugin as a third party would write one: it subclasses nothing of agentmesh's except the
records it returns, and is found only through its entry points."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool


class DemoModel(BaseChatModel):
    """Calls ``shout`` once, then answers with what it shouted and the node it was grounded in."""

    @property
    def _llm_type(self) -> str:
        return "demo"

    @property
    def model_name(self) -> str:
        return "demo-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "DemoModel":
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        said = [m.text.replace("<data>", "").replace("</data>", "") for m in messages if isinstance(m, ToolMessage)]
        if not said:
            message = AIMessage("", tool_calls=[{"name": "shout", "args": {"text": "hello plugin"}, "id": "call-1"}])
        else:
            grounded = "Zephyrium" if any("Zephyrium" in m.text for m in messages) else "nothing"
            message = AIMessage(f"The tool said {said[-1].strip()} and the evidence names {grounded}.")
        return ChatResult(generations=[ChatGeneration(message=message)])


def make_model(name: str, settings: Any) -> BaseChatModel:
    return DemoModel()


def make_embeddings(name: str, settings: Any) -> Any:
    from agentmesh.models.testing import HashingEmbeddings

    return HashingEmbeddings()


@tool("shout")
def _shout(text: str) -> str:
    """Repeat the text in capital letters."""
    return text.upper()


_shout.metadata = {"cacheable": True}  # its answer depends only on the question: agentmesh may cache it


def shout_tool(context: Any) -> Any:
    return _shout


@tool("whisper")
def WHISPER(text: str) -> str:  # noqa: N802 (a ready tool as the entry point)
    """Repeat the text in small letters."""
    return text.lower()


class FileCache:
    """An answer cache in one JSON file of the data home: exact questions only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, question: str, scope: str, *, checks: Any = ()) -> Any:
        from agentmesh.memory.cache import CacheHit

        entry = self._load().get(f"{scope}|{question}")
        return CacheHit(entry["answer"], question, 1.0, entry, scope=scope, entry_id=question) if entry else None

    def put(self, question: str, answer: str, scope: str, **extra: Any) -> None:
        data = self._load()
        data[f"{scope}|{question}"] = {"answer": answer, "citations": extra.get("citations", [])}
        self.path.write_text(json.dumps(data))

    def mark_wrong(self, hit: Any) -> float:
        data = self._load()
        data.pop(f"{hit.scope}|{hit.question}", None)
        self.path.write_text(json.dumps(data))
        return 1.0

    def close(self) -> None:
        pass


def make_cache(settings: Any, embeddings: Any) -> FileCache:
    return FileCache(settings.data_dir() / "demo-cache.json")


def make_checkpointer(target: str, settings: Any) -> Any:
    from langgraph.checkpoint.memory import InMemorySaver

    return InMemorySaver()


class DemoRetriever:
    def retrieve(self, question: str, k: int = 5, *, hops: int = 1) -> list:
        from agentmesh.records import RetrievedNode

        return [RetrievedNode("urn:demo:zephyrium", "Zephyrium", "A metal found only in this plugin.", 1.0,
                              facts=["Zephyrium melting point 1234 K"])]

    def has_node(self, uri: str) -> bool:
        return uri == "urn:demo:zephyrium"


def make_retriever(settings: Any, embeddings: Any) -> DemoRetriever:
    return DemoRetriever()


class WordChecker:
    """A claim checker: the answer's one claim is that it names a node the evidence names."""

    def check(self, answer: str, evidence: Any) -> list:
        from agentmesh.records import Claim

        named = next((e for e in evidence if e.subject and e.subject in answer), None)
        return [Claim(text=named.subject if named else answer, kind="entity",
                      status="supported" if named else "unsupported", evidence=named)]


def make_checker(settings: Any, retriever: Any) -> WordChecker:
    return WordChecker()
