"""Scripted multi-step workflows: a YAML spec (:mod:`.spec`) and its runner on LangGraph (:mod:`.runner`)."""

from agentmesh.workflows.runner import StepRunner, Workflow, WorkflowState, load_workflow
from agentmesh.workflows.spec import FlowSpec, Step, WorkflowError, WorkflowResult

__all__ = ["FlowSpec", "Step", "StepRunner", "Workflow", "WorkflowError", "WorkflowResult", "WorkflowState", "load_workflow"]
