"""The error hierarchy of the ModelsLab transport.

Every failure the transport reports is a :class:`ModelsLabError`. Errors the server
reports (through an HTTP status, or through an error body inside an HTTP 200) are
:class:`APIStatusError` subclasses chosen by status code, or, for a 200 body, by the
error's code or wording. Failures to reach the server or to read its answer are
:class:`APIConnectionError` / :class:`APITimeoutError`; an answer that cannot be
understood is :class:`InvalidResponseError`.

No error ever carries the API key: messages are built from the server's text, and
the client redacts the key from that text before raising.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelslab_transport import _MODULE_EXPORTS

__all__ = _MODULE_EXPORTS["errors"]


class ModelsLabError(Exception):
    """Base class of every error raised by the ModelsLab transport.

    Attributes:
        message: What went wrong, in the server's words where it gave any.
        retryable: Whether sending the same request again may succeed.
    """

    retryable_by_default: ClassVar[bool] = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = self.retryable_by_default if retryable is None else retryable

    def __str__(self) -> str:
        return self.message

    def constructor_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this error (besides ``message``).

        A subclass with attributes of its own adds them, so that an error re-raised as
        another class of the same family (the LangChain-aware twins) keeps every one.
        """
        return {"retryable": self.retryable}


class APIStatusError(ModelsLabError):
    """The server answered with an error: an HTTP error status or an error body.

    Attributes:
        status_code: The HTTP status of the reply (200 for an error inside a 200 body
            or inside a stream), or None when the request was never sent (no API key).
        request_id: The server's request id, when it sent one.
        code: The server's error code, when it sent one.
        error_type: The server's error type, when it sent one.
        retry_after: Seconds the server asked us to wait (``Retry-After`` header first,
            then a body ``retry_after``), or None.
        body: The parsed error body (JSON object or text), for inspection.
        in_stream: True when the error arrived as an event inside a stream that had
            begun with HTTP 200; ``str()`` then says so rather than "HTTP 200".
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
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status_code = status_code
        self.request_id = request_id
        self.code = code
        self.error_type = error_type
        self.retry_after = retry_after
        self.body = body
        self.in_stream = in_stream

    def constructor_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this error (see :class:`ModelsLabError`)."""
        return {
            **super().constructor_kwargs(),
            "status_code": self.status_code,
            "request_id": self.request_id,
            "code": self.code,
            "error_type": self.error_type,
            "retry_after": self.retry_after,
            "body": self.body,
            "in_stream": self.in_stream,
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
        """The message, with what a subclass adds to it."""
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


class RedirectError(APIStatusError):
    """The server answered with a redirect (HTTP 3xx), which is never followed.

    Following it would send the API key (header or body) to whatever the redirect names,
    possibly another host, so the client stops and reports it instead: point
    ``base_url`` at the target if you trust it.

    Attributes:
        location: The redirect's target (its ``Location`` header, query string and user
            information removed), or None when the server named none.
    """

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location

    def constructor_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this error (see :class:`ModelsLabError`)."""
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

    ``str()`` adds to the server's message the URL requested and the usual cause
    (:mod:`modelslab_transport.not_found`).

    Attributes:
        url: The URL requested (no query string or user information), when known.
        model: The model id the request named, when it named one.
        cause: ``"model"`` (the server does not serve the model id: see
            ``list_models()``), ``"protocol"`` (no ``/v1/messages``: the server may not
            speak ``api="messages"``), ``"endpoint"`` (an optional endpoint such as
            ``/v1/messages/count_tokens`` is missing) or ``"base_url"`` (the base URL's
            path is wrong); None when not known.
        hint: Where the request went and what to change, as ``str()`` shows it.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        model: str | None = None,
        cause: str | None = None,
        hint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.url = url
        self.model = model
        self.cause = cause
        self.hint = hint

    def constructor_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this error (see :class:`ModelsLabError`)."""
        return {
            **super().constructor_kwargs(),
            "url": self.url,
            "model": self.model,
            "cause": self.cause,
            "hint": self.hint,
        }

    def _described(self) -> str:
        if not self.hint:
            return self.message
        return f"{self.message.rstrip('.')}: {self.hint}"


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
    """A request waited for a free slot of its account's queue limit past its deadline.

    The deadline is ``queue_timeout`` (seconds) after the call began; see
    :mod:`modelslab_transport.concurrency`. Raise ``queue_timeout`` or
    ``max_concurrency``, or send fewer requests at once.
    """


class LocalRequestError(ModelsLabError):
    """The request could not be sent as built: the HTTP stack refused it before sending.

    For example a header with a line break set on an injected ``http_client``. Not
    retried, and not a connection problem: the message says what to change.
    """


class InvalidResponseError(ModelsLabError):
    """The server's answer could not be understood (bad JSON, unexpected shape)."""


class IncompleteStreamError(InvalidResponseError):
    """A stream ended before the server marked it complete."""
