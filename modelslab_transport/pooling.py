"""The pooled httpx clients the ModelsLab clients build for themselves.

Two things differ from a plain ``httpx.Client()``:

* The pool keeps as many idle connections as it may open (``DEFAULT_LIMITS``), so a
  burst of concurrent requests reuses the connections of the previous burst instead
  of opening new ones (httpx's default keeps 20 of 100).
* httpcore 1.0's pool re-examines every pooled connection each time a request starts
  or finishes: it probes each idle socket for readability (a ``poll`` through anyio in
  async code) and, for each idle connection, counts the whole pool again. With a few
  hundred pooled connections that bookkeeping costs more than the requests
  (upstream: encode/httpcore#1035, open). :class:`_LeanPoolMixin` replaces that one
  method with the same decisions made lazily: a connection is probed for expiry when
  it is about to be reused, and the whole pool is swept (closed, expired and surplus
  idle connections) at most once per ``_EXPIRY_SWEEP_INTERVAL``, or at once when the
  pool is full and a request needs a place.

The replacement is installed only on the exact httpcore 1.0 pool classes it was written
against; with anything else (another httpcore, a proxy pool) the stock pool is used.
Clients injected by the caller are never touched.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import httpx

__all__ = ["DEFAULT_LIMITS", "new_async_client", "new_sync_client"]

DEFAULT_LIMITS = httpx.Limits(
    max_connections=1000, max_keepalive_connections=1000, keepalive_expiry=5.0
)
"""Connection limits of the pools the clients build (keep-alive as wide as the pool)."""

_EXPIRY_SWEEP_INTERVAL = 1.0
"""Seconds between two probes of every idle connection for expiry."""


class _LeanPoolMixin:
    """``_assign_requests_to_connections`` for httpcore 1.0 pools, without the O(n²) work.

    Decisions are those of httpcore 1.0.9: closed connections are dropped; idle ones
    are closed while the pool holds more than ``max_keepalive_connections``; expired
    ones are closed; each queued request gets the first connection that can take it,
    else a new one, else an idle connection is closed to make room. What differs is
    when the whole pool is examined (see the module docstring): a connection about to
    be reused is always checked for expiry first. And an HTTP/1.1 connection already
    handed to a request is not handed to a second one (httpcore does, and the loser
    then fails with ``ConnectionNotAvailable``, is queued again and often opens a
    connection of its own).
    """

    _connections: list[Any]
    _requests: list[Any]
    _max_connections: int
    _max_keepalive_connections: int
    _http2: bool
    _next_expiry_sweep: float = 0.0

    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        connections = self._connections
        now = time.monotonic()
        sweep = now >= self._next_expiry_sweep
        if sweep:
            self._next_expiry_sweep = now + _EXPIRY_SWEEP_INTERVAL
        if sweep or len(connections) > self._max_keepalive_connections:
            self._clean_up(connections, closing, sweep)

        queued, reserved = [], set()
        for request in self._requests:
            if request.is_queued():
                queued.append(request)
            elif not self._http2:
                # Handed to a request that has not started on it yet (or is using it):
                # an HTTP/1.1 connection serves one request at a time.
                reserved.add(request.connection)
        for pool_request in queued:
            origin = pool_request.request.url.origin
            chosen = None
            for connection in list(connections):
                if connection in reserved or not (
                    connection.can_handle_request(origin) and connection.is_available()
                ):
                    continue
                if not sweep and connection.has_expired():
                    connections.remove(connection)
                    closing.append(connection)
                    continue
                chosen = connection
                break
            if chosen is None:
                if len(connections) >= self._max_connections and not sweep:
                    # Closed connections are otherwise dropped by the periodic sweep;
                    # a full pool needs their places now.
                    self._clean_up(connections, closing, sweep=False)
                if len(connections) >= self._max_connections:
                    idle = next((c for c in connections if c.is_idle()), None)
                    if idle is None:
                        continue  # the request waits for a connection to free up
                    connections.remove(idle)
                    closing.append(idle)
                chosen = self.create_connection(origin)  # type: ignore[attr-defined]
                connections.append(chosen)
            pool_request.assign_to_connection(chosen)
            if not self._http2:
                reserved.add(chosen)
        return closing

    def _clean_up(self, connections: list[Any], closing: list[Any], sweep: bool) -> None:
        """Drop closed connections; close expired ones (``sweep``) and surplus idle ones."""
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif (sweep and connection.has_expired()) or (
                len(connections) > self._max_keepalive_connections and connection.is_idle()
            ):
                connections.remove(connection)
                closing.append(connection)


@functools.cache
def _lean_pool_classes() -> dict[type, type]:
    """Stock httpcore pool class -> its lean subclass (httpcore is imported on first use)."""
    import httpcore  # httpx itself imports it only when a transport is built

    if not httpcore.__version__.startswith("1.0."):
        return {}
    sync_pool = type("_LeanConnectionPool", (_LeanPoolMixin, httpcore.ConnectionPool), {})
    async_pool = type(
        "_LeanAsyncConnectionPool", (_LeanPoolMixin, httpcore.AsyncConnectionPool), {}
    )
    return {httpcore.ConnectionPool: sync_pool, httpcore.AsyncConnectionPool: async_pool}


def _make_lean(client: httpx.Client | httpx.AsyncClient) -> None:
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    lean = _lean_pool_classes().get(type(pool))
    if lean is not None:
        pool.__class__ = lean


def new_sync_client(**options: Any) -> httpx.Client:
    """An ``httpx.Client(**options)`` with :data:`DEFAULT_LIMITS` and the lean pool.

    Built as httpx builds it (environment proxies, certificates, ``trust_env`` all
    as usual); only the pool of its direct transport gets the lean bookkeeping.
    """
    client = httpx.Client(limits=DEFAULT_LIMITS, **options)
    _make_lean(client)
    return client


def new_async_client(**options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient(**options)`` with :data:`DEFAULT_LIMITS` and the lean pool."""
    client = httpx.AsyncClient(limits=DEFAULT_LIMITS, **options)
    _make_lean(client)
    return client
