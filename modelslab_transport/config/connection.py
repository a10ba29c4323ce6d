"""The connection options: key, base URL, timeouts, retries, headers, limits; checked once.

Timeouts are seconds (``None``: no limit); sizes are bytes. The environment
(``MODELSLAB_API_KEY``, ``MODELSLAB_BASE_URL``, ``MODELSLAB_REDIS_URL``) is read here.
"""

from __future__ import annotations

import ipaddress
import math
import os
import sys
import warnings
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)
from pydantic_core.core_schema import ValidationInfo

from modelslab_transport.config.credentials import (
    check_default_headers,
    check_header,
    clean_api_key,
)
from modelslab_transport.config.defaults import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_SSE_EVENT_SIZE,
    DEFAULT_QUEUE_TIMEOUT,
    DEFAULT_STREAM_CHUNK_TIMEOUT,
    DEFAULT_STREAM_TIMEOUT,
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
    REDIS_URL_ENV,
)
from modelslab_transport.config.urls import check_base_url as check_api_root

__all__ = [
    "CONNECTION_FIELDS",
    "ConnectionOptions",
    "InsecureBaseURLWarning",
    "TimeoutSeconds",
    "api_key_from_env",
    "base_url_from_env",
    "caller_stacklevel",
    "check_base_url",
    "redis_url_from_env",
]


class InsecureBaseURLWarning(UserWarning):
    """The base URL sends requests (and the key, when set) in clear text to another host."""


def api_key_from_env() -> SecretStr | None:
    """The key in ``$MODELSLAB_API_KEY`` (None when unset or blank)."""
    value = os.environ.get(API_KEY_ENV, "").strip()
    return SecretStr(value) if value else None


def redis_url_from_env() -> str | None:
    """``$MODELSLAB_REDIS_URL`` (a Redis server the queue limit is shared through), or None."""
    return os.environ.get(REDIS_URL_ENV, "").strip() or None


def base_url_from_env() -> str:
    """``$MODELSLAB_BASE_URL``, or the public API's base URL when it is unset or blank."""
    return os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL


# Frames of these packages are skipped when a warning names the caller's line.
_LIBRARY_ROOTS = frozenset(
    {
        "modelslab_transport",
        "langchain_modelslab",
        "llama_index_modelslab",
        "pydantic",
        "pydantic_core",
        "langchain_core",
        "langchain",
        "llama_index",
        "llama_index_instrumentation",
    }
)


def caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the caller's own line.

    That is the first frame outside the libraries (this project, pydantic, LangChain,
    LlamaIndex).
    Call it from the function that calls :func:`warnings.warn`.
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.partition(".")[0] not in _LIBRARY_ROOTS:
            break
        frame = frame.f_back
        level += 1
    return level


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(value: str, *, has_key: bool) -> str:
    """``value`` without trailing slashes, once checked to be an absolute http(s) URL.

    Plain ``http`` to a host that is not this machine gives an
    :class:`InsecureBaseURLWarning` pointing at the caller's line; it mentions the API
    key only when one is set (``has_key``).

    Raises:
        ValueError: for anything but an absolute http(s) API root (see
            :func:`modelslab_transport.config.urls.check_base_url`: no query string, fragment,
            user information or pasted endpoint path).
    """
    url = check_api_root(value)
    parts = urlsplit(url)
    if parts.scheme == "http" and not _is_loopback((parts.hostname or "").rstrip(".")):
        what = "the API key and every prompt" if has_key else "every prompt and answer"
        warnings.warn(
            f"base_url {url!r} uses plain http to a host that is not this machine: "
            f"{what} would travel unencrypted. Use https.",
            InsecureBaseURLWarning,
            stacklevel=caller_stacklevel(),
        )
    return url


def _refuse_non_number(value: Any) -> Any:
    """Refuse what pydantic would otherwise turn into seconds: a bool or a string."""
    if isinstance(value, bool):
        raise ValueError(f"timeouts must be seconds or None, got {value!r} (a flag, not seconds)")
    if isinstance(value, str):
        raise ValueError(
            f"timeouts must be seconds or None, got the string {value!r}; pass a number "
            "(float(...) of it if it comes from the environment or a config file)"
        )
    return value


