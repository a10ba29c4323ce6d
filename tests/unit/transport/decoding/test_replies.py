"""Chat-completions SSE streams: every quirk ModelsLab (and the routers behind it) send."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from modelslab_transport import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ChatStreamAccumulator,
    IncompleteStreamError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from modelslab_transport.wire import ChatCompletionChunk, StreamOptions
from tests.support.clients import async_client, sync_client
from tests.support.mock_api import PiecesStream, Reply, ScriptedServer
from tests.support.replies import (
    SSE_HEADERS,
    chunk,
    completion_body,
    json_response,
    sse,
    stream_response,
)
from tests.support.wire_requests import chat_request

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def sse_response(body: bytes, headers: dict[str, str] | None = None) -> httpx2.Response:
    return stream_response(body, headers)


async def collect(
    mode: str, *replies: Reply, **setting_overrides: Any
) -> tuple[list[ChatCompletionChunk], ScriptedServer]:
    """Stream one chat request through a sync or async client and list the chunks."""
    server = ScriptedServer(list(replies))
    request = chat_request(stream=True, stream_options=StreamOptions(include_usage=True))
    if mode == "sync":
        with sync_client(server, **setting_overrides).stream_chat_completions(request) as stream:
            items = list(stream)
            assert stream.response.is_closed
    else:
        client = async_client(server, **setting_overrides)
        async with await client.stream_chat_completions(request) as astream:
            items = [item async for item in astream]
            assert astream.response.is_closed
    return items, server


async def read_texts_into(seen: list[str], mode: str, server: ScriptedServer) -> None:
    """Read a stream without a ``with`` block, keeping each chunk's text as it arrives."""
    if mode == "sync":
        for item in sync_client(server).stream_chat_completions(chat_request()):
            seen.append(item.choices[0].delta.text)
    else:
        async for item in await async_client(server).stream_chat_completions(chat_request()):
            seen.append(item.choices[0].delta.text)


