"""Anthropic-style ``/v1/messages`` streams: events, errors, and plain replies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelslab_transport import (
    APIStatusError,
    IncompleteStreamError,
    InvalidResponseError,
    NotFoundError,
    ServerError,
)
from modelslab_transport.wire import MessageStreamEvent
from tests.support.clients import async_client, sync_client
from tests.support.mock_api import Reply, ScriptedServer
from tests.support.replies import json_response, stream_response
from tests.support.wire_requests import chat_request, messages_request

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def event(name: str, data: dict[str, Any] | str, *, with_type: bool = True) -> str:
    if isinstance(data, dict) and with_type:
        data = {"type": name, **data}
    text = data if isinstance(data, str) else json.dumps(data)
    return f"event: {name}\ndata: {text}\n\n"


MESSAGE_START = event(
    "message_start",
    {
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-like",
            "stop_reason": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        }
    },
)
TEXT_BLOCK = (
    event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    + event("ping", {})
    + event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hello"}})
    + event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": " there"}})
    + event("content_block_stop", {"index": 0})
)
TOOL_BLOCK = (
    event(
        "content_block_start",
        {
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {},
            },
        },
    )
    + event(
        "content_block_delta",
        {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
    )
    + event(
        "content_block_delta",
        {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}},
    )
    + event("content_block_stop", {"index": 1})
)
MESSAGE_END = event(
    "message_delta",
    {"delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 15}},
) + event("message_stop", {})


async def collect(mode: str, *replies: Reply) -> tuple[list[MessageStreamEvent], ScriptedServer]:
    server = ScriptedServer(list(replies))
    if mode == "sync":
        with sync_client(server).stream_messages(messages_request()) as stream:
            items = list(stream)
        assert stream.response.is_closed
    else:
        async with await async_client(server).stream_messages(messages_request()) as astream:
            items = [item async for item in astream]
        assert astream.response.is_closed
    return items, server


async def read_types_into(seen: list[str], mode: str, server: ScriptedServer) -> None:
    """Read a stream without a ``with`` block, keeping each event's type as it arrives."""
    if mode == "sync":
        for item in sync_client(server).stream_messages(messages_request()):
            seen.append(item.type)
    else:
        async for item in await async_client(server).stream_messages(messages_request()):
            seen.append(item.type)


@MODES
async def test_full_event_sequence(mode: str) -> None:
    body = (MESSAGE_START + TEXT_BLOCK + TOOL_BLOCK + MESSAGE_END).encode()
    items, server = await collect(mode, stream_response(body))
    assert [e.type for e in items] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert server.bodies[0]["stream"] is True
    start = items[0].message
    assert start is not None
    assert start.id == "msg_1"
    assert start.usage is not None
    assert start.usage.input_tokens == 10
    text = "".join(e.delta.text or "" for e in items if e.delta and e.delta.type == "text_delta")
    assert text == "Hello there"
    tool_start = items[5].content_block
    assert tool_start is not None
    assert (tool_start.type, tool_start.id, tool_start.name) == (
        "tool_use",
        "toolu_1",
        "get_weather",
    )
    arguments = "".join(
        e.delta.partial_json or ""
        for e in items
        if e.index == 1 and e.delta and e.delta.type == "input_json_delta"
    )
    assert json.loads(arguments) == {"city": "Paris"}
    final = items[-2]
    assert final.delta is not None
    assert final.delta.stop_reason == "tool_use"
    assert final.usage is not None
    assert final.usage.output_tokens == 15


@MODES
async def test_event_type_comes_from_the_event_line_when_data_has_none(mode: str) -> None:
    body = (
        MESSAGE_START
        + event(
            "content_block_start", {"index": 0, "content_block": {"type": "text"}}, with_type=False
        )
        + event("ping", {}, with_type=False)
        + event("message_stop", {}, with_type=False)
    ).encode()
    items, _ = await collect(mode, stream_response(body))
    assert [e.type for e in items] == ["message_start", "content_block_start", "message_stop"]


@MODES
@pytest.mark.parametrize(
    ("error_data", "cls", "message"),
    [
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ServerError,
            "Overloaded",
        ),
        ({"status": "error", "message": "Model not found: x"}, NotFoundError, "Model not found: x"),
        ({"detail": "strange failure"}, APIStatusError, "strange failure"),
    ],
    ids=["anthropic", "platform", "unknown-shape"],
)
async def test_error_event_raises_the_typed_error(
    mode: str, error_data: dict[str, Any], cls: type[APIStatusError], message: str
) -> None:
    body = (MESSAGE_START + event("error", error_data, with_type=False) + MESSAGE_END).encode()
    server = ScriptedServer([stream_response(body)])
    seen: list[str] = []
    with pytest.raises(APIStatusError) as caught:
        await read_types_into(seen, mode, server)
    assert seen == ["message_start"]
    assert type(caught.value) is cls
    assert caught.value.message == message
    assert server.responses[0].is_closed


