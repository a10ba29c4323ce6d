"""Request fields a server refuses: recognised once, dropped or reworded, remembered.

ModelsLab routes to many OpenAI- and Anthropic-compatible upstreams, and some of them
refuse optional request fields this package sends by default or on request: a stream's
``stream_options``, ``tool_choice: "required"`` (``{"type": "any"}`` on Messages), a
tool's ``strict`` flag, ``parallel_tool_calls`` (``disable_parallel_tool_use`` on
Messages). :class:`ModelsLab <modelslab_transport.modelslab.ModelsLab>` sends the
request; when the server refuses it with a 400/404/422 whose error names such a field
(see :data:`REFUSAL_WORDINGS`), it sends it once more without that field, or in the
equivalent form, and remembers the refusal for its transport clients (one base URL and
key): later calls leave the field out from the start. At most one extra request per
field per client; an error that names nothing we can drop is raised unchanged.

What each refusal becomes (:func:`without_refused`):

* ``stream_options``: left out; usage still arrives when the server sends it in the
  last chunk anyway (TGI, vLLM with forced usage do), otherwise the stream has none.
* ``tool_choice`` ``"required"``: with exactly one tool offered (structured output),
  the tool named instead, which forces the same call; with several tools there is no
  equivalent and the refusal is raised.
* ``named_tool_choice`` (``tool_choice`` naming a tool, as structured output sends it):
  with exactly one tool offered, ``"required"`` instead, which forces the same call.
* ``strict``: left out of every tool (the schema is still sent; adherence is then the
  model's, not the server's).
* ``parallel_tool_calls``: left out (the server's default applies; LlamaIndex keeps the
  first call when parallel calls were not allowed).
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
"""HTTP statuses a refusal arrives with: 400/422 (validation), 404 (OpenRouter's "no
endpoints found that support the provided 'tool_choice' value")."""

# The names each feature travels under in a body (Messages spells two of them otherwise).
_FIELD_NAMES: Mapping[RefusableFeature, str] = {
    "stream_options": "stream_options",
    "tool_choice": "tool_choice",
    "named_tool_choice": "tool_choice",
    "strict": "strict",
    "parallel_tool_calls": "(?:parallel_tool_calls|disable_parallel_tool_use)",
}

# How real servers word a refusal of a field; ``{field}`` stands for the field's name.
# Each wording must name the field *as the thing refused*: a validation error that
# echoes the whole request (vLLM puts the body in ``input``) names every field, so a
# bare mention is never enough.
_GENERIC_WORDINGS: tuple[str, ...] = (
    # pydantic ``extra_forbidden`` as FastAPI/vLLM servers print it, the field's location
    # right before the message: vLLM "tools.0.function.strict\n  Extra inputs are not
    # permitted [type=extra_forbidden ...]" (run-llama/llama_index#19121), Mistral's 422
    # {"loc":["body","stream_options"],"msg":"Extra inputs are not permitted"}
    # (nomtek/mistralai_client_dart#44), Azure "Validation error at #/stream_options: Extra
    # inputs are not permitted" (microsoft/semantic-kernel#10510), gpustack/gpustack#429.
    r"\b{field}[^{{}}\n]{{0,24}}?\s*Extra inputs are not permitted",
    # serde's ``deny_unknown_fields`` wording, as Rust routers (TGI's axum JSON
    # rejection, "Failed to deserialize the JSON body into the target type: ...",
    # huggingface/text-generation-inference#3155) put it: "unknown field `stream_options`".
    r"unknown field [`'\"]?{field}\b",
    # llama.cpp's server: "Unsupported param: tool_choice" (tools/server/utils.hpp,
    # unsupported_params); OpenAI-style gateways: "Unsupported parameter:
    # 'parallel_tool_calls' is not supported with this model." (evalstate/fast-agent#279,
    # microsoft/semantic-kernel#10365).
    r"Unsupported param(?:eter)?s?:?\s*[`'\"]?{field}\b",
    # OpenAI-shaped error objects name the refused field in ``param``
    # ({"param": "parallel_tool_calls", "code": "unsupported_parameter"}).
    r"[\"']param[\"']\s*:\s*[\"']{field}[\"']",
    # "'{field}' is not supported" / "{field} is not permitted" / "not allowed".
    r"\b{field}[`'\"]?\s+(?:is\s+)?not\s+(?:supported|permitted|allowed)",
)

_CHOICE_FORM_WORDINGS: tuple[str, ...] = (
    # OpenRouter (HTTP 404): "No endpoints found that support the provided 'tool_choice'
    # value." (zed-industries/zed#36094).
    r"support the provided [`'\"]?tool_choice",
    # pydantic's ``literal_error`` where a FastAPI server types the choice as a Literal:
    # "tool_choice.type: Input should be 'auto', 'tool' or 'none'" (the field's location
    # right before the message, as for extra_forbidden above).
    r"\btool_choice[^{{}}\n]{{0,24}}?\s*Input should be",
)
"""Wordings that refuse the form of ``tool_choice`` sent, whichever it was."""

_TOOL_CHOICE_WORDINGS: tuple[str, ...] = (
    # vLLM before 0.8.3 (its protocol.py check_tool_usage): 'tool_choice must either be
    # a named tool, "auto", or "none".' and, earlier, 'tool_choice must either be a named
    # tool or "auto". tool_choice="required" is not supported' (vllm-project/vllm#12834).
    # The field may be quoted: "`tool_choice` must either be a named tool, 'auto', or
    # 'none'".
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
"""What is recognised as a refusal of each feature: patterns over the error's message and
its JSON body. Sources of each wording are in the comments above."""


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
    """``request`` with every ``refused`` feature left out or in its equivalent form.

    Returns ``request`` itself when nothing changes.
    """
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
    """Log at DEBUG that the server at ``base_url`` refused ``features``.

    No secret is in the line: the error's text was redacted when it was built.
    """
    logger.debug(
        "the server at %s refused %s (HTTP %s: %.200s); sending the request again "
        "without it, and leaving it out of later requests to this server",
        base_url,
        ", ".join(sorted(features)),
        error.status_code,
        error.message,
    )
