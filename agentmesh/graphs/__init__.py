"""LangGraph state machines. They receive every part they call; they import no wings."""

from agentmesh.graphs.agent import build_agent_graph
from agentmesh.graphs.middleware import (Answer, AnswerRequest, ApprovalStep, ClaimCheckStep, Middleware, ModelRequest,
                                         SemanticCacheStep, ToolCallsRequest, ToolRequest, TurnRequest)
from agentmesh.graphs.state import AgentState, Citation

__all__ = ["AgentState", "Answer", "AnswerRequest", "ApprovalStep", "Citation", "ClaimCheckStep", "Middleware", "ModelRequest",
           "SemanticCacheStep", "ToolCallsRequest", "ToolRequest", "TurnRequest", "build_agent_graph"]
