"""agentmesh: grounded assistants over your own knowledge graph and data, on LangGraph."""

from agentmesh.agent import Agent, AgentResult, ToolActivity
from agentmesh.assembly import Components
from agentmesh.claims import Claim, ClaimChecker, Evidence
from agentmesh.evaluation import evaluate, load_questions
from agentmesh.config import Settings
from agentmesh.errors import (
    AgentmeshError,
    ConfigError,
    DatabaseError,
    KnowledgeGraphError,
    KnowledgeGraphNotFoundError,
    KnowledgeGraphSyntaxError,
    ModelError,
    ModelUnavailableError,
    ReadOnlyViolationError,
    ToolError,
    UnknownModelError,
)
from agentmesh.graphs import Citation, Middleware, build_agent_graph
from agentmesh.workflows import Workflow, WorkflowError, WorkflowResult
from agentmesh.knowledge import KnowledgeBase
from agentmesh.ports import AnswerCache, AnswerCheck, Retriever, Router
from agentmesh.records import RunContext
from agentmesh.tools import ToolRegistry, default_registry

__version__ = "0.1.0"

__all__ = [
    "evaluate",
    "load_questions",
    "Agent",
    "AgentResult",
    "AnswerCache",
    "AnswerCheck",
    "Components",
    "Retriever",
    "Router",
    "RunContext",
    "AgentmeshError",
    "Citation",
    "Claim",
    "ClaimChecker",
    "ConfigError",
    "DatabaseError",
    "Evidence",
    "KnowledgeBase",
    "KnowledgeGraphError",
    "KnowledgeGraphNotFoundError",
    "KnowledgeGraphSyntaxError",
    "Middleware",
    "ModelError",
    "ModelUnavailableError",
    "ReadOnlyViolationError",
    "Settings",
    "ToolActivity",
    "ToolError",
    "Workflow",
    "WorkflowError",
    "WorkflowResult",
    "ToolRegistry",
    "UnknownModelError",
    "build_agent_graph",
    "default_registry",
]
