"""Setting names users bring from other integrations, and what each means here.

``ChatOpenAI``, ``ChatAnthropic``, ``AzureChatOpenAI`` (LangChain) and LlamaIndex's
``OpenAI`` / ``OpenAILike`` name some settings differently (``openai_api_base``,
``api_base``, ``max_completion_tokens``, ``stop_sequences``...). :data:`PEER_NAMES` is
the one table of them, read by both framework classes and by request building
(:func:`peer_name` adds any other integration's URL or proxy setting, ``*_api_base``,
``*_endpoint``, ``*_proxy``..., as refused):

* an **alias** means one of our settings or request parameters and is taken as it
  (``openai_api_base`` is ``base_url``; ``max_completion_tokens`` is ``max_tokens``, so
  ``max_tokens`` is not sent besides it; ``stop_sequences`` is ``stop``);
* a **refused** name has no counterpart here and fails with
  :class:`UnsupportedSettingError`, naming what to use instead;
* a **fixed** name states something that is always so here (``is_chat_model=True``):
  that value is accepted, any other refused.

None of these names is ever sent as a request body field, and none is dropped while the
call goes elsewhere. (``extra_body`` still sends any field as given, on purpose.)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "PEER_NAMES",
    "PeerName",
    "UnsupportedSettingError",
    "canonical_request_params",
    "peer_name",
    "peer_name_refusal",
    "resolve_peer_names",
]


class UnsupportedSettingError(ValueError):
    """A setting name from another integration that is refused here, or given twice.

    Attributes:
        name: The name given.
        use_instead: Our setting that does the job (``"base_url"``...), or None when
            there is none.
    """

    def __init__(self, message: str, *, name: str, use_instead: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.use_instead = use_instead


PeerKind = Literal["setting", "param", "refused", "fixed"]


@dataclass(frozen=True)
class PeerName:
    """One name of :data:`PEER_NAMES`.

    Attributes:
        name: The name as the other integration spells it.
        used_by: Who uses it, for messages (``"ChatOpenAI"``).
        kind: ``"setting"``: an alias of a setting of the model (taken by the
            constructors; refused among a call's arguments, where it would do
            nothing); ``"param"``: an alias of a request parameter (taken by the
            constructors, ``model_kwargs`` / ``additional_kwargs`` and a call's
            arguments); ``"refused"``: no counterpart; ``"fixed"``: only ``value``
            is accepted (it is always so here), and then changes nothing.
        field: Our name (setting or request parameter) it means, for the aliases.
        advice: What to do instead (refused and fixed names), or a unit to name
            after ``field=...`` (aliases).
        value: The one accepted value of a fixed name.
    """

    name: str
    used_by: str
    kind: PeerKind
    field: str | None = None
    advice: str = ""
    value: Any = None


_OPENAI = "ChatOpenAI"
_ANTHROPIC = "ChatAnthropic"
_LI_OPENAI = "LlamaIndex OpenAI"  # OpenAILike is one too
_OPENAI_LIKE = "LlamaIndex OpenAILike"
_PROXY_ADVICE = (
    "pass httpx2 clients that use the proxy: http_client=httpx2.Client(proxy=...) and the "
    "async one (ChatModelsLab: http_async_client=, ModelsLabLLM: async_http_client=), or "
    "set HTTPS_PROXY in the environment"
)
_LOCAL_TOKENS_ADVICE = (
    "token counts come from the server's /v1/messages/count_tokens (an estimate where the "
    "server has none), so no local tokenizer is used: leave it out"
)

PEER_NAMES: dict[str, PeerName] = {
    entry.name: entry
    for entry in (
        # Aliases of settings of the model.
        PeerName("openai_api_base", _OPENAI, "setting", "base_url"),
        PeerName("api_base", _LI_OPENAI, "setting", "base_url"),
        PeerName("anthropic_api_url", _ANTHROPIC, "setting", "base_url"),
        PeerName("openai_api_key", _OPENAI, "setting", "api_key"),
        PeerName("anthropic_api_key", _ANTHROPIC, "setting", "api_key"),
        PeerName("request_timeout", _OPENAI, "setting", "timeout", " (seconds)"),
        PeerName("default_request_timeout", _ANTHROPIC, "setting", "timeout", " (seconds)"),
        # Aliases of request parameters (also in a call's arguments).
        PeerName("model_name", _OPENAI, "param", "model"),
        PeerName("max_completion_tokens", _OPENAI, "param", "max_tokens"),
        PeerName("max_tokens_to_sample", _ANTHROPIC, "param", "max_tokens"),
        PeerName("stop_sequences", _ANTHROPIC, "param", "stop"),
        # No counterpart here.
        PeerName(
            "openai_organization",
            _OPENAI,
            "refused",
            advice="ModelsLab has no organizations (the API key names the account); a "
            "server that wants the header gets it from "
            "default_headers={'OpenAI-Organization': ...}",
        ),
        PeerName(
            "organization",
            _OPENAI,
            "refused",
            advice="ModelsLab has no organizations (the API key names the account); a "
            "server that wants the header gets it from "
            "default_headers={'OpenAI-Organization': ...}",
        ),
        PeerName("openai_proxy", _OPENAI, "refused", advice=_PROXY_ADVICE),
        PeerName("anthropic_proxy", _ANTHROPIC, "refused", advice=_PROXY_ADVICE),
        PeerName(
            "api_version",
            _LI_OPENAI,
            "refused",
            advice="the API version is part of base_url (https://modelslab.com/api/v7/llm); "
            "the Messages protocol's anthropic-version header is set with "
            "default_headers={'anthropic-version': ...}",
        ),
        PeerName(
            "openai_api_version",
            "AzureChatOpenAI",
            "refused",
            advice="the API version is part of base_url (https://modelslab.com/api/v7/llm)",
        ),
        PeerName(
            "reuse_client",
            _LI_OPENAI,
            "refused",
            advice="connections are always pooled (one pool per process) and reused; to "
            "bring your own, pass http_client=... / async_http_client=... (httpx2 clients)",
        ),
        PeerName("tiktoken_model_name", _OPENAI, "refused", advice=_LOCAL_TOKENS_ADVICE),
        PeerName("tokenizer", _OPENAI_LIKE, "refused", advice=_LOCAL_TOKENS_ADVICE),
        PeerName(
            "default_query",
            _OPENAI,
            "refused",
            advice="no query parameters are sent (base_url takes none); send a field in the "
            "body with extra_body={...} or a header with default_headers={...}",
        ),
        *(
            PeerName(
                name,
                "AzureChatOpenAI / LlamaIndex AzureOpenAI",
                "refused",
                advice="ModelsLab is not Azure OpenAI: name the model with model=..., the API "
                "root with base_url=... and the key with api_key=...",
            )
            for name in (
                "azure_endpoint",
                "azure_deployment",
                "deployment_name",
                "engine",
                "openai_api_type",
                "azure_ad_token",
                "azure_ad_token_provider",
                "use_azure_ad",
            )
        ),
        # Always so here.
        PeerName(
            "is_chat_model",
            _OPENAI_LIKE,
            "fixed",
            advice="ModelsLab models are chat models: complete() sends the prompt as one "
            "user message",
            value=True,
        ),
    )
}
"""The other integrations' names, by name: the one table both classes read."""


