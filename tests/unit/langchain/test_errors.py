"""Transport errors surface as classes that are also LangChain model errors."""

from __future__ import annotations

import httpx2
import pytest
from langchain_core import exceptions as lc
from langchain_core.runnables import RunnableLambda

from langchain_modelslab import errors as lm
from modelslab_transport import RetryPolicy
from modelslab_transport import errors as transport
from tests.support.clients import API_KEY, chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
)


def _error_body(message: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "error"}}


@pytest.mark.parametrize(
    ("status", "message", "transport_class", "langchain_class", "ours"),
    [
        (
            401,
            "Invalid API key",
            transport.AuthenticationError,
            lc.ModelAuthenticationError,
            lm.ModelsLabAuthenticationError,
        ),
        (
            402,
            "Insufficient credits",
            transport.InsufficientCreditsError,
            lc.ModelPermissionDeniedError,
            lm.ModelsLabInsufficientCreditsError,
        ),
        (
            403,
            "Forbidden",
            transport.PermissionDeniedError,
            lc.ModelPermissionDeniedError,
            lm.ModelsLabPermissionDeniedError,
        ),
        (
            404,
            "Model not found",
            transport.NotFoundError,
            lc.ModelNotFoundError,
            lm.ModelsLabNotFoundError,
        ),
        (
            400,
            "temperature must be at most 2",
            transport.BadRequestError,
            lc.ModelInvalidRequestError,
            lm.ModelsLabBadRequestError,
        ),
        (
            400,
            "the request exceeds the available context size",
            transport.BadRequestError,
            lc.ContextOverflowError,
            lm.ModelsLabContextOverflowError,
        ),
        (
            429,
            "Too many requests",
            transport.RateLimitError,
            lc.ModelRateLimitError,
            lm.ModelsLabRateLimitError,
        ),
        (
            503,
            "overloaded",
            transport.ServerError,
            lc.ModelAPIError,
            lm.ModelsLabServerError,
        ),
    ],
)
def test_status_errors_are_both_kinds(
    status: int,
    message: str,
    transport_class: type[Exception],
    langchain_class: type[Exception],
    ours: type[Exception],
) -> None:
    api = ScriptedServer(
        [json_response(_error_body(message), status, headers={"x-request-id": "req-1"})]
    )
    with pytest.raises(ours) as caught:
        chat_model(api).invoke("hi")
    error = caught.value
    assert isinstance(error, transport_class)
    assert isinstance(error, langchain_class)
    assert isinstance(error, lc.ModelError)
    assert isinstance(error, transport.APIStatusError)
    assert error.status_code == status
    assert message in str(error)
    assert isinstance(error.__cause__, transport_class)


def test_context_overflow_is_still_an_invalid_request() -> None:
    api = ScriptedServer([json_response(_error_body("maximum context length is 4096 tokens"), 400)])
    with pytest.raises(lc.ModelInvalidRequestError) as caught:
        chat_model(api).invoke("hi")
    assert isinstance(caught.value, lc.ContextOverflowError)


def test_error_inside_a_200_body() -> None:
    api = ScriptedServer([json_response({"status": "error", "message": "Invalid API key"})])
    with pytest.raises(lc.ModelAuthenticationError):
        chat_model(api).invoke("hi")


def test_error_inside_a_stream() -> None:
    body = "data: " + '{"status": "error", "message": "Model not found"}' + "\n\n"
    api = ScriptedServer(
        [httpx2.Response(200, text=body, headers={"content-type": "text/event-stream"})]
    )
    with pytest.raises(lm.ModelsLabNotFoundError):
        list(chat_model(api).stream("hi"))


def test_stream_cut_short() -> None:
    api = ScriptedServer([sse_response(chunk(content="partial"), done=False)])
    with pytest.raises(lc.ModelAPIError) as caught:
        list(chat_model(api).stream("hi"))
    assert isinstance(caught.value, transport.IncompleteStreamError)


async def test_async_errors_are_converted() -> None:
    api = ScriptedServer(
        [json_response(_error_body("slow down"), 429, headers={"retry-after": "0"})]
    )
    with pytest.raises(lm.ModelsLabRateLimitError) as caught:
        await chat_model(api).ainvoke("hi")
    assert caught.value.is_retryable


