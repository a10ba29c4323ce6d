"""Deadlines: how long a whole call, a whole stream and the gap between events may take.

httpx2 times each read alone, so a server that sends a byte now and then is never
timed out by it. The clients add three limits on top (seconds, ``None``: no limit):

* ``timeout``: a non-streamed call, from its first request to the last byte of its
  reply, every attempt and every wait between attempts included. A retry whose wait
  would end past it is not made (the last error is raised, saying so). A streamed call
  gets as long to begin: to receive the headers of its reply, retries included.
* ``stream_timeout``: a streamed call, from its first request to its last event.
* ``stream_chunk_timeout``: a stream's gap between two complete server-sent events
  (``: ping`` comments and partial events do not reset it).

Time spent waiting for the account's concurrency limit is not counted against
``timeout`` (``queue_timeout`` bounds it). The sync client's own transport ends every
socket read of a call, headers included, at its deadline
(:mod:`modelslab_transport.timed_transport`); a stream's body, read as the caller
iterates, is interrupted at its deadline by shutting its socket down
(:mod:`modelslab_transport.watchdog`, which also serves a caller's own ``http_client``).
The async client uses a cancel scope. Every error names the limit that expired and its setting.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Iterator
from time import monotonic as _monotonic  # once per event: no attribute lookup

from modelslab_transport.errors import APITimeoutError, ModelsLabError
from modelslab_transport.settings import ClientSettings

__all__ = [
    "ATimedChunks",
    "Deadline",
    "EventClock",
    "note_retry_past_deadline",
    "reply_deadline_error",
    "timed_chunks",
]


def _seconds(value: float | None) -> str:
    return "no limit" if value is None else f"{value:g}"


class Deadline:
    """The ``time.monotonic()`` by which a call must end, and the setting that set it.

    Args:
        seconds: The limit from now, or None for none.
        setting: The option's name (``"timeout"``, ``"stream_timeout"``), for messages.
    """

    __slots__ = ("at", "seconds", "setting")

    def __init__(self, seconds: float | None, setting: str) -> None:
        self.seconds = seconds
        """The limit, in seconds (None: no limit)."""
        self.setting = setting
        """The option that sets it."""
        self.at = math.inf if seconds is None else time.monotonic() + seconds
        """When it passes (``time.monotonic()``; ``inf``: never)."""

    @classmethod
    def for_reply(cls, settings: ClientSettings) -> Deadline:
        """``timeout`` from now; none when it is None or an ``httpx2.Timeout``."""
        timeout = settings.timeout
        return cls(float(timeout) if isinstance(timeout, (int, float)) else None, "timeout")

    @classmethod
    def for_stream(cls, settings: ClientSettings) -> Deadline:
        """``stream_timeout`` from now."""
        return cls(settings.stream_timeout, "stream_timeout")

    @property
    def limited(self) -> bool:
        """Whether there is a limit at all."""
        return self.at != math.inf

    def remaining(self) -> float | None:
        """Seconds left (0 once passed), or None without a limit."""
        if self.at == math.inf:
            return None
        return max(self.at - time.monotonic(), 0.0)

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self.at

    def allows_wait(self, seconds: float) -> bool:
        """Whether waiting ``seconds`` from now still ends before the deadline."""
        return time.monotonic() + seconds < self.at

    def extend(self, seconds: float) -> None:
        """Move the deadline ``seconds`` later (time that does not count against it)."""
        self.at += seconds

    def cap(self, value: float | None) -> float | None:
        """``value`` (seconds, None: no limit) lowered to what is left, if that is less."""
        left = self.remaining()
        if left is None:
            return value
        return left if value is None else min(value, left)


def reply_deadline_error(deadline: Deadline, url: str, *, stream: bool = False) -> APITimeoutError:
    """The error of a call that did not get its whole reply (or its stream) in time.

    ``stream``: the call is a stream, so ``timeout`` bounded only its start.
    """
    limit = _seconds(deadline.seconds)
    if deadline.setting == "stream_timeout":
        return APITimeoutError(
            f"the stream from {url} did not end within {limit} s (stream_timeout={limit}, "
            "the limit for a whole stream; raise stream_timeout=, or set it to None to let "
            "a stream last as long as it keeps sending events)"
        )
    if stream:
        return APITimeoutError(
            f"the stream from {url} did not begin within {limit} s (timeout={limit}, the "
            "limit for a stream to begin, retries included; raise timeout=, or set it to "
            "None to wait without a limit)"
        )
    return APITimeoutError(
        f"no complete reply from {url} within {limit} s (timeout={limit}, the limit for a "
        "whole call: connecting, every attempt and the whole body; raise timeout=, or set "
        "it to None to wait without a limit)"
    )


def note_retry_past_deadline(error: ModelsLabError, wait: float, deadline: Deadline) -> None:
    """Say in ``error``'s message that its retry was not made because of ``deadline``."""
    limit = _seconds(deadline.seconds)
    error.message = (
        f"{error.message} [not retried: waiting {wait:g} s more would pass the {limit} s "
        f"limit for the whole call ({deadline.setting}={limit})]"
    )


