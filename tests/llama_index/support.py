"""Helpers for the ModelsLabLLM unit tests: a scripted chat-completions server on
``httpx2.MockTransport`` (no socket is opened) and builders for its replies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

from llama_index_modelslab import ModelsLabLLM

MOCK_BASE_URL = "http://127.0.0.1:9"
"""Base URL of the scripted server (never contacted: the mock transport answers)."""
MOCK_KEY = "sk-unit-test-secret-0123456789"
"""The API key the unit tests use; it must never show up anywhere."""

Reply = httpx2.Response | Callable[[dict[str, Any]], httpx2.Response]


def completion(
    text: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    usage: tuple[int, int] | None = (11, 3),
    finish_reason: str = "stop",
    reasoning: str | None = None,
    completion_id: str = "chatcmpl-1",
) -> httpx2.Response:
    """A non-streamed chat completion."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    return httpx2.Response(200, json=body)


def tool_call(name: str, arguments: str, call_id: str | None = "call_1") -> dict[str, Any]:
    """One tool call as it appears in a non-streamed reply."""
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        call["id"] = call_id
    return call


def chunk(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    """One chat-completion chunk with a single choice."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def usage_chunk(prompt: int = 9, completion_tokens: int = 4) -> dict[str, Any]:
    """The usage-only final chunk (``choices == []``)."""
    return {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
        },
    }


def sse(*chunks: dict[str, Any]) -> httpx2.Response:
    """A streamed reply: the chunks as SSE events, then ``[DONE]``."""
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=text)


def text_stream(*pieces: str, usage: bool = True) -> httpx2.Response:
    """A streamed plain-text reply made of ``pieces``."""
    chunks = [chunk(role="assistant", content="")]
    chunks += [chunk(piece) for piece in pieces]
    chunks.append(chunk(finish_reason="stop"))
    if usage:
        chunks.append(usage_chunk())
    return sse(*chunks)


class ScriptedServer:
    """Answers requests with the scripted replies in order and records what it got."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies received so far."""
        return [json.loads(request.content) for request in self.requests]

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected request #{len(self.requests)}: {request.content!r}")
        reply = self.replies.pop(0)
        if isinstance(reply, httpx2.Response):
            return reply
        return reply(json.loads(request.content))


def scripted_llm(*replies: Reply, **fields: Any) -> tuple[ModelsLabLLM, ScriptedServer]:
    """A ModelsLabLLM whose sync and async clients both talk to one scripted server."""
    server = ScriptedServer(*replies)
    transport = httpx2.MockTransport(server)
    fields.setdefault("api_key", MOCK_KEY)
    fields.setdefault("base_url", MOCK_BASE_URL)
    fields.setdefault("model", "test-model")
    llm = ModelsLabLLM(
        http_client=httpx2.Client(transport=transport),
        async_http_client=httpx2.AsyncClient(transport=transport),
        **fields,
    )
    return llm, server
