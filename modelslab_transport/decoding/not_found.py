"""What a reply that went to the wrong place means: the URL requested and the usual cause.

A 404, a 405 (the path exists, but not for this method) and a web page sent with a
success status instead of JSON (a ``base_url`` pointing at a web UI, a static site or a
proxy) all mean the request did not reach the API. For a 404 ``cause`` is ``"model"``
(the id is not served), ``"protocol"`` (no ``/v1/messages``), ``"endpoint"`` (an
optional endpoint is missing) or ``"base_url"`` (its path is wrong). The URL shown has
no user information, query or fragment, and the key redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx2

from modelslab_transport.config.defaults import DEFAULT_BASE_URL
from modelslab_transport.config.urls import is_modelslab
from modelslab_transport.decoding.error_bodies import names_missing_model
from modelslab_transport.errors import APIStatusError, ModelsLabError, NotFoundError
from modelslab_transport.wire import json_text

if TYPE_CHECKING:
    from modelslab_transport.config.settings import ClientSettings

__all__ = ["NotFoundCause", "describe_not_found", "is_web_page", "wrong_place_hint"]

NotFoundCause = Literal["model", "protocol", "endpoint", "base_url"]


def describe_not_found(
    error: ModelsLabError, response: httpx2.Response, settings: ClientSettings
) -> None:
    """Set ``error``'s ``hint`` and ``url`` in place if the request went to the wrong place.

    That is a :class:`NotFoundError` (whose ``model`` and ``cause`` are set too) or a
    405 (see :func:`wrong_place_hint`). An error described already, or of
    another kind, is left alone.
    """
    if not isinstance(error, APIStatusError) or error.hint is not None:
        return
    try:
        request = response.request
    except RuntimeError:  # a response built without a request
        return
    url = settings.redact(_shown(str(request.url)))
    base_url = settings.base_url
    if not isinstance(error, NotFoundError):
        hint = wrong_place_hint(response, settings)
        if hint is not None:
            error.url = url
            error.hint = hint
        return
    model = _model_of(request.content if request.method == "POST" else b"")
    path = urlsplit(url).path
    if _means_the_model(error, path, base_url):
        cause: NotFoundCause = "model"
        named = f"the model {model!r}" if model else "the model asked for"
        hint = (
            f"{named} is not served at {base_url} ({request.method} {url}); list the ids "
            "it serves with list_models() (GET /v1/models), or check the spelling"
        )
    else:
        cause, hint = _path_hint(path, base_url)
        hint = f"{request.method} {url} does not exist; {hint}"
    error.cause = cause
    error.url = url
    error.model = model
    error.hint = settings.redact(hint)


def is_web_page(response: httpx2.Response, text: str) -> bool:
    """Whether a reply (``text``: its body) is an HTML page rather than an API answer."""
    if "html" in response.headers.get("content-type", "").lower():
        return True
    start = text.lstrip()[:15].lower()
    return start.startswith(("<!doctype html", "<html"))


def wrong_place_hint(response: httpx2.Response, settings: ClientSettings) -> str | None:
    """The hint for a 405 or a web page sent as success, naming the URL and ``base_url``.

    None for any other reply (a proxy's page for a 401, 413 or 429 is about the request,
    not its destination; a 404 is described by :func:`describe_not_found`), and for a
    response built without a request.
    """
    try:
        request = response.request
        text = response.text if response.status_code != 405 else ""
    except RuntimeError:  # a response built without a request
        return None
    except httpx2.ResponseNotRead:  # the body broke off: judge by the headers alone
        text = ""
    if response.status_code == 405:
        allowed = response.headers.get("allow", "").strip()
        said = f"only {allowed} is allowed there" if allowed else "the method is not allowed there"
    elif response.status_code < 300 and is_web_page(response, text):
        said = "it answered with a web page (HTML), not the API's JSON"
    else:
        return None
    url = _shown(str(request.url))
    advice = _base_url_advice(settings.base_url)
    return settings.redact(f"{request.method} {url} is not an API endpoint ({said}); {advice}")


def _means_the_model(error: NotFoundError, path: str, base_url: str) -> bool:
    """Whether the model id, rather than the URL, is what was not found."""
    if names_missing_model(error.message, error.code, error.error_type):
        return True
    if error.status_code == 200:
        return True
    return base_url == DEFAULT_BASE_URL and not path.endswith(("/models", "/count_tokens"))


def _path_hint(path: str, base_url: str) -> tuple[NotFoundCause, str]:
    """The usual cause of a 404 for ``path`` (the request's) under ``base_url``."""
    check = _base_url_advice(base_url)
    if path.endswith("/messages/count_tokens"):
        return "endpoint", (
            "the server has no count_tokens endpoint (OpenAI-compatible servers such as vLLM, "
            f"llama.cpp and Ollama often lack it), or {check}"
        )
    if path.endswith("/messages"):
        return "protocol", (
            "the server may not serve the Anthropic-style Messages protocol (api='messages'): "
            f"for an OpenAI-only server use api='chat_completions' (the default); or {check}"
        )
    if path.endswith("/models"):
        return "endpoint", f"the server lists no models there, or {check}"
    return "base_url", check


def _base_url_advice(base_url: str) -> str:
    if is_modelslab(base_url):
        if base_url.rstrip("/") == DEFAULT_BASE_URL.rstrip("/"):
            return (
                f"base_url {base_url!r} is ModelsLab's API root, so something on the way "
                "(a proxy, a captive portal or a firewall) answered in its place"
            )
        return f"base_url {base_url!r} is not the API root: ModelsLab's is {DEFAULT_BASE_URL!r}"
    if not urlsplit(base_url).path.rstrip("/").endswith("/v1"):
        return (
            f"base_url {base_url!r} lacks the path the server serves the API under: "
            f"OpenAI-compatible servers (vLLM, llama.cpp, Ollama, LM Studio) use "
            f"{base_url.rstrip('/') + '/v1'!r}"
        )
    return f"base_url {base_url!r} is not where this server serves the API"


def _shown(url: str) -> str:
    """``url`` without user information, query string or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def _model_of(body: bytes) -> str | None:
    """The ``model`` a JSON request body names, or None."""
    if not body or b'"model"' not in body:
        return None
    try:
        payload: Any = json_text.loads(body)
    except ValueError:
        return None
    model = payload.get("model") if isinstance(payload, dict) else None
    return model if isinstance(model, str) and model else None
