"""Interrupting a blocking sync read at a deadline (httpx2 times reads singly): shut its socket."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator

import httpx2

from modelslab_transport.after_fork import reset_in_forked_child

__all__ = ["WATCHDOG", "SocketWatchdog", "socket_of"]


class SocketWatchdog:
    """Shuts down sockets whose guarded section overruns its deadline (one daemon thread)."""

    def __init__(self) -> None:
        self._ids = itertools.count()
        self.after_fork()
        reset_in_forked_child(self)

    def after_fork(self) -> None:
        """Start afresh (in a forked child: the parent's lock may be held, its thread is gone)."""
        self._cond = threading.Condition()
        self._due: list[tuple[float, int]] = []
        self._sockets: dict[int, socket.socket] = {}
        self._pid = 0

    @contextlib.contextmanager
    def guard(self, sock: socket.socket | None, seconds: float | None) -> Iterator[None]:
        """Shut ``sock`` down if the block still runs after ``seconds`` (None: no guard)."""
        if sock is None or seconds is None:
            yield
            return
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child: no thread yet
                self._pid = os.getpid()
                self._due, self._sockets = [], {}
                threading.Thread(target=self._run, name="modelslab-watchdog", daemon=True).start()
            key = next(self._ids)
            self._sockets[key] = sock
            due, heap = time.monotonic() + seconds, self._due
            # Wake the thread only when this guard is due before all the others.
            if not heap or due < heap[0][0]:
                self._cond.notify()
            if len(heap) > 2 * len(self._sockets) + 64:  # mostly ended guards: drop them
                heap[:] = [entry for entry in heap if entry[1] in self._sockets]
                heapq.heapify(heap)
            heapq.heappush(heap, (due, key))
        try:
            yield
        finally:
            with self._cond:
                self._sockets.pop(key, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._due and (
                    self._due[0][0] <= now or self._due[0][1] not in self._sockets
                ):
                    _, key = heapq.heappop(self._due)
                    sock = self._sockets.pop(key, None)
                    if sock is not None:
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)
                # Capped: a longer wait raises OverflowError, which would end the thread.
                wait = min(self._due[0][0] - now, threading.TIMEOUT_MAX) if self._due else None
                self._cond.wait(wait)


WATCHDOG = SocketWatchdog()
"""The process's watchdog (its thread starts on first use, again in a forked child)."""


def socket_of(response: httpx2.Response) -> socket.socket | None:
    """The socket a response is read from, or None (a mock transport, a TLS wrapper)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if isinstance(sock, socket.socket) else None
