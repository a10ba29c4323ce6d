"""The loopback HTTP/1.1 server every socket-level fake in the suite is built on.

:class:`LoopbackServer` listens on 127.0.0.1 only (an ephemeral port), serves each
client connection from a daemon thread, runs a Python :data:`Script` per request, and
stops itself when its ``with`` block ends (every wait inside it is bounded).
:class:`LoopbackConnection` is the server's side of one connection as a script sees it
and :class:`LoopbackRequest` what the server read. :func:`refused_base_url` gives a
loopback URL on which every connection is refused.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class LoopbackRequest:
    """What the loopback server read from the client."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackConnection:
    """The server's side of one client connection, as a script sees it."""

    def __init__(self, sock: socket.socket, server: LoopbackServer) -> None:
        self.sock = sock
        self.server = server

    def send_sse_headers(self, status: int = 200) -> None:
        """Start a chunked ``text/event-stream`` reply."""
        self.sock.sendall(
            f"HTTP/1.1 {status} OK\r\ncontent-type: text/event-stream\r\n"
            "transfer-encoding: chunked\r\n\r\n".encode()
        )

    def send_chunk(self, data: bytes) -> None:
        """Send one HTTP chunk."""
        self.sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_chunks(self) -> None:
        """Finish a chunked reply."""
        self.sock.sendall(b"0\r\n\r\n")

    def send_json(self, body: Any, status: int = 200, reason: str = "OK") -> None:
        """A complete JSON reply with a content length."""
        data = json.dumps(body).encode()
        self.sock.sendall(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n".encode()
            + data
        )

    def wait(self, seconds: float) -> bool:
        """Pause, bounded; returns False if the server is stopping."""
        return not self.server.stopping.wait(seconds)

    def wait_for_client_to_leave(self, limit: float = 10.0) -> bool:
        """Block until the client closes the connection (or ``limit`` passes)."""
        deadline = time.monotonic() + limit
        self.sock.settimeout(0.05)
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            try:
                if not self.sock.recv(4096):
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
        return False


Script = Callable[[LoopbackConnection, LoopbackRequest], bool]
"""Answers one request; returns True to keep the connection open for the next one."""


class LoopbackServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 whose replies are Python scripts.

    It counts the client connections it holds open, so a test can check that a client
    released (closed) the connections of abandoned streams.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.stopping = threading.Event()
        self.requests: list[LoopbackRequest] = []
        self.open_connections = 0
        self.total_connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def base_url(self) -> str:
        """The URL clients should use."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LoopbackServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):  # wakes the acceptor blocked in accept()
            self._listener.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(timeout=5)
        for sock in self._sockets:  # wake handlers blocked reading a kept-alive connection
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def wait_until_no_open_connections(self, limit: float = 10.0) -> int:
        """Wait (bounded) for every client connection to close; returns how many stay open."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self._lock:
                if self.open_connections == 0:
                    return 0
            time.sleep(0.01)
        with self._lock:
            return self.open_connections

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:  # the listener was shut down: the server is stopping
                return
            # Scripts write a reply in several pieces (head, then body): without NODELAY
            # the second piece waits for the client's delayed ACK (40 ms on Linux) on a
            # kept-alive connection. Real servers (and the HTTP client) set it too.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.open_connections += 1
                self.total_connections += 1
                self._sockets.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        connection = LoopbackConnection(sock, self)
        try:
            while not self.stopping.is_set():
                request = self._read_request(sock)
                if request is None:
                    return
                self.requests.append(request)
                if not self.script(connection, request):
                    return
        except OSError:
            return
        finally:
            sock.close()
            with self._lock:
                self.open_connections -= 1

    def _read_request(self, sock: socket.socket) -> LoopbackRequest | None:
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                return None
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            piece = sock.recv(65536)
            if not piece:
                return None
            body += piece
        return LoopbackRequest(method, path, headers, body)


@contextlib.contextmanager
def refused_base_url() -> Iterator[str]:
    """A loopback base URL on which every connection is refused.

    The port is bound (so nothing else takes it) but never listened on: the kernel
    answers each SYN with a reset.
    """
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"
    finally:
        holder.close()
