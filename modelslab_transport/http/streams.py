"""Streamed replies: iterators over decoded items that always release their connection.

A stream is an iterator and a context manager. Leaving the ``with`` block, calling
``close()``, exhausting it, or an error while reading all release the HTTP
connection; so does dropping an unfinished sync stream.

The body decides how it is read, not only the ``Content-Type``: a body that starts
as JSON (``{`` or ``[``) is a plain reply even under ``text/event-stream``, and one that
starts with an SSE field (``data:``, ``event:``, ``id:``, ``retry:``, or a ``:``
comment) is an event stream under ``application/json``, ``text/plain`` or no type at
all. Events are framed by :class:`~modelslab_transport.wire.sse.SSEDecoder` (as httpx2's
``EventSource`` frames them), as UTF-8 with a leading byte-order mark dropped, and no
event may exceed ``max_event_size`` bytes.

Once the server marks the stream complete (``[DONE]``, ``message_stop``) the rest of
the body (at most :data:`DRAIN_MAX_BYTES`, for at most :data:`DRAIN_MAX_SECONDS`) is
read before the connection is released, so that it goes back to the pool instead of
being closed: sequential streams then share one connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from itertools import chain
from types import TracebackType
from typing import Generic, TypeVar, cast

import anyio
import httpx2

from modelslab_transport.config.defaults import DEFAULT_MAX_SSE_EVENT_SIZE
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.events import (
    ChatChunkDecoder,
    EventDecoder,
)
from modelslab_transport.decoding.not_found import describe_not_found
from modelslab_transport.decoding.replies import (
    is_event_stream,
)
from modelslab_transport.errors import NotFoundError
from modelslab_transport.http.bodies import ajoin_body, join_body, plain_response
from modelslab_transport.http.exceptions import transport_error
from modelslab_transport.http.loop_shutdown import track, untrack
from modelslab_transport.http.watchdog import WATCHDOG, socket_of
from modelslab_transport.limits.deadlines import (
    ATimedChunks,
    Deadline,
    EventClock,
    reply_deadline_error,
)
from modelslab_transport.limits.queue import release_slot
from modelslab_transport.wire.sse import ServerSentEvent, SSEDecoder

__all__ = [
    "DEFAULT_MAX_SSE_EVENT_SIZE",
    "DRAIN_MAX_BYTES",
    "DRAIN_MAX_SECONDS",
    "AsyncEventStream",
    "EventStream",
]

T = TypeVar("T")

DRAIN_MAX_BYTES = 64 * 1024
"""After the end-of-stream marker, read at most this many more bytes to reuse the
connection; a server that sends more has its connection closed instead."""
DRAIN_MAX_SECONDS = 0.5
"""After the end-of-stream marker, wait at most this long for the body's end."""

_BOM = b"\xef\xbb\xbf"
_SSE_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b":", b"data\n", b"data\r")
_SNIFF_BYTES = 16
"""Bytes (after a BOM and blank space) enough to tell JSON from an SSE field name."""
_SNIFF_MAX = 64 * 1024
"""A body still undecided after this many bytes (blank space only) is judged by its
``Content-Type``: an endless blank prefix is never held whole."""


def _sniff(head: bytes, header_says_sse: bool, *, complete: bool) -> bool | None:
    """True for an event stream, False for a plain body, None while undecided."""
    text = head.removeprefix(_BOM).lstrip(b" \t\r\n")
    if not text:
        return header_says_sse if complete else None
    if text[:1] in (b"{", b"["):
        return False
    if header_says_sse:
        return True
    if any(text.startswith(field) for field in _SSE_FIELDS):
        return True
    if not complete and len(text) < _SNIFF_BYTES and b"\n" not in text:
        return None  # a field name may still be arriving ("da" ...)
    return False


def _url_of(response: httpx2.Response, settings: ClientSettings) -> str:
    try:
        return settings.redact(str(response.request.url))
    except RuntimeError:  # a response built without a request
        return settings.base_url


