"""The wire facts of ModelsLab's two chat protocols (modelslab-api.md §2, §3); no httpx2."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CHAT_ONLY_PARAMS",
    "MESSAGES_MAX_TEMPERATURE",
    "PROTOCOL_SPECS",
    "AuthStyle",
    "ChatAPI",
    "ProtocolSpec",
    "StructuredOutputMode",
    "check_messages_params",
    "check_protocol_params",
    "protocol_spec",
    "supports_response_format",
]

ChatAPI = Literal["chat_completions", "messages"]
"""Which protocol carries a chat: OpenAI-style ``/chat/completions`` or ``/v1/messages``."""

AuthStyle = Literal["bearer", "x-api-key"]
"""``Authorization: Bearer <key>``, or ``x-api-key: <key>`` with ``anthropic-version``."""

StructuredOutputMode = Literal["response_format", "tool_call"]
"""Structured output by ``response_format``, or by a forced tool call with the schema."""

CHAT_ONLY_PARAMS = (
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "response_format",
    "logprobs",
    "top_logprobs",
)
"""Chat-completions parameters the Messages protocol has no counterpart for."""

MESSAGES_MAX_TEMPERATURE = 1.0
"""The highest ``temperature`` the Messages protocol accepts (chat completions: 2)."""


@dataclass(frozen=True, kw_only=True)
class ProtocolSpec:
    """One protocol's wire facts; ``path`` is from the base URL, ``unsupported_params`` refused."""

    name: ChatAPI
    path: str
    auth: AuthStyle
    unsupported_params: tuple[str, ...] = ()
    max_temperature: float = 2.0
    multiple_choices: bool = True
    structured_output: StructuredOutputMode = "response_format"


PROTOCOL_SPECS: Mapping[ChatAPI, ProtocolSpec] = {
    "chat_completions": ProtocolSpec(
        name="chat_completions", path="/chat/completions", auth="bearer"
    ),
    "messages": ProtocolSpec(
        name="messages",
        path="/v1/messages",
        auth="x-api-key",
        unsupported_params=CHAT_ONLY_PARAMS,
        max_temperature=MESSAGES_MAX_TEMPERATURE,
        multiple_choices=False,
        structured_output="tool_call",
    ),
}
"""Every chat protocol's wire facts, by its ``api=`` name."""


def protocol_spec(api: str) -> ProtocolSpec:
    """The wire facts of ``api``; ValueError, naming the known ones, for an unknown name."""
    try:
        return PROTOCOL_SPECS[api]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"api must be one of {sorted(PROTOCOL_SPECS)}, got {api!r}") from None


def check_protocol_params(api: str, params: Mapping[str, Any]) -> None:
    """Refuse chat-completions parameters (``None`` is unset) protocol ``api`` cannot carry.

    Raises:
        ValueError: naming each parameter the protocol has no counterpart for, ``n > 1``
            where only one choice is possible, or a ``temperature`` above its maximum.
    """
    spec = protocol_spec(api)
    used = [name for name in spec.unsupported_params if params.get(name) is not None]
    n = params.get("n")
    if not spec.multiple_choices and isinstance(n, int) and n > 1:
        used.append("n > 1")
    if used:
        raise ValueError(
            f"{', '.join(used)} cannot be sent with api={api!r} (that protocol has no such "
            "parameter); use api='chat_completions' or leave it unset"
        )
    temperature = params.get("temperature")
    if isinstance(temperature, (int, float)) and temperature > spec.max_temperature:
        raise ValueError(
            f"temperature {temperature} is above {spec.max_temperature:g}, the maximum of "
            f"api={api!r}; use a value in [0, {spec.max_temperature:g}] or "
            "api='chat_completions' (0-2)"
        )


def check_messages_params(params: Mapping[str, Any]) -> None:
    """:func:`check_protocol_params` for the Messages protocol (the same errors)."""
    check_protocol_params("messages", params)


def supports_response_format(api: str) -> bool:
    """Whether ``api`` has ``response_format`` (JSON mode, json_schema)."""
    return protocol_spec(api).structured_output == "response_format"
