"""Faults end to end: a real loopback server misbehaves; both framework classes, sync and async.

Each scenario ends in the documented typed error or in the right answer: never a hang
(every run is bounded), never a piece of text delivered twice (the exact pieces are
compared, and the server counts the requests), never an empty answer passed off as a
success. Retries are counted at the server; retry waits are recorded, not slept (see
``conftest.py``). Every run also checks that the fake key appears nowhere in the error,
its ``__cause__`` chain, or the DEBUG logs of our loggers and httpx2/httpcore2, even when
the server echoes it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from modelslab_transport import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    IncompleteStreamError,
    InvalidResponseError,
    RateLimitError,
    ServerError,
)
from tests.faults.drivers import (
    ALL_DRIVERS,
    STREAM_CHUNK_TIMEOUT,
    STREAM_DRIVERS,
    Driver,
    Outcome,
    assert_typed_error,
)
from tests.faults.leaks import assert_no_key, exception_texts
from tests.support.fault_server import (
    Behaviour,
    FaultServer,
    close_mid_stream,
    json_reply,
    reset,
    reset_mid_stream,
    sse_reply,
    stall_after,
    text_reply,
)
from tests.support.loopback import LoopbackConnection, LoopbackRequest, refused_base_url
from tests.support.replies import chunk, completion_body

ANSWER = "Hello there"
HEAD = ["Hel", "lo"]
"""The pieces a broken stream delivers before it breaks."""
MAX_RETRIES = 2
ATTEMPTS = MAX_RETRIES + 1

each_driver = pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
each_stream_driver = pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
each_plain_driver = pytest.mark.parametrize(
    "driver", [d for d in ALL_DRIVERS if not d.streaming], ids=repr
)


def answer_for(driver: Driver) -> Behaviour:
    """The right answer, shaped for the driver: an SSE stream or a JSON completion."""
    if driver.streaming:
        return sse_reply(
            chunk("Hello"), chunk(" there"), chunk(finish_reason="stop"), "data: [DONE]\n\n"
        )
    return json_reply(completion_body(ANSWER))


def expected_pieces(driver: Driver) -> list[str]:
    """What a caller of ``driver`` receives for the right answer."""
    return ["Hello", " there"] if driver.streaming else [ANSWER]


def check_clean(outcome: Outcome, logs: pytest.LogCaptureFixture) -> None:
    """No trace of the key in the error chain or in the captured DEBUG logs."""
    if outcome.error is not None:
        assert_no_key(exception_texts(outcome.error), "the error or its __cause__ chain")
    loggers = {record.name.split(".")[0] for record in logs.records}
    assert {"modelslab_transport", "httpcore2"} <= loggers  # the logs were really captured
    assert_no_key([logs.text], "DEBUG logs")
    assert_no_key([record.getMessage() for record in logs.records], "DEBUG log records")


def succeeded(driver: Driver, outcome: Outcome) -> None:
    """The call returned the whole answer, each piece exactly once."""
    assert outcome.error is None, f"{driver.name}: {type(outcome.error).__name__}: {outcome.error}"
    assert outcome.pieces == expected_pieces(driver)
    assert outcome.text == ANSWER


def gate_after(server: FaultServer, count: int) -> Callable[[list[str]], None]:
    """An ``on_piece`` callback that opens the server's gate once ``count`` pieces arrived."""

    def on_piece(pieces: list[str]) -> None:
        if len(pieces) >= count:
            server.gate.set()

    return on_piece


# ---------------------------------------------------------- before any reply


