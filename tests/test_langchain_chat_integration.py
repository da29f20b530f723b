"""langchain-tests' integration suite, run against the embedded model itself (SmolLM2-135M in
process, no network): what it is promised to do, invoke, stream, batch, stop sequences, usage
metadata, tool calls through JSON-schema constrained output, structured output, it does with
real generation, as a LangChain user would meet it. Inputs it has no way to read (images,
audio, PDF) are declared unsupported, so the suite skips those tests and says why."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

pytest.importorskip("xllamacpp", reason="the embedded model needs xllamacpp (the default install has it)")


def _missing_model() -> str:
    from agentmesh.models.embedded import smollm2_path

    try:
        smollm2_path()
    except Exception as exc:  # visible in the report, never silent
        return f"embedded model not installed: {exc}"
    return ""


pytestmark = pytest.mark.skipif(bool(_missing_model()), reason=_missing_model() or "-")


@pytest.mark.asyncio
class TestEmbeddedChatModelIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self):
        from agentmesh.models.embedded import EmbeddedChatModel

        return EmbeddedChatModel

    @property
    def chat_model_params(self) -> dict:
        return {"max_tokens": 160}  # short replies: the suite checks their shape, not their length

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True
