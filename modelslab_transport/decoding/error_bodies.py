"""Reading errors out of ModelsLab replies, whatever shape they come in.

ModelsLab and the servers it routes to report errors in several shapes, sometimes inside
an HTTP 200 (``shared/modelslab-api.md`` §7 and §10): the platform's ``{"status":
"error", "message"}`` (legacy ``messege``), OpenAI's and Anthropic's ``error`` objects,
arrays of them, FastAPI's ``detail``, a bare string or a proxy's HTML page. For an HTTP
4xx the status decides the class (a 400 saying "Model not found" is a
:class:`~modelslab_transport.errors.NotFoundError`); inside a 200 the body decides.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelslab_transport.config.defaults import MAX_RETRY_AFTER
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

__all__ = [
    "ERROR_MEMBERS",
    "ErrorDetails",
    "body_message",
    "error_details_in_body",
    "error_from_reply",
    "names_missing_model",
    "parse_duration",
    "parse_retry_after",
    "rate_limit_reset",
    "redact_values",
    "retry_hint_in_body",
]

ERROR_MEMBERS = frozenset(("error", "status"))
"""Members through which an otherwise normal JSON object reports an error (never declared)."""

# Members holding an error's text, in the order consulted.
_MESSAGE_MEMBERS = ("message", "messege", "msg", "detail", "error_description", "errors", "title")
_NO_MESSAGE = "the server reported an error without a message"
_MAX_DEPTH = 4
_MAX_ITEMS = 5

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
    "unauthenticated": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "permission_denied": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "model_not_found": NotFoundError,
    "not_found": NotFoundError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "resource_exhausted": RateLimitError,
    "insufficient_quota": InsufficientCreditsError,
    "overloaded_error": ServerError,
    "server_error": ServerError,
    "api_error": ServerError,
    "internal": ServerError,
    "unavailable": ServerError,
    "invalid_request_error": BadRequestError,
    "invalid_argument": BadRequestError,
}

_MODEL_NOT_FOUND = re.compile(r"model not found|no such model|model .* (does not exist|not found)")

# Wording of ModelsLab's documented error bodies, most specific first (inside a 200 only).
_MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], type[APIStatusError]], ...] = (
    (
        re.compile(
            r"invalid api key|unauthori[sz]ed|unauthenticated|api key (is )?(missing|required)"
        ),
        AuthenticationError,
    ),
    (re.compile(r"insufficient (credit|balance|fund)"), InsufficientCreditsError),
    (_MODEL_NOT_FOUND, NotFoundError),
    (re.compile(r"rate limit|too many requests|queued requests"), RateLimitError),
    (
        re.compile(r"requires a premium|not allowed|permission denied|\bforbidden\b"),
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
    if value is None or isinstance(value, (Mapping, list)):
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
        text = value.strip()
        if "_" in text:  # Python's float() reads "1_0" as 10; no protocol writes numbers so
            return None
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _seconds(value: float | None) -> float | None:
    """A wait in seconds: ``nan``/``inf`` are None, clamped to [0, ``MAX_RETRY_AFTER``]."""
    if value is None or not math.isfinite(value):
        return None
    return min(max(value, 0.0), MAX_RETRY_AFTER)


def _number(value: Any) -> float | None:
    return _seconds(_float(value))


def _message_of(value: Any, depth: int = 0, *, by_field: bool = False) -> str | None:
    """The human-readable text of a message-holding value, whatever its JSON type.

    With ``by_field`` (the value of a message member), an object without message members
    is read as messages by field, as Laravel's validation errors are sent
    (``{"model_id": ["The selected model id is invalid."]}`` reads
    ``model_id: The selected model id is invalid.``).
    """
    if depth > _MAX_DEPTH or value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        parts = [part for item in value[:_MAX_ITEMS] if (part := _item_text(item, depth + 1))]
        if len(value) > _MAX_ITEMS:
            parts.append(f"and {len(value) - _MAX_ITEMS} more")
        return "; ".join(parts) or None
    if isinstance(value, Mapping):
        nested = value.get("error")
        if isinstance(nested, (Mapping, list)):
            found = _message_of(nested, depth + 1)
            if found:
                return found
        for name in _MESSAGE_MEMBERS:
            found = _message_of(value.get(name), depth + 1, by_field=True)
            if found:
                return found
        if by_field and nested is None:
            return _messages_by_field(value, depth)
        return _text(nested)
    return None


def _messages_by_field(value: Mapping[str, Any], depth: int) -> str | None:
    """``field: message`` for each member holding text (or a list of it), or None."""
    parts: list[str] = []
    for name, member in list(value.items())[:_MAX_ITEMS]:
        if isinstance(member, (str, list)) and (text := _message_of(member, depth + 1)):
            parts.append(f"{name}: {text}")
    if len(value) > _MAX_ITEMS and parts:
        parts.append(f"and {len(value) - _MAX_ITEMS} more")
    return "; ".join(parts) or None


def _item_text(item: Any, depth: int) -> str | None:
    """One entry of an error list; a validation error reads ``loc: msg (type)``."""
    if not isinstance(item, Mapping):
        return _message_of(item, depth)
    text = _message_of(item, depth)
    if text is None:
        return None
    loc = item.get("loc")
    if isinstance(loc, list) and loc:
        text = f"{'.'.join(str(part) for part in loc)}: {text}"
    kind = _text(item.get("type"))
    if kind and kind not in text:
        text = f"{text} ({kind})"
    return text


def body_message(payload: Any) -> str | None:
    """The message a JSON body carries in any member that holds error text, or None."""
    return _message_of(payload)


def _details_of_error_object(error: Mapping[str, Any], outer: Mapping[str, Any]) -> ErrorDetails:
    code = _text(error.get("code"))
    kind = _text(error.get("type")) or _text(error.get("status"))
    return ErrorDetails(
        message=_message_of(error) or _message_of(outer) or _NO_MESSAGE,
        code=code,
        error_type=kind,
        retry_after=retry_hint_in_body(outer),
    )


def error_details_in_body(payload: Any) -> ErrorDetails | None:
    """Return the error a parsed JSON body reports, or None if it reports none.

    An ``error`` member, a ``status`` of ``"error"`` (or ``"failed"``), an object marked
    ``"object": "error"`` (vLLM), ``"type": "error"`` or ``"success": false``
    (Cloudflare) report one; so does a ``status`` of ``"processing"`` (a queued job).
    """
    if isinstance(payload, list):
        for item in payload[:_MAX_ITEMS]:
            found = error_details_in_body(item)
            if found is not None:
                return found
        return None
    if not isinstance(payload, Mapping):
        return None
    status = payload.get("status")
    status = status.lower() if isinstance(status, str) else None
    error = payload.get("error")
    if isinstance(error, list):
        error = next((item for item in error if isinstance(item, (Mapping, str))), None)
    if isinstance(error, Mapping):
        return _details_of_error_object(error, payload)
    if isinstance(error, str) and error.strip():
        return ErrorDetails(
            message=error.strip(),
            code=_text(payload.get("code")),
            retry_after=retry_hint_in_body(payload),
        )
    if status in ("error", "failed", "failure") or _marked_error(payload):
        return ErrorDetails(
            message=_message_of(payload) or _NO_MESSAGE,
            code=_text(payload.get("code")),
            retry_after=retry_hint_in_body(payload),
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


def _marked_error(payload: Mapping[str, Any]) -> bool:
    """Whether an object says it is an error by its kind.

    That is vLLM's ``"object": "error"``, a bare ``"type": "error"``, or ``"success": false``.
    """
    return (
        payload.get("object") == "error"
        or payload.get("type") == "error"
        or payload.get("success") is False
    )


def _details_for_status(status_code: int, payload: Any, text: str) -> ErrorDetails:
    details = error_details_in_body(payload)
    if details is not None:
        return details
    message = _message_of(payload)
    if message:
        if isinstance(payload, Mapping):
            return ErrorDetails(
                message=message,
                code=_text(payload.get("code")),
                retry_after=retry_hint_in_body(payload),
            )
        return ErrorDetails(message=message)
    snippet = _SPACE.sub(" ", _TAG.sub(" ", text)).strip()[:200]
    if snippet:
        kind = "a JSON body without a message" if payload is not None else "a non-JSON body"
        return ErrorDetails(message=f"HTTP {status_code} with {kind}: {snippet}")
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


def names_missing_model(message: str, code: str | None, error_type: str | None) -> bool:
    """Whether an error's text, code or type says the model does not exist (modelslab-api.md §7)."""
    if any(hint is not None and hint.lower() == "model_not_found" for hint in (code, error_type)):
        return True
    return _MODEL_NOT_FOUND.search(message.lower()) is not None


