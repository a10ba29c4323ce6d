"""An estimate of input tokens, for a server without ``/v1/messages/count_tokens``.

Both frameworks use it, so one conversation gets one number from either.
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
    """About how many input tokens ``messages`` and ``tools`` are (by the constants above)."""
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
    """Warn that token counts from ``base_url`` are estimated; ``reason``: the error it gave."""
    warnings.warn(
        f"the server at {base_url} has no /v1/messages/count_tokens ({reason}); token "
        f"counts from it are estimated (about {CHARACTERS_PER_TOKEN:g} characters a token, "
        f"modelslab_transport.chat.token_estimate), not counted by the model's tokenizer",
        TokenCountEstimateWarning,
        stacklevel=caller_stacklevel(),
    )
