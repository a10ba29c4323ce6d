"""The httpx2 clients the ModelsLab clients send through, and how long each one lives.

* Pools are httpx2's own, with explicit :data:`DEFAULT_LIMITS` (no private API).
* A sync client is built once per process: after ``os.fork()`` the child builds its own
  and never touches the sockets it inherited (they belong to the parent's pool).
* An async client is built once per event loop (two loops used in turn each keep
  their own pool) and closed, in that loop, when the loop shuts down
  (``asyncio.run`` and ``asyncio.Runner`` end by finalising the loop's async
  generators: a small one held per loop closes the client then).
* Neither travels with a pickled or copied ModelsLab client: the copy builds its own.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx2

__all__ = [
    "DEFAULT_LIMITS",
    "AsyncClientPerLoop",
    "SyncClientPerProcess",
    "check_http_client",
]

DEFAULT_LIMITS = httpx2.Limits(
    max_connections=1000, max_keepalive_connections=1000, keepalive_expiry=5.0
)
"""Connection limits of the pools the clients build: up to 1,000 connections, all kept
alive for 5 s when idle, so a burst reuses the connections of the previous one."""


def check_http_client(value: Any, *, is_async: bool, name: str) -> None:
    """Raise ``TypeError`` unless ``value`` is None or an httpx2 client of the right kind.

    Args:
        value: What the caller passed.
        is_async: True for an ``httpx2.AsyncClient`` parameter, False for ``httpx2.Client``.
        name: The parameter's name, for the message.

    Raises:
        TypeError: naming the parameter, what was passed and what to pass instead.
    """
    if value is None:
        return
    expected: type[Any] = httpx2.AsyncClient if is_async else httpx2.Client
    if isinstance(value, expected):
        return
    kind = type(value)
    hint = ""
    if kind.__module__.split(".")[0] == "httpx":
        hint = (
            f" (this transport sends through httpx2: build an httpx2.{expected.__name__}"
            " with the same options)"
        )
    elif isinstance(value, httpx2.Client | httpx2.AsyncClient):
        hint = " (a sync client where an async one is needed, or the reverse)"
    raise TypeError(
        f"{name} must be an httpx2.{expected.__name__} (or None to let the client build "
        f"its own), got {kind.__module__}.{kind.__qualname__}{hint}"
    )


class SyncClientPerProcess:
    """The ``httpx2.Client`` a sync ModelsLab client builds: one per process, thread-safe."""

    def __init__(self, build: Callable[[], httpx2.Client]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._client: httpx2.Client | None = None
        self._pid = 0

    def get(self) -> httpx2.Client:
        """The process's client, built on first use (and again in a forked child)."""
        client, pid = self._client, os.getpid()
        if client is not None and self._pid == pid:
            return client
        # Threads that send their first requests at once must share one pool, not
        # each build one (all but the last would be dropped, connections and all).
        with self._lock:
            if self._client is None or self._pid != pid:
                # In a forked child the parent's client is dropped, not closed: its
                # sockets are shared with the parent, which is still using them.
                self._client, self._pid = self._build(), pid
            return self._client

    def close(self) -> None:
        """Close this process's client, if built (the next request builds a new one)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None and self._pid == os.getpid():
            client.close()


async def _closes_with_loop(client: httpx2.AsyncClient) -> AsyncGenerator[None, None]:
    """Suspended at its ``yield`` for the life of a loop; closing it closes ``client``.

    The loop tracks it as it tracks every started async generator, and finalises it
    (in the loop, before it stops) from ``loop.shutdown_asyncgens()``.
    """
    try:
        yield
    finally:
        await client.aclose()


def _start(agen: AsyncGenerator[None, None]) -> None:
    """Run ``agen`` to its first ``yield`` (it awaits nothing before it)."""
    step = agen.__anext__()
    try:
        step.send(None)
    except StopIteration:
        return
    raise RuntimeError("the loop-bound closer awaited before its first yield")  # pragma: no cover


class AsyncClientPerLoop:
    """The ``httpx2.AsyncClient`` s an async ModelsLab client builds: one per event loop.

    A client's connections belong to the loop it was built in; each loop gets its own
    client, kept for that loop's life and closed as the loop shuts down. Outside any
    loop (reading ``http_client`` in plain code), one client not bound to a loop is kept.
    After ``os.fork()`` the child drops the parent's clients without closing them.
    """

    def __init__(self, build: Callable[[], httpx2.AsyncClient]) -> None:
        self._build = build
        self._pid = os.getpid()
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[httpx2.AsyncClient, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()
        self._unbound: httpx2.AsyncClient | None = None

    def _check_pid(self) -> None:
        pid = os.getpid()
        if pid != self._pid:
            self._by_loop, self._unbound = weakref.WeakKeyDictionary(), None
            self._pid = pid

    def get(self) -> httpx2.AsyncClient:
        """The running loop's client, built on first use."""
        self._check_pid()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self._unbound is None:
                self._unbound = self._build()
            return self._unbound
        entry = self._by_loop.get(loop)
        if entry is not None:
            return entry[0]
        # Loops closed without finalising their async generators leave their entry
        # behind (its connections cannot be closed from another loop): drop those.
        for stale in [other for other in self._by_loop if other.is_closed()]:
            del self._by_loop[stale]
        if self._unbound is not None:  # built outside a loop, not used yet: adopt it
            client, self._unbound = self._unbound, None
        else:
            client = self._build()
        closer = _closes_with_loop(client)
        _start(closer)
        self._by_loop[loop] = (client, closer)
        return client

    async def aclose(self) -> None:
        """Close the running loop's client; clients of other loops close with their loop."""
        self._check_pid()
        unbound, self._unbound = self._unbound, None
        if unbound is not None:
            await unbound.aclose()
        entry = self._by_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()
