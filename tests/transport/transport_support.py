"""Helpers shared by the transport tests: scripted mock servers, SSE builders, recorders.

Nothing here opens a socket except :class:`LoopbackServer`, which listens on
127.0.0.1 only, serves from a daemon thread, and stops itself when the test ends
(every wait inside it is bounded).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

from modelslab_transport import (
    DEFAULT_BASE_URL,
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLabClient,
    RetryPolicy,
)
from modelslab_transport.wire import ChatCompletionRequest, ChatMessage, MessagesRequest

API_KEY = "sk-live-Zq8XfK2pW9mNs4Tt7Yb3"
"""A recognisable fake key: tests assert it never leaks."""

SSE_HEADERS = {"content-type": "text/event-stream"}
JSON_HEADERS = {"content-type": "application/json"}


# --------------------------------------------------------------------- payloads


def chat_request(**overrides: Any) -> ChatCompletionRequest:
    """A minimal valid chat request; keyword arguments override or extend it."""
    fields: dict[str, Any] = {
        "model": "meta-llama-3-8B-instruct",
        "messages": [ChatMessage(role="user", content="Hi")],
        "max_tokens": 64,
    }
    fields.update(overrides)
    return ChatCompletionRequest(**fields)


def messages_request(**overrides: Any) -> MessagesRequest:
    """A minimal valid Messages request."""
    fields: dict[str, Any] = {
        "model": "claude-like",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    fields.update(overrides)
    return MessagesRequest(**fields)


def completion_body(text: str = "Hello!", **extra: Any) -> dict[str, Any]:
    """A complete, OpenAI-shaped chat completion body."""
    body: dict[str, Any] = {
        "id": "gen-123",
        "object": "chat.completion",
        "created": 1712345678,
        "model": "meta-llama-3-8B-instruct",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
    body.update(extra)
    return body


def chunk(
    content: str | None = None,
    *,
    finish_reason: str | None = None,
    index: int | None = 0,
    **delta: Any,
) -> dict[str, Any]:
    """A chat.completion.chunk with one choice."""
    delta_body: dict[str, Any] = dict(delta)
    if content is not None:
        delta_body["content"] = content
    choice: dict[str, Any] = {"delta": delta_body, "finish_reason": finish_reason}
    if index is not None:
        choice["index"] = index
    return {
        "id": "gen-123",
        "object": "chat.completion.chunk",
        "created": 1712345678,
        "model": "m",
        "choices": [choice],
    }


def sse(*events: Any, done: bool = True, newline: str = "\n") -> bytes:
    """SSE bytes: dicts become ``data: <json>`` events, strings are sent as written."""
    parts: list[str] = []
    for event in events:
        if isinstance(event, str):
            parts.append(event)
        else:
            parts.append(f"data: {json.dumps(event)}{newline}{newline}")
    if done:
        parts.append(f"data: [DONE]{newline}{newline}")
    return "".join(parts).encode()


def stream_response(
    body: bytes,
    headers: dict[str, str] | None = None,
    status: int = 200,
    fail_with: Exception | None = None,
) -> httpx2.Response:
    """A reply whose body is streamed (so a test can see when it gets closed)."""
    return httpx2.Response(
        status,
        headers=SSE_HEADERS if headers is None else headers,
        stream=PiecesStream([body], fail_with),
    )


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> httpx2.Response:
    """A JSON reply (body may be a dict, or a str sent verbatim)."""
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx2.Response(
        status,
        headers={**JSON_HEADERS, **(headers or {})},
        stream=PiecesStream([content.encode() if isinstance(content, str) else content]),
    )


# ---------------------------------------------------------------- byte streams


class PiecesStream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A response body delivered in the given pieces, then optionally a failure."""

    def __init__(self, pieces: list[bytes], fail_with: Exception | None = None) -> None:
        self.pieces = pieces
        self.fail_with = fail_with
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.fail_with is not None:
            raise self.fail_with

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.fail_with is not None:
            raise self.fail_with

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class StallingAsyncStream(httpx2.AsyncByteStream):
    """Sends ``pieces`` then waits (for ``release``) as a server that stops talking would."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.release: Any = None  # an asyncio.Event, created on the running loop
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import asyncio

        self.release = asyncio.Event()
        for piece in self.pieces:
            yield piece
        await asyncio.wait_for(self.release.wait(), timeout=10)

    async def aclose(self) -> None:
        self.closed = True


# ------------------------------------------------------------ scripted server


Reply = httpx2.Response | Exception | Callable[[httpx2.Request], httpx2.Response]


@dataclass
class ScriptedServer:
    """A MockTransport handler that answers from a script and records every request.

    Each reply is a response, an exception to raise (e.g. ``httpx2.ConnectError``) or a
    callable; the last reply repeats once the script runs out.
    """

    replies: list[Reply]
    requests: list[httpx2.Request] = field(default_factory=list)
    responses: list[httpx2.Response] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        response = reply(request) if callable(reply) else _fresh(reply)
        self.responses.append(response)
        return response

    @property
    def bodies(self) -> list[Any]:
        """The JSON bodies of the requests seen, in order."""
        return [json.loads(r.content) if r.content else None for r in self.requests]


def _fresh(response: httpx2.Response) -> httpx2.Response:
    """A new response equal to ``response`` (a response object can be sent only once)."""
    stream = response.stream
    if isinstance(stream, PiecesStream):
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=PiecesStream(list(stream.pieces), stream.fail_with),
        )
    if isinstance(stream, httpx2.ByteStream):
        return httpx2.Response(
            response.status_code, headers=response.headers, content=response.read()
        )
    return response  # a one-off stream (e.g. StallingAsyncStream): served as is


def settings(**overrides: Any) -> ClientSettings:
    """Settings with the fake key and the real default base URL (never contacted)."""
    fields: dict[str, Any] = {"api_key": API_KEY, "base_url": DEFAULT_BASE_URL}
    fields.update(overrides)
    return ClientSettings(**fields)


class SleepRecorder:
    """Stands in for ``time.sleep`` / ``anyio.sleep``: records delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def policy(self, **overrides: Any) -> RetryPolicy:
        """A retry policy that sleeps through this recorder."""
        return RetryPolicy(sleep=self, async_sleep=self.asleep, **overrides)


def sync_client(
    server: ScriptedServer,
    recorder: SleepRecorder | None = None,
    **setting_overrides: Any,
) -> ModelsLabClient:
    """A sync client whose requests go to ``server``."""
    return ModelsLabClient(
        settings(**setting_overrides),
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        retry_policy=(recorder or SleepRecorder()).policy(),
    )


def async_client(
    server: ScriptedServer,
    recorder: SleepRecorder | None = None,
    **setting_overrides: Any,
) -> AsyncModelsLabClient:
    """An async client whose requests go to ``server``."""
    return AsyncModelsLabClient(
        settings(**setting_overrides),
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
        retry_policy=(recorder or SleepRecorder()).policy(),
    )


# ------------------------------------------------------------ loopback server


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
        self._listener.settimeout(0.05)
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
            except TimeoutError:
                continue
            except OSError:
                return
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
