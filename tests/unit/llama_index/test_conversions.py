"""LlamaIndex messages and tools to the wire: content blocks, tool calls, reasoning, tools."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import (
    CacheControl,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

from llama_index_modelslab.conversions import (
    message_to_wire,
    messages_to_wire,
    tool_to_wire,
)
from modelslab_transport.wire import ImagePart


def test_text_blocks_join_into_one_string_with_roles_mapped() -> None:
    message = ChatMessage(
        role=MessageRole.CHATBOT, blocks=[TextBlock(text="a"), TextBlock(text="b")]
    )
    wire = message_to_wire(message)
    assert (wire.role, wire.content) == ("assistant", "a\nb")
    named = message_to_wire(ChatMessage(role="user", content="hi", additional_kwargs={"name": "x"}))
    assert named.name == "x"


def test_images_documents_and_cache_points_become_parts() -> None:
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="look"),
            ImageBlock(url="https://e.com/a.png", detail="low"),
            CachePoint(cache_control=CacheControl(type="ephemeral")),
            DocumentBlock(data=b"hello", document_mimetype="text/plain", title="t.txt"),
        ],
    )
    content = message_to_wire(message).content
    assert isinstance(content, list)
    assert [part.type for part in content] == ["text", "image_url", "file"]
    image = content[1]
    assert isinstance(image, ImagePart)
    assert (image.image_url.url, image.image_url.detail) == ("https://e.com/a.png", "low")
    assert image.cache_control == {"type": "ephemeral", "ttl": "5m"}  # LlamaIndex's default ttl


def test_refusals_name_what_to_change() -> None:
    with pytest.raises(ValueError, match="a CachePoint marks the content block before it"):
        message_to_wire(
            ChatMessage(
                role="user", blocks=[CachePoint(cache_control=CacheControl(type="ephemeral"))]
            )
        )
    with pytest.raises(ValueError, match=r"needs additional_kwargs\['tool_call_id'\]"):
        message_to_wire(ChatMessage(role="tool", content="r"))


def test_tool_calls_from_blocks_and_from_legacy_kwargs() -> None:
    blocks = ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id="c1", tool_name="f", tool_kwargs={"x": "é"})],
    )
    wire = message_to_wire(blocks)
    assert wire.content is None
    assert wire.tool_calls is not None
    assert (wire.tool_calls[0].id, wire.tool_calls[0].function.arguments) == ("c1", '{"x": "é"}')
    legacy = ChatMessage(
        role="assistant",
        content="",
        additional_kwargs={"tool_calls": [{"function": {"name": "g", "arguments": {"y": 1}}}]},
    )
    (call,) = message_to_wire(legacy).tool_calls or []
    assert call.function.arguments == '{"y": 1}'
    assert call.id == ""  # the encoders refuse an id-less history call (ToolPairingError)
    assert call.id == message_to_wire(legacy).tool_calls[0].id  # type: ignore[index]
    with pytest.raises(ValueError, match="unrecognised tool call"):
        message_to_wire(ChatMessage(role="assistant", additional_kwargs={"tool_calls": [3]}))


def test_thinking_blocks_travel_as_reasoning() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="hmm", additional_information={"signature": "sig"}),
            ThinkingBlock(
                content=None, additional_information={"type": "redacted_thinking", "data": "x"}
            ),
            TextBlock(text="answer"),
        ],
    )
    wire = message_to_wire(message)
    assert wire.reasoning_content == "hmm"
    assert [(s.type, s.signature or s.data) for s in wire.signed_reasoning or []] == [
        ("thinking", "sig"),
        ("redacted_thinking", "x"),
    ]
    assert len(messages_to_wire([ChatMessage(role="user", content="q"), message])) == 2


def test_tool_to_wire_describes_the_tool_and_closes_it_when_strict() -> None:
    def lookup(city: str, days: int = 1) -> str:
        """Look up the weather."""
        return city

    tool = FunctionTool.from_defaults(fn=lookup)
    wire = tool_to_wire(tool)
    assert wire.function.name == "lookup"
    assert "Look up the weather" in (wire.function.description or "")
    assert wire.function.strict is None
    strict = tool_to_wire(tool, strict=True)
    assert strict.function.strict is True
    assert strict.function.parameters["additionalProperties"] is False
