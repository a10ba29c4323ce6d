"""The protocol table: each entry's wire facts and codecs, and the bodies they build."""

from __future__ import annotations

import httpx2
import pytest

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.events import (
    ChatChunkDecoder,
)
from modelslab_transport.protocols.messages import MessagesAsChatDecoder
from modelslab_transport.protocols.table import CHAT_PROTOCOLS, chat_protocol
from modelslab_transport.wire import StreamOptions
from modelslab_transport.wire.protocols import PROTOCOL_SPECS
from tests.support.wire_requests import chat_request

KEY = "sk-table-0123456789"
SETTINGS = ClientSettings(api_key=KEY)


def test_each_entry_carries_its_protocols_wire_facts() -> None:
    assert set(CHAT_PROTOCOLS) == set(PROTOCOL_SPECS)
    for api, protocol in CHAT_PROTOCOLS.items():
        spec = PROTOCOL_SPECS[api]
        assert (protocol.name, protocol.path, protocol.auth) == (spec.name, spec.path, spec.auth)
        assert protocol.unsupported_params == spec.unsupported_params
        assert protocol.structured_output == spec.structured_output


def test_an_unknown_api_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"api must be one of \['chat_completions', 'messages'\]"):
        chat_protocol("completions")
    assert chat_protocol("messages") is CHAT_PROTOCOLS["messages"]


def test_a_chat_completions_body_marks_streams_and_drops_stream_options_otherwise() -> None:
    request = chat_request(stream_options=StreamOptions(include_usage=True))
    build = chat_protocol("chat_completions").build_body
    streamed = build(request, SETTINGS, True)
    assert streamed["stream"] is True
    assert streamed["stream_options"] == {"include_usage": True}
    whole = build(request, SETTINGS, False)
    assert "stream" not in whole
    assert "stream_options" not in whole
    assert "key" not in whole


def test_legacy_auth_puts_the_key_and_model_id_in_the_body() -> None:
    legacy = ClientSettings(api_key=KEY, legacy_auth=True)
    body = chat_protocol("chat_completions").build_body(chat_request(model="m-1"), legacy, False)
    assert (body["key"], body["model_id"], body["model"]) == (KEY, "m-1", "m-1")
    keyless = ClientSettings(legacy_auth=True, base_url="http://127.0.0.1:8000/v1")
    assert "key" not in chat_protocol("chat_completions").build_body(chat_request(), keyless, False)


def test_a_messages_body_is_the_messages_encoding() -> None:
    build = chat_protocol("messages").build_body
    body = build(chat_request(max_tokens=9), SETTINGS, True)
    assert body["stream"] is True
    assert body["max_tokens"] == 9
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert "stream" not in build(chat_request(), SETTINGS, False)


def test_stream_decoders_by_protocol() -> None:
    asked = chat_request(stream_options=StreamOptions(include_usage=True))
    chat_decoder = chat_protocol("chat_completions").stream_decoder(SETTINGS, asked)
    assert isinstance(chat_decoder, ChatChunkDecoder)
    messages_decoder = chat_protocol("messages").stream_decoder(SETTINGS, asked)
    assert isinstance(messages_decoder, MessagesAsChatDecoder)


def test_a_whole_messages_reply_is_decoded_as_a_chat_completion() -> None:
    reply = httpx2.Response(
        200,
        json={
            "id": "msg_1",
            "role": "assistant",
            "content": [{"type": "text", "text": "Hello"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
        request=httpx2.Request("POST", "https://h/v1/messages"),
    )
    completion = chat_protocol("messages").decode_reply(reply, SETTINGS)
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].finish_reason == "stop"
