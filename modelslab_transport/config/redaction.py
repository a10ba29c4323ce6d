"""Keeping the API key out of text; placeholder keys of local servers (``"EMPTY"``) are kept."""

from __future__ import annotations

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "can_be_key", "redact_secret"]

MIN_SECRET_LENGTH = 8
"""Shorter values are placeholders for keyless local servers, not secrets."""

REDACTED = "***"
"""What a redacted key reads as."""


def can_be_key(secret: str) -> bool:
    """Whether ``secret`` could be a real key: :data:`MIN_SECRET_LENGTH` or more, no spaces."""
    return len(secret) >= MIN_SECRET_LENGTH and not any(ch.isspace() for ch in secret)


def redact_secret(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` replaced by :data:`REDACTED`, if :func:`can_be_key`."""
    if not secret or not can_be_key(secret) or secret not in text:
        return text
    return text.replace(secret, REDACTED)
