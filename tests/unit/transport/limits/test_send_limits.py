"""The nesting limit on what a request sends: how depth is counted, which parts are checked,
and the refusal naming the part."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelslab_transport.errors import LocalRequestError
from modelslab_transport.limits.send_limits import (
    MAX_SEND_DEPTH,
    check_count_limits,
    check_send_limits,
    nesting_depth,
)
from modelslab_transport.wire.chat import (
    ChatMessage,
    FunctionCall,
    FunctionDefinition,
    Tool,
    ToolCall,
)
from tests.support.wire_requests import chat_request


def nested(levels: int) -> dict[str, Any]:
    """A JSON object nesting ``levels`` levels of objects (``{}`` is one)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _calling(arguments: str) -> list[ChatMessage]:
    call = ToolCall(id="c1", function=FunctionCall(name="lookup", arguments=arguments))
    return [
        ChatMessage(role="user", content="hi"),
        ChatMessage(role="assistant", tool_calls=[call]),
        ChatMessage(role="tool", tool_call_id="c1", content="r"),
    ]


def test_tool_arguments_over_the_limit_are_refused_naming_the_call() -> None:
    request = chat_request(messages=_calling(json.dumps(nested(MAX_SEND_DEPTH + 1))))
    with pytest.raises(LocalRequestError) as caught:
        check_send_limits(request)
    text = str(caught.value)
    assert f"more than {MAX_SEND_DEPTH} levels" in text
    assert "tool call 'lookup' (id 'c1') in message 1 (assistant)" in text


def test_tool_arguments_at_the_limit_pass() -> None:
    check_send_limits(chat_request(messages=_calling(json.dumps(nested(MAX_SEND_DEPTH)))))


def test_arguments_too_deep_for_the_json_parser_are_refused() -> None:
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(LocalRequestError, match="tool call 'lookup'"):
        check_send_limits(chat_request(messages=_calling(deep)))


@pytest.mark.parametrize("arguments", ["not json", '"a string"', "42", ""])
def test_arguments_that_are_no_json_container_are_not_this_rules_concern(arguments: str) -> None:
    check_send_limits(chat_request(messages=_calling(arguments)))


def test_a_tool_schema_over_the_limit_is_refused_naming_the_tool() -> None:
    tool = Tool(function=FunctionDefinition(name="deep", parameters=nested(MAX_SEND_DEPTH + 1)))
    with pytest.raises(LocalRequestError, match="the parameters schema of tool 'deep'"):
        check_send_limits(chat_request(tools=[tool]))
    with pytest.raises(LocalRequestError, match="the parameters schema of tool 'deep'"):
        check_count_limits([ChatMessage(role="user", content="hi")], [tool])


def test_response_format_and_extra_fields_are_checked() -> None:
    deep = nested(MAX_SEND_DEPTH + 1)
    with pytest.raises(LocalRequestError, match="the request field 'response_format'"):
        check_send_limits(chat_request(response_format=deep))
    with pytest.raises(LocalRequestError, match="the request field 'metadata'"):
        check_send_limits(chat_request(metadata=deep))
    check_send_limits(chat_request(metadata=nested(MAX_SEND_DEPTH)))


def test_count_limits_check_the_messages_tool_calls() -> None:
    with pytest.raises(LocalRequestError, match="tool call 'lookup'"):
        check_count_limits(_calling(json.dumps(nested(MAX_SEND_DEPTH + 1))), [])
    check_count_limits(_calling(json.dumps(nested(MAX_SEND_DEPTH))), [])


@pytest.mark.parametrize("container", [tuple, list])
def test_tuples_count_as_arrays(container: type) -> None:
    assert nesting_depth(container([container([1])])) == 2
    assert nesting_depth({"a": container()}, limit=1) == 2


@pytest.mark.parametrize(
    ("value", "depth"),
    [(1, 0), ("[[[]]]", 0), ({}, 1), ([], 1), ({"a": []}, 2), ([1, [2, [3]], {}], 3)],
)
def test_nesting_depth_counts_levels_of_arrays_and_objects(value: Any, depth: int) -> None:
    assert nesting_depth(value) == depth
    assert nesting_depth(nested(500)) == MAX_SEND_DEPTH + 1  # stops past the limit
