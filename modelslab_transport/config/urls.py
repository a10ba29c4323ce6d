"""The base URL: an API root such as ``https://modelslab.com/api/v7/llm`` (modelslab-api.md §1)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

__all__ = ["ENDPOINT_SUFFIXES", "check_base_url", "endpoint_url", "is_modelslab"]

ENDPOINT_SUFFIXES = (
    "/v1/messages/count_tokens",
    "/messages/count_tokens",
    "/chat/completions",
    "/v1/completions",
    "/v1/messages",
    "/v1/models",
)
"""Paths that end a pasted endpoint URL rather than a root (longest first).

Not a bare ``/models`` or ``/messages``: some compatible services' roots end so (Azure AI).
"""

_EXAMPLE = "https://modelslab.com/api/v7/llm"


def _shown(parts: SplitResult) -> str:
    """The URL without user information, query or fragment: safe to put in a message."""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def check_base_url(value: str) -> str:
    """``value`` as an API root, stripped of surrounding whitespace and trailing slashes.

    Raises:
        ValueError: saying what to change, for a URL that is not absolute http(s) with a
            host and a valid port, or has user information, a query, a fragment or inner
            whitespace, or is an endpoint; it never quotes a query or user information.
    """
    text = value.strip()
    if any(character.isspace() or ord(character) < 0x20 for character in text):
        raise ValueError(
            "base_url contains whitespace or a control character inside it; give a URL "
            f"on one line without spaces, such as {_EXAMPLE!r}"
        )
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        if not parts.scheme or not parts.netloc:
            got = "a URL without a scheme and host (add https://host)"
        elif parts.scheme not in ("http", "https"):
            got = f"the scheme {parts.scheme!r}"
        else:
            got = "a URL without a host"
        raise ValueError(
            f"base_url must be an absolute http(s) URL such as {_EXAMPLE!r}, got {got}"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise ValueError(
            f"base_url has a port that is not a number from 0 to 65535 (host "
            f"{parts.hostname!r}); write it as scheme://host:port/path"
        ) from None
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"base_url must not hold a user name or password ({_shown(parts)!r} without "
            "them is the root to use): pass the key as api_key, and proxy credentials to "
            "the http_client you give"
        )
    if "?" in text or "#" in text:
        what = "a query string ('?...')" if "?" in text.split("#", 1)[0] else "a fragment"
        raise ValueError(
            f"base_url must not have {what}: it would be spliced into every endpoint URL; "
            f"use the API root {_shown(parts).rstrip('/')!r} (pass the key as api_key, and "
            "extra headers as default_headers)"
        )
    root = text.rstrip("/")
    path = urlsplit(root).path
    for suffix in ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            kept = "/v1" if suffix == "/v1/completions" else ""
            trimmed = root[: len(root) - len(suffix)] + kept
            raise ValueError(
                f"base_url is an endpoint ({suffix!r}), not the API root: use "
                f"{trimmed!r}; the client adds /chat/completions, /v1/messages and "
                "/v1/models itself"
            )
    return root


def endpoint_url(base_url: str, path: str) -> str:
    """The URL of ``path`` under ``base_url``; a ``/v1`` root and ``/v1/...`` path share ``/v1``."""
    if path.startswith("/v1/") and base_url.endswith("/v1"):
        return base_url + path[3:]
    return base_url + path


def is_modelslab(base_url: str) -> bool:
    """Whether ``base_url``'s host is ``modelslab.com`` or below (any case, trailing dot too)."""
    host = urlsplit(base_url).hostname or ""
    host = host[:-1] if host.endswith(".") else host
    return host == "modelslab.com" or host.endswith(".modelslab.com")
