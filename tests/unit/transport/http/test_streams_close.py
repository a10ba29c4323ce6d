"""Abandoned streams give their connection back: at once, without waiting for the GC."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import httpx2
import pytest

from modelslab_transport import AsyncModelsLabClient, ClientSettings, ModelsLabClient
from tests.support.clients import async_client, sync_client
from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.mock_api import PiecesStream, ScriptedServer, StallingAsyncStream
from tests.support.replies import SSE_HEADERS, chunk, sse, stream_response
from tests.support.wire_requests import chat_request

BODY = sse(chunk("one"), chunk("two"), chunk("three", finish_reason="stop"))


@pytest.fixture
def gc_disabled() -> Iterator[None]:
    """Closing must not depend on a lucky garbage collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _server() -> ScriptedServer:
    # One chunk per piece, so that nothing is read ahead of the consumer.
    def reply(request: httpx2.Request) -> httpx2.Response:
        pieces = [piece + b"\n\n" for piece in BODY.split(b"\n\n") if piece]
        return httpx2.Response(200, headers=SSE_HEADERS, stream=PiecesStream(pieces))

    return ScriptedServer([reply])


def _body_stream(response: httpx2.Response) -> PiecesStream:
    stream = response.stream
    inner = getattr(stream, "_stream", stream)
    assert isinstance(inner, PiecesStream)
    return inner


# ------------------------------------------------------------------------ sync


def test_break_out_of_for_without_with_closes_the_response(gc_disabled: None) -> None:
    server = _server()
    client = sync_client(server)
    seen = []
    for item in client.stream_chat_completions(chat_request()):
        seen.append(item.choices[0].delta.text)
        break
    assert seen == ["one"]
    response = server.responses[0]
    assert response.is_closed
    assert _body_stream(response).closed


def test_break_out_of_for_inside_with_closes_the_response(gc_disabled: None) -> None:
    server = _server()
    with sync_client(server).stream_chat_completions(chat_request()) as stream:
        for _ in stream:
            break
        assert not stream.response.is_closed
    assert stream.response.is_closed
    assert _body_stream(stream.response).closed


def test_dropping_a_partly_read_stream_closes_the_response(gc_disabled: None) -> None:
    server = _server()
    stream = sync_client(server).stream_chat_completions(chat_request())
    assert next(stream).choices[0].delta.text == "one"
    response = stream.response
    assert not response.is_closed
    del stream
    assert response.is_closed


def test_dropping_a_never_read_stream_closes_the_response(gc_disabled: None) -> None:
    server = _server()
    stream = sync_client(server).stream_chat_completions(chat_request())
    response = stream.response
    assert not response.is_closed
    del stream
    assert response.is_closed


def test_close_without_reading_closes_the_response() -> None:
    server = _server()
    stream = sync_client(server).stream_chat_completions(chat_request())
    stream.close()
    assert stream.response.is_closed
    assert list(stream) == []


def test_exhausted_stream_closes_the_response(gc_disabled: None) -> None:
    server = _server()
    stream = sync_client(server).stream_chat_completions(chat_request())
    assert len(list(stream)) == 3
    assert stream.response.is_closed


# ----------------------------------------------------------------------- async


async def test_async_break_inside_async_with_closes_the_response() -> None:
    server = _server()
    async with await async_client(server).stream_chat_completions(chat_request()) as stream:
        async for _ in stream:
            break
    assert stream.response.is_closed
    assert _body_stream(stream.response).closed


async def test_async_break_without_async_with_closes_the_response_soon() -> None:
    server = _server()
    client = async_client(server)
    async for _ in await client.stream_chat_completions(chat_request()):
        break
    response = server.responses[0]
    for _ in range(20):  # the event loop finalises the abandoned generator
        if response.is_closed:
            break
        await asyncio.sleep(0)
    assert response.is_closed


async def test_async_aclose_without_reading_closes_the_response() -> None:
    server = _server()
    stream = await async_client(server).stream_chat_completions(chat_request())
    await stream.aclose()
    assert stream.response.is_closed
    assert [item async for item in stream] == []