_ELSEWHERE = re.compile(
    r"(?:[a-z0-9]+_)*(?:api_base|api_url|base_url|endpoint|proxy|proxies)", re.IGNORECASE
)
"""Names of a place to send to (``groq_api_base``, ``mistral_api_url``, ``azure_endpoint``,
``http_proxy``...): a setting of some integration, never a request parameter here, and,
sent as a body field, the call would go to ``base_url`` all the same."""

_ELSEWHERE_ADVICE = (
    "requests go to base_url only: set base_url=... (the API root, such as "
    "http://localhost:8000/v1 for a local OpenAI-compatible server); a proxy goes in the "
    "httpx2 client (http_client=httpx2.Client(proxy=...)) or in HTTPS_PROXY"
)


def peer_name(name: str) -> PeerName | None:
    """The entry of :data:`PEER_NAMES` for ``name``, or None.

    A name not in the table that names a place to send to (``*_api_base``,
    ``*_api_url``, ``*_endpoint``, ``*_proxy``...) is a refused name too: given as a
    request parameter it would be sent as a body field while the call goes to
    ``base_url``.
    """
    entry = PEER_NAMES.get(name)
    if entry is None and name != "base_url" and _ELSEWHERE.fullmatch(name):
        entry = PeerName(name, "another integration", "refused", advice=_ELSEWHERE_ADVICE)
    return entry


