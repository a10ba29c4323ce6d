"""A tiny OpenAI-compatible server on 127.0.0.1 for running the README's snippets as written.

:class:`OpenAIFake` is the transport suite's :class:`LoopbackServer` with one script that
answers like a (very simple) model, so that code pointed at it with
``MODELSLAB_BASE_URL`` runs to the end: ``POST /chat/completions``, plain or streamed,
answers with text, unless the request offers tools and holds no tool result yet, in
which case it calls the first tool with arguments made from its JSON schema (so agent
loops and structured output complete); ``GET /v1/models`` lists two models. Every
request is kept in ``requests`` for the test to inspect.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer

__all__ = ["MODEL_IDS", "OpenAIFake", "arguments_for"]

MODEL_IDS = ("google-gemma-3-1b-it", "meta-llama-Llama-3.3-70B-Instruct-Turbo")
"""The ids ``GET /v1/models`` answers with."""

_SAMPLES: dict[str, list[Any]] = {
    "integer": [6, 7, 3],
    "number": [1.5, 2.5],
    "string": ["Paris", "Ada"],
}


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy ``schema``'s required properties (integers 6, 7, ...)."""
    properties: dict[str, Any] = schema.get("properties", {})
    seen: dict[str, int] = {}
    arguments: dict[str, Any] = {}
    for name in schema.get("required", list(properties)):
        kind = properties.get(name, {}).get("type", "string")
        samples = _SAMPLES.get(kind, ["x"])
        arguments[name] = samples[seen.get(kind, 0) % len(samples)]
        seen[kind] = seen.get(kind, 0) + 1
    return arguments


def _reply_text(body: dict[str, Any]) -> str:
    tool_results = [m for m in body.get("messages", []) if m.get("role") == "tool"]
    if tool_results:
        return f"The answer is {tool_results[-1].get('content')}."
    return "Hello from the fake server."


def _tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = body.get("tools") or []
    if not tools or body.get("tool_choice") == "none":
        return None
    if any(m.get("role") == "tool" for m in body.get("messages", [])):
        return None
    function = tools[0]["function"]
    return {
        "id": "call_1",
        "type": "function",
        "function": {
            "name": function["name"],
            "arguments": json.dumps(arguments_for(function.get("parameters", {}))),
        },
    }


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}


def _answer(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    if request.method == "GET" and request.path.endswith("/v1/models"):
        data = [{"id": i, "object": "model", "owned_by": "fake"} for i in MODEL_IDS]
        conn.send_json({"object": "list", "data": data})
        return True
    if not request.path.endswith("/chat/completions"):
        conn.send_json({"error": {"message": f"no route {request.path}"}}, 404, "Not Found")
        return True
    body = json.loads(request.body)
    call = _tool_call(body)
    model = body.get("model", MODEL_IDS[0])
    # A fresh id per reply, as real servers send: LangGraph's message list replaces a
    # message whose id it already holds.
    base = {
        "id": f"chatcmpl-fake-{len(conn.server.requests)}",
        "created": 1712345678,
        "model": model,
    }
    if not body.get("stream"):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if call else _reply_text(body),
        }
        if call:
            message["tool_calls"] = [call]
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}
        conn.send_json(
            {**base, "object": "chat.completion", "choices": [choice], "usage": _usage()}
        )
        return True
    conn.send_sse_headers()
    if call:
        deltas: list[dict[str, Any]] = [{"role": "assistant", "tool_calls": [{"index": 0, **call}]}]
    else:
        deltas = [{"role": "assistant", "content": piece} for piece in _pieces(_reply_text(body))]
    events: list[dict[str, Any]] = [
        {"index": 0, "delta": delta, "finish_reason": None} for delta in deltas
    ]
    events.append({"index": 0, "delta": {}, "finish_reason": "tool_calls" if call else "stop"})
    for event in events:
        chunk = {**base, "object": "chat.completion.chunk", "choices": [event]}
        conn.send_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
    usage = {**base, "object": "chat.completion.chunk", "choices": [], "usage": _usage()}
    conn.send_chunk(f"data: {json.dumps(usage)}\n\n".encode())
    conn.send_chunk(b"data: [DONE]\n\n")
    conn.end_chunks()
    return True


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words)]


class OpenAIFake(LoopbackServer):
    """A loopback OpenAI-compatible server that answers every request (see the module)."""

    def __init__(self) -> None:
        super().__init__(_answer)

    def __enter__(self) -> OpenAIFake:
        super().__enter__()
        return self