async def test_cancelling_a_task_consuming_a_stream_closes_the_response() -> None:
    body_stream = StallingAsyncStream([sse(chunk("one"), done=False)])
    server = ScriptedServer([httpx2.Response(200, headers=SSE_HEADERS, stream=body_stream)])
    client = async_client(server)
    first_chunk = asyncio.Event()
    seen: list[str] = []

    async def consume() -> None:
        async for item in await client.stream_chat_completions(chat_request()):
            seen.append(item.choices[0].delta.text)
            first_chunk.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_chunk.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["one"]
    assert server.responses[0].is_closed
    assert body_stream.closed


async def test_cancelling_a_task_inside_async_with_closes_the_response() -> None:
    body_stream = StallingAsyncStream([sse(chunk("one"), done=False)])
    server = ScriptedServer([httpx2.Response(200, headers=SSE_HEADERS, stream=body_stream)])
    client = async_client(server)
    first_chunk = asyncio.Event()

    async def consume() -> None:
        async with await client.stream_chat_completions(chat_request()) as stream:
            async for _ in stream:
                first_chunk.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_chunk.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.responses[0].is_closed
    assert body_stream.closed


# ------------------------------------------------- a real pool, real sockets


def _first_chunk_then_wait(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    conn.send_sse_headers()
    conn.send_chunk(sse(chunk("one"), done=False))
    conn.wait_for_client_to_leave()
    return False


def _connections_in_use(pool: object) -> list[object]:
    connections = getattr(pool, "connections")  # noqa: B009
    return [c for c in connections if not (c.is_idle() or c.is_closed())]


N_ABANDONED = 6


def test_abandoned_streams_leave_no_connection_in_use(gc_disabled: None) -> None:
    with LoopbackServer(_first_chunk_then_wait) as server:
        http = httpx2.Client(limits=httpx2.Limits(max_connections=2))
        client = ModelsLabClient(
            ClientSettings(base_url=server.base_url, timeout=httpx2.Timeout(5.0), max_retries=0),
            http_client=http,
        )
        pool = http._transport._pool  # type: ignore[attr-defined]
        try:
            for _ in range(N_ABANDONED):  # more streams than the pool has connections
                for item in client.stream_chat_completions(chat_request()):
                    assert item.choices[0].delta.text == "one"
                    break
                assert _connections_in_use(pool) == []
                assert pool._requests == []
            with client.stream_chat_completions(chat_request()) as stream:
                assert next(stream).choices[0].delta.text == "one"
            assert _connections_in_use(pool) == []
            assert len(server.requests) == N_ABANDONED + 1
            assert server.wait_until_no_open_connections() == 0
        finally:
            http.close()


def test_owned_pool_after_abandoned_streams(gc_disabled: None) -> None:
    with LoopbackServer(_first_chunk_then_wait) as server:
        client = ModelsLabClient(
            ClientSettings(base_url=server.base_url, timeout=httpx2.Timeout(5.0), max_retries=0)
        )
        try:
            for _ in range(3):
                stream = client.stream_chat_completions(chat_request())
                next(stream)
                del stream
            pool = client.http_client._transport._pool  # type: ignore[attr-defined]
            assert _connections_in_use(pool) == []
            assert pool._requests == []
            assert server.wait_until_no_open_connections() == 0
        finally:
            client.close()


async def test_cancelled_async_streams_leave_no_connection_in_use() -> None:
    with LoopbackServer(_first_chunk_then_wait) as server:
        http = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=2))
        client = AsyncModelsLabClient(
            ClientSettings(base_url=server.base_url, timeout=httpx2.Timeout(5.0), max_retries=0),
            http_client=http,
        )
        pool = http._transport._pool  # type: ignore[attr-defined]
        try:
            for _ in range(4):
                got_one = asyncio.Event()

                async def consume(got_one: asyncio.Event = got_one) -> None:
                    async for _ in await client.stream_chat_completions(chat_request()):
                        got_one.set()

                task = asyncio.create_task(consume())
                await asyncio.wait_for(got_one.wait(), timeout=10)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert _connections_in_use(pool) == []
                assert pool._requests == []
            assert len(server.requests) == 4
            assert await asyncio.to_thread(server.wait_until_no_open_connections) == 0
        finally:
            await http.aclose()


def test_stream_response_helper_is_streamed() -> None:
    response = stream_response(b"data: x\n\n")
    assert not response.is_closed
    assert response.read() == b"data: x\n\n"