def _clock(response: httpx2.Response, settings: ClientSettings, deadline: Deadline) -> EventClock:
    return EventClock(settings.stream_chunk_timeout, deadline, _url_of(response, settings))


def _identity(response: httpx2.Response) -> bool:
    """Whether the body's bytes are its content as sent (no ``Content-Encoding``).

    Its raw bytes are then read as they are: ``iter_bytes`` would only pass them
    through an identity decoder, one more generator step per piece of a long stream.
    """
    return "content-encoding" not in response.headers and not response.is_stream_consumed


def _usual_decoder(decoder: EventDecoder[T]) -> Callable[[bytes], T | None] | None:
    """The decoder's step for the usual event's data alone, if it has one (chat chunks)."""
    if isinstance(decoder, ChatChunkDecoder):
        return cast("Callable[[bytes], T | None]", decoder.decode_usual)
    return None


# -- sync --------------------------------------------------------------------------------


def _drain(chunks: Iterator[bytes], response: httpx2.Response) -> None:
    """Read the rest of the body (bounded) so the connection can go back to the pool."""
    read = 0
    with WATCHDOG.guard(socket_of(response), DRAIN_MAX_SECONDS):
        try:
            for piece in chunks:
                read += len(piece)
                if read > DRAIN_MAX_BYTES:
                    return  # closing the response then closes the connection
        except httpx2.HTTPError:
            return


class EventStream(Generic[T]):
    """A sync stream of decoded items (chat chunks or messages events).

    Args:
        response: The streamed HTTP reply (its body not read yet).
        decoder: Turns its events into items.
        settings: The client's settings (error messages, ``stream_chunk_timeout``, and
            ``max_response_size`` for a plain reply).
        max_event_size: The largest event accepted, in bytes (None: no limit); a larger
            one raises :class:`~modelslab_transport.errors.InvalidResponseError`.
        deadline: When the whole stream must have ended (``stream_timeout``, started
            with the call); none by default.
        owner: The client that sent the request, kept alive while the stream is (a
            dropped client closes its pool, and with it this stream's connection).

    Raises (while iterating):
        APITimeoutError: no complete event for ``stream_chunk_timeout`` seconds, or the
            stream outlived ``deadline``; the message names which.
    """

    def __init__(
        self,
        response: httpx2.Response,
        decoder: EventDecoder[T],
        settings: ClientSettings,
        max_event_size: int | None = DEFAULT_MAX_SSE_EVENT_SIZE,
        *,
        deadline: Deadline | None = None,
        owner: object = None,
    ) -> None:
        self.response = response
        """The underlying HTTP response (status and headers are available at once)."""
        self._owner = owner
        if deadline is None:
            deadline = Deadline(None, "stream_timeout")
        # The generator must not hold ``self``: that reference cycle would keep an abandoned
        # stream, and its pooled connection, alive until the cyclic garbage collector runs.
        self._items = self._iterate(response, decoder, settings, max_event_size, deadline)

    @staticmethod
    def _iterate(
        response: httpx2.Response,
        decoder: EventDecoder[T],
        settings: ClientSettings,
        max_event_size: int | None,
        deadline: Deadline,
    ) -> Generator[T, None, None]:
        clock = _clock(response, settings, deadline)
        try:
            # A stalled read is interrupted at the stream's deadline; a trickle of bytes
            # that completes no event fails at the next piece after the event was due.
            with WATCHDOG.guard(socket_of(response), deadline.remaining()):
                pieces = response.iter_raw() if _identity(response) else response.iter_bytes()
                head, header_says_sse, kind = b"", is_event_stream(response), None
                while kind is None:
                    piece = next(pieces, None)
                    clock.check()
                    head += piece or b""
                    kind = _sniff(
                        head, header_says_sse, complete=piece is None or len(head) > _SNIFF_MAX
                    )
                if not kind:  # a plain reply: its reads are timed, not gaps between events
                    clock.stop()
                    body = join_body(head, pieces, settings, response)
                    yield from decoder.plain_reply(plain_response(response, body))
                    return
                sse = SSEDecoder(max_event_size)
                feed, decode, headers = sse.feed, decoder.decode, response.headers
                restart, check = clock.restart, clock.check
                usual, decode_usual = sse.usual, _usual_decoder(decoder)
                # The pieces, then None for the end of the body; each piece is timed: one
                # that arrives after the next event was due fails.
                for piece in chain((head,), pieces, (None,)):
                    if piece is None:
                        events = sse.end()
                    else:
                        check()
                        if decode_usual is not None:
                            # The usual chunk, one event in one piece: straight from its
                            # bytes to the item; anything else takes the steps below.
                            data = usual(piece)
                            if data is not None:
                                restart()
                                item = decode_usual(data)
                                if item is not None:
                                    yield item
                                    continue
                        events = feed(piece)
                    for event in events:
                        restart()
                        item = decode(event, headers)
                        if decoder.done:
                            clock.stop()
                            _drain(pieces, response)
                            if item is not None:
                                yield item
                            return
                        if item is not None:
                            yield item
                last = decoder.end()
                if last is not None:
                    yield last
        except NotFoundError as exc:  # in an error event: say where and why
            describe_not_found(exc, response, settings)
            raise
        except httpx2.HTTPError as exc:
            if deadline.expired():
                raise reply_deadline_error(deadline, clock.url) from exc
            raise transport_error(exc, settings, streaming=True) from exc
        finally:
            response.close()
            release_slot(response)  # the queue-limit slot the stream held

    def __del__(self) -> None:
        # A generator that never started runs no ``finally`` when it is dropped.
        self.response.close()
        release_slot(self.response)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        return next(self._items)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._items.close()
        self.response.close()
        release_slot(self.response)

    def __enter__(self) -> EventStream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- async -------------------------------------------------------------------------------


