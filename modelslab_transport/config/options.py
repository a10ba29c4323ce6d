"""The options of a ModelsLab chat model: one validated record for both frameworks.

:class:`ModelsLabOptions` holds what ``ChatModelsLab`` and ``ModelsLabLLM`` are
configured with: the connection (key, base URL, timeouts, retries, headers) and the
request defaults (model, protocol, sampling parameters, extra parameters). Every value
is checked here, once, with the same ranges for both frameworks; the environment
(``MODELSLAB_API_KEY``, ``MODELSLAB_BASE_URL``) is read here and nowhere else.

Timeouts, in seconds, mean the same in both classes: a number is a limit, ``None`` is
no limit at all (wait as long as the server takes). The defaults are
:data:`~modelslab_transport.config.defaults.DEFAULT_TIMEOUT` (300 s for a whole non-streamed
call, retries included), :data:`~modelslab_transport.config.defaults.DEFAULT_STREAM_CHUNK_TIMEOUT`
(120 s without a complete event in a stream) and
:data:`~modelslab_transport.config.defaults.DEFAULT_STREAM_TIMEOUT` (None: a stream may last as
long as it keeps sending events). Sizes are bytes; ``None`` is no limit.

The module imports neither httpx nor the wire types, so that validating a model's
configuration when it is built costs no transport import.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import sys
import warnings
from collections.abc import Collection, Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
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
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    DEFAULT_QUEUE_TIMEOUT,
    DEFAULT_STREAM_CHUNK_TIMEOUT,
    DEFAULT_STREAM_TIMEOUT,
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
    REDIS_URL_ENV,
)
from modelslab_transport.config.model_profiles import default_max_tokens
from modelslab_transport.config.peer_names import (
    UnsupportedSettingError,
    canonical_request_params,
    peer_name,
    peer_name_refusal,
)
from modelslab_transport.config.urls import check_base_url as check_api_root
from modelslab_transport.wire.protocols import ChatAPI, check_protocol_params

__all__ = [
    "CONNECTION_FIELDS",
    "FRAMEWORK_FIELDS",
    "ConnectionOptions",
    "InsecureBaseURLWarning",
    "ModelsLabOptions",
    "TimeoutSeconds",
    "api_key_from_env",
    "base_url_from_env",
    "caller_stacklevel",
    "check_base_url",
    "check_extra_body_names",
    "check_request_param_names",
    "check_sampling_params",
    "did_you_mean",
    "document_fields",
    "field_description",
    "is_credential_name",
    "redis_url_from_env",
    "request_param_refusal",
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


def did_you_mean(name: str, known: Collection[str]) -> str:
    """``" (did you mean 'model'?)"`` for the known name closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


# name -> (lowest, highest, whether the lowest is excluded); one table for both frameworks.
_RANGES: dict[str, tuple[float, float | None, bool]] = {
    "temperature": (0.0, 2.0, False),
    "top_p": (0.0, 1.0, False),
    "n": (1, None, False),
    "max_tokens": (1, None, False),
    "frequency_penalty": (-2.0, 2.0, False),
    "presence_penalty": (-2.0, 2.0, False),
    "top_logprobs": (0, 20, False),
}


def check_sampling_params(params: dict[str, Any]) -> None:
    """Check the request parameters both frameworks validate alike.

    ``temperature`` 0-2, ``top_p`` 0-1, ``n`` and ``max_tokens`` at least 1, penalties
    -2 to 2, ``top_logprobs`` 0-20 (the OpenAI ranges ModelsLab documents, and those
    the wire request declares); ``None`` is unset. NaN and infinity
    are refused too (NaN passes every comparison, so a range check alone lets it by).
    Used for the options when a model is built and again for each call's own values.

    Raises:
        ValueError: naming the parameter, its value and the allowed range (or that it
            must be a number: a string or a bool is not sent as one).
    """
    for name, (low, high, _) in _RANGES.items():
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            allowed = f"{low:g} to {high:g}" if high is not None else f"at least {low:g}"
            raise ValueError(f"{name} must be {allowed}, got {value!r}")


