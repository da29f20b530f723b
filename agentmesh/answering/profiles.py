"""Two ways of answering, decided once per agent from the model actually used.

* ``constrained``: for small models (the embedded 135M one, or any model marked small). The
  framework reads the question, offers one tool at a time above a similarity floor, lets the
  model pick evidence lines rather than write the answer, and never shows an unsupported claim.
* ``open``: for capable models. The model chooses among the tools, writes its SQL/SPARQL and its
  answer; the framework checks the answer's claims against the evidence and marks what it
  cannot support, but no reading rule overrides the model.

``answer_profile = "auto"`` (the default) decides from the model *object*: a model is small when
it is the embedded one, or when it says so itself (``model.metadata["answer_profile"] =
"constrained"``, the way a plugin's small model declares it). A setting's explicit value
(``top_k_tools``, ``answer_check``, ...) always wins over the profile's default.

>>> from agentmesh.config import Settings
>>> from agentmesh.models.testing import FakeToolChatModel
>>> decide_profile(Settings(), FakeToolChatModel(responses=[])).name
'open'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from agentmesh.config import Settings

__all__ = ["AnswerProfile", "decide_profile", "is_small_model", "EMBEDDED_LLM_TYPE"]

ProfileName = Literal["constrained", "open"]
EMBEDDED_LLM_TYPE = "agentmesh-embedded-llamacpp"


@dataclass(frozen=True)
class AnswerProfile:
    """The limits and checks an agent runs with, and why (shown in ``ask --json`` and traces)."""

    name: ProfileName
    tools_per_question: int
    tool_floor: float
    history_budget: int
    answer_check: Literal["strict", "flag", "off"]
    answer_style: Literal["free", "pick"]
    reason: str

    @property
    def constrained(self) -> bool:
        return self.name == "constrained"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_small_model(model: Any) -> bool:
    """The model is the embedded one, or declares itself small in its metadata."""
    if model is None:
        return False
    declared = (getattr(model, "metadata", None) or {}).get("answer_profile")
    if declared in ("constrained", "open"):
        return declared == "constrained"
    return getattr(model, "_llm_type", "") == EMBEDDED_LLM_TYPE


def decide_profile(settings: "Settings", model: Any) -> AnswerProfile:
    """The profile for ``model`` under ``settings`` (``answer_profile``: auto, constrained, open)."""
    if settings.answer_profile != "auto":
        name: ProfileName = settings.answer_profile
        reason = f"answer_profile = {name!r} in the settings"
    elif is_small_model(model):
        name, reason = "constrained", f"the model ({_model_name(model)}) is a small model"
    else:
        name, reason = "open", f"the model ({_model_name(model)}) is not marked small"
    small = name == "constrained"
    return AnswerProfile(
        name=name,
        tools_per_question=settings.top_k_tools if settings.top_k_tools is not None else (1 if small else 4),
        tool_floor=settings.tool_min_similarity if settings.tool_min_similarity is not None else (0.4 if small else 0.0),
        history_budget=settings.history_tokens if settings.history_tokens is not None
        else (min(6000, settings.n_ctx - settings.max_tokens - 1024) if small else 16000),
        answer_check=settings.answer_check or ("strict" if small else "flag"),
        answer_style=settings.answer_style or ("pick" if small else "free"),
        reason=reason,
    )


def _model_name(model: Any) -> str:
    for attr in ("model_name", "model", "_llm_type"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__
