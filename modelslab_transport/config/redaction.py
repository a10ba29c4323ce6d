"""Keeping the API key out of error text, without mangling text around a placeholder key.

Local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio, ...) take any key, and their
users pass placeholders such as ``"EMPTY"``, ``"x"`` or ``"1"``. Starring those out of an
error message would mangle it ("the model 'e***ample'...") and protect nothing, so only a
value that can be a real key is redacted: one of at least :data:`MIN_SECRET_LENGTH`
characters with no whitespace. Real ModelsLab keys are far longer.
"""

from __future__ import annotations

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "can_be_key", "redact_secret"]

MIN_SECRET_LENGTH = 8
"""Shorter values are placeholders for keyless local servers, not secrets."""

REDACTED = "***"
"""What a redacted key reads as."""


def can_be_key(secret: str) -> bool:
    """True when ``secret`` could be a real API key (so it must never appear in text)."""
    return len(secret) >= MIN_SECRET_LENGTH and not any(ch.isspace() for ch in secret)


def redact_secret(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by :data:`REDACTED`.

    A ``secret`` that cannot be a key (see :func:`can_be_key`) is left in place.
    """
    if not secret or not can_be_key(secret) or secret not in text:
        return text
    return text.replace(secret, REDACTED)
