"""The stream event decoders on their own: whole replies as stream items, and the event
decoders of both protocols given events directly. The same paths through a client are in
``test_replies.py`` and ``test_events_messages_stream.py``."""

from __future__ import annotations

import httpx2
import pytest

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.events import (
    ChatChunkDecoder,
    MessageEventDecoder,
    completion_as_chunk,
    message_as_events,
)
from modelslab_transport.errors import (
    IncompleteStreamError,
    InvalidResponseError,
    RateLimitError,
)
from modelslab_transport.wire import ChatCompletion, Message
from modelslab_transport.wire.sse import ServerSentEvent

KEY = "sk-replies-0123456789"
SETTINGS = ClientSettings(api_key=KEY)


def _reply(content: bytes | str, content_type: str = "application/json") -> httpx2.Response:
    body = content.encode() if isinstance(content, str) else content
    return httpx2.Response(
        200,
        headers={"content-type": content_type},
        content=body,
        request=httpx2.Request("POST", "https://h.example/v1/chat/completions"),
    )


def test_a_whole_completion_as_one_chunk_numbers_its_tool_calls() -> None:
    completion = ChatCompletion.model_validate(
        {
            "id": "c1",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "hi",
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}},
                            {"index": 0, "id": "b", "function": {"name": "g", "arguments": "{}"}},
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2},
        }
    )
    chunk = completion_as_chunk(completion)
    assert (chunk.id, chunk.object, chunk.model) == ("c1", "chat.completion.chunk", "m")
    (choice,) = chunk.choices
    assert (choice.delta.role, choice.delta.content, choice.finish_reason) == (
        "assistant",
        "hi",
        "tool_calls",
    )
    assert [call.index for call in choice.delta.tool_calls or []] == [0, 1]
    assert chunk.usage == completion.usage


def test_a_whole_message_as_the_events_of_its_stream() -> None:
    message = Message.model_validate(
        {
            "id": "m1",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "A"},
                {"type": "tool_use", "id": "t", "name": "f", "input": {"x": 1}},
                {"type": "redacted_thinking", "data": "opaque"},
            ],
            "stop_reason": "tool_use",
            "usage": {"output_tokens": 3},
        }
    )
    events = message_as_events(message)
    assert [event.type for event in events] == [
        "message_start",
        *[
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
        ],
        *["content_block_start", "content_block_delta", "content_block_stop"],
        *["content_block_start", "content_block_delta", "content_block_stop"],
        *["content_block_start", "content_block_stop"],
        "message_delta",
        "message_stop",
    ]
    assert events[0].message is not None
    assert (events[0].message.content, events[0].message.stop_reason) == ([], None)
    deltas = [event.delta for event in events if event.type == "content_block_delta"]
    assert [d.thinking or d.signature or d.text or d.partial_json for d in deltas if d] == [
        "hmm",
        "sig",
        "A",
        '{"x": 1}',
    ]
    assert events[-2].delta is not None
    assert events[-2].delta.stop_reason == "tool_use"


def _event(data: str, name: str = "message") -> ServerSentEvent:
    return ServerSentEvent(event=name, data=data)


def test_chat_chunks_end_with_done_or_a_finish_reason() -> None:
    decoder = ChatChunkDecoder(SETTINGS)
    assert decoder.decode(_event("  "), {}) is None
    chunk = decoder.decode(_event('{"choices": [{"delta": {"content": "a"}}]}'), {})
    assert chunk is not None
    assert chunk.choices[0].delta.content == "a"
    with pytest.raises(IncompleteStreamError, match=r"no finish_reason, no \[DONE\]"):
        decoder.end()
    assert decoder.decode(_event("[DONE]"), {}) is None
    assert decoder.done
    decoder.end()
    finished = ChatChunkDecoder(SETTINGS)
    finished.decode(_event('{"choices": [{"delta": {}, "finish_reason": "stop"}]}'), {})
    finished.end()


def test_done_without_any_choice_is_invalid() -> None:
    with pytest.raises(InvalidResponseError, match="ended \\(\\[DONE\\]\\) without any choice"):
        ChatChunkDecoder(SETTINGS).decode(_event("[DONE]"), {})


def test_a_chunk_choice_carrying_message_is_read_as_its_delta() -> None:
    decoder = ChatChunkDecoder(SETTINGS)
    chunk = decoder.decode(_event('{"choices": [{"message": {"content": "whole"}}]}'), {})
    assert chunk is not None
    assert chunk.choices[0].delta.content == "whole"


def test_an_error_inside_a_chat_stream_is_the_typed_error() -> None:
    decoder = ChatChunkDecoder(SETTINGS)
    with pytest.raises(RateLimitError) as caught:
        decoder.decode(_event('{"error": {"message": "slow down", "code": 429}}'), {})
    assert caught.value.in_stream
    with pytest.raises(InvalidResponseError, match="a chat completion chunk is a JSON list"):
        decoder.decode(_event("[1]"), {})


def test_message_events_end_with_message_stop_or_a_stop_reason() -> None:
    decoder = MessageEventDecoder(SETTINGS)
    assert decoder.decode(_event('{"type": "ping"}'), {}) is None
    named = decoder.decode(_event('{"index": 0}', name="content_block_stop"), {})
    assert named is not None
    assert named.type == "content_block_stop"
    with pytest.raises(IncompleteStreamError, match="no stop_reason, no message_stop"):
        decoder.end()
    decoder.decode(_event('{"type": "message_delta", "delta": {"stop_reason": "end_turn"}}'), {})
    implied = decoder.end()
    assert implied is not None
    assert implied.type == "message_stop"
    assert decoder.done
    assert decoder.end() is None


def test_a_plain_reply_to_a_stream_request_is_its_items() -> None:
    body = '{"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}]}'
    chat = ChatChunkDecoder(SETTINGS)
    (chunk,) = chat.plain_reply(_reply(body))
    assert chunk.choices[0].delta.content == "x"
    assert chat.done
    messages = MessageEventDecoder(SETTINGS)
    events = messages.plain_reply(_reply('{"content": [{"type": "text", "text": "y"}]}'))
    assert events[-1].type == "message_stop"
    assert messages.done
