"""The token estimate used where a server has no count_tokens endpoint: plain arithmetic."""

from __future__ import annotations

import math

from modelslab_transport.chat.token_estimate import (
    CHARACTERS_PER_TOKEN,
    IMAGE_TOKENS,
    TOKENS_PER_MESSAGE,
    estimate_tokens,
)
from modelslab_transport.wire.chat import (
    ChatMessage,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    TextPart,
    Tool,
    ToolCall,
)


def _tokens(characters: int) -> int:
    return TOKENS_PER_MESSAGE + math.ceil(characters / CHARACTERS_PER_TOKEN)


def test_nothing_is_zero() -> None:
    assert estimate_tokens([]) == 0


def test_text_messages() -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="What is 2 + 2?"),
    ]
    assert estimate_tokens(messages) == _tokens(6 + 9) + _tokens(4 + 14)


def test_an_image_part_is_a_fixed_count_whatever_its_size() -> None:
    image = ImagePart(image_url=ImageURL(url="data:image/png;base64," + "A" * 100_000))
    message = ChatMessage(role="user", content=[TextPart(text="What is this?"), image])
    assert estimate_tokens([message]) == IMAGE_TOKENS + _tokens(4 + 13)


def test_tool_calls_results_and_tools_count() -> None:
    call = ToolCall(id="call_1", function=FunctionCall(name="add", arguments='{"a":1,"b":2}'))
    messages = [
        ChatMessage(role="assistant", content=None, tool_calls=[call]),
        ChatMessage(role="tool", content="3", tool_call_id="call_1"),
    ]
    tool = Tool(function=FunctionDefinition(name="add", description="Add two numbers."))
    tool_tokens = math.ceil(len(tool.model_dump_json(exclude_none=True)) / CHARACTERS_PER_TOKEN)
    assert estimate_tokens(messages, [tool]) == (
        _tokens(9 + 3 + 13) + _tokens(4 + 1 + 6) + tool_tokens
    )
