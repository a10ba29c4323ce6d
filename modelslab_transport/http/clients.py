"""The httpx2 clients the ModelsLab clients send through, and how long each one lives.

* Pools are httpx2's own, with explicit :data:`DEFAULT_LIMITS` (no private API).
* An async client sends through :class:`ShardedAsyncTransport`: the same limits, held
  as many small httpx2 pools instead of one large one. httpcore2's pool re-examines
  every connection it holds (and probes the socket of every idle one) each time a
  request enters or leaves it, so one pool of a thousand connections spends time
  proportional to its size on every request, and a burst of thousands of concurrent
  calls costs the square of its size and collapses. A small pool makes each of those
  passes short; requests beyond the connection limit wait in an ``asyncio.Semaphore``
  (constant cost per request) instead of in a pool's queue (rescanned on every pass).
  The alternatives measured were worse: a smaller keep-alive limit on one pool still
  rescans every active connection and reconnects after each burst, and capping the
  requests in flight to what one pool handles quickly caps throughput at that cap
  divided by the server's latency (long streams would queue behind each other). The
  figures are in ``benchmarks/RESULTS.md``. (With a proxy named in the environment
  the client is httpx2's own, so that its proxy routing applies unchanged.)
* A sync client keeps one pool (threads rarely number in the thousands): httpcore2's,
  in a :class:`~modelslab_transport.http.timed_transport.TimedHTTPTransport`, whose socket
  reads end at the calling thread's deadline (httpx2's own transport times each read
  alone).
* A sync client is built once per process: after ``os.fork()`` the child builds its own
  and never touches the sockets it inherited (they belong to the parent's pool). A
  ModelsLab client dropped without ``close()`` closes it as it is collected (its
  streams keep it alive while they are read).
* An async client is built once per event loop (two loops used in turn each keep
  their own pool) and closed, in that loop, when the ModelsLab client is dropped (a
  loop turn later) or when the loop shuts down
  (``asyncio.run`` and ``asyncio.Runner`` end by finalising the loop's async
  generators: a small one held per loop closes the client then).
* Neither travels with a pickled or copied ModelsLab client: the copy builds its own.
* Every client and every shard verifies TLS with one SSL context per process
  (:func:`default_ssl_context`): loading the CA bundle takes tens of milliseconds, and
  httpx2 builds a new context for each transport it creates unless it is given one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
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
from modelslab_transport.http.timed_transport import TimedHTTPTransport

__all__ = [
    "DEFAULT_LIMITS",
    "SHARD_CONNECTIONS",
    "AsyncClientPerLoop",
    "ShardedAsyncTransport",
    "SyncClientPerProcess",
    "default_ssl_context",
    "new_async_client",
    "new_sync_client",
]

DEFAULT_LIMITS = httpx2.Limits(
    max_connections=1000, max_keepalive_connections=1000, keepalive_expiry=5.0
)
"""Connection limits of the pools the clients build: up to 1,000 connections, all kept
alive for 5 s when idle, so a burst reuses the connections of the previous one."""

SHARD_CONNECTIONS = 8
"""Connections of each small pool of a :class:`ShardedAsyncTransport` (its shard size).

Each request entering or leaving an httpcore2 pool costs time proportional to the
connections the pool holds, so shards are kept small; more of them cost nothing until
they are used (a shard is built on first use)."""


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The SSL context every client this package builds verifies TLS with (one per process).

    It is ``httpx2.create_ssl_context()``: certifi's CA bundle, or the file or directory
    named by ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when the first client is built (later
    changes to those variables are not seen; pass your own ``http_client`` built with
    ``verify=`` for other TLS settings). Loading the bundle takes tens of milliseconds
    of CPU (about 37 ms here), so building it once instead of once per httpx2 transport
    saves that on every client, every event loop's client and every pool shard. An
    ``ssl.SSLContext`` may be shared by any number of connections and threads.
    """
    return httpx2.create_ssl_context()


