"""The history normalisation both protocol encoders share (see ``protocols.history``): blank
text dropped, system messages apart, tool calls paired with their results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelslab_transport.protocols.history import (
    ToolPairingError,
    normalise_history,
    request_cache_control,
)
from modelslab_transport.wire import (
    ChatMessage,
    FunctionCall,
    ImagePart,
    ImageURL,
    TextPart,
    ToolCall,
)

EPHEMERAL = {"type": "ephemeral"}


def _call(call_id: str) -> ToolCall:
    return ToolCall(id=call_id, function=FunctionCall(name="f", arguments="{}"))


def test_normalise_history_drops_blank_text_and_empty_turns() -> None:
    messages = [
        ChatMessage(role="developer", content="rules"),
        ChatMessage(role="user", content=[TextPart(text=" "), TextPart(text="\n\t")]),
        ChatMessage(role="user", content="hi"),
        ChatMessage(role="assistant", content=" ", tool_calls=[_call("c1")]),
        ChatMessage(role="tool", content=[TextPart(text="  ")], tool_call_id="c1"),
        ChatMessage(role="assistant", content="\n"),
        ChatMessage(role="system", content=" "),
        ChatMessage(role="system", content="late"),
    ]
    conversation = normalise_history(messages)
    assert [(m.role, m.content) for m in conversation.system] == [
        ("developer", "rules"),
        ("system", "late"),
    ]
    assert [(m.role, m.content) for m in conversation.turns] == [
        ("user", "hi"),
        ("assistant", None),
        ("tool", ""),
    ]
    assert conversation.turns[1].tool_calls == [_call("c1")]


def test_a_cache_marker_on_a_dropped_part_moves_to_the_part_before() -> None:
    image = ImagePart(image_url=ImageURL(url="https://e.com/a.png"))
    message = ChatMessage(role="user", content=[image, TextPart(text=" ", cache_control=EPHEMERAL)])
    (kept,) = normalise_history([message]).turns
    assert kept.content == [image.model_copy(update={"cache_control": EPHEMERAL})]


def test_histories_are_normalised_and_encoded_in_one_place_per_protocol() -> None:
    """Only the encoders normalise histories or build Messages request blocks."""
    root = Path(__file__).resolve().parents[4]
    allowed = {
        "normalise_history(": {"history.py", "encode_chat.py", "encode_messages.py"},
        "BlockParam(": {"encode_messages.py"},
        "MessageParam(": {"encode_messages.py"},
    }
    packages = ("modelslab_transport", "langchain_modelslab", "llama_index_modelslab")
    found: dict[str, set[str]] = {needle: set() for needle in allowed}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            if path.parent.name == "wire":
                continue  # the type definitions themselves
            source = path.read_text()
            for needle in allowed:
                if needle in source:
                    found[needle].add(path.name)
    assert found["normalise_history("], "no source file was read"
    for needle, files in found.items():
        assert files <= allowed[needle], (needle, files - allowed[needle])


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
