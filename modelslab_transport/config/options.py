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
import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from modelslab_transport.config.connection import (
    CONNECTION_FIELDS,
    ConnectionOptions,
)
from modelslab_transport.config.defaults import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
)
from modelslab_transport.config.model_profiles import default_max_tokens
from modelslab_transport.config.peer_names import (
    UnsupportedSettingError,
    canonical_request_params,
    peer_name,
    peer_name_refusal,
)
from modelslab_transport.wire.protocols import ChatAPI, check_protocol_params

__all__ = [
    "ModelsLabOptions",
    "check_extra_body_names",
    "check_request_param_names",
    "check_sampling_params",
    "did_you_mean",
    "field_description",
    "is_credential_name",
    "request_param_refusal",
]


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
