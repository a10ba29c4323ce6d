"""Where earlier reasoning goes back in a conversation, by each provider's rule."""

from __future__ import annotations

from collections.abc import Sequence

from modelslab_transport.wire.chat import ChatMessage

__all__ = ["apply_reasoning_rules"]


def apply_reasoning_rules(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """``messages`` (not modified) with reasoning only where the providers accept it.

    ``reasoning_content`` stays on turns after the latest user message (DeepSeek:
    https://api-docs.deepseek.com/guides/thinking_mode); signed reasoning stays on turns
    that call tools (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking).
    """
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    result: list[ChatMessage] = []
    for position, message in enumerate(messages):
        update: dict[str, object] = {}
        if message.reasoning_content is not None and position < last_user:
            update["reasoning_content"] = None
        if message.signed_reasoning is not None and not message.tool_calls:
            update["signed_reasoning"] = None
        result.append(message.model_copy(update=update) if update else message)
    return result
