"""Request fields a server refuses: recognised once, dropped or reworded, remembered.

When a 400/404/422 names a field of :data:`REFUSABLE_FEATURES` as refused,
:class:`~modelslab_transport.modelslab.ModelsLab` sends the request once more as
:func:`without_refused` makes it, and its clients leave the field out of later calls.
``stream_options``, ``strict`` and ``parallel_tool_calls`` are left out; ``"required"``
and a named ``tool_choice`` swap for each other when exactly one tool is offered (else
the refusal is raised). Other errors are raised unchanged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from modelslab_transport.errors import APIStatusError

if TYPE_CHECKING:
    from modelslab_transport.wire.chat import ChatCompletionRequest

__all__ = [
    "REFUSABLE_FEATURES",
    "REFUSAL_STATUSES",
    "REFUSAL_WORDINGS",
    "RefusableFeature",
    "features_sent",
    "log_refusal",
    "refused_features",
    "without_refused",
]

logger = logging.getLogger("modelslab_transport")

RefusableFeature = Literal[
    "stream_options", "tool_choice", "named_tool_choice", "strict", "parallel_tool_calls"
]
"""A request field some servers refuse and a request can do without (or reword)."""

REFUSABLE_FEATURES: tuple[RefusableFeature, ...] = (
    "stream_options",
    "tool_choice",
    "named_tool_choice",
    "strict",
    "parallel_tool_calls",
)
"""Every field negotiated, in the order they are checked."""

REFUSAL_STATUSES = frozenset({400, 404, 422})
"""HTTP statuses a refusal arrives with (404: OpenRouter, zed-industries/zed#36094)."""

_FIELD_NAMES: Mapping[RefusableFeature, str] = {
    "stream_options": "stream_options",
    "tool_choice": "tool_choice",
    "named_tool_choice": "tool_choice",
    "strict": "strict",
    "parallel_tool_calls": "(?:parallel_tool_calls|disable_parallel_tool_use)",
}

# Each wording names the field *as the thing refused* (vLLM echoes the whole body).
_GENERIC_WORDINGS: tuple[str, ...] = (
    # pydantic extra_forbidden: run-llama/llama_index#19121, nomtek/mistralai_client_dart#44,
    # microsoft/semantic-kernel#10510, gpustack/gpustack#429.
    r"\b{field}[^{{}}\n]{{0,24}}?\s*Extra inputs are not permitted",
    # serde deny_unknown_fields (TGI): huggingface/text-generation-inference#3155.
    r"unknown field [`'\"]?{field}\b",
    # llama.cpp tools/server/utils.hpp; evalstate/fast-agent#279, microsoft/semantic-kernel#10365.
    r"Unsupported param(?:eter)?s?:?\s*[`'\"]?{field}\b",
    r"[\"']param[\"']\s*:\s*[\"']{field}[\"']",
    r"\b{field}[`'\"]?\s+(?:is\s+)?not\s+(?:supported|permitted|allowed)",
)

_CHOICE_FORM_WORDINGS: tuple[str, ...] = (
    # OpenRouter: zed-industries/zed#36094.
    r"support the provided [`'\"]?tool_choice",
    # pydantic literal_error on a Literal-typed choice.
    r"\btool_choice[^{{}}\n]{{0,24}}?\s*Input should be",
)
"""Wordings that refuse the form of ``tool_choice`` sent, whichever it was."""

_TOOL_CHOICE_WORDINGS: tuple[str, ...] = (
    # vLLM < 0.8.3 protocol.py check_tool_usage: vllm-project/vllm#12834.
    r"tool_choice[`'\"]?\s+must (?:either )?be a named tool",
    r"tool_choice\s*=\s*[\"']?(?:required|any)[\"']?\s+is not supported",
    *_CHOICE_FORM_WORDINGS,
)
"""Wordings that refuse ``"required"`` (``{"type": "any"}`` on Messages)."""

_EXTRA_WORDINGS: Mapping[RefusableFeature, tuple[str, ...]] = {
    "tool_choice": _TOOL_CHOICE_WORDINGS,
    "named_tool_choice": _CHOICE_FORM_WORDINGS,
}

REFUSAL_WORDINGS: Mapping[RefusableFeature, tuple[re.Pattern[str], ...]] = {
    feature: tuple(
        re.compile(wording.format(field=_FIELD_NAMES[feature]), re.IGNORECASE)
        for wording in (_GENERIC_WORDINGS + _EXTRA_WORDINGS.get(feature, ()))
    )
    for feature in REFUSABLE_FEATURES
}
"""Patterns over an error's message and JSON body that refuse each feature."""


def _error_text(error: APIStatusError) -> str:
    body = error.body
    if body is None or isinstance(body, str):
        dumped = body or ""
    else:
        try:
            dumped = json.dumps(body, ensure_ascii=False)
        except (TypeError, ValueError):
            dumped = str(body)
    return f"{error.message}\n{dumped}"


def features_sent(body: Mapping[str, Any]) -> set[RefusableFeature]:
    """The negotiable features a JSON request body (either protocol) carries."""
    sent: set[RefusableFeature] = set()
    if body.get("stream_options") is not None:
        sent.add("stream_options")
    choice = body.get("tool_choice")
    if choice == "required" or (isinstance(choice, Mapping) and choice.get("type") == "any"):
        sent.add("tool_choice")
    if isinstance(choice, Mapping) and choice.get("type") in ("function", "tool"):
        sent.add("named_tool_choice")
    if body.get("parallel_tool_calls") is not None or (
        isinstance(choice, Mapping) and "disable_parallel_tool_use" in choice
    ):
        sent.add("parallel_tool_calls")
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping) and (
            "strict" in tool or "strict" in (tool.get("function") or {})
        ):
            sent.add("strict")
    return sent


