"""Turning ModelsLab replies into wire types, for both the sync and the async client.

Everything here is pure: it sees a status, headers and bytes (or one SSE event)
and returns a typed object or raises a typed error. The clients only move bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2
from pydantic import BaseModel, ValidationError

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.error_bodies import (
    ERROR_MEMBERS,
    ErrorDetails,
    body_message,
    error_details_in_body,
    error_from_reply,
)
from modelslab_transport.decoding.not_found import (
    describe_not_found,
    is_web_page,
    wrong_place_hint,
)
from modelslab_transport.decoding.redirects import redirect_error
from modelslab_transport.errors import (
    APIStatusError,
    InvalidResponseError,
    NotFoundError,
)
from modelslab_transport.wire import json_text
from modelslab_transport.wire.catalog import ModelList
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ResponseMessage,
)
from modelslab_transport.wire.leniency import validate_leniently
from modelslab_transport.wire.messages import (
    CountTokensResponse,
    Message,
)
from modelslab_transport.wire.surrogates import well_formed_strings

if TYPE_CHECKING:
    pass

__all__ = [
    "body_text",
    "decode_chat_completion",
    "decode_count_tokens",
    "decode_message",
    "decode_model_list",
    "error_for_status",
    "fast_validate",
    "is_event_stream",
    "parse_json",
    "snippet",
    "validated",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def is_event_stream(response: httpx2.Response) -> bool:
    """True when the reply is Server-Sent Events (else it is a plain body)."""
    content_type = response.headers.get("content-type", "")
    return "text/event-stream" in content_type.lower()


def snippet(text: str, limit: int = 200) -> str:
    """``text`` with its blank space folded, cut to ``limit`` characters (for messages)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def body_text(response: httpx2.Response) -> str:
    """The reply's body as text, without a leading UTF-8 byte order mark.

    JSON forbids sending a BOM but lets a reader ignore one (RFC 8259, section 8.1);
    some servers and proxies add one. Every plain body is read as JSON through this.
    """
    return response.text.removeprefix("\ufeff")


# The errors below are raised after their ``except`` block, not inside it: raised inside,
# even ``from None`` keeps the parser's exception as ``__context__``, and that holds the
# server's text (``JSONDecodeError.doc``, pydantic's ``input_value``), which may echo the key.


def parse_json(text: str, settings: ClientSettings, what: str, hint: str | None = None) -> Any:
    """``text`` parsed, or :class:`InvalidResponseError` quoting it (and ``hint``, if given)."""
    try:
        return json_text.loads(text)
    except ValueError:
        pass
    message = f"{what} is not valid JSON: {snippet(settings.redact(text))!r}"
    raise InvalidResponseError(settings.redact(f"{message}; {hint}" if hint else message))


def error_for_status(response: httpx2.Response, settings: ClientSettings) -> APIStatusError:
    """The typed error for a reply with an HTTP error status (its body already read).

    A 3xx (never followed: see :mod:`modelslab_transport.decoding.redirects`) is a
    ``RedirectError``.
    """
    if 300 <= response.status_code < 400:
        return redirect_error(response, settings.redact)
    try:
        text = body_text(response)
    except httpx2.ResponseNotRead:  # the connection broke while the body was being read
        text = ""
    try:
        payload: Any = json_text.loads(text) if text.strip() else None
    except ValueError:
        payload = None
    error = error_from_reply(
        response.status_code, payload, text, response.headers, redact=settings.redact
    )
    describe_not_found(error, response, settings)
    return error


def _raise_body_error(
    payload: Any, text: str, headers: Mapping[str, str], settings: ClientSettings
) -> None:
    details = error_details_in_body(payload)
    if details is not None:
        raise error_from_reply(200, payload, text, headers, redact=settings.redact, details=details)


def validated(model: type[M], payload: Any, settings: ClientSettings, what: str) -> M:
    """``payload`` as ``model``, or :class:`InvalidResponseError` naming ``what`` is amiss."""
    try:
        return validate_leniently(model, payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:3]
        )
    raise InvalidResponseError(settings.redact(f"{what} has an unexpected shape: {problems}"))


def _decode_object(
    response: httpx2.Response, settings: ClientSettings, what: str, required: str
) -> dict[str, Any]:
    """Parse a 2xx JSON body, raise the error it reports, and check its key member."""
    try:
        return _checked_object(response, settings, what, required)
    except NotFoundError as error:  # "Model not found" in a 200 body: say where and why
        describe_not_found(error, response, settings)
        raise


