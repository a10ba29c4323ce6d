"""The sharded async pool: slots taken and freed per response, shards built on demand,
the total limit kept, and a pool timeout when every slot stays taken."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httpx2
import pytest

from modelslab_transport.http import sharded_pool
from modelslab_transport.http.sharded_pool import (
    DEFAULT_LIMITS,
    SHARD_CONNECTIONS,
    ShardedAsyncTransport,
    default_ssl_context,
)


class FakeShard(httpx2.AsyncBaseTransport):
    """Stands for one httpx2 pool: answers at once, or fails when told to."""

    built: ClassVar[list[FakeShard]] = []

    def __init__(self, *, verify: Any, limits: httpx2.Limits) -> None:
        self.verify, self.limits = verify, limits
        self.closed = False
        self.fail = False
        FakeShard.built.append(self)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.fail:
            raise httpx2.ConnectError("refused", request=request)
        return httpx2.Response(200, stream=httpx2.ByteStream(b"ok"), request=request)

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def fake_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeShard.built = []
    monkeypatch.setattr(sharded_pool.httpx2, "AsyncHTTPTransport", FakeShard)


def _request(pool: float | None = None) -> httpx2.Request:
    return httpx2.Request(
        "GET", "https://h.example/v1/models", extensions={"timeout": {"pool": pool}}
    )


def test_a_shard_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="shard_size must be at least 1, got 0"):
        ShardedAsyncTransport(shard_size=0)


def test_the_defaults() -> None:
    assert (DEFAULT_LIMITS.max_connections, SHARD_CONNECTIONS) == (1000, 8)
    assert default_ssl_context() is default_ssl_context()


def test_each_shard_keeps_its_share_of_the_limits() -> None:
    async def run() -> httpx2.Limits:
        transport = ShardedAsyncTransport(
            httpx2.Limits(max_connections=20, max_keepalive_connections=20), shard_size=8
        )
        await transport.handle_async_request(_request())
        return FakeShard.built[0].limits

    limits = asyncio.run(run())
    assert (limits.max_connections, limits.max_keepalive_connections) == (8, 7)  # ceil(20/3)
    assert FakeShard.built[0].verify is default_ssl_context()


def test_a_small_total_limit_makes_a_small_shard() -> None:
    async def run() -> int | None:
        transport = ShardedAsyncTransport(httpx2.Limits(max_connections=3), shard_size=8)
        await transport.handle_async_request(_request())
        return FakeShard.built[0].limits.max_connections

    assert asyncio.run(run()) == 3


def test_slots_fill_shards_in_order_and_free_when_the_response_closes() -> None:
    async def run() -> None:
        transport = ShardedAsyncTransport(httpx2.Limits(max_connections=10), shard_size=2)
        responses = [await transport.handle_async_request(_request()) for _ in range(3)]
        assert transport.requests_in_flight == 3
        assert len(transport.transports) == 2
        assert b"".join([part async for part in responses[0].stream]) == b"ok"  # type: ignore[union-attr]
        await responses[0].aclose()
        await responses[0].aclose()  # closing twice frees one slot only
        assert transport.requests_in_flight == 2
        await transport.handle_async_request(_request())
        assert len(transport.transports) == 2  # the freed slot is reused
        await transport.aclose()
        assert all(shard.closed for shard in FakeShard.built)
        assert transport.transports == ()

    asyncio.run(run())


def test_a_failed_send_frees_its_slot() -> None:
    async def run() -> int:
        transport = ShardedAsyncTransport(httpx2.Limits(max_connections=1), shard_size=1)
        await (await transport.handle_async_request(_request())).aclose()
        FakeShard.built[0].fail = True
        with pytest.raises(httpx2.ConnectError):
            await transport.handle_async_request(_request())
        FakeShard.built[0].fail = False
        await transport.handle_async_request(_request(pool=1.0))
        return transport.requests_in_flight

    assert asyncio.run(run()) == 1


def test_past_the_pool_timeout_a_waiting_request_fails() -> None:
    async def run() -> None:
        transport = ShardedAsyncTransport(httpx2.Limits(max_connections=1), shard_size=1)
        held = await transport.handle_async_request(_request())
        with pytest.raises(httpx2.PoolTimeout, match=r"within the pool timeout \(0.01 s\)"):
            await transport.handle_async_request(_request(pool=0.01))
        waiting = asyncio.create_task(transport.handle_async_request(_request(pool=None)))
        await asyncio.sleep(0)
        assert not waiting.done()
        await held.aclose()
        await (await waiting).aclose()
        assert transport.requests_in_flight == 0

    asyncio.run(run())


def test_without_a_total_limit_nothing_waits() -> None:
    async def run() -> int:
        transport = ShardedAsyncTransport(httpx2.Limits(max_connections=None), shard_size=2)
        for _ in range(5):
            await transport.handle_async_request(_request(pool=0.0))
        return len(transport.transports)

    assert asyncio.run(run()) == 3
