"""A loopback chat-completions server for overhead benchmarks (its own process).

It answers ``POST .../chat/completions`` at once, as plain JSON or as SSE. The base
URL path configures each reply, so every client under test can be pointed at the
same scenario: ``/c2000/t200/l0.05/chat/completions`` means 2,000 content chunks,
200 tool-call argument fragments and 50 ms latency (defaults: c20, t0, l0). A usage
chunk is sent when the request asks for it (``stream_options.include_usage``). It
speaks just enough HTTP/1.1 (keep-alive, Content-Length and chunked replies) to serve
every client under test, and counts the TCP connections it accepted (``GET /stats``).

Run: ``python -m benchmarks.server PORT``; it prints ``ready`` once listening.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

STATS = {"connections": 0, "requests": 0}

_CHUNK = "data: {payload}\n\n"


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


def _sse_events(model: str, chunks: int, tool_fragments: int, usage: bool) -> list[bytes]:
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
            piece = '{"q": "' if i == 0 else ('"}' if i == tool_fragments - 1 else "x")
            events.append(
                {
                    **head,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [{"index": 0, "function": {"arguments": piece}}]
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
    encoded = [_CHUNK.format(payload=json.dumps(e, separators=(",", ":"))).encode() for e in events]
    encoded.append(b"data: [DONE]\n\n")
    return encoded


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


def _options(path: str) -> dict[str, float]:
    options = {"c": 20.0, "t": 0.0, "l": 0.0}
    for segment in path.split("/"):
        if segment[:1] in options and segment[1:].replace(".", "", 1).isdigit():
            options[segment[0]] = float(segment[1:])
    return options


def _plain(status: str, payload: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(payload)}\r\nconnection: keep-alive\r\n\r\n"
    ).encode() + payload


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    STATS["connections"] += 1
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
            STATS["requests"] += 1
            request = json.loads(body or b"{}")
            options = _options(path)
            latency, chunks, tools = options["l"], int(options["c"]), int(options["t"])
            if latency:
                await asyncio.sleep(latency)
            model = str(request.get("model", "bench-model"))
            if not request.get("stream"):
                content = " ".join(f"tok{i}" for i in range(chunks))
                payload = json.dumps(_completion(model, content, tools)).encode()
                writer.write(_plain("200 OK", payload))
                await writer.drain()
                continue
            include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
            )
            for event in _sse_events(model, chunks, tools, include_usage):
                writer.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
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