def _class_for(status_code: int, details: ErrorDetails) -> type[APIStatusError]:
    if status_code >= 500:
        return ServerError
    if status_code >= 400:
        # ModelsLab answers an unknown model with a 400 (shared/modelslab-api.md §7).
        by_status = _STATUS_CLASSES.get(status_code, BadRequestError)
        if by_status is BadRequestError and _MODEL_NOT_FOUND.search(details.message.lower()):
            return NotFoundError
        return by_status
    return _class_from_details(details) or APIStatusError


# A duration as Go/protobuf write it ("1m30s", "250ms") or in words ("20 seconds").
_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(ms|milliseconds?|h|hours?|hrs?|m|min|mins|minutes?|s|secs?|seconds?)"
    r"(?![a-z])",
    re.IGNORECASE,
)
_DURATION = re.compile(rf"\s*(?:{_DURATION_PART.pattern}\s*)+", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}
# "try again in 1.5s" / "retry after 20 seconds" in a 429's message.
_MESSAGE_HINT = re.compile(
    rf"(?:try again|retry)\s+(?:in|after)\s+((?:{_DURATION_PART.pattern}\s*)+)", re.IGNORECASE
)


def _unit_seconds(unit: str) -> float:
    unit = unit.lower()
    if unit == "ms" or unit.startswith("milli"):
        return 0.001
    return _UNIT_SECONDS[unit[0]]


