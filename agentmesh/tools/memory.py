"""remember and forget: long-term facts as tools (they have side effects, so answers using them are never cached)."""

from __future__ import annotations

from typing import Annotated, Callable

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool
from pydantic import BaseModel, Field

from agentmesh.errors import AgentmeshError, ToolError
from agentmesh.records import Citation
from agentmesh.memory.facts import FactStore

__all__ = ["make_remember_tool", "make_forget_tool", "RememberArgs", "ForgetArgs"]

REMEMBER_DESCRIPTION = (
    "Remember a fact the user asks you to keep (about themselves, their team, their systems), so it "
    "can be recalled later in any conversation. Pass the fact as one self-contained sentence."
)
FORGET_DESCRIPTION = "Forget a fact you were asked to remember, given its id or some of its words."


class RememberArgs(BaseModel):
    statement: str = Field(description="The fact, as one self-contained sentence.")


class ForgetArgs(BaseModel):
    fact: str = Field(description="The fact's id, or words that identify it.")


def make_remember_tool(facts: FactStore, changed: Callable[[], None] | None = None) -> BaseTool:
    def remember(statement: str, config: Annotated[RunnableConfig, InjectedToolArg] = None) -> tuple[str, list[dict]]:
        thread = str(((config or {}).get("configurable") or {}).get("thread_id", ""))
        try:
            fact = facts.remember(statement, thread_id=thread)
        except AgentmeshError as exc:
            raise ToolError(str(exc)) from None
        if changed:
            changed()
        return f"Remembered as <{fact.uri}>: {fact.text}", [Citation(kind="node", ref=fact.uri, detail=fact.text).model_dump()]

    return StructuredTool.from_function(remember, name="remember", description=REMEMBER_DESCRIPTION,
                                        args_schema=RememberArgs, response_format="content_and_artifact")


def make_forget_tool(facts: FactStore, changed: Callable[[], None] | None = None) -> BaseTool:
    def forget(fact: str) -> str:
        try:
            gone = facts.forget(fact)
        except AgentmeshError as exc:
            raise ToolError(str(exc)) from None
        if changed:
            changed()
        return f"Forgot <{gone.uri}>: {gone.text}"

    return StructuredTool.from_function(forget, name="forget", description=FORGET_DESCRIPTION, args_schema=ForgetArgs)