def _checked_object(
    response: httpx2.Response, settings: ClientSettings, what: str, required: str
) -> dict[str, Any]:
    text = body_text(response)
    hint = wrong_place_hint(response, settings) if is_web_page(response, text) else None
    payload = well_formed_strings(parse_json(text, settings, what, hint))
    _raise_body_error(payload, text, response.headers, settings)
    if not isinstance(payload, dict):
        raise InvalidResponseError(f"{what} is a JSON {type(payload).__name__}, not an object")
    if required not in payload:
        message = body_message(payload)
        if message:
            # ModelsLab reports some failures as a bare {"message": ...} with HTTP 200.
            raise error_from_reply(
                200,
                payload,
                text,
                response.headers,
                redact=settings.redact,
                details=ErrorDetails(message=message),
            )
        raise InvalidResponseError(
            settings.redact(f"{what} has no {required!r}: {snippet(settings.redact(text))!r}")
        )
    return payload


# Content types whose body is UTF-8 JSON, which pydantic can read as bytes.
_PLAIN_JSON = frozenset(("application/json", "application/json; charset=utf-8"))


def fast_validate(model: type[M], data: str | bytes) -> M | None:
    """Parse and validate JSON in one pass, or None if it needs the general path.

    Reading the JSON text straight into the model (no intermediate dicts) is what
    makes long streams cheap. A document that carries an ``error`` or ``status``
    member, or that does not validate, is left to the general path so that errors are
    reported exactly as there.
    """
    try:
        # The model's validator itself: ``model_validate_json`` adds a Python call with
        # keyword handling, a tenth of the cost for a chunk this small.
        item: M = model.__pydantic_validator__.validate_json(data)
    except ValidationError:
        return None
    extra = item.__pydantic_extra__
    if extra and not ERROR_MEMBERS.isdisjoint(extra):
        return None
    return item


def _fast_completion(response: httpx2.Response) -> ChatCompletion | None:
    """A UTF-8 body through :func:`fast_validate`; one without ``choices`` is left too."""
    if response.headers.get("content-type", "").lower() not in _PLAIN_JSON:
        return None  # another charset, or a type the general path should judge
    completion = fast_validate(ChatCompletion, response.content)
    if completion is None or "choices" not in completion.model_fields_set:
        return None
    return completion


def decode_chat_completion(response: httpx2.Response, settings: ClientSettings) -> ChatCompletion:
    """Decode a non-streamed chat completion, raising the error a 200 body may carry."""
    completion = _fast_completion(response)
    if completion is None:
        payload = _decode_object(response, settings, "the chat completion reply", "choices")
        completion = validated(ChatCompletion, payload, settings, "the chat completion reply")
    if not completion.choices:
        raise InvalidResponseError("the chat completion reply has an empty 'choices' list")
    for choice in completion.choices:
        if "message" not in choice.model_fields_set:  # absent or null
            extra = choice.__pydantic_extra__ or {}
            delta = extra.get("delta")
            if not isinstance(delta, dict):
                members = sorted({*choice.model_fields_set, *extra})
                raise InvalidResponseError(
                    f"choice {choice.index} of the chat completion reply has no 'message' "
                    f"to read the answer from (its members: {', '.join(members) or 'none'})"
                )
            # Some servers shape a whole reply's choice as a stream chunk's: read it so.
            choice.message = validated(ResponseMessage, delta, settings, "a choice's 'delta'")
    return completion


def decode_message(response: httpx2.Response, settings: ClientSettings) -> Message:
    """Decode a non-streamed Messages reply."""
    payload = _decode_object(response, settings, "the messages reply", "content")
    return validated(Message, payload, settings, "the messages reply")


def decode_count_tokens(response: httpx2.Response, settings: ClientSettings) -> CountTokensResponse:
    """Decode a count_tokens reply."""
    payload = _decode_object(response, settings, "the count_tokens reply", "input_tokens")
    return validated(CountTokensResponse, payload, settings, "the count_tokens reply")


def decode_model_list(response: httpx2.Response, settings: ClientSettings) -> ModelList:
    """Decode a models catalog reply."""
    payload = _decode_object(response, settings, "the models reply", "data")
    return validated(ModelList, payload, settings, "the models reply")
