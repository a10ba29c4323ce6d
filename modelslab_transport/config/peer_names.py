"""Setting names users bring from other integrations (ChatOpenAI, ChatAnthropic, LlamaIndex).

An alias is taken as the setting or parameter it means, a refused name raises
:class:`UnsupportedSettingError` naming what to use instead, and a fixed name accepts
only its one value. None is ever sent as a body field (``extra_body`` still is).
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
        use_instead: Our setting that does the job, or None.
    """

    def __init__(self, message: str, *, name: str, use_instead: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.use_instead = use_instead


PeerKind = Literal["setting", "param", "refused", "fixed"]


@dataclass(frozen=True)
class PeerName:
    """One name of :data:`PEER_NAMES`.

    ``kind``: ``"setting"`` aliases a model setting (refused among a call's arguments),
    ``"param"`` a request parameter, ``"refused"`` has no counterpart, ``"fixed"``
    accepts only ``value``. ``field``: our name an alias means; ``advice``: what to do
    instead, or a unit for an alias.
    """

    name: str
    used_by: str
    kind: PeerKind
    field: str | None = None
    advice: str = ""
    value: Any = None


_OPENAI = "ChatOpenAI"
_ANTHROPIC = "ChatAnthropic"
_LI_OPENAI = "LlamaIndex OpenAI"
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
    r"(?:[a-z0-9]+_)*(?:api_base|url|endpoint|host|proxy|proxies)", re.IGNORECASE
)
"""Another integration's destination setting (``groq_api_base``, ``http_proxy``,
HuggingFaceEndpoint's ``endpoint_url``, ``inference_server_url``, LlamaIndex
TextGenerationInference's ``model_url``, the Ollama client's ``host``...)."""

_ELSEWHERE_ADVICE = (
    "requests go to base_url only: set base_url=... (the API root, such as "
    "http://localhost:8000/v1 for a local OpenAI-compatible server); a proxy goes in the "
    "httpx2 client (http_client=httpx2.Client(proxy=...)) or in HTTPS_PROXY"
)


def peer_name(name: str) -> PeerName | None:
    """The entry of :data:`PEER_NAMES` for ``name`` (``*_api_base``...: refused), or None."""
    entry = PEER_NAMES.get(name)
    if entry is None and name != "base_url" and _ELSEWHERE.fullmatch(name):
        entry = PeerName(name, "another integration", "refused", advice=_ELSEWHERE_ADVICE)
    return entry


def peer_name_refusal(name: str, where: str) -> str | None:
    """Why ``name`` may not be a request parameter given in ``where``, or None."""
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

    Raises:
        UnsupportedSettingError: when a name and the name it means are both given.
    """
    renamed = dict(params)
    for name in params:
        entry = PEER_NAMES.get(name)
        if entry is None or entry.kind != "param" or entry.field is None:
            continue
        if entry.field in renamed:
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

    An alias becomes the field it means, or goes into ``params_field`` when ``owner`` has
    no such field; a fixed name given its value is dropped.

    Raises:
        UnsupportedSettingError: for a refused name, a fixed name given another value,
            or an alias given together with the name it means.
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
