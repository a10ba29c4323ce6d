"""Reply builders: OpenAI chat-completion bodies, chunks and SSE bytes, and the httpx2
responses that carry them."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from tests.support.mock_api import PiecesStream

SSE_HEADERS = {"content-type": "text/event-stream"}
JSON_HEADERS = {"content-type": "application/json"}


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
