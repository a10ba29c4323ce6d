"""Wire types: strict about what we send, lenient about what the server sends."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from modelslab_transport.wire import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    CountTokensRequest,
    Delta,
    FunctionCall,
    ImagePart,
    ImageURL,
    ResponseMessage,
    TextPart,
    ToolCall,
    Usage,
    content_text,
)
from tests.support.wire_requests import chat_request, messages_request


def _mentions(error: ValidationError, word: str) -> bool:
    return any(word in str(item["loc"]) or word in item["msg"] for item in error.errors())


# ---------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: ChatMessage(role="tool", content="42"), "tool_call_id"),
        (lambda: chat_request(messages=[{"role": "tool", "content": "42"}]), "tool_call_id"),
        (lambda: chat_request(tool_choice="any"), "tool_choice"),
        (lambda: chat_request(tool_choice="function"), "tool_choice"),
        (lambda: messages_request(temperature=1.5), "temperature"),
        (lambda: chat_request(temperature=2.5), "temperature"),
        (lambda: chat_request(top_p=1.1), "top_p"),
        (lambda: chat_request(max_tokens=0), "max_tokens"),
        (
            lambda: ChatCompletionRequest(
                model="m", messages=[ChatMessage(role="user", content="x")]
            ),
            "max_tokens",
        ),
        (lambda: chat_request(messages=[]), "messages"),
        (lambda: ChatMessage(role="user"), "content"),
        (lambda: ChatMessage(role="robot", content="x"), "role"),
        (lambda: ChatMessage(role="user", content="x", extra_field=1), "extra_field"),
        (
            lambda: ChatMessage(
                role="user",
                content="x",
                tool_calls=[ToolCall(id="c", function=FunctionCall(name="f", arguments="{}"))],
            ),
            "tool_calls",
        ),
        (lambda: messages_request(tool_choice={"type": "required"}), "tool_choice"),
        (lambda: messages_request(tool_choice={"type": "tool"}), "name"),
        (lambda: messages_request(messages=[{"role": "system", "content": "x"}]), "role"),
        (lambda: CountTokensRequest(model="m", messages=[]), "messages"),
    ],
    ids=[
        "tool-message-without-id",
        "tool-message-in-request",
        "tool-choice-any",
        "tool-choice-unknown",
        "messages-temperature-above-1",
        "chat-temperature-above-2",
        "top-p",
        "max-tokens-zero",
        "max-tokens-missing",
        "no-messages",
        "user-without-content",
        "unknown-role",
        "unknown-message-field",
        "tool-calls-on-user",
        "messages-tool-choice-type",
        "messages-tool-choice-name",
        "messages-system-role",
        "count-tokens-no-messages",
    ],
)
def test_invalid_input_raises_a_validation_error_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    assert isinstance(caught.value, ValueError)
    assert _mentions(caught.value, field), caught.value.errors()


def test_valid_edge_values_are_accepted() -> None:
    assert chat_request(temperature=2.0).temperature == 2.0
    assert messages_request(temperature=1.0).temperature == 1.0
    assert chat_request(tool_choice="none").tool_choice == "none"
    forced = {"type": "function", "function": {"name": "f"}}
    assert chat_request(tool_choice=forced).tool_choice == forced
    assert messages_request(tool_choice={"type": "tool", "name": "f"}).tool_choice == {
        "type": "tool",
        "name": "f",
    }


# ------------------------------------------------------------------- payloads


def test_payload_drops_unset_fields_but_keeps_false_and_zero() -> None:
    request = chat_request(temperature=0, parallel_tool_calls=False, presence_penalty=0.0)
    assert request.to_payload() == {
        "model": "meta-llama-3-8B-instruct",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 64,
        "temperature": 0,
        "parallel_tool_calls": False,
        "presence_penalty": 0.0,
    }


def test_assistant_tool_call_history_serialises() -> None:
    request = chat_request(
        messages=[
            ChatMessage(role="user", content="weather?"),
            ChatMessage(
                role="assistant",
                tool_calls=[
                    ToolCall(id="c1", function=FunctionCall(name="w", arguments='{"c":"P"}'))
                ],
            ),
            ChatMessage(role="tool", tool_call_id="c1", content="sunny"),
        ]
    )
    assert request.to_payload()["messages"] == [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"c":"P"}'},
                }
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
    ]


def test_multipart_content_serialises_with_discriminator() -> None:
    message = ChatMessage(
        role="user",
        content=[
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ],
    )
    assert isinstance(message.content, list)
    assert isinstance(message.content[0], TextPart)
    assert isinstance(message.content[1], ImagePart)
    assert message.model_dump(exclude_none=True)["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,AAAA"},
    }
    assert ImagePart(image_url=ImageURL(url="u", detail="low")).image_url.detail == "low"


# ------------------------------------------------------------------- replies


def test_reply_models_keep_unknown_fields_and_tolerate_missing_ones() -> None:
    completion = ChatCompletion.model_validate(
        {"choices": [{"message": {}, "native_finish_reason": "eos"}], "provider": "X"}
    )
    assert completion.model_extra == {"provider": "X"}
    assert completion.choices[0].model_extra == {"native_finish_reason": "eos"}
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content is None
    chunk = ChatCompletionChunk.model_validate({})
    assert chunk.choices == []
    assert chunk.usage is None


def test_content_text_handles_every_shape() -> None:
    assert content_text(None) == ""
    assert content_text("plain") == "plain"
    assert content_text([{"type": "text", "text": "a"}, "b", {"type": "image"}, 3]) == "ab"
    assert ResponseMessage(content=[{"type": "text", "text": "x"}]).text == "x"
    assert Delta(content=None).text == ""


def test_usage_total() -> None:
    assert Usage(prompt_tokens=3, completion_tokens=4).total == 7
    assert Usage(prompt_tokens=3, completion_tokens=4, total_tokens=10).total == 10
    assert Usage().total == 0


def test_a_reply_call_without_an_id_gets_one_of_its_own() -> None:
    payload = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "tool_calls": [
                        {"type": "function", "function": {"name": "f", "arguments": "{}"}},
                        {
                            "id": "",
                            "type": "function",
                            "function": {"name": "g", "arguments": "{}"},
                        },
                        {"id": "c3", "type": "function", "function": {"name": "h"}},
                    ],
                }
            }
        ]
    }
    ids = [
        [
            call.id
            for call in ChatCompletion.model_validate(payload).choices[0].message.tool_calls or []
        ]
        for _ in range(2)
    ]
    for made in (ids[0][0], ids[0][1], ids[1][0], ids[1][1]):
        assert re.fullmatch(r"call_[0-9a-f]{24}", made or "")
    assert len({*ids[0], *ids[1]}) == 5  # c3, and four made ids
    assert ids[0][2] == ids[1][2] == "c3"


def test_a_stream_fragment_without_an_id_stays_without_one() -> None:
    delta = Delta.model_validate({"tool_calls": [{"index": 0, "id": "", "function": {}}]})
    assert [call.id for call in delta.tool_calls or []] == [None]


def test_a_tool_message_with_an_empty_call_id_is_left_to_the_encoders() -> None:
    message = ChatMessage(role="tool", tool_call_id="", content="x")
    assert message.tool_call_id == ""


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        ([{"index": 0, "delta": {"content": "Hi"}}], "Hi"),
        ([{"index": 0, "delta": {"content": ""}}], ""),
        ([{"delta": {"role": "assistant", "content": "a"}}], "a"),
        ([], None),
        ([{"index": 0, "delta": {"content": "a"}}, {"index": 1, "delta": {"content": "b"}}], None),
        ([{"index": 1, "delta": {"content": "b"}}], None),
        ([{"index": 0, "delta": {}}], None),
        ([{"index": 0, "delta": {"content": [{"type": "text", "text": "a"}]}}], None),
        ([{"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"}], None),
        ([{"index": 0, "delta": {"content": "a"}, "logprobs": {"content": []}}], None),
        ([{"index": 0, "delta": {"content": "", "reasoning_content": "hm"}}], None),
        (
            [
                {
                    "index": 0,
                    "delta": {
                        "content": "",
                        "tool_calls": [{"index": 0, "function": {"arguments": "{"}}],
                    },
                }
            ],
            None,
        ),
    ],
    ids=[
        "text",
        "empty text",
        "role too",
        "no choice",
        "two choices",
        "second choice",
        "no content",
        "content parts",
        "finish reason",
        "logprobs",
        "reasoning",
        "tool call",
    ],
)
def test_plain_text_is_the_text_of_a_chunk_that_brings_nothing_else(
    choices: list[dict[str, Any]], expected: str | None
) -> None:
    chunk = ChatCompletionChunk.model_validate({"id": "c", "choices": choices})
    assert chunk.plain_text() == expected
