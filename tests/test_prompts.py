"""Text the model sees is data: any change to it must come with a new PROMPTS_VERSION."""

import hashlib

from agentmesh import prompts

# Update both lines together when a template changes on purpose.
EXPECTED_VERSION = "3"
EXPECTED_DIGEST = "bb529f02d6c8b9e3"


def digest() -> str:
    text = "\n\0".join(f"{name}={getattr(prompts, name)}" for name in sorted(prompts.__all__) if name != "PROMPTS_VERSION")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_templates_changed_only_with_a_version_bump():
    assert (prompts.PROMPTS_VERSION, digest()) == (EXPECTED_VERSION, EXPECTED_DIGEST)


def test_system_prompt_exactly():
    rendered = prompts.SYSTEM_PROMPT.format(grounding=prompts.NO_GROUNDING)
    assert rendered == (
        "You are agentmesh, an assistant that answers from the organisation's own knowledge graph "
        "and data, not from memory. Use the facts below and the tools offered. If the facts do not "
        "answer the question, say so plainly. Keep answers short and name the entities you rely on.\n\n"
        "No knowledge-graph facts matched this question."
    )
