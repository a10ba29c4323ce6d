"""An estimate of input tokens, for a server without ``/v1/messages/count_tokens``.

ModelsLab counts tokens exactly (``POST /v1/messages/count_tokens``); OpenAI-compatible
servers (vLLM, llama.cpp, Ollama) often have no such endpoint. There, both frameworks
answer with :func:`estimate_tokens` of the same wire messages, so the same conversation
gets the same number from ``ChatModelsLab.get_num_tokens_from_messages`` and
``ModelsLabLLM.count_tokens``, and :class:`TokenCountEstimateWarning` says so, once per
model (per set of transport clients).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelslab_transport.config.connection import caller_stacklevel

if TYPE_CHECKING:
    from modelslab_transport.wire.chat import ChatMessage, Tool

__all__ = [
    "CHARACTERS_PER_TOKEN",
    "IMAGE_TOKENS",
    "TOKENS_PER_MESSAGE",
    "TokenCountEstimateWarning",
    "estimate_tokens",
    "warn_estimated",
]

CHARACTERS_PER_TOKEN = 4.0
"""Characters of English text per token, roughly, for the tokenizers of chat models."""
TOKENS_PER_MESSAGE = 3
"""Tokens each message adds beyond its text (role and separators of a chat template)."""
IMAGE_TOKENS = 85
"""Tokens an image part is counted as (OpenAI's cost of a low-detail image)."""


class TokenCountEstimateWarning(UserWarning):
    """Token counts are estimated: the server has no ``/v1/messages/count_tokens``."""


def estimate_tokens(messages: Sequence[ChatMessage], tools: Sequence[Tool] = ()) -> int:
    """About how many input tokens ``messages`` and ``tools`` are.

    Each message is :data:`TOKENS_PER_MESSAGE` plus its characters (role, text, tool-call
    names and arguments, tool-call id) over :data:`CHARACTERS_PER_TOKEN`, rounded up;
    an image part is :data:`IMAGE_TOKENS`. Each tool is its JSON definition's characters
    over :data:`CHARACTERS_PER_TOKEN`. Nothing at all is 0.
    """
    total = 0
    for message in messages:
        characters = len(message.role) + len(message.reasoning_content or "")
        content = message.content
        if isinstance(content, str):
            characters += len(content)
        elif content is not None:
            for part in content:
                if part.type == "text":
                    characters += len(part.text)
                else:
                    total += IMAGE_TOKENS
        for call in message.tool_calls or ():
            characters += len(call.function.name) + len(call.function.arguments)
        characters += len(message.tool_call_id or "") + len(message.name or "")
        total += TOKENS_PER_MESSAGE + math.ceil(characters / CHARACTERS_PER_TOKEN)
    for tool in tools:
        total += math.ceil(len(tool.model_dump_json(exclude_none=True)) / CHARACTERS_PER_TOKEN)
    return total


def warn_estimated(base_url: str, reason: str) -> None:
    """Warn that token counts from the server at ``base_url`` are estimated.

    Called once per set of clients, when the server first answers that it has no
    count_tokens endpoint (the clients then estimate without asking again).

    Args:
        base_url: The server's base URL.
        reason: Why (the error the count_tokens request got).
    """
    warnings.warn(
        f"the server at {base_url} has no /v1/messages/count_tokens ({reason}); token "
        f"counts from it are estimated (about {CHARACTERS_PER_TOKEN:g} characters a token, "
        f"modelslab_transport.chat.token_estimate), not counted by the model's tokenizer",
        TokenCountEstimateWarning,
        stacklevel=caller_stacklevel(),
    )
