"""Redis commands of the queue limit, run so that a waiting call stops at its deadline.

A command on a frozen Redis blocks its thread, so each try runs in a daemon worker
thread (never delaying exit; rebuilt in a forked child) and the call waits only until
its deadline.
"""

from __future__ import annotations

import concurrent.futures
import functools
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from modelslab_transport.after_fork import reset_in_forked_child

__all__ = ["WORKER_THREADS", "atry_until", "redis_address", "redis_failures", "try_until"]

WORKER_THREADS = 16
"""Redis commands in flight at once per process (each in a worker thread)."""

T = TypeVar("T")
Try = tuple[T | None, BaseException | None, bool]
"""A try's result (or None), Redis's error, and whether it finished."""
Late = Callable[[Any], None]
"""Gets the (not None) result of a try that finished after its call stopped waiting."""


class _Workers:
    """The daemon threads tries run in (started on first use)."""

    def __init__(self) -> None:
        self.after_fork()
        reset_in_forked_child(self)

    def after_fork(self) -> None:
        """Start afresh (in a forked child)."""
        self._lock = threading.Lock()
        self._work: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Any]] = (
            queue.SimpleQueue()
        )
        self._threads = 0

    def submit(self, work: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``work()`` in a worker thread; its future holds the result or the error."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self._threads < WORKER_THREADS:
            with self._lock:
                while self._threads < WORKER_THREADS:
                    self._threads += 1
                    threading.Thread(target=self._run, name="modelslab-redis", daemon=True).start()
        self._work.put((future, work))
        return future

    def _run(self) -> None:
        work_queue = self._work
        while True:
            future, work = work_queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = work()
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)


WORKERS = _Workers()


def redis_address(client: Any) -> str:
    """Where ``client`` connects (``redis://host:port/db``), never its password."""
    try:
        kwargs = client.connection_pool.connection_kwargs
    except AttributeError:
        return "Redis"
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
    return f"redis://{host}:{port}/{kwargs.get('db', 0)}"


def redis_failures() -> tuple[type[BaseException], ...]:
    """What a Redis command raises when Redis cannot be reached or cannot answer."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def _seconds_until(deadline: float) -> float | None:
    left = deadline - time.monotonic()
    return None if math.isinf(left) else max(left, 0.0)


def _outcome(future: concurrent.futures.Future[T | None], late: Late) -> Try[T]:
    """What ``future`` ended with (non-Redis errors raised); if unfinished, later to ``late``."""
    if not future.done():

        def hand_over(done: concurrent.futures.Future[T | None]) -> None:
            if not done.cancelled() and done.exception() is None:
                result = done.result()
                if result is not None:
                    late(result)

        future.add_done_callback(hand_over)
        return None, None, False
    error = future.exception()
    if error is None:
        return future.result(), None, True
    if isinstance(error, redis_failures()):
        return None, error, True
    raise error


def try_until(attempt: Callable[[], T | None], deadline: float, late: Late) -> Try[T]:
    """Run ``attempt()`` in a worker thread and wait for it until ``deadline``.

    ``deadline`` is ``time.monotonic()`` time (inf: none); a Redis failure is returned.
    """
    future = WORKERS.submit(attempt)
    concurrent.futures.wait([future], _seconds_until(deadline))
    return _outcome(future, late)


async def atry_until(attempt: Callable[[], T | None], deadline: float, late: Late) -> Try[T]:
    """Async :func:`try_until` (a cancelled task hands a late result to ``late`` too)."""
    future = WORKERS.submit(attempt)
    wait = functools.partial(concurrent.futures.wait, [future], _seconds_until(deadline))
    try:
        await anyio.to_thread.run_sync(wait, abandon_on_cancel=True)
    except BaseException:  # cancelled: a result that comes later is handed over
        if not future.done():
            _outcome(future, late)
        raise
    return _outcome(future, late)