@MODES
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Internal Server Error", "Internal Server Error"),
        ("", "the server reported an error without a message"),
    ],
    ids=["text", "empty"],
)
async def test_an_error_event_of_text_or_nothing_raises(mode: str, data: str, message: str) -> None:
    body = (MESSAGE_START + f"event: error\ndata: {data}\n\n" + MESSAGE_END).encode()
    server = ScriptedServer([stream_response(body)])
    seen: list[str] = []
    with pytest.raises(APIStatusError) as caught:
        await read_types_into(seen, mode, server)
    assert seen == ["message_start"]
    assert caught.value.message == message
    assert caught.value.in_stream


@MODES
async def test_stream_without_message_stop_is_incomplete(mode: str) -> None:
    body = (MESSAGE_START + TEXT_BLOCK).encode()
    with pytest.raises(IncompleteStreamError) as caught:
        await collect(mode, stream_response(body))
    assert str(caught.value) == (
        "the messages stream ended before the server finished it (no stop_reason, no message_stop)"
    )


STOPPED = event(
    "message_delta",
    {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 2}},
)


@MODES
async def test_a_stream_cut_after_its_stop_reason_is_whole(mode: str) -> None:
    """As a chat stream that ends without [DONE] after a finish_reason is."""
    body = (MESSAGE_START + TEXT_BLOCK + STOPPED).encode()
    items, _ = await collect(mode, stream_response(body))
    assert [e.type for e in items][-2:] == ["message_delta", "message_stop"]
    # Over the chat bridge: the text, the finish reason, then the usage chunk.
    server = ScriptedServer([stream_response(body)])
    request = chat_request(stream=True, stream_options={"include_usage": True})
    if mode == "sync":
        with sync_client(server).stream_chat(request, api="messages") as stream:
            chunks = list(stream)
    else:
        astream = await async_client(server).stream_chat(request, api="messages")
        async with astream:
            chunks = [chunk async for chunk in astream]
    text = "".join(c.choices[0].delta.text for c in chunks if c.choices)
    assert text == "Hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (10, 2)


@MODES
async def test_events_after_message_stop_are_not_read(mode: str) -> None:
    body = (MESSAGE_START + event("message_stop", {}) + TEXT_BLOCK).encode()
    items, _ = await collect(mode, stream_response(body))
    assert [e.type for e in items] == ["message_start", "message_stop"]


@MODES
async def test_malformed_event_raises_invalid_response(mode: str) -> None:
    body = (MESSAGE_START + "event: content_block_delta\ndata: {oops\n\n").encode()
    with pytest.raises(InvalidResponseError):
        await collect(mode, stream_response(body))


@MODES
async def test_plain_json_reply_to_a_messages_stream_is_synthesized_into_events(
    mode: str,
) -> None:
    message = {
        "id": "msg_9",
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "model": "claude-like",
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 20, "output_tokens": 9},
    }
    items, _ = await collect(mode, json_response(message))
    assert [e.type for e in items] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = items[0].message
    assert start is not None
    assert start.id == "msg_9"
    assert start.content == []
    assert start.stop_reason is None
    assert items[1].content_block is not None
    assert items[1].content_block.text == ""
    assert items[2].delta is not None
    assert (items[2].index, items[2].delta.type, items[2].delta.text) == (
        0,
        "text_delta",
        "Let me check.",
    )
    tool_start = items[4].content_block
    assert tool_start is not None
    assert (tool_start.id, tool_start.name, tool_start.input) == ("toolu_9", "get_weather", {})
    assert items[5].delta is not None
    assert items[5].index == 1
    assert items[5].delta.type == "input_json_delta"
    assert json.loads(items[5].delta.partial_json or "") == {"city": "Oslo"}
    assert items[7].delta is not None
    assert items[7].delta.stop_reason == "tool_use"
    assert items[7].usage is not None
    assert items[7].usage.output_tokens == 9


@MODES
async def test_error_json_reply_to_a_messages_stream_raises(mode: str) -> None:
    body = {"type": "error", "error": {"type": "not_found_error", "message": "no model"}}
    with pytest.raises(NotFoundError) as caught:
        await collect(mode, json_response(body))
    assert caught.value.message == "no model"


@MODES
async def test_http_error_status_on_a_messages_stream(mode: str) -> None:
    body = {"type": "error", "error": {"type": "not_found_error", "message": "no model"}}
    with pytest.raises(NotFoundError) as caught:
        await collect(mode, json_response(body, status=404))
    assert caught.value.status_code == 404
