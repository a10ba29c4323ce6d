"""Streamed replies: iterators over decoded items that always close their connection.

A stream is an iterator and a context manager. Leaving the ``with`` block, calling
``close()``, exhausting it, or an error while reading all release the HTTP
connection back to the pool; so does dropping an unfinished sync stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx

from modelslab_transport.concurrency import release_slot
from modelslab_transport.decoding import EventDecoder, is_event_stream, transport_error
from modelslab_transport.settings import ClientSettings

if TYPE_CHECKING:
    from httpx_sse import EventSource

__all__ = ["AsyncEventStream", "EventStream"]

T = TypeVar("T")


def _event_source(response: httpx.Response) -> EventSource:
    """An SSE reader for a reply already known to be an event stream.

    The SSE library compares the content type case-sensitively; servers that send
    ``Text/Event-Stream`` are normalised first. It is imported on the first stream,
    not with the package.
    """
    from httpx_sse import EventSource

    response.headers["content-type"] = "text/event-stream"
    return EventSource(response)


class EventStream(Generic[T]):
    """A sync stream of decoded items (chat chunks or messages events)."""

    def __init__(
        self, response: httpx.Response, decoder: EventDecoder[T], settings: ClientSettings
    ) -> None:
        self.response = response
        """The underlying HTTP response (status and headers are available at once)."""
        # The generator must not hold ``self``: that reference cycle would keep an abandoned
        # stream, and its pooled connection, alive until the cyclic garbage collector runs.
        self._items = self._iterate(response, decoder, settings)

    @staticmethod
    def _iterate(
        response: httpx.Response, decoder: EventDecoder[T], settings: ClientSettings
    ) -> Generator[T, None, None]:
        try:
            if not is_event_stream(response):
                response.read()
                yield from decoder.plain_reply(response)
                return
            decode, headers = decoder.decode, response.headers
            for event in _event_source(response).iter_sse():
                item = decode(event, headers)
                if item is not None:
                    yield item
                if decoder.done:
                    return
            decoder.end()
        except httpx.HTTPError as exc:
            raise transport_error(exc, settings, streaming=True) from exc
        finally:
            response.close()
            release_slot(response)  # queue limit: the stream's slot

    def __del__(self) -> None:
        # A generator that never started runs no ``finally`` when it is dropped.
        self.response.close()
        release_slot(self.response)  # queue limit

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        return next(self._items)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._items.close()
        self.response.close()
        release_slot(self.response)  # queue limit

    def __enter__(self) -> EventStream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncEventStream(Generic[T]):
    """An async stream of decoded items (chat chunks or messages events)."""

    def __init__(
        self, response: httpx.Response, decoder: EventDecoder[T], settings: ClientSettings
    ) -> None:
        self.response = response
        """The underlying HTTP response (status and headers are available at once)."""
        # Not a bound method: the generator must not hold ``self`` (see EventStream).
        self._items = self._iterate(response, decoder, settings)

    @staticmethod
    async def _iterate(
        response: httpx.Response, decoder: EventDecoder[T], settings: ClientSettings
    ) -> AsyncGenerator[T, None]:
        try:
            if not is_event_stream(response):
                await response.aread()
                for item in decoder.plain_reply(response):
                    yield item
                return
            decode, headers = decoder.decode, response.headers
            async for event in _event_source(response).aiter_sse():
                decoded = decode(event, headers)
                if decoded is not None:
                    yield decoded
                if decoder.done:
                    return
            decoder.end()
        except httpx.HTTPError as exc:
            raise transport_error(exc, settings, streaming=True) from exc
        finally:
            await response.aclose()
            release_slot(response)  # queue limit: the stream's slot

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await self._items.aclose()
        await self.response.aclose()
        release_slot(self.response)  # queue limit (an abandoned stream: when collected)

    async def __aenter__(self) -> AsyncEventStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
