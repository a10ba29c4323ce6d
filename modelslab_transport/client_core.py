"""What the sync and async ModelsLab clients share: request building, headers, retry decisions."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from types import EllipsisType
from typing import Any, Literal, TypeVar

import anyio
import httpx2

from modelslab_transport._version import __version__
from modelslab_transport.config.defaults import API_KEY_ENV
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.config.urls import endpoint_url
from modelslab_transport.errors import AuthenticationError, ModelsLabError
from modelslab_transport.http.caller_clients import (
    refuse_pickling_injected,
    share_injected,
)
from modelslab_transport.http.exceptions import transport_error
from modelslab_transport.limits.deadlines import (
    Deadline,
    note_retry_past_deadline,
    reply_deadline_error,
)
from modelslab_transport.limits.retry import RetryPolicy
from modelslab_transport.limits.send_limits import check_send_limits
from modelslab_transport.protocols.table import CHAT_PROTOCOLS, ChatProtocol
from modelslab_transport.wire.chat import ChatCompletionRequest
from modelslab_transport.wire.messages import (
    MessagesRequest,
)
from modelslab_transport.wire.protocols import AuthStyle
from modelslab_transport.wire.surrogates import lone_surrogate_error, well_formed_pairs

T = TypeVar("T")

__all__ = [
    "CHAT_COMPLETIONS_PATH",
    "COUNT_TOKENS_PATH",
    "MESSAGES_PATH",
    "MODELS_PATH",
    "Call",
    "ClientCore",
    "Deadlines",
    "json_body",
    "logger",
    "shielded",
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
class Call:
    """One endpoint call, before auth headers are added."""

    method: Literal["GET", "POST"]
    path: str
    content: bytes | None
    """The JSON body, encoded once (a retry sends the same bytes)."""
    stream: bool = False
    auth: AuthStyle = "x-api-key"
    """Which header carries the key (the protocol table's, for a chat)."""


@dataclass(frozen=True)
class Deadlines:
    """The deadlines of one call (see :mod:`modelslab_transport.limits.deadlines`)."""

    reply: Deadline
    """``timeout``: the whole call (a stream: until its reply's headers arrive)."""
    stream: Deadline
    """``stream_timeout`` for a stream (none for a call read whole)."""

    @classmethod
    def start(cls, settings: ClientSettings, call: Call) -> Deadlines:
        """The deadlines of ``call``, starting now."""
        stream = Deadline.for_stream(settings) if call.stream else Deadline(None, "stream_timeout")
        return cls(Deadline.for_reply(settings), stream)

    def extend(self, seconds: float) -> None:
        """Time that does not count (waiting for the account's concurrency limit)."""
        self.reply.extend(seconds)
        self.stream.extend(seconds)


def json_body(payload: dict[str, Any]) -> bytes:
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


async def shielded(step: Awaitable[None]) -> None:
    """Await ``step`` even while the calling task is being cancelled."""
    with anyio.CancelScope(shield=True):
        await step


class ClientCore:
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

    def _headers(self, call: Call) -> dict[str, str]:
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
        self, http: httpx2.Client | httpx2.AsyncClient, call: Call, deadlines: Deadlines
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
    ) -> Call:
        """The call that carries ``request`` over ``protocol`` (its path, body and auth).

        Raises:
            LocalRequestError: a part of ``request`` nests too deeply
                (:mod:`modelslab_transport.limits.send_limits`, the same rule on both protocols).
        """
        check_send_limits(request)
        body = protocol.build_body(request, self.settings, stream)
        return Call("POST", protocol.path, json_body(body), stream, protocol.auth)

    def _chat_call(self, request: ChatCompletionRequest, *, stream: bool) -> Call:
        return self._protocol_call(CHAT_PROTOCOLS["chat_completions"], request, stream=stream)

    @staticmethod
    def _messages_call(request: MessagesRequest, *, stream: bool) -> Call:
        body = request.model_copy(update={"stream": True if stream else None}).to_payload()
        return Call("POST", MESSAGES_PATH, json_body(body), stream)

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

    def __copy__(self) -> ClientCore:
        twin = type(self).__new__(type(self))
        vars(twin).update({k: v for k, v in vars(self).items() if k != "_http"})
        twin._reset_http()
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientCore:
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

    def _failure(self, exc: httpx2.HTTPError, call: Call, deadlines: Deadlines) -> ModelsLabError:
        """The error for a failed attempt: a deadline's when one passed."""
        for deadline in (deadlines.stream, deadlines.reply):
            if deadline.expired():
                url = self.settings.redact(endpoint_url(self.settings.base_url, call.path))
                return reply_deadline_error(deadline, url, stream=call.stream)
        return transport_error(exc, self.settings)

    def _give_up_or_wait(
        self, attempt: int, error: ModelsLabError, call: Call, deadlines: Deadlines
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
