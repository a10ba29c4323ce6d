"""httpx2's exceptions as this package's errors, naming the URL and the setting to change."""

from __future__ import annotations

import httpx2

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.errors import (
    APIConnectionError,
    APITimeoutError,
    LocalRequestError,
    ModelsLabError,
)
from modelslab_transport.http.proxies import environment_proxy_for
from modelslab_transport.limits.deadlines import seconds_text

__all__ = ["transport_error"]


def _timeout_limit(exc: httpx2.HTTPError, phase: str) -> float | None:
    """The limit (seconds) the failed request had for ``phase`` (connect/read/write/pool)."""
    try:
        limits = exc.request.extensions.get("timeout") or {}
    except RuntimeError:  # an error raised without a request
        return None
    value = limits.get(phase)
    return float(value) if isinstance(value, (int, float)) else None


def _target(exc: httpx2.HTTPError, settings: ClientSettings) -> str:
    """The URL the failed request went to (the base URL if the error does not say)."""
    try:
        return settings.redact(str(exc.request.url))
    except RuntimeError:
        return settings.base_url


def _asked_for_stream(exc: httpx2.HTTPError) -> bool:
    try:
        return "text/event-stream" in exc.request.headers.get("accept", "")
    except RuntimeError:
        return False


def _os_error_text(exc: BaseException) -> str | None:
    """The text of the OS error in ``exc``'s chain of causes (``[Errno 111] ...``), if any."""
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 8:
        if isinstance(cause, OSError) and cause.errno is not None:
            return str(cause)
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


def _environment_proxy(exc: httpx2.HTTPError) -> tuple[str, str] | None:
    """The proxy the environment names for the failed request's URL, if any."""
    try:
        url = exc.request.url
    except RuntimeError:
        return None
    return environment_proxy_for(url)


# (timeout class, phase, message, retryable: None for the error's default); reads below.
_PHASE_TIMEOUTS: tuple[tuple[type[httpx2.TimeoutException], str, str, bool | None], ...] = (
    (
        httpx2.ConnectTimeout,
        "connect",
        "could not connect to {url} within {limit} s (connect_timeout={limit}; "
        "raise connect_timeout=)",
        True,
    ),
    (
        httpx2.PoolTimeout,
        "pool",
        "no free connection to {url} within {limit} s (timeout={limit}; "
        "fewer calls at once, or raise timeout=)",
        True,
    ),
    (
        httpx2.WriteTimeout,
        "write",
        "could not send the request to {url} within {limit} s (timeout={limit}; raise timeout=)",
        None,
    ),
)


def transport_error(
    exc: httpx2.HTTPError, settings: ClientSettings, *, streaming: bool = False
) -> ModelsLabError:
    """The typed error for an httpx2 failure to reach or read the server.

    The message names the URL, for a timeout the limit (seconds) and its setting, and for
    a failed connection the environment's proxy (credentials ``***``). A request httpx2
    refused to write (``LocalProtocolError``) is a ``LocalRequestError``, never retried.
    """
    detail = settings.redact(str(exc))
    if not detail:  # an async timeout has no text; a sync one says "timed out"
        detail = "timed out" if isinstance(exc, httpx2.TimeoutException) else type(exc).__name__
    url = _target(exc, settings)
    if isinstance(exc, httpx2.LocalProtocolError):
        # h11 quotes the offending bytes, which may be an escaped credential: cut them.
        kind = detail.split(" b'", 1)[0].split(' b"', 1)[0]
        return LocalRequestError(
            f"the HTTP library refused to send the request ({kind}); nothing reached the "
            "server. Check default_headers and the headers of the http_client you gave"
        )
    if isinstance(exc, httpx2.TimeoutException):
        for timeout_class, phase, text, retryable in _PHASE_TIMEOUTS:
            if isinstance(exc, timeout_class):
                limit = seconds_text(_timeout_limit(exc, phase))
                return APITimeoutError(
                    f"{text.format(url=url, limit=limit)}: {detail}", retryable=retryable
                )
        limit = seconds_text(_timeout_limit(exc, "read"))
        if streaming or _asked_for_stream(exc):
            return APITimeoutError(
                f"the stream from {url} sent nothing for {limit} s "
                f"(stream_chunk_timeout={limit}; raise stream_chunk_timeout=, "
                f"or set it to None to wait without a limit): {detail}"
            )
        return APITimeoutError(
            f"no reply from {url} within {limit} s (timeout={limit}; raise timeout=): {detail}"
        )
    if isinstance(exc, httpx2.ProxyError):
        # The proxy refused (407, 403...): sending again gets the same answer.
        proxy = _environment_proxy(exc)
        named = (
            f"the proxy {proxy[0]} (from {proxy[1]} in the environment)"
            if proxy is not None
            else "the proxy"
        )
        return APIConnectionError(
            settings.redact(
                f"{named} refused to carry the request to {url}: {detail}; check the proxy's "
                "address and credentials"
            ),
            retryable=False,
        )
    if isinstance(exc, httpx2.TransportError):
        if streaming:
            return APIConnectionError(f"the connection to {url} broke during the stream: {detail}")
        if isinstance(exc, httpx2.ConnectError):
            if "[Errno" not in detail:
                detail = settings.redact(_os_error_text(exc) or detail)
            proxy = _environment_proxy(exc)
            if proxy is not None:
                # The connection that failed may be the one to the proxy: say which it is.
                shown, variable = proxy
                detail = settings.redact(
                    f"{detail} (the environment names the proxy {shown} for this URL in "
                    f"{variable}: check that it is running, or add the host to NO_PROXY "
                    "to connect directly)"
                )
            return APIConnectionError(f"could not reach {url}: {detail}", retryable=True)
        return APIConnectionError(
            f"the connection to {url} broke before the whole reply arrived: {detail}",
            retryable=True,
        )
    return APIConnectionError(f"HTTP failure at {url}: {detail}")
