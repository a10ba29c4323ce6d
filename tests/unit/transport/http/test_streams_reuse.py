"""Streams give their connection back to the pool, and the body decides how it is read.

After ``[DONE]`` (or ``message_stop``) the rest of the body is read, bounded, so the
connection is reused: 50 sequential streams share one connection. A server that keeps
the reply open after the marker has its connection closed instead of stalling the
caller. SSE is recognised by the body under any Content-Type; a UTF-8 byte-order mark
does not hide the first event; an oversized event fails as an invalid response.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from llama_index.core.llms import ChatMessage as LlamaMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import AsyncModelsLabClient, ClientSettings, ModelsLabClient
from modelslab_transport.errors import InvalidResponseError
from tests.support.clients import API_KEY, async_client, sync_client
from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.mock_api import ScriptedServer
from tests.support.replies import chunk, completion_body, sse, stream_response
from tests.support.wire_requests import chat_request, messages_request

STREAMS = 50

MESSAGES_EVENTS = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [],
            "usage": {"input_tokens": 3, "output_tokens": 0},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
]


def chat_stream(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    """Chunks, ``[DONE]``, and the end of the chunked body sent apart, as servers do."""
    conn.send_sse_headers()
    if request.path.endswith("/messages"):
        body = "".join(
            f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in MESSAGES_EVENTS
        ).encode()
        conn.send_chunk(body)
    else:
        conn.send_chunk(sse(chunk("hi"), chunk(finish_reason="stop"), done=False))
        conn.send_chunk(b"data: [DONE]\n\n")
    conn.end_chunks()
    return True


def done_then_hold(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    """``[DONE]``, then the reply is never finished: the client has to leave."""
    conn.send_sse_headers()
    conn.send_chunk(sse(chunk("hi"), chunk(finish_reason="stop")))
    conn.server.left.append(conn.wait_for_client_to_leave(limit=5))  # type: ignore[attr-defined]
    return False


def config(base_url: str, **extra: Any) -> ClientSettings:
    return ClientSettings(api_key=API_KEY, base_url=base_url, max_retries=0, **extra)


# ---------------------------------------------------------------- connection reuse


def test_sequential_sync_streams_share_one_connection() -> None:
    with LoopbackServer(chat_stream) as server:
        with ModelsLabClient(config(server.base_url)) as client:
            for _ in range(STREAMS):
                with client.stream_chat(chat_request()) as stream:
                    assert [c.choices[0].delta.text for c in stream if c.choices] == ["hi", ""]
            for _ in range(3):
                events = list(client.stream_messages(messages_request()))
                assert events[-1].type == "message_stop"
        assert len(server.requests) == STREAMS + 3
        assert server.total_connections == 1


async def test_sequential_async_streams_share_one_connection() -> None:
    with LoopbackServer(chat_stream) as server:
        async with AsyncModelsLabClient(config(server.base_url)) as client:
            for _ in range(STREAMS):
                stream = await client.stream_chat(chat_request())
                assert [c.choices[0].delta.text async for c in stream if c.choices] == ["hi", ""]
            for _ in range(3):
                messages = await client.stream_chat(chat_request(), api="messages")
                reasons = [c.choices[0].finish_reason async for c in messages if c.choices]
                assert reasons[-1] == "stop"
        assert len(server.requests) == STREAMS + 3
        assert server.total_connections == 1


def test_chat_models_lab_streams_share_one_connection() -> None:
    with LoopbackServer(chat_stream) as server:
        llm = ChatModelsLab(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        for _ in range(10):
            assert "".join(str(c.content) for c in llm.stream("Hi")) == "hi"
        assert server.total_connections == 1


async def test_chat_models_lab_astreams_share_one_connection() -> None:
    with LoopbackServer(chat_stream) as server:
        llm = ChatModelsLab(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        for _ in range(10):
            assert "".join([str(c.content) async for c in llm.astream("Hi")]) == "hi"
        assert server.total_connections == 1


def test_models_lab_llm_streams_share_one_connection() -> None:
    with LoopbackServer(chat_stream) as server:
        llm = ModelsLabLLM(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        ask = [LlamaMessage(role="user", content="Hi")]
        for _ in range(10):
            assert [r.message.content for r in llm.stream_chat(ask)][-1] == "hi"
        assert server.total_connections == 1


async def test_models_lab_llm_astreams_share_one_connection() -> None:
    with LoopbackServer(chat_stream) as server:
        llm = ModelsLabLLM(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        ask = [LlamaMessage(role="user", content="Hi")]
        for _ in range(10):
            replies = [r async for r in await llm.astream_chat(ask)]
            assert replies[-1].message.content == "hi"
        assert server.total_connections == 1


def _holding_server() -> LoopbackServer:
    server = LoopbackServer(done_then_hold)
    server.left = []  # type: ignore[attr-defined]
    return server


def test_a_sync_stream_held_open_after_done_is_left_not_waited_for() -> None:
    with _holding_server() as server:
        client = ModelsLabClient(config(server.base_url, stream_chunk_timeout=60))
        with client.stream_chat(chat_request()) as stream:
            assert [c.choices[0].delta.text for c in stream] == ["hi", ""]
        assert server.wait_until_no_open_connections() == 0
        assert server.left == [True]  # type: ignore[attr-defined]
        client.close()


async def test_an_async_stream_held_open_after_done_is_left_not_waited_for() -> None:
    with _holding_server() as server:
        client = AsyncModelsLabClient(config(server.base_url, stream_chunk_timeout=60))
        stream = await client.stream_chat(chat_request())
        assert [c.choices[0].delta.text async for c in stream] == ["hi", ""]
        assert server.wait_until_no_open_connections() == 0
        assert server.left == [True]  # type: ignore[attr-defined]
        await client.aclose()


# ------------------------------------------------------------ the body decides

SSE_BODY = sse(chunk("Hel"), chunk("lo"), chunk(finish_reason="stop"))
HEADERS = [
    pytest.param({"content-type": "application/json"}, id="application/json"),
    pytest.param({"content-type": "text/plain; charset=utf-8"}, id="text/plain"),
    pytest.param({}, id="none"),
    pytest.param({"content-type": "Text/Event-Stream"}, id="event-stream"),
]


def _texts(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.text for c in chunks if c.choices)


@pytest.mark.parametrize("headers", HEADERS)
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["", "bom"])
def test_sse_is_read_under_any_content_type(headers: dict[str, str], bom: bytes) -> None:
    server = ScriptedServer([stream_response(bom + SSE_BODY, headers=headers)])
    assert _texts(list(sync_client(server).stream_chat(chat_request()))) == "Hello"


@pytest.mark.parametrize("headers", HEADERS)
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["", "bom"])
async def test_sse_is_read_under_any_content_type_async(
    headers: dict[str, str], bom: bytes
) -> None:
    server = ScriptedServer([stream_response(bom + SSE_BODY, headers=headers)])
    stream = await async_client(server).stream_chat(chat_request())
    assert _texts([c async for c in stream]) == "Hello"


def test_a_bom_split_across_pieces_still_keeps_the_first_event() -> None:
    body = b"\xef\xbb\xbf" + SSE_BODY
    pieces = [body[:1], body[1:2], body[2:5], body[5:]]
    reply = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=_Pieces(pieces),
    )
    server = ScriptedServer([reply])
    assert _texts(list(sync_client(server).stream_chat(chat_request()))) == "Hello"


class _Pieces(httpx2.SyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Any:
        yield from self.pieces


@pytest.mark.parametrize(
    "headers", [{"content-type": "text/event-stream"}, {}], ids=["event-stream", "none"]
)
def test_a_plain_json_reply_to_a_stream_request_is_one_chunk(headers: dict[str, str]) -> None:
    body = b"\n" + json.dumps(completion_body("whole")).encode()
    server = ScriptedServer([stream_response(body, headers=headers)])
    chunks = list(sync_client(server).stream_chat(chat_request()))
    assert _texts(chunks) == "whole"
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_a_plain_json_reply_to_a_stream_request_is_one_chunk_async() -> None:
    body = json.dumps(completion_body("whole")).encode()
    server = ScriptedServer([stream_response(body)])
    stream = await async_client(server).stream_chat(chat_request())
    assert _texts([c async for c in stream]) == "whole"


def test_an_html_page_under_200_is_an_invalid_response() -> None:
    server = ScriptedServer(
        [stream_response(b"<html>busy</html>", headers={"content-type": "text/html"})]
    )
    with pytest.raises(InvalidResponseError, match="not valid JSON"):
        list(sync_client(server).stream_chat(chat_request()))


# ------------------------------------------------------------------ event size cap


def _huge_event(size: int) -> bytes:
    return b"data: " + b"x" * size  # one endless line, never terminated


def test_an_oversized_event_fails_as_an_invalid_response() -> None:
    server = ScriptedServer([stream_response(_huge_event(5000), headers={})])
    client = ModelsLabClient(
        sync_client(server).settings,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        max_sse_event_size=1024,
    )
    with pytest.raises(InvalidResponseError, match="exceeded 1024 bytes"):
        list(client.stream_chat(chat_request()))


async def test_an_oversized_event_fails_as_an_invalid_response_async() -> None:
    server = ScriptedServer([stream_response(sse(chunk("x" * 5000)))])
    client = AsyncModelsLabClient(
        async_client(server).settings,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
        max_sse_event_size=1024,
    )
    stream = await client.stream_chat(chat_request())
    with pytest.raises(InvalidResponseError, match="max_sse_event_size"):
        [c async for c in stream]


def test_the_event_size_cap_can_be_lifted() -> None:
    server = ScriptedServer([stream_response(sse(chunk("x" * 5000), chunk(finish_reason="stop")))])
    client = ModelsLabClient(
        sync_client(server).settings,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        max_sse_event_size=None,
    )
    assert _texts(list(client.stream_chat(chat_request()))) == "x" * 5000


def test_the_default_event_size_cap_fails_an_endless_line_through_chat_models_lab() -> None:
    from modelslab_transport.http.streams import DEFAULT_MAX_SSE_EVENT_SIZE

    body = _huge_event(DEFAULT_MAX_SSE_EVENT_SIZE + 1)
    server = ScriptedServer([stream_response(body)])
    llm = ChatModelsLab(
        api_key=API_KEY,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        max_retries=0,
    )
    with pytest.raises(InvalidResponseError, match="max_sse_event_size"):
        list(llm.stream("Hi"))


def test_the_default_event_size_cap_fails_an_endless_line_through_models_lab_llm() -> None:
    from modelslab_transport.http.streams import DEFAULT_MAX_SSE_EVENT_SIZE

    body = _huge_event(DEFAULT_MAX_SSE_EVENT_SIZE + 1)
    server = ScriptedServer([stream_response(body)])
    llm = ModelsLabLLM(
        api_key=API_KEY,
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        max_retries=0,
    )
    with pytest.raises(InvalidResponseError, match="max_sse_event_size"):
        list(llm.stream_chat([LlamaMessage(role="user", content="Hi")]))
