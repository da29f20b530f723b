"""remember and forget: long-term facts as tools (they have side effects, so answers using them are never cached).

Both act for the user of the run that calls them (``RunContext.user``, read from LangGraph's run
context; a call outside a run is the local operator's): a user's facts are theirs alone.
"""

from __future__ import annotations

from typing import Annotated, Callable, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool
from pydantic import BaseModel, Field

from agentmesh.errors import AgentmeshError, ToolError
from agentmesh.records import Citation
from agentmesh.memory.facts import FactStore
from agentmesh.records import RunContext

__all__ = ["make_remember_tool", "make_forget_tool", "RememberArgs", "ForgetArgs", "current_run"]

REMEMBER_DESCRIPTION = (
    "Remember a fact the user asks you to keep (about themselves, their team, their systems), so it "
    "can be recalled later in any conversation. Pass the fact as one self-contained sentence. "
    "Set scope to \"thread\" for a fact that holds for this conversation only."
)
FORGET_DESCRIPTION = "Forget a fact you were asked to remember, given its id or some of its words."


class RememberArgs(BaseModel):
    statement: str = Field(description="The fact, as one self-contained sentence.")
    scope: Literal["user", "thread"] = Field("user", description="\"user\": every conversation; \"thread\": this one only.")


class ForgetArgs(BaseModel):
    fact: str = Field(description="The fact's id, or words that identify it.")


def current_run(config: RunnableConfig | None = None) -> RunContext | None:
    """The agentmesh run a tool is called in (its user and thread), or None outside one."""
    runtime = ((config or {}).get("configurable") or {}).get("__pregel_runtime")
    if runtime is None:
        try:
            from langgraph.runtime import get_runtime

            runtime = get_runtime()
        except RuntimeError:  # not inside a graph run
            return None
    context = getattr(runtime, "context", None)
    return context if isinstance(context, RunContext) else None


def _who(config: RunnableConfig | None) -> tuple[str | None, str]:
    """(user, thread id) of the calling run."""
    run = current_run(config)
    thread = run.thread_id if run else str(((config or {}).get("configurable") or {}).get("thread_id", ""))
    return (run.user if run else None), thread


REMEMBER_VERBS = ("remember", "note", "save", "store", "record", "memorize", "memorise")
FORGET_VERBS = ("forget", "delete", "remove", "erase", "drop")
"""The English verbs that ask to keep or drop a fact: a question without one is never offered
the tool that would change the remembered facts ("Who develops X?" must not forget anything)."""

def make_remember_tool(facts: FactStore, changed: Callable[[], None] | None = None) -> BaseTool:
    def remember(statement: str, scope: Literal["user", "thread"] = "user",
                 config: Annotated[RunnableConfig, InjectedToolArg] = None) -> tuple[str, list[dict]]:
        user, thread = _who(config)
        try:
            fact = facts.remember(statement, thread_id=thread, user=user, scope=scope)
        except AgentmeshError as exc:
            raise ToolError(str(exc)) from None
        if changed:
            changed()
        return f"Remembered as <{fact.uri}>: {fact.text}", [Citation(kind="node", ref=fact.uri, detail=fact.text).model_dump()]

    return StructuredTool.from_function(remember, name="remember", description=REMEMBER_DESCRIPTION,
                                        args_schema=RememberArgs, response_format="content_and_artifact",
                                        # it changes state: offered by selection only to a question that asks for it
                                        metadata={"asked_by": REMEMBER_VERBS})


def make_forget_tool(facts: FactStore, changed: Callable[[], None] | None = None) -> BaseTool:
    def forget(fact: str, config: Annotated[RunnableConfig, InjectedToolArg] = None) -> str:
        user, thread = _who(config)
        try:
            gone = facts.forget(fact, user=user, thread_id=thread)
        except AgentmeshError as exc:
            raise ToolError(str(exc)) from None
        if changed:
            changed()
        return f"Forgot <{gone.uri}>: {gone.text}"

    return StructuredTool.from_function(forget, name="forget", description=FORGET_DESCRIPTION, args_schema=ForgetArgs,
                                        metadata={"asked_by": FORGET_VERBS})