_CREDENTIAL_NAME = re.compile(r"(?:[a-z0-9]+[_-])*api[_-]?key|key|token|secret")
"""Parameter names that name a credential (``apikey``, ``key``, ``token``,
``modelslab_api_key``, ``openai_api_key``...), compared in lower case."""


def is_credential_name(name: str) -> bool:
    """Whether ``name`` names a credential (see the pattern above); any letter case."""
    return _CREDENTIAL_NAME.fullmatch(name.lower()) is not None


def request_param_refusal(name: str, where: str) -> str | None:
    """Why ``name`` cannot be sent as a request parameter, or None when it can.

    A framework passes a call's keyword arguments (and ``model_kwargs`` /
    ``additional_kwargs``; and ``ChatModelsLab``'s unknown constructor arguments, which
    become ``model_kwargs``) on as request parameters, into the JSON body. A setting such
    as ``timeout``, ``api`` or ``base_url`` there would be sent to the server and have no
    effect; a key would travel in the body. (``extra_body`` is the way to put any field in
    the body on purpose, and is never refused.) The framework classes also use this for
    an unknown constructor argument, so that nothing they suggest is then refused.

    Args:
        name: The parameter's name.
        where: Where it was given, for the message (``"a call's arguments"``,
            ``"ModelsLabLLM's arguments"``).

    Returns:
        The message (naming ``name``, what it is and where to set it instead, never a
        value), or None for a name that may be a request parameter.
    """
    if name == "extra_body":  # its fields go in the body on purpose
        return None
    set_by_the_call = _set_by_the_call(name, where)
    if set_by_the_call is not None:
        return set_by_the_call
    if is_credential_name(name):
        return (
            f"{name!r} in {where} names a credential, which would travel in the request body "
            "as a request parameter: pass the ModelsLab key as api_key=... on the model (or "
            "set MODELSLAB_API_KEY); legacy_auth=True also sends it in the body, as "
            "ModelsLab's older clients did"
        )
    peer = peer_name_refusal(name, where)
    if peer is not None:
        return peer
    if name in _SETTINGS_ELSEWHERE:
        return f"{name!r} in {where} is {_SETTINGS_ELSEWHERE[name]}"
    if name in CONNECTION_FIELDS:
        return (
            f"{name!r} in {where} is a setting of the model, not a request parameter: "
            f"set it on the model (ChatModelsLab({name}=...) / ModelsLabLLM({name}=...), "
            f"or model.{name} = ...) or on a copy of it for this call"
        )
    return None


_SET_BY_THE_CALL = {
    "messages": (
        "would replace the conversation the call sends: pass the messages to the call "
        "itself (invoke(...), chat(...)), not as a body field"
    ),
    "stream": (
        "is decided by the call made (stream()/astream(), stream_chat()/astream_chat(); "
        "ChatModelsLab(streaming=True) makes invoke stream), not by a body field"
    ),
}
"""Body fields every call sets itself: refused wherever a caller could give them, even in
``extra_body`` (which otherwise puts any field in the body)."""


def check_extra_body_names(extra_body: Mapping[str, Any], where: str) -> None:
    """Refuse the ``extra_body`` fields a call sets itself (``messages``, ``stream``).

    Any other field is sent as given: that is what ``extra_body`` is for.

    Raises:
        ValueError: naming the field, where it was given and what to do instead.
    """
    for name in extra_body:
        refusal = _set_by_the_call(name, where)
        if refusal is not None:
            raise ValueError(refusal)


def _set_by_the_call(name: str, where: str) -> str | None:
    """Why ``name`` cannot be given in ``where``, if every call sets that field itself."""
    if name not in _SET_BY_THE_CALL:
        return None
    return f"{name!r} in {where} {_SET_BY_THE_CALL[name]}"


def check_request_param_names(params: Mapping[str, Any], where: str) -> None:
    """Refuse request parameters that are model settings or credentials.

    See :func:`request_param_refusal` for what is refused and why.

    Args:
        params: The parameters, by name.
        where: Where they came from, for the message (``"a call's arguments"``).

    Raises:
        ValueError: naming the parameter and where to set it instead, never its value.
    """
    for name in params:
        refusal = request_param_refusal(name, where)
        if refusal is not None:
            peer = peer_name(name)
            if peer is not None:
                raise UnsupportedSettingError(refusal, name=name, use_instead=peer.field)
            raise ValueError(refusal)


