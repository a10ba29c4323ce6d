"""Async streams still open when their event loop shuts down are closed one by one."""

from __future__ import annotations

import asyncio

from modelslab_transport.http import loop_shutdown
from modelslab_transport.http.loop_shutdown import track, untrack


class Stream:
    def __init__(self, log: list[str], name: str, *, fails: bool = False) -> None:
        self.log, self.name, self.fails = log, name, fails

    async def aclose(self) -> None:
        self.log.append(self.name)
        if self.fails:
            raise RuntimeError("close failed")


def test_without_a_running_loop_nothing_is_tracked() -> None:
    stream = Stream([], "s")
    track(stream)
    untrack(stream)


def test_streams_open_at_loop_shutdown_are_closed_even_if_one_fails() -> None:
    log: list[str] = []
    streams = [Stream(log, "a", fails=True), Stream(log, "b")]

    async def leave_open() -> None:
        for stream in streams:
            track(stream)

    asyncio.run(leave_open())
    assert sorted(log) == ["a", "b"]


def test_a_stream_untracked_before_shutdown_is_not_closed_again() -> None:
    log: list[str] = []
    closed, left = Stream(log, "closed"), Stream(log, "left")

    async def run() -> None:
        track(closed)
        track(left)
        untrack(closed)

    asyncio.run(run())
    assert log == ["left"]


def test_the_guard_ends_with_the_loops_last_stream() -> None:
    async def run() -> tuple[bool, bool]:
        stream = Stream([], "s")
        track(stream)
        loop = asyncio.get_running_loop()
        guard = loop_shutdown._GUARDS[loop]
        untrack(stream)
        await asyncio.sleep(0)
        return loop in loop_shutdown._GUARDS, guard.task.done()

    assert asyncio.run(run()) == (False, True)
