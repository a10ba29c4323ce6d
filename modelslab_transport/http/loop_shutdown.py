"""Closing the async streams still open when their event loop shuts down, one by one.

Left to ``shutdown_asyncgens()``, httpx2's nested generators race as they close (asyncio
logs "already running"); a task cancelled earlier (:class:`_Guard`) closes them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Protocol

__all__ = ["ClosableStream", "track", "untrack"]


class ClosableStream(Protocol):
    """What :func:`track` needs of a stream: an idempotent ``aclose()``."""

    async def aclose(self) -> None:
        """Stop reading and release the connection (again: nothing)."""


class _Guard:
    """The open streams of one loop and the task that closes them at its shutdown."""

    __slots__ = ("__weakref__", "done", "streams", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.streams: weakref.WeakSet[ClosableStream] = weakref.WeakSet()
        self.done: asyncio.Future[None] = loop.create_future()
        self.task = loop.create_task(self._wait(), name="modelslab: close streams at loop end")

    async def _wait(self) -> None:
        try:
            await self.done
        except asyncio.CancelledError:  # the loop is shutting down (or a caller cancels all)
            while self.streams:
                stream = self.streams.pop()
                with contextlib.suppress(Exception):
                    await stream.aclose()
            raise


_GUARDS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Guard] = weakref.WeakKeyDictionary()


def track(stream: ClosableStream) -> None:
    """Count ``stream`` open in the running loop (if any) until :func:`untrack` or its end."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    guard = _GUARDS.get(loop)
    if guard is None or guard.done.done() or guard.task.done():
        guard = _GUARDS[loop] = _Guard(loop)
    guard.streams.add(stream)


def untrack(stream: ClosableStream) -> None:
    """``stream`` is closed: forget it; the loop's guard ends with its last stream."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    guard = _GUARDS.get(loop)
    if guard is None:
        return
    guard.streams.discard(stream)
    if not guard.streams and not guard.done.done():
        guard.done.set_result(None)
        del _GUARDS[loop]
