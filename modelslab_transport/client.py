"""The sync and async ModelsLab clients: the four endpoints, auth, and retries.

Both clients send through pooled httpx2 clients built on first use (one per process
for the sync client, one per event loop for the async one; see
:mod:`modelslab_transport.http.clients`) or injected by the caller, for proxies, CA
bundles or mTLS; neither builds a client per request. Request building and reply
decoding are shared; the two classes differ only in how they send, wait and read.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from types import EllipsisType, TracebackType
from typing import Any, Literal, TypeVar

import anyio
import httpx2

from modelslab_transport._version import __version__
from modelslab_transport.config.defaults import API_KEY_ENV
from modelslab_transport.config.model_profiles import remember_catalog
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.config.urls import endpoint_url
from modelslab_transport.decoding.replies import (
    EventDecoder,
    MessageEventDecoder,
    decode_count_tokens,
    decode_message,
    decode_model_list,
    error_for_status,
)
from modelslab_transport.errors import AuthenticationError, ModelsLabError
from modelslab_transport.http.bodies import aread_body, read_body
from modelslab_transport.http.caller_clients import (
    check_http_client,
    refuse_pickling_injected,
    share_injected,
)
from modelslab_transport.http.clients import (
    DEFAULT_LIMITS,
    AsyncClientPerLoop,
    SyncClientPerProcess,
    new_async_client,
    new_sync_client,
)
from modelslab_transport.http.exceptions import transport_error
from modelslab_transport.http.leases import AsyncLease, SyncLease
from modelslab_transport.http.streams import AsyncEventStream, EventStream
from modelslab_transport.http.timed_transport import io_deadline
from modelslab_transport.limits.deadlines import (
    Deadline,
    note_retry_past_deadline,
    reply_deadline_error,
)
from modelslab_transport.limits.queue import account_limit, call_deadline
from modelslab_transport.limits.redis import use_redis_from_env
from modelslab_transport.limits.retry import RetryPolicy
from modelslab_transport.limits.send_limits import check_send_limits
from modelslab_transport.protocols.encode_messages import chat_request_to_count_tokens
from modelslab_transport.protocols.table import CHAT_PROTOCOLS, ChatProtocol
from modelslab_transport.wire.catalog import ModelInfo
from modelslab_transport.wire.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from modelslab_transport.wire.messages import (
    CountTokensRequest,
    CountTokensResponse,
    Message,
    MessagesRequest,
    MessageStreamEvent,
)
from modelslab_transport.wire.protocols import AuthStyle, ChatAPI
from modelslab_transport.wire.surrogates import lone_surrogate_error, well_formed_pairs

T = TypeVar("T")

__all__ = [
    "CHAT_COMPLETIONS_PATH",
    "COUNT_TOKENS_PATH",
    "MESSAGES_PATH",
    "MODELS_PATH",
    "AsyncModelsLabClient",
    "ModelsLabClient",
]

logger = logging.getLogger("modelslab_transport")

CHAT_COMPLETIONS_PATH = CHAT_PROTOCOLS["chat_completions"].path
"""OpenAI-compatible chat completions, relative to the base URL."""
MESSAGES_PATH = CHAT_PROTOCOLS["messages"].path
"""Anthropic-compatible messages, relative to the base URL."""
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
"""Exact input token counting, relative to the base URL."""
MODELS_PATH = "/v1/models"
"""The model catalog, relative to the base URL (not ``/models``)."""

_USER_AGENT = f"modelslab-llm/{__version__} httpx2/{httpx2.__version__}"


@dataclass(frozen=True)
class _Call:
    """One endpoint call, before auth headers are added."""

    method: Literal["GET", "POST"]
    path: str
    content: bytes | None
    """The JSON body, encoded once (a retry sends the same bytes)."""
    stream: bool = False
    auth: AuthStyle = "x-api-key"
    """Which header carries the key (the protocol table's, for a chat)."""


@dataclass(frozen=True)
class _Deadlines:
    """The deadlines of one call (see :mod:`modelslab_transport.limits.deadlines`)."""

    reply: Deadline
    """``timeout``: the whole call (a stream: until its reply's headers arrive)."""
    stream: Deadline
    """``stream_timeout`` for a stream (none for a call read whole)."""

    @classmethod
    def start(cls, settings: ClientSettings, call: _Call) -> _Deadlines:
        stream = Deadline.for_stream(settings) if call.stream else Deadline(None, "stream_timeout")
        return cls(Deadline.for_reply(settings), stream)

    def extend(self, seconds: float) -> None:
        """Time that does not count (waiting for the account's concurrency limit)."""
        self.reply.extend(seconds)
        self.stream.extend(seconds)


def _json_body(payload: dict[str, Any]) -> bytes:
    """``payload`` as compact UTF-8 JSON.

    A surrogate pair written as two code points is sent as its character.

    Raises:
        ValueError: naming where a lone surrogate is (text UTF-8 cannot carry).
    """
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        pass
    try:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return well_formed_pairs(text).encode()
    except UnicodeEncodeError:
        raise lone_surrogate_error(payload) from None


async def _shielded(step: Awaitable[None]) -> None:
    """Await ``step`` even while the calling task is being cancelled."""
    with anyio.CancelScope(shield=True):
        await step


class _ClientCore:
    """What both clients share: settings, retry policy, request building."""

    def __init__(self, settings: ClientSettings | None, retry_policy: RetryPolicy | None) -> None:
        self.settings = settings if settings is not None else ClientSettings()
        """The connection settings (read-only)."""
        self.retry_policy = retry_policy if retry_policy is not None else RetryPolicy()
        """How long to wait between retries."""
        self._urls: dict[str, httpx2.URL] = {}

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
        if call.auth == "x-api-key":  # the Anthropic-style endpoints, models included
            headers["anthropic-version"] = self.settings.anthropic_version
        key = self.settings.api_key
        if key is None:
            if self.settings.requires_api_key:
                raise AuthenticationError(
                    f"no ModelsLab API key: pass api_key=... or set {API_KEY_ENV}",
                    status_code=None,  # nothing was sent, so there is no HTTP status
                )
        elif call.auth == "bearer":
            headers["authorization"] = f"Bearer {key.get_secret_value()}"
        else:
            headers["x-api-key"] = key.get_secret_value()
        # Header names ignore case: the caller's replace ours whatever case they are in
        # (a plain update would send both "anthropic-version" and "Anthropic-Version").
        headers.update(
            (name.lower(), value) for name, value in self.settings.default_headers.items()
        )
        return headers

    def _build(
        self, http: httpx2.Client | httpx2.AsyncClient, call: _Call, deadlines: _Deadlines
    ) -> httpx2.Request:
        settings = self.settings
        base = settings.stream_request_timeout() if call.stream else settings.request_timeout()
        timeout = base
        if deadlines.reply.limited or deadlines.stream.limited:
            # No phase may outlast what is left of the call (a stream's reads: of the stream).
            def cap(value: float | None, *, read: bool = False) -> float | None:
                if not (read and call.stream):
                    value = deadlines.reply.cap(value)
                return deadlines.stream.cap(value)

            timeout = httpx2.Timeout(
                connect=cap(base.connect),
                read=cap(base.read, read=True),
                write=cap(base.write),
                pool=cap(base.pool),
            )
        return http.build_request(
            call.method,
            self._url(endpoint_url(self.settings.base_url, call.path)),
            content=call.content,
            headers=self._headers(call),
            timeout=timeout,
        )

    def _url(self, text: str) -> httpx2.URL:
        """``text`` parsed once: httpx2 takes a parsed URL as is, a string it parses per call."""
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) > 16:  # only a settings change brings new ones
                self._urls.clear()
            url = self._urls[text] = httpx2.URL(text)
        return url

    def _protocol_call(
        self, protocol: ChatProtocol, request: ChatCompletionRequest, *, stream: bool
    ) -> _Call:
        """The call that carries ``request`` over ``protocol`` (its path, body and auth).

        Raises:
            LocalRequestError: a part of ``request`` nests too deeply
                (:mod:`modelslab_transport.limits.send_limits`, the same rule on both protocols).
        """
        check_send_limits(request)
        body = protocol.build_body(request, self.settings, stream)
        return _Call("POST", protocol.path, _json_body(body), stream, protocol.auth)

    def _chat_call(self, request: ChatCompletionRequest, *, stream: bool) -> _Call:
        return self._protocol_call(CHAT_PROTOCOLS["chat_completions"], request, stream=stream)

    @staticmethod
    def _messages_call(request: MessagesRequest, *, stream: bool) -> _Call:
        body = request.model_copy(update={"stream": True if stream else None}).to_payload()
        return _Call("POST", MESSAGES_PATH, _json_body(body), stream)

    def _new_http_kwargs(self) -> dict[str, Any]:
        return {
            "timeout": self.settings.request_timeout(),
            "follow_redirects": False,
            "limits": self._limits,
        }

    # -- copies: the pooled clients stay with the original ------------------------------

    _injected: Any
    _limits: httpx2.Limits
    _max_sse_event_size: int | EllipsisType | None

    def _reset_http(self) -> None:
        """Forget the pooled clients (a copy, or an unpickled client, builds its own)."""
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        refuse_pickling_injected(self, {"http_client": self._injected})
        return {key: value for key, value in vars(self).items() if key != "_http"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._reset_http()

    def __copy__(self) -> _ClientCore:
        twin = type(self).__new__(type(self))
        vars(twin).update({k: v for k, v in vars(self).items() if k != "_http"})
        twin._reset_http()
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> _ClientCore:
        """A copy with its own pools; an injected client is shared, not copied."""
        twin = type(self).__new__(type(self))
        memo[id(self)] = twin
        share_injected(memo, {"http_client": self._injected})
        state = {k: v for k, v in vars(self).items() if k != "_http"}
        vars(twin).update(copy.deepcopy(state, memo))
        twin._reset_http()
        return twin

    @property
    def _event_size_cap(self) -> int | None:
        """The SSE event size cap: the constructor's, else ``settings.max_sse_event_size``."""
        if self._max_sse_event_size is ...:
            return self.settings.max_sse_event_size
        return self._max_sse_event_size

    def _failure(self, exc: httpx2.HTTPError, call: _Call, deadlines: _Deadlines) -> ModelsLabError:
        """The error for a failed attempt: a deadline's when one passed."""
        for deadline in (deadlines.stream, deadlines.reply):
            if deadline.expired():
                url = self.settings.redact(endpoint_url(self.settings.base_url, call.path))
                return reply_deadline_error(deadline, url, stream=call.stream)
        return transport_error(exc, self.settings)

    def _give_up_or_wait(
        self, attempt: int, error: ModelsLabError, call: _Call, deadlines: _Deadlines
    ) -> float:
        """Return how long to wait before the next attempt, or raise ``error``.

        A retry whose wait would end past the call's deadline (``timeout``, for a stream
        also ``stream_timeout``) is not made: ``error`` is raised, saying so.
        """
        delay = self.retry_policy.delay(attempt, error, self.settings.max_retries)
        if delay is None:
            raise error
        for deadline in (deadlines.reply, deadlines.stream):
            if not deadline.allows_wait(delay):
                note_retry_past_deadline(error, delay, deadline)
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
        http_client: An ``httpx2.Client`` to send through (for proxies, CA bundles, mTLS).
            It is not closed by :meth:`close`; its own timeouts are overridden per request.
        retry_policy: How long to wait between retries.
        limits: Connection limits of the pool this client builds (not of an injected
            one); default :data:`~modelslab_transport.http.clients.DEFAULT_LIMITS`.
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

    def _send(self, call: _Call, deadlines: _Deadlines | None = None) -> httpx2.Response:
        """Send ``call`` (retrying as the policy and the deadlines allow).

        A reply read whole comes back read (within ``timeout`` and ``max_response_size``);
        a stream's comes back with its body unread, holding its concurrency slot.
        """
        attempt = 0
        use_redis_from_env()
        limit, queue_deadline = account_limit(self.settings), call_deadline(self.settings)  # queue
        if deadlines is None:
            deadlines = _Deadlines.start(self.settings, call)
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
        deadlines = _Deadlines.start(self.settings, call)
        response = self._send(call, deadlines)
        decoder = protocol.stream_decoder(self.settings, request)
        return self._events(response, decoder, deadlines)

    def count_chat_tokens(self, request: ChatCompletionRequest) -> int:
        """Exact input tokens of a chat request (tools included), counted by the server."""
        return self.count_tokens(chat_request_to_count_tokens(request)).input_tokens

    def _events(
        self, response: httpx2.Response, decoder: EventDecoder[T], deadlines: _Deadlines
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
        deadlines = _Deadlines.start(self.settings, call)
        response = self._send(call, deadlines)
        decoder = MessageEventDecoder(self.settings)
        return self._events(response, decoder, deadlines)

    def count_tokens(self, request: CountTokensRequest) -> CountTokensResponse:
        """Count the input tokens a Messages request would use, on the server."""
        call = _Call("POST", COUNT_TOKENS_PATH, _json_body(request.to_payload()))
        return decode_count_tokens(self._send(call), self.settings)

    def list_models(self) -> list[ModelInfo]:
        """The models the API serves (``GET /v1/models``).

        Limits an entry reports (``context_length`` and the like) are kept for
        :func:`modelslab_transport.config.model_profiles.model_profile`, where they win over
        the table.
        """
        models = decode_model_list(self._send(_Call("GET", MODELS_PATH, None)), self.settings).data
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


class AsyncModelsLabClient(_ClientCore):
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

    async def _send(self, call: _Call, deadlines: _Deadlines | None = None) -> httpx2.Response:
        """Send ``call`` (see the sync client); a deadline interrupts any wait at once."""
        attempt = 0
        use_redis_from_env()
        limit, queue_deadline = account_limit(self.settings), call_deadline(self.settings)  # queue
        if deadlines is None:
            deadlines = _Deadlines.start(self.settings, call)
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
                await _shielded(lease.arelease())
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
                    await _shielded(lease.arelease())
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
        deadlines = _Deadlines.start(self.settings, call)
        response = await self._send(call, deadlines)
        decoder = protocol.stream_decoder(self.settings, request)
        return self._events(response, decoder, deadlines)

    async def count_chat_tokens(self, request: ChatCompletionRequest) -> int:
        """Exact input tokens of a chat request (tools included), counted by the server."""
        counted = await self.count_tokens(chat_request_to_count_tokens(request))
        return counted.input_tokens

    def _events(
        self, response: httpx2.Response, decoder: EventDecoder[T], deadlines: _Deadlines
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
        deadlines = _Deadlines.start(self.settings, call)
        response = await self._send(call, deadlines)
        decoder = MessageEventDecoder(self.settings)
        return self._events(response, decoder, deadlines)

    async def count_tokens(self, request: CountTokensRequest) -> CountTokensResponse:
        """Count the input tokens a Messages request would use, on the server."""
        call = _Call("POST", COUNT_TOKENS_PATH, _json_body(request.to_payload()))
        return decode_count_tokens(await self._send(call), self.settings)

    async def list_models(self) -> list[ModelInfo]:
        """The models the API serves (``GET /v1/models``)."""
        response = await self._send(_Call("GET", MODELS_PATH, None))
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
