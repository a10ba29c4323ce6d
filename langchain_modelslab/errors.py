"""Transport errors, re-raised as LangChain's model errors.

Each class here is both a :mod:`modelslab_transport.errors` class and the matching
:mod:`langchain_core.exceptions` ``Model*Error``, so code that catches either keeps
working, and LangChain's retry helpers can read ``is_retryable``:

- ``AuthenticationError`` (401): ``ModelsLabAuthenticationError``, a
  ``ModelAuthenticationError``;
- ``InsufficientCreditsError`` (402): ``ModelsLabInsufficientCreditsError``, a
  ``ModelPermissionDeniedError`` (not retryable: the account must be topped up);
- ``PermissionDeniedError`` (403): ``ModelsLabPermissionDeniedError``, a
  ``ModelPermissionDeniedError``;
- ``NotFoundError`` (404, "Model not found"): ``ModelsLabNotFoundError``, a
  ``ModelNotFoundError``;
- ``BadRequestError`` (400, 422): ``ModelsLabBadRequestError``, a
  ``ModelInvalidRequestError``; when the server says the input overflowed the
  context window, ``ModelsLabContextOverflowError``, also a ``ContextOverflowError``;
- ``RateLimitError`` (429): ``ModelsLabRateLimitError``, a ``ModelRateLimitError``;
- ``RedirectError`` (3xx, never followed): ``ModelsLabRedirectError``, a
  ``ModelAPIError``;
- ``LocalRequestError`` (the HTTP stack refused the request before sending it):
  ``ModelsLabLocalRequestError``, a ``ModelInvalidRequestError``;
- ``ServerError`` (5xx) and other statuses: ``ModelsLabServerError`` /
  ``ModelsLabAPIStatusError``, a ``ModelAPIError``;
- ``APITimeoutError``: ``ModelsLabTimeoutError``, a ``ModelTimeoutError``; its
  ``QueueTimeoutError`` (no slot of the account's concurrency limit within
  ``queue_timeout``): ``ModelsLabQueueTimeoutError``, also a ``ModelsLabTimeoutError``;
- ``APIConnectionError``: ``ModelsLabConnectionError``, a ``ModelConnectionError``;
- ``IncompleteStreamError`` / ``InvalidResponseError``: ``ModelsLabIncompleteStreamError``
  / ``ModelsLabInvalidResponseError``, a ``ModelAPIError``;
- any other ``ModelsLabError``: ``ModelsLabModelError``, a ``ModelError``.

Every class's ``is_retryable`` is the transport's ``retryable`` for that very error, so
LangChain's retry helpers resend exactly what the transport itself would (not, for
example, a read timeout or a stream that broke after text was delivered).

The messages are the transport's, which never contain the API key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from modelslab_transport import errors as transport

# The LangChain-aware error classes, all exported by the package (which takes this list);
# ``langchain_errors`` and ``to_langchain_error`` are the integration's own helpers.
__all__ = [
    "ModelsLabAPIStatusError",
    "ModelsLabAuthenticationError",
    "ModelsLabBadRequestError",
    "ModelsLabConnectionError",
    "ModelsLabContextOverflowError",
    "ModelsLabIncompleteStreamError",
    "ModelsLabInsufficientCreditsError",
    "ModelsLabInvalidResponseError",
    "ModelsLabLocalRequestError",
    "ModelsLabModelError",
    "ModelsLabNotFoundError",
    "ModelsLabPermissionDeniedError",
    "ModelsLabQueueTimeoutError",
    "ModelsLabRateLimitError",
    "ModelsLabRedirectError",
    "ModelsLabServerError",
    "ModelsLabTimeoutError",
]


class _TransportRetryFlag:
    """Makes LangChain's ``is_retryable`` read the transport's ``retryable``.

    ``langchain_core`` sets ``is_retryable`` per class (True for every API, connection
    and timeout error); the transport decides per error, and the two must agree.
    """

    retryable: bool

    @property
    def is_retryable(self) -> bool:
        """Whether sending the same request again may succeed (the transport's verdict)."""
        return self.retryable

    @is_retryable.setter
    def is_retryable(self, value: bool) -> None:
        self.retryable = value  # one flag: setting either sets both


class ModelsLabAuthenticationError(
    _TransportRetryFlag, transport.AuthenticationError, ModelAuthenticationError
):
    """The API key is missing or invalid (HTTP 401)."""


class ModelsLabInsufficientCreditsError(
    _TransportRetryFlag, transport.InsufficientCreditsError, ModelPermissionDeniedError
):
    """The account has no credits left for this request (HTTP 402). Not retryable."""


class ModelsLabPermissionDeniedError(
    _TransportRetryFlag, transport.PermissionDeniedError, ModelPermissionDeniedError
):
    """The account's plan does not allow this request (HTTP 403)."""


class ModelsLabNotFoundError(_TransportRetryFlag, transport.NotFoundError, ModelNotFoundError):
    """The model (or endpoint) does not exist (HTTP 404, or "Model not found")."""


class ModelsLabBadRequestError(
    _TransportRetryFlag, transport.BadRequestError, ModelInvalidRequestError
):
    """The request was rejected as invalid (HTTP 400, 422, other 4xx)."""


class ModelsLabContextOverflowError(
    _TransportRetryFlag, transport.BadRequestError, ContextOverflowError, ModelInvalidRequestError
):
    """The input does not fit in the model's context window (an HTTP 400 saying so)."""


class ModelsLabRateLimitError(_TransportRetryFlag, transport.RateLimitError, ModelRateLimitError):
    """Too many queued requests for the account (HTTP 429). Retryable."""


class ModelsLabServerError(_TransportRetryFlag, transport.ServerError, ModelAPIError):
    """The server failed or is overloaded (HTTP 5xx). Retryable."""


class ModelsLabRedirectError(_TransportRetryFlag, transport.RedirectError, ModelAPIError):
    """The server answered with a redirect (HTTP 3xx), which is never followed."""


class ModelsLabLocalRequestError(
    _TransportRetryFlag, transport.LocalRequestError, ModelInvalidRequestError
):
    """The HTTP stack refused the request (a header or the URL) before sending it."""


class ModelsLabAPIStatusError(_TransportRetryFlag, transport.APIStatusError, ModelAPIError):
    """An error status the transport could not classify further."""


class ModelsLabTimeoutError(_TransportRetryFlag, transport.APITimeoutError, ModelTimeoutError):
    """A connect, read or per-chunk stream timeout expired."""


class ModelsLabQueueTimeoutError(ModelsLabTimeoutError, transport.QueueTimeoutError):
    """No slot of the account's concurrency limit came free within ``queue_timeout``.

    Both :class:`modelslab_transport.QueueTimeoutError` (what ``ModelsLabLLM`` raises, so
    one ``except QueueTimeoutError`` serves both frameworks) and a
    :class:`ModelsLabTimeoutError` (a LangChain ``ModelTimeoutError``). Not retryable:
    raise ``queue_timeout`` (seconds) or ``max_concurrency``, or send fewer requests at
    once.
    """


class ModelsLabConnectionError(
    _TransportRetryFlag, transport.APIConnectionError, ModelConnectionError
):
    """The server could not be reached, or the connection broke mid-answer."""


class ModelsLabIncompleteStreamError(
    _TransportRetryFlag, transport.IncompleteStreamError, ModelAPIError
):
    """A stream ended before the server marked it complete."""


class ModelsLabInvalidResponseError(
    _TransportRetryFlag, transport.InvalidResponseError, ModelAPIError
):
    """The server's answer could not be understood."""


class ModelsLabModelError(_TransportRetryFlag, transport.ModelsLabError, ModelError):
    """Any other transport failure."""


def _transport_class(dual: type[transport.ModelsLabError]) -> type[transport.ModelsLabError]:
    """The transport class a dual class stands for: the nearest of its bases' classes."""
    return next(base for base in dual.__mro__[1:] if base.__module__ == transport.__name__)


# Each dual class by the transport class it stands for (ModelsLabContextOverflowError
# is chosen by what a BadRequestError says, in _langchain_class).
_LANGCHAIN_CLASSES: dict[type[transport.ModelsLabError], type[transport.ModelsLabError]] = {
    _transport_class(dual): dual
    for dual in (
        ModelsLabAuthenticationError,
        ModelsLabInsufficientCreditsError,
        ModelsLabPermissionDeniedError,
        ModelsLabNotFoundError,
        ModelsLabBadRequestError,
        ModelsLabRateLimitError,
        ModelsLabServerError,
        ModelsLabRedirectError,
        ModelsLabAPIStatusError,
        ModelsLabQueueTimeoutError,
        ModelsLabTimeoutError,
        ModelsLabConnectionError,
        ModelsLabIncompleteStreamError,
        ModelsLabInvalidResponseError,
        ModelsLabLocalRequestError,
        ModelsLabModelError,
    )
}

_CONTEXT_OVERFLOW = re.compile(
    r"context[ _-]?(length|size|window)|exceeds? the (available |maximum )?context|"
    r"maximum context|too many (input |prompt )?tokens",
    re.IGNORECASE,
)


def _is_context_overflow(error: transport.BadRequestError) -> bool:
    text = " ".join(str(part) for part in (error.message, error.code, error.error_type) if part)
    return bool(_CONTEXT_OVERFLOW.search(text))


def _langchain_class(error: transport.ModelsLabError) -> type[transport.ModelsLabError]:
    if isinstance(error, transport.BadRequestError) and _is_context_overflow(error):
        return ModelsLabContextOverflowError
    for klass in type(error).__mro__:  # the most specific class with a dual wins
        dual = _LANGCHAIN_CLASSES.get(klass)
        if dual is not None:
            return dual
    return ModelsLabModelError


def to_langchain_error(error: transport.ModelsLabError) -> transport.ModelsLabError:
    """The same error as an instance of the class that is also a LangChain model error.

    Built through the class's constructor with the error's own
    :meth:`~modelslab_transport.errors.ModelsLabError.constructor_kwargs`, so every
    attribute (``status_code``, ``retry_after``, ``body``, ``location``, ...) is kept. An error
    that already is a LangChain model error is returned as is.
    """
    if isinstance(error, ModelError):
        return error
    target = _langchain_class(error)
    return target(error.message, **error.constructor_kwargs())


@contextmanager
def langchain_errors() -> Iterator[None]:
    """Re-raise any transport error inside the block as its LangChain-aware class."""
    try:
        yield
    except transport.ModelsLabError as exc:
        if isinstance(exc, ModelError):
            raise
        raise to_langchain_error(exc) from exc