def texts(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [c.choices[0].delta.text for c in chunks if c.choices]


@MODES
async def test_plain_stream_yields_each_chunk_and_stops_at_done(mode: str) -> None:
    body = sse(
        chunk(role="assistant", content=""),
        chunk("Hel"),
        chunk("lo"),
        chunk(finish_reason="stop"),
    )
    items, server = await collect(mode, sse_response(body))
    assert len(items) == 4
    assert all(isinstance(c, ChatCompletionChunk) for c in items)
    assert texts(items) == ["", "Hel", "lo", ""]
    assert items[0].choices[0].delta.role == "assistant"
    assert items[-1].choices[0].finish_reason == "stop"
    assert len(server.requests) == 1


@MODES
async def test_comment_lines_are_skipped(mode: str) -> None:
    body = sse(
        ": OPENROUTER PROCESSING\n\n",
        ": OPENROUTER PROCESSING\n\n",
        chunk("a"),
        ":keep-alive\n",
        chunk("b", finish_reason="stop"),
    )
    items, _ = await collect(mode, sse_response(body))
    assert texts(items) == ["a", "b"]


@MODES
async def test_multi_line_data_is_joined(mode: str) -> None:
    payload = json.dumps(chunk("multi", finish_reason="stop"), indent=2)
    event = "".join(f"data: {line}\n" for line in payload.split("\n")) + "\n"
    assert event.count("data:") > 3
    items, _ = await collect(mode, sse_response(sse(chunk("first"), event)))
    assert texts(items) == ["first", "multi"]
    assert items[1].choices[0].finish_reason == "stop"


@MODES
async def test_crlf_line_endings(mode: str) -> None:
    body = sse(
        ": OPENROUTER PROCESSING\r\n\r\n",
        chunk("x"),
        chunk("y", finish_reason="stop"),
        newline="\r\n",
    )
    assert b"\r\n\r\n" in body
    items, _ = await collect(mode, sse_response(body))
    assert texts(items) == ["x", "y"]


@MODES
async def test_data_without_space_after_colon_and_event_ids(mode: str) -> None:
    body = (
        f"id: 1\ndata:{json.dumps(chunk('p'))}\n\n"
        f"id: 2\nevent: message\ndata: {json.dumps(chunk('q', finish_reason='stop'))}\n\n"
        ": trailing comment\n\n"
        "data: [DONE]\n\n"
    ).encode()
    items, _ = await collect(mode, sse_response(body))
    assert texts(items) == ["p", "q"]


@MODES
async def test_chunks_missing_id_model_created_and_index(mode: str) -> None:
    body = sse(
        {"choices": [{"delta": {"content": "bare"}}]},
        {"choices": [{"delta": {}, "finish_reason": "stop"}]},
    )
    items, _ = await collect(mode, sse_response(body))
    assert len(items) == 2
    first = items[0]
    assert first.id is None
    assert first.model is None
    assert first.created is None
    assert first.object is None
    assert first.choices[0].index == 0
    assert first.choices[0].delta.text == "bare"
    assert items[1].choices[0].finish_reason == "stop"


@MODES
async def test_usage_only_final_chunk_is_yielded(mode: str) -> None:
    usage = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    body = sse(
        chunk("hi"),
        chunk(finish_reason="stop"),
        {"id": "gen-123", "choices": [], "usage": usage},
    )
    items, _ = await collect(mode, sse_response(body))
    assert len(items) == 3
    last = items[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == 11
    assert last.usage.completion_tokens == 3
    assert last.usage.total == 14


@MODES
async def test_content_as_list_of_text_blocks(mode: str) -> None:
    body = sse(
        chunk([{"type": "text", "text": "Hel"}, {"type": "text", "text": "lo"}]),
        chunk([{"type": "text", "text": "!"}], finish_reason="stop"),
    )
    items, _ = await collect(mode, sse_response(body))
    assert texts(items) == ["Hello", "!"]
    accumulator = ChatStreamAccumulator()
    for item in items:
        accumulator.add(item)
    assert accumulator.text() == "Hello!"


@MODES
async def test_reasoning_content_is_kept(mode: str) -> None:
    body = sse(
        chunk(reasoning_content="Let me think. "),
        chunk(reasoning_content="Done."),
        chunk("Answer", finish_reason="stop"),
    )
    items, _ = await collect(mode, sse_response(body))
    assert [c.choices[0].delta.reasoning_content for c in items] == [
        "Let me think. ",
        "Done.",
        None,
    ]
    accumulator = ChatStreamAccumulator()
    for item in items:
        accumulator.add(item)
    completion = accumulator.completion()
    assert completion.choices[0].message.reasoning_content == "Let me think. Done."
    assert completion.choices[0].message.content == "Answer"


@MODES
async def test_tool_call_fragments_assemble_by_index(mode: str) -> None:
    body = sse(
        chunk(
            tool_calls=[
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        ),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"city": '}}]),
        chunk(
            tool_calls=[
                {
                    "index": 1,
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"tz": "UTC"}'},
                }
            ]
        ),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '"Paris"}'}}]),
        chunk(finish_reason="tool_calls"),
    )
    items, _ = await collect(mode, sse_response(body))
    accumulator = ChatStreamAccumulator()
    for item in items:
        accumulator.add(item)
    calls = accumulator.tool_calls()
    assert [(c.index, c.id, c.function.name) for c in calls] == [
        (0, "call_a", "get_weather"),
        (1, "call_b", "get_time"),
    ]
    assert json.loads(calls[0].function.arguments or "") == {"city": "Paris"}
    assert json.loads(calls[1].function.arguments or "") == {"tz": "UTC"}
    assert accumulator.finish_reason() == "tool_calls"


# ------------------------------------------------------------- errors in streams


