"""Tools the agent can call. All are LangChain tools; see ``registry`` to add your own."""

from agentmesh.tools.registry import ToolContext, ToolRegistry, default_registry

__all__ = ["ToolContext", "ToolRegistry", "default_registry"]