@each_driver
def test_connection_refused(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with refused_base_url() as base_url:
        outcome = driver.run(base_url)
    error = assert_typed_error(driver, outcome, APIConnectionError)
    assert str(error).startswith(f"could not reach {base_url}/chat/completions: ")
    assert outcome.pieces == []
    assert len(retry_delays) == MAX_RETRIES  # 3 connection attempts in all
    check_clean(outcome, debug_logs)


@each_driver
def test_reset_before_headers_every_time(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(reset()) as server:
        outcome = driver.run(server.base_url)
    assert_typed_error(driver, outcome, APIConnectionError)
    assert outcome.pieces == []
    assert server.request_count == ATTEMPTS
    assert len(retry_delays) == MAX_RETRIES
    check_clean(outcome, debug_logs)


@each_driver
def test_reset_before_headers_once_then_success(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(reset(), answer_for(driver)) as server:
        outcome = driver.run(server.base_url)
    succeeded(driver, outcome)
    assert server.request_count == 2
    check_clean(outcome, debug_logs)


@each_driver
def test_no_reply_at_all_times_out(driver: Driver, debug_logs: pytest.LogCaptureFixture) -> None:
    # Streams wait stream_chunk_timeout for the headers; plain calls wait timeout.
    with FaultServer(stall_after()) as server:
        outcome = driver.run(
            server.base_url,
            timeout=STREAM_CHUNK_TIMEOUT,
            stream_chunk_timeout=STREAM_CHUNK_TIMEOUT,
        )
    assert_typed_error(driver, outcome, APITimeoutError)
    assert outcome.pieces == []
    assert server.request_count == 1  # a read timeout is not retried: the server may be busy
    check_clean(outcome, debug_logs)


# ------------------------------------------------------------- status errors


@each_driver
def test_429_with_retry_after_header_then_success(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    busy = json_reply(
        {"status": "error", "message": "Rate limit exceeded for {auth}"},
        429,
        {"retry-after": "2"},
        echo_key=True,
    )
    with FaultServer(busy, answer_for(driver)) as server:
        outcome = driver.run(server.base_url)
    succeeded(driver, outcome)
    assert server.request_count == 2
    assert retry_delays == [2.0]
    check_clean(outcome, debug_logs)


@each_driver
def test_429_with_body_retry_after_then_success(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    busy = json_reply(
        {
            "status": "error",
            "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
            "retry_after": 3,
        },
        429,
    )
    with FaultServer(busy, answer_for(driver)) as server:
        outcome = driver.run(server.base_url)
    succeeded(driver, outcome)
    assert server.request_count == 2
    assert retry_delays == [3.0]
    check_clean(outcome, debug_logs)


@each_driver
def test_429_asking_for_too_long_a_wait_is_not_retried(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    busy = json_reply(
        {"status": "error", "message": "Rate limit exceeded"}, 429, {"retry-after": "120"}
    )
    with FaultServer(busy) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, RateLimitError)
    assert isinstance(error, RateLimitError)
    assert (error.status_code, error.retry_after) == (429, 120.0)
    assert server.request_count == 1
    assert retry_delays == []
    check_clean(outcome, debug_logs)


@each_driver
def test_429_forever_gives_up_after_max_retries(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    busy = json_reply(
        {"status": "error", "message": "Rate limit exceeded", "retry_after": 0.01}, 429
    )
    with FaultServer(busy) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, RateLimitError)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 0.01
    assert server.request_count == ATTEMPTS
    assert retry_delays == [0.01] * MAX_RETRIES
    check_clean(outcome, debug_logs)


@each_driver
def test_503_then_success(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    down = json_reply(
        {"status": "error", "message": "Service temporarily unavailable. Please try again later."},
        503,
    )
    with FaultServer(down, answer_for(driver)) as server:
        outcome = driver.run(server.base_url)
    succeeded(driver, outcome)
    assert server.request_count == 2
    assert len(retry_delays) == 1
    assert 0.375 <= retry_delays[0] <= 0.5  # initial backoff 0.5 s, less up to 25 % jitter
    check_clean(outcome, debug_logs)


@each_driver
def test_500_forever_gives_up_after_max_retries(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    broken = json_reply(
        {"status": "error", "message": "Internal server error. Please try again. {auth}"},
        500,
        echo_key=True,
    )
    with FaultServer(broken) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, ServerError)
    assert isinstance(error, ServerError)
    assert error.status_code == 500
    assert "Internal server error" in error.message
    assert server.request_count == ATTEMPTS
    assert len(retry_delays) == MAX_RETRIES
    assert 0.375 <= retry_delays[0] <= 0.5  # exponential backoff, less up to 25 % jitter
    assert 0.75 <= retry_delays[1] <= 1.0
    check_clean(outcome, debug_logs)


@each_driver
def test_html_502_from_a_proxy(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title></head><body>"
        "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
        "<!-- upstream request: {auth} --></body></html>"
    )
    with FaultServer(text_reply(page, 502, echo_key=True)) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, ServerError)
    assert isinstance(error, ServerError)
    assert error.status_code == 502
    assert "502 Bad Gateway" in error.message
    assert "<" not in error.message  # the page's text, not its markup
    assert server.request_count == ATTEMPTS
    assert len(retry_delays) == MAX_RETRIES
    check_clean(outcome, debug_logs)


@each_driver
def test_401_is_not_retried(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    rejected = json_reply(
        {"status": "error", "message": "Invalid API key: {auth}"}, 401, echo_key=True
    )
    with FaultServer(rejected) as server:
        outcome = driver.run(server.base_url)
    assert_typed_error(driver, outcome, AuthenticationError)
    assert server.request_count == 1
    assert retry_delays == []
    check_clean(outcome, debug_logs)


@each_driver
def test_200_with_status_error_body(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    # A plain JSON body, also when a stream was asked for (the server may answer so).
    failed = json_reply({"status": "error", "message": "Provider returned error"})
    with FaultServer(failed) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, APIStatusError)
    assert isinstance(error, APIStatusError)
    assert (error.status_code, error.message) == (200, "Provider returned error")
    assert outcome.pieces == []
    assert server.request_count == 1
    assert retry_delays == []
    check_clean(outcome, debug_logs)


# ------------------------------------------------------- malformed plain bodies


@each_plain_driver
def test_malformed_json_body(driver: Driver, debug_logs: pytest.LogCaptureFixture) -> None:
    garbled = text_reply('{"choices": [{"message": {"content": "Hel', 200, "application/json")
    with FaultServer(garbled) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert "not valid JSON" in str(error)
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


@each_plain_driver
def test_reset_mid_body_is_retried_then_fails(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    # Headers promise 1000 bytes, 20 arrive, then a reset: nothing reached the caller yet.
    def cut(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        conn.sock.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"
            b'{"choices": [{"mess'
        )
        return reset()(conn, request)

    with FaultServer(cut) as server:
        outcome = driver.run(server.base_url)
    assert_typed_error(driver, outcome, APIConnectionError)
    assert outcome.pieces == []
    assert server.request_count == ATTEMPTS
    assert len(retry_delays) == MAX_RETRIES
    check_clean(outcome, debug_logs)


@each_plain_driver
def test_enormous_plain_body(driver: Driver) -> None:
    text = "x" * (4 * 1024 * 1024)
    with FaultServer(json_reply(completion_body(text))) as server:
        outcome = driver.run(server.base_url)
    assert outcome.error is None
    assert outcome.pieces == [text]
    assert server.request_count == 1


# ----------------------------------------------------------- broken streams


@each_stream_driver
def test_reset_mid_stream(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(reset_mid_stream(chunk("Hel"), chunk("lo"))) as server:
        outcome = driver.run(server.base_url, on_piece=gate_after(server, len(HEAD)))
    assert_typed_error(driver, outcome, APIConnectionError)
    assert "broke during the stream" in str(outcome.error)
    assert outcome.pieces == HEAD  # each piece once, then the error; nothing replayed
    assert server.request_count == 1  # never retried once text was delivered
    assert retry_delays == []
    check_clean(outcome, debug_logs)


@each_stream_driver
def test_connection_closed_mid_stream(driver: Driver, debug_logs: pytest.LogCaptureFixture) -> None:
    with FaultServer(close_mid_stream(chunk("Hel"), chunk("lo"))) as server:
        outcome = driver.run(server.base_url, on_piece=gate_after(server, len(HEAD)))
    assert_typed_error(driver, outcome, APIConnectionError)
    assert outcome.pieces == HEAD
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


@each_stream_driver
def test_stream_ends_without_done_or_finish_reason(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(sse_reply(chunk("Hel"), chunk("lo"))) as server:
        outcome = driver.run(server.base_url)
    assert_typed_error(driver, outcome, IncompleteStreamError)
    assert outcome.pieces == HEAD
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


@each_stream_driver
def test_stream_ends_without_done_after_finish_reason(driver: Driver) -> None:
    with FaultServer(
        sse_reply(chunk("Hello"), chunk(" there"), chunk(finish_reason="stop"))
    ) as server:
        outcome = driver.run(server.base_url)
    succeeded(driver, outcome)
    assert server.request_count == 1


USAGE_ONLY = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 0}}


@each_stream_driver
@pytest.mark.parametrize(
    "events", [("data: [DONE]\n\n",), (USAGE_ONLY, "data: [DONE]\n\n")], ids=["done", "usage"]
)
def test_stream_with_no_choice_at_all_is_an_error(
    driver: Driver, events: tuple[Any, ...], debug_logs: pytest.LogCaptureFixture
) -> None:
    # Like a plain reply with "choices": [], not an empty answer passed off as a success.
    with FaultServer(sse_reply(*events)) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert "without any choice" in str(error)
    assert outcome.pieces == []
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


@each_driver
@pytest.mark.parametrize(
    "choice",
    [{"index": 0, "finish_reason": "stop"}, {"index": 0, "message": None, "finish_reason": "stop"}],
    ids=["absent", "null"],
)
def test_a_reply_whose_choice_has_no_message_is_an_error(
    driver: Driver, choice: dict[str, Any], debug_logs: pytest.LogCaptureFixture
) -> None:
    # No answer at all, not an empty one (that is a message with no text: below).
    body = {"id": "r1", "object": "chat.completion", "model": "m", "choices": [choice]}
    with FaultServer(json_reply(body)) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert str(error).startswith("choice 0 of the chat completion reply has no 'message' to read")
    assert "(its members: finish_reason, index)" in str(error)
    assert outcome.pieces == []
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


@each_driver
def test_a_choice_shaped_as_the_other_kind_still_gives_the_answer(driver: Driver) -> None:
    # Some servers put a stream chunk's "delta" in a whole reply, or a whole reply's
    # "message" in stream chunks: the text is the same, and is not lost.
    if driver.streaming:

        def piece(text: str | None, finish: str | None = None) -> dict[str, Any]:
            message = {"role": "assistant", "content": text} if text is not None else None
            choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
            if message is not None:
                choice["message"] = message
            return {"id": "r1", "object": "chat.completion.chunk", "choices": [choice]}

        behaviour = sse_reply(
            piece("Hello"), piece(" there"), piece(None, "stop"), "data: [DONE]\n\n"
        )
    else:
        choice = {
            "index": 0,
            "delta": {"role": "assistant", "content": ANSWER},
            "finish_reason": "stop",
        }
        behaviour = json_reply({"id": "r1", "object": "chat.completion", "choices": [choice]})
    with FaultServer(behaviour) as server:
        outcome = driver.run(server.base_url)
    succeeded(driver, outcome)


@each_driver
def test_a_reply_with_an_empty_message_is_an_empty_answer(driver: Driver) -> None:
    choice = {"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}
    body = {"id": "r1", "object": "chat.completion", "model": "m", "choices": [choice]}
    with FaultServer(json_reply(body)) as server:
        outcome = driver.run(server.base_url)
    assert outcome.error is None
    assert outcome.pieces == []


@each_stream_driver
def test_stream_that_finishes_without_text_is_an_empty_answer(driver: Driver) -> None:
    # The model chose to say nothing and said so (finish_reason): a real, empty answer.
    stop = {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}]}
    with FaultServer(sse_reply(stop, "data: [DONE]\n\n")) as server:
        outcome = driver.run(server.base_url)
    assert outcome.error is None
    assert outcome.pieces == []
    assert server.request_count == 1


@each_stream_driver
def test_stream_stalls(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(stall_after(chunk("Hel"), chunk("lo"))) as server:
        outcome = driver.run(server.base_url, stream_chunk_timeout=STREAM_CHUNK_TIMEOUT)
    error = assert_typed_error(driver, outcome, APITimeoutError)
    assert "stream_chunk_timeout" in str(error)
    assert outcome.pieces == HEAD
    assert server.request_count == 1
    assert retry_delays == []
    check_clean(outcome, debug_logs)


@each_stream_driver
def test_malformed_json_chunk(driver: Driver, debug_logs: pytest.LogCaptureFixture) -> None:
    garbled = 'data: {"choices": [{"delta": {"content": "!"\n\n'
    with FaultServer(
        sse_reply(chunk("Hel"), chunk("lo"), garbled, chunk(finish_reason="stop"))
    ) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert "not valid JSON" in str(error)
    assert outcome.pieces == HEAD
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


@each_stream_driver
def test_error_object_mid_stream(driver: Driver, debug_logs: pytest.LogCaptureFixture) -> None:
    failure = {"error": {"message": "upstream overloaded ({auth})", "type": "server_error"}}
    text = json.dumps(failure)

    def stream(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        event = "data: " + text.replace("{auth}", request.headers["authorization"]) + "\n\n"
        return sse_reply(chunk("Hel"), chunk("lo"), event, chunk(finish_reason="stop"))(
            conn, request
        )

    with FaultServer(stream) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, ServerError)
    assert "upstream overloaded" in str(error)
    assert outcome.pieces == HEAD
    assert server.request_count == 1  # retryable in kind, but text was already delivered
    check_clean(outcome, debug_logs)


@each_stream_driver
def test_enormous_single_chunk(driver: Driver) -> None:
    text = "x" * (4 * 1024 * 1024)
    with FaultServer(
        sse_reply(chunk(text), chunk(finish_reason="stop"), "data: [DONE]\n\n")
    ) as server:
        outcome = driver.run(server.base_url)
    assert outcome.error is None
    assert outcome.pieces == [text]
    assert server.request_count == 1


TRICKLE = 8
TRICKLE_PAUSE = 0.1
"""8 chunks 0.1 s apart: longer in all than the 0.5 s per-chunk timeout, never silent that long."""


@each_stream_driver
def test_slow_trickle_under_the_chunk_timeout_succeeds(driver: Driver) -> None:
    events = [chunk(str(i)) for i in range(TRICKLE)]
    assert TRICKLE * TRICKLE_PAUSE > STREAM_CHUNK_TIMEOUT
    with FaultServer(
        sse_reply(*events, chunk(finish_reason="stop"), "data: [DONE]\n\n", pause=TRICKLE_PAUSE)
    ) as server:
        outcome = driver.run(server.base_url, stream_chunk_timeout=STREAM_CHUNK_TIMEOUT)
    assert outcome.error is None
    assert outcome.pieces == [str(i) for i in range(TRICKLE)]
    assert server.request_count == 1


@each_stream_driver
def test_plain_json_answer_to_a_stream_request(driver: Driver) -> None:
    with FaultServer(json_reply(completion_body(ANSWER))) as server:
        outcome = driver.run(server.base_url)
    assert outcome.error is None
    assert outcome.pieces == [ANSWER]
    assert server.request_count == 1