@MODES
@pytest.mark.parametrize(
    ("error_event", "cls", "message"),
    [
        (
            {"status": "error", "message": "Provider returned error"},
            APIStatusError,
            "Provider returned error",
        ),
        (
            {"error": {"message": "Upstream overloaded", "code": 503}},
            ServerError,
            "Upstream overloaded",
        ),
        (
            {
                "id": "gen-1",
                "choices": [{"delta": {"content": ""}, "finish_reason": "error"}],
                "error": {"message": "Rate limit exceeded", "code": 429},
            },
            RateLimitError,
            "Rate limit exceeded",
        ),
        ({"status": "error", "messege": "Invalid API key"}, AuthenticationError, "Invalid API key"),
    ],
    ids=["status-error", "error-object", "openrouter-error-chunk", "messege"],
)
async def test_error_object_inside_the_stream_raises_after_earlier_chunks(
    mode: str, error_event: dict[str, Any], cls: type[APIStatusError], message: str
) -> None:
    server = ScriptedServer(
        [
            stream_response(
                sse(chunk("partial"), error_event, chunk("never")),
                {**SSE_HEADERS, "x-request-id": "req-s"},
            )
        ]
    )
    seen: list[str] = []
    with pytest.raises(APIStatusError) as caught:
        await read_texts_into(seen, mode, server)
    assert seen == ["partial"]
    assert type(caught.value) is cls
    assert caught.value.message == message
    assert caught.value.status_code == 200
    assert caught.value.request_id == "req-s"
    assert server.responses[0].is_closed
    assert len(server.requests) == 1


@MODES
async def test_sse_error_event_with_unrecognised_body_raises(mode: str) -> None:
    body = sse(chunk("a"), 'event: error\ndata: {"detail": "went wrong"}\n\n')
    with pytest.raises(APIStatusError) as caught:
        await collect(mode, sse_response(body))
    assert caught.value.message == "went wrong"


@MODES
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"message": "boom"}', "boom"),
        ('{"msg": "upstream closed"}', "upstream closed"),
        ('"worker died"', "worker died"),
        ('{"code": 17}', '{"code": 17}'),  # no message member: the data as sent
        ("Internal Server Error", "Internal Server Error"),  # not JSON
        ("", "the server reported an error without a message"),
    ],
)
async def test_sse_error_event_reads_the_message_of_any_shape(
    mode: str, data: str, message: str
) -> None:
    body = sse(chunk("a"), f"event: error\ndata: {data}\n\n")
    with pytest.raises(APIStatusError) as caught:
        await collect(mode, sse_response(body))
    assert caught.value.message == message
    assert caught.value.in_stream


@MODES
async def test_malformed_json_chunk_raises_invalid_response(mode: str) -> None:
    body = sse(chunk("a"), 'data: {"choices": [{"delta": \n\n')
    with pytest.raises(InvalidResponseError) as caught:
        await collect(mode, sse_response(body))
    assert "not valid JSON" in str(caught.value)
    assert not isinstance(caught.value, IncompleteStreamError)


@MODES
async def test_json_array_chunk_raises_invalid_response(mode: str) -> None:
    with pytest.raises(InvalidResponseError):
        await collect(mode, sse_response(sse(chunk("a"), "data: [1, 2]\n\n")))


@MODES
async def test_chunk_with_wrong_shape_raises_invalid_response(mode: str) -> None:
    with pytest.raises(InvalidResponseError) as caught:
        await collect(mode, sse_response(sse({"choices": "nope"})))
    assert "choices" in str(caught.value)


@MODES
async def test_stream_without_done_or_finish_reason_is_incomplete(mode: str) -> None:
    body = sse(chunk("Hel"), chunk("lo"), done=False)
    with pytest.raises(IncompleteStreamError) as caught:
        await collect(mode, sse_response(body))
    assert "finish_reason" in str(caught.value)


@MODES
async def test_stream_with_finish_reason_but_no_done_is_complete(mode: str) -> None:
    body = sse(chunk("Hel"), chunk("lo", finish_reason="stop"), done=False)
    items, _ = await collect(mode, sse_response(body))
    assert texts(items) == ["Hel", "lo"]


@MODES
async def test_events_after_done_are_not_read(mode: str) -> None:
    body = sse(chunk("a", finish_reason="stop")) + sse(chunk("after"), done=False)
    items, _ = await collect(mode, sse_response(body))
    assert texts(items) == ["a"]


@MODES
async def test_empty_data_events_are_skipped(mode: str) -> None:
    body = sse("data:\n\n", "data: \n\n", chunk("a", finish_reason="stop"))
    items, _ = await collect(mode, sse_response(body))
    assert texts(items) == ["a"]


