"""Connection settings shared by the sync and async ModelsLab clients."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx2
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from modelslab_transport.credentials import check_default_headers, check_header, clean_api_key
from modelslab_transport.defaults import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_SSE_EVENT_SIZE,
    DEFAULT_QUEUE_TIMEOUT,
    DEFAULT_STREAM_CHUNK_TIMEOUT,
    DEFAULT_STREAM_TIMEOUT,
    DEFAULT_TIMEOUT,
)
from modelslab_transport.options import (
    InsecureBaseURLWarning,
    api_key_from_env,
    base_url_from_env,
    check_base_url,
)
from modelslab_transport.redaction import redact_secret

__all__ = ["ClientSettings", "InsecureBaseURLWarning"]


class ClientSettings(BaseModel):
    """Everything a ModelsLab client needs to know to send a request.

    Nothing here touches the network, and no field is required: the API key is only
    needed when a request is sent to ModelsLab itself (a local OpenAI-compatible
    server given as ``base_url`` may need none).

    Attributes:
        api_key: The ModelsLab API key; defaults to ``$MODELSLAB_API_KEY``. Surrounding
            whitespace is removed; a line break, control or non-ASCII character inside
            it is refused (:mod:`modelslab_transport.credentials`).
        base_url: API root; defaults to ``$MODELSLAB_BASE_URL`` or the public API. A
            query string, fragment, user information or a pasted endpoint path is
            refused; a root ending in ``/v1`` is joined without doubling it
            (:mod:`modelslab_transport.urls`).
        timeout: Seconds a non-streamed call may take in all: from its first request to
            the last byte of its reply, every retry and every wait between attempts
            included (a retry whose wait would end past it is not made). A streamed call
            gets as long to begin. None: no limit. An ``httpx2.Timeout`` instead sets
            httpx2's per-phase limits as given (each read timed alone, no deadline).
            Time spent waiting for the account's concurrency limit is not counted
            (``queue_timeout`` bounds it).
        connect_timeout: Seconds to establish a connection (when ``timeout`` is a number).
        stream_chunk_timeout: Seconds a stream may go without a complete server-sent
            event (``: ping`` comments and partial events do not count) before it fails
            with :class:`~modelslab_transport.errors.APITimeoutError`; None waits forever.
        stream_timeout: Seconds a streamed call may take in all, from its first request
            to its last event, retries before it began included; None (the default): no
            limit. Exceeding it fails with
            :class:`~modelslab_transport.errors.APITimeoutError`.
        max_retries: Retries after the first attempt (0 means one attempt only). With
            ``timeout`` a number, the whole call including retries stays within it; with
            ``timeout=None`` the waits are at most ``max_retries`` times
            ``RetryPolicy.max_wait`` (60 s).
        max_response_size: The largest reply body read whole, in bytes once decompressed
            (default 64 MiB); a larger one fails with
            :class:`~modelslab_transport.errors.InvalidResponseError`. None: no limit.
        max_sse_event_size: The largest server-sent event a stream accepts, in bytes
            (default 16 MiB); a larger one fails with
            :class:`~modelslab_transport.errors.InvalidResponseError`. None: no limit.
        default_headers: Extra headers sent with every request (names RFC 9110 tokens,
            values printable ASCII; surrounding whitespace removed).
        legacy_auth: Also send ``key`` (the API key) and ``model_id`` in the JSON body of
            chat completions, as ModelsLab's older clients did.
        anthropic_version: The ``anthropic-version`` header sent to ``/v1/messages``.
        max_concurrency: Requests of this account (base URL + key) in flight at once,
            shared by every client in the process (see
            :mod:`modelslab_transport.concurrency`); None: 5 on ModelsLab's own host
            (its pay-as-you-go queue limit), no limit on other base URLs.
        queue_timeout: Seconds a call may spend, in all, waiting for a free slot and
            resending after queue-limit 429s before it fails; None waits forever.
    """

    # hide_input_in_errors: a ValidationError's text never shows the values given (the key).
    model_config = ConfigDict(
        frozen=True, arbitrary_types_allowed=True, extra="forbid", hide_input_in_errors=True
    )

    # validate_default: values read from the environment get the same checks as arguments.
    api_key: SecretStr | None = Field(default_factory=api_key_from_env, validate_default=True)
    base_url: str = Field(default_factory=base_url_from_env, validate_default=True)
    timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
    stream_chunk_timeout: float | None = DEFAULT_STREAM_CHUNK_TIMEOUT
    stream_timeout: float | None = DEFAULT_STREAM_TIMEOUT
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0)
    default_headers: dict[str, str] = Field(default_factory=dict)
    legacy_auth: bool = False
    anthropic_version: str = "2023-06-01"
    max_concurrency: int | None = Field(default=None, ge=1)
    queue_timeout: float | None = Field(default=DEFAULT_QUEUE_TIMEOUT, gt=0)
    max_response_size: int | None = Field(default=DEFAULT_MAX_RESPONSE_SIZE, ge=1)
    max_sse_event_size: int | None = Field(default=DEFAULT_MAX_SSE_EVENT_SIZE, ge=1)

    @field_validator("api_key", mode="before")
    @classmethod
    def _clean_api_key(cls, value: Any) -> Any:
        """Strip surrounding whitespace (blank means no key); refuse what no header carries.

        See :mod:`modelslab_transport.credentials`.
        """
        if isinstance(value, SecretStr):
            cleaned = clean_api_key(value.get_secret_value())
            return None if cleaned is None else SecretStr(cleaned)
        if isinstance(value, str):
            return clean_api_key(value)
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str, info: ValidationInfo) -> str:
        return check_base_url(value, has_key=info.data.get("api_key") is not None)

    @field_validator("default_headers")
    @classmethod
    def _check_default_headers(cls, value: dict[str, str]) -> dict[str, str]:
        """Names that are tokens, values of printable ASCII (surrounding whitespace removed)."""
        return check_default_headers(value)

    @field_validator("anthropic_version")
    @classmethod
    def _check_anthropic_version(cls, value: str) -> str:
        return check_header("anthropic-version", value, setting="anthropic_version")[1]

    @field_validator("timeout", "connect_timeout", "stream_chunk_timeout", "stream_timeout")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and value <= 0:
            raise ValueError(f"timeouts must be positive seconds or None, got {value!r}")
        return value

    @property
    def requires_api_key(self) -> bool:
        """True when the base URL is ModelsLab's own API, which rejects keyless calls."""
        host = urlsplit(self.base_url).hostname or ""
        return host == "modelslab.com" or host.endswith(".modelslab.com")

    def request_timeout(self) -> httpx2.Timeout:
        """httpx2's per-phase limits for a request whose reply is read whole.

        The client also enforces ``timeout`` as a deadline for the whole call
        (:mod:`modelslab_transport.deadlines`); these are each phase's upper bounds.
        """
        if isinstance(self.timeout, httpx2.Timeout):
            return self.timeout
        return httpx2.Timeout(self.timeout, connect=self.connect_timeout)

    def stream_request_timeout(self) -> httpx2.Timeout:
        """httpx2's per-phase limits for a streamed request: each read ``stream_chunk_timeout``.

        The stream also times the gaps between complete events and, with
        ``stream_timeout``, its whole life (:mod:`modelslab_transport.deadlines`).
        """
        base = self.request_timeout()
        return httpx2.Timeout(
            connect=base.connect, read=self.stream_chunk_timeout, write=base.write, pool=base.pool
        )

    def redact(self, text: str) -> str:
        """Return ``text`` with every occurrence of the API key replaced by ``***``.

        A placeholder key for a local server (shorter than 8 characters, such as
        ``"EMPTY"`` or ``"1"``) is not a secret and is left alone (see
        :mod:`modelslab_transport.redaction`).
        """
        if self.api_key is None:
            return text
        return redact_secret(text, self.api_key.get_secret_value())