def refused_features(error: Exception, sent: Iterable[RefusableFeature]) -> set[RefusableFeature]:
    """The features in ``sent`` that ``error`` says the server refuses (maybe none)."""
    if not isinstance(error, APIStatusError) or error.status_code not in REFUSAL_STATUSES:
        return set()
    text = _error_text(error)
    return {
        feature
        for feature in sent
        if any(pattern.search(text) for pattern in REFUSAL_WORDINGS[feature])
    }


def _single_tool_name(request: ChatCompletionRequest) -> str | None:
    tools = request.tools or []
    return tools[0].function.name if len(tools) == 1 else None


def negotiable(request: ChatCompletionRequest, feature: RefusableFeature) -> bool:
    """Whether ``request`` can do without ``feature`` (or has an equivalent form of it)."""
    name = _single_tool_name(request)
    if feature == "tool_choice":
        return request.tool_choice == "required" and name is not None
    if feature == "named_tool_choice":
        choice = request.tool_choice
        return (
            isinstance(choice, Mapping)
            and name is not None
            and (choice.get("function") or {}).get("name") == name
        )
    return True


def without_refused(
    request: ChatCompletionRequest, refused: Iterable[RefusableFeature]
) -> ChatCompletionRequest:
    """``request`` with every ``refused`` feature left out or reworded (itself if unchanged)."""
    update: dict[str, Any] = {}
    for feature in refused:
        if feature == "stream_options" and request.stream_options is not None:
            update["stream_options"] = None
        elif feature == "parallel_tool_calls" and request.parallel_tool_calls is not None:
            update["parallel_tool_calls"] = None
        elif feature == "tool_choice" and negotiable(request, "tool_choice"):
            name = _single_tool_name(request)
            update["tool_choice"] = {"type": "function", "function": {"name": name}}
        elif feature == "named_tool_choice" and negotiable(request, "named_tool_choice"):
            update["tool_choice"] = "required"
        elif feature == "strict" and any(
            tool.function.strict is not None for tool in request.tools or []
        ):
            update["tools"] = [
                tool.model_copy(
                    update={"function": tool.function.model_copy(update={"strict": None})}
                )
                for tool in request.tools or []
            ]
    return request.model_copy(update=update) if update else request


def log_refusal(features: Iterable[RefusableFeature], error: APIStatusError, base_url: str) -> None:
    """Log at DEBUG that the server at ``base_url`` refused ``features`` (text already redacted)."""
    logger.debug(
        "the server at %s refused %s (HTTP %s: %.200s); sending the request again "
        "without it, and leaving it out of later requests to this server",
        base_url,
        ", ".join(sorted(features)),
        error.status_code,
        error.message,
    )
