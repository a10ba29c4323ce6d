"""Deadlines for ``timeout``, ``stream_timeout`` and ``stream_chunk_timeout`` (seconds).

Their meaning is documented once, at
:class:`~modelslab_transport.config.connection.ConnectionOptions`.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Iterator
from time import monotonic as _monotonic  # once per event: no attribute lookup

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.errors import APITimeoutError, ModelsLabError

__all__ = [
    "ATimedChunks",
    "Deadline",
    "EventClock",
    "note_retry_past_deadline",
    "reply_deadline_error",
    "timed_chunks",
]


def seconds_text(value: float | None) -> str:
    """A limit in seconds as text: ``"2.5"``, or ``"no limit"`` for None."""
    return "no limit" if value is None else f"{value:g}"


class Deadline:
    """When a call must end: ``at`` (``time.monotonic()``; ``inf``: never), ``seconds`` from now."""

    __slots__ = ("at", "seconds", "setting")

    def __init__(self, seconds: float | None, setting: str) -> None:
        self.seconds = seconds
        self.setting = setting
        self.at = math.inf if seconds is None else time.monotonic() + seconds

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
    """The error of a call whose whole reply (``stream``: whose stream's start) came too late."""
    limit = seconds_text(deadline.seconds)
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
    limit = seconds_text(deadline.seconds)
    error.message = (
        f"{error.message} [not retried: waiting {wait:g} s more would pass the {limit} s "
        f"limit for the whole call ({deadline.setting}={limit})]"
    )


class EventClock:
    """When a stream's next complete event is due: ``gap`` seconds on, by ``deadline``."""

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
        limit = seconds_text(self.gap)
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
    """The async :func:`timed_chunks`; not an async generator, so shutdown never races on it."""

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
