"""The transport's error tree: what each error says, whether it may be retried, and the
keyword arguments that rebuild it (the frameworks re-raise it as their own class)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from modelslab_transport.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    IncompleteStreamError,
    InsufficientCreditsError,
    InvalidResponseError,
    LocalRequestError,
    ModelsLabError,
    NotFoundError,
    PermissionDeniedError,
    QueueTimeoutError,
    RateLimitError,
    RedirectError,
    ServerError,
)


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [
        (ModelsLabError, False),
        (BadRequestError, False),
        (AuthenticationError, False),
        (RateLimitError, True),
        (ServerError, True),
        (APIConnectionError, False),
        (LocalRequestError, False),
    ],
)
def test_retryable_defaults_by_class_and_can_be_overridden(
    cls: type[ModelsLabError], retryable: bool
) -> None:
    kwargs: dict[str, Any] = {"status_code": 500} if issubclass(cls, APIStatusError) else {}
    assert cls("m", **kwargs).retryable is retryable
    assert cls("m", retryable=not retryable, **kwargs).retryable is (not retryable)


def test_the_tree() -> None:
    for cls in (
        RedirectError,
        BadRequestError,
        AuthenticationError,
        InsufficientCreditsError,
        PermissionDeniedError,
        NotFoundError,
        RateLimitError,
        ServerError,
    ):
        assert issubclass(cls, APIStatusError)
    assert issubclass(QueueTimeoutError, APITimeoutError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(IncompleteStreamError, InvalidResponseError)
    for cls in (APIStatusError, APIConnectionError, LocalRequestError, InvalidResponseError):
        assert issubclass(cls, ModelsLabError)


def test_a_status_error_says_where_it_came_from() -> None:
    assert str(ServerError("down", status_code=503)) == "down (HTTP 503)"
    assert str(ServerError("down", status_code=503, request_id="r1")) == (
        "down (HTTP 503, request id r1)"
    )
    assert str(APIStatusError("bad", status_code=200, in_stream=True)) == (
        "bad (an error event inside the stream)"
    )
    assert str(APIStatusError("no key", status_code=None)) == "no key (request not sent)"
    assert repr(BadRequestError("x", status_code=400)) == (
        "BadRequestError(status_code=400, message='x')"
    )
    assert str(ModelsLabError("plain")) == "plain"


def test_a_not_found_hint_is_added_to_the_text() -> None:
    error = NotFoundError("Model not found.", status_code=404, hint="list_models() lists them")
    assert str(error) == "Model not found: list_models() lists them (HTTP 404)"
    assert error.message == "Model not found."
    assert str(NotFoundError("gone", status_code=404)) == "gone (HTTP 404)"


@pytest.mark.parametrize(
    "error",
    [
        ModelsLabError("m", retryable=True),
        RateLimitError(
            "slow down",
            status_code=429,
            request_id="r",
            code="c",
            error_type="t",
            retry_after=2.5,
            body={"error": "x"},
        ),
        RedirectError("moved", status_code=301, location="https://other/"),
        NotFoundError("nf", status_code=404, url="u", model="m", cause="model", hint="h"),
        QueueTimeoutError("waited"),
    ],
    ids=type,
)
def test_constructor_kwargs_rebuild_the_error(error: ModelsLabError) -> None:
    rebuilt = type(error)(error.message, **error.constructor_kwargs())
    assert vars(rebuilt) == vars(error)
    assert str(rebuilt) == str(error)


def test_constructor_kwargs_of_a_status_error() -> None:
    error = RedirectError("moved", status_code=302, location="https://x/")
    assert error.constructor_kwargs() == {
        "retryable": False,
        "status_code": 302,
        "request_id": None,
        "code": None,
        "error_type": None,
        "retry_after": None,
        "body": None,
        "in_stream": False,
        "url": None,
        "hint": None,
        "location": "https://x/",
    }


def test_errors_without_extra_arguments_survive_pickling() -> None:
    error = LocalRequestError("bad header")
    assert str(pickle.loads(pickle.dumps(error))) == "bad header"
