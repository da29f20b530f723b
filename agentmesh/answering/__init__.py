"""The answer path's parts that know no tool and no store: how a turn answers (profiles).

Imports only the config layer; memory/, tools/ and graphs/ may use it, never the reverse."""

from agentmesh.answering.profiles import AnswerProfile, decide_profile, is_small_model

__all__ = ["AnswerProfile", "decide_profile", "is_small_model"]
