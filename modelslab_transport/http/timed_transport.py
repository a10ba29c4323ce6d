"""The sync transport whose socket reads end at the calling thread's deadline.

httpx2 times each read of a sync request alone (``timeout``'s ``read`` phase), so a
server that sends its status line and headers one byte at a time is never timed out:
every read gets a byte in time. Async calls are bounded by a cancel scope; a sync call
cannot be interrupted from outside, except by shutting its socket down, and httpx2
exposes a request's socket only once the reply's headers have arrived (on the response,
as the ``network_stream`` extension).

:class:`TimedHTTPTransport` bounds every phase from inside instead. It is httpx2's sync
transport made of public parts: an ``httpcore2.ConnectionPool`` (the pool
``httpx2.HTTPTransport`` builds) given a network backend whose streams lower each
read's, write's and connect's timeout to what is left before the deadline the calling
thread set with :func:`io_deadline`, and raise httpcore2's timeout once it has passed.
A write (many sends, each timed alone) is also guarded by
:mod:`modelslab_transport.http.watchdog`, which shuts its socket down at the deadline: a
server reading the request a little at a time would otherwise keep every send in time.
Reads outside :func:`io_deadline` (a stream's body, read as the caller iterates) are
timed per read as before; the clients guard those with
:mod:`modelslab_transport.http.watchdog`.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import httpcore2
import httpx2

from modelslab_transport.http.watchdog import WATCHDOG

__all__ = ["TimedHTTPTransport", "io_deadline"]

_E = TypeVar("_E", bound=httpcore2.TimeoutException)

# httpx2's own method, even if a recorder had already replaced it when this module was
# imported (replacements made with functools.wraps, as vcrpy's, keep it as __wrapped__).
_HTTPX2_HANDLE_REQUEST = inspect.unwrap(httpx2.HTTPTransport.handle_request)


class _ThreadDeadline(threading.local):
    at = math.inf
    """``time.monotonic()`` by which this thread's socket operations must end."""


_DEADLINE = _ThreadDeadline()


@contextlib.contextmanager
def io_deadline(at: float) -> Iterator[None]:
    """Within the block, this thread's reads through a :class:`TimedHTTPTransport` end by ``at``.

    ``at`` is a ``time.monotonic()`` value (``math.inf``: no deadline). Each read,
    write and connect then waits at most until ``at`` (or its own timeout, if sooner),
    and one begun at or after ``at`` raises ``httpcore2.ReadTimeout`` (``WriteTimeout``,
    ``ConnectTimeout``), which the transport raises as httpx2's. Blocks nest: the inner
    deadline applies inside it, the outer one again after it.
    """
    outer = _DEADLINE.at
    _DEADLINE.at = at
    try:
        yield
    finally:
        _DEADLINE.at = outer


def _timeout_left(timeout: float | None, error: type[_E]) -> tuple[float | None, bool]:
    """``timeout`` lowered to the time left before the thread's deadline.

    Returns the timeout to use and whether the deadline (not ``timeout``) set it.

    Raises:
        httpcore2.TimeoutException: ``error``, when the deadline has passed.
    """
    at = _DEADLINE.at
    if at == math.inf:
        return timeout, False
    left = at - time.monotonic()
    if left <= 0:
        raise error("the call's deadline passed")
    if timeout is None or left < timeout:
        return left, True
    return timeout, False


class _TimedStream(httpcore2.NetworkStream):
    """A network stream whose operations end by the calling thread's deadline."""

    def __init__(self, stream: httpcore2.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        while True:
            left, by_deadline = _timeout_left(timeout, httpcore2.ReadTimeout)
            try:
                return self._stream.read(max_bytes, left)
            except httpcore2.ReadTimeout:
                # A socket timeout may end a moment early (the OS rounds its wait): go
                # on until the deadline has really passed, so the caller sees it passed.
                if not by_deadline:
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        left, _ = _timeout_left(timeout, httpcore2.WriteTimeout)
        at = _DEADLINE.at
        if at == math.inf:
            self._stream.write(buffer, left)
            return
        # A write is many sends, each timed alone: a server that reads a little at a time
        # keeps every send within its timeout. The socket is shut down at the deadline.
        with WATCHDOG.guard(self._stream.get_extra_info("socket"), at - time.monotonic()):
            self._stream.write(buffer, left)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        left, _ = _timeout_left(timeout, httpcore2.ConnectTimeout)
        return _TimedStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _TimedBackend(httpcore2.NetworkBackend):
    """httpcore2's sync backend, handing out :class:`_TimedStream` streams."""

    def __init__(self) -> None:
        self._backend = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        left, _ = _timeout_left(timeout, httpcore2.ConnectTimeout)
        return _TimedStream(
            self._backend.connect_tcp(host, port, left, local_address, socket_options)
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        left, _ = _timeout_left(timeout, httpcore2.ConnectTimeout)
        return _TimedStream(self._backend.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _httpx2_error(exc: Exception) -> Exception:
    """httpx2's exception of the same name as httpcore2's ``exc`` (``exc`` when none).

    httpx2 defines one for each of httpcore2's (``ReadTimeout``, ``ConnectError``, ...),
    and raises it from its own transport in the same way.
    """
    for kind in type(exc).__mro__:
        if kind.__module__.startswith("httpcore2"):
            mapped = getattr(httpx2, kind.__name__, None)
            if isinstance(mapped, type) and issubclass(mapped, httpx2.TransportError):
                return mapped(str(exc))
    return exc


@contextlib.contextmanager
def _httpx2_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = _httpx2_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc


class _Body(httpx2.SyncByteStream):
    """A reply's body, read from httpcore2, raising httpx2's errors."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx2_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class TimedHTTPTransport(httpx2.HTTPTransport):
    """httpx2's ``HTTPTransport`` (HTTP/1.1, no proxy) whose socket operations end at deadlines.

    The deadline is the calling thread's, set with :func:`io_deadline`; outside one,
    the transport behaves as httpx2's. Errors are httpx2's (``httpx2.ReadTimeout`` when a
    deadline passes).

    Requests go to its own ``httpcore2.ConnectionPool``, built with the deadline-aware
    network backend. One exception: while a recorder has replaced
    ``httpx2.HTTPTransport.handle_request`` to see every request (vcrpy does, to record
    and replay cassettes), requests go through that replacement, and so to the pool
    httpx2's own ``__init__`` built, with httpx2's per-read timeouts only.

    Args:
        limits: Connection limits of its pool (``httpx2.Limits``).
        ssl_context: TLS settings of its connections.
    """

    def __init__(self, limits: httpx2.Limits, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, limits=limits)
        self._timed_pool = httpcore2.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_TimedBackend(),
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` on a pooled connection; the body is left to be read."""
        handle = httpx2.HTTPTransport.handle_request
        if handle is not _HTTPX2_HANDLE_REQUEST:  # replaced by a recorder: let it see it
            return handle(self, request)
        assert isinstance(request.stream, httpx2.SyncByteStream)
        url = request.url
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx2_errors():
            response = self._timed_pool.handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._timed_pool.close()
        super().close()
