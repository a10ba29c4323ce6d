"""Retry hints in every common shape, and Retry-After dates read against the server's clock.

All of them are read in :mod:`modelslab_transport.decoding.error_bodies`; the waits stay bounded by
``MAX_RETRY_AFTER`` there and by ``RetryPolicy.max_wait`` in the retry layer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

import modelslab_transport.decoding.error_bodies as error_bodies
from modelslab_transport import RateLimitError
from modelslab_transport.config.defaults import MAX_RETRY_AFTER
from modelslab_transport.decoding.error_bodies import (
    error_from_reply,
    parse_duration,
    parse_retry_after,
    rate_limit_reset,
    retry_hint_in_body,
)
from modelslab_transport.wire import ChatCompletion
from tests.support.clients import (
    SleepRecorder,
    async_client,
    chat_model,
    scripted_llm,
    sync_client,
)
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body, json_response
from tests.support.wire_requests import chat_request

MODES = pytest.mark.parametrize("mode", ["sync", "async"])

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
GOOGLE_429 = {
    "error": {
        "code": 429,
        "message": "Resource has been exhausted (e.g. check quota).",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaMetric": "generate_requests_per_model"}],
            },
            {"@type": RETRY_INFO, "retryDelay": "2.5s"},
        ],
    }
}

# Sun, 06 Nov 1994 08:49:37 GMT in Unix time.
SERVER_NOW = 784111777.0


# ------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2.5s", 2.5),
        ("44s", 44.0),
        ("0.000001s", 0.000001),
        ("250ms", 0.25),
        ("1m30s", 90.0),
        ("2m59.56s", 179.56),
        ("1h", 3600.0),
        ("20 seconds", 20.0),
        ("3", 3.0),
        (7, 7.0),
        ({"seconds": 2, "nanos": 500000000}, 2.5),
        ({"seconds": "3"}, 3.0),
    ],
)
def test_parse_duration_reads_every_form(value: Any, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["soon", "2.5 parsecs", "s", "", None, True, [], {}, "-2s"])
def test_parse_duration_refuses_what_is_not_a_duration(value: Any) -> None:
    assert parse_duration(value) is None


# ------------------------------------------------------------- body shapes


@pytest.mark.parametrize(
    ("body", "seconds"),
    [
        # ModelsLab's own shape (shared/modelslab-api.md §7).
        ({"status": "error", "message": "Too many queued requests.", "retry_after": 30}, 30.0),
        ({"error": {"message": "slow down", "retry_after": "7"}}, 7.0),
        ({"error": {"message": "slow down", "retry_after_ms": 1500}}, 1.5),
        # Google RetryInfo inside error.details, as an object body and as a list body.
        (GOOGLE_429, 2.5),
        ([GOOGLE_429], 2.5),
        (
            {"error": {"message": "x", "details": [{"@type": RETRY_INFO, "retryDelay": "44s"}]}},
            44.0,
        ),
        ({"details": [{"@type": RETRY_INFO, "retryDelay": "1m"}], "message": "x"}, 60.0),
        ({"error": {"details": [{"@type": RETRY_INFO, "retryDelay": {"seconds": 3}}]}}, 3.0),
        # Wording of OpenAI-, Groq- and Gemini-style rate-limit messages.
        ({"error": {"message": "Rate limit reached. Please try again in 1.054s. Visit"}}, 1.054),
        ({"error": {"message": "Limit reached. Please try again in 2m59.56s."}}, 179.56),
        ({"error": {"message": "Quota exceeded. Please retry in 44.352941s."}}, 44.352941),
        ({"message": "Too many requests, retry after 20 seconds"}, 20.0),
        ({"error": {"message": "try again in 20ms"}}, 0.02),
    ],
)
def test_retry_hint_in_every_body_shape(body: Any, seconds: float) -> None:
    assert retry_hint_in_body(body) == pytest.approx(seconds)
    assert parse_retry_after({}, body) == pytest.approx(seconds)
    error = error_from_reply(429, body, "", {})
    assert isinstance(error, RateLimitError)
    assert error.retry_after == pytest.approx(seconds)


def test_structured_hint_wins_over_the_message() -> None:
    body = {"error": {"message": "try again in 9s", "retry_after": 2}}
    assert retry_hint_in_body(body) == 2.0


def test_retry_info_of_another_type_is_not_a_hint() -> None:
    body = {"error": {"details": [{"@type": "type.googleapis.com/x.Other", "retryDelay": "5s"}]}}
    assert retry_hint_in_body(body) is None


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"details": [{"@type": RETRY_INFO, "retryDelay": "99999999999s"}]}},
        {"retry_after": "1e30"},
        {"error": {"message": "Please try again in 99999999 hours"}},
    ],
)
def test_body_hints_are_capped(body: Any) -> None:
    assert retry_hint_in_body(body) == MAX_RETRY_AFTER


@pytest.mark.parametrize("body", [{"retry_after": "nan"}, {"retry_after": "inf"}, {"x": 1}, None])
def test_unusable_body_hints_are_none(body: Any) -> None:
    assert retry_hint_in_body(body) is None


@pytest.mark.parametrize(("value", "seconds"), [("1.5s", 1.5), ("2m", 120.0), ("250ms", 0.25)])
def test_a_retry_after_written_as_a_duration_is_read(value: str, seconds: float) -> None:
    assert parse_retry_after({"retry-after": value}) == pytest.approx(seconds)


def test_headers_win_over_the_body() -> None:
    assert parse_retry_after({"retry-after": "4"}, GOOGLE_429) == 4.0
    assert parse_retry_after({"retry-after-ms": "100"}, GOOGLE_429) == 0.1
    assert parse_retry_after({"retry-after": "soon"}, GOOGLE_429) == 2.5


# ------------------------------------------------------- rate-limit reset headers


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"x-ratelimit-reset-requests": "1s"}, 1.0),
        ({"x-ratelimit-reset-tokens": "6m0s"}, 360.0),
        ({"x-ratelimit-reset-tokens": "20ms"}, 0.02),
        ({"x-ratelimit-reset-requests": "2m59.56s"}, 179.56),
        ({"x-ratelimit-reset-requests": "7.66s"}, 7.66),
        # Neither limit says it is exhausted: the soonest reset.
        ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}, 1.0),
        # The exhausted limit's reset, even when the other resets sooner.
        (
            {
                "x-ratelimit-reset-requests": "1s",
                "x-ratelimit-remaining-requests": "59",
                "x-ratelimit-reset-tokens": "12s",
                "x-ratelimit-remaining-tokens": "0",
            },
            12.0,
        ),
        # Both exhausted: the later reset, when both allow a request again.
        (
            {
                "x-ratelimit-reset-requests": "30s",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-tokens": "250ms",
                "x-ratelimit-remaining-tokens": "0",
            },
            30.0,
        ),
    ],
)
def test_rate_limit_reset_headers_are_read(headers: dict[str, str], seconds: float) -> None:
    assert rate_limit_reset(headers) == pytest.approx(seconds)
    assert parse_retry_after(headers, status_code=429) == pytest.approx(seconds)
    error = error_from_reply(429, {"error": {"message": "Rate limit reached"}}, "", headers)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"ratelimit-reset": "50"}, 50.0),
        ({"x-ratelimit-reset": "12"}, 12.0),
        # A Unix time, counted from the server's Date.
        (
            {
                "x-ratelimit-reset": "1796601607",
                "date": "Mon, 07 Dec 2026 00:00:00 GMT",  # Unix time 1796601600
            },
            7.0,
        ),
        # OpenAI's per-limit headers win over the general one.
        ({"x-ratelimit-reset": "12", "x-ratelimit-reset-requests": "2s"}, 2.0),
    ],
)
def test_general_rate_limit_reset_headers(headers: dict[str, str], seconds: float) -> None:
    assert rate_limit_reset(headers) == pytest.approx(seconds)
    assert parse_retry_after(headers, status_code=429) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-ratelimit-reset-requests": "soon"}, {"x-ratelimit-reset-tokens": "-1s"}],
)
def test_unreadable_reset_headers_are_no_hint(headers: dict[str, str]) -> None:
    assert rate_limit_reset(headers) is None
    assert parse_retry_after(headers, status_code=429) is None


def test_reset_headers_are_a_hint_only_for_a_429() -> None:
    # OpenAI sends them on every reply; a 5xx's wait is the backoff's, not the limit's.
    headers = {"x-ratelimit-reset-requests": "6m0s"}
    assert parse_retry_after(headers, status_code=500) is None
    assert error_from_reply(500, {"error": {"message": "boom"}}, "", headers).retry_after is None


def test_explicit_hints_win_over_reset_headers() -> None:
    headers = {"x-ratelimit-reset-requests": "6m0s"}
    assert parse_retry_after({**headers, "retry-after": "2"}, status_code=429) == 2.0
    assert parse_retry_after(headers, GOOGLE_429, status_code=429) == 2.5


def test_a_far_reset_is_capped() -> None:
    headers = {"x-ratelimit-reset-tokens": "99999h"}
    assert parse_retry_after(headers, status_code=429) == MAX_RETRY_AFTER


# ------------------------------------------------------------------ dates


@pytest.fixture
def local_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets the local clock the module reads (``time.time``) to an offset from SERVER_NOW."""

    def set_offset(seconds: float) -> None:
        monkeypatch.setattr(error_bodies.time, "time", lambda: SERVER_NOW + seconds)

    return set_offset


