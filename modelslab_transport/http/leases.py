"""Closing a pooled httpx2 client without closing it under the calls that use it.

Each call leases the client until its response closes; ``close()`` retires the client,
which is closed when its last lease ends (a read blocked on a socket another thread
closes is not woken on Linux).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx2

__all__ = ["AsyncLease", "Held", "SyncLease"]


class Held:
    """A built client, its ``close`` (async: returns an awaitable), its users, whether retired."""

    __slots__ = ("_lock", "_retired", "_users", "client", "close", "pid")

    def __init__(self, client: Any, close: Callable[[], Any]) -> None:
        self.client = client
        self.close = close
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._users = 0
        self._retired = False

    @property
    def users(self) -> int:
        """Calls holding a lease now."""
        return self._users

    def enter(self) -> None:
        """Count one more call using the client."""
        with self._lock:
            self._users += 1

    def leave(self) -> bool:
        """Count one call less; True when the caller must close the client now."""
        with self._lock:
            self._users -= 1
            return self._retired and self._users == 0 and self.pid == os.getpid()

    def retire(self) -> bool:
        """Close when the last call ends; True when none is in flight (close now)."""
        with self._lock:
            if self._retired:
                return False
            self._retired = True
            return self._users == 0 and self.pid == os.getpid()


class _LeasedBody(httpx2.SyncByteStream):
    """A response body that gives its lease back once closed."""

    def __init__(self, body: httpx2.SyncByteStream, release: Callable[[], None]) -> None:
        self._body = body
        self._release = release

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            self._release()


class _LeasedAsyncBody(httpx2.AsyncByteStream):
    """An async response body that gives its lease back once closed."""

    def __init__(
        self, body: httpx2.AsyncByteStream, release: Callable[[], Awaitable[None]]
    ) -> None:
        self._body = body
        self._release = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._body.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._body.aclose()
        finally:
            await self._release()


class SyncLease:
    """One call's hold on a sync pooled client (``held`` None: a caller's own client)."""

    __slots__ = ("__weakref__", "_held", "client")

    def __init__(self, client: httpx2.Client, held: Held | None) -> None:
        self.client = client
        self._held = held

    def release(self) -> None:
        """Give the client back (idempotent); the last call of a retired client closes it."""
        held, self._held = self._held, None
        if held is not None and held.leave():
            held.close()

    def hold_until_closed(self, response: httpx2.Response) -> None:
        """Release when ``response`` is closed or collected, whichever comes first."""
        if self._held is None:
            return
        assert isinstance(response.stream, httpx2.SyncByteStream)
        response.stream = _LeasedBody(response.stream, self.release)
        weakref.finalize(response, self.release)


class AsyncLease:
    """One call's hold on an async pooled client (see :class:`SyncLease`)."""

    __slots__ = ("__weakref__", "_held", "client")

    def __init__(self, client: httpx2.AsyncClient, held: Held | None) -> None:
        self.client = client
        self._held = held

    async def arelease(self) -> None:
        """Give the client back (idempotent); the last call of a retired client closes it."""
        held, self._held = self._held, None
        if held is not None and held.leave():
            await held.close()

    def _drop(self) -> None:
        """Give the client back from a finaliser."""
        held, self._held = self._held, None
        if held is not None:
            held.leave()

    def hold_until_closed(self, response: httpx2.Response) -> None:
        """Release when ``response`` is closed or collected, whichever comes first."""
        if self._held is None:
            return
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _LeasedAsyncBody(response.stream, self.arelease)
        weakref.finalize(response, self._drop)
