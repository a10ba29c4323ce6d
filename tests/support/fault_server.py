"""A scripted fault server on 127.0.0.1 for the end-to-end fault tests.

:class:`FaultServer` is the transport suite's :class:`LoopbackServer` (a real TCP server
on an ephemeral loopback port, one daemon thread per connection, every wait bounded,
stopped when its ``with`` block ends) driven by a queue of :data:`Behaviour` s: the
n-th request gets the n-th behaviour, and the last one repeats. It counts requests,
connections and the most connections it ever held open at once, so tests can assert
retries and connection hygiene at the server.

Behaviours answer with a status, headers and body; stream SSE events with pauses; end
a stream cleanly, with a FIN mid-body, or with a TCP reset (``SO_LINGER`` 0); or stall.
Every pause is bounded (:data:`LIMIT`) and ends early when the server stops.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from typing import Any

from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer

__all__ = [
    "LIMIT",
    "Behaviour",
    "FaultServer",
    "close_mid_stream",
    "json_reply",
    "reset",
    "reset_mid_stream",
    "sse_reply",
    "stall_after",
    "text_reply",
]

LIMIT = 5.0
"""The longest any behaviour waits for anything (a gate, a client that should leave)."""

Behaviour = Callable[[LoopbackConnection, LoopbackRequest], bool]
"""Answers one request; returns True to keep the connection open for the next one."""

_REASONS = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}


class FaultServer(LoopbackServer):
    """A loopback HTTP/1.1 server that answers the n-th request with the n-th behaviour.

    Attributes:
        gate: Set by a test when the client has seen what it should before a behaviour
            goes on (for example, before a reset mid-stream). Behaviours wait for it at
            most :data:`LIMIT` seconds.
        peak_open_connections: The most client connections open at once, sampled at
            each request.
    """

    def __init__(self, *behaviours: Behaviour) -> None:
        if not behaviours:
            raise ValueError("a FaultServer needs at least one behaviour")
        self.behaviours = list(behaviours)
        self.gate = threading.Event()
        self.peak_open_connections = 0
        self._count_lock = threading.Lock()
        self._answered = 0
        super().__init__(self._answer)

    def __enter__(self) -> FaultServer:
        super().__enter__()
        return self

    @property
    def request_count(self) -> int:
        """How many requests reached the server."""
        return len(self.requests)

    def _answer(self, conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        with self._count_lock:
            index = min(self._answered, len(self.behaviours) - 1)
            self._answered += 1
            self.peak_open_connections = max(self.peak_open_connections, self.open_connections)
        return self.behaviours[index](conn, request)


# ------------------------------------------------------------------- payloads


def _event_bytes(event: dict[str, Any] | str | bytes) -> bytes:
    """One SSE event: a dict becomes ``data: <json>``; str/bytes are sent as written."""
    if isinstance(event, bytes):
        return event
    if isinstance(event, str):
        return event.encode()
    return b"data: " + json.dumps(event).encode() + b"\n\n"


# -------------------------------------------------------------- raw sending


def _send_head(conn: LoopbackConnection, status: int, headers: dict[str, str]) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    conn.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def _reset_connection(conn: LoopbackConnection) -> bool:
    """Make the coming close send a TCP RST instead of a FIN."""
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False


def _stream_events(
    conn: LoopbackConnection,
    events: Sequence[dict[str, Any] | str | bytes],
    pause: float,
) -> bool:
    """Start a chunked SSE reply and send ``events``; False if the server is stopping."""
    _send_head(conn, 200, {"content-type": "text/event-stream", "transfer-encoding": "chunked"})
    for position, event in enumerate(events):
        if position and pause and not conn.wait(pause):
            return False
        conn.send_chunk(_event_bytes(event))
    return True


# ---------------------------------------------------------------- behaviours


def json_reply(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    echo_key: bool = False,
) -> Behaviour:
    """A whole JSON reply. With ``echo_key``, ``{auth}`` in string values becomes the
    request's ``Authorization`` header, as a careless server echoing it would send."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        text = json.dumps(body)
        if echo_key:
            text = text.replace("{auth}", request.headers.get("authorization", ""))
        data = text.encode()
        head = {"content-type": "application/json", "content-length": str(len(data))}
        _send_head(conn, status, {**head, **(headers or {})})
        conn.sock.sendall(data)
        return True

    return behaviour


def text_reply(
    text: str, status: int, content_type: str = "text/html", *, echo_key: bool = False
) -> Behaviour:
    """A whole non-JSON reply (a proxy's error page); ``{auth}`` as in :func:`json_reply`."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        body = (
            text.replace("{auth}", request.headers.get("authorization", "")) if echo_key else text
        )
        data = body.encode()
        _send_head(conn, status, {"content-type": content_type, "content-length": str(len(data))})
        conn.sock.sendall(data)
        return True

    return behaviour


def sse_reply(*events: dict[str, Any] | str | bytes, pause: float = 0.0) -> Behaviour:
    """A chunked SSE reply of ``events`` (``pause`` seconds apart), ended cleanly.

    Nothing is added: a stream that should end with ``data: [DONE]`` lists it.
    """

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        if not _stream_events(conn, events, pause):
            return False
        conn.end_chunks()
        return True

    return behaviour


def reset() -> Behaviour:
    """Read the request, then reset the connection before any byte of a reply."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        return _reset_connection(conn)

    return behaviour


def reset_mid_stream(*events: dict[str, Any] | str | bytes) -> Behaviour:
    """Send ``events``, wait for the test to open the server's gate, then reset."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        if _stream_events(conn, events, 0.0):
            _gate_wait(conn)
        return _reset_connection(conn)

    return behaviour


def close_mid_stream(*events: dict[str, Any] | str | bytes) -> Behaviour:
    """Send ``events``, wait for the gate, then close (FIN) before the chunked body ends."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        if _stream_events(conn, events, 0.0):
            _gate_wait(conn)
        return False

    return behaviour


def stall_after(*events: dict[str, Any] | str | bytes) -> Behaviour:
    """Send ``events``, then say nothing until the client gives up and leaves."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        if _stream_events(conn, events, 0.0):
            conn.wait_for_client_to_leave(limit=LIMIT)
        return False

    return behaviour


def _gate_wait(conn: LoopbackConnection) -> bool:
    """Wait (bounded) for the test to open the server's gate."""
    server = conn.server
    return not isinstance(server, FaultServer) or server.gate.wait(LIMIT)


def trickle_head(body_json: Any, pause: float = 0.2) -> Behaviour:
    """A reply whose status line and headers arrive one byte every ``pause`` s (20 s for
    all of them), then ``body_json`` whole, at once."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        body = json.dumps(body_json).encode()
        head = (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            f"x-padding: {'p' * 40}\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            for byte in head:
                if not conn.wait(pause):
                    return False
                conn.sock.sendall(bytes([byte]))
            conn.sock.sendall(body)
        except OSError:
            return False
        return True

    return behaviour
