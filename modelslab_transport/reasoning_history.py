"""Where earlier reasoning goes back in a conversation, by each provider's rule.

Reasoning models in a tool loop must see their own reasoning again, in the place
their provider expects, or the next request fails with HTTP 400:

* DeepSeek (thinking mode with tool calls): the assistant turns after the latest
  user message carry their ``reasoning_content`` back; on turns before it DeepSeek
  refuses the field ("Thinking Mode", tool calls:
  https://api-docs.deepseek.com/guides/thinking_mode; "Reasoning Model":
  https://api-docs.deepseek.com/guides/reasoning_model).
* Anthropic-style Messages: the signed ``thinking`` / ``redacted_thinking`` blocks open
  the assistant turn that holds the ``tool_use`` blocks ("Extended thinking",
  preserving thinking blocks during tool use:
  https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking). The
  Messages encoder (:mod:`modelslab_transport.encode_messages`) places them.
* Opaque fields on tool calls (Gemini's ``extra_content.google.thought_signature``
  through OpenAI-compatible APIs: https://ai.google.dev/gemini-api/docs/thought-signatures)
  go back unchanged on the tool call (see :class:`~modelslab_transport.wire.chat.ToolCall`).

The framework conversions copy every piece onto the wire messages and call
:func:`apply_reasoning_rules` last; it removes what a rule forbids.
"""

from __future__ import annotations

from collections.abc import Sequence

from modelslab_transport.wire.chat import ChatMessage

__all__ = ["apply_reasoning_rules"]


def apply_reasoning_rules(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """``messages`` with ``reasoning_content`` kept only where DeepSeek accepts it.

    Assistant turns after the latest ``user`` message keep it (the tool loop in
    progress); earlier assistant turns lose it. Signed reasoning blocks are kept on
    assistant turns that call tools (the only place the Messages protocol needs
    them) and dropped elsewhere. The input messages are not modified.
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
