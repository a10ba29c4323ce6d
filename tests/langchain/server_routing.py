"""One ModelsLab endpoint, emulated by the two recording servers.

While recording, ``MODELSLAB_BASE_URL`` names a llama-server that answers plain
chat and ``MODELSLAB_TOOLS_BASE_URL`` one whose template forces a tool call (see
``tools/recording/server.py``). ModelsLab itself is a single endpoint, so a model
under test gets httpx clients whose transport sends each request where the live
API would have behaved alike: requests that force a tool call
(``tool_choice: "required"`` with tools on ``/chat/completions``; ``{"type": "any"}``
or ``{"type": "tool"}`` on ``/v1/messages``) to the tools server, everything else to
the chat server. The transport wraps a plain ``httpx2.HTTPTransport``, which vcrpy
patches, so cassettes record and replay as usual; matching ignores the host, and
in replay both URLs are the same placeholder, so the routing changes nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx2

from tests.conftest import recording_api_key, recording_base_url

__all__ = ["AsyncRoutingTransport", "RoutingTransport", "routed_model_params", "tools_base_url"]


def tools_base_url() -> str:
    """The tools server while recording; the chat URL otherwise."""
    return os.environ.get("MODELSLAB_TOOLS_BASE_URL") or recording_base_url()


def _forces_a_tool_call(request: httpx2.Request) -> bool:
    """Whether the request offers tools and must call one, on either protocol.

    Chat completions says so with ``tool_choice: "required"``; the Messages protocol
    with ``{"type": "any"}`` or ``{"type": "tool", "name": ...}`` (which llama-server
    treats as "any": it does not restrict the call to the named tool).
    """
    path = request.url.path
    if not path.endswith(("/chat/completions", "/v1/messages")):
        return False
    try:
        body = json.loads(request.content or b"{}")
    except ValueError:
        return False
    if not body.get("tools"):
        return False
    choice = body.get("tool_choice")
    if path.endswith("/v1/messages"):
        return isinstance(choice, dict) and choice.get("type") in ("any", "tool")
    return bool(choice == "required")


def _rerouted(request: httpx2.Request, chat: httpx2.URL, tools: httpx2.URL) -> httpx2.Request:
    if chat == tools or not _forces_a_tool_call(request):
        return request
    path = request.url.path[len(chat.path.rstrip("/")) :]
    url = tools.copy_with(path=tools.path.rstrip("/") + path, query=request.url.query or None)
    headers = request.headers.copy()
    headers["host"] = url.netloc.decode()
    return httpx2.Request(
        request.method, url, headers=headers, content=request.content, extensions=request.extensions
    )


class RoutingTransport(httpx2.BaseTransport):
    """Sync transport: forced tool calls to the tools server, the rest to the chat server."""

    def __init__(self, chat_base_url: str, tools_base_url: str) -> None:
        self._chat = httpx2.URL(chat_base_url)
        self._tools = httpx2.URL(tools_base_url)
        self._inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return self._inner.handle_request(_rerouted(request, self._chat, self._tools))

    def close(self) -> None:
        self._inner.close()


class AsyncRoutingTransport(httpx2.AsyncBaseTransport):
    """Async counterpart of :class:`RoutingTransport`."""

    def __init__(self, chat_base_url: str, tools_base_url: str) -> None:
        self._chat = httpx2.URL(chat_base_url)
        self._tools = httpx2.URL(tools_base_url)
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        rerouted = _rerouted(request, self._chat, self._tools)
        return await self._inner.handle_async_request(rerouted)

    async def aclose(self) -> None:
        await self._inner.aclose()


def routed_model_params(
    chat_base_url: str | None = None, tools: str | None = None, api_key: str | None = None
) -> dict[str, Any]:
    """ChatModelsLab arguments for a cassette-backed test: URL, key, routing clients."""
    chat = chat_base_url or recording_base_url()
    tools = tools or tools_base_url()
    return {
        "base_url": chat,
        "api_key": api_key or recording_api_key(),
        "http_client": httpx2.Client(transport=RoutingTransport(chat, tools)),
        "http_async_client": httpx2.AsyncClient(transport=AsyncRoutingTransport(chat, tools)),
    }
