"""LangChain messages to wire types (the history side), without any HTTP."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_modelslab.conversions import message_to_wire, messages_to_wire
from modelslab_transport.wire import ImagePart, TextPart

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
    "awAAAABJRU5ErkJggg=="
)

# ------------------------------------------------------------------ to the wire


def test_plain_roles_map_onto_wire_roles() -> None:
    wire = messages_to_wire(
        [SystemMessage("be brief"), HumanMessage("hi", name="ann"), AIMessage("hello")]
    )
    assert [(m.role, m.content, m.name) for m in wire] == [
        ("system", "be brief", None),
        ("user", "hi", "ann"),
        ("assistant", "hello", None),
    ]


def test_text_blocks_collapse_to_one_string() -> None:
    message = HumanMessage([{"type": "text", "text": "a"}, "b"])
    assert message_to_wire(message).content == "ab"


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": f"data:image/png;base64,{PNG}"},
        {"type": "image", "base64": PNG, "mime_type": "image/png"},
        {"type": "image", "source_type": "base64", "data": PNG, "mime_type": "image/png"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ],
    ids=["openai", "openai-str", "v1-base64", "v0-base64", "anthropic"],
)
def test_image_blocks_become_image_url_parts(block: dict[str, object]) -> None:
    wire = message_to_wire(HumanMessage([{"type": "text", "text": "what is it?"}, block]))
    assert isinstance(wire.content, list)
    text, image = wire.content
    assert isinstance(text, TextPart)
    assert text.text == "what is it?"
    assert isinstance(image, ImagePart)
    assert image.image_url.url == f"data:image/png;base64,{PNG}"


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "url": "https://example.com/cat.png"},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
    ],
)
def test_image_urls_pass_through(block: dict[str, object]) -> None:
    wire = message_to_wire(HumanMessage([block]))
    assert isinstance(wire.content, list)
    assert wire.model_dump(exclude_none=True)["content"] == [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    ]


def test_unsupported_blocks_are_refused() -> None:
    audio = {"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}
    with pytest.raises(ValueError, match="'audio' block"):
        message_to_wire(HumanMessage([audio]))


def test_assistant_tool_calls_and_tool_results() -> None:
    ai = AIMessage(
        [
            {"type": "text", "text": "let me add"},
            {"type": "tool_use", "id": "abc", "name": "add", "input": {"a": 1}},
            {"type": "thinking", "thinking": "hmm", "signature": "x"},
        ],
        tool_calls=[{"name": "add", "args": {"a": 1, "b": "é"}, "id": "abc", "type": "tool_call"}],
    )
    wire_ai, wire_tool = messages_to_wire(
        [ai, ToolMessage("3", tool_call_id="abc", name="add", status="error")]
    )
    # The thinking block goes back: as reasoning_content on chat completions (the turn
    # follows the latest user message) and, signed, ahead of tool_use on Messages.
    assert wire_ai.signed_reasoning is not None
    assert wire_ai.signed_reasoning[0].signature == "x"
    assert wire_ai.model_dump(exclude_none=True) == {
        "role": "assistant",
        "content": "let me add",
        "reasoning_content": "hmm",
        "tool_calls": [
            {
                "id": "abc",
                "type": "function",
                "function": {"name": "add", "arguments": '{"a": 1, "b": "é"}'},
            }
        ],
    }
    assert wire_tool.model_dump(exclude_none=True) == {
        "role": "tool",
        "content": "3",
        "tool_call_id": "abc",
    }


def test_assistant_message_with_only_tool_calls_sends_null_content() -> None:
    ai = AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c1", "type": "tool_call"}])
    assert message_to_wire(ai).content is None


def test_invalid_tool_calls_are_sent_back_verbatim() -> None:
    ai = AIMessage(
        "",
        invalid_tool_calls=[
            {"name": "f", "args": "{oops", "id": "c9", "error": "bad", "type": "invalid_tool_call"}
        ],
    )
    calls = message_to_wire(ai).tool_calls
    assert calls is not None
    assert (calls[0].id, calls[0].function.arguments) == ("c9", "{oops")


def test_generic_chat_message_roles() -> None:
    assert message_to_wire(ChatMessage(content="x", role="developer")).role == "developer"
    assert message_to_wire(ChatMessage(content="x", role="human")).role == "user"
    with pytest.raises(ValueError, match="no chat role"):
        message_to_wire(ChatMessage(content="x", role="narrator"))


def test_function_messages_are_refused() -> None:
    with pytest.raises(ValueError, match="FunctionMessage"):
        message_to_wire(FunctionMessage(content="x", name="f"))


# ----------------------------------------------------------------- from the wire
