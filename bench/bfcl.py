"""Function calling on BFCL through the agent's real tool-calling path, scored by BFCL's AST rules.

Each item's functions go the way the agent's own tools go: the agent's tool selector offers the
``top_k_tools`` most similar to the question (1 for the embedded default; none below
``tool_min_similarity``), they are bound with ``model.bind_tools`` (for the embedded default,
the JSON tool-calling wrapper), and the model gets the agent's system prompt with no grounding
and the item's question. The first reply is scored the way BFCL's AST checker scores it:

* simple / multiple: exactly one call, of the right function; every required argument present;
  no argument the function does not declare; each value one of the possible answers, strings
  compared case-, space- and punctuation-insensitively, an int accepted for a float;
  an optional argument may be left out only where the possible answers allow "".
* irrelevance: right when the model calls no function.

The wrapper declines a call whose numeric arguments appear nowhere in the conversation or the
tool's schema (``invented_numbers``); the "unchecked" column scores the same replies as if the
declined calls had been made, which is the baseline without that check.

Data: ../shared/data/agent/bfcl (BFCL v4 from the bfcl-eval package, Apache-2.0).

    python bench/bfcl.py [--limit 40] [--offset 0] [--model embedded] [--min-similarity 0.4]

Targets on the embedded default: simple >= 40%, irrelevance >= 80%.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CATEGORIES = {"simple": "simple_python", "multiple": "multiple", "irrelevance": "irrelevance"}
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def json_schema(schema: Any) -> Any:
    """BFCL's parameter types ("dict", "float", "tuple", "any") as JSON Schema."""
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: ({name: json_schema(prop) for name, prop in v.items()} if k == "properties" and isinstance(v, dict)
               else json_schema(v)) for k, v in schema.items() if k != "type"}
    if isinstance(schema.get("type"), str):
        kind = _TYPES.get(schema["type"], schema["type"])
        if kind is not None:
            out["type"] = kind
    return out


def as_tool(function: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": function["name"], "description": function.get("description", ""),
                                             "parameters": json_schema(function.get("parameters") or {})}}


# -- BFCL's AST rules -----------------------------------------------------------------------
def standardize(text: str) -> str:
    return re.sub(r"[ ,./\-_*^]", "", text).lower().replace("'", '"')


def _value_ok(value: Any, allowed: list[Any], kind: str | None) -> bool:
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    for option in allowed:
        if option == "":
            continue
        if isinstance(option, str) and isinstance(value, str):
            if standardize(option) == standardize(value):
                return True
        elif isinstance(option, list) and isinstance(value, list):
            if len(option) == len(value) and all(_value_ok(v, [o], None) for v, o in zip(value, option)):
                return True
        elif isinstance(option, dict) and isinstance(value, dict):
            if all(_value_ok(value.get(k), v if isinstance(v, list) else [v], None) or ("" in v and k not in value)
                   for k, v in option.items()) and set(value) <= set(option):
                return True
        elif type(option) is type(value) or (isinstance(option, float) and isinstance(value, (int, float))
                                            and not isinstance(value, bool)):
            if option == value:
                return True
    return False


def check_call(function: dict[str, Any], call: dict[str, Any], expected: dict[str, dict[str, list[Any]]]) -> str:
    """"" when ``call`` ({"name", "args"}) matches ``expected`` ({name: {arg: possible values}}), else why not."""
    name, answers = next(iter(expected.items()))
    if call["name"] != name:
        return f"wrong function {call['name']} (want {name})"
    properties = (function.get("parameters") or {}).get("properties", {})
    required = (function.get("parameters") or {}).get("required", [])
    args = call["args"] or {}
    for arg in required:
        if arg not in args:
            return f"missing required {arg}"
    for arg, value in args.items():
        if arg not in properties or arg not in answers:
            return f"unexpected argument {arg}"
        if not _value_ok(value, answers[arg], properties[arg].get("type")):
            return f"{arg}={value!r} not in {answers[arg]!r}"
    for arg, allowed in answers.items():
        if arg not in args and "" not in allowed:
            return f"missing {arg}"
    return ""


def score(category: str, item: dict[str, Any], calls: list[dict[str, Any]], gold: dict[str, Any] | None) -> str:
    if category == "irrelevance":
        return f"called {calls[0]['name']}" if calls else ""
    if len(calls) != 1:
        return "no call" if not calls else f"{len(calls)} calls"
    expected = gold["ground_truth"][0]
    function = next((f for f in item["function"] if f["name"] == calls[0]["name"]), None)
    if function is None:
        return f"unknown function {calls[0]['name']}"
    return check_call(function, calls[0], expected)


