"""The sharded async pool: many small httpx2 pools behind one transport, built on first use."""

from __future__ import annotations

import asyncio
import functools
import math
import ssl
from collections.abc import AsyncIterator, Callable

import httpx2

__all__ = ["DEFAULT_LIMITS", "SHARD_CONNECTIONS", "ShardedAsyncTransport", "default_ssl_context"]

DEFAULT_LIMITS = httpx2.Limits(
    max_connections=1000, max_keepalive_connections=1000, keepalive_expiry=5.0
)
"""Connection limits of the pools the clients build (keep-alive expiry in seconds)."""

SHARD_CONNECTIONS = 8
"""Connections of each small pool of a :class:`ShardedAsyncTransport` (built on first use)."""


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The SSL context every client here verifies TLS with, built once per process."""
    return httpx2.create_ssl_context()


class _ReleasingStream(httpx2.AsyncByteStream):
    """A response body that frees its shard slot once closed."""

    def __init__(self, body: httpx2.AsyncByteStream, release: Callable[[], None]) -> None:
        self._body = body
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._body:
            yield part

    async def aclose(self) -> None:
        try:
            await self._body.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class _Shard:
    """One small pool and the requests it carries now (each until its response closes)."""

    __slots__ = ("busy", "transport")

    def __init__(self, transport: httpx2.AsyncHTTPTransport) -> None:
        self.transport = transport
        self.busy = 0


class ShardedAsyncTransport(httpx2.AsyncBaseTransport):
    """httpx2's ``AsyncHTTPTransport`` held as small pools of ``shard_size`` connections.

    Together they keep ``limits``. A request holds a slot in the first shard with one
    free until its response closes; when all are taken it waits in arrival order, and
    past its ``pool`` timeout raises ``httpx2.PoolTimeout``.
    """

    def __init__(
        self,
        limits: httpx2.Limits = DEFAULT_LIMITS,
        *,
        shard_size: int = SHARD_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if shard_size < 1:
            raise ValueError(f"shard_size must be at least 1, got {shard_size}")
        total = limits.max_connections
        self._shard_size = shard_size if total is None else max(1, min(shard_size, total))
        shards = None if total is None else math.ceil(total / self._shard_size)
        keepalive = limits.max_keepalive_connections
        per_shard_keepalive = None if keepalive is None else math.ceil(keepalive / (shards or 1))
        self._shard_limits = httpx2.Limits(
            max_connections=self._shard_size,
            max_keepalive_connections=(
                self._shard_size
                if per_shard_keepalive is None
                else min(self._shard_size, per_shard_keepalive)
            ),
            keepalive_expiry=limits.keepalive_expiry,
        )
        self._ssl_context = ssl_context
        self._shards: list[_Shard] = []
        self._slots = None if total is None else asyncio.Semaphore(total)

    def _shard(self) -> _Shard:
        """The first shard with a free slot (a new one when all are full), taken."""
        size = self._shard_size
        for shard in self._shards:
            if shard.busy < size:
                shard.busy += 1
                return shard
        if self._ssl_context is None:
            self._ssl_context = default_ssl_context()
        shard = _Shard(
            httpx2.AsyncHTTPTransport(verify=self._ssl_context, limits=self._shard_limits)
        )
        shard.busy = 1
        self._shards.append(shard)
        return shard

    @property
    def requests_in_flight(self) -> int:
        """Requests holding a connection slot now: sent, and their response not yet closed."""
        return sum(shard.busy for shard in self._shards)

    @property
    def transports(self) -> tuple[httpx2.AsyncHTTPTransport, ...]:
        """The shards' httpx2 transports built so far, in the order they were first used."""
        return tuple(shard.transport for shard in self._shards)

    async def _acquire(self, request: httpx2.Request) -> None:
        slots = self._slots
        if slots is None:
            return
        if not slots.locked():
            await slots.acquire()
            return
        timeout = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(timeout):
                await slots.acquire()
        except TimeoutError as exc:
            raise httpx2.PoolTimeout(
                f"no connection became free within the pool timeout ({timeout} s)",
                request=request,
            ) from exc

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` on a shard with a free slot, waiting for one if needed."""
        await self._acquire(request)
        shard = self._shard()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                shard.busy -= 1
                if self._slots is not None:
                    self._slots.release()

        try:
            response = await shard.transport.handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _ReleasingStream(response.stream, release)
        return response

    async def aclose(self) -> None:
        """Close every shard's connections."""
        shards, self._shards = self._shards, []
        for shard in shards:
            await shard.transport.aclose()
