"""The sync transport whose socket operations end at the calling thread's deadline.

httpx2 times each sync read alone, so a server sending a byte at a time is never timed out.
:class:`TimedHTTPTransport` is httpx2's transport built from public parts, with a network
backend that lowers each operation's timeout to what is left before :func:`io_deadline`.
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

# httpx2's own method, unwrapped should a recorder (vcrpy) have replaced it first.
_HTTPX2_HANDLE_REQUEST = inspect.unwrap(httpx2.HTTPTransport.handle_request)


class _ThreadDeadline(threading.local):
    at = math.inf
    """``time.monotonic()`` by which this thread's socket operations must end."""


_DEADLINE = _ThreadDeadline()


@contextlib.contextmanager
def io_deadline(at: float) -> Iterator[None]:
    """Within the block, this thread's I/O through a :class:`TimedHTTPTransport` ends by ``at``.

    ``at`` is a ``time.monotonic()`` value (``math.inf``: none); past it an operation
    raises httpx2's ``ReadTimeout`` (``WriteTimeout``, ``ConnectTimeout``). Blocks nest.
    """
    outer = _DEADLINE.at
    _DEADLINE.at = at
    try:
        yield
    finally:
        _DEADLINE.at = outer


def _timeout_left(timeout: float | None, error: type[_E]) -> tuple[float | None, bool]:
    """(``timeout`` capped by the thread's deadline, whether it was); ``error`` once past."""
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
                # The OS may end a wait early: go on until the deadline has really passed.
                if not by_deadline:
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        left, _ = _timeout_left(timeout, httpcore2.WriteTimeout)
        at = _DEADLINE.at
        if at == math.inf:
            self._stream.write(buffer, left)
            return
        # Each send is timed alone: the watchdog bounds the whole write.
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
    """httpx2's exception named as httpcore2's ``exc`` (``exc`` itself when none)."""
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

    Outside :func:`io_deadline` it behaves as httpx2's. While a recorder (vcrpy) has
    replaced ``httpx2.HTTPTransport.handle_request``, requests go through it, with
    httpx2's per-read timeouts only.
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
