"""Tool calls for models without native tool calling, through JSON-schema constrained output.

The model is asked for exactly one JSON object: ``{"tool": NAME, "arguments": {...}}`` or
``{"answer": true}``. The schema goes to the server as ``response_format`` and llama.cpp turns
it into a grammar, so the reply always parses and the arguments always match the tool's
schema (though a small model may still choose silly values). The JSON only decides; an
answer is then generated as free text, because small models write far worse prose inside
a JSON string (they copy the facts verbatim).

:class:`JsonToolCallingModel` wraps any chat model that accepts ``response_format`` (the
embedded llama.cpp model; a vLLM, Ollama or llama.cpp server through ``ChatOpenAI``) and
gives it ``bind_tools``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Iterator, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.ai import add_usage
from langchain_core.messages.tool import ToolCall
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agentmesh.answering.numbers import number_values
from agentmesh.prompts import (
    JSON_TOOLS_INSTRUCTIONS,
    JSON_TOOLS_INSTRUCTIONS_MUST_CALL,
    JSON_TOOLS_INSTRUCTIONS_NO_FACTS,
    NO_GROUNDING,
    TOOL_RESULT_FOR_TEXT_MODEL,
)

__all__ = ["JsonToolCallingModel", "reply_schema", "tool_list_text", "parse_reply", "to_plain_messages", "as_tool_call_chunks",
           "ANSWER_NOW", "invented_numbers", "DECLINED_CALL", "bound_strings", "openai_usage", "INNER_CALL"]

ANSWER_NOW: list[ToolCall] = []
"""``parse_reply``'s tool calls when the model decided to answer: generate the text next."""

MAX_ARGUMENT_CHARS = 300


def bound_strings(schema: Any) -> Any:
    """Copy ``schema`` with a maxLength on every string, so a rambling model cannot run out of tokens mid-JSON."""
    if isinstance(schema, dict):
        out = {k: bound_strings(v) for k, v in schema.items() if k != "title"}
        if out.get("type") == "string" and "maxLength" not in out and "enum" not in out:
            out["maxLength"] = MAX_ARGUMENT_CHARS
        return out
    if isinstance(schema, list):
        return [bound_strings(v) for v in schema]
    return schema


def _parameters(tool: dict[str, Any]) -> dict[str, Any]:
    """The tool's argument schema with bounded strings and only its required arguments:
    a small model given optional knobs sets them at random, and defaults serve it better."""
    params = bound_strings(tool["function"].get("parameters") or {"type": "object", "properties": {}})
    params.setdefault("type", "object")
    required = params.get("required")
    if required is not None:
        params["properties"] = {k: v for k, v in params.get("properties", {}).items() if k in required}
    params.setdefault("properties", {})
    params["additionalProperties"] = False
    return params


def reply_schema(tools: Sequence[dict[str, Any]], *, allow_answer: bool = True) -> dict[str, Any]:
    """The JSON schema of one reply: a call of one of ``tools`` (OpenAI format) or an answer."""
    options: list[dict[str, Any]] = []
    if allow_answer or not tools:
        options.append(
            {
                "type": "object",
                "properties": {"answer": {"const": True}},
                "required": ["answer"],
                "additionalProperties": False,
            }
        )
    for tool in tools:
        options.append(
            {
                "type": "object",
                "properties": {"tool": {"const": tool["function"]["name"]}, "arguments": _parameters(tool)},
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            }
        )
    return options[0] if len(options) == 1 else {"anyOf": options}


def tool_list_text(tools: Sequence[dict[str, Any]], *, facts: bool = True, must_call: bool = False) -> str:
    """The decision prompt. With no facts above it, "answer directly if the facts answer" would
    bias a small model against every tool (it answered in text 39 times in 40 on BFCL); when a
    call is required, the prompt offers no answer the schema would refuse."""
    lines = []
    for tool in tools:
        fn = tool["function"]
        args = ", ".join(_parameters(tool)["properties"]) or "no arguments"
        lines.append(f"- {fn['name']}({args}): {fn.get('description', '').strip()}")
    template = (JSON_TOOLS_INSTRUCTIONS_MUST_CALL if must_call else JSON_TOOLS_INSTRUCTIONS if facts
                else JSON_TOOLS_INSTRUCTIONS_NO_FACTS)
    return template.format(tool_list="\n".join(lines))


