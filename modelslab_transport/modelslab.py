"""``ModelsLab``: the one object both framework integrations call through.

It owns, for ``ChatModelsLab`` and ``ModelsLabLLM`` alike, what an SDK owns: the
options (:class:`~modelslab_transport.config.options.ModelsLabOptions`), the sync and async
transport clients (built lazily), request building (instance defaults, per-call
arguments, the ``max_tokens`` default, ``stream_options``, the tool-choice mapping,
``extra_body``, the protocol's refusals), the four calls — chat, streamed chat,
token counting and the model list — each sync and async — and, for the chat calls, the
negotiation of fields a server refuses (:mod:`modelslab_transport.protocols.negotiation`). The
framework classes hold one and convert their messages to and from the wire types; nothing else.

Changing options (:meth:`ModelsLab.configure`) swaps in new clients for the calls that
start afterwards; calls already running finish on the clients they started with, which
are never closed under them.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any, TypeVar

from modelslab_transport.after_fork import reset_in_forked_child
from modelslab_transport.chat.token_estimate import estimate_tokens, warn_estimated
from modelslab_transport.chat.tool_calls import chat_tool_choice
from modelslab_transport.client import AsyncModelsLabClient, ModelsLabClient
from modelslab_transport.client_set import ClientSet
from modelslab_transport.config.options import (
    ModelsLabOptions,
    check_extra_body_names,
    check_request_param_names,
    check_sampling_params,
)
from modelslab_transport.config.peer_names import canonical_request_params
from modelslab_transport.config.urls import endpoint_url
from modelslab_transport.errors import APIStatusError, NotFoundError
from modelslab_transport.http.streams import AsyncEventStream, EventStream
from modelslab_transport.limits.retry import RetryPolicy
from modelslab_transport.limits.send_limits import check_count_limits
from modelslab_transport.protocols.encode_messages import count_tokens_request
from modelslab_transport.protocols.negotiation import (
    features_sent,
    log_refusal,
    negotiable,
    refused_features,
    without_refused,
)
from modelslab_transport.protocols.table import ChatProtocol, chat_protocol
from modelslab_transport.wire.catalog import ModelInfo
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    TextPart,
    Tool,
)
from modelslab_transport.wire.messages import CountTokensRequest
from modelslab_transport.wire.protocols import ChatAPI

__all__ = ["ModelsLab"]

_UNSET: Any = object()
_R = TypeVar("_R")


class ModelsLab:
    """A ModelsLab chat model's options, clients, request building and calls.

    Example:
        >>> from modelslab_transport import ModelsLab, ModelsLabOptions
        >>> from modelslab_transport.wire import ChatMessage
        >>> ml = ModelsLab(ModelsLabOptions(model="google-gemma-3-1b-it", temperature=0))
        >>> request = ml.build_request([ChatMessage(role="user", content="Hi")], stream=False)
        >>> request.max_tokens
        4096
        >>> ml.chat(request).choices[0].message.content  # doctest: +SKIP

    Args:
        options: The options; by default every default (the key from the environment).
        http_client: An ``httpx2.Client`` to send sync requests through (proxies, CA
            bundles, mTLS); never closed by :meth:`close`.
        async_http_client: An ``httpx2.AsyncClient`` to send async requests through.
        retry_policy: How long to wait between retries.

    Pickling or deep-copying it copies the options (and, for a deep copy, shares the
    injected HTTP clients); pooled connections are never copied: the copy builds its own.
    """

    def __init__(
        self,
        options: ModelsLabOptions | None = None,
        *,
        http_client: Any = None,
        async_http_client: Any = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._options = options if options is not None else ModelsLabOptions()
        self._protocol = chat_protocol(self._options.api)
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._retry_policy = retry_policy
        self._lock = threading.RLock()
        reset_in_forked_child(self)
        self._clients = ClientSet(self._options, http_client, async_http_client, retry_policy)
        self._retired: list[ClientSet] = []
        self._fingerprint: tuple[Any, ...] | None = None
        self._source: Callable[[], object] | None = None

    def after_fork(self) -> None:
        """A new lock in a forked child (the parent's may be held by one of its threads)."""
        self._lock = threading.RLock()

    @classmethod
    def following(
        cls,
        source: object,
        names: Sequence[str],
        make_options: Callable[[], ModelsLabOptions],
        *,
        http_client: Any = None,
        async_http_client: Any = None,
    ) -> ModelsLab:
        """A ``ModelsLab`` configured from the attributes ``names`` of ``source``.

        ``make_options`` turns them into options; :meth:`follow` later reconfigures the
        object when one of them has changed. This is how the framework classes, whose
        fields are mutable, keep their ``ModelsLab`` in step.
        """
        core = cls(make_options(), http_client=http_client, async_http_client=async_http_client)
        core._fingerprint = _stored(_fingerprint(source, names, http_client, async_http_client))
        try:
            core._source = weakref.ref(source)
        except TypeError:  # an object without weak references: held, as it holds us
            core._source = lambda: source
        return core

    def follows(self, source: object) -> bool:
        """True if this object was built by :meth:`following` for ``source`` itself.

        A copy of ``source`` (``model_copy()``, ``copy.copy``) shares its private
        attributes, and with them this object; it must build its own instead of
        reconfiguring the original's, which would send the original's calls with the
        copy's settings.
        """
        return self._source is not None and self._source() is source

    def follow(
        self,
        source: object,
        names: Sequence[str],
        make_options: Callable[[], ModelsLabOptions],
        *,
        http_client: Any = None,
        async_http_client: Any = None,
    ) -> ModelsLab:
        """Reconfigure from ``source`` if any attribute in ``names`` changed; return self.

        Compares values (dicts and lists by content, so an in-place edit counts); the
        options are rebuilt, and validated, only on a change.
        """
        fingerprint = _fingerprint(source, names, http_client, async_http_client)
        if fingerprint != self._fingerprint:
            with self._lock:
                if fingerprint != self._fingerprint:
                    self.configure(
                        make_options(), http_client=http_client, async_http_client=async_http_client
                    )
                    self._fingerprint = _stored(fingerprint)
        return self

    def __repr__(self) -> str:
        return (
            f"ModelsLab(model={self._options.model!r}, api={self._options.api!r}, "
            f"base_url={self._options.base_url!r})"
        )

    # ----------------------------------------------------------------- copying

    def __getstate__(self) -> dict[str, Any]:
        # Clients, locks and injected HTTP clients (sockets, locks) stay behind.
        return {"options": self._options, "retry_policy": self._retry_policy}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["options"], retry_policy=state["retry_policy"])  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any]) -> ModelsLab:
        return ModelsLab(
            self._options,
            http_client=self._http_client,
            async_http_client=self._async_http_client,
            retry_policy=self._retry_policy,
        )

    # ----------------------------------------------------------------- options

    @property
    def options(self) -> ModelsLabOptions:
        """The current options (frozen; change them with :meth:`configure`)."""
        return self._options

    @property
    def protocol(self) -> ChatProtocol:
        """The protocol table entry the options' ``api`` selects."""
        return self._protocol

    def configure(
        self,
        options: ModelsLabOptions,
        *,
        http_client: Any = _UNSET,
        async_http_client: Any = _UNSET,
    ) -> None:
        """Use ``options`` (and, when given, other injected HTTP clients) from now on.

        When the connection changes (key, URL, timeouts, retries, headers, injected
        clients) calls that start afterwards get new transport clients; calls already
        running keep theirs, which are not closed under them (:meth:`close` closes them
        later). A change to request defaults only keeps the clients.
        """
        with self._lock:
            if http_client is not _UNSET:
                self._http_client = http_client
            if async_http_client is not _UNSET:
                self._async_http_client = async_http_client
            self._protocol = chat_protocol(options.api)
            self._options = options
            connection = (options.connection(), id(self._http_client), id(self._async_http_client))
            if connection != self._clients.connection:
                if self._clients.sync is not None or self._clients.async_ is not None:
                    self._retired.append(self._clients)
                self._clients = ClientSet(
                    options, self._http_client, self._async_http_client, self._retry_policy
                )

    def max_tokens_for(self, model: str | None = None) -> int:
        """The ``max_tokens`` sent for ``model`` when the caller sets none.

        See :meth:`ModelsLabOptions.max_tokens_for`.
        """
        return self._options.max_tokens_for(model)

    # ----------------------------------------------------------------- clients

    @property
    def sync_client(self) -> ModelsLabClient:
        """The sync transport client for the current options, built on first use."""
        return self._clients.get_sync()

    @property
    def async_client(self) -> AsyncModelsLabClient:
        """The async transport client for the current options, built on first use."""
        return self._clients.get_async()

    def close(self) -> None:
        """Close the sync connection pools this object opened (injected clients stay open)."""
        with self._lock:
            everything = [*self._retired, self._clients]
            self._retired = []
        for clients in everything:
            if clients.sync is not None:
                clients.sync.close()

    async def aclose(self) -> None:
        """Close the async connection pools this object opened (injected clients stay open)."""
        with self._lock:
            everything = [*self._retired, self._clients]
            self._retired = []
        for clients in everything:
            if clients.async_ is not None:
                await clients.async_.aclose()

    # -------------------------------------------------------- request building

    def build_request(
        self,
        messages: Sequence[ChatMessage],
        *,
        stream: bool,
        stop: list[str] | str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> ChatCompletionRequest:
        """The wire request for one call: the options' defaults, then ``params``.

        ``params`` are per-call request parameters in chat-completions terms (a
        framework's call keyword arguments); other integrations' names for them
        (``max_completion_tokens``, ``stop_sequences``, ``model_name``:
        :mod:`modelslab_transport.config.peer_names`) are taken as ours, so that ``max_tokens``
        is sent once. ``stream`` among them is ignored (the call
        made decides), ``stream_usage`` overrides the option for this call,
        ``extra_body`` (a mapping, added to the options' own) is merged into the body, and
        ``tool_choice`` is mapped onto the wire (``"any"``/``True`` -> ``"required"``, a
        tool's name -> that tool). ``max_tokens`` defaults to
        :meth:`max_tokens_for` the request's model.

        Raises:
            UnsupportedSettingError: for another integration's setting among ``params``
                (``openai_api_base``...), or a name given with ours, naming ours.
            ValueError: for an empty ``messages``, ``messages`` or ``stream`` in
                ``extra_body``, a model setting (``timeout``, ``base_url``...) or a credential
                (``api_key``, ``token``...) among ``params``, a sampling parameter that
                is not a number or is out of its range (or NaN, infinite),
                ``n > 1`` on a stream, a parameter the protocol cannot carry (when
                sent), or an unknown tool choice.
            TypeError: when ``extra_body`` is not a mapping.
        """
        if not messages:
            raise ValueError(
                "there are no messages to send: a chat call needs at least one (the user's "
                "prompt, with any system prompt before it)"
            )
        options = self._options
        call = canonical_request_params(params or {}, "a call's arguments")
        call.pop("stream", None)
        check_request_param_names(call, "a call's arguments")
        stream_usage = call.pop("stream_usage", options.stream_usage)
        merged = options.request_params()
        if stop is not None:
            merged["stop"] = stop
        call_extra_body = _mapping(call.pop("extra_body", None))
        check_extra_body_names(call_extra_body, "extra_body")  # the options' own: when built
        extra_body = {**_mapping(merged.pop("extra_body", None)), **call_extra_body}
        merged.update(call)
        merged.update(extra_body)
        merged = {key: value for key, value in merged.items() if value is not None}
        if not merged.get("stop"):
            merged.pop("stop", None)
        if "max_tokens" not in merged:
            merged["max_tokens"] = options.max_tokens_for(merged["model"])
        check_sampling_params(merged)  # this call's own values, as the options were
        if "tool_choice" in merged:
            names = [_tool_name(tool) for tool in merged.get("tools") or []]
            merged["tool_choice"] = chat_tool_choice(merged["tool_choice"], names)
        if stream:
            if merged.get("n", 1) > 1:
                raise ValueError("n > 1 cannot be streamed; use invoke/generate")
            if stream_usage:
                merged.setdefault("stream_options", {"include_usage": True})
        return ChatCompletionRequest(messages=list(messages), **merged)

    def count_tokens_request(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[Tool] | None = None,
        *,
        model: str | None = None,
    ) -> CountTokensRequest | None:
        """The count_tokens request for ``messages`` and ``tools`` (None: nothing to count).

        With no messages and no tools there is nothing to count (the count is 0).
        A conversation of system messages only is counted as that text in a user turn
        (the endpoint needs one turn); tools alone are counted with one empty user turn.
        """
        if not messages and not tools:
            return None
        check_count_limits(messages, tools or ())
        turns = list(messages)
        if turns and all(message.role in ("system", "developer") for message in turns):
            text = "\n\n".join(
                message.content
                if isinstance(message.content, str)
                else "".join(p.text for p in message.content or [] if isinstance(p, TextPart))
                for message in turns
            )
            turns = [ChatMessage(role="user", content=text)]
        return count_tokens_request(model or self._options.model, turns, list(tools or []))

    # ------------------------------------------------------------------- calls

    def chat(self, request: ChatCompletionRequest) -> ChatCompletion:
        """Send ``request`` over the options' protocol and return the whole reply.

        A field the server refuses (see :mod:`modelslab_transport.protocols.negotiation`) is left
        out, or reworded, and the request sent once more; the refusal is remembered.
        """
        return self._negotiated(
            request, lambda client, sent, api: client.chat(sent, api=api), stream=False
        )

    async def achat(self, request: ChatCompletionRequest) -> ChatCompletion:
        """Async :meth:`chat`."""
        return await self._anegotiated(
            request, lambda client, sent, api: client.chat(sent, api=api), stream=False
        )

    def stream_chat(self, request: ChatCompletionRequest) -> EventStream[ChatCompletionChunk]:
        """Stream ``request`` as chat-completion chunks (use it as a context manager).

        Refused fields are negotiated as in :meth:`chat` (before any chunk is read).
        """
        return self._negotiated(
            request, lambda client, sent, api: client.stream_chat(sent, api=api), stream=True
        )

    async def astream_chat(
        self, request: ChatCompletionRequest
    ) -> AsyncEventStream[ChatCompletionChunk]:
        """Async :meth:`stream_chat`: await it, then ``async with`` / ``async for``."""
        return await self._anegotiated(
            request, lambda client, sent, api: client.stream_chat(sent, api=api), stream=True
        )

    def _negotiated(
        self,
        request: ChatCompletionRequest,
        send: Callable[[ModelsLabClient, ChatCompletionRequest, ChatAPI], _R],
        *,
        stream: bool,
    ) -> _R:
        """``send(client, request, api)``, sent again without each field the server refuses.

        The clients and protocol are those of the options when the call starts, for
        every attempt.
        """
        clients, api = self._clients, self._protocol.name
        request = without_refused(request, clients.refused)
        while True:
            try:
                return send(clients.get_sync(), request, api)
            except APIStatusError as error:
                retry = self._after_refusal(clients, request, error, stream=stream)
                if retry is None:
                    raise
                request = retry

    async def _anegotiated(
        self,
        request: ChatCompletionRequest,
        send: Callable[[AsyncModelsLabClient, ChatCompletionRequest, ChatAPI], Awaitable[_R]],
        *,
        stream: bool,
    ) -> _R:
        """Async :meth:`_negotiated`."""
        clients, api = self._clients, self._protocol.name
        request = without_refused(request, clients.refused)
        while True:
            try:
                return await send(clients.get_async(), request, api)
            except APIStatusError as error:
                retry = self._after_refusal(clients, request, error, stream=stream)
                if retry is None:
                    raise
                request = retry

    def _after_refusal(
        self,
        clients: ClientSet,
        request: ChatCompletionRequest,
        error: APIStatusError,
        *,
        stream: bool,
    ) -> ChatCompletionRequest | None:
        """The request to send again after ``error``, or None to raise ``error``.

        Only fields this request sent, not refused before (so at most one extra request
        per field per client), that the error names as refused and that the request can
        do without.
        """
        settings = clients.settings()
        sent = features_sent(self._protocol.build_body(request, settings, stream))
        refused = {
            feature
            for feature in refused_features(error, sent - clients.refused)
            if negotiable(request, feature)
        }
        if not refused:
            return None
        clients.refused.update(refused)
        log_refusal(refused, error, settings.base_url)
        return without_refused(request, clients.refused)

    def count_tokens(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[Tool] | None = None,
        *,
        model: str | None = None,
    ) -> int:
        """Input tokens of ``messages`` (and ``tools``), counted by the server.

        ``POST /v1/messages/count_tokens``; 0 for nothing to count, without a request.
        A server without that endpoint (it answers 404, 405 or 501 there, as vLLM,
        llama.cpp and Ollama do) gets an estimate instead
        (:func:`~modelslab_transport.chat.token_estimate.estimate_tokens`), with a
        :class:`~modelslab_transport.chat.token_estimate.TokenCountEstimateWarning` the first
        time; later counts on these clients are estimated without a request.

        Raises:
            ModelsLabError: when the server cannot count otherwise (unreachable, a bad
                key, a model it does not serve, 5xx after the retries).
        """
        request = self.count_tokens_request(messages, tools, model=model)
        if request is None:
            return 0
        clients = self._clients
        if clients.counts_tokens:
            try:
                return clients.get_sync().count_tokens(request).input_tokens
            except APIStatusError as error:
                _no_count_endpoint(clients, error)
        return estimate_tokens(messages, tools or ())

    async def acount_tokens(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[Tool] | None = None,
        *,
        model: str | None = None,
    ) -> int:
        """Async :meth:`count_tokens` (the same estimate where the server cannot count)."""
        request = self.count_tokens_request(messages, tools, model=model)
        if request is None:
            return 0
        clients = self._clients
        if clients.counts_tokens:
            try:
                counted = await clients.get_async().count_tokens(request)
            except APIStatusError as error:
                _no_count_endpoint(clients, error)
            else:
                return counted.input_tokens
        return estimate_tokens(messages, tools or ())

    def list_models(self) -> list[ModelInfo]:
        """The models the API serves (``GET /v1/models``)."""
        return self._clients.get_sync().list_models()

    async def alist_models(self) -> list[ModelInfo]:
        """Async :meth:`list_models`."""
        return await self._clients.get_async().list_models()


def _fingerprint(
    source: object, names: Sequence[str], http_client: Any, async_http_client: Any
) -> tuple[Any, ...]:
    values: tuple[Any, ...] = attrgetter(*names)(source) if len(names) > 1 else ()
    if len(names) == 1:
        values = (getattr(source, names[0]),)
    return (*values, id(http_client), id(async_http_client))


def _stored(fingerprint: tuple[Any, ...]) -> tuple[Any, ...]:
    """``fingerprint`` with dicts and lists copied, so that an in-place edit shows."""
    return tuple(
        value.copy() if isinstance(value, (dict, list)) else value for value in fingerprint
    )


def _no_count_endpoint(clients: ClientSet, error: APIStatusError) -> None:
    """Re-raise ``error`` unless it says the server has no count_tokens endpoint.

    That is a 404 for the endpoint itself (not for the model), a 405 or a 501. Then the
    clients remember it and :func:`~modelslab_transport.chat.token_estimate.warn_estimated`
    warns.
    """
    missing = error.status_code in (405, 501) or (
        isinstance(error, NotFoundError) and error.cause == "endpoint"
    )
    if not missing:
        raise error
    clients.counts_tokens = False
    base_url = clients.settings().base_url
    url = endpoint_url(base_url, "/v1/messages/count_tokens")
    warn_estimated(base_url, f"HTTP {error.status_code} for POST {url}")


def _mapping(extra_body: Any) -> Mapping[str, Any]:
    if extra_body is None:
        return {}
    if not isinstance(extra_body, Mapping):
        raise TypeError(
            f"extra_body must be a mapping of body fields, got {type(extra_body).__name__}"
        )
    return extra_body


def _tool_name(tool: Any) -> str:
    if isinstance(tool, Mapping):
        return str((tool.get("function") or {}).get("name") or tool.get("name") or "")
    function = getattr(tool, "function", None)
    return str(getattr(function, "name", "") or "")