TimeoutSeconds = Annotated[float | None, BeforeValidator(_refuse_non_number)]
"""A timeout in seconds: a positive number up to 365 days, or None for no limit.

Booleans and strings are refused with a message (``True`` is not one second, and a
string from a config file is better converted where it is read); the range is checked
by the options that hold it. Every float timeout of :class:`ConnectionOptions` and of
both framework classes has this type, and ``timeout`` refuses the same values.
"""


class ConnectionOptions(BaseModel):
    """The connection options: one record of each, with its default, range and check.

    :class:`ModelsLabOptions` (a chat model's options) and
    :class:`~modelslab_transport.config.settings.ClientSettings` (what a transport client is
    built from) both are these fields, so each exists once. Nothing here touches the
    network, and no field is required: the API key is only needed when a request is
    sent to ModelsLab itself (a local OpenAI-compatible server given as ``base_url``
    may need none). Values read from the environment get the same checks as arguments.

    Each field is documented once, by its ``description`` (``model_fields[name]``,
    ``model_json_schema()``), which both framework classes show for their field of the
    same meaning (:func:`field_description`).
    """

    # hide_input_in_errors: a ValidationError's text never shows the values given (the key).
    model_config = ConfigDict(
        frozen=True, arbitrary_types_allowed=True, extra="forbid", hide_input_in_errors=True
    )

    # api_key comes before base_url: the insecure-URL warning needs it.
    # validate_default: values read from the environment get the same checks as arguments.
    api_key: SecretStr | None = Field(
        default_factory=api_key_from_env,
        validate_default=True,
        description=(
            f"The ModelsLab API key; defaults to ${API_KEY_ENV}. Needed only to send to "
            "ModelsLab itself (a local server may take none). Surrounding whitespace is "
            "removed; a line break, control or non-ASCII character inside it is refused."
        ),
    )
    base_url: str = Field(
        default_factory=base_url_from_env,
        validate_default=True,
        description=(
            f"The API root; defaults to ${BASE_URL_ENV} or {DEFAULT_BASE_URL}. A local "
            "OpenAI-compatible server's root usually ends in /v1 "
            "(http://localhost:8000/v1). A query string, fragment, user information or a "
            "pasted endpoint path is refused; plain http to another host warns "
            "(InsecureBaseURLWarning)."
        ),
    )
    timeout: Any = Field(
        default=DEFAULT_TIMEOUT,
        description=(
            f"Seconds a non-streamed call may take in all ({DEFAULT_TIMEOUT:g} by default): "
            "from its first request to the last byte of its reply, retries and their waits "
            "included (a retry that would end past it is not made); a stream gets as long "
            "to begin. None means no limit. An httpx2.Timeout sets httpx2's per-phase "
            "limits instead (each read timed alone). Waiting for the account's queue limit "
            "is not counted (queue_timeout bounds it)."
        ),
    )
    connect_timeout: TimeoutSeconds = Field(
        default=DEFAULT_CONNECT_TIMEOUT,
        description=(
            f"Seconds to establish a connection ({DEFAULT_CONNECT_TIMEOUT:g} by default), "
            "when timeout is a number; None means no limit."
        ),
    )
    stream_chunk_timeout: TimeoutSeconds = Field(
        default=DEFAULT_STREAM_CHUNK_TIMEOUT,
        description=(
            "Seconds a stream may go without a complete server-sent event before it fails "
            f"with APITimeoutError ({DEFAULT_STREAM_CHUNK_TIMEOUT:g} by default; ': ping' "
            "comments and partial events do not count); None means no limit."
        ),
    )
    stream_timeout: TimeoutSeconds = Field(
        default=DEFAULT_STREAM_TIMEOUT,
        description=(
            "Seconds a streamed call may take in all, from its first request to its last "
            "event, retries before it began included; None (the default) means no limit."
        ),
    )
    max_retries: int = Field(
        default=DEFAULT_MAX_RETRIES,
        ge=0,
        description=(
            f"Retries after the first attempt on connect errors, 429 and 5xx "
            f"({DEFAULT_MAX_RETRIES} by default; 0: one attempt only); never after a "
            "stream began, never past timeout or stream_timeout."
        ),
    )
    default_headers: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Extra HTTP headers sent with every request (names RFC 9110 tokens, values "
            "printable ASCII; surrounding whitespace removed)."
        ),
    )
    legacy_auth: bool = Field(
        default=False,
        description=(
            "Also send the key (key) and model_id in the chat-completions body, as "
            "ModelsLab's older clients did; the Authorization header is sent either way."
        ),
    )
    anthropic_version: str = Field(
        default="2023-06-01",
        description="The anthropic-version header sent to /v1/messages.",
    )
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Requests of this account (base URL + key) in flight at once, shared by every "
            "client in the process; None: 5 on ModelsLab's own host (its pay-as-you-go "
            "queue limit), no limit elsewhere. Queue-limit 429s wait instead of failing."
        ),
    )
    queue_timeout: TimeoutSeconds = Field(
        default=DEFAULT_QUEUE_TIMEOUT,
        description=(
            "Seconds a call may spend, in all, waiting for a free slot of the account's "
            f"queue limit and waiting out queue-limit 429s ({DEFAULT_QUEUE_TIMEOUT:g} by "
            "default; not counted against timeout); past it the call fails with "
            "QueueTimeoutError (or the 429's RateLimitError). None means no limit."
        ),
    )
    max_response_size: int | None = Field(
        default=DEFAULT_MAX_RESPONSE_SIZE,
        ge=1,
        description=(
            "The largest reply body read whole, in bytes once decompressed (64 MiB by "
            "default); a larger one fails with InvalidResponseError. None means no limit."
        ),
    )
    max_sse_event_size: int | None = Field(
        default=DEFAULT_MAX_SSE_EVENT_SIZE,
        ge=1,
        description=(
            "The largest server-sent event a stream accepts, in bytes (16 MiB by default); "
            "a larger one fails with InvalidResponseError. None means no limit."
        ),
    )

    @field_validator("api_key", mode="before")
    @classmethod
    def _clean_api_key(cls, value: Any) -> Any:
        """Surrounding whitespace removed (blank: no key); what no header carries refused.

        See :mod:`modelslab_transport.config.credentials`; the error never shows the key.
        """
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return clean_api_key(value) if isinstance(value, str) else value

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

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, (bool, str)):
            return _refuse_non_number(value)
        if isinstance(value, (int, float)):
            return _positive_seconds(value)
        # An httpx2.Timeout (or an httpx one) can only have been built once its library is
        # imported: checking through sys.modules keeps this module free of the import.
        httpx2 = sys.modules.get("httpx2")
        if httpx2 is not None and isinstance(value, httpx2.Timeout):
            for phase in _PHASES:  # each: seconds or None
                seconds = getattr(value, phase)
                if seconds is not None:
                    _positive_seconds(seconds)
            return value
        got, hint = repr(value), ""
        httpx = sys.modules.get("httpx")
        if httpx is not None and isinstance(value, httpx.Timeout):
            same = ", ".join(f"{phase}={getattr(value, phase)!r}" for phase in _PHASES)
            got = f"httpx.{value!r}"
            hint = (
                " (this package sends through httpx2, not httpx: build an httpx2.Timeout with "
                f"the same values, httpx2.Timeout({same}))"
            )
        raise ValueError(
            f"timeout must be seconds, None (no limit) or an httpx2.Timeout, got {got}{hint}"
        )

    @field_validator("connect_timeout", "stream_chunk_timeout", "stream_timeout", "queue_timeout")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        return None if value is None else _positive_seconds(value)


_PHASES = ("connect", "read", "write", "pool")
"""The phases an ``httpx2.Timeout`` times, each in seconds or None."""


def _positive_seconds(value: float) -> float:
    """``value`` as float seconds, if it is positive, finite and at most ``MAX_TIMEOUT``.

    NaN, infinity and values over 365 days are refused: an HTTP library can wait for
    none of them, and ``None`` already means no limit.
    """
    if not math.isfinite(value):
        raise ValueError(
            f"timeouts must be positive, finite seconds or None, got {value!r}; "
            "use None for no limit"
        )
    if value <= 0:
        raise ValueError(f"timeouts must be positive seconds or None, got {value!r}")
    if value > MAX_TIMEOUT:
        raise ValueError(
            f"timeouts must be at most {MAX_TIMEOUT:,.0f} s (365 days), got {value!r}; "
            "use None for no limit"
        )
    return float(value)


CONNECTION_FIELDS: tuple[str, ...] = tuple(ConnectionOptions.model_fields)
"""The options the transport clients are built from; a change to one swaps the clients."""
