"""The Messages request encoder: tool-call ids, documents, refusals, count_tokens bodies."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from modelslab_transport.protocols.encode_messages import (
    chat_request_to_messages,
    count_tokens_request,
    messages_tool_id,
)
from modelslab_transport.protocols.history import UnsupportedContentError
from modelslab_transport.wire import (
    ChatMessage,
    FileData,
    FilePart,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    Tool,
)
from tests.support.wire_requests import chat_request

ANTHROPIC_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


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