def parse_duration(value: Any) -> float | None:
    """Seconds in a number, a duration string (``"1m30s"``) or a protobuf ``Duration``, or None."""
    number = _float(value)
    if number is not None:
        return number
    if isinstance(value, Mapping):
        seconds = _float(value.get("seconds", 0))
        nanos = _float(value.get("nanos", 0))
        if seconds is None or nanos is None or not ({"seconds", "nanos"} & set(value)):
            return None
        return seconds + nanos / 1e9
    if not isinstance(value, str) or len(value) > 64 or not _DURATION.fullmatch(value):
        return None
    return sum(
        float(amount) * _unit_seconds(unit) for amount, unit in _DURATION_PART.findall(value)
    )


def _is_retry_info(entry: Mapping[str, Any]) -> bool:
    kind = entry.get("@type")
    return not isinstance(kind, str) or kind.endswith("RetryInfo")


def _hint_in_body(payload: Any, depth: int = 0) -> float | None:
    """The wait a parsed body asks for, in seconds (unbounded), or None.

    ``retry_after`` is ModelsLab's (``shared/modelslab-api.md`` §7); also
    ``retry_after_ms`` and Google's ``RetryInfo``, at the top or in ``error``/``details``.
    """
    if depth > _MAX_DEPTH:
        return None
    if isinstance(payload, list):
        for item in payload[:_MAX_ITEMS]:
            found = _hint_in_body(item, depth + 1)
            if found is not None:
                return found
        return None
    if not isinstance(payload, Mapping):
        return None
    found = parse_duration(payload.get("retry_after"))
    if found is None and (millis := _float(payload.get("retry_after_ms"))) is not None:
        found = millis / 1000.0
    if found is None and "retryDelay" in payload and _is_retry_info(payload):
        found = parse_duration(payload.get("retryDelay"))
    for member in ("error", "details"):
        if found is None:
            found = _hint_in_body(payload.get(member), depth + 1)
    return found if found is not None and math.isfinite(found) else None


def _hint_in_message(payload: Any) -> float | None:
    message = _message_of(payload)
    match = _MESSAGE_HINT.search(message) if message else None
    return parse_duration(match.group(1).strip()) if match else None


def retry_hint_in_body(payload: Any) -> float | None:
    """The wait (seconds, bounded as :func:`_seconds`) a body's members or message ask for."""
    found = _hint_in_body(payload)
    return _seconds(found if found is not None else _hint_in_message(payload))