_SET_ON_THE_MODEL = "a setting of the model, not a request parameter: set it on the model"

_SETTINGS_ELSEWHERE = {
    # Connection settings the framework classes have no field for.
    "connect_timeout": (
        "a connection setting, not a request parameter: the models take it inside "
        "timeout: timeout=httpx2.Timeout(300, connect=30) times each phase as httpx2 does "
        "(connect, read, write, pool; seconds) instead of one deadline for the whole "
        "call; ClientSettings has it as a field of its own"
    ),
    "anthropic_version": (
        "a connection setting, not a request parameter: the models send the "
        "anthropic-version header to /v1/messages; to send another version, set the "
        "header on the model: default_headers={'anthropic-version': '...'} (a transport "
        "client takes ClientSettings(anthropic_version=...))"
    ),
    # Settings of the framework classes that are not connection fields.
    "api": (
        "the protocol, a setting of the model, not a request parameter: set it on the "
        "model (ChatModelsLab(api='messages') / ModelsLabLLM(api='messages')); a model "
        "speaks one protocol, so use a second model for the other"
    ),
    "split_think_tags": (
        f"{_SET_ON_THE_MODEL} (ChatModelsLab(split_think_tags=...) / "
        "ModelsLabLLM(split_think_tags=...))"
    ),
    "streaming": (
        "ChatModelsLab's setting for invoke to stream under the hood, not a request "
        "parameter: set it on a ChatModelsLab, or stream with stream() / astream() "
        "(ModelsLabLLM: stream_chat() / astream_chat())"
    ),
    "model_kwargs": (
        "the model's field for request parameters sent with every call, not a request "
        "parameter itself: pass the parameters themselves, as keyword arguments of a call "
        "or in ChatModelsLab(model_kwargs={...}) / ModelsLabLLM(additional_kwargs={...})"
    ),
    "additional_kwargs": (
        "the model's field for request parameters sent with every call, not a request "
        "parameter itself: pass the parameters themselves, as keyword arguments of a call "
        "or in ChatModelsLab(model_kwargs={...}) / ModelsLabLLM(additional_kwargs={...})"
    ),
    **dict.fromkeys(
        ("http_client", "http_async_client", "async_http_client"),
        f"{_SET_ON_THE_MODEL}: ChatModelsLab(http_client=..., http_async_client=...) / "
        "ModelsLabLLM(http_client=..., async_http_client=...), httpx2 clients",
    ),
    "structured_output_method": (
        "ModelsLabLLM's setting for structured_predict, not a request parameter: set it on "
        "the ModelsLabLLM, or for one call pass it in structured_predict's llm_kwargs "
        "(ChatModelsLab: with_structured_output(schema, method=...))"
    ),
    "context_window": (
        "ModelsLabLLM's setting for its metadata (tokens), not a request parameter: set it "
        "on the ModelsLabLLM (ChatModelsLab: profile={'max_input_tokens': ...})"
    ),
    "is_function_calling_model": (
        "ModelsLabLLM's setting for its metadata, not a request parameter: set it on the "
        "ModelsLabLLM (ChatModelsLab: profile={'tool_calling': ...})"
    ),
}
"""Names that are not request parameters, beyond :data:`CONNECTION_FIELDS` (whose
message is generic): what each is and where it is set instead. The one place these
texts are written; :func:`request_param_refusal` puts them after ``'name' in <where> is``.
Request parameters (``model``, ``max_tokens``, ``temperature``, ``stop``, ``tools``,
``logprobs``...) and per-call options (``stream_usage``, ``extra_body``) are not here."""


FRAMEWORK_FIELDS = (
    "api_key",
    "base_url",
    "timeout",
    "stream_chunk_timeout",
    "stream_timeout",
    "max_retries",
    "max_concurrency",
    "queue_timeout",
    "max_response_size",
    "max_sse_event_size",
    "legacy_auth",
    "model",
    "api",
    "max_tokens",
    "temperature",
    "stream_usage",
)
"""The options both framework classes have as fields of the same name and meaning."""

