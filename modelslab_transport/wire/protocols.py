"""The two chat protocols ModelsLab speaks, as facts: paths, auth, what each can carry.

ModelsLab carries a chat over OpenAI-style ``/chat/completions`` or Anthropic-style
``/v1/messages`` (modelslab-api.md §2, §3). :data:`PROTOCOL_SPECS` says, per protocol, what
differs on the wire; the codecs that speak each one are in
:mod:`modelslab_transport.protocols.table`. Nothing here imports httpx2 or the wire types, so a
model's configuration is checked against these facts when it is built, at no import cost.
"""

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
"""How the key travels: ``Authorization: Bearer <key>``, or ``x-api-key: <key>`` plus an
``anthropic-version`` header (the Anthropic-style endpoints)."""

StructuredOutputMode = Literal["response_format", "tool_call"]
"""How JSON mode / json_schema structured output is asked for: a ``response_format``, or
(on a protocol without one) by forcing a tool call whose input schema is the schema."""

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
    """What one way of carrying a chat looks like on the wire.

    Attributes:
        name: The ``api=`` value that selects it.
        path: The endpoint, relative to the base URL.
        auth: Which header carries the key.
        unsupported_params: Request parameters it has no counterpart for (refused,
            never dropped).
        max_temperature: The highest ``temperature`` it accepts.
        multiple_choices: Whether ``n > 1`` is possible.
        structured_output: How JSON-mode / json_schema structured output is asked for.
    """

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
    """The wire facts of ``api``.

    Raises:
        ValueError: naming the known protocols, for an unknown name.
    """
    try:
        return PROTOCOL_SPECS[api]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"api must be one of {sorted(PROTOCOL_SPECS)}, got {api!r}") from None


def check_protocol_params(api: str, params: Mapping[str, Any]) -> None:
    """Refuse request parameters protocol ``api`` cannot carry.

    ``params`` are chat-completions request parameters (a constructor's fields, a
    call's keyword arguments); ``None`` values count as unset. Called when a model is
    built and for every request.

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
    """:func:`check_protocol_params` for the Messages protocol.

    Raises:
        ValueError: as :func:`check_protocol_params`.
    """
    check_protocol_params("messages", params)


def supports_response_format(api: str) -> bool:
    """Whether ``api`` has ``response_format`` (JSON mode, json_schema).

    On a protocol without one the framework integrations ask for structured output by
    forcing a tool call whose input schema is the requested schema instead.
    """
    return protocol_spec(api).structured_output == "response_format"