NUMBER_WORDS = {
    **{w: float(i) for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                         "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())},
    **{w: float(i) for i, w in enumerate("_ first second third fourth fifth sixth seventh eighth ninth tenth".split()) if i},
    "thirty": 30.0, "forty": 40.0, "fifty": 50.0, "sixty": 60.0, "seventy": 70.0, "eighty": 80.0, "ninety": 90.0,
    "hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9, "dozen": 12.0, "half": 0.5, "quarter": 0.25,
    "decade": 10.0, "century": 100.0, "once": 1.0, "twice": 2.0, "double": 2.0, "triple": 3.0, "single": 1.0, "pair": 2.0, "couple": 2.0,
}
"""Numbers people write as words ("two dice", "the third term", "half a litre")."""
DECLINED_CALL = "agentmesh_declined_call"
"""The ``response_metadata`` key of a reply whose tool call was declined, and why."""


def _numbers_given(text: str) -> list[tuple[set[float], float]]:
    given = number_values(text)  # 32K, $0.37, 86.4%, 1,000 ...
    given += [({float(n.replace(",", ""))}, 0.0)
              for n in re.findall(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]  # and as written: "2 m" is 2, not 2 million
    given += [({value}, 0.0) for word, value in NUMBER_WORDS.items() if re.search(rf"\b{word}\b", text, re.IGNORECASE)]
    return given


def invented_numbers(args: dict[str, Any], context: str) -> list[str]:
    """The numeric arguments of a call that nothing in ``context`` gives ("angle=45.0" for "How far
    does a car go at angle theta?"): the question, the conversation and the tool's own schema
    (its defaults, enums and descriptions). A small model asked a question no tool fits calls
    the nearest one with numbers it made up; the result would be an invented fact. Strings
    are not checked: a query or code is written, not copied."""
    given = _numbers_given(context)

    def grounded(value: float) -> bool:
        return any(abs(abs(value) - a) <= max(tolerance, 1e-9 * abs(a)) for values, tolerance in given for a in values)

    invented: list[str] = []

    def visit(path: str, value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            if not grounded(float(value)):
                invented.append(f"{path}={value!r}")
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(f"{path}.{key}" if path else str(key), item)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(f"{path}[{i}]", item)

    visit("", args)
    return invented


def _has_facts(messages: Sequence[BaseMessage]) -> bool:
    """Whether the conversation carries facts to answer from: grounding, or a tool's result."""
    system = " ".join(m.text for m in messages if isinstance(m, SystemMessage))
    if any(isinstance(m, ToolMessage) for m in messages):
        return True
    return bool(system) and NO_GROUNDING not in system and "Facts from" in system


def _named_choice(tool_choice: Any) -> str | None:
    """The tool a ``tool_choice`` names ("sql", or {"type": "function", "function": {"name": "sql"}})."""
    if isinstance(tool_choice, dict):
        return (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "any", "required"):
        return tool_choice
    return None


def parse_reply(text: str, tool_names: Sequence[str]) -> list[ToolCall] | None:
    """The tool calls of a constrained reply, an empty list for "answer now", or None when it
    does not parse (e.g. generation stopped at the token limit in the middle of the JSON)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    if isinstance(data, dict) and data.get("tool") in tool_names:
        args = data.get("arguments") if isinstance(data.get("arguments"), dict) else {}
        return [ToolCall(name=data["tool"], args=args, id=f"call_{uuid.uuid4().hex[:12]}", type="tool_call")]
    if isinstance(data, dict) and "answer" in data:
        return ANSWER_NOW
    return None


def to_plain_messages(
    messages: Sequence[BaseMessage], extra_system: str | None = None, *, calls_as_json: bool = True
) -> list[dict[str, str]]:
    """OpenAI-style role/content dicts for a chat template that knows no tool roles.

    With ``calls_as_json`` (the model is to decide on a tool call), earlier calls appear as the
    JSON it would write and results as user turns. Without it (a plain-text answer is wanted),
    tool results join the system message as more facts and the question stays the last turn:
    small models answer well in that shape and parrot the results in any other.
    """
    out: list[dict[str, str]] = []
    results: list[str] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            out.append({"role": "system", "content": message.text})
        elif isinstance(message, HumanMessage):
            results = []  # results of earlier turns are already answered
            out.append({"role": "user", "content": message.text})
        elif isinstance(message, AIMessage):
            if message.tool_calls and not calls_as_json:
                continue
            if message.tool_calls:
                calls = [{"tool": c["name"], "arguments": c["args"]} for c in message.tool_calls]
                content = json.dumps(calls[0] if len(calls) == 1 else calls)
            else:
                content = message.text
            out.append({"role": "assistant", "content": content})
        elif isinstance(message, ToolMessage):
            text = TOOL_RESULT_FOR_TEXT_MODEL.format(name=message.name or "tool", content=message.text)
            if calls_as_json:
                out.append({"role": "user", "content": text})
            else:
                results.append(text)
        else:
            out.append({"role": "user", "content": message.text})
    system_extra = [part for part in ("\n\n".join(results), extra_system) if part]
    if system_extra:
        addition = "\n\n".join(system_extra)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": out[0]["content"] + "\n\n" + addition}
        else:
            out.insert(0, {"role": "system", "content": addition})
    # Chat templates of small models expect alternating turns: merge neighbours of one role.
    merged: list[dict[str, str]] = []
    for item in out:
        if merged and merged[-1]["role"] == item["role"] and item["role"] != "system":
            merged[-1] = {"role": item["role"], "content": merged[-1]["content"] + "\n\n" + item["content"]}
        else:
            merged.append(item)
    return merged


class JsonToolCallingModel(BaseChatModel):
    """Tool calling for ``inner``, a chat model without it, by JSON-schema constrained output.

    Each turn with tools bound is two calls at most: a constrained one that decides (a tool
    call, or "answer now"), then, for an answer, a free-text one. ``inner`` must accept a
    ``response_format`` keyword (OpenAI's json_schema form) and plain role/content messages.

    >>> model = JsonToolCallingModel(inner=ChatOpenAI(base_url="http://127.0.0.1:8080/v1", api_key="-"))  # doctest: +SKIP
    >>> model.bind_tools([my_tool]).invoke("...").tool_calls                                           # doctest: +SKIP
    """

    inner: BaseChatModel
    answer_after_tools: bool = Field(
        True, description="After tool results arrive, answer in text instead of calling more tools (small models loop)."
    )
    check_arguments: bool = Field(
        True, description="Decline a call (and answer in text) when a numeric argument appears nowhere in the "
                          "conversation or the tool's schema, unless a call is required: see invented_numbers.",
    )

    @property
    def _llm_type(self) -> str:
        return "agentmesh-json-tools"

    @property
    def model_name(self) -> str:
        return str(getattr(self.inner, "model_name", None) or getattr(self.inner, "model", None) or type(self.inner).__name__)

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        """As LangChain's models do: a ``RunnableBinding`` whose calls carry the tools (in OpenAI's
        format) and ``tool_choice`` ("auto", "none", "any"/"required", or a tool's name)."""
        named = _named_choice(tool_choice)
        formatted = [convert_to_openai_tool(t) for t in tools]
        if named is not None and named not in [t["function"]["name"] for t in formatted]:
            raise ValueError(f"tool_choice names {named!r}, which is not among the bound tools")
        return self.bind(tools=formatted, **({"tool_choice": tool_choice} if tool_choice is not None else {}), **kwargs)

    def _decide(self, messages: list[BaseMessage], stop: list[str] | None, bound: Sequence[dict[str, Any]],
                tool_choice: Any) -> tuple[list[ToolCall], BaseMessage | None, dict[str, Any] | None]:
        """The constrained call: tool calls, or none (answer in text), and the call declined for
        invented arguments, if one was. Skipped when no tool may be called."""
        use_tools = bool(bound) and tool_choice != "none"
        named = _named_choice(tool_choice)
        if (use_tools and named is None and self.answer_after_tools and messages
                and isinstance(messages[-1], ToolMessage)):  # a named tool is called whatever came before
            use_tools = False
        if not use_tools:
            return [], None, None
        tools = list(bound)
        if named is not None:  # a named tool must be called, and only it
            tools = [t for t in tools if t["function"]["name"] == named]
            if not tools:
                raise ValueError(f"tool_choice names {named!r}, which is not among the bound tools")
        must_call = named is not None or tool_choice in ("any", "required")
        schema = reply_schema(tools, allow_answer=not must_call)
        try:
            decision = self.inner.invoke(
                to_plain_messages(messages, tool_list_text(tools, facts=_has_facts(messages), must_call=must_call),
                                  calls_as_json=True),
                stop=stop,
                response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}},
                config=INNER_CALL,
            )
        except Exception as exc:
            decision = _cut_off(exc)
            if decision is None:
                raise
        calls = parse_reply(decision.text, [t["function"]["name"] for t in tools]) or []
        if calls and self.check_arguments and not must_call:
            tool = next(t for t in tools if t["function"]["name"] == calls[0]["name"])
            context = "\n".join([*(m.text for m in messages), json.dumps(tool["function"])])
            invented = invented_numbers(calls[0]["args"], context)
            if invented:  # answered in text instead; the answer step checks what that text claims
                return [], decision, {"tool": calls[0]["name"], "arguments": calls[0]["args"],
                                      "reason": f"not in the conversation: {', '.join(invented)}"}
        return calls, decision, None

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        calls, decision, declined = self._decide(messages, stop, kwargs.get("tools", ()), kwargs.get("tool_choice"))
        if calls:
            return _result(AIMessage("", tool_calls=calls), decision)
        # an answer (chosen, declined, or JSON cut off at the token limit): written as free text
        reply = self.inner.invoke(to_plain_messages(messages, None, calls_as_json=False), stop=stop, config=INNER_CALL)
        result = _result(AIMessage(reply.text.strip()), reply, also=decision)
        if declined:
            result.generations[0].message.response_metadata[DECLINED_CALL] = declined
        return result

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """As :meth:`_generate`, but a text answer comes piece by piece as the inner model writes it."""
        calls, decision, declined = self._decide(messages, stop, kwargs.get("tools", ()), kwargs.get("tool_choice"))
        if calls:
            message = AIMessageChunk(content="", tool_call_chunks=as_tool_call_chunks(calls),
                                     response_metadata=dict(getattr(decision, "response_metadata", {}) or {}),
                                     usage_metadata=getattr(decision, "usage_metadata", None))
            yield ChatGenerationChunk(message=message)
            return
        started = False
        # the deciding call's tokens count too, in the one chunk that carries usage (LangChain adds
        # up chunks, and a second chunk with input tokens would read as counting them twice)
        pending = getattr(decision, "usage_metadata", None)
        for piece in self.inner.stream(to_plain_messages(messages, None, calls_as_json=False), stop=stop, config=INNER_CALL):
            text = piece.text
            if not started:  # as _generate, no leading whitespace
                text = text.lstrip()
                started = bool(text)
            usage = piece.usage_metadata
            if usage and pending:
                usage, pending = add_usage(usage, pending), None
            yield ChatGenerationChunk(message=AIMessageChunk(content=text, usage_metadata=usage,
                                                             response_metadata=piece.response_metadata))
        if pending:
            yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=pending))
        if declined:
            yield ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata={DECLINED_CALL: declined}))


