"""Claims an answer makes, checked against the evidence of its run, and answers made of evidence.

The names callers have always imported from here; each part lives in the module of
``agentmesh.answering`` that does its job:

* ``numbers``: numbers, units and dates as texts write them (``number_values``);
* ``names``: names, and where a text says one whole (``whole_name``, ``said_whole``);
* ``questions``: what a question asks, read from its words (``asked_fields``, ``first_ask``);
* ``rows``: evidence items as tool results become them (``tool_source``, ``row_names``);
* ``picking``: answers made of evidence lines (``quotable``, ``complete``, ``evidence_answer``);
* ``worked``: quantities worked out from the evidence (``worked_out``, ``unworked``);
* ``checker``: the claim checker (``ClaimChecker``), the default :class:`AnswerCheck`.

>>> checker = ClaimChecker(labels=["Mixtral 8x7B", "Mistral AI"])
>>> items = [Evidence(id="f1", kind="fact", text="Mixtral 8x7B — developer: Mistral AI", source="urn:x")]
>>> [c.status for c in checker.check("Mixtral 8x7B is developed by Mistral AI.", items)]
['supported', 'supported', 'supported']
"""

from __future__ import annotations

from agentmesh.answering.checker import ClaimChecker, cut_repetition
from agentmesh.answering.names import said_whole, whole_name
from agentmesh.answering.numbers import MONTHS, number_values
from agentmesh.answering.picking import (ANSWER_TOOL, EVIDENCE_HEADER, MAX_QUOTES, NOT_FOUND, PARTIAL_HEADER, answerable,
                                         asked_facts, complete, evidence_answer, facts_of, picked, picked_answer,
                                         picks_for, quotable, uncovered)
from agentmesh.answering.questions import asked_fields, first_ask
from agentmesh.answering.rows import ROW_WHERE, row_names, tool_source
from agentmesh.answering.worked import (DERIVED_HEADER, RECORDED_VALUE_TOOLS, unworked, unworked_answer, worked_cost,
                                        worked_gap, worked_out, worked_share)
from agentmesh.ports import AnswerCheck
from agentmesh.records import Claim, Evidence

__all__ = ["AnswerCheck", "Claim", "ClaimChecker", "Evidence", "cut_repetition", "evidence_answer", "tool_source", "ROW_WHERE", "asked_fields",
           "ANSWER_TOOL", "quotable", "picked", "picked_answer", "picks_for",
           "answerable", "asked_facts", "complete", "first_ask", "said_whole", "number_values", "unworked", "unworked_answer", "DERIVED_HEADER", "uncovered", "PARTIAL_HEADER",
           "worked_out", "worked_share", "worked_cost", "worked_gap", "whole_name", "RECORDED_VALUE_TOOLS", "row_names", "facts_of"]
