"""Deadlines of a whole call and of a stream's events, on a fake clock: what is left, what
may still be waited for, and the error naming the setting that passed."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx2
import pytest

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.errors import APITimeoutError, ServerError
from modelslab_transport.limits import deadlines
from modelslab_transport.limits.deadlines import (
    ATimedChunks,
    Deadline,
    EventClock,
    note_retry_past_deadline,
    reply_deadline_error,
    seconds_text,
    timed_chunks,
)

URL = "https://h.example/v1/chat/completions"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(deadlines, "time", SimpleNamespace(monotonic=fake))
    monkeypatch.setattr(deadlines, "_monotonic", fake)
    return fake


def test_seconds_text() -> None:
    assert (seconds_text(None), seconds_text(2.5), seconds_text(30.0)) == ("no limit", "2.5", "30")


def test_a_deadline_counts_down(clock: Clock) -> None:
    deadline = Deadline(10, "timeout")
    assert deadline.limited
    assert deadline.remaining() == 10
    assert deadline.allows_wait(9.9)
    assert not deadline.allows_wait(10)
    assert deadline.cap(None) == 10
    assert deadline.cap(3) == 3
    clock.now += 8
    assert deadline.cap(5) == 2
    assert not deadline.expired()
    deadline.extend(1)
    assert deadline.remaining() == 3
    clock.now += 3
    assert deadline.expired()
    clock.now += 5
    assert deadline.remaining() == 0.0


def test_no_limit(clock: Clock) -> None:
    deadline = Deadline(None, "timeout")
    assert not deadline.limited
    assert deadline.remaining() is None
    assert deadline.cap(4) == 4
    assert deadline.cap(None) is None
    clock.now += 1e9
    assert not deadline.expired()
    assert deadline.allows_wait(1e9)


def test_deadlines_from_the_settings(clock: Clock) -> None:
    assert Deadline.for_reply(ClientSettings(timeout=30)).remaining() == 30
    assert Deadline.for_reply(ClientSettings(timeout=httpx2.Timeout(5.0))).remaining() is None
    assert Deadline.for_reply(ClientSettings(timeout=None)).remaining() is None
    stream = Deadline.for_stream(ClientSettings(stream_timeout=60))
    assert (stream.setting, stream.remaining()) == ("stream_timeout", 60)


def test_reply_deadline_errors_name_the_limit_and_the_setting(clock: Clock) -> None:
    whole = reply_deadline_error(Deadline(30, "timeout"), URL)
    assert str(whole).startswith(
        f"no complete reply from {URL} within 30 s (timeout=30, the limit for a whole call"
    )
    begun = reply_deadline_error(Deadline(30, "timeout"), URL, stream=True)
    assert str(begun).startswith(f"the stream from {URL} did not begin within 30 s (timeout=30")
    ended = reply_deadline_error(Deadline(60, "stream_timeout"), URL, stream=True)
    assert str(ended).startswith(
        f"the stream from {URL} did not end within 60 s (stream_timeout=60, the limit for a "
        "whole stream"
    )
    assert all(isinstance(e, APITimeoutError) for e in (whole, begun, ended))


def test_note_retry_past_deadline_says_why_no_retry_was_made(clock: Clock) -> None:
    error = ServerError("busy", status_code=503)
    note_retry_past_deadline(error, 2.5, Deadline(10, "timeout"))
    assert error.message == (
        "busy [not retried: waiting 2.5 s more would pass the 10 s limit for the whole call "
        "(timeout=10)]"
    )


def test_the_event_clock_restarts_with_each_event(clock: Clock) -> None:
    events = EventClock(5, Deadline(100, "stream_timeout"), URL)
    assert events.remaining() == 5
    clock.now += 4
    events.check()
    events.restart()
    clock.now += 4
    events.check()
    clock.now += 2
    with pytest.raises(APITimeoutError) as caught:
        events.check()
    assert str(caught.value).startswith(
        f"the stream from {URL} sent no complete event for 5 s (stream_chunk_timeout=5; "
        "comments and partial events do not count"
    )
    events.stop()
    assert events.remaining() is None
    events.check()


def test_the_event_clock_is_capped_by_the_whole_streams_deadline(clock: Clock) -> None:
    events = EventClock(5, Deadline(3, "stream_timeout"), URL)
    assert events.remaining() == 3
    clock.now += 3.5
    with pytest.raises(APITimeoutError, match=r"did not end within 3 s \(stream_timeout=3"):
        events.check()
    unlimited = EventClock(None, Deadline(None, "stream_timeout"), URL)
    assert unlimited.remaining() is None
    assert EventClock(None, Deadline(7, "stream_timeout"), URL).remaining() == 7
    assert math.isinf(unlimited.due)


def test_timed_chunks_fail_when_a_piece_comes_late(clock: Clock) -> None:
    events = EventClock(1, Deadline(None, "stream_timeout"), URL)

    def pieces() -> object:
        yield b"a"
        clock.now += 2
        yield b"b"

    timed = timed_chunks(pieces(), events)  # type: ignore[arg-type]
    assert next(timed) == b"a"
    with pytest.raises(APITimeoutError, match="sent no complete event for 1 s"):
        next(timed)


def test_async_timed_chunks_check_the_clock_and_close_the_source(clock: Clock) -> None:
    closed: list[bool] = []

    async def pieces() -> AsyncIterator[bytes]:
        try:
            yield b"a"
            clock.now += 2
            yield b"b"
        finally:
            closed.append(True)

    async def run() -> None:
        timed = ATimedChunks(pieces(), EventClock(1, Deadline(None, "stream_timeout"), URL))
        assert timed.__aiter__() is timed
        assert await anext(timed) == b"a"
        with pytest.raises(APITimeoutError):
            await anext(timed)
        await timed.aclose()

    asyncio.run(run())
    assert closed == [True]
