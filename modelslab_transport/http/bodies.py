"""Reading a reply body whole, within the call's deadline and ``max_response_size``.

The size (bytes) is counted decompressed, piece by piece, so a compression bomb fails early.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.errors import InvalidResponseError
from modelslab_transport.http.watchdog import WATCHDOG, socket_of
from modelslab_transport.limits.deadlines import Deadline, reply_deadline_error

__all__ = ["BodyLimit", "ajoin_body", "aread_body", "join_body", "plain_response", "read_body"]


def plain_response(response: httpx2.Response, body: bytes) -> httpx2.Response:
    """The already decoded ``body`` as a read response with ``response``'s headers."""
    headers = response.headers.copy()
    for name in ("content-encoding", "content-length", "transfer-encoding"):
        headers.pop(name, None)
    return httpx2.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )


class BodyLimit:
    """Collects a body's pieces (``head``: bytes already read) up to ``max_response_size``."""

    __slots__ = ("_cap", "_parts", "_response", "_settings", "_size")

    def __init__(
        self, settings: ClientSettings, response: httpx2.Response, head: bytes = b""
    ) -> None:
        self._cap = settings.max_response_size
        self._settings, self._response = settings, response
        self._parts: list[bytes] = []
        self._size = 0
        if head:
            self.add(head)

    def add(self, piece: bytes) -> None:
        """Keep ``piece``; InvalidResponseError once the body exceeds ``max_response_size``."""
        self._size += len(piece)
        if self._cap is not None and self._size > self._cap:
            self._parts.clear()
            url = self._settings.redact(str(self._response.request.url))
            raise InvalidResponseError(
                f"the reply from {url} is larger than {self._cap} bytes once decompressed "
                f"(max_response_size={self._cap}; raise max_response_size=, or set it to "
                "None to read a reply of any size)"
            )
        self._parts.append(piece)

    def body(self) -> bytes:
        """Everything kept, joined."""
        return b"".join(self._parts)


def _url(response: httpx2.Response, settings: ClientSettings) -> str:
    return settings.redact(str(response.request.url))


def read_body(
    response: httpx2.Response, settings: ClientSettings, deadline: Deadline
) -> httpx2.Response:
    """Read a streamed reply's body whole (closing it) and return it as a read response.

    Raises:
        APITimeoutError: ``deadline`` passed (a stalled read is interrupted).
        InvalidResponseError: the body exceeds ``max_response_size`` once decompressed.
        httpx2.HTTPError: the connection failed before the deadline.
    """
    limit = BodyLimit(settings, response)
    try:
        with WATCHDOG.guard(socket_of(response), deadline.remaining()):
            for piece in response.iter_bytes():
                limit.add(piece)
                if deadline.expired():
                    raise reply_deadline_error(deadline, _url(response, settings))
    except httpx2.HTTPError as exc:
        if deadline.expired():
            raise reply_deadline_error(deadline, _url(response, settings)) from exc
        raise
    finally:
        response.close()
    return plain_response(response, limit.body())


async def aread_body(
    response: httpx2.Response, settings: ClientSettings, deadline: Deadline
) -> httpx2.Response:
    """The async :func:`read_body`; the caller's cancel scope interrupts a stalled read."""
    limit = BodyLimit(settings, response)
    try:
        async for piece in response.aiter_bytes():
            limit.add(piece)
            if deadline.expired():
                raise reply_deadline_error(deadline, _url(response, settings))
    finally:
        await response.aclose()
    return plain_response(response, limit.body())


def join_body(
    head: bytes, chunks: Iterator[bytes], settings: ClientSettings, response: httpx2.Response
) -> bytes:
    """``head`` and the rest of ``chunks``, within ``max_response_size``."""
    limit = BodyLimit(settings, response, head)
    for piece in chunks:
        limit.add(piece)
    return limit.body()


async def ajoin_body(
    head: bytes, chunks: AsyncIterator[bytes], settings: ClientSettings, response: httpx2.Response
) -> bytes:
    """The async :func:`join_body`."""
    limit = BodyLimit(settings, response, head)
    async for piece in chunks:
        limit.add(piece)
    return limit.body()
