"""Reading errors out of ModelsLab replies, whatever shape they come in.

ModelsLab reports errors in several shapes, sometimes inside an HTTP 200
(see ``shared/modelslab-api.md`` §7 and §10):

* ``{"status": "error", "message": "..."}`` (the platform shape; legacy endpoints
  misspell ``message`` as ``messege``),
* ``{"error": {"message": "...", "type": "...", "code": "..."}}`` (OpenAI shape),
* ``{"type": "error", "error": {"type": "...", "message": "..."}}`` (Anthropic shape),
* ``{"error": "text"}``, and combinations of these in one body,
* an HTML page from a proxy in front of the API.

This module turns any of them into the matching :mod:`modelslab_transport.errors` class.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelslab_transport.defaults import MAX_RETRY_AFTER
from modelslab_transport.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

__all__ = ["ErrorDetails", "error_details_in_body", "error_from_reply", "parse_retry_after"]

_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}

_TYPE_CLASSES: dict[str, type[APIStatusError]] = {
    "authentication_error": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "permission_denied": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "model_not_found": NotFoundError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": InsufficientCreditsError,
    "overloaded_error": ServerError,
    "server_error": ServerError,
    "api_error": ServerError,
    "invalid_request_error": BadRequestError,
}

# Wording seen in ModelsLab's documented error bodies, most specific first.
_MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], type[APIStatusError]], ...] = (
    (
        re.compile(
            r"invalid api key|unauthori[sz]ed|unauthenticated|api key (is )?(missing|required)"
        ),
        AuthenticationError,
    ),
    (re.compile(r"insufficient (credit|balance|fund)"), InsufficientCreditsError),
    (
        re.compile(r"model not found|no such model|model .* (does not exist|not found)"),
        NotFoundError,
    ),
    (re.compile(r"rate limit|too many requests|queued requests"), RateLimitError),
    (
        re.compile(r"requires a premium|not allowed|permission denied|forbidden"),
        PermissionDeniedError,
    ),
    (re.compile(r"internal server error|temporarily unavailable|overloaded"), ServerError),
)

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ErrorDetails:
    """What an error body says: its message, and the code/type/retry hint if given."""

    message: str
    code: str | None = None
    error_type: str | None = None
    retry_after: float | None = None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return str(value)


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _seconds(value: float | None) -> float | None:
    """A wait the server asked for, made safe.

    ``nan``/``inf`` count as no hint at all, a negative wait is 0, and a longer one is
    capped at ``MAX_RETRY_AFTER``.
    """
    if value is None or not math.isfinite(value):
        return None
    return min(max(value, 0.0), MAX_RETRY_AFTER)


def _number(value: Any) -> float | None:
    return _seconds(_float(value))


def error_details_in_body(payload: Any) -> ErrorDetails | None:
    """Return the error a parsed JSON body reports, or None if it reports none.

    A body reports an error when its ``status`` is ``"error"``/``"failed"``, when it
    has a non-empty ``error`` member (object or string), or when its ``status`` is
    ``"processing"`` (a queued job, which an LLM call should never be).
    """
    if not isinstance(payload, Mapping):
        return None
    status = payload.get("status")
    status = status.lower() if isinstance(status, str) else None
    error = payload.get("error")
    retry_after = _number(payload.get("retry_after"))
    if isinstance(error, Mapping):
        message = _text(error.get("message")) or _text(payload.get("message"))
        return ErrorDetails(
            message=message or "the server reported an error without a message",
            code=_text(error.get("code")),
            error_type=_text(error.get("type")),
            retry_after=retry_after
            if retry_after is not None
            else _number(error.get("retry_after")),
        )
    if isinstance(error, str) and error.strip():
        return ErrorDetails(message=error.strip(), retry_after=retry_after)
    if status in ("error", "failed", "failure"):
        message = (
            _text(payload.get("message"))
            or _text(payload.get("messege"))
            or _text(payload.get("detail"))
            or "the server reported an error without a message"
        )
        return ErrorDetails(
            message=message, code=_text(payload.get("code")), retry_after=retry_after
        )
    if status == "processing":
        job = _text(payload.get("id")) or "unknown"
        return ErrorDetails(
            message=(
                f"the server queued the request instead of answering it (status 'processing', "
                f"id {job}); LLM calls are expected to be synchronous and this client does not "
                f"poll queued jobs"
            ),
            error_type="processing",
        )
    return None


def _details_for_status(status_code: int, payload: Any, text: str) -> ErrorDetails:
    details = error_details_in_body(payload)
    if details is not None:
        return details
    if isinstance(payload, Mapping):
        message = (
            _text(payload.get("message"))
            or _text(payload.get("messege"))
            or _text(payload.get("detail"))
        )
        if message:
            return ErrorDetails(message=message, retry_after=_number(payload.get("retry_after")))
    snippet = _SPACE.sub(" ", _TAG.sub(" ", text)).strip()[:200]
    if snippet:
        return ErrorDetails(message=f"HTTP {status_code} with a non-JSON body: {snippet}")
    return ErrorDetails(message=f"HTTP {status_code} with an empty body")


def _class_from_details(details: ErrorDetails) -> type[APIStatusError] | None:
    if details.code is not None and details.code.isdigit():
        by_code = _STATUS_CLASSES.get(int(details.code))
        if by_code is not None:
            return by_code
        if int(details.code) >= 500:
            return ServerError
    for hint in (details.error_type, details.code):
        if hint is not None and hint.lower() in _TYPE_CLASSES:
            return _TYPE_CLASSES[hint.lower()]
    lowered = details.message.lower()
    for pattern, cls in _MESSAGE_PATTERNS:
        if pattern.search(lowered):
            return cls
    return None


def _class_for(status_code: int, details: ErrorDetails) -> type[APIStatusError]:
    by_status = _STATUS_CLASSES.get(status_code)
    if status_code >= 500:
        return ServerError
    if by_status is not None and status_code not in (400, 422):
        return by_status
    # 2xx error bodies, 400 and 422: the body says more than the status does
    # ("Model not found" arrives as a 400 or inside a 200).
    return (
        _class_from_details(details)
        or by_status
        or (BadRequestError if status_code >= 400 else APIStatusError)
    )


def parse_retry_after(headers: Mapping[str, str], payload: Any = None) -> float | None:
    """Seconds to wait before retrying: ``Retry-After`` header first, then body ``retry_after``.

    The header may be seconds or an HTTP date; ``retry-after-ms`` is also understood.
    Returns None when neither says anything usable; ``nan`` and ``inf`` are not usable
    (the normal backoff applies), a negative wait or a past date is 0, and a wait over
    :data:`~modelslab_transport.defaults.MAX_RETRY_AFTER` seconds is capped to it.
    """
    millis = _float(headers.get("retry-after-ms"))
    if millis is not None and math.isfinite(millis):
        return _seconds(millis / 1000.0)
    raw = headers.get("retry-after")
    if raw is not None:
        seconds = _number(raw)
        if seconds is not None:
            return seconds
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return _seconds(when.timestamp() - time.time())
    if isinstance(payload, Mapping):
        details = error_details_in_body(payload)
        if details is not None and details.retry_after is not None:
            return details.retry_after
        return _number(payload.get("retry_after"))
    return None


def error_from_reply(
    status_code: int,
    payload: Any,
    text: str,
    headers: Mapping[str, str],
    *,
    redact: Callable[[str], str] = lambda s: s,
    details: ErrorDetails | None = None,
) -> APIStatusError:
    """Build the typed error for a reply the server marked as failed.

    Args:
        status_code: HTTP status of the reply (200 when the error was in a 200 body
            or inside a stream).
        payload: The parsed JSON body, or None when the body was not JSON.
        text: The raw body text (used for non-JSON bodies such as proxy error pages).
        headers: Response headers (for ``Retry-After`` and the request id).
        redact: Removes secrets from any text that ends up in the error.
        details: Already-extracted error details, if the caller has them.
    """
    text = redact(text)  # before anything cuts it short: a cut key escapes redaction in part
    details = details or _details_for_status(status_code, payload, text)
    cls = _class_for(status_code, details)
    request_id = headers.get("x-request-id") or headers.get("request-id")
    retry_after = parse_retry_after(headers, payload)
    if retry_after is None:
        retry_after = details.retry_after
    body: Any = json.loads(redact(json.dumps(payload))) if payload is not None else text[:2000]
    return cls(
        redact(details.message),
        status_code=status_code,
        request_id=request_id,
        code=details.code,
        error_type=details.error_type,
        retry_after=retry_after,
        body=body,
    )