def test_connection_and_timeout_errors() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    def stall(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    with pytest.raises(lm.ModelsLabConnectionError) as refused:
        chat_model(ScriptedServer([refuse])).invoke("hi")
    assert isinstance(refused.value, lc.ModelConnectionError)
    assert isinstance(refused.value, transport.APIConnectionError)
    with pytest.raises(lm.ModelsLabTimeoutError) as stalled:
        chat_model(ScriptedServer([stall])).invoke("hi")
    assert isinstance(stalled.value, lc.ModelTimeoutError)
    assert isinstance(stalled.value, transport.APITimeoutError)


def test_missing_key_for_modelslab_is_an_authentication_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MODELSLAB_API_KEY", raising=False)
    api = ScriptedServer([json_response(completion_body())])
    with pytest.raises(lc.ModelAuthenticationError, match="MODELSLAB_API_KEY"):
        chat_model(api, api_key=None).invoke("hi")
    assert api.requests == []


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (transport.RateLimitError("busy", status_code=429), True),
        (transport.ServerError("down", status_code=503), True),
        (transport.APIConnectionError("could not reach", retryable=True), True),
        (transport.APITimeoutError("connect timed out", retryable=True), True),
        (transport.AuthenticationError("bad key", status_code=401), False),
        (transport.BadRequestError("bad", status_code=400), False),
        (transport.NotFoundError("no model", status_code=404), False),
        (transport.InsufficientCreditsError("top up", status_code=402), False),
        # The five on which LangChain's class default (True) and the transport disagree:
        (transport.APITimeoutError("no reply within 300 s"), False),
        (transport.APIConnectionError("the connection broke during the stream"), False),
        (transport.IncompleteStreamError("the stream ended early"), False),
        (transport.InvalidResponseError("not JSON"), False),
        (transport.APIStatusError("odd status", status_code=302), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_is_retryable_is_the_transports_retryable(
    error: transport.ModelsLabError, retryable: bool
) -> None:
    converted = lm.to_langchain_error(error)
    assert isinstance(converted, lc.ModelError)
    assert converted.retryable is retryable
    assert converted.is_retryable is retryable


def test_langchain_retry_middleware_resends_only_what_the_transport_would() -> None:
    """``ModelRetryMiddleware`` retries on ``is_retryable``: a read timeout is not resent."""
    from langchain.agents.middleware import ModelRetryMiddleware

    def stall(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    middleware = ModelRetryMiddleware(max_retries=2, initial_delay=0, jitter=False)
    timed_out = ScriptedServer([stall, json_response(completion_body("too late"))])
    llm = chat_model(timed_out)
    with pytest.raises(lc.ModelTimeoutError) as caught:
        middleware.wrap_model_call(None, lambda _: llm.invoke("hi"))  # type: ignore[arg-type]
    assert caught.value.is_retryable is False
    assert len(timed_out.requests) == 1

    limited = ScriptedServer(
        [json_response(_error_body("busy"), 429), json_response(completion_body("finally"))]
    )
    llm = chat_model(limited)
    answer = middleware.wrap_model_call(None, lambda _: llm.invoke("hi"))  # type: ignore[arg-type]
    assert answer.content == "finally"  # type: ignore[union-attr]
    assert len(limited.requests) == 2


def test_with_retry_retries_rate_limits_and_not_auth_errors() -> None:
    rate_limited = ScriptedServer(
        [json_response(_error_body("busy"), 429), json_response(completion_body("finally"))]
    )
    retrying = chat_model(rate_limited).with_retry(
        retry_if_exception_type=(lc.ModelRateLimitError,),
        stop_after_attempt=2,
        wait_exponential_jitter=False,
    )
    assert retrying.invoke("hi").content == "finally"
    assert len(rate_limited.requests) == 2

    denied = ScriptedServer([json_response(_error_body("Invalid API key"), 401)])
    retrying = chat_model(denied).with_retry(
        retry_if_exception_type=(lc.ModelRateLimitError,), stop_after_attempt=3
    )
    with pytest.raises(lc.ModelAuthenticationError):
        retrying.invoke("hi")
    assert len(denied.requests) == 1


def test_transport_retries_before_surfacing() -> None:
    api = ScriptedServer(
        [json_response(_error_body("busy"), 503), json_response(completion_body("ok"))]
    )
    llm = chat_model(api, max_retries=1)
    llm.client.sync_client.retry_policy = RetryPolicy(
        initial_backoff=0, max_backoff=0, sleep=lambda _: None
    )
    assert llm.invoke("hi").content == "ok"
    assert len(api.requests) == 2


def test_to_langchain_error_keeps_attributes_and_is_idempotent() -> None:
    original = transport.RateLimitError(
        "busy",
        status_code=429,
        request_id="r1",
        code="429",
        error_type="rate_limit_error",
        retry_after=2.0,
        body={"x": 1},
        retryable=False,
        in_stream=True,
    )
    converted = lm.to_langchain_error(original)
    assert isinstance(converted, lm.ModelsLabRateLimitError)
    assert (converted.request_id, converted.retry_after, converted.body) == ("r1", 2.0, {"x": 1})
    assert (converted.code, converted.error_type, converted.status_code) == (
        "429",
        "rate_limit_error",
        429,
    )
    assert (converted.retryable, converted.is_retryable, converted.in_stream) == (
        False,
        False,
        True,
    )
    assert (str(converted), converted.args) == (str(original), original.args)
    assert lm.to_langchain_error(converted) is converted
    other = lm.to_langchain_error(transport.ModelsLabError("odd"))
    assert isinstance(other, lm.ModelsLabModelError)
    assert isinstance(other, lc.ModelError)


def test_a_queue_timeout_becomes_the_most_specific_dual_class() -> None:
    from langchain_modelslab.errors import ModelsLabQueueTimeoutError
    from modelslab_transport import QueueTimeoutError

    original = QueueTimeoutError("no slot within 0.3 s; raise queue_timeout", retryable=False)
    converted = lm.to_langchain_error(original)
    assert type(converted) is ModelsLabQueueTimeoutError
    assert isinstance(converted, QueueTimeoutError)
    assert isinstance(converted, lm.ModelsLabTimeoutError)
    assert isinstance(converted, lc.ModelTimeoutError)
    assert (str(converted), converted.args) == (str(original), original.args)
    assert (converted.retryable, converted.is_retryable) == (False, False)
    other_timeout = lm.to_langchain_error(transport.APITimeoutError("read"))
    assert type(other_timeout) is lm.ModelsLabTimeoutError


def test_errors_never_show_the_key() -> None:
    api = ScriptedServer([json_response({"error": f"bad key {API_KEY}"}, 401)])
    with pytest.raises(lc.ModelAuthenticationError) as caught:
        chat_model(api).invoke("hi")
    error = caught.value
    for text in (str(error), repr(error), str(error.__cause__), repr(getattr(error, "body", ""))):
        assert API_KEY not in text


def test_errors_flow_through_runnables() -> None:
    api = ScriptedServer([json_response(_error_body("nope"), 403)])
    chain = RunnableLambda(lambda x: x) | chat_model(api)
    with pytest.raises(lc.ModelPermissionDeniedError):
        chain.invoke("hi")
