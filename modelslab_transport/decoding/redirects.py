"""Redirects: never followed (the API key would go along), reported as a :class:`RedirectError`."""

from __future__ import annotations

from collections.abc import Callable

import httpx2

from modelslab_transport.errors import RedirectError

__all__ = ["redirect_error"]

_ENDPOINT_PATHS = ("/v1/messages/count_tokens", "/v1/messages", "/v1/models", "/chat/completions")
"""The endpoint paths the clients add to the base URL (longest first)."""


def _without_secrets(url: httpx2.URL) -> httpx2.URL:
    """``url`` without user information, query string or fragment (any may hold a token)."""
    return url.copy_with(userinfo=b"", query=None, fragment=None)


def _suggested_base_url(target: httpx2.URL, requested: httpx2.URL) -> str | None:
    """The base URL reaching ``target`` directly if the redirect kept the endpoint path."""
    for path in _ENDPOINT_PATHS:
        if requested.path.endswith(path) and target.path.endswith(path):
            return str(target.copy_with(path=target.path[: -len(path)] or "/")).rstrip("/")
    return None


def redirect_error(
    response: httpx2.Response, redact: Callable[[str], str] = lambda text: text
) -> RedirectError:
    """The error for a 3xx reply: its target (no secrets, ``redact``-ed) and the base URL to use."""
    requested = response.request.url
    location = response.headers.get("location")
    target: httpx2.URL | None = None
    if location:
        try:
            target = _without_secrets(requested.join(location.strip()))
        except (httpx2.InvalidURL, ValueError, TypeError):
            target = None
    status = response.status_code
    if target is None:
        message = (
            f"the server answered with a redirect (HTTP {status}) without a usable Location; "
            "redirects are never followed with the API key. Check base_url: it should be "
            "the API root, such as 'https://modelslab.com/api/v7/llm'"
        )
        return RedirectError(message, status_code=status)
    suggestion = _suggested_base_url(target, requested)
    advice = (
        f"if you trust that server, set base_url={suggestion!r}"
        if suggestion is not None
        else "if you trust that server, set base_url to the API root there"
    )
    other_origin = (target.scheme, target.host, target.port) != (
        requested.scheme,
        requested.host,
        requested.port,
    )
    where = "another server" if other_origin else "another address on the same server"
    message = (
        f"the server redirected the request (HTTP {status}) to {where}, {str(target)!r}; "
        f"redirects are never followed, since that would send the API key there: {advice}"
    )
    return RedirectError(redact(message), status_code=status, location=redact(str(target)))
