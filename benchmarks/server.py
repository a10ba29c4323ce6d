"""A loopback chat-completions server for overhead benchmarks (its own process).

It answers ``POST .../chat/completions`` at once, as plain JSON or as SSE. The base
URL path configures each reply, so every client under test can be pointed at the
same scenario: ``/c2000/t200/l0.05/chat/completions`` means 2,000 content chunks,
200 tool-call argument fragments and 50 ms latency (defaults: c20, t0, l0). A usage
chunk is sent when the request asks for it (``stream_options.include_usage``). It
speaks just enough HTTP/1.1 (keep-alive, Content-Length and chunked replies) to serve
every client under test.

Each SSE event goes out as its own HTTP chunk, as a real server generating tokens
sends them, but the bytes of a whole reply are built once per configuration and
written in one call, so the server costs as little CPU as possible and the same for
every client.

``GET .../stats`` answers ``{"connections", "requests", "usage_requests"}``: the TCP
connections that carried at least one chat request (a connection used only for
``/stats`` is not counted), the chat requests served, and how many of the streamed
ones asked for a usage chunk.

Run: ``python -m benchmarks.server PORT``; it prints ``ready`` once listening.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from typing import Any

STATS = {
    "connections": 0,
    "requests": 0,
    "usage_requests": 0,
    "refused": 0,
    "in_flight": 0,
    "peak_in_flight": 0,
}
QUEUE_LIMIT_BODY = (
    '{"status":"error","message":"Rate limit exceeded. Maximum %d queued requests allowed.",'
    '"retry_after":%g}'
)

_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
)


def _completion(model: str, content: str, tool_fragments: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    finish = "stop"
    if tool_fragments:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": json.dumps({"q": "x" * 10})},
                }
            ],
        }
        finish = "tool_calls"
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    }


def tool_arguments(tool_fragments: int) -> str:
    """The arguments string the tool-call fragments of a stream add up to."""
    return "".join(_tool_piece(i, tool_fragments) for i in range(tool_fragments))


def _tool_piece(i: int, tool_fragments: int) -> str:
    return '{"q": "' if i == 0 else ('"}' if i == tool_fragments - 1 else "x")


def stream_text(chunks: int) -> str:
    """The text the content chunks of a stream add up to."""
    return "".join(f"tok{i} " for i in range(chunks))


def sse_events(model: str, chunks: int, tool_fragments: int, usage: bool) -> list[bytes]:
    """The events of a streamed reply in order, each a ``data:`` line and its blank line."""
    head = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
    }
    events: list[dict[str, Any]] = [
        {
            **head,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
        }
    ]
    for i in range(chunks):
        events.append(
            {
                **head,
                "choices": [{"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}],
            }
        )
    if tool_fragments:
        events.append(
            {
                **head,
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": "call_0",
                                    "type": "function",
                                    "function": {"name": "lookup", "arguments": ""},
                                }
                            ]
                        },
                        "finish_reason": None,
                    }
                ],
            }
        )
        for i in range(tool_fragments):
            events.append(
                {
                    **head,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [
                                    {
                                        "index": 0,
                                        "function": {"arguments": _tool_piece(i, tool_fragments)},
                                    }
                                ]
                            },
                            "finish_reason": None,
                        }
                    ],
                }
            )
    events.append(
        {
            **head,
            "choices": [
                {
                    "index": 0,
                    "delta": {},
                    "finish_reason": "tool_calls" if tool_fragments else "stop",
                }
            ],
        }
    )
    if usage:
        events.append(
            {
                **head,
                "choices": [],
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": chunks,
                    "total_tokens": 10 + chunks,
                },
            }
        )
    encoded = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n".encode() for e in events]
    encoded.append(b"data: [DONE]\n\n")
    return encoded


@functools.lru_cache(maxsize=64)
def _sse_reply(model: str, chunks: int, tool_fragments: int, usage: bool) -> bytes:
    """A whole SSE reply (headers, one HTTP chunk per event, terminator), built once."""
    parts = [_SSE_HEAD]
    for event in sse_events(model, chunks, tool_fragments, usage):
        parts.append(f"{len(event):x}\r\n".encode() + event + b"\r\n")
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


@functools.lru_cache(maxsize=64)
def _plain_reply(model: str, chunks: int, tool_fragments: int) -> bytes:
    content = " ".join(f"tok{i}" for i in range(chunks))
    return _plain("200 OK", json.dumps(_completion(model, content, tool_fragments)).encode())


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes]:
    line = await reader.readline()
    if not line:
        raise ConnectionError
    method, path, _ = line.decode().split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return method, path, headers, body


@functools.lru_cache(maxsize=256)
def _options(path: str) -> tuple[int, int, float, int, float, float | None]:
    """(content chunks, tool-call fragments, latency in seconds, queue limit, retry_after,
    slot lag) named by the URL path (``q5``: at most 5 requests in flight, ModelsLab's 429
    beyond; 0: none; ``r1``: the 429 body's ``retry_after`` is 1 s, default ModelsLab's 30;
    ``f0``: a request's place in the queue is freed only after its reply is written, and
    this many seconds later; by default it is freed before the reply is written)."""
    options: dict[str, float | None] = {"c": 20.0, "t": 0.0, "l": 0.0, "q": 0.0, "r": 30.0}
    options["f"] = None
    for segment in path.split("/"):
        if segment[:1] in options and segment[1:].replace(".", "", 1).isdigit():
            options[segment[0]] = float(segment[1:])
    c, t, latency, q, r = (float(options[k] or 0) for k in "ctlqr")
    return int(c), int(t), latency, int(q), r, options["f"]


def _plain(status: str, payload: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(payload)}\r\nconnection: keep-alive\r\n\r\n"
    ).encode() + payload


def _free_place() -> None:
    STATS["in_flight"] -= 1


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    counted = False
    try:
        while True:
            try:
                _method, path, _headers, body = await _read_request(reader)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                return
            if path.endswith("/stats"):
                writer.write(_plain("200 OK", json.dumps(STATS).encode()))
                await writer.drain()
                continue
            if not counted:
                counted = True
                STATS["connections"] += 1
            STATS["requests"] += 1
            request = json.loads(body or b"{}")
            chunks, tools, latency, queue_limit, retry_after, lag = _options(path)
            if queue_limit and STATS["in_flight"] >= queue_limit:
                STATS["refused"] += 1
                refusal = (QUEUE_LIMIT_BODY % (queue_limit, retry_after)).encode()
                writer.write(_plain("429 Too Many Requests", refusal))
                await writer.drain()
                continue
            STATS["in_flight"] += 1
            STATS["peak_in_flight"] = max(STATS["peak_in_flight"], STATS["in_flight"])
            try:
                if latency:
                    await asyncio.sleep(latency)
            finally:
                if lag is None:
                    STATS["in_flight"] -= 1
            try:
                model = str(request.get("model", "bench-model"))
                if not request.get("stream"):
                    writer.write(_plain_reply(model, chunks, tools))
                else:
                    usage = bool((request.get("stream_options") or {}).get("include_usage"))
                    STATS["usage_requests"] += usage
                    writer.write(_sse_reply(model, chunks, tools, usage))
                await writer.drain()
            finally:
                if lag is not None:  # the place is freed once the reply is out, and later
                    asyncio.get_running_loop().call_later(lag, _free_place)
    except (ConnectionError, OSError):
        return
    finally:
        writer.close()


async def serve(port: int) -> None:
    """Serve on 127.0.0.1:port until killed."""
    server = await asyncio.start_server(_handle, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