def _cut_off(exc: Exception) -> AIMessage | None:
    """The reply in ``exc`` if it is langchain-openai's refusal to parse JSON cut off at the token
    limit (openai's LengthFinishReasonError): the wrapper's own reading of a cut-off reply (no
    call; answer in text) applies to it as it does to any other model's, and its tokens count."""
    completion = getattr(exc, "completion", None)
    if type(exc).__name__ != "LengthFinishReasonError" or not getattr(completion, "choices", None):
        return None
    usage = getattr(completion, "usage", None)
    return AIMessage(completion.choices[0].message.content or "",
                     usage_metadata=openai_usage(usage.model_dump()) if usage is not None else None,
                     response_metadata={"finish_reason": "length"})


def openai_usage(usage: dict[str, Any] | None) -> dict[str, int]:
    """An OpenAI-style ``usage`` (prompt/completion/total tokens) as LangChain's usage metadata."""
    usage = usage or {}
    return {"input_tokens": usage.get("prompt_tokens") or 0, "output_tokens": usage.get("completion_tokens") or 0,
            "total_tokens": usage.get("total_tokens") or 0}


def as_tool_call_chunks(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """Complete tool calls as the chunks a streaming model sends (arguments as JSON text, indexed)."""
    return [{"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i} for i, c in enumerate(calls)]


# the inner model's calls are this model's own business: they run with no callbacks, so one
# invoke is one chat-model run to LangChain's tracers and to LangGraph's token stream (which
# would otherwise show the inner model's raw JSON), not two or three; the routed model calls
# the model it chose the same way
INNER_CALL = {"tags": ["nostream"], "callbacks": []}


def _result(message: AIMessage, source: BaseMessage, also: BaseMessage | None = None) -> ChatResult:
    """``message`` with the usage of ``source`` (and of ``also``, the deciding call before it)."""
    usage = [u for u in (getattr(source, "usage_metadata", None), getattr(also, "usage_metadata", None)) if u]
    message.usage_metadata = add_usage(*usage) if len(usage) == 2 else (usage[0] if usage else None)
    message.response_metadata = dict(getattr(source, "response_metadata", {}) or {})
    return ChatResult(generations=[ChatGeneration(message=message)])
