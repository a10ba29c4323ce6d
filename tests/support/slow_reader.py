"""A loopback server that reads each request a little at a time and never answers.

Its receive buffer is small (4 KiB) and it reads at most that every ``pause`` seconds,
so a client sending a large body keeps making progress, one send after another, yet
takes as long as the server likes: only a deadline for the whole call ends it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Self

__all__ = ["SlowReader"]

LIMIT = 30.0
"""No connection is read for longer than this (seconds)."""


class SlowReader:
    """Reads what clients send, ``pause`` seconds between reads; answers nothing.

    Attributes:
        received: Bytes read so far, over all connections.
        connections: Connections accepted so far.
    """

    def __init__(self, pause: float = 0.002) -> None:
        self.pause = pause
        self.received = 0
        self.connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._listener.bind(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        """The URL clients should use."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._listener.listen()
        self._listener.settimeout(0.1)
        self._start(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(LIMIT)
        self._listener.close()

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            self._start(self._read, conn)

    def _read(self, conn: socket.socket) -> None:
        ends = time.monotonic() + LIMIT
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set() and time.monotonic() < ends:
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    self.received += len(data)
                self._stop.wait(self.pause)