_SHARED_FIELD_DESCRIPTIONS = {
    "split_think_tags": (
        "Move reasoning that a model writes inline as a leading <think>...</think> "
        "(DeepSeek-R1 distills, some Qwen3 deployments) out of the text into the "
        "reasoning (LangChain: additional_kwargs['reasoning_content']; LlamaIndex: a "
        "ThinkingBlock), in streams too; False keeps it as text."
    ),
    "http_client": (
        "An httpx2.Client to send sync requests through (proxies, CA bundles, mTLS); "
        "anything else raises TypeError. Never closed by the model."
    ),
    "async_http_client": (
        "An httpx2.AsyncClient to send async requests through (proxies, CA bundles, mTLS); "
        "anything else raises TypeError. Never closed by the model."
    ),
}
"""Fields both framework classes have that are not options (the client they send
through, what they do with a reply): documented here, once, like the options."""

_SAME_FIELD = {
    "model_kwargs": "extra_params",
    "additional_kwargs": "extra_params",
    "http_async_client": "async_http_client",
}
"""A framework field named otherwise than the option (or shared field) it is."""


def document_fields(cls: type[BaseModel]) -> None:
    """List ``cls``'s own fields, with their descriptions, at the end of its docstring.

    So ``help()`` and IDEs show what ``model_json_schema()`` does, from the same text,
    without building a deferred pydantic schema.
    """
    fields = cls.model_fields
    lines = [
        f"        {name}: {fields[name].description}"
        for name in cls.__annotations__
        if name in fields and fields[name].description
    ]
    if lines:
        cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n    Fields:\n" + "\n".join(lines) + "\n"


def field_description(name: str) -> str:
    """The one description of the framework field ``name``, for ``Field(description=...)``.

    ``ChatModelsLab`` and ``ModelsLabLLM`` take each description of a field they share
    from here: an option's (:class:`ModelsLabOptions`'s ``description``) or a shared
    field's (``split_think_tags``, the HTTP clients). ``model_kwargs`` and
    ``additional_kwargs`` are the option ``extra_params``.

    Raises:
        KeyError: for a name that is neither.
    """
    name = _SAME_FIELD.get(name, name)
    if name in _SHARED_FIELD_DESCRIPTIONS:
        return _SHARED_FIELD_DESCRIPTIONS[name]
    description = ModelsLabOptions.model_fields[name].description
    if description is None:  # every option has one (checked by the tests)
        raise KeyError(name)
    return description


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


