"""The sync and async ModelsLab clients: the four endpoints, auth, and retries.

Both clients send through pooled httpx2 clients built on first use (one per process
for the sync client, one per event loop for the async one; see
:mod:`modelslab_transport.http.clients`) or injected by the caller, for proxies, CA
bundles or mTLS; neither builds a client per request. Request building and reply
decoding are shared; the two classes differ only in how they send, wait and read.
"""

from __future__ import annotations

import time
from types import EllipsisType, TracebackType
from typing import TypeVar

import anyio
import httpx2

from modelslab_transport.client_core import (
    CHAT_COMPLETIONS_PATH,
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    MODELS_PATH,
    Call,
    ClientCore,
    Deadlines,
    json_body,
    logger,
    shielded,
)
from modelslab_transport.config.model_profiles import remember_catalog
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.events import (
    EventDecoder,
    MessageEventDecoder,
)
from modelslab_transport.decoding.replies import (
    decode_count_tokens,
    decode_message,
    decode_model_list,
    error_for_status,
)
from modelslab_transport.errors import ModelsLabError
from modelslab_transport.http.bodies import aread_body, read_body
from modelslab_transport.http.caller_clients import (
    check_http_client,
)
from modelslab_transport.http.clients import (
    AsyncClientPerLoop,
    SyncClientPerProcess,
    new_async_client,
    new_sync_client,
)
from modelslab_transport.http.leases import AsyncLease, SyncLease
from modelslab_transport.http.sharded_pool import DEFAULT_LIMITS
from modelslab_transport.http.streams import AsyncEventStream, EventStream
from modelslab_transport.http.timed_transport import io_deadline
from modelslab_transport.limits.queue import account_limit, call_deadline
from modelslab_transport.limits.redis import use_redis_from_env
from modelslab_transport.limits.retry import RetryPolicy
from modelslab_transport.protocols.encode_messages import chat_request_to_count_tokens
from modelslab_transport.protocols.table import CHAT_PROTOCOLS
from modelslab_transport.wire.catalog import ModelInfo
from modelslab_transport.wire.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from modelslab_transport.wire.messages import (
    CountTokensRequest,
    CountTokensResponse,
    Message,
    MessagesRequest,
    MessageStreamEvent,
)
from modelslab_transport.wire.protocols import ChatAPI

T = TypeVar("T")


__all__ = [
    "CHAT_COMPLETIONS_PATH",
    "COUNT_TOKENS_PATH",
    "MESSAGES_PATH",
    "MODELS_PATH",
    "AsyncModelsLabClient",
    "ModelsLabClient",
]


