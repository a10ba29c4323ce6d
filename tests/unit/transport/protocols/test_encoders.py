"""The request encoders of both protocols and the normalisation they share.

Framework-level bodies are asserted in ``tests/langchain/test_history_encoding.py`` and
``tests/llama_index/test_history_encoding.py``; here the encoders are given wire
requests directly.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from modelslab_transport.protocols.encode_chat import encode_chat_request
from modelslab_transport.protocols.encode_messages import (
    chat_request_to_messages,
    count_tokens_request,
    messages_tool_id,
)
from modelslab_transport.protocols.history import UnsupportedContentError, normalise_history
from modelslab_transport.wire import (
    ChatMessage,
    FileData,
    FilePart,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    TextPart,
    Tool,
    ToolCall,
)
from tests.support.wire_requests import chat_request

ANTHROPIC_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
EPHEMERAL = {"type": "ephemeral"}


def _call(call_id: str) -> ToolCall:
    return ToolCall(id=call_id, function=FunctionCall(name="f", arguments="{}"))


# ------------------------------------------------------------------ tool-call ids


@pytest.mark.parametrize("call_id", ["toolu_01A", "call_abc-123", "x" * 64])
def test_valid_ids_are_left_alone(call_id: str) -> None:
    assert messages_tool_id(call_id) == call_id


@pytest.mark.parametrize(
    ("call_id", "expected"),
    [
        ("functions.get_weather:0", "functions_get_weather_0_79ac1aaab216b228"),
        ("call 1", "call_1_21c5c2a600ce3c16"),
        ("x" * 70, "x" * 47 + "_c71bd109227e2343"),
        ("", "_e3b0c44298fc1c14"),
    ],
)
def test_foreign_ids_are_mapped_to_the_pattern(call_id: str, expected: str) -> None:
    assert messages_tool_id(call_id) == expected
    assert ANTHROPIC_ID.fullmatch(expected)


def test_ids_that_sanitise_alike_stay_different() -> None:
    mapped = {messages_tool_id(i) for i in ("a.b", "a:b", "a b", "a/b")}
    assert len(mapped) == 4
    assert all(ANTHROPIC_ID.fullmatch(i) for i in mapped)


# ------------------------------------------------------------------ shared normalisation


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


# ------------------------------------------------------------------ chat completions


def test_chat_joins_system_and_developer_messages_into_one_leading_system_message() -> None:
    alone = chat_request(messages=[ChatMessage(role="developer", content="a", name="n")])
    assert encode_chat_request(alone).to_payload()["messages"] == [
        {"role": "system", "content": "a", "name": "n"}
    ]
    request = chat_request(
        messages=[
            ChatMessage(role="developer", content="a"),
            ChatMessage(role="user", content="hi"),
            ChatMessage(role="system", content=[TextPart(text="b", cache_control=EPHEMERAL)]),
        ]
    )
    body = encode_chat_request(request).to_payload()
    assert body["messages"] == [
        {"role": "system", "content": "a\n\nb"},
        {"role": "user", "content": "hi"},
    ]


def test_chat_joins_every_system_message_into_one_sent_first() -> None:
    request = chat_request(
        messages=[
            ChatMessage(role="system", content="a"),
            ChatMessage(role="system", content="b"),
            ChatMessage(role="user", content="hi"),
            ChatMessage(role="system", content="c"),
            ChatMessage(role="assistant", content="ok"),
            ChatMessage(role="system", content="d"),
        ]
    )
    assert encode_chat_request(request).to_payload()["messages"] == [
        {"role": "system", "content": "a\n\nb\n\nc\n\nd"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "ok"},
    ]
    assert chat_request_to_messages(request).to_payload()["system"] == "a\n\nb\n\nc\n\nd"


def test_chat_keeps_a_single_system_messages_name() -> None:
    request = chat_request(
        messages=[
            ChatMessage(role="system", content="a", name="rules"),
            ChatMessage(role="user", content="hi"),
        ]
    )
    assert encode_chat_request(request).to_payload()["messages"][0] == {
        "role": "system",
        "content": "a",
        "name": "rules",
    }


def test_chat_keeps_a_system_only_conversation() -> None:
    request = chat_request(messages=[ChatMessage(role="system", content="only")])
    assert encode_chat_request(request).to_payload()["messages"] == [
        {"role": "system", "content": "only"}
    ]


def test_chat_refuses_a_document_in_an_assistant_turn() -> None:
    pdf = FilePart(file=FileData(file_data="data:application/pdf;base64,AAAA"))
    request = chat_request(
        messages=[
            ChatMessage(role="user", content="hi"),
            ChatMessage(role="assistant", content=[pdf]),
        ]
    )
    with pytest.raises(UnsupportedContentError, match="no form for a file in a assistant"):
        encode_chat_request(request)


def test_tool_cache_control_is_not_sent_on_chat_completions() -> None:
    tool = Tool(function=FunctionDefinition(name="f"), cache_control=EPHEMERAL)
    body = encode_chat_request(chat_request(tools=[tool])).to_payload()
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
        }
    ]


# ------------------------------------------------------------------ messages


def _document(data_uri: str, filename: str | None = None) -> ChatMessage:
    part = FilePart(file=FileData(file_data=data_uri, filename=filename))
    return ChatMessage(role="user", content=[part])


def test_messages_document_sources() -> None:
    text = base64.b64encode("café".encode()).decode()
    request = chat_request(
        messages=[
            _document("data:application/pdf;base64,JVBERg==", "a.pdf"),
            _document(f"data:text/markdown;base64,{text}"),
            _document("data:text/plain,not encoded"),
        ]
    )
    turn = chat_request_to_messages(request).to_payload()["messages"][0]
    assert turn["content"] == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERg=="},
            "title": "a.pdf",
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "café"},
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "not encoded"},
        },
    ]


@pytest.mark.parametrize(
    ("data_uri", "part"),
    [
        ("data:application/msword;base64,AAAA", "application/msword file"),
        ("data:text/plain;base64,//4=", "text/plain file"),  # not UTF-8
    ],
)
def test_messages_refuses_documents_it_has_no_source_for(data_uri: str, part: str) -> None:
    with pytest.raises(UnsupportedContentError) as caught:
        chat_request_to_messages(chat_request(messages=[_document(data_uri)]))
    assert caught.value.part.startswith(part)
    assert caught.value.api == "messages"


def test_messages_refuses_an_image_in_the_system_prompt() -> None:
    image = ImagePart(image_url=ImageURL(url="https://e.com/a.png"))
    request = chat_request(
        messages=[
            ChatMessage(role="system", content=[image]),
            ChatMessage(role="user", content="hi"),
        ]
    )
    with pytest.raises(UnsupportedContentError, match="no form for a image in a system message"):
        chat_request_to_messages(request)


def test_count_tokens_encodes_the_history_as_messages_does() -> None:
    messages = [
        ChatMessage(role="user", content="hi"),
        ChatMessage(role="assistant", content=" "),
        ChatMessage(role="system", content="late"),
        ChatMessage(role="user", content="again"),
    ]
    body: dict[str, Any] = count_tokens_request("m", messages).to_payload()
    assert body == {
        "model": "m",
        "system": "late",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}],
            }
        ],
    }


def test_count_tokens_of_tools_alone_has_one_empty_user_turn() -> None:
    tool = Tool(function=FunctionDefinition(name="f"))
    body = count_tokens_request("m", [], [tool]).to_payload()
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": ""}]}]


# ------------------------------------------------------------------ one place per protocol


def test_histories_are_normalised_and_encoded_in_one_place_per_protocol() -> None:
    """Only the encoders normalise histories or build Messages request blocks."""
    root = Path(__file__).resolve().parents[2]
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
    for needle, files in found.items():
        assert files <= allowed[needle], (needle, files - allowed[needle])
