"""The answer path's parts that know no tool and no store: how a turn answers (profiles), and the
claim checker's parts by job: numbers and units (numbers), names (names), what a question asks
(questions), tool results as evidence (rows), answers picked from evidence (picking), worked-out
arithmetic (worked) and the checker itself (checker); ``agentmesh.claims`` re-exports them.

Imports only the records and config layers; models/, memory/, tools/ and graphs/ may use it, never
the reverse."""

from agentmesh.answering.profiles import AnswerProfile, decide_profile, is_small_model

__all__ = ["AnswerProfile", "decide_profile", "is_small_model"]