class ModelsLabOptions(ConnectionOptions):
    """Everything a ModelsLab chat model is configured with, checked once.

    Frozen: change options by building new ones (``options.model_copy(update=...)`` is
    not validated; use ``ModelsLabOptions(**{**options.model_dump(), ...})`` or
    :meth:`modelslab_transport.modelslab.ModelsLab.configure`). The connection fields
    (key, base URL, timeouts, retries, headers, limits) are those of
    :class:`ConnectionOptions`; the request defaults follow. Each is documented by its
    ``description``.
    """

    # Request defaults.
    model: str = Field(
        default=DEFAULT_MODEL,
        description=(
            f"The model id ({DEFAULT_MODEL!r} by default); list_models() lists the ids "
            "the server serves."
        ),
    )
    api: ChatAPI = Field(
        default="chat_completions",
        description=(
            "The protocol: 'chat_completions' (OpenAI-style /chat/completions, the default) "
            "or 'messages' (Anthropic-style /v1/messages; same models, no seed, penalties, "
            "n > 1 or response_format, temperature at most 1)."
        ),
    )
    max_tokens: int | None = Field(
        default=None,
        description=(
            f"Most tokens to generate; None: {DEFAULT_MAX_TOKENS} capped by the model "
            "profile's output limit (always sent: ModelsLab's own default of 1000 silently "
            "truncates)."
        ),
    )
    temperature: float | None = Field(
        default=None,
        description=(
            "Sampling temperature, 0-2 (0-1 with api='messages'); None: the server's default."
        ),
    )
    top_p: float | None = Field(
        default=None, description="Nucleus sampling probability mass, 0-1; None: the server's."
    )
    n: int | None = Field(
        default=None,
        description="Choices to generate per request (not with streaming); None: one.",
    )
    seed: int | None = Field(
        default=None, description="Seed for best-effort deterministic sampling."
    )
    frequency_penalty: float | None = Field(
        default=None, description="Penalty for frequent tokens, -2 to 2."
    )
    presence_penalty: float | None = Field(
        default=None, description="Penalty for tokens already present, -2 to 2."
    )
    stop: list[str] | str | None = Field(
        default=None,
        description="Stop sequences (up to 4); a call's own stop replaces them.",
    )
    stream_usage: bool = Field(
        default=True,
        description=(
            "Ask streams for token usage (stream_options.include_usage), on both protocols."
        ),
    )
    extra_params: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Further request parameters sent with every call as given (top_k, "
            "repetition_penalty, ...); an 'extra_body' mapping among them is merged into "
            "the body. Other integrations' names (max_completion_tokens, stop_sequences) "
            "are taken as ours."
        ),
    )

    @classmethod
    def checked(cls, **values: Any) -> ModelsLabOptions:
        """Build options from ``values``, failing with one plain message.

        Raises:
            ValueError: naming each invalid option and what is allowed (instead of
                pydantic's ``ValidationError`` listing for this record).
        """
        from pydantic import ValidationError

        try:
            return cls(**values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                message = str(error["msg"]).removeprefix("Value error, ")
                where = ".".join(str(part) for part in error["loc"])
                problems.append(message if not where or where in message else f"{where}: {message}")
            raise ValueError("; ".join(problems)) from None

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        """A model id is one non-empty word: surrounding whitespace is removed."""
        model = value.strip()
        if not model or any(character.isspace() for character in model):
            raise ValueError(
                f"model must be a model id such as {DEFAULT_MODEL!r}, got {value!r}; "
                "list the ids with list_models()"
            )
        return model

    @field_validator("extra_params")
    @classmethod
    def _rename_peer_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Other integrations' names of request parameters taken as ours.

        ``max_completion_tokens`` is ``max_tokens`` and so on
        (:func:`~modelslab_transport.config.peer_names.canonical_request_params`).
        """
        return canonical_request_params(value, "model_kwargs / additional_kwargs")

    @model_validator(mode="after")
    def _check_request_defaults(self) -> ModelsLabOptions:
        check_request_param_names(self.extra_params, "model_kwargs / additional_kwargs")
        extra_body = self.extra_params.get("extra_body")
        if isinstance(extra_body, Mapping):
            check_extra_body_names(extra_body, "extra_body")
        params = self.request_params()
        check_sampling_params(params)
        check_protocol_params(self.api, params)
        return self

    def request_params(self) -> dict[str, Any]:
        """The request parameters set on these options (``None`` left out), extra ones last.

        ``max_tokens`` is the explicit value or the profile-capped default
        (:meth:`max_tokens_for`); ``model`` is always present.
        """
        params: dict[str, Any] = {"model": self.model}
        for name in (
            "temperature",
            "top_p",
            "n",
            "seed",
            "frequency_penalty",
            "presence_penalty",
        ):
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        if self.stop:
            params["stop"] = self.stop
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        params.update(self.extra_params)
        return params

    def max_tokens_for(self, model: str | None = None) -> int:
        """The ``max_tokens`` a request for ``model`` sends when the caller sets none.

        ``model`` defaults to :attr:`model`. :attr:`max_tokens` if set, else
        :data:`~modelslab_transport.config.defaults.DEFAULT_MAX_TOKENS` capped by the model
        profile's output limit. The one place this number is computed.
        """
        if self.max_tokens is not None:
            return self.max_tokens
        return default_max_tokens(model or self.model)

    def connection(self) -> tuple[Any, ...]:
        """The connection values, comparable: equal tuples share clients."""
        return tuple(
            tuple(sorted(value.items())) if isinstance(value, dict) else value
            for value in (getattr(self, name) for name in CONNECTION_FIELDS)
        )