class ModelsLabClient(ClientCore):
    """A synchronous client for the ModelsLab LLM API.

    Example:
        >>> from modelslab_transport import ModelsLabClient, ClientSettings
        >>> client = ModelsLabClient(ClientSettings(api_key="..."))  # doctest: +SKIP
        >>> client.chat_completions(request).choices[0].message.text  # doctest: +SKIP

    Args:
        settings: Connection settings; by default read from the environment.
        http_client: An ``httpx2.Client`` to send through (for proxies, CA bundles, mTLS).
            It is not closed by :meth:`close`; its own timeouts are overridden per request.
        retry_policy: How long to wait between retries.
        limits: Connection limits of the pool this client builds (not of an injected
            one); default :data:`~modelslab_transport.http.sharded_pool.DEFAULT_LIMITS`.
        max_sse_event_size: The largest server-sent event a stream accepts, in bytes;
            a larger one fails with :class:`~modelslab_transport.errors.InvalidResponseError`.
            None accepts any size; by default ``settings.max_sse_event_size``.

    Raises:
        TypeError: ``http_client`` is not an ``httpx2.Client``.
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        http_client: httpx2.Client | None = None,
        retry_policy: RetryPolicy | None = None,
        limits: httpx2.Limits | None = None,
        max_sse_event_size: int | EllipsisType | None = ...,
    ) -> None:
        check_http_client(http_client, is_async=False, name="http_client")
        super().__init__(settings, retry_policy)
        self._injected = http_client
        self._limits = limits if limits is not None else DEFAULT_LIMITS
        self._max_sse_event_size = max_sse_event_size
        self._reset_http()

    def _reset_http(self) -> None:
        # Computed now, so that the build function holds no reference to this client: one
        # would make client and pool holder a cycle, freed only by the cyclic collector,
        # which finalises a dropped client's sockets one by one ("unclosed" warnings)
        # instead of closing its pool first.
        kwargs = self._new_http_kwargs()
        base_url = self.settings.base_url
        self._http = SyncClientPerProcess(lambda: new_sync_client(sends_to=base_url, **kwargs))

    @property
    def http_client(self) -> httpx2.Client:
        """The pooled httpx2 client (one per process), built on first use unless injected."""
        if self._injected is not None:
            return self._injected  # type: ignore[no-any-return]
        return self._http.get()

    def _lease(self) -> SyncLease:
        """The client for one attempt, not closed (:meth:`close`) before the attempt ends."""
        if self._injected is not None:
            return SyncLease(self._injected, None)
        return self._http.lease()

    def _send(self, call: Call, deadlines: Deadlines | None = None) -> httpx2.Response:
        """Send ``call`` (retrying as the policy and the deadlines allow).

        A reply read whole comes back read (within ``timeout`` and ``max_response_size``);
        a stream's comes back with its body unread, holding its concurrency slot.
        """
        attempt = 0
        use_redis_from_env()
        limit, queue_deadline = account_limit(self.settings), call_deadline(self.settings)  # queue
        if deadlines is None:
            deadlines = Deadlines.start(self.settings, call)
        while True:
            queued_at = time.monotonic()
            slot = limit.acquire(queue_deadline)  # queue limit: wait for a free slot
            deadlines.extend(time.monotonic() - queued_at)  # not counted against timeout
            lease: SyncLease | None = None  # the pool is not closed under this attempt
            try:
                lease = self._lease()
                request = self._build(lease.client, call, deadlines)
            except BaseException:  # refused while built (no key, a bad proxy): give it back
                slot.release()
                if lease is not None:
                    lease.release()
                raise
            logger.debug("%s %s (attempt %d)", call.method, call.path, attempt + 1)
            try:
                # Reads end at the deadline: the headers (and a reply read whole, its body)
                # even when a server trickles them (the transport of a client built here).
                with io_deadline(min(deadlines.reply.at, deadlines.stream.at)):
                    response = lease.client.send(request, stream=True, follow_redirects=False)
                    lease.hold_until_closed(response)  # released as the response closes
                    if response.is_success and not call.stream:
                        response = read_body(response, self.settings, deadlines.reply)
            except httpx2.HTTPError as exc:
                lease.release()
                error: ModelsLabError = self._failure(exc, call, deadlines)
                error.__cause__ = exc
            except BaseException:
                lease.release()
                slot.release()  # queue limit
                raise
            else:
                if response.is_success:
                    if call.stream:  # queue limit: a stream holds its slot until it ends
                        slot.attach_to(response)
                    else:
                        slot.release()
                    return response
                try:
                    with io_deadline(deadlines.reply.at):
                        response = read_body(response, self.settings, deadlines.reply)
                except httpx2.HTTPError:
                    pass
                except BaseException:
                    lease.release()
                    slot.release()
                    raise
                lease.release()
                error = error_for_status(response, self.settings)
            slot.release()  # queue limit: a queue-limit 429 waits, is not a retry
            queued = limit.wait_after(error, slot, queue_deadline)
            if queued is not None:
                self.retry_policy.sleep(queued)
                deadlines.extend(queued)
                continue
            self.retry_policy.sleep(self._give_up_or_wait(attempt, error, call, deadlines))
            attempt += 1

    def chat_completions(self, request: ChatCompletionRequest) -> ChatCompletion:
        """Send a chat completion and return the whole reply.

        Raises:
            ModelsLabError: a subclass naming what failed, including errors that the
                server reported inside an HTTP 200 body.
        """
        return self.chat(request, api="chat_completions")

    def stream_chat_completions(
        self, request: ChatCompletionRequest
    ) -> EventStream[ChatCompletionChunk]:
        """Send a streamed chat completion; iterate the result for chunks.

        Use it as a context manager (or call ``close()``) to release the connection
        if you stop early. Retries happen only before the first chunk is read.
        """
        return self.stream_chat(request, api="chat_completions")

    def chat(
        self, request: ChatCompletionRequest, *, api: ChatAPI = "chat_completions"
    ) -> ChatCompletion:
        """Send a chat over either protocol and return it as a chat completion.

        ``api`` picks the entry of :data:`~modelslab_transport.protocols.table.CHAT_PROTOCOLS`
        that builds the body and decodes the reply (``"messages"``: converted to
        ``/v1/messages`` and back, see :mod:`modelslab_transport.protocols.messages`).
        """
        protocol = CHAT_PROTOCOLS[api]
        response = self._send(self._protocol_call(protocol, request, stream=False))
        return protocol.decode_reply(response, self.settings)

    def stream_chat(
        self, request: ChatCompletionRequest, *, api: ChatAPI = "chat_completions"
    ) -> EventStream[ChatCompletionChunk]:
        """Stream a chat over either protocol as chat-completion chunks.

        On the Messages protocol usage arrives in a final usage-only chunk when the
        request asks for it (``stream_options.include_usage``), as on chat completions.
        """
        protocol = CHAT_PROTOCOLS[api]
        call = self._protocol_call(protocol, request, stream=True)
        deadlines = Deadlines.start(self.settings, call)
        response = self._send(call, deadlines)
        decoder = protocol.stream_decoder(self.settings, request)
        return self._events(response, decoder, deadlines)

    def count_chat_tokens(self, request: ChatCompletionRequest) -> int:
        """Exact input tokens of a chat request (tools included), counted by the server."""
        return self.count_tokens(chat_request_to_count_tokens(request)).input_tokens

    def _events(
        self, response: httpx2.Response, decoder: EventDecoder[T], deadlines: Deadlines
    ) -> EventStream[T]:
        """``response`` as a stream of ``decoder``'s items that keeps this client alive."""
        return EventStream(
            response,
            decoder,
            self.settings,
            self._event_size_cap,
            deadline=deadlines.stream,
            owner=self,
        )

    def messages(self, request: MessagesRequest) -> Message:
        """Send an Anthropic-style Messages request and return the whole reply."""
        return decode_message(self._send(self._messages_call(request, stream=False)), self.settings)

    def stream_messages(self, request: MessagesRequest) -> EventStream[MessageStreamEvent]:
        """Send a streamed Messages request; iterate the result for events."""
        call = self._messages_call(request, stream=True)
        deadlines = Deadlines.start(self.settings, call)
        response = self._send(call, deadlines)
        decoder = MessageEventDecoder(self.settings)
        return self._events(response, decoder, deadlines)

    def count_tokens(self, request: CountTokensRequest) -> CountTokensResponse:
        """Count the input tokens a Messages request would use, on the server."""
        call = Call("POST", COUNT_TOKENS_PATH, json_body(request.to_payload()))
        return decode_count_tokens(self._send(call), self.settings)

    def list_models(self) -> list[ModelInfo]:
        """The models the API serves (``GET /v1/models``).

        Limits an entry reports (``context_length`` and the like) are kept for
        :func:`modelslab_transport.config.model_profiles.model_profile`, where they win over
        the table.
        """
        models = decode_model_list(self._send(Call("GET", MODELS_PATH, None)), self.settings).data
        remember_catalog(models)
        return models

    def close(self) -> None:
        """Close the pooled connections this client opened (an injected client stays open)."""
        self._http.close()

    def __enter__(self) -> ModelsLabClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncModelsLabClient(ClientCore):
    """An asynchronous client for the ModelsLab LLM API.

    Each event loop gets its own pooled ``httpx2.AsyncClient`` (its connections belong
    to that loop), kept while the loop lives and closed as it shuts down: two loops used
    in turn each reuse their own connections, and a second ``asyncio.run`` neither
    fails with "Event loop is closed" nor leaves sockets open.

    Args:
        settings: Connection settings; by default read from the environment.
        http_client: An ``httpx2.AsyncClient`` to send through. It is not closed by
            :meth:`aclose`.
        retry_policy: How long to wait between retries.
        limits: Connection limits of each pool this client builds (see
            :class:`ModelsLabClient`).
        max_sse_event_size: The largest server-sent event a stream accepts, in bytes
            (see :class:`ModelsLabClient`).

    Raises:
        TypeError: ``http_client`` is not an ``httpx2.AsyncClient``.
    """

    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        http_client: httpx2.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        limits: httpx2.Limits | None = None,
        max_sse_event_size: int | EllipsisType | None = ...,
    ) -> None:
        check_http_client(http_client, is_async=True, name="http_client")
        super().__init__(settings, retry_policy)
        self._injected = http_client
        self._limits = limits if limits is not None else DEFAULT_LIMITS
        self._max_sse_event_size = max_sse_event_size
        self._reset_http()

    def _reset_http(self) -> None:
        kwargs = self._new_http_kwargs()  # no reference to this client: see the sync twin
        base_url = self.settings.base_url
        self._http = AsyncClientPerLoop(lambda: new_async_client(sends_to=base_url, **kwargs))

    @property
    def http_client(self) -> httpx2.AsyncClient:
        """The pooled httpx2 client of the running event loop, built on first use."""
        if self._injected is not None:
            return self._injected  # type: ignore[no-any-return]
        return self._http.get()

    def _lease(self) -> AsyncLease:
        """The client for one attempt, not closed (:meth:`aclose`) before the attempt ends."""
        if self._injected is not None:
            return AsyncLease(self._injected, None)
        return self._http.lease()

    async def _send(self, call: Call, deadlines: Deadlines | None = None) -> httpx2.Response:
        """Send ``call`` (see the sync client); a deadline interrupts any wait at once."""
        attempt = 0
        use_redis_from_env()
        limit, queue_deadline = account_limit(self.settings), call_deadline(self.settings)  # queue
        if deadlines is None:
            deadlines = Deadlines.start(self.settings, call)
        while True:
            queued_at = time.monotonic()
            slot = await limit.aacquire(queue_deadline)  # queue limit: wait for a free slot
            deadlines.extend(time.monotonic() - queued_at)  # not counted against timeout
            lease: AsyncLease | None = None  # the pool is not closed under this attempt
            try:
                lease = self._lease()
                request = self._build(lease.client, call, deadlines)
            except BaseException:  # refused while built (no key, a bad proxy): give it back
                slot.release()
                if lease is not None:
                    await lease.arelease()
                raise
            logger.debug("%s %s (attempt %d)", call.method, call.path, attempt + 1)
            try:
                with anyio.fail_after(deadlines.stream.cap(deadlines.reply.remaining())):
                    response = await lease.client.send(request, stream=True, follow_redirects=False)
                    lease.hold_until_closed(response)  # released as the response closes
                    if response.is_success and not call.stream:
                        response = await aread_body(response, self.settings, deadlines.reply)
            except httpx2.HTTPError as exc:
                await lease.arelease()
                error: ModelsLabError = self._failure(exc, call, deadlines)
                error.__cause__ = exc
            except TimeoutError as exc:  # the cancel scope of a deadline
                slot.release()
                await lease.arelease()
                raise self._failure(httpx2.TimeoutException("deadline"), call, deadlines) from exc
            except BaseException:
                slot.release()  # queue limit
                await shielded(lease.arelease())
                raise
            else:
                if response.is_success:
                    if call.stream:  # queue limit: a stream holds its slot until it ends
                        slot.attach_to(response)
                    else:
                        slot.release()
                    return response
                try:
                    with anyio.fail_after(deadlines.reply.remaining()):
                        response = await aread_body(response, self.settings, deadlines.reply)
                except httpx2.HTTPError:
                    pass
                except TimeoutError as exc:
                    slot.release()
                    await lease.arelease()
                    raise self._failure(
                        httpx2.TimeoutException("deadline"), call, deadlines
                    ) from exc
                except BaseException:
                    slot.release()
                    await shielded(lease.arelease())
                    raise
                await lease.arelease()
                error = error_for_status(response, self.settings)
            slot.release()  # queue limit: a queue-limit 429 waits, is not a retry
            queued = limit.wait_after(error, slot, queue_deadline)
            if queued is not None:
                await self.retry_policy.async_sleep(queued)
                deadlines.extend(queued)
                continue
            await self.retry_policy.async_sleep(
                self._give_up_or_wait(attempt, error, call, deadlines)
            )
            attempt += 1

    async def chat_completions(self, request: ChatCompletionRequest) -> ChatCompletion:
        """Send a chat completion and return the whole reply (see the sync client)."""
        return await self.chat(request, api="chat_completions")

    async def stream_chat_completions(
        self, request: ChatCompletionRequest
    ) -> AsyncEventStream[ChatCompletionChunk]:
        """Send a streamed chat completion; ``async for`` over the result for chunks."""
        return await self.stream_chat(request, api="chat_completions")

    async def chat(
        self, request: ChatCompletionRequest, *, api: ChatAPI = "chat_completions"
    ) -> ChatCompletion:
        """Send a chat over either protocol and return it as a chat completion."""
        protocol = CHAT_PROTOCOLS[api]
        response = await self._send(self._protocol_call(protocol, request, stream=False))
        return protocol.decode_reply(response, self.settings)

    async def stream_chat(
        self, request: ChatCompletionRequest, *, api: ChatAPI = "chat_completions"
    ) -> AsyncEventStream[ChatCompletionChunk]:
        """Stream a chat over either protocol as chat-completion chunks."""
        protocol = CHAT_PROTOCOLS[api]
        call = self._protocol_call(protocol, request, stream=True)
        deadlines = Deadlines.start(self.settings, call)
        response = await self._send(call, deadlines)
        decoder = protocol.stream_decoder(self.settings, request)
        return self._events(response, decoder, deadlines)

    async def count_chat_tokens(self, request: ChatCompletionRequest) -> int:
        """Exact input tokens of a chat request (tools included), counted by the server."""
        counted = await self.count_tokens(chat_request_to_count_tokens(request))
        return counted.input_tokens

    def _events(
        self, response: httpx2.Response, decoder: EventDecoder[T], deadlines: Deadlines
    ) -> AsyncEventStream[T]:
        """``response`` as a stream of ``decoder``'s items that keeps this client alive."""
        return AsyncEventStream(
            response,
            decoder,
            self.settings,
            self._event_size_cap,
            deadline=deadlines.stream,
            owner=self,
        )

    async def messages(self, request: MessagesRequest) -> Message:
        """Send an Anthropic-style Messages request and return the whole reply."""
        response = await self._send(self._messages_call(request, stream=False))
        return decode_message(response, self.settings)

    async def stream_messages(
        self, request: MessagesRequest
    ) -> AsyncEventStream[MessageStreamEvent]:
        """Send a streamed Messages request; ``async for`` over the result for events."""
        call = self._messages_call(request, stream=True)
        deadlines = Deadlines.start(self.settings, call)
        response = await self._send(call, deadlines)
        decoder = MessageEventDecoder(self.settings)
        return self._events(response, decoder, deadlines)

    async def count_tokens(self, request: CountTokensRequest) -> CountTokensResponse:
        """Count the input tokens a Messages request would use, on the server."""
        call = Call("POST", COUNT_TOKENS_PATH, json_body(request.to_payload()))
        return decode_count_tokens(await self._send(call), self.settings)

    async def list_models(self) -> list[ModelInfo]:
        """The models the API serves (``GET /v1/models``)."""
        response = await self._send(Call("GET", MODELS_PATH, None))
        models = decode_model_list(response, self.settings).data
        remember_catalog(models)
        return models

    async def aclose(self) -> None:
        """Close the running loop's pooled connections (an injected client stays open).

        Pools of other event loops close when their loop shuts down: their connections
        belong to that loop and cannot be closed from this one.
        """
        await self._http.aclose()

    async def __aenter__(self) -> AsyncModelsLabClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
