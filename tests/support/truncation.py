"""Replies that finished, or were cut off, in both protocols' shapes, plain and streamed.

``api`` is ``"chat_completions"`` or ``"messages"``; ``stream`` picks SSE or a plain JSON
body. ``reason`` is the protocol's own finish / stop reason (``"length"`` or
``"max_tokens"``...). Each builder returns one ``httpx2`` response for
:class:`~tests.support.mock_api.ScriptedServer`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2

from tests.support.replies import chunk, completion_body, json_response, sse_response, usage_chunk

APIS = ("chat_completions", "messages")

CUT_ARGUMENTS = ('{"account": "ACC-1", ', '"amount": 12')
"""A call's argument text cut inside a number: 12 of 1250.75."""
WHOLE_ARGUMENTS = ('{"account": "ACC-1", ', '"amount": 1250.75}')
CUT_TEXT = ('{"city": "Paris", ', '"summary": "Sunny in the morning, light rain aft')
"""A JSON answer cut inside a string."""

TRUNCATED = {"chat_completions": "length", "messages": "max_tokens"}
"""Each protocol's reason for a reply cut by the token limit."""
FINISHED = {"chat_completions": "stop", "messages": "end_turn"}
CALLED = {"chat_completions": "tool_calls", "messages": "tool_use"}


def _message_body(content: list[dict[str, Any]], stop_reason: str, msg_id: str) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": "google-gemma-3-1b-it",
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 12, "output_tokens": 4},
    }


def _message_events(
    content: list[tuple[str, tuple[str, ...]]], stop_reason: str, msg_id: str
) -> httpx2.Response:
    """A Messages stream: each ``(kind, pieces)`` block is ``("text", ...)`` or a tool name."""
    items: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                **_message_body([], "", msg_id),
                "stop_reason": None,
                "usage": {"input_tokens": 12, "output_tokens": 1},
            },
        }
    ]
    for index, (kind, pieces) in enumerate(content):
        if kind == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
        else:
            opening = {"type": "tool_use", "id": f"toolu_{index}", "name": kind, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
        items.append({"type": "content_block_start", "index": index, "content_block": opening})
        items += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        items.append({"type": "content_block_stop", "index": index})
    items.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason},
            "usage": {"output_tokens": 9},
        }
    )
    items.append({"type": "message_stop"})
    text = "".join(f"event: {item['type']}\ndata: {json.dumps(item)}\n\n" for item in items)
    return httpx2.Response(200, text=text, headers={"content-type": "text/event-stream"})


def tool_reply(
    api: str,
    *,
    stream: bool,
    name: str = "transfer",
    pieces: tuple[str, ...] = CUT_ARGUMENTS,
    reason: str | None = None,
    reply_id: str | None = None,
) -> httpx2.Response:
    """A reply that calls ``name`` with the argument text ``"".join(pieces)``.

    ``reason`` defaults to the protocol's token-limit reason (a cut call). A plain
    Messages reply carries the input as the object the text was meant to be (as a
    server that closed the cut JSON would send it).
    """
    reason = reason or TRUNCATED[api]
    text = "".join(pieces)
    if api == "messages":
        msg_id = reply_id or "msg_1"
        if stream:
            return _message_events([(name, pieces)], reason, msg_id)
        try:
            given: Any = json.loads(text)
        except ValueError:
            given = {"account": "ACC-1", "amount": 12}
        block = {"type": "tool_use", "id": "toolu_0", "name": name, "input": given}
        return json_response(_message_body([block], reason, msg_id))
    reply_id = reply_id or "chatcmpl-1"
    if stream:
        opening = {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        chunks = [chunk("", role="assistant"), chunk(tool_calls=[opening])]
        chunks += [
            chunk(tool_calls=[{"index": 0, "function": {"arguments": piece}}]) for piece in pieces
        ]
        chunks += [chunk(finish_reason=reason), usage_chunk()]
        for item in chunks:
            item["id"] = reply_id
        return sse_response(*chunks)
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}
    return json_response(
        completion_body(None, tool_calls=[call], finish_reason=reason, id=reply_id)
    )


def text_reply(
    api: str,
    *,
    stream: bool,
    pieces: tuple[str, ...] = CUT_TEXT,
    reason: str | None = None,
    reply_id: str | None = None,
) -> httpx2.Response:
    """A text reply ``"".join(pieces)``; ``reason`` defaults to the token-limit one."""
    reason = reason or TRUNCATED[api]
    if api == "messages":
        msg_id = reply_id or "msg_1"
        if stream:
            return _message_events([("text", pieces)], reason, msg_id)
        block = {"type": "text", "text": "".join(pieces)}
        return json_response(_message_body([block], reason, msg_id))
    reply_id = reply_id or "chatcmpl-1"
    if stream:
        chunks = [chunk("", role="assistant"), *(chunk(piece) for piece in pieces)]
        chunks += [chunk(finish_reason=reason), usage_chunk()]
        for item in chunks:
            item["id"] = reply_id
        return sse_response(*chunks)
    return json_response(completion_body("".join(pieces), finish_reason=reason, id=reply_id))
