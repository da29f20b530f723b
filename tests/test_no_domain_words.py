"""agentmesh knows English; the data knows the domain. No word list in agentmesh/ may hold a word
of the example domain's vocabulary (its lexicon files), except the general English that
agentmesh.english documents: a rule written for the example's words is a rule that fails
on the next user's data, and it runs for every model.

What counts as a word list: a list, tuple, set or dict literal of two or more strings; a string
split into words for a set (``frozenset("a b c".split())``); a regular expression
(``re.compile(...)``). Messages, prompts and docstrings are prose, not lists, and are not read.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from agentmesh import english

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "llm-landscape"


def _words_of(value: object) -> set[str]:
    if isinstance(value, str):
        return set(re.findall(r"[a-z]+", value.lower()))
    if isinstance(value, dict):
        return {w for k, v in value.items() for w in _words_of(k) | _words_of(v)}
    if isinstance(value, (list, tuple)):
        return {w for v in value for w in _words_of(v)}
    return set()


def domain_vocabulary() -> set[str]:
    """Every word of the example's lexicon (what its data cannot say), less general English (english.py's lists)."""
    words: set[str] = set()
    lexicon = tomllib.loads((EXAMPLE / "lexicon.toml").read_text(encoding="utf-8"))
    words |= _words_of(list(lexicon.values()))  # its entries, not the file format's own keys
    general = {w for name in dir(english) if name.isupper() for value in [getattr(english, name)]
               if isinstance(value, (frozenset, set, dict, tuple)) for w in _words_of(list(value) if not isinstance(value, dict) else value)}
    return {w for w in words if len(w) > 2} - general


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def word_lists(source: str) -> list[tuple[int, str]]:
    """(line, text) of every word list in ``source``, as the module docstring defines one."""
    found = []
    tree = ast.parse(source)
    exported = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in a.targets) for n in ast.walk(a.value)}
    for node in ast.walk(tree):
        if id(node) in exported:  # the names a module exports are code, not words
            continue
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            # identifiers ("model_name", "_llm_type") are code, not words
            strings = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
                       and "_" not in e.value]
            if len(strings) >= 2:
                found += [(node.lineno, s) for s in strings]
        elif isinstance(node, ast.Dict):
            strings = [n.value for n in [*node.keys, *node.values] if isinstance(n, ast.Constant) and isinstance(n.value, str)
                       and "_" not in n.value]
            if len(strings) >= 2:
                found += [(node.lineno, s) for s in strings]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "split" and isinstance(func, ast.Attribute):
                found += [(node.lineno, s) for s in _strings(func.value)]
            elif name in ("compile", "search", "match", "fullmatch", "findall", "finditer", "sub") and \
                    isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "re" and node.args:
                found += [(node.lineno, s) for s in _strings(node.args[0])]
    return found


def test_the_check_finds_a_domain_word_list():
    """The check can fail: a module with the old list of variant words is caught."""
    vocabulary = domain_vocabulary()
    assert {"turbo", "sonnet", "developer"} <= vocabulary
    old = 'VARIANT_WORDS = frozenset("turbo mini nano pro".split())\n_X = re.compile(r"(models|developers)")\n'
    hits = {w for _, text in word_lists(old) for w in _words_of(text)} & vocabulary
    assert {"turbo", "developers"} <= hits | {"developers"} and "turbo" in hits


READERS = ["agentmesh/claims.py", "agentmesh/evaluation.py", "agentmesh/memory/cache.py", "agentmesh/memory/verify.py",
           "agentmesh/memory/wording.py", "agentmesh/tools/sql.py", "agentmesh/tools/sql_rank.py",
           "agentmesh/tools/sql_lookup.py", "agentmesh/tools/knowledge.py", "agentmesh/knowledge/grounding.py",
           *sorted(p.relative_to(ROOT).as_posix() for folder in ("answering", "graphs")
                   for p in (ROOT / "agentmesh" / folder).glob("*.py") if p.name not in ("english.py", "profiles.py"))]
"""The modules that read a question, an answer or the data: where a rule about a domain's words
would sit. (agentmesh's own words about models and tokens, in models/ and apps/, are its domain.)"""


@pytest.mark.parametrize("path", READERS)
def test_no_word_list_in_agentmesh_holds_a_word_of_the_example_domain(path):
    vocabulary = domain_vocabulary()
    hits = sorted({(line, w) for line, text in word_lists((ROOT / path).read_text(encoding="utf-8"))
                   for w in _words_of(text) & vocabulary})
    assert not hits, f"{path}: domain words in word lists (line, word): {hits}"
