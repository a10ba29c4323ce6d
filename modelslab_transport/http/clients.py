"""The httpx2 clients the ModelsLab clients send through, and how long each one lives.

An async client shards its pool (an httpcore2 pool's cost per request grows with its
size); a sync one is built once per process, an async one once per event loop. Neither
travels with a pickled or copied ModelsLab client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

import httpx2

from modelslab_transport.after_fork import reset_in_forked_child
from modelslab_transport.errors import LocalRequestError
from modelslab_transport.http.leases import AsyncLease, Held, SyncLease
from modelslab_transport.http.proxies import (
    environment_may_proxy,
    environment_proxies,
    unusable_proxy_reason,
)
from modelslab_transport.http.sharded_pool import (
    DEFAULT_LIMITS,
    ShardedAsyncTransport,
    default_ssl_context,
)
from modelslab_transport.http.timed_transport import TimedHTTPTransport

__all__ = [
    "AsyncClientPerLoop",
    "SyncClientPerProcess",
    "new_async_client",
    "new_sync_client",
]


@contextlib.contextmanager
def _usable_environment_proxies() -> Iterator[None]:
    """Raise a :class:`LocalRequestError` naming the proxy variables if one cannot be used."""
    reason = unusable_proxy_reason()
    if reason is None:
        try:
            yield
            return
        except ImportError:
            reason = "SOCKS proxies need the socksio package: pip install 'httpx2[socks]'"
        except (ValueError, httpx2.InvalidURL) as exc:
            reason = (
                "httpx2 sends through http://, https://, socks5:// and socks5h:// proxies only"
                if "scheme" in str(exc)
                else "httpx2 cannot read it as a proxy URL (scheme://host:port)"
            )
    named = ", ".join(f"{name}={value!r}" for name, value in environment_proxies().items())
    raise LocalRequestError(
        f"the environment names a proxy that cannot be used ({named}): {reason}. Fix or "
        "unset the variable, or pass your own http_client (an httpx2 client built with "
        "trust_env=False ignores these variables)"
    )


_C = TypeVar("_C", httpx2.Client, httpx2.AsyncClient)


def _new_client(
    client_class: type[_C],
    transport: Callable[[httpx2.Limits, ssl.SSLContext], Any],
    sends_to: str | None,
    kwargs: dict[str, Any],
) -> _C:
    """``client_class(**kwargs)`` sending through ``transport``, or httpx2's own if proxied."""
    ssl_context = default_ssl_context()
    if kwargs.get("trust_env", True) and environment_may_proxy(sends_to):
        with _usable_environment_proxies():
            return client_class(**kwargs, verify=ssl_context)
    limits = kwargs.get("limits", DEFAULT_LIMITS)
    return client_class(**kwargs, transport=transport(limits, ssl_context))


def new_sync_client(*, sends_to: str | None = None, **kwargs: Any) -> httpx2.Client:
    """An ``httpx2.Client`` built with ``kwargs``, sending through a :class:`TimedHTTPTransport`.

    When the environment may proxy ``sends_to`` (the base URL; None: any URL) and
    ``trust_env`` is on, the client is httpx2's own (reads timed per read until headers).

    Raises:
        LocalRequestError: a proxy variable httpx2 cannot use, naming it.
    """
    return _new_client(httpx2.Client, TimedHTTPTransport, sends_to, kwargs)


def new_async_client(*, sends_to: str | None = None, **kwargs: Any) -> httpx2.AsyncClient:
    """An ``httpx2.AsyncClient`` sending through a sharded pool; proxied as :func:`new_sync_client`.

    Raises:
        LocalRequestError: a proxy variable httpx2 cannot use, naming it.
    """

    def sharded(limits: httpx2.Limits, context: ssl.SSLContext) -> ShardedAsyncTransport:
        return ShardedAsyncTransport(limits, ssl_context=context)

    return _new_client(httpx2.AsyncClient, sharded, sends_to, kwargs)


