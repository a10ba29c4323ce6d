"""Reply builders, one function per concept: OpenAI chat-completion bodies
(:func:`completion_body`), chunks (:func:`chunk`, :func:`usage_chunk`), tool calls
(:func:`tool_call`), SSE bytes (:func:`sse`), and the httpx2 responses that carry them
(:func:`json_response`, :func:`stream_response`, :func:`sse_response`, :func:`text_stream`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx2

from tests.support.mock_api import PiecesStream

SSE_HEADERS = {"content-type": "text/event-stream"}
JSON_HEADERS = {"content-type": "application/json"}


DEFAULT_USAGE = (9, 3)
"""``(prompt_tokens, completion_tokens)`` of a :func:`completion_body` by default."""


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """An OpenAI ``usage`` object (``total_tokens`` is the sum)."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion_body(
    text: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: tuple[int, int] | None = DEFAULT_USAGE,
    reasoning: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A complete, OpenAI-shaped chat completion body with one choice.

    ``usage`` is ``(prompt_tokens, completion_tokens)``, or None for no ``usage`` member;
    ``reasoning`` becomes the message's ``reasoning_content``; ``extra`` sets or
    replaces top-level members (``id``, ``model``, ``choices`` …).
    """
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1712345678,
        "model": "google-gemma-3-1b-it",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage_body(*usage)
    body.update(extra)
    return body


def tool_call(name: str, arguments: str, call_id: str | None = "call_1") -> dict[str, Any]:
    """One whole tool call as a non-streamed reply carries it (``call_id`` None: no id)."""
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        call["id"] = call_id
    return call


def chunk(
    content: str | None = None,
    *,
    finish_reason: str | None = None,
    index: int | None = 0,
    **delta: Any,
) -> dict[str, Any]:
    """A ``chat.completion.chunk`` with one choice; ``delta`` adds members to its delta
    (``role``, ``tool_calls``, ``reasoning_content`` …); ``index=None`` leaves it out."""
    delta_body: dict[str, Any] = dict(delta)
    if content is not None:
        delta_body["content"] = content
    choice: dict[str, Any] = {"delta": delta_body, "finish_reason": finish_reason}
    if index is not None:
        choice["index"] = index
    return {
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1712345678,
        "model": "google-gemma-3-1b-it",
        "system_fingerprint": "fp-1",
        "choices": [choice],
    }


def usage_chunk(prompt_tokens: int = 9, completion_tokens: int = 4) -> dict[str, Any]:
    """The usage-only last chunk of a stream (``choices == []``)."""
    body = chunk()
    body["choices"] = []
    body["usage"] = usage_body(prompt_tokens, completion_tokens)
    return body


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


def sse_response(*events: Any, done: bool = True) -> httpx2.Response:
    """A 200 ``text/event-stream`` reply carrying :func:`sse` of ``events``."""
    return stream_response(sse(*events, done=done))


def text_stream(*pieces: str, usage: bool = True) -> httpx2.Response:
    """A streamed plain-text reply: a role chunk, one chunk per piece, a stop chunk and
    (with ``usage``) a usage chunk."""
    chunks = [chunk("", role="assistant")]
    chunks += [chunk(piece) for piece in pieces]
    chunks.append(chunk(finish_reason="stop"))
    if usage:
        chunks.append(usage_chunk())
    return sse_response(*chunks)