# ----------------------------------------------------- plain JSON reply to a stream


@MODES
async def test_plain_json_reply_to_a_stream_request_is_one_chunk(mode: str) -> None:
    body = completion_body("Whole answer")
    body["choices"][0]["message"]["tool_calls"] = [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "c2", "type": "function", "function": {"name": "g", "arguments": '{"a":1}'}},
    ]
    items, _ = await collect(mode, json_response(body))
    assert len(items) == 1
    only = items[0]
    assert only.object == "chat.completion.chunk"
    assert only.id == "chatcmpl-1"
    assert only.choices[0].delta.text == "Whole answer"
    assert only.choices[0].delta.role == "assistant"
    assert only.choices[0].finish_reason == "stop"
    assert only.usage is not None
    assert only.usage.total == 12
    calls = only.choices[0].delta.tool_calls or []
    assert [(c.index, c.id) for c in calls] == [(0, "c1"), (1, "c2")]


@MODES
@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"status": "error", "message": "Model not found: x"}, NotFoundError),
        ({"error": {"message": "nope", "type": "invalid_api_key"}}, AuthenticationError),
        ({"message": "Provider returned error"}, APIStatusError),
    ],
)
async def test_error_json_reply_to_a_stream_request_raises(
    mode: str, body: dict[str, Any], cls: type[APIStatusError]
) -> None:
    with pytest.raises(APIStatusError) as caught:
        await collect(mode, json_response(body))
    assert type(caught.value) is cls


@MODES
async def test_plain_reply_without_content_type_is_read_as_json(mode: str) -> None:
    reply = httpx2.Response(200, content=json.dumps(completion_body("untyped")).encode())
    items, _ = await collect(mode, reply)
    assert texts(items) == ["untyped"]


@MODES
async def test_event_stream_content_type_with_charset(mode: str) -> None:
    reply = sse_response(
        sse(chunk("cs", finish_reason="stop")),
        headers={"content-type": "text/event-stream; charset=utf-8"},
    )
    items, _ = await collect(mode, reply)
    assert texts(items) == ["cs"]


@MODES
async def test_utf8_split_across_network_reads(mode: str) -> None:
    body = sse(chunk("héllo — ✓ 日本"), chunk("!", finish_reason="stop"))
    pieces = [body[i : i + 1] for i in range(len(body))]
    reply = httpx2.Response(200, headers=SSE_HEADERS, stream=PiecesStream(pieces))
    items, _ = await collect(mode, reply)
    assert texts(items) == ["héllo — ✓ 日本", "!"]


def test_stream_exposes_status_and_headers_before_reading() -> None:
    server = ScriptedServer(
        [
            stream_response(
                sse(chunk("a", finish_reason="stop")), {**SSE_HEADERS, "x-request-id": "r1"}
            )
        ]
    )
    with sync_client(server).stream_chat_completions(chat_request()) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["x-request-id"] == "r1"
        assert not stream.response.is_closed
        assert texts(list(stream)) == ["a"]
    assert stream.response.is_closed


@MODES
@pytest.mark.parametrize(
    ("stated", "cls", "message"),
    [
        (
            {
                "object": "error",
                "message": "prompt too long",
                "type": "BadRequestError",
                "code": 400,
            },
            BadRequestError,
            "prompt too long",
        ),
        ({"type": "error", "message": "boom"}, APIStatusError, "boom"),
        ({"detail": "upstream timeout"}, APIStatusError, "upstream timeout"),
        ({"message": "Internal server error"}, ServerError, "Internal server error"),
        (
            {"success": False, "errors": [{"message": "worker crashed"}]},
            APIStatusError,
            "worker crashed",
        ),
    ],
    ids=["vllm", "type-error", "detail", "message", "cloudflare"],
)
@pytest.mark.parametrize("done", [True, False], ids=["then-DONE", "then-EOF"])
async def test_an_error_stated_without_choices_mid_stream_raises(
    mode: str, stated: dict[str, Any], cls: type[APIStatusError], message: str, done: bool
) -> None:
    body = sse(chunk("", role="assistant"), chunk("Hel"), stated, done=done)
    with pytest.raises(cls) as caught:
        await collect(mode, sse_response(body))
    assert caught.value.message == message
    assert caught.value.in_stream


