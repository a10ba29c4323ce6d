"""Wire types of the Messages protocol: request bodies exact, replies lenient."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from modelslab_transport.wire.messages import (
    ContentBlock,
    CountTokensRequest,
    Message,
    MessageParam,
    MessagesRequest,
    MessageStreamEvent,
    StreamDelta,
    TextBlockParam,
)
from tests.support.wire_requests import messages_request


def test_messages_request_payload() -> None:
    request = messages_request(system="sys", stop_sequences=["END"], tools=[{"name": "f"}], top_k=5)
    payload = request.to_payload()
    assert payload["system"] == "sys"
    assert payload["stop_sequences"] == ["END"]
    assert payload["top_k"] == 5
    assert payload["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]
    assert "stream" not in payload


def test_count_tokens_request_keeps_extras() -> None:
    payload = CountTokensRequest(
        model="m", messages=[{"role": "user", "content": "x"}], thinking={"type": "off"}
    ).to_payload()
    assert payload == {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "off"},
    }


def test_message_text_joins_text_blocks_only() -> None:
    message = Message.model_validate(
        {
            "content": [
                {"type": "thinking", "thinking": "hmm"},
                {"type": "text", "text": "A"},
                {"type": "tool_use", "id": "t", "name": "f", "input": {}},
                {"type": "text", "text": "B"},
            ]
        }
    )
    assert message.text == "AB"
    assert message.content[0].thinking == "hmm"


def test_message_stream_event_accepts_unknown_types() -> None:
    event = MessageStreamEvent.model_validate({"type": "future_event", "payload": 1})
    assert event.type == "future_event"
    assert event.model_extra == {"payload": 1}


@pytest.mark.parametrize(
    "choice", [{"type": "auto"}, {"type": "any"}, {"type": "none"}, {"type": "tool", "name": "f"}]
)
def test_accepted_tool_choices(choice: dict[str, Any]) -> None:
    assert messages_request(tool_choice=choice).to_payload()["tool_choice"] == choice


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ({"type": "required"}, "tool_choice type must be 'auto', 'any', 'tool' or 'none'"),
        ({}, "got None"),
        ({"type": "tool"}, "needs the tool's 'name'"),
        ({"type": "tool", "name": ""}, "needs the tool's 'name'"),
    ],
)
def test_refused_tool_choices_say_why(choice: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        messages_request(tool_choice=choice)


def test_the_messages_protocols_ranges_are_checked() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        messages_request(temperature=1.5)
    with pytest.raises(ValidationError, match="at least 1 item"):
        MessagesRequest(model="m", max_tokens=1, messages=[])
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        messages_request(max_tokens=0)


def test_request_parts_refuse_unknown_fields_and_roles() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        TextBlockParam(text="x", colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="'user' or 'assistant'"):
        MessageParam(role="system", content="x")  # type: ignore[arg-type]
    param = MessageParam.model_validate(
        {"role": "user", "content": [{"type": "text", "text": "x"}]}
    )
    assert isinstance(param.content, list)
    assert isinstance(param.content[0], TextBlockParam)


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ('{"city": "Paris"}', {"city": "Paris"}),
        ('  {"a": [1]}', {"a": [1]}),
        ("{not json", "{not json"),
        ("[1, 2]", "[1, 2]"),
        ({"a": 1}, {"a": 1}),
        (None, None),
    ],
)
def test_a_tool_use_input_sent_as_json_text_is_read_as_the_object(given: Any, read: Any) -> None:
    assert ContentBlock(type="tool_use", input=given).input == read


def test_partial_json_sent_as_an_object_is_read_as_its_json_text() -> None:
    assert StreamDelta(partial_json={"a": 1}).partial_json == '{"a": 1}'
    assert StreamDelta(partial_json='{"a"').partial_json == '{"a"'


def test_a_stream_event_carries_its_parts() -> None:
    event = MessageStreamEvent.model_validate(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens"},
            "usage": {"output_tokens": 7},
        }
    )
    assert event.delta is not None
    assert event.delta.stop_reason == "max_tokens"
    assert event.usage is not None
    assert event.usage.output_tokens == 7


def test_a_reply_with_nothing_in_it_is_an_empty_assistant_message() -> None:
    message = Message.model_validate({})
    assert (message.role, message.content, message.text, message.usage) == (
        "assistant",
        [],
        "",
        None,
    )
    assert CountTokensRequest(model="m", messages=[{"role": "user", "content": "x"}]).system is None
