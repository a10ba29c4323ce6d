"""The sync and async ModelsLab clients: the four endpoints, auth, and retries.

Both clients share one pooled httpx client for their whole life, built on first use
(or injected by the caller, for proxies, CA bundles or mTLS); neither builds a
client per request. Request building and reply decoding are shared; the two
classes differ only in how they send, wait and read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx

from modelslab_transport import __version__
from modelslab_transport.decoding import (
    ChatChunkDecoder,
    MessageEventDecoder,
    MessagesAsChatDecoder,
    decode_chat_completion,
    decode_count_tokens,
    decode_message,
    decode_model_list,
    error_for_status,
    transport_error,
)
from modelslab_transport.defaults import API_KEY_ENV
from modelslab_transport.errors import AuthenticationError, ModelsLabError
from modelslab_transport.pooling import new_async_client, new_sync_client
from modelslab_transport.protocol_bridge import (
    chat_request_to_count_tokens,
    chat_request_to_messages,
    message_to_completion,
)
from modelslab_transport.protocols import ChatAPI
from modelslab_transport.retry import RetryPolicy
from modelslab_transport.settings import ClientSettings
from modelslab_transport.streams import AsyncEventStream, EventStream
from modelslab_transport.urls import endpoint_url
from modelslab_transport.wire.catalog import ModelInfo
from modelslab_transport.wire.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from modelslab_transport.wire.messages import (
    CountTokensRequest,
    CountTokensResponse,
    Message,
    MessagesRequest,
    MessageStreamEvent,
)

__all__ = [
    "CHAT_COMPLETIONS_PATH",
    "COUNT_TOKENS_PATH",
    "MESSAGES_PATH",
    "MODELS_PATH",
    "AsyncModelsLabClient",
    "ModelsLabClient",
]

logger = logging.getLogger("modelslab_transport")

CHAT_COMPLETIONS_PATH = "/chat/completions"
"""OpenAI-compatible chat completions, relative to the base URL."""
MESSAGES_PATH = "/v1/messages"
"""Anthropic-compatible messages, relative to the base URL."""
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
"""Exact input token counting, relative to the base URL."""
MODELS_PATH = "/v1/models"
"""The model catalog, relative to the base URL (not ``/models``)."""

_USER_AGENT = f"modelslab-llm/{__version__} httpx/{httpx.__version__}"
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Call:
    """One endpoint call, before auth headers are added."""

    method: Literal["GET", "POST"]
    path: str
    content: bytes | None
    """The JSON body, encoded once (a retry sends the same bytes)."""
    stream: bool = False


def _json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class _ClientCore:
    """What both clients share: settings, retry policy, request building."""

    def __init__(self, settings: ClientSettings | None, retry_policy: RetryPolicy | None) -> None:
        self.settings = settings if settings is not None else ClientSettings()
        """The connection settings (read-only)."""
        self.retry_policy = retry_policy if retry_policy is not None else RetryPolicy()
        """How long to wait between retries."""
        self._urls: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.settings.base_url!r})"

    # -- request building -------------------------------------------------------------

    def _headers(self, call: _Call) -> dict[str, str]:
        headers = {
            "accept": "text/event-stream" if call.stream else "application/json",
            "user-agent": _USER_AGENT,
        }
        if call.content is not None:
            headers["content-type"] = "application/json"
        if call.path.startswith("/v1/"):  # the Anthropic-style endpoints, models included
            headers["anthropic-version"] = self.settings.anthropic_version
        key = self.settings.api_key
        if key is None:
            if self.settings.requires_api_key:
                raise AuthenticationError(
                    f"no ModelsLab API key: pass api_key=... or set {API_KEY_ENV}",
                    status_code=401,
                )
        elif call.path == CHAT_COMPLETIONS_PATH:
            headers["authorization"] = f"Bearer {key.get_secret_value()}"
        else:
            headers["x-api-key"] = key.get_secret_value()
        headers.update(self.settings.default_headers)
        return headers

    def _build(self, http: httpx.Client | httpx.AsyncClient, call: _Call) -> httpx.Request:
        timeout = self.settings.stream_timeout() if call.stream else self.settings.request_timeout()
        return http.build_request(
            call.method,
            self._url(endpoint_url(self.settings.base_url, call.path)),
            content=call.content,
            headers=self._headers(call),
            timeout=timeout,
        )

    def _url(self, text: str) -> httpx.URL:
        """``text`` parsed once: httpx takes a parsed URL as is, a string it parses per call."""
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) > 16:  # only a settings change brings new ones
                self._urls.clear()
            url = self._urls[text] = httpx.URL(text)
        return url

    def _chat_call(self, request: ChatCompletionRequest, *, stream: bool) -> _Call:
        update: dict[str, Any] = (
            {"stream": True} if stream else {"stream": None, "stream_options": None}
        )
        body = request.model_copy(update=update).to_payload()
        if self.settings.legacy_auth:
            body.setdefault("model_id", request.model)
            if self.settings.api_key is not None:
                body["key"] = self.settings.api_key.get_secret_value()
        return _Call("POST", CHAT_COMPLETIONS_PATH, _json_body(body), stream)

    @staticmethod
    def _messages_call(request: MessagesRequest, *, stream: bool) -> _Call:
        body = request.model_copy(update={"stream": True if stream else None}).to_payload()
        return _Call("POST", MESSAGES_PATH, _json_body(body), stream)

    def _new_http_kwargs(self) -> dict[str, Any]:
        return {"timeout": self.settings.request_timeout(), "follow_redirects": False}

    def _give_up_or_wait(self, attempt: int, error: ModelsLabError, call: _Call) -> float:
        """Return how long to wait before the next attempt, or raise ``error``."""
        delay = self.retry_policy.delay(attempt, error, self.settings.max_retries)
        if delay is None:
            raise error
        logger.debug(
            "%s %s failed (%s: %s); retry %d of %d in %.2f s",
            call.method,
            call.path,
            type(error).__name__,
            error,
            attempt + 1,
            self.settings.max_retries,
            delay,
        )
        return delay


class ModelsLabClient(_ClientCore):
    """A synchronous client for the ModelsLab LLM API.

    Example:
        >>> from modelslab_transport import ModelsLabClient, ClientSettings
        >>> client = ModelsLabClient(ClientSettings(api_key="..."))  # doctest: +SKIP
        >>> client.chat_completions(request).choices[0].message.text  # doctest: +SKIP

    Args:
        settings: Connection settings; by default read from the environment.
        http_client: An ``httpx.Client`` to send through (for proxies, CA bundles, mTLS).
            It is not closed by :meth:`close`; its own timeouts are overridden per request.
        retry_policy: How long to wait between retries.
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        http_client: httpx.Client | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(settings, retry_policy)
        self._injected = http_client
        self._owned: httpx.Client | None = None

    @property
    def http_client(self) -> httpx.Client:
        """The pooled httpx client, built on first use unless one was injected."""
        if self._injected is not None:
            return self._injected
        owned = self._owned
        if owned is None:
            # Threads that send their first requests at once must share one pool, not
            # each build one (all but the last would be dropped, connections and all).
            with _BUILD_LOCK:
                if self._owned is None:
                    self._owned = new_sync_client(**self._new_http_kwargs())
                owned = self._owned
        return owned

    def _send(self, call: _Call) -> httpx.Response:
        attempt = 0
        while True:
            http = self.http_client
            request = self._build(http, call)
            logger.debug("%s %s (attempt %d)", call.method, call.path, attempt + 1)
            try:
                response = http.send(request, stream=call.stream, follow_redirects=False)
            except httpx.HTTPError as exc:
                error: ModelsLabError = transport_error(exc, self.settings)
                error.__cause__ = exc
            else:
                if response.is_success:
                    return response
                try:
                    response.read()
                except httpx.HTTPError:
                    pass
                finally:
                    response.close()
                error = error_for_status(response, self.settings)
            self.retry_policy.sleep(self._give_up_or_wait(attempt, error, call))
            attempt += 1

    def chat_completions(self, request: ChatCompletionRequest) -> ChatCompletion:
        """Send a chat completion and return the whole reply.

        Raises:
            ModelsLabError: a subclass naming what failed, including errors that the
                server reported inside an HTTP 200 body.
        """
        return decode_chat_completion(
            self._send(self._chat_call(request, stream=False)), self.settings
        )

    def stream_chat_completions(
        self, request: ChatCompletionRequest
    ) -> EventStream[ChatCompletionChunk]:
        """Send a streamed chat completion; iterate the result for chunks.

        Use it as a context manager (or call ``close()``) to release the connection
        if you stop early. Retries happen only before the first chunk is read.
        """
        response = self._send(self._chat_call(request, stream=True))
        return EventStream(response, ChatChunkDecoder(self.settings), self.settings)

    def chat(
        self, request: ChatCompletionRequest, *, api: ChatAPI = "chat_completions"
    ) -> ChatCompletion:
        """Send a chat over either protocol and return it as a chat completion.

        With ``api="messages"`` the request is converted to ``/v1/messages`` and the
        reply converted back (see :mod:`modelslab_transport.protocol_bridge`).
        """
        if api == "messages":
            return message_to_completion(self.messages(chat_request_to_messages(request)))
        return self.chat_completions(request)

    def stream_chat(
        self, request: ChatCompletionRequest, *, api: ChatAPI = "chat_completions"
    ) -> EventStream[ChatCompletionChunk]:
        """Stream a chat over either protocol as chat-completion chunks.

        On the Messages protocol usage always arrives, in a final usage-only chunk.
        """
        if api == "messages":
            call = self._messages_call(chat_request_to_messages(request), stream=True)
            return EventStream(
                self._send(call), MessagesAsChatDecoder(self.settings), self.settings
            )
        return self.stream_chat_completions(request)

    def count_chat_tokens(self, request: ChatCompletionRequest) -> int:
        """Exact input tokens of a chat request (tools included), counted by the server."""
        return self.count_tokens(chat_request_to_count_tokens(request)).input_tokens

    def messages(self, request: MessagesRequest) -> Message:
        """Send an Anthropic-style Messages request and return the whole reply."""
        return decode_message(self._send(self._messages_call(request, stream=False)), self.settings)

    def stream_messages(self, request: MessagesRequest) -> EventStream[MessageStreamEvent]:
        """Send a streamed Messages request; iterate the result for events."""
        response = self._send(self._messages_call(request, stream=True))
        return EventStream(response, MessageEventDecoder(self.settings), self.settings)

    def count_tokens(self, request: CountTokensRequest) -> CountTokensResponse:
        """Count the input tokens a Messages request would use, on the server."""
        call = _Call("POST", COUNT_TOKENS_PATH, _json_body(request.to_payload()))
        return decode_count_tokens(self._send(call), self.settings)

    def list_models(self) -> list[ModelInfo]:
        """The models the API serves (``GET /v1/models``)."""
        return decode_model_list(self._send(_Call("GET", MODELS_PATH, None)), self.settings).data

    def close(self) -> None:
        """Close the pooled connections this client opened (an injected client stays open)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> ModelsLabClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncModelsLabClient(_ClientCore):
    """An asynchronous client for the ModelsLab LLM API.

    The pooled ``httpx.AsyncClient`` it builds belongs to the event loop it was built
    in; used from another loop (a second ``asyncio.run``), it builds a fresh one instead
    of failing with "Event loop is closed".

    Args:
        settings: Connection settings; by default read from the environment.
        http_client: An ``httpx.AsyncClient`` to send through. It is not closed by
            :meth:`aclose`.
        retry_policy: How long to wait between retries.
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(settings, retry_policy)
        self._injected = http_client
        self._owned: httpx.AsyncClient | None = None
        self._owned_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The pooled httpx client for the running event loop, built on first use."""
        if self._injected is not None:
            return self._injected
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        stale = loop is not None and self._owned_loop is not None and self._owned_loop() is not loop
        if self._owned is None or stale:
            self._owned = new_async_client(**self._new_http_kwargs())
            self._owned_loop = weakref.ref(loop) if loop is not None else None
        return self._owned

    async def _send(self, call: _Call) -> httpx.Response:
        attempt = 0
        while True:
            http = self.http_client
            request = self._build(http, call)
            logger.debug("%s %s (attempt %d)", call.method, call.path, attempt + 1)
            try:
                response = await http.send(request, stream=call.stream, follow_redirects=False)
            except httpx.HTTPError as exc:
                error: ModelsLabError = transport_error(exc, self.settings)
                error.__cause__ = exc
            else:
                if response.is_success:
                    return response
                try:
                    await response.aread()
                except httpx.HTTPError:
                    pass
                finally:
                    await response.aclose()
                error = error_for_status(response, self.settings)
            await self.retry_policy.async_sleep(self._give_up_or_wait(attempt, error, call))
            attempt += 1

    async def chat_completions(self, request: ChatCompletionRequest) -> ChatCompletion:
        """Send a chat completion and return the whole reply (see the sync client)."""
        response = await self._send(self._chat_call(request, stream=False))
        return decode_chat_completion(response, self.settings)

    async def stream_chat_completions(
        self, request: ChatCompletionRequest
    ) -> AsyncEventStream[ChatCompletionChunk]:
        """Send a streamed chat completion; ``async for`` over the result for chunks."""
        response = await self._send(self._chat_call(request, stream=True))
        return AsyncEventStream(response, ChatChunkDecoder(self.settings), self.settings)

    async def chat(
        self, request: ChatCompletionRequest, *, api: ChatAPI = "chat_completions"
    ) -> ChatCompletion:
        """Send a chat over either protocol and return it as a chat completion."""
        if api == "messages":
            message = await self.messages(chat_request_to_messages(request))
            return message_to_completion(message)
        return await self.chat_completions(request)

    async def stream_chat(
        self, request: ChatCompletionRequest, *, api: ChatAPI = "chat_completions"
    ) -> AsyncEventStream[ChatCompletionChunk]:
        """Stream a chat over either protocol as chat-completion chunks."""
        if api == "messages":
            call = self._messages_call(chat_request_to_messages(request), stream=True)
            response = await self._send(call)
            return AsyncEventStream(response, MessagesAsChatDecoder(self.settings), self.settings)
        return await self.stream_chat_completions(request)

    async def count_chat_tokens(self, request: ChatCompletionRequest) -> int:
        """Exact input tokens of a chat request (tools included), counted by the server."""
        counted = await self.count_tokens(chat_request_to_count_tokens(request))
        return counted.input_tokens

    async def messages(self, request: MessagesRequest) -> Message:
        """Send an Anthropic-style Messages request and return the whole reply."""
        response = await self._send(self._messages_call(request, stream=False))
        return decode_message(response, self.settings)

    async def stream_messages(
        self, request: MessagesRequest
    ) -> AsyncEventStream[MessageStreamEvent]:
        """Send a streamed Messages request; ``async for`` over the result for events."""
        response = await self._send(self._messages_call(request, stream=True))
        return AsyncEventStream(response, MessageEventDecoder(self.settings), self.settings)

    async def count_tokens(self, request: CountTokensRequest) -> CountTokensResponse:
        """Count the input tokens a Messages request would use, on the server."""
        call = _Call("POST", COUNT_TOKENS_PATH, _json_body(request.to_payload()))
        return decode_count_tokens(await self._send(call), self.settings)

    async def list_models(self) -> list[ModelInfo]:
        """The models the API serves (``GET /v1/models``)."""
        response = await self._send(_Call("GET", MODELS_PATH, None))
        return decode_model_list(response, self.settings).data

    async def aclose(self) -> None:
        """Close the pooled connections this client opened (an injected client stays open).

        A pool built in another event loop (an earlier ``asyncio.run``) is only dropped:
        its connections belong to that loop and cannot be closed from this one.
        """
        owned, built_in = self._owned, self._owned_loop
        self._owned, self._owned_loop = None, None
        if owned is not None and (built_in is None or built_in() is asyncio.get_running_loop()):
            await owned.aclose()

    async def __aenter__(self) -> AsyncModelsLabClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
