"""The Chat Completions request encoder: system messages, refusals, tool fields.

Framework-level bodies are asserted in ``tests/langchain/test_history_encoding.py`` and
``tests/llama_index/test_history_encoding.py``; here the encoder is given wire requests.
"""

from __future__ import annotations

import pytest

from modelslab_transport.protocols.encode_chat import encode_chat_request
from modelslab_transport.protocols.encode_messages import chat_request_to_messages
from modelslab_transport.protocols.history import UnsupportedContentError
from modelslab_transport.wire import (
    ChatMessage,
    FileData,
    FilePart,
    FunctionDefinition,
    TextPart,
    Tool,
)
from tests.support.wire_requests import chat_request

EPHEMERAL = {"type": "ephemeral"}


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
