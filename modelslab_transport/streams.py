"""Streamed replies: iterators over decoded items that always close their connection.

A stream is an iterator and a context manager. Leaving the ``with`` block, calling
``close()``, exhausting it, or an error while reading all release the HTTP
connection back to the pool; so does dropping an unfinished sync stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import Generic, TypeVar

import httpx
from httpx_sse import EventSource

from modelslab_transport.decoding import EventDecoder, is_event_stream, transport_error
from modelslab_transport.settings import ClientSettings

__all__ = ["AsyncEventStream", "EventStream"]

T = TypeVar("T")


class EventStream(Generic[T]):
    """A sync stream of decoded items (chat chunks or messages events)."""

    def __init__(
        self, response: httpx.Response, decoder: EventDecoder[T], settings: ClientSettings
    ) -> None:
        self.response = response
        """The underlying HTTP response (status and headers are available at once)."""
        self._decoder = decoder
        self._settings = settings
        self._items = self._iterate()

    def _iterate(self) -> Generator[T, None, None]:
        try:
            if not is_event_stream(self.response):
                self.response.read()
                yield from self._decoder.plain_reply(self.response)
                return
            for event in EventSource(self.response).iter_sse():
                item = self._decoder.decode(event, self.response.headers)
                if item is not None:
                    yield item
                if self._decoder.done:
                    return
            self._decoder.end()
        except httpx.HTTPError as exc:
            raise transport_error(exc, self._settings, streaming=True) from exc
        finally:
            self.response.close()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        return next(self._items)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._items.close()
        self.response.close()

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
        self._decoder = decoder
        self._settings = settings
        self._items = self._iterate()

    async def _iterate(self) -> AsyncGenerator[T, None]:
        try:
            if not is_event_stream(self.response):
                await self.response.aread()
                for item in self._decoder.plain_reply(self.response):
                    yield item
                return
            async for event in EventSource(self.response).aiter_sse():
                decoded = self._decoder.decode(event, self.response.headers)
                if decoded is not None:
                    yield decoded
                if self._decoder.done:
                    return
            self._decoder.end()
        except httpx.HTTPError as exc:
            raise transport_error(exc, self._settings, streaming=True) from exc
        finally:
            await self.response.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self._items.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await self._items.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> AsyncEventStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