@MODES
async def test_a_chunk_without_choices_or_message_is_still_read(mode: str) -> None:
    usage_only = {
        "id": "c",
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    body = sse(chunk("Hi", finish_reason="stop"), usage_only)
    items, _ = await collect(mode, sse_response(body))
    assert items[-1].usage is not None
    assert items[-1].usage.completion_tokens == 2


def _choice_chunk(index: int, content: str | None = None, reason: str | None = None) -> Any:
    body = chunk(content, finish_reason=reason)
    body["choices"][0]["index"] = index
    return body


@MODES
async def test_a_stream_without_done_is_whole_only_if_every_choice_finished(mode: str) -> None:
    body = sse(
        _choice_chunk(0, "A"), _choice_chunk(1, "B"), _choice_chunk(1, reason="stop"), done=False
    )
    with pytest.raises(IncompleteStreamError, match="no finish_reason for choice 0"):
        await collect(mode, sse_response(body))
    whole = sse(
        _choice_chunk(0, "A"),
        _choice_chunk(1, "B"),
        _choice_chunk(1, reason="stop"),
        _choice_chunk(0, reason="length"),
        done=False,
    )
    items, _ = await collect(mode, sse_response(whole))
    assert [c.choices[0].finish_reason for c in items] == [None, None, "stop", "length"]


# ------------------------------------------- the usual event, read from its bytes


def _decoder() -> Any:
    from modelslab_transport import ClientSettings
    from modelslab_transport.decoding.events import (
        ChatChunkDecoder,
    )

    return ChatChunkDecoder(ClientSettings(api_key="sk-test"))


def test_decode_usual_reads_a_chunk_as_decode_does() -> None:
    from modelslab_transport.wire.sse import ServerSentEvent

    data = json.dumps(chunk("héllo", finish_reason="stop")).encode()
    usual = _decoder().decode_usual(data)
    general = _decoder().decode(ServerSentEvent(data=data.decode()), {})
    assert usual is not None
    assert general is not None
    assert usual.model_dump() == general.model_dump()
    assert usual.choices[0].delta.content == "héllo"


def test_decode_usual_leaves_every_other_event_to_decode() -> None:
    decoder = _decoder()
    for data in (
        b"[DONE]",
        b" {}",
        b"[1]",
        b"{not json",
        json.dumps({"error": {"message": "overloaded", "code": 503}}).encode(),
        json.dumps({**chunk("a"), "status": "error"}).encode(),
        json.dumps({"choices": "none"}).encode(),
        b'{"choices": [{"delta": {"content": "\xff"}}]}',  # not UTF-8
    ):
        assert decoder.decode_usual(data) is None, data


def test_decode_usual_leaves_the_event_after_half_a_surrogate_pair() -> None:
    from modelslab_transport.wire.sse import ServerSentEvent

    decoder = _decoder()
    half = decoder.decode(ServerSentEvent(data=json.dumps(chunk("a\ud83d"))), {})
    assert half is not None
    assert half.choices[0].delta.content == "a"
    rest = json.dumps(chunk("\ude00b")).encode()
    assert decoder.decode_usual(rest) is None
    whole = decoder.decode(ServerSentEvent(data=rest.decode()), {})
    assert whole is not None
    assert whole.choices[0].delta.content == "\U0001f600b"


def test_a_finish_reason_read_by_decode_usual_makes_the_stream_whole() -> None:
    decoder = _decoder()
    assert decoder.decode_usual(json.dumps(chunk("a")).encode()) is not None
    with pytest.raises(IncompleteStreamError):
        decoder.end()
    assert decoder.decode_usual(json.dumps(chunk(finish_reason="stop")).encode()) is not None
    assert decoder.end() is None


def test_decode_usual_reads_a_choice_that_carries_message_as_its_delta() -> None:
    body = chunk()
    body["choices"][0] = {"index": 0, "message": {"role": "assistant", "content": "hi"}}
    item = _decoder().decode_usual(json.dumps(body).encode())
    assert item is not None
    assert item.choices[0].delta.content == "hi"
