"""One exception hierarchy for agentmesh.

Every message says what happened, where, and what to do about it::

    AgentmeshError
    ├── ConfigError                 bad settings file or value
    ├── ModelError
    │   ├── UnknownModelError       a model name no provider recognises
    │   └── ModelUnavailableError   weights not installed, server unreachable
    ├── KnowledgeGraphError
    │   ├── KnowledgeGraphNotFoundError
    │   └── KnowledgeGraphSyntaxError
    ├── DatabaseError               the SQL database cannot be opened
    └── ToolError                   a tool refused or failed; shown to the model
        └── ReadOnlyViolationError

Exceptions carry data only; raising one has no side effects.
"""

from __future__ import annotations

__all__ = [
    "AgentmeshError",
    "ConfigError",
    "ModelError",
    "UnknownModelError",
    "ModelUnavailableError",
    "KnowledgeGraphError",
    "KnowledgeGraphNotFoundError",
    "KnowledgeGraphSyntaxError",
    "KnowledgeGraphUnavailableError",
    "DatabaseError",
    "ToolError",
    "ReadOnlyViolationError",
    "ThreadBusyError",
]


class AgentmeshError(Exception):
    """Base class of every error agentmesh raises on purpose."""


class ConfigError(AgentmeshError):
    """A settings file or value is invalid."""


class ModelError(AgentmeshError):
    """A model cannot be created or reached."""


class UnknownModelError(ModelError):
    """A model name that no provider recognises."""


class ModelUnavailableError(ModelError):
    """The model exists but cannot run here: weights missing, server unreachable."""


class KnowledgeGraphError(AgentmeshError):
    """The RDF knowledge graph cannot be loaded or queried."""


class KnowledgeGraphNotFoundError(KnowledgeGraphError):
    """A knowledge-graph path does not exist."""


class KnowledgeGraphSyntaxError(KnowledgeGraphError):
    """A knowledge-graph file does not parse."""


class KnowledgeGraphUnavailableError(KnowledgeGraphError):
    """A live graph's SPARQL endpoint cannot be reached, timed out or failed on its side (5xx): try again later."""


class DatabaseError(AgentmeshError):
    """A SQL database cannot be opened."""


class ToolError(AgentmeshError):
    """A tool refused its input or failed; the message goes back to the model."""


class ReadOnlyViolationError(ToolError):
    """A statement would write to a source that is read-only.

    ``layer`` says which protection refused it: ``"statement"`` (agentmesh's check, before the
    database saw it) or ``"database"`` (the read-only connection or the server itself)."""

    def __init__(self, message: str, *, layer: str = "statement") -> None:
        super().__init__(message)
        self.layer = layer


class ThreadBusyError(AgentmeshError):
    """A thread's turn did not start in time: another process (or replica) held the thread."""
