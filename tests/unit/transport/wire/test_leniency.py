"""Replies whose optional members come in another JSON type: repaired, never the answer lost."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from modelslab_transport.wire import ChatCompletion, ChatCompletionChunk, Message
from modelslab_transport.wire.leniency import validate_leniently


def _completion(**top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "c",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}],
    }
    body.update(top)
    return body


@pytest.mark.parametrize(
    ("top", "check"),
    [
        ({"usage": {"prompt_tokens": None, "completion_tokens": 2}}, ("usage", (0, 2))),
        ({"usage": "n/a"}, ("usage", None)),
        ({"created": "2024-04-05T10:00:00Z"}, ("created", None)),
        ({"created": "1712345678"}, ("created", 1712345678)),
        ({"id": {"v": 1}, "model": ["m"]}, ("id", None)),
        ({"system_fingerprint": 7}, ("system_fingerprint", None)),
    ],
)
def test_optional_metadata_of_another_type_takes_its_default(
    top: dict[str, Any], check: tuple[str, Any]
) -> None:
    completion = validate_leniently(ChatCompletion, _completion(**top))
    assert completion.choices[0].message.text == "Hi"
    name, expected = check
    value = getattr(completion, name)
    if name == "usage" and value is not None:
        value = (value.prompt_tokens, value.completion_tokens)
    assert value == expected


def test_null_index_role_and_finish_reason_of_another_type() -> None:
    body = _completion()
    body["choices"][0].update(index=None, finish_reason={"type": "stop"})
    body["choices"][0]["message"]["role"] = None
    completion = validate_leniently(ChatCompletion, body)
    choice = completion.choices[0]
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, None, "assistant")
    assert choice.message.text == "Hi"


def test_unknown_finish_reason_strings_are_kept() -> None:
    body = _completion()
    body["choices"][0]["finish_reason"] = "eos_token"
    assert validate_leniently(ChatCompletion, body).choices[0].finish_reason == "eos_token"


def test_null_choices_in_a_usage_chunk_and_null_delta() -> None:
    chunk = validate_leniently(
        ChatCompletionChunk,
        {"choices": None, "usage": {"prompt_tokens": 3, "completion_tokens": 1}},
    )
    assert chunk.choices == []
    assert chunk.usage is not None
    assert chunk.usage.total == 4
    with_null_delta = validate_leniently(
        ChatCompletionChunk, {"choices": [{"index": 0, "delta": None, "finish_reason": "stop"}]}
    )
    assert with_null_delta.choices[0].finish_reason == "stop"


def test_a_single_content_block_is_read_as_a_list_of_one() -> None:
    body = _completion()
    body["choices"][0]["message"]["content"] = {"type": "text", "text": "Hi there"}
    assert validate_leniently(ChatCompletion, body).choices[0].message.text == "Hi there"


def test_tool_call_index_of_another_type_is_not_guessed() -> None:
    """A tool call's index says which call a fragment belongs to: it is never dropped."""
    chunk = {"choices": [{"delta": {"tool_calls": [{"index": {"n": 0}, "function": {}}]}}]}
    with pytest.raises(ValidationError):
        validate_leniently(ChatCompletionChunk, chunk)


def test_answer_members_of_another_type_still_fail() -> None:
    body = _completion()
    body["choices"][0]["message"]["content"] = 42
    with pytest.raises(ValidationError):
        validate_leniently(ChatCompletion, body)


def test_messages_reply_with_null_role_and_odd_stop_reason() -> None:
    message = validate_leniently(
        Message,
        {
            "role": None,
            "stop_reason": ["end_turn"],
            "content": [{"type": "text", "text": "Hi"}],
            "usage": {"input_tokens": None, "output_tokens": "3"},
        },
    )
    assert (message.role, message.stop_reason, message.text) == ("assistant", None, "Hi")
    assert message.usage is not None
    assert message.usage.output_tokens == 3


def test_arguments_and_partial_json_as_objects_and_input_as_text() -> None:
    chunk = ChatCompletionChunk.model_validate(
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": {"a": 1}}}]}}
            ]
        }
    )
    calls = chunk.choices[0].delta.tool_calls
    assert calls is not None
    assert calls[0].function.arguments == '{"a": 1}'
    message = Message.model_validate(
        {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": '{"a": 1}'}]}
    )
    assert message.content[0].input == {"a": 1}
    kept = Message.model_validate(
        {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": "not json"}]}
    )
    assert kept.content[0].input == "not json"
