"""LangGraph state machines. They receive every part they call; they import no wings."""

from agentmesh.graphs.agent import build_agent_graph
from agentmesh.graphs.middleware import (Answer, AnswerRequest, ApprovalStep, ClaimCheckStep, HistoryBudget, Middleware,
                                         ModelRequest, NarrowedTools, QuestionGuard, SemanticCacheStep, ToolCallsRequest,
                                         ToolRequest, ToolSelection, TurnRequest)
from agentmesh.graphs.pick import PickAnswer
from agentmesh.graphs.state import AgentState, Citation

__all__ = ["AgentState", "Answer", "AnswerRequest", "ApprovalStep", "Citation", "ClaimCheckStep", "HistoryBudget", "Middleware",
           "ModelRequest", "NarrowedTools", "PickAnswer", "QuestionGuard", "SemanticCacheStep", "ToolCallsRequest", "ToolRequest",
           "ToolSelection", "TurnRequest", "build_agent_graph"]
