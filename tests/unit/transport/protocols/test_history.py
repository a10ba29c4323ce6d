"""``normalise_history``: tool calls paired with their results, system messages apart."""

from __future__ import annotations

from typing import Any

import pytest

from modelslab_transport.protocols.history import (
    ToolPairingError,
    normalise_history,
    request_cache_control,
)
from modelslab_transport.wire import ChatMessage, FunctionCall, ToolCall


def _calls(*ids: str) -> ChatMessage:
    return ChatMessage(
        role="assistant",
        tool_calls=[ToolCall(id=i, function=FunctionCall(name="f", arguments="{}")) for i in ids],
    )


def _result(call_id: str) -> ChatMessage:
    return ChatMessage(role="tool", tool_call_id=call_id, content=f"result {call_id}")


def _shape(messages: list[ChatMessage]) -> list[Any]:
    shape: list[Any] = []
    for message in messages:
        if message.role == "tool":
            shape.append(("tool", message.tool_call_id))
        elif message.tool_calls:
            shape.append(("calls", *(call.id for call in message.tool_calls)))
        else:
            shape.append((message.role, message.content))
    return shape


def test_results_move_up_to_their_call_turn_in_call_order() -> None:
    user = ChatMessage(role="user", content="hurry")
    system = ChatMessage(role="system", content="s")
    history = [
        ChatMessage(role="user", content="hi"),
        _calls("a", "b", "c"),
        _result("c"),
        user,
        system,
        _result("a"),
        _result("b"),
        ChatMessage(role="assistant", content="done"),
    ]
    conversation = normalise_history(history)
    assert conversation.system == [system]
    assert _shape(conversation.turns) == [
        ("user", "hi"),
        ("calls", "a", "b", "c"),
        ("tool", "a"),
        ("tool", "b"),
        ("tool", "c"),
        ("user", "hurry"),
        ("assistant", "done"),
    ]


def test_assistant_turns_after_a_call_turn_join_it() -> None:
    history = [
        ChatMessage(role="user", content="hi"),
        _calls("a"),
        ChatMessage(role="assistant", content="and"),
        _calls("b"),
        _result("b"),
        _result("a"),
    ]
    (_, joined, *results) = normalise_history(history).turns
    assert joined.content == "and"
    assert [call.id for call in joined.tool_calls or []] == ["a", "b"]
    assert [r.tool_call_id for r in results] == ["a", "b"]


def test_a_reused_id_is_numbered_and_a_taken_number_skipped() -> None:
    history = [
        ChatMessage(role="user", content="hi"),
        _calls("x"),
        _result("x"),
        _calls("x_2"),
        _result("x_2"),
        _calls("x"),
        _result("x"),
        _calls("x"),
        _result("x"),
    ]
    assert _shape(normalise_history(history).turns)[1:] == [
        ("calls", "x"),
        ("tool", "x"),
        ("calls", "x_2"),
        ("tool", "x_2"),
        ("calls", "x_3"),
        ("tool", "x_3"),
        ("calls", "x_4"),
        ("tool", "x_4"),
    ]
    assert history[5].tool_calls is not None
    assert history[5].tool_calls[0].id == "x"  # the input is not modified


@pytest.mark.parametrize(
    ("history", "ids", "words"),
    [
        ([_result("a")], ("a",), "answers no tool call"),
        ([_calls("a"), _result("a"), _calls("b"), _result("a")], ("a",), "earlier assistant"),
        ([_calls("a", "b")], ("a", "b"), "have no tool result"),
        ([_calls("a"), ChatMessage(role="assistant", content="x")], ("a",), "have no"),
        ([_calls("a"), _result("a"), _result("a")], ("a",), "two tool results"),
        ([_calls("a", "a"), _result("a")], ("a",), "two tool calls with the id"),
        ([_calls(""), _result("")], ("",), "has no id"),
        ([ChatMessage(role="user", content="hi"), _result("")], ("",), "empty tool_call_id"),
    ],
)
def test_unpaired_calls_and_results_raise_naming_the_ids(
    history: list[ChatMessage], ids: tuple[str, ...], words: str
) -> None:
    with pytest.raises(ToolPairingError, match=words) as caught:
        normalise_history(history)
    assert caught.value.ids == ids
    assert isinstance(caught.value, ValueError)


def test_request_cache_control_reads_the_extra_field() -> None:
    assert request_cache_control(None) is None
    assert request_cache_control({"seed": 1}) is None
    assert request_cache_control({"cache_control": {"type": "ephemeral"}}) == {"type": "ephemeral"}
    with pytest.raises(ValueError, match="must be a dict"):
        request_cache_control({"cache_control": True})
