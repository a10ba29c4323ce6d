"""Minimal valid wire requests (chat completions and Anthropic messages) for transport tests."""

from __future__ import annotations

from typing import Any

from modelslab_transport.wire import ChatCompletionRequest, ChatMessage, MessagesRequest


def chat_request(**overrides: Any) -> ChatCompletionRequest:
    """A minimal valid chat request; keyword arguments override or extend it."""
    fields: dict[str, Any] = {
        "model": "meta-llama-3-8B-instruct",
        "messages": [ChatMessage(role="user", content="Hi")],
        "max_tokens": 64,
    }
    fields.update(overrides)
    return ChatCompletionRequest(**fields)


def messages_request(**overrides: Any) -> MessagesRequest:
    """A minimal valid Messages request."""
    fields: dict[str, Any] = {
        "model": "claude-like",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    fields.update(overrides)
    return MessagesRequest(**fields)