class SyncClientPerProcess:
    """The ``httpx2.Client`` a sync ModelsLab client builds: one per process, thread-safe."""

    def __init__(self, build: Callable[[], httpx2.Client]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._held: Held | None = None
        self._pid = 0
        reset_in_forked_child(self)

    def after_fork(self) -> None:
        """In a forked child: a new lock, and the parent's client dropped unclosed."""
        self._lock = threading.Lock()
        self._held, self._pid = None, 0

    def _current(self) -> Held:
        """The process's client, built on first use (call with the lock held)."""
        pid = os.getpid()
        if self._held is None or self._pid != pid:
            client = self._build()
            self._held, self._pid = Held(client, client.close), pid
        return self._held

    def get(self) -> httpx2.Client:
        """The process's client, built on first use (and again in a forked child)."""
        held = self._held
        if held is not None and self._pid == os.getpid():
            return held.client  # type: ignore[no-any-return]
        # Threads sending their first requests at once must share one pool.
        with self._lock:
            return self._current().client  # type: ignore[no-any-return]

    def lease(self) -> SyncLease:
        """The process's client for one call; it stays open until the lease is released."""
        with self._lock:
            held = self._current()
            held.enter()
        return SyncLease(held.client, held)

    def close(self) -> None:
        """Close this process's client once no call uses it (the next call builds a new one)."""
        with self._lock:
            held, self._held = self._held, None
        if held is not None and held.retire():
            held.client.close()

    def __del__(self) -> None:
        # Dropped without close(): close the kept-alive sockets (a stream keeps its client alive).
        held = self._held
        if held is not None and held.pid == os.getpid():
            with contextlib.suppress(Exception):  # the interpreter may be shutting down
                held.client.close()


async def _closes_with_loop(client: httpx2.AsyncClient) -> AsyncGenerator[None, None]:
    """Suspended at ``yield`` for a loop's life; closing it (at loop shutdown) closes ``client``."""
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
    """The ``httpx2.AsyncClient`` s an async ModelsLab client builds: one per event loop."""

    def __init__(self, build: Callable[[], httpx2.AsyncClient]) -> None:
        self._build = build
        self._pid = os.getpid()
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Held] = (
            weakref.WeakKeyDictionary()
        )
        self._unbound: httpx2.AsyncClient | None = None

    def _check_pid(self) -> None:
        pid = os.getpid()
        if pid != self._pid:
            self._by_loop, self._unbound = weakref.WeakKeyDictionary(), None
            self._pid = pid

    def _held(self, loop: asyncio.AbstractEventLoop) -> Held:
        """``loop``'s client (its closer held with it), built on first use."""
        held = self._by_loop.get(loop)
        if held is not None:
            return held
        # Drop entries of loops closed without finalising their async generators.
        for stale in [other for other in self._by_loop if other.is_closed()]:
            del self._by_loop[stale]
        if self._unbound is not None:  # built outside a loop, not used yet: adopt it
            client, self._unbound = self._unbound, None
        else:
            client = self._build()
        closer = _closes_with_loop(client)
        _start(closer)
        held = self._by_loop[loop] = Held(client, closer.aclose)
        return held

    def get(self) -> httpx2.AsyncClient:
        """The running loop's client, built on first use."""
        self._check_pid()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self._unbound is None:
                self._unbound = self._build()
            return self._unbound
        return self._held(loop).client  # type: ignore[no-any-return]

    def lease(self) -> AsyncLease:
        """The running loop's client for one call; open until the lease is released."""
        self._check_pid()
        held = self._held(asyncio.get_running_loop())
        held.enter()
        return AsyncLease(held.client, held)

    async def aclose(self) -> None:
        """Close the running loop's client once no call uses it (others close with their loop)."""
        self._check_pid()
        unbound, self._unbound = self._unbound, None
        if unbound is not None:
            await unbound.aclose()
        held = self._by_loop.pop(asyncio.get_running_loop(), None)
        if held is not None and held.retire():
            await held.close()
