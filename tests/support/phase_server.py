"""A loopback server that holds each request at one phase of its life until released.

:class:`PhaseServer` is a :class:`~tests.support.loopback.LoopbackServer` answering chat
requests (a streamed request with SSE chunks, another with a JSON completion, both
writing :data:`REPLY_TEXT`). With ``hold`` set it stops at that phase of every request,
sets the phase's event in :attr:`reached`, and waits (at most :data:`HOLD_LIMIT`
seconds) for :attr:`release`:

* ``"sending"``: before reading the request (its receive buffer is small, so a large
  request body leaves the client blocked sending);
* ``"headers"``: after reading the request, before any byte of the reply;
* ``"mid-stream"``: after the reply's head and first event.

The ``"connecting"`` phase is the client's (a connect held by a patched backend): see
the tests that use it.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Literal

from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.replies import chunk, completion_body

__all__ = ["HOLD_LIMIT", "REPLY_TEXT", "Phase", "PhaseServer"]

HOLD_LIMIT = 10.0
"""The longest the server holds a request (a test that forgets to release it fails)."""

REPLY_TEXT = "Hello, world"
"""The text every reply writes (a stream in three chunks)."""

Phase = Literal["sending", "headers", "mid-stream"]

_PIECES = ("Hello", ", ", "world")


class PhaseServer(LoopbackServer):
    """A chat server holding each request at ``hold`` (None: never) until :attr:`release`."""

    def __init__(self, hold: Phase | None = None, *, pause: float = 0.0) -> None:
        super().__init__(self._answer)
        self.hold = hold
        self.pause = pause
        """Seconds between two stream events (a stream in progress for a while)."""
        self.reached = {phase: threading.Event() for phase in ("sending", "headers", "mid-stream")}
        self.release = threading.Event()
        # A small receive buffer: a large request body fills it and the client's send blocks.
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def __enter__(self) -> PhaseServer:
        super().__enter__()
        return self

    def _at(self, phase: Phase) -> None:
        self.reached[phase].set()
        if self.hold == phase:
            self.release.wait(HOLD_LIMIT)

    def _read_request(self, sock: socket.socket) -> LoopbackRequest | None:
        self._at("sending")
        return super()._read_request(sock)

    def _answer(self, conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        self._at("headers")
        if not json.loads(request.body).get("stream"):
            conn.send_json(completion_body(REPLY_TEXT))
            return True
        conn.send_sse_headers()
        conn.send_chunk(f"data: {json.dumps(chunk(_PIECES[0]))}\n\n".encode())
        self._at("mid-stream")
        for piece in (*_PIECES[1:], None):
            if self.pause and not conn.wait(self.pause):
                return False
            event = chunk(piece) if piece else chunk("", finish_reason="stop")
            conn.send_chunk(f"data: {json.dumps(event)}\n\n".encode())
        conn.send_chunk(b"data: [DONE]\n\n")
        conn.end_chunks()
        return True
