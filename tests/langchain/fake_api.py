"""A scripted, in-process ModelsLab API for LangChain unit tests (httpx2.MockTransport).

No socket is opened: the model under test gets ``httpx2.Client`` / ``httpx2.AsyncClient``
instances whose transport calls :class:`FakeAPI`, which records every request body and
answers from a queue of scripted replies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from langchain_modelslab import ChatModelsLab

API_KEY = "sk-live-Lc7Qp2Wv9Xr4Zt8Ny3Mb"
"""A recognisable fake key: tests assert it never leaks."""
BASE_URL = "https://modelslab.com/api/v7/llm"

Reply = Callable[[httpx2.Request], httpx2.Response]


def completion(
    text: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A chat completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1712345678,
        "model": "google-gemma-3-1b-it",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage or {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }
    body.update(extra)
    return body


def function_call(name: str, arguments: str, call_id: str = "call_1") -> dict[str, Any]:
    """One tool call as the server sends it."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def sse(*chunks: dict[str, Any], done: bool = True) -> httpx2.Response:
    """A Server-Sent Events reply carrying ``chunks``."""
    text = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks)
    if done:
        text += "data: [DONE]\n\n"
    return httpx2.Response(200, text=text, headers={"content-type": "text/event-stream"})


def chunk(
    *,
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
    choices: bool = True,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``; ``choices=False`` makes a usage-only chunk."""
    body: dict[str, Any] = {
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "model": "google-gemma-3-1b-it",
        "system_fingerprint": "fp-1",
        "choices": [],
    }
    if choices:
        delta: dict[str, Any] = {}
        if content is not None:
            delta["content"] = content
        if tool_calls is not None:
            delta["tool_calls"] = tool_calls
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    if usage is not None:
        body["usage"] = usage
    return body


def json_reply(body: Any, status: int = 200, **headers: str) -> httpx2.Response:
    """A JSON reply."""
    return httpx2.Response(status, json=body, headers=headers)


@dataclass
class FakeAPI:
    """Answers requests from a queue of replies and records what was sent."""

    replies: list[httpx2.Response | Reply] = field(default_factory=list)
    requests: list[httpx2.Request] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        if not self.replies:
            return json_reply(completion())
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(request) if callable(reply) else _fresh(reply)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies sent so far."""
        return [json.loads(request.content) for request in self.requests if request.content]

    @property
    def last_body(self) -> dict[str, Any]:
        """The JSON body of the latest request."""
        return self.bodies[-1]

    def model(self, **params: Any) -> ChatModelsLab:
        """A ChatModelsLab that sends through this fake (sync and async)."""
        params.setdefault("api_key", API_KEY)
        params.setdefault("base_url", BASE_URL)
        params.setdefault("max_retries", 0)
        return ChatModelsLab(
            http_client=httpx2.Client(transport=httpx2.MockTransport(self)),
            http_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(self)),
            **params,
        )


def _fresh(response: httpx2.Response) -> httpx2.Response:
    """A copy of a scripted response, so that it can be served more than once."""
    return httpx2.Response(response.status_code, content=response.content, headers=response.headers)
