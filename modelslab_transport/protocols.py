"""What each chat protocol accepts, checked without building a request.

ModelsLab carries a chat over ``/chat/completions`` or ``/v1/messages``
(:data:`ChatAPI`). The Messages protocol has no ``seed``, ``frequency_penalty``,
``presence_penalty``, ``response_format``, ``logprobs``/``top_logprobs`` or ``n > 1`` and caps
``temperature`` at 1; the framework integrations check a configuration against it when
a model is built. The conversion itself is :mod:`modelslab_transport.protocol_bridge`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = [
    "CHAT_ONLY_PARAMS",
    "MESSAGES_MAX_TEMPERATURE",
    "ChatAPI",
    "check_messages_params",
    "supports_response_format",
]

ChatAPI = Literal["chat_completions", "messages"]
"""Which protocol carries a chat: OpenAI-style ``/chat/completions`` or ``/v1/messages``."""

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


def check_messages_params(params: Mapping[str, Any]) -> None:
    """Refuse request parameters the Messages protocol cannot carry.

    ``params`` are chat-completions request parameters (a constructor's fields, a
    call's keyword arguments); ``None`` values count as unset. The framework
    integrations call this when ``api="messages"`` is chosen, so a wrong combination
    fails when the model is built rather than on its first request.

    Raises:
        ValueError: naming ``seed``, ``frequency_penalty``, ``presence_penalty``,
            ``response_format``, ``logprobs``, ``top_logprobs`` or ``n > 1`` when given, or a
            ``temperature`` above 1.
    """
    used = [name for name in CHAT_ONLY_PARAMS if params.get(name) is not None]
    n = params.get("n")
    if isinstance(n, int) and n > 1:
        used.append("n > 1")
    if used:
        raise ValueError(
            f"{', '.join(used)} cannot be sent with api='messages' (the Messages protocol "
            "has no such parameter); use api='chat_completions' or leave it unset"
        )
    temperature = params.get("temperature")
    if isinstance(temperature, (int, float)) and temperature > MESSAGES_MAX_TEMPERATURE:
        raise ValueError(
            f"temperature {temperature} is above 1, the Messages protocol's maximum; "
            "use a value in [0, 1] or api='chat_completions' (0-2)"
        )


def supports_response_format(api: ChatAPI) -> bool:
    """Whether ``api`` has ``response_format`` (JSON mode, json_schema): only chat completions.

    On the Messages protocol the framework integrations ask for structured output by
    forcing a tool call whose input schema is the requested schema instead.
    """
    return api == "chat_completions"