# -- the run ----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "agent" / "bfcl")
    parser.add_argument("--limit", type=int, default=40, help="items per category")
    parser.add_argument("--offset", type=int, default=0, help="skip this many items per category first")
    parser.add_argument("--min-similarity", type=float, default=None, help="tool_min_similarity (default: the setting's)")
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--show", type=int, default=3, help="print this many failures per category")
    args = parser.parse_args()
    if not (args.data / "BFCL_v4_simple_python.json").is_file():
        print(f"skipped: BFCL data not found in {args.data}; pass --data")
        return

    from types import SimpleNamespace

    from langchain_core.messages import HumanMessage, SystemMessage

    from agentmesh import Settings
    from agentmesh.models.embeddings import MiniLMEmbeddings
    from agentmesh.models.json_tools import DECLINED_CALL
    from agentmesh.models.providers import make_chat_model
    from agentmesh.answering import decide_profile
    from agentmesh.prompts import NO_GROUNDING, SYSTEM_PROMPT
    from agentmesh.tools.selection import EmbeddingToolSelector

    extra = {} if args.min_similarity is None else {"tool_min_similarity": args.min_similarity}
    settings = Settings.load(model=args.model, base_url=args.base_url, **extra)
    model = make_chat_model(settings)
    profile = decide_profile(settings, model)
    embeddings = MiniLMEmbeddings()
    system = SystemMessage(SYSTEM_PROMPT.format(grounding=NO_GROUNDING))
    print(f"model: {args.model}; items {args.offset}-{args.offset + args.limit - 1} of each category; "
          f"top_k_tools {profile.tools_per_question}, tool_min_similarity {profile.tool_floor}\n")
    print(f"{'category':<13}{'right':>7}{'of':>5}{'share':>8}{'unchecked':>11}{'p50 s':>8}")
    targets = {"simple": 0.40, "irrelevance": 0.80}
    for category, stem in CATEGORIES.items():
        items = read_jsonl(args.data / f"BFCL_v4_{stem}.json")[args.offset: args.offset + args.limit]
        if not items:
            print(f"{category:<13}  (no items from {args.offset})")
            continue
        golds = {}
        gold_file = args.data / "possible_answer" / f"BFCL_v4_{stem}.json"
        if gold_file.is_file():
            golds = {g["id"]: g for g in read_jsonl(gold_file)}
        right, right_unchecked, seconds, failures = 0, 0, [], []
        for item in items:
            question = item["question"][0][-1]["content"]
            started = time.perf_counter()
            # the agent's selector reads only a tool's name and description
            selector = EmbeddingToolSelector([SimpleNamespace(name=f["name"], description=f.get("description", ""))
                                              for f in item["function"]], embeddings,
                                             k=profile.tools_per_question, min_score=profile.tool_floor)
            offered = set(selector(question))
            tools = [as_tool(f) for f in item["function"] if f["name"] in offered]
            reply = (model.bind_tools(tools) if tools else model).invoke([system, HumanMessage(question)])
            seconds.append(time.perf_counter() - started)
            calls = [{"name": c["name"], "args": c["args"]} for c in reply.tool_calls]
            why = score(category, item, calls, golds.get(item["id"]))
            right += not why
            # the same reply had the wrapper not declined a call for invented arguments
            declined = (reply.response_metadata or {}).get(DECLINED_CALL)
            unchecked_calls = [{"name": declined["tool"], "args": declined["arguments"]}] if declined else calls
            right_unchecked += not score(category, item, unchecked_calls, golds.get(item["id"]))
            if why:
                failures.append((item["id"], why))
        share = right / len(items) if items else 0.0
        mark = ""
        if category in targets:
            ok = share >= targets[category]
            mark = f"   target >= {targets[category]:.0%}: {'met' if ok else 'NOT met'}"
        print(f"{category:<13}{right:>7}{len(items):>5}{share:>8.0%}{right_unchecked / len(items):>11.0%}"
              f"{statistics.median(seconds):>8.2f}{mark}")
        for item_id, why in failures[: args.show]:
            print(f"    {item_id}: {why}")


if __name__ == "__main__":
    main()