async def _adrain(chunks: AsyncIterator[bytes]) -> None:
    """Read the rest of the body (bounded) so the connection can go back to the pool."""
    read = 0
    with anyio.move_on_after(DRAIN_MAX_SECONDS):
        try:
            async for piece in chunks:
                read += len(piece)
                if read > DRAIN_MAX_BYTES:
                    return
        except httpx2.HTTPError:
            return


class AsyncEventStream(Generic[T]):
    """An async stream of decoded items (chat chunks or messages events).

    Not an async generator: the event loop finalises every async generator still open
    when it shuts down, concurrently, and one a framework is closing at that moment
    would fail with "aclose(): asynchronous generator is already running".

    Args:
        response: The streamed HTTP reply (its body not read yet).
        decoder: Turns its events into items.
        settings: The client's settings (see :class:`EventStream`).
        max_event_size: The largest event accepted, in bytes (see :class:`EventStream`).
        deadline: When the whole stream must have ended (see :class:`EventStream`).
        owner: The client that sent the request, kept alive while the stream is (see
            :class:`EventStream`).
    """

    def __init__(
        self,
        response: httpx2.Response,
        decoder: EventDecoder[T],
        settings: ClientSettings,
        max_event_size: int | None = DEFAULT_MAX_SSE_EVENT_SIZE,
        *,
        deadline: Deadline | None = None,
        owner: object = None,
    ) -> None:
        self.response = response
        """The underlying HTTP response (status and headers are available at once)."""
        self._owner = owner
        self._deadline = deadline if deadline is not None else Deadline(None, "stream_timeout")
        self._clock = _clock(response, settings, self._deadline)
        self._decoder = decoder
        self._decode_usual: Callable[[bytes], T | None] | None = _usual_decoder(decoder)
        self._settings = settings
        self._max_event_size = max_event_size
        self._chunks: ATimedChunks | None = None
        self._sse: SSEDecoder | None = None
        self._events: list[ServerSentEvent] = []  # framed, not decoded yet; in reverse order
        self._body_ended = False  # the body's last piece was framed
        self._ready: list[T] = []  # items of a plain reply, in reverse order
        self._finished = False
        self._closing = False
        track(self)  # closed in order if still open when the loop shuts down

    async def _start(self) -> None:
        """Tell an event stream from a plain reply by the first bytes of the body."""
        response = self.response
        pieces = response.aiter_raw() if _identity(response) else response.aiter_bytes()
        chunks = self._chunks = ATimedChunks(pieces, self._clock)
        head, header_says_sse, kind = b"", is_event_stream(response), None
        while kind is None:
            piece = await anext(chunks, None)
            head += piece or b""
            kind = _sniff(head, header_says_sse, complete=piece is None or len(head) > _SNIFF_MAX)
        if kind:
            self._sse = SSEDecoder(self._max_event_size)
            self._events = self._sse.feed(head)[::-1]
            return
        self._clock.stop()  # a plain reply: its reads are timed, not gaps between events
        body = await ajoin_body(head, chunks, self._settings, response)
        self._ready = self._decoder.plain_reply(plain_response(response, body))[::-1]
        self._finished = True
        await response.aclose()
        release_slot(response)

    async def _next(self) -> T:
        if self._sse is None and not self._finished:
            await self._start()
        if self._ready:
            return self._ready.pop()
        sse = self._sse
        if self._finished or sse is None:
            raise StopAsyncIteration
        assert self._chunks is not None
        decoder, headers, events = self._decoder, self.response.headers, self._events
        while True:
            if not events:
                if self._body_ended:
                    self._finished = True
                    last = decoder.end()
                    if last is None:
                        raise StopAsyncIteration
                    return last
                piece = await anext(self._chunks, None)  # timed: see ATimedChunks
                if piece is None:
                    self._body_ended = True
                    events = sse.end()
                else:
                    if self._decode_usual is not None:  # as in EventStream
                        data = sse.usual(piece)
                        if data is not None:
                            self._clock.restart()
                            item = self._decode_usual(data)
                            if item is not None:
                                return item
                    events = sse.feed(piece)
                events.reverse()
                self._events = events
                continue
            event = events.pop()
            self._clock.restart()
            item = decoder.decode(event, headers)
            if decoder.done:
                self._finished = True
                self._clock.stop()
                await _adrain(self._chunks)
                await self.response.aclose()
                release_slot(self.response)
                if item is None:
                    raise StopAsyncIteration
                return item
            if item is not None:
                return item

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        try:
            # Only with a stream_timeout: a cancel scope per item costs a few microseconds.
            if self._deadline.limited:
                with anyio.fail_after(self._deadline.remaining()):
                    return await self._next()
            return await self._next()
        except StopAsyncIteration:
            await self.aclose()
            raise
        except httpx2.HTTPError as exc:
            await self.aclose()
            if self._deadline.expired():
                raise reply_deadline_error(self._deadline, self._clock.url) from exc
            raise transport_error(exc, self._settings, streaming=True) from exc
        except TimeoutError as exc:  # the stream_timeout cancel scope
            await self.aclose()
            raise reply_deadline_error(self._deadline, self._clock.url) from exc
        except NotFoundError as exc:  # in an error event: say where and why
            await self.aclose()
            describe_not_found(exc, self.response, self._settings)
            raise
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop reading and release the connection (again, or while closing: nothing)."""
        if self._closing:
            return
        self._closing = True
        self._finished, self._ready, self._events = True, [], []
        # The async generator reading the body, closed here (left to the loop's
        # finaliser, it would be closed concurrently with others: see loop_shutdown).
        if self._chunks is not None:
            await self._chunks.aclose()
        await self.response.aclose()
        release_slot(self.response)
        untrack(self)

    async def __aenter__(self) -> AsyncEventStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
