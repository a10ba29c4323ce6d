"""Closing the async streams still open when their event loop shuts down, in order.

An async stream the caller abandons (``async for ...: return`` or ``break``, never
closed) is left to the event loop: when ``asyncio.run`` (or ``asyncio.Runner``) ends,
``loop.shutdown_asyncgens()`` closes every async generator still open, all at once.
httpx2 reads a body through several async generators nested in one another, and a
framework's stream wrapper (LlamaIndex's, LangChain's) is one more; closed concurrently,
an outer one finds an inner one being closed already and asyncio logs "an error
occurred during closing of asynchronous generator ... aclose(): asynchronous generator
is already running" (Python 3.12+).

The loop cancels its remaining tasks before it closes its async generators. So while a
loop has open streams, :func:`track` keeps one small task in it (:class:`_Guard`); when
that task is cancelled at shutdown it closes those streams itself, one after the other,
each from the outside in, and leaves nothing for ``shutdown_asyncgens()`` to race on.
The task exists only while the loop has a stream open: it ends when the last one closes.
Streams are held weakly: one the caller dropped is still finalised by the garbage
collector as before.
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
    """Count ``stream`` open in the running loop until :func:`untrack` (or its loop ends).

    Outside a running loop (a stream built in plain code) there is nothing to track.
    """
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
    except RuntimeError:  # closed from outside any loop: the guard ends with its loop
        return
    guard = _GUARDS.get(loop)
    if guard is None:
        return
    guard.streams.discard(stream)
    if not guard.streams and not guard.done.done():
        guard.done.set_result(None)
        del _GUARDS[loop]