class _ReleasingStream(httpx2.AsyncByteStream):
    """A response body that gives its shard slot back once closed."""

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

    Together they keep ``limits``: at most ``limits.max_connections`` connections (and
    requests in flight; None: no limit) and about ``limits.max_keepalive_connections``
    idle ones (each shard keeps an equal share, rounded up), each idle for at most
    ``limits.keepalive_expiry`` seconds. A request goes to
    the first shard with a free connection slot (so light traffic keeps reusing the
    first shard's connections) and holds that slot until its response is closed. When
    every slot is taken it waits, in arrival order, for one to be freed; a wait longer
    than the request's ``pool`` timeout raises ``httpx2.PoolTimeout``. Only public
    httpx2 API is used: each shard is an ``httpx2.AsyncHTTPTransport``, all sharing one
    SSL context.

    Args:
        limits: The limits of all shards together.
        shard_size: Connections per shard; default :data:`SHARD_CONNECTIONS`.
        ssl_context: TLS settings of every shard; by default :func:`default_ssl_context`.
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


@contextlib.contextmanager
def _usable_environment_proxies() -> Iterator[None]:
    """Raise a :class:`LocalRequestError` naming the proxy variables if one cannot be used.

    httpx2 refuses, when the client is built, a proxy URL it cannot read
    (``httpx2.InvalidURL``), one of a scheme it cannot send through (``ValueError``) and a
    SOCKS proxy without the ``socksio`` package (``ImportError``). A port beyond 65535 it
    accepts, and fails on at the first call (an ``OverflowError``, in async code inside
    an exception group): :func:`~modelslab_transport.http.proxies.unusable_proxy_reason`
    checks that, and blanks around a value, first.
    """
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
    """``client_class(**kwargs)`` sending through ``transport(limits, ssl_context)``.

    Or httpx2's own transport, for its proxy routing, when the environment may send
    requests to ``sends_to`` through a proxy (see the two callers).
    """
    ssl_context = default_ssl_context()
    if kwargs.get("trust_env", True) and environment_may_proxy(sends_to):
        with _usable_environment_proxies():
            return client_class(**kwargs, verify=ssl_context)
    limits = kwargs.get("limits", DEFAULT_LIMITS)
    return client_class(**kwargs, transport=transport(limits, ssl_context))


def new_sync_client(*, sends_to: str | None = None, **kwargs: Any) -> httpx2.Client:
    """An ``httpx2.Client`` built with ``kwargs``, sending through a :class:`TimedHTTPTransport`.

    The transport has ``kwargs["limits"]`` (default :data:`DEFAULT_LIMITS`) and
    :func:`default_ssl_context`, and ends a thread's reads at the deadline it set with
    :func:`~modelslab_transport.http.timed_transport.io_deadline`. When the environment may
    send requests to ``sends_to`` (the base URL; None: any URL) through a proxy
    (:func:`~modelslab_transport.http.proxies.environment_may_proxy`) and ``trust_env`` is
    left on, the client is httpx2's own, with the same SSL context, so that its proxy
    routing applies unchanged (its reads are then timed per read only, until the reply's
    headers have arrived).

    Raises:
        LocalRequestError: a proxy variable httpx2 cannot use, naming it.
    """
    return _new_client(httpx2.Client, TimedHTTPTransport, sends_to, kwargs)


def new_async_client(*, sends_to: str | None = None, **kwargs: Any) -> httpx2.AsyncClient:
    """An ``httpx2.AsyncClient`` built with ``kwargs``, sending through a sharded pool.

    The pool is a :class:`ShardedAsyncTransport` with ``kwargs["limits"]`` (default
    :data:`DEFAULT_LIMITS`) and :func:`default_ssl_context`, the client's only transport.
    When the environment may send requests to ``sends_to`` (the base URL; None: any URL)
    through a proxy (``HTTPS_PROXY``, ``ALL_PROXY`` and the like; see
    :func:`~modelslab_transport.http.proxies.environment_may_proxy`) and ``trust_env`` is left
    on, the client is httpx2's own (with the same SSL context), so that its proxy routing
    applies exactly as in any httpx2 client.

    Raises:
        LocalRequestError: a proxy variable httpx2 cannot use, naming it.
    """

    def sharded(limits: httpx2.Limits, context: ssl.SSLContext) -> ShardedAsyncTransport:
        return ShardedAsyncTransport(limits, ssl_context=context)

    return _new_client(httpx2.AsyncClient, sharded, sends_to, kwargs)


class SyncClientPerProcess:
    """The ``httpx2.Client`` a sync ModelsLab client builds: one per process, thread-safe.

    Calls :meth:`lease` it; :meth:`close` never closes it under them (see
    :mod:`modelslab_transport.http.leases`).
    """

    def __init__(self, build: Callable[[], httpx2.Client]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._held: Held | None = None
        self._pid = 0
        reset_in_forked_child(self)

    def after_fork(self) -> None:
        """In a forked child: a new lock (the parent's may be held), no client.

        The client stays the parent's (its sockets are shared with it): it is dropped,
        not closed.
        """
        self._lock = threading.Lock()
        self._held, self._pid = None, 0

    def _current(self) -> Held:
        """The process's client, built on first use (call with the lock held)."""
        pid = os.getpid()
        if self._held is None or self._pid != pid:
            # In a forked child the parent's client is dropped, not closed: its
            # sockets are shared with the parent, which is still using them.
            client = self._build()
            self._held, self._pid = Held(client, client.close), pid
        return self._held

    def get(self) -> httpx2.Client:
        """The process's client, built on first use (and again in a forked child)."""
        held = self._held
        if held is not None and self._pid == os.getpid():
            return held.client  # type: ignore[no-any-return]
        # Threads that send their first requests at once must share one pool, not
        # each build one (all but the last would be dropped, connections and all).
        with self._lock:
            return self._current().client  # type: ignore[no-any-return]

    def lease(self) -> SyncLease:
        """The process's client for one call; it stays open until the lease is released."""
        with self._lock:
            held = self._current()
            held.enter()
        return SyncLease(held.client, held)

    def close(self) -> None:
        """Close this process's client once no call uses it (the next call builds a new one).

        Calls in flight finish on their connections, which are closed as they end.
        """
        with self._lock:
            held, self._held = self._held, None
        if held is not None and held.retire():
            held.client.close()

    def __del__(self) -> None:
        # A ModelsLab client dropped without close() closes the connections it kept
        # alive; otherwise each socket is collected unclosed ("ResourceWarning: unclosed
        # socket"). Nothing still reading uses them: a stream keeps its client alive.
        held = self._held
        if held is not None and held.pid == os.getpid():
            with contextlib.suppress(Exception):  # the interpreter may be shutting down
                held.client.close()


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
    Calls :meth:`lease` the running loop's client; :meth:`aclose` never closes it under
    them (see :mod:`modelslab_transport.http.leases`).
    """

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
        """Close the running loop's client once no call uses it.

        Calls in flight finish on their connections; clients of other loops close
        with their loop.
        """
        self._check_pid()
        unbound, self._unbound = self._unbound, None
        if unbound is not None:
            await unbound.aclose()
        held = self._by_loop.pop(asyncio.get_running_loop(), None)
        if held is not None and held.retire():
            await held.close()
