"""The history normalisation both protocol encoders share (see ``protocols.history``)."""

from __future__ import annotations

from pathlib import Path

from modelslab_transport.protocols.history import normalise_history
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