def peer_name_refusal(name: str, where: str) -> str | None:
    """Why ``name`` may not be a request parameter given in ``where``, or None.

    For :func:`modelslab_transport.config.options.request_param_refusal`: an alias of a
    setting, a refused or a fixed name is refused among request parameters (a call's
    arguments, ``model_kwargs`` / ``additional_kwargs``), naming what to set instead.
    An alias of a request parameter is not (:func:`canonical_request_params` renames it).
    """
    entry = peer_name(name)
    if entry is None or entry.kind == "param":
        return None
    if entry.kind == "setting":
        return (
            f"{name!r} in {where} is {entry.used_by}'s name for {entry.field}, a setting of "
            f"the model, not a request parameter: set {entry.field}=...{entry.advice} on the "
            f"model (ChatModelsLab({entry.field}=...) / ModelsLabLLM({entry.field}=...))"
        )
    return (
        f"{name!r} in {where} is {entry.used_by}'s setting, not a request parameter: {entry.advice}"
    )


def canonical_request_params(params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``params`` with the other integrations' names of request parameters renamed.

    ``max_completion_tokens`` and ``max_tokens_to_sample`` become ``max_tokens``,
    ``stop_sequences`` becomes ``stop``, ``model_name`` becomes ``model``.

    Raises:
        UnsupportedSettingError: when a name and the name it means are both given.
    """
    renamed = dict(params)
    for name in params:
        entry = PEER_NAMES.get(name)
        if entry is None or entry.kind != "param" or entry.field is None:
            continue
        if entry.field in renamed:  # given under both names (or two names of one)
            raise _both_given(name, entry.field, where)
        renamed[entry.field] = renamed.pop(name)
    return renamed


def _both_given(alias: str, target: str, where: str) -> UnsupportedSettingError:
    entry = PEER_NAMES[alias]
    return UnsupportedSettingError(
        f"{alias}= and {target}= both given in {where} ({alias} is {entry.used_by}'s "
        f"name for {target}); pass {target}= only",
        name=alias,
        use_instead=target,
    )


def resolve_peer_names(
    values: Mapping[str, Any],
    *,
    owner: str,
    fields: Collection[str],
    params_field: str,
) -> dict[str, Any]:
    """A constructor's arguments with the other integrations' names resolved.

    An alias becomes the field it means; an alias of a request parameter the class has
    no field for (``stop`` on ``ModelsLabLLM``) goes into ``params_field``
    (``additional_kwargs``). A fixed name given its value is dropped.

    Args:
        values: The arguments, by name.
        owner: The class, for messages (``"ChatModelsLab"``).
        fields: The class's field names (a name that is one is left alone).
        params_field: The field holding request parameters sent with every call.

    Raises:
        UnsupportedSettingError: for a refused name, a fixed name given another value,
            or an alias given together with the name it means (naming both).
    """
    where = f"{owner}'s arguments"
    result = dict(values)
    for name, value in values.items():
        entry = peer_name(name)
        if entry is None or name in fields:
            continue
        del result[name]
        if entry.kind == "refused":
            raise UnsupportedSettingError(
                f"{name!r} ({entry.used_by}'s setting) is not a {owner} argument: {entry.advice}",
                name=name,
            )
        if entry.kind == "fixed":
            if value == entry.value:
                continue
            raise UnsupportedSettingError(
                f"{name}={value!r} ({entry.used_by}'s setting) cannot be so for {owner}: "
                f"{entry.advice}",
                name=name,
            )
        target = str(entry.field)
        if target in fields:
            if values.get(target) is not None:
                raise _both_given(name, target, where)
            result[target] = value
            continue
        params = dict(result.get(params_field) or {})
        if target in params:
            raise _both_given(name, target, f"{where} and {params_field}")
        params[target] = value
        result[params_field] = params
    return result
