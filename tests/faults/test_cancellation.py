"""Abandoned and cancelled streams give their connection back, through both classes.

A stream the caller breaks out of, or whose consuming task is cancelled, must close
its HTTP response: the server sees the client leave, and the pool keeps no connection
busy. After 1,000 abandoned streams per class and mode, the pool holds no connection
in an active state and the server never saw more open connections than the pool allows.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.http.sharded_pool import ShardedAsyncTransport
from tests.faults.drivers import HARD_LIMIT, Framework, bounded, make_model
from tests.support.fault_server import LIMIT, FaultServer
from tests.support.loopback import LoopbackConnection, LoopbackRequest

ABANDONED = 1000
POOL_SIZE = 100
"""A bound on connections open at once (the pools the classes build allow up to 1,000)."""
PROMPT = [ChatMessage(role=MessageRole.USER, content="hi")]
FRAMEWORKS = pytest.mark.parametrize("framework", ["langchain", "llama_index"])


def first_chunk_then_wait(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    """Send one chunk of a stream, then wait (bounded) for the client to hang up."""
    conn.sock.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    conn.send_chunk(b'data: {"choices": [{"index": 0, "delta": {"content": "one"}}]}\n\n')
    conn.wait_for_client_to_leave(limit=LIMIT)
    return False


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


def sync_pools(llm: Any) -> list[Any]:
    """The httpcore2 connection pool behind the model's sync client (one)."""
    client = llm.client.sync_client
    transport: Any = client.http_client._transport
    return [transport._pool]


def async_pools(llm: Any) -> list[Any]:
    """The httpcore2 pools behind the model's async client in the running loop (one a shard).

    Also checks that no request still holds a slot of the sharded transport.
    """
    transport = llm.client.async_client.http_client._transport
    assert isinstance(transport, ShardedAsyncTransport), transport
    assert transport.requests_in_flight == 0
    assert transport.transports, "no request went through the sharded transport"
    return [shard._pool for shard in transport.transports]


def active_connections(pools: list[Any]) -> list[Any]:
    """Connections of ``pools`` that are neither idle nor closed (a request still holds them)."""
    return [c for pool in pools for c in pool.connections if not (c.is_idle() or c.is_closed())]


def queued_requests(pools: list[Any]) -> list[Any]:
    """Requests still waiting in or held by ``pools``."""
    return [request for pool in pools for request in pool._requests]


def sync_stream(llm: Any) -> Iterator[str]:
    """The text pieces of one streamed answer, as the class yields them."""
    if isinstance(llm, ChatModelsLab):
        return (str(message.content) for message in llm.stream("hi"))
    assert isinstance(llm, ModelsLabLLM)
    return (response.delta or "" for response in llm.stream_chat(PROMPT))


async def async_stream(llm: Any) -> AsyncIterator[str]:
    """The text pieces of one streamed answer on the async client."""
    if isinstance(llm, ChatModelsLab):
        async for message in llm.astream("hi"):
            yield str(message.content)
    else:
        async for response in await llm.astream_chat(PROMPT):
            yield response.delta or ""


async def settle(llm: Any) -> None:
    """Let the event loop finalise abandoned async generators (bounded)."""
    for _ in range(200):
        transport = llm.client.async_client.http_client._transport
        if transport.requests_in_flight == 0 and not active_connections(async_pools(llm)):
            return
        await asyncio.sleep(0.005)


# ------------------------------------------------------------ one stream


@FRAMEWORKS
def test_break_out_of_a_stream_closes_the_response(framework: Framework, gc_disabled: None) -> None:
    with FaultServer(first_chunk_then_wait) as server:
        llm = make_model(framework, server.base_url)

        def consume() -> list[str]:
            seen = []
            for piece in sync_stream(llm):
                seen.append(piece)
                break
            return seen

        assert bounded("break", consume) == ["one"]
        assert active_connections(sync_pools(llm)) == []
        assert server.wait_until_no_open_connections(LIMIT) == 0  # the client hung up
        assert server.request_count == 1
        llm.close()


@FRAMEWORKS
async def test_break_out_of_an_async_stream_closes_the_response(framework: Framework) -> None:
    with FaultServer(first_chunk_then_wait) as server:
        llm = make_model(framework, server.base_url)

        async def consume() -> None:
            async for piece in async_stream(llm):
                assert piece == "one"
                break
            await settle(llm)
            assert active_connections(async_pools(llm)) == []
            assert await asyncio.to_thread(server.wait_until_no_open_connections, LIMIT) == 0

        await asyncio.wait_for(consume(), HARD_LIMIT)
        assert server.request_count == 1
        await llm.aclose()


@FRAMEWORKS
async def test_cancelling_the_consuming_task_closes_the_response(framework: Framework) -> None:
    with FaultServer(first_chunk_then_wait) as server:
        llm = make_model(framework, server.base_url, stream_chunk_timeout=LIMIT * 2)
        got_one = asyncio.Event()
        seen: list[str] = []

        async def consume() -> None:
            async for piece in async_stream(llm):
                if piece:
                    seen.append(piece)
                    got_one.set()

        async def cancel_midway() -> None:
            task = asyncio.create_task(consume())
            await got_one.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert task.cancelled()
            await settle(llm)
            assert active_connections(async_pools(llm)) == []
            assert await asyncio.to_thread(server.wait_until_no_open_connections, LIMIT) == 0

        await asyncio.wait_for(cancel_midway(), HARD_LIMIT)
        assert seen == ["one"]
        assert server.request_count == 1
        await llm.aclose()


# ---------------------------------------------------------- 1,000 streams


@FRAMEWORKS
def test_a_thousand_abandoned_streams_leak_no_connection(
    framework: Framework, gc_disabled: None
) -> None:
    with FaultServer(first_chunk_then_wait) as server:
        llm = make_model(framework, server.base_url)

        def abandon_many() -> None:
            for _ in range(ABANDONED):
                for piece in sync_stream(llm):
                    assert piece == "one"
                    break

        bounded("1,000 abandoned streams", abandon_many, limit=60)
        pools = sync_pools(llm)
        assert active_connections(pools) == []
        assert queued_requests(pools) == []
        assert server.request_count == ABANDONED  # one request each: nothing retried
        assert server.peak_open_connections <= POOL_SIZE
        assert server.wait_until_no_open_connections(LIMIT) == 0
        llm.close()


@FRAMEWORKS
async def test_a_thousand_abandoned_async_streams_leak_no_connection(framework: Framework) -> None:
    with FaultServer(first_chunk_then_wait) as server:
        llm = make_model(framework, server.base_url)

        async def abandon_many() -> None:
            for _ in range(ABANDONED):
                async for piece in async_stream(llm):
                    assert piece == "one"
                    break
            await settle(llm)
            pools = async_pools(llm)
            assert active_connections(pools) == []
            assert queued_requests(pools) == []
            assert await asyncio.to_thread(server.wait_until_no_open_connections, LIMIT) == 0

        await asyncio.wait_for(abandon_many(), 60)
        assert server.request_count == ABANDONED
        assert server.peak_open_connections <= POOL_SIZE
        await llm.aclose()