@pytest.fixture
def zone_east_of_utc() -> Iterator[None]:
    """Runs the test with the process in UTC+9 (and restores the zone afterwards)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX-only")
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        assert time.timezone == -9 * 3600
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


DATE_FORMS = pytest.mark.parametrize(
    "retry_at",
    [
        "Sun, 06 Nov 1994 08:49:40 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:40 GMT",  # RFC 850
        "Sun Nov  6 08:49:40 1994",  # asctime: UTC, never local time
    ],
)


@DATE_FORMS
@pytest.mark.parametrize("skew", [0.0, 3600.0, -3600.0])
def test_retry_date_is_counted_from_the_server_date(
    retry_at: str, skew: float, local_clock: Any
) -> None:
    local_clock(skew)  # the local clock is an hour ahead, behind or right: it does not matter
    headers = {"retry-after": retry_at, "date": "Sun, 06 Nov 1994 08:49:37 GMT"}
    assert parse_retry_after(headers) == 3.0


@DATE_FORMS
def test_retry_date_in_a_zone_east_of_utc(
    retry_at: str, local_clock: Any, zone_east_of_utc: None
) -> None:
    local_clock(0.0)
    assert parse_retry_after({"retry-after": retry_at}) == 3.0
    server = {"retry-after": retry_at, "date": "Sun Nov  6 08:49:37 1994"}
    assert parse_retry_after(server) == 3.0


@DATE_FORMS
def test_without_a_date_header_the_local_clock_is_used(retry_at: str, local_clock: Any) -> None:
    local_clock(1.0)
    assert parse_retry_after({"retry-after": retry_at}) == 2.0
    local_clock(100.0)
    assert parse_retry_after({"retry-after": retry_at}) == 0.0


def test_an_unreadable_date_header_falls_back_to_the_local_clock(local_clock: Any) -> None:
    local_clock(0.0)
    headers = {"retry-after": "Sun, 06 Nov 1994 08:49:40 GMT", "date": "yesterday"}
    assert parse_retry_after(headers) == 3.0


def test_a_date_far_ahead_of_the_server_date_is_capped(local_clock: Any) -> None:
    local_clock(-(10**6))
    headers = {
        "retry-after": "Fri, 31 Dec 9999 23:59:59 GMT",
        "date": "Sun, 06 Nov 1994 08:49:37 GMT",
    }
    assert parse_retry_after(headers) == MAX_RETRY_AFTER


# ------------------------------------------------------------ through the retry layer


async def _complete(mode: str, server: ScriptedServer, recorder: SleepRecorder) -> Any:
    if mode == "sync":
        return sync_client(server, recorder, max_retries=2).chat_completions(chat_request())
    return await async_client(server, recorder, max_retries=2).chat_completions(chat_request())


@MODES
async def test_google_retry_info_is_waited_for(mode: str) -> None:
    server = ScriptedServer([json_response(GOOGLE_429, 429), json_response(completion_body())])
    recorder = SleepRecorder()
    assert isinstance(await _complete(mode, server, recorder), ChatCompletion)
    assert recorder.delays == [2.5]
    assert len(server.requests) == 2


@MODES
@pytest.mark.parametrize("skew", [3600.0, -3600.0])
async def test_retry_date_with_a_skewed_local_clock(
    mode: str, skew: float, local_clock: Any
) -> None:
    local_clock(skew)
    headers = {
        "retry-after": "Sun, 06 Nov 1994 08:49:40 GMT",
        "date": "Sun, 06 Nov 1994 08:49:37 GMT",
    }
    server = ScriptedServer(
        [
            json_response({"error": {"message": "busy"}}, 429, headers),
            json_response(completion_body()),
        ]
    )
    recorder = SleepRecorder()
    assert isinstance(await _complete(mode, server, recorder), ChatCompletion)
    assert recorder.delays == [3.0]


@MODES
async def test_a_body_hint_over_max_wait_is_not_slept(mode: str) -> None:
    body = {"error": {"message": "quota", "details": [{"@type": RETRY_INFO, "retryDelay": "120s"}]}}
    server = ScriptedServer([json_response(body, 429)])
    recorder = SleepRecorder()
    with pytest.raises(RateLimitError) as caught:
        await _complete(mode, server, recorder)
    assert caught.value.retry_after == 120.0
    assert recorder.delays == []
    assert len(server.requests) == 1


@MODES
async def test_langchain_waits_for_retry_info(mode: str) -> None:
    server = ScriptedServer(
        [json_response(GOOGLE_429, 429), json_response(completion_body("after the cooldown"))]
    )
    recorder = SleepRecorder()
    llm = chat_model(server, max_retries=1)
    if mode == "sync":
        llm.client.sync_client.retry_policy = recorder.policy()
        reply = llm.invoke("hi")
    else:
        llm.client.async_client.retry_policy = recorder.policy()
        reply = await llm.ainvoke("hi")
    assert reply.content == "after the cooldown"
    assert recorder.delays == [2.5]


@MODES
async def test_rate_limit_reset_is_waited_for(mode: str) -> None:
    headers = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-requests": "0"}
    server = ScriptedServer(
        [
            json_response({"error": {"message": "Rate limit reached"}}, 429, headers),
            json_response(completion_body()),
        ]
    )
    recorder = SleepRecorder()
    assert isinstance(await _complete(mode, server, recorder), ChatCompletion)
    assert recorder.delays == [1.0]


# ---------------------------------------------------------- through both frameworks

SERVER_DATE = "Sun, 06 Nov 1994 08:49:37 GMT"


def _replies(kind: str) -> list[Any]:
    if kind == "retry_info":
        first = json_response(GOOGLE_429, 429)
    else:
        headers = {"retry-after": "Sun Nov  6 08:49:40 1994", "date": SERVER_DATE}
        first = json_response({"error": {"message": "busy"}}, 429, headers)
    return [first, json_response(completion_body("after the cooldown"))]


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("kind", ["retry_info", "asctime_date"])
@pytest.mark.parametrize("skew", [3600.0, -3600.0])
@MODES
async def test_both_frameworks_wait_as_the_server_asks(
    framework: str, kind: str, skew: float, mode: str, local_clock: Any
) -> None:
    from llama_index.core.base.llms.types import ChatMessage

    local_clock(skew)
    recorder = SleepRecorder()
    if framework == "langchain":
        server = ScriptedServer(_replies(kind))
        model: Any = chat_model(server, max_retries=1)
    else:
        model, server = scripted_llm(*_replies(kind), max_retries=1)
    client = model.client.sync_client if mode == "sync" else model.client.async_client
    client.retry_policy = recorder.policy()
    if framework == "langchain":
        reply = model.invoke("hi") if mode == "sync" else await model.ainvoke("hi")
        text = reply.content
    else:
        messages = [ChatMessage(role="user", content="hi")]
        response = model.chat(messages) if mode == "sync" else await model.achat(messages)
        text = response.message.content
    assert text == "after the cooldown"
    assert recorder.delays == [2.5 if kind == "retry_info" else 3.0]
    assert len(server.requests) == 2
