"""The standard suites LangChain integrations run (langchain-tests), against agentmesh's
embeddings and tools: what a LangChain user plugs in must behave as LangChain's own parts do.
(The cache's suites are in test_langchain_cache.py, the retriever's in test_langchain_retriever.py.)"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, ToolsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests, ToolsUnitTests

from agentmesh.knowledge import KnowledgeBase
from agentmesh.memory.facts import FactStore
from agentmesh.models.embeddings import MiniLMEmbeddings
from agentmesh.models.testing import HashingEmbeddings
from agentmesh.tools.knowledge import make_kg_path, make_kg_search
from agentmesh.tools.memory import make_remember_tool
from agentmesh.tools.python_repl import PythonSandbox, make_python_tool
from agentmesh.tools.sparql import make_sparql_tool
from agentmesh.tools.sql import SQLDatabase, make_sql_schema_tool, make_sql_tool

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "llm-landscape"
MIXTRAL = "https://example.org/llm/Mixtral-8x7B-Instruct"


@lru_cache(maxsize=1)
def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="agentmesh-standard-"))  # a suite's properties cannot take fixtures
    atexit.register(shutil.rmtree, folder, True)
    return folder


@lru_cache(maxsize=1)
def _knowledge() -> KnowledgeBase:
    return KnowledgeBase.open([EXAMPLE / "landscape.ttl"], HashingEmbeddings(), cache_dir=_folder() / "kg")


@lru_cache(maxsize=1)
def _database() -> SQLDatabase:
    return SQLDatabase(EXAMPLE / "landscape.sqlite")


# -- embeddings -------------------------------------------------------------------------------
class TestMiniLMEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self):
        return MiniLMEmbeddings


@pytest.mark.asyncio  # the suite's async tests are coroutines; pytest-asyncio runs them (strict mode)
class TestMiniLMEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self):
        return MiniLMEmbeddings


@pytest.mark.asyncio
class TestHashingEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self):
        return HashingEmbeddings


# -- tools ------------------------------------------------------------------------------------
TOOLS = {
    "kg_search": (lambda: make_kg_search(_knowledge()), {"query": "Mixtral 8x7B Instruct"}),
    "kg_path": (lambda: make_kg_path(_knowledge()), {"source": MIXTRAL, "target": "https://example.org/llm/MistralAI"}),
    "sparql": (lambda: make_sparql_tool(_knowledge()), {"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 2"}),
    "sql": (lambda: make_sql_tool(_database()), {"query": "SELECT COUNT(*) AS n FROM models"}),
    "sql_schema": (lambda: make_sql_schema_tool(_database()), {}),
    "python": (lambda: make_python_tool(PythonSandbox(timeout=20, root_dir=_folder() / "sandbox")), {"code": "print(6 * 7)"}),
    "remember": (lambda: make_remember_tool(FactStore(_folder() / "facts.nq")), {"statement": "The test team owns the demo."}),
}


@lru_cache(maxsize=None)
def _tool(name: str):
    return TOOLS[name][0]()


def _suite(name: str, base: type) -> type:
    class Suite(base):
        @property
        def tool_constructor(self):
            return _tool(name)

        @property
        def tool_invoke_params_example(self) -> dict:
            return TOOLS[name][1]

    marks = [pytest.mark.asyncio] if base is ToolsIntegrationTests else []
    for mark in marks:
        Suite = mark(Suite)
    Suite.__name__ = Suite.__qualname__ = f"Test{''.join(p.title() for p in name.split('_'))}{base.__name__.removeprefix('Tools')}"
    return Suite


for _name in TOOLS:
    for _base in (ToolsUnitTests, ToolsIntegrationTests):
        _cls = _suite(_name, _base)
        globals()[_cls.__name__] = _cls
