"""The transport's errors: every failure is a :class:`ModelsLabError`; none carries the API key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "IncompleteStreamError",
    "InsufficientCreditsError",
    "InvalidResponseError",
    "LocalRequestError",
    "ModelsLabError",
    "NotFoundError",
    "PermissionDeniedError",
    "QueueTimeoutError",
    "RateLimitError",
    "RedirectError",
    "ServerError",
    "ToolPairingError",
    "UnsupportedContentError",
]


class ModelsLabError(Exception):
    """Base of every transport error: ``message``, and ``retryable`` (may a resend succeed)."""

    retryable_by_default: ClassVar[bool] = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = self.retryable_by_default if retryable is None else retryable

    def __str__(self) -> str:
        return self.message

    def constructor_kwargs(self) -> dict[str, Any]:
        """The keyword arguments besides ``message`` that rebuild this error."""
        return {"retryable": self.retryable}


class APIStatusError(ModelsLabError):
    """The server answered with an error: an HTTP error status or an error body.

    ``status_code`` is 200 for an error body or stream event, None if unsent;
    ``retry_after`` is the wait in seconds the server asked for, or None. When the reply
    says the request went to the wrong place (404, 405, a web page instead of JSON),
    ``url`` is the URL requested and ``hint`` (added to ``str()``) names ``base_url``; both
    are set by :mod:`modelslab_transport.decoding.not_found`.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None,
        request_id: str | None = None,
        code: str | None = None,
        error_type: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        retryable: bool | None = None,
        in_stream: bool = False,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.url = url
        self.hint = hint
        self.status_code = status_code
        self.request_id = request_id
        self.code = code
        self.error_type = error_type
        self.retry_after = retry_after
        self.body = body
        self.in_stream = in_stream

    def constructor_kwargs(self) -> dict[str, Any]:
        """See :meth:`ModelsLabError.constructor_kwargs`."""
        return {
            **super().constructor_kwargs(),
            "status_code": self.status_code,
            "request_id": self.request_id,
            "code": self.code,
            "error_type": self.error_type,
            "retry_after": self.retry_after,
            "body": self.body,
            "in_stream": self.in_stream,
            "url": self.url,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        what = self._described()
        if self.status_code is None:
            return f"{what} (request not sent)"
        where = "an error event inside the stream" if self.in_stream else f"HTTP {self.status_code}"
        if self.request_id:
            where += f", request id {self.request_id}"
        return f"{what} ({where})"

    def _described(self) -> str:
        if not self.hint:
            return self.message
        return f"{self.message.rstrip('.')}: {self.hint}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


class RedirectError(APIStatusError):
    """A redirect (HTTP 3xx), never followed (the key would go along); ``location``: its target."""

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location

    def constructor_kwargs(self) -> dict[str, Any]:
        """See :meth:`ModelsLabError.constructor_kwargs`."""
        return {**super().constructor_kwargs(), "location": self.location}


class BadRequestError(APIStatusError):
    """The request was rejected as malformed or invalid (HTTP 400, 422, other 4xx)."""


class AuthenticationError(APIStatusError):
    """The API key is missing or invalid (HTTP 401)."""


class InsufficientCreditsError(APIStatusError):
    """The account has no credits left for this request (HTTP 402)."""


class PermissionDeniedError(APIStatusError):
    """The account's plan does not allow this request (HTTP 403)."""


class NotFoundError(APIStatusError):
    """The endpoint or the model does not exist (HTTP 404, or "Model not found").

    ``model`` and ``cause`` are set, when known, by
    :mod:`modelslab_transport.decoding.not_found`, with ``url`` and ``hint``.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        cause: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.model = model
        self.cause = cause

    def constructor_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this error (see :class:`ModelsLabError`)."""
        return {**super().constructor_kwargs(), "model": self.model, "cause": self.cause}


class RateLimitError(APIStatusError):
    """Too many queued requests for this account (HTTP 429). Retryable."""

    retryable_by_default = True


class ServerError(APIStatusError):
    """The server failed or is overloaded (HTTP 5xx). Retryable."""

    retryable_by_default = True


class APIConnectionError(ModelsLabError):
    """The server could not be reached, or the connection broke before a full answer."""


class APITimeoutError(APIConnectionError):
    """A connect, read or per-chunk stream timeout expired."""


class QueueTimeoutError(APITimeoutError):
    """A call waited past ``queue_timeout`` (seconds) for its account's queue limit."""


class LocalRequestError(ModelsLabError):
    """The HTTP stack refused to send the request as built (e.g. a bad header); not retried."""


class InvalidResponseError(ModelsLabError):
    """The server's answer could not be understood (bad JSON, unexpected shape)."""


class IncompleteStreamError(InvalidResponseError):
    """A stream ended before the server marked it complete."""


# Raised before anything is sent, for a history the chosen protocol cannot carry.


class UnsupportedContentError(ValueError):
    """A message holds content the chosen protocol has no form for; nothing was sent.

    Attributes:
        part: What the content is (``"image"``, ``"file given by URL"``...).
        role: The role of the message that holds it (``"tool"`` for a tool result).
        api: The protocol (``"chat_completions"`` or ``"messages"``).
    """

    def __init__(self, part: str, role: str, api: str, hint: str = "") -> None:
        where = "a tool result" if role == "tool" else f"a {role} message"
        message = f"api={api!r} has no form for a {part} in {where}"
        super().__init__(f"{message}: {hint}" if hint else message)
        self.part = part
        self.role = role
        self.api = api


class ToolPairingError(ValueError):
    """The history's tool calls and tool results do not pair up; nothing was sent.

    Attributes:
        ids: The tool-call ids at fault (``""`` for a call or result without one).
    """

    def __init__(self, message: str, ids: Sequence[str]) -> None:
        super().__init__(message)
        self.ids = tuple(ids)