def _http_date(value: str | None) -> float | None:
    """Unix time of an HTTP-date (IMF-fixdate, RFC 850 or asctime), always read as UTC."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime and "-0000" carry no zone: HTTP dates are UTC
        when = when.replace(tzinfo=datetime.UTC)
    try:
        return when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def parse_retry_after(
    headers: Mapping[str, str], payload: Any = None, *, status_code: int | None = None
) -> float | None:
    """Seconds to wait before retrying, from the reply's headers, else its body, or None.

    ``retry-after-ms``, then ``Retry-After`` (seconds or an HTTP-date counted from the
    reply's ``Date``; a duration such as ``"1.5s"`` too), then :func:`retry_hint_in_body`,
    then (for a 429 only) :func:`rate_limit_reset`; bounded as :func:`_seconds`.
    """
    millis = _float(headers.get("retry-after-ms"))
    if millis is not None and math.isfinite(millis):
        return _seconds(millis / 1000.0)
    raw = headers.get("retry-after")
    if raw is not None:
        seconds = _number(raw)
        if seconds is not None:
            return seconds
        when = _http_date(raw)
        if when is not None:
            now = _http_date(headers.get("date"))
            return _seconds(when - (now if now is not None else time.time()))
        written = parse_duration(raw)  # "1.5s", "2m": not HTTP's form, but sent
        if written is not None:
            return _seconds(written)
    found = retry_hint_in_body(payload)
    if found is None and status_code == 429:
        found = _seconds(rate_limit_reset(headers))
    return found


# OpenAI's rate-limit headers, by the limit they report (requests, tokens).
_RESET_HEADERS = (
    ("x-ratelimit-reset-requests", "x-ratelimit-remaining-requests"),
    ("x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"),
)


_EPOCH_FROM = 1e9
"""A reset above this many seconds is a Unix time (2001 on), not a wait."""


def rate_limit_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until a rate limit resets, from the rate-limit headers, or None.

    ``x-ratelimit-reset-requests`` / ``-tokens`` hold durations (``"1s"``, ``"6m0s"``,
    ``"20ms"``; OpenAI's, also sent by Groq and Together). The limits whose
    ``x-ratelimit-remaining-*`` is 0 are the ones exhausted: the wait is the longest of
    their resets; if none says so, the soonest. Without them, ``ratelimit-reset`` (the
    IETF draft's seconds) or ``x-ratelimit-reset`` (seconds, or a Unix time counted
    from the reply's ``Date``). Unbounded.
    """
    exhausted: list[float] = []
    others: list[float] = []
    for reset_name, remaining_name in _RESET_HEADERS:
        reset = parse_duration(headers.get(reset_name))
        if reset is None or not math.isfinite(reset) or reset < 0:
            continue
        remaining = _float(headers.get(remaining_name))
        (exhausted if remaining is not None and remaining <= 0 else others).append(reset)
    if exhausted:
        return max(exhausted)
    if others:
        return min(others)
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        reset = parse_duration(headers.get(name))
        if reset is not None and math.isfinite(reset) and reset >= 0:
            if reset <= _EPOCH_FROM:
                return reset
            now = _http_date(headers.get("date"))
            return reset - (now if now is not None else time.time())
    return None


def redact_values(value: Any, redact: Callable[[str], str]) -> Any:
    """A copy of parsed JSON with ``redact`` applied to every string, keys included."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(key)): redact_values(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_values(item, redact) for item in value]
    return value


def error_from_reply(
    status_code: int,
    payload: Any,
    text: str,
    headers: Mapping[str, str],
    *,
    redact: Callable[[str], str] = lambda s: s,
    details: ErrorDetails | None = None,
    in_stream: bool = False,
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
        in_stream: The error arrived as an event inside a stream that had begun
            with HTTP 200 (its message then says so instead of naming the status).
    """
    text = redact(text)  # before anything cuts it short: a cut key escapes redaction in part
    details = details or _details_for_status(status_code, payload, text)
    cls = _class_for(status_code, details)
    request_id = headers.get("x-request-id") or headers.get("request-id")
    retry_after = parse_retry_after(headers, payload, status_code=status_code)
    if retry_after is None:
        retry_after = details.retry_after
    body: Any = redact_values(payload, redact) if payload is not None else text[:2000]
    return cls(
        redact(details.message),
        status_code=status_code,
        request_id=request_id,
        code=details.code,
        error_type=details.error_type,
        retry_after=retry_after,
        body=body,
        in_stream=in_stream,
    )
