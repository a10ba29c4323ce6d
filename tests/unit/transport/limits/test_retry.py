"""The one retry layer: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest

from modelslab_transport import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from modelslab_transport.wire import ChatCompletion
from tests.support.clients import SleepRecorder, async_client, sync_client
from tests.support.mock_api import Reply, ScriptedServer
from tests.support.replies import chunk, completion_body, json_response, sse, stream_response
from tests.support.wire_requests import chat_request

MODES = pytest.mark.parametrize("mode", ["sync", "async"])
RATE_LIMITED = {
    "status": "error",
    "message": "Rate limit exceeded. Please slow down.",
    "retry_after": 30,
}
UNAVAILABLE = {"status": "error", "message": "Service temporarily unavailable."}


@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "modelslab_transport.limits.retry.random", SimpleNamespace(random=lambda: 0.0)
    )


async def complete(
    mode: str, replies: list[Reply], **setting_overrides: Any
) -> tuple[ChatCompletion | Exception, ScriptedServer, SleepRecorder]:
    """One non-streamed call; returns its result (or the error), the server, the sleeps."""
    server = ScriptedServer(replies)
    recorder = SleepRecorder()
    try:
        if mode == "sync":
            result: ChatCompletion | Exception = sync_client(
                server, recorder, **setting_overrides
            ).chat_completions(chat_request())
        else:
            result = await async_client(server, recorder, **setting_overrides).chat_completions(
                chat_request()
            )
    except Exception as exc:
        result = exc
    return result, server, recorder


async def stream_texts(
    mode: str, replies: list[Reply], **setting_overrides: Any
) -> tuple[list[str], Exception | None, ScriptedServer, SleepRecorder]:
    """One streamed call; returns the texts read, the error if any, server and sleeps."""
    server = ScriptedServer(replies)
    recorder = SleepRecorder()
    texts: list[str] = []
    error: Exception | None = None
    try:
        if mode == "sync":
            client = sync_client(server, recorder, **setting_overrides)
            with client.stream_chat_completions(chat_request()) as stream:
                texts.extend(c.choices[0].delta.text for c in stream if c.choices)
        else:
            aclient = async_client(server, recorder, **setting_overrides)
            async with await aclient.stream_chat_completions(chat_request()) as astream:
                async for item in astream:
                    if item.choices:
                        texts.append(item.choices[0].delta.text)
    except Exception as exc:
        error = exc
    return texts, error, server, recorder


# ------------------------------------------------------------ what is retried


@MODES
async def test_connect_errors_are_retried(mode: str, no_jitter: None) -> None:
    refused = httpx2.ConnectError("[Errno 111] Connection refused")
    result, server, recorder = await complete(
        mode, [refused, refused, json_response(completion_body("finally"))]
    )
    assert isinstance(result, ChatCompletion)
    assert result.choices[0].message.text == "finally"
    assert len(server.requests) == 3
    assert recorder.delays == [0.5, 1.0]


@MODES
@pytest.mark.parametrize("exc", [httpx2.ConnectTimeout("slow"), httpx2.PoolTimeout("full")])
async def test_connect_and_pool_timeouts_are_retried(mode: str, exc: Exception) -> None:
    result, server, recorder = await complete(mode, [exc, json_response(completion_body())])
    assert isinstance(result, ChatCompletion)
    assert len(server.requests) == 2
    assert len(recorder.delays) == 1


@MODES
async def test_read_timeout_on_a_plain_call_is_not_retried(mode: str) -> None:
    result, server, recorder = await complete(
        mode, [httpx2.ReadTimeout("silent"), json_response(completion_body())]
    )
    assert isinstance(result, APITimeoutError)
    assert result.retryable is False
    assert len(server.requests) == 1
    assert recorder.delays == []


@MODES
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_429_and_5xx_are_retried(mode: str, status: int, no_jitter: None) -> None:
    result, server, recorder = await complete(
        mode,
        [
            json_response({"status": "error", "message": "busy"}, status),
            json_response(completion_body()),
        ],
    )
    assert isinstance(result, ChatCompletion)
    assert len(server.requests) == 2
    assert recorder.delays == [0.5]


@MODES
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, BadRequestError),
    ],
)
async def test_client_errors_are_never_retried(
    mode: str, status: int, cls: type[APIStatusError]
) -> None:
    result, server, recorder = await complete(
        mode,
        [
            json_response({"status": "error", "message": "no"}, status),
            json_response(completion_body()),
        ],
        max_retries=5,
    )
    assert type(result) is cls
    assert len(server.requests) == 1
    assert recorder.delays == []


@MODES
async def test_errors_inside_200_bodies_are_not_retried(mode: str) -> None:
    result, server, recorder = await complete(
        mode,
        [
            json_response({"status": "error", "message": "Internal server error"}),
            json_response(completion_body()),
        ],
    )
    assert isinstance(result, ServerError)
    assert len(server.requests) == 1
    assert recorder.delays == []


# ------------------------------------------------------------- how long to wait


@MODES
async def test_retry_after_header_wins_over_body_retry_after(mode: str) -> None:
    result, server, recorder = await complete(
        mode,
        [json_response(RATE_LIMITED, 429, {"retry-after": "3"}), json_response(completion_body())],
    )
    assert isinstance(result, ChatCompletion)
    assert recorder.delays == [3.0]
    assert len(server.requests) == 2


@MODES
async def test_body_retry_after_wins_over_backoff(mode: str) -> None:
    result, _, recorder = await complete(
        mode, [json_response(RATE_LIMITED, 429), json_response(completion_body())]
    )
    assert isinstance(result, ChatCompletion)
    assert recorder.delays == [30.0]


@MODES
async def test_retry_after_ms_header(mode: str) -> None:
    result, _, recorder = await complete(
        mode,
        [
            json_response(UNAVAILABLE, 503, {"retry-after-ms": "250"}),
            json_response(completion_body()),
        ],
    )
    assert isinstance(result, ChatCompletion)
    assert recorder.delays == [0.25]


@MODES
async def test_retry_after_http_date(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 in Unix time.
    monkeypatch.setattr(
        "modelslab_transport.decoding.error_bodies.time", SimpleNamespace(time=lambda: 1445412475.0)
    )
    result, _, recorder = await complete(
        mode,
        [
            json_response(RATE_LIMITED, 429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            json_response(completion_body()),
        ],
    )
    assert isinstance(result, ChatCompletion)
    assert recorder.delays == [5.0]


@MODES
async def test_backoff_grows_exponentially_up_to_the_cap(mode: str, no_jitter: None) -> None:
    result, server, recorder = await complete(
        mode, [json_response(UNAVAILABLE, 503)], max_retries=6
    )
    assert isinstance(result, ServerError)
    assert len(server.requests) == 7
    assert recorder.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@MODES
async def test_backoff_jitter_takes_off_at_most_the_jitter_fraction(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "modelslab_transport.limits.retry.random", SimpleNamespace(random=lambda: 0.999999)
    )
    _, _, recorder = await complete(mode, [json_response(UNAVAILABLE, 503)], max_retries=4)
    assert recorder.delays == pytest.approx([0.375, 0.75, 1.5, 3.0], rel=1e-5)


@MODES
async def test_backoff_with_real_jitter_stays_within_bounds(mode: str) -> None:
    _, _, recorder = await complete(mode, [json_response(UNAVAILABLE, 503)], max_retries=5)
    assert len(recorder.delays) == 5
    for attempt, delay in enumerate(recorder.delays):
        ceiling = min(8.0, 0.5 * 2**attempt)
        assert ceiling * 0.75 <= delay <= ceiling


def test_retry_policy_delay_directly() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=5.0, jitter=0.0, max_wait=10.0)
    busy = ServerError("busy", status_code=503)
    assert [policy.delay(n, busy, 10) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(3, busy, 3) is None
    assert policy.delay(0, BadRequestError("bad", status_code=400), 3) is None
    assert policy.delay(0, RateLimitError("r", status_code=429, retry_after=10.0), 3) == 10.0
    assert policy.delay(0, RateLimitError("r", status_code=429, retry_after=10.5), 3) is None
    assert policy.delay(0, APIConnectionError("x", retryable=True), 1) == 1.0
    assert policy.delay(0, APIConnectionError("x"), 1) is None


@pytest.mark.parametrize(
    "kwargs",
    [{"jitter": 1.5}, {"jitter": -0.1}, {"initial_backoff": -1.0}, {"max_wait": -1.0}],
)
def test_retry_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**kwargs)


# ------------------------------------------------------------- when to give up


@MODES
@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_max_retries_bounds_the_attempts(mode: str, max_retries: int) -> None:
    result, server, recorder = await complete(
        mode, [json_response(UNAVAILABLE, 503)], max_retries=max_retries
    )
    assert isinstance(result, ServerError)
    assert result.status_code == 503
    assert len(server.requests) == max_retries + 1
    assert len(recorder.delays) == max_retries


@MODES
async def test_max_retries_zero_means_exactly_one_connect_attempt(mode: str) -> None:
    result, server, recorder = await complete(mode, [httpx2.ConnectError("refused")], max_retries=0)
    assert isinstance(result, APIConnectionError)
    assert result.retryable is True
    assert isinstance(result.__cause__, httpx2.ConnectError)
    assert len(server.requests) == 1
    assert recorder.delays == []


@MODES
async def test_retry_after_longer_than_max_wait_is_not_retried(mode: str) -> None:
    result, server, recorder = await complete(
        mode,
        [
            json_response(RATE_LIMITED, 429, {"retry-after": "120"}),
            json_response(completion_body()),
        ],
    )
    assert isinstance(result, RateLimitError)
    assert result.retry_after == 120.0
    assert len(server.requests) == 1
    assert recorder.delays == []


@MODES
async def test_exhausted_retries_raise_the_last_error(mode: str) -> None:
    result, server, recorder = await complete(
        mode,
        [
            json_response(UNAVAILABLE, 503),
            json_response(RATE_LIMITED, 429, {"retry-after": "1", "x-request-id": "last"}),
        ],
        max_retries=1,
    )
    assert isinstance(result, RateLimitError)
    assert result.request_id == "last"
    assert len(server.requests) == 2
    assert len(recorder.delays) == 1


# ------------------------------------------------------------------- streams


@MODES
async def test_streams_are_retried_on_429_and_503_before_the_first_byte(mode: str) -> None:
    texts, error, server, recorder = await stream_texts(
        mode,
        [
            json_response(RATE_LIMITED, 429, {"retry-after": "2"}),
            json_response(UNAVAILABLE, 503, {"retry-after": "1"}),
            stream_response(sse(chunk("ok", finish_reason="stop"))),
        ],
    )
    assert error is None
    assert texts == ["ok"]
    assert len(server.requests) == 3
    assert recorder.delays == [2.0, 1.0]
    assert all(response.is_closed for response in server.responses)
    assert all(r.headers["accept"] == "text/event-stream" for r in server.requests)


@MODES
async def test_stream_connect_error_is_retried(mode: str) -> None:
    texts, error, server, _ = await stream_texts(
        mode,
        [httpx2.ConnectError("refused"), stream_response(sse(chunk("ok", finish_reason="stop")))],
    )
    assert error is None
    assert texts == ["ok"]
    assert len(server.requests) == 2


@MODES
async def test_stream_error_status_with_a_broken_body_is_still_typed_and_retried(
    mode: str,
) -> None:
    broken = stream_response(
        b'{"status": "error", "mess',
        {"content-type": "application/json"},
        status=503,
        fail_with=httpx2.ReadError("connection reset by peer"),
    )
    texts, error, server, recorder = await stream_texts(
        mode, [broken, stream_response(sse(chunk("ok", finish_reason="stop")))]
    )
    assert error is None
    assert texts == ["ok"]
    assert len(server.requests) == 2
    assert len(recorder.delays) == 1


@MODES
async def test_stream_error_status_with_a_broken_body_when_out_of_retries(mode: str) -> None:
    broken = stream_response(
        b"<html>", {"content-type": "text/html"}, status=502, fail_with=httpx2.ReadError("reset")
    )
    texts, error, server, _ = await stream_texts(mode, [broken], max_retries=0)
    assert texts == []
    assert isinstance(error, ServerError)
    assert error.status_code == 502
    assert len(server.requests) == 1


@MODES
async def test_stream_is_never_retried_after_it_yielded_data(mode: str) -> None:
    breaking = stream_response(
        sse(chunk("first"), done=False), fail_with=httpx2.ReadError("connection reset by peer")
    )
    texts, error, server, recorder = await stream_texts(
        mode, [breaking, stream_response(sse(chunk("second", finish_reason="stop")))]
    )
    assert texts == ["first"]
    assert type(error) is APIConnectionError
    assert error.retryable is False
    assert "during the stream" in str(error)
    assert isinstance(error.__cause__, httpx2.ReadError)
    assert len(server.requests) == 1
    assert recorder.delays == []
    assert server.responses[0].is_closed


@MODES
async def test_stream_read_timeout_mid_stream_is_a_timeout_error(mode: str) -> None:
    stalling = stream_response(
        sse(chunk("first"), done=False), fail_with=httpx2.ReadTimeout("timed out")
    )
    texts, error, server, _ = await stream_texts(mode, [stalling], stream_chunk_timeout=7.5)
    assert texts == ["first"]
    assert isinstance(error, APITimeoutError)
    assert "7.5" in str(error)
    assert "stream_chunk_timeout" in str(error)
    assert len(server.requests) == 1


@MODES
async def test_error_inside_a_stream_is_not_retried(mode: str) -> None:
    texts, error, server, recorder = await stream_texts(
        mode,
        [
            stream_response(sse({"error": {"message": "overloaded", "code": 503}})),
            stream_response(sse(chunk("ok", finish_reason="stop"))),
        ],
    )
    assert texts == []
    assert isinstance(error, ServerError)
    assert len(server.requests) == 1
    assert recorder.delays == []


@MODES
async def test_stream_never_retries_client_errors(mode: str) -> None:
    _, error, server, _ = await stream_texts(
        mode, [json_response({"status": "error", "message": "Invalid API key"}, 401)]
    )
    assert isinstance(error, AuthenticationError)
    assert len(server.requests) == 1
    assert server.responses[0].is_closed


def test_a_non_finite_retry_after_on_an_error_falls_back_to_the_backoff() -> None:
    policy = RetryPolicy(initial_backoff=1.0, jitter=0.0)
    for hint in (math.nan, math.inf):
        error = RateLimitError("slow down", status_code=429, retry_after=hint)
        assert policy.delay(0, error, 2) == 1.0
