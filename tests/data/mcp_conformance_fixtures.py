"""The fixtures the MCP conformance suite's server scenarios call by name (tools test_*, resources
test://..., prompts test_*), added to `agentmesh mcp serve` through its extension point
(``mcp_extensions = ["mcp_conformance_fixtures:register"]``), as a user adds tools of their own.

They are test data: .ci/mcp-conformance loads them, agentmesh never does. They show that content
of every kind (images, audio, embedded resources), logging, progress, sampling and elicitation
travel through agentmesh's server, its token check and its extension point unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import json

from mcp.server.fastmcp import Context, Image
from mcp.types import (
    AudioContent,
    EmbeddedResource,
    ImageContent,
    SamplingMessage,
    TextContent,
    TextResourceContents,
)

# a 1x1 red PNG and a 1-sample WAV, the smallest valid files of each kind
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
WAV = (b"RIFF" + (38).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little") + (1).to_bytes(2, "little")
       + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little") + (16000).to_bytes(4, "little")
       + (2).to_bytes(2, "little") + (16).to_bytes(2, "little") + b"data" + (2).to_bytes(4, "little") + b"\x00\x00")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def register(server) -> None:  # noqa: C901 - one fixture after the other
    @server.tool()
    def test_simple_text() -> str:
        """Returns simple text."""
        return "This is a simple text response for testing."

    @server.tool()
    def test_image_content() -> Image:
        """Returns an image."""
        return Image(data=PNG, format="png")

    @server.tool()
    def test_audio_content() -> list:
        """Returns audio."""
        return [AudioContent(type="audio", data=_b64(WAV), mimeType="audio/wav")]

    @server.tool()
    def test_embedded_resource() -> list:
        """Returns an embedded resource."""
        return [EmbeddedResource(type="resource", resource=TextResourceContents(
            uri="test://embedded-resource", mimeType="text/plain", text="This is an embedded resource content."))]

    @server.tool()
    def test_multiple_content_types() -> list:
        """Returns text, an image and a resource."""
        return [TextContent(type="text", text="Multiple content types test:"),
                ImageContent(type="image", data=_b64(PNG), mimeType="image/png"),
                EmbeddedResource(type="resource", resource=TextResourceContents(
                    uri="test://mixed-content-resource", mimeType="application/json",
                    text=json.dumps({"test": "data", "value": 123})))]

    @server.tool()
    async def test_tool_with_logging(ctx: Context) -> str:
        """Logs three times while it runs."""
        await ctx.info("Tool execution started")
        await asyncio.sleep(0.05)
        await ctx.info("Tool processing data")
        await asyncio.sleep(0.05)
        await ctx.info("Tool execution completed")
        return "Tool with logging executed successfully"

    @server.tool()
    async def test_tool_with_progress(ctx: Context) -> str:
        """Reports progress 0, 50, 100 of 100."""
        for done in (0, 50, 100):
            await ctx.report_progress(done, 100)
            if done < 100:
                await asyncio.sleep(0.05)
        return "Tool with progress executed successfully"

    @server.tool()
    def test_error_handling() -> str:
        """Always fails."""
        raise ValueError("This tool intentionally returns an error for testing")

    @server.tool()
    async def test_sampling(prompt: str, ctx: Context) -> str:
        """Asks the client's model."""
        reply = await ctx.session.create_message(
            messages=[SamplingMessage(role="user", content=TextContent(type="text", text=prompt))], max_tokens=100)
        return f"LLM response: {getattr(reply.content, 'text', reply.content)}"

    @server.tool()
    async def test_elicitation(message: str, ctx: Context) -> str:
        """Asks the user for a name and an email."""
        reply = await ctx.session.elicit(message=message, requestedSchema={
            "type": "object", "required": ["username", "email"],
            "properties": {"username": {"type": "string", "description": "User's response"},
                           "email": {"type": "string", "description": "User's email address"}}})
        return f"User response: action={reply.action}, content={json.dumps(reply.content)}"

    @server.tool()
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
        """Asks with a default for each primitive type."""
        reply = await ctx.session.elicit(message="Please review and update the form fields with defaults", requestedSchema={
            "type": "object", "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"],
                           "default": "active"},
                "verified": {"type": "boolean", "description": "Verification status", "default": True}}})
        return f"Elicitation completed: action={reply.action}, content={json.dumps(reply.content)}"

    @server.tool()
    async def test_elicitation_sep1330_enums(ctx: Context) -> str:
        """Asks with the five enum shapes."""
        reply = await ctx.session.elicit(message="Please select options from the enum fields", requestedSchema={
            "type": "object", "properties": {
                "untitledSingle": {"type": "string", "description": "Select one option",
                                   "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "description": "Select one option with titles", "oneOf": [
                    {"const": "value1", "title": "First Option"}, {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}]},
                "legacyEnum": {"type": "string", "description": "Select one option (legacy)", "enum": ["opt1", "opt2", "opt3"],
                               "enumNames": ["Option One", "Option Two", "Option Three"]},
                "untitledMulti": {"type": "array", "description": "Select multiple options",
                                  "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                "titledMulti": {"type": "array", "description": "Select multiple options with titles", "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"}, {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}]}}}})
        return f"Elicitation completed: action={reply.action}, content={json.dumps(reply.content)}"

    @server.resource("test://static-text", name="static-text", mime_type="text/plain", description="A static text resource")
    def static_text() -> str:
        return "This is the content of the static text resource."

    @server.resource("test://static-binary", name="static-binary", mime_type="image/png", description="A static PNG")
    def static_binary() -> bytes:
        return PNG

    @server.resource("test://template/{id}/data", name="template", mime_type="application/json", description="Per id")
    def template(id: str) -> str:  # noqa: A002 - the suite's name
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    @server.resource("test://watched-resource", name="watched", mime_type="text/plain", description="Can be subscribed to")
    def watched() -> str:
        return "Watched resource content"

    @server.prompt()
    def test_simple_prompt() -> str:
        """A simple prompt."""
        return "This is a simple prompt for testing."

    @server.prompt()
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        """A prompt with two arguments."""
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @server.prompt()
    def test_prompt_with_embedded_resource(resourceUri: str) -> list:  # noqa: N803 - the suite's name
        """A prompt embedding a resource."""
        return [{"role": "user", "content": EmbeddedResource(type="resource", resource=TextResourceContents(
                    uri=resourceUri, mimeType="text/plain", text="Embedded resource content for testing."))},
                {"role": "user", "content": TextContent(type="text", text="Please process the embedded resource above.")}]

    @server.prompt()
    def test_prompt_with_image() -> list:
        """A prompt with an image."""
        return [{"role": "user", "content": ImageContent(type="image", data=_b64(PNG), mimeType="image/png")},
                {"role": "user", "content": TextContent(type="text", text="Please analyze the image above.")}]