class EventClock:
    """When a stream's next complete event is due.

    That is ``gap`` after the last one, and never later than the whole-stream deadline.

    Args:
        gap: ``stream_chunk_timeout`` (None: no limit between events).
        deadline: The stream's ``stream_timeout`` deadline.
        url: The stream's URL, for messages.
    """

    __slots__ = ("deadline", "due", "gap", "url")

    def __init__(self, gap: float | None, deadline: Deadline, url: str) -> None:
        self.gap, self.deadline, self.url = gap, deadline, url
        self.due = math.inf
        self.restart()

    def restart(self) -> None:
        """An event arrived: the next is due ``gap`` from now."""
        at, gap = self.deadline.at, self.gap
        if gap is None:
            self.due = at
        else:
            due = _monotonic() + gap
            self.due = due if due < at else at

    def stop(self) -> None:
        """The stream ended: nothing more is due (reading the rest is not timed here)."""
        self.due = math.inf

    def remaining(self) -> float | None:
        """Seconds until the next event is due (0 once late), or None without a limit."""
        if self.due == math.inf:
            return None
        return max(self.due - time.monotonic(), 0.0)

    def check(self) -> None:
        """Raise the timeout that passed, if one did."""
        if _monotonic() > self.due:
            raise self.error()

    def error(self) -> APITimeoutError:
        """The error for a late event: the whole-stream limit if it passed, else the gap."""
        if self.deadline.expired():
            return reply_deadline_error(self.deadline, self.url)
        limit = _seconds(self.gap)
        return APITimeoutError(
            f"the stream from {self.url} sent no complete event for {limit} s "
            f"(stream_chunk_timeout={limit}; comments and partial events do not count; "
            "raise stream_chunk_timeout=, or set it to None to wait without a limit)"
        )


def timed_chunks(chunks: Iterator[bytes], clock: EventClock) -> Iterator[bytes]:
    """``chunks``, failing with the clock's error when a piece arrives after the event due."""
    for piece in chunks:
        clock.check()
        yield piece


class ATimedChunks:
    """The async :func:`timed_chunks`.

    A plain async iterator, not an async generator: the loop never finalises it
    concurrently with its owner at shutdown.
    """

    __slots__ = ("_chunks", "_clock")

    def __init__(self, chunks: AsyncIterator[bytes], clock: EventClock) -> None:
        self._chunks, self._clock = chunks, clock

    def __aiter__(self) -> ATimedChunks:
        return self

    async def __anext__(self) -> bytes:
        piece = await anext(self._chunks)
        self._clock.check()
        return piece

    async def aclose(self) -> None:
        """Close the wrapped iterator (an async generator of httpx2's, usually)."""
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()
