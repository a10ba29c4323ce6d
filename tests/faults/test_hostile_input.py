"""Hostile input end to end: keys and headers, redirects, decoding edges.

Both framework classes, sync and async, against loopback servers. Each scenario asserts
its outcome (the right answer, or the documented error raised at the documented moment,
with the number of requests the server saw) and that the fake key appears nowhere: not
in the error, its cause chain, its repr, nor in the DEBUG logs of our loggers and
httpx/httpcore.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import (
    InvalidResponseError,
    LocalRequestError,
    ModelsLabError,
    RateLimitError,
    RedirectError,
)
from modelslab_transport.config.defaults import MAX_RETRY_AFTER
from tests.faults.drivers import (
    ALL_DRIVERS,
    FAKE_KEY,
    STREAM_DRIVERS,
    Driver,
    assert_typed_error,
    make_model,
)
from tests.faults.leaks import assert_no_key, exception_texts
from tests.faults.test_fault_scenarios import ANSWER, answer_for, check_clean, succeeded
from tests.support.fault_server import Behaviour, FaultServer, json_reply, sse_reply, text_reply
from tests.support.loopback import LoopbackConnection, LoopbackRequest
from tests.support.replies import chunk, completion_body

each_driver = pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
FRAMEWORK_CLASSES = pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])


def call_once(llm: Any, mode: str, sync: Any, asynchronous: Any) -> Any:
    """``sync(llm)`` or ``asyncio.run(asynchronous(llm))``; the model is closed after."""
    if mode == "sync":
        try:
            return sync(llm)
        finally:
            llm.close()

    async def run() -> Any:
        try:
            return await asynchronous(llm)
        finally:
            await llm.aclose()

    return asyncio.run(run())


def check_refused(error: BaseException, logs: pytest.LogCaptureFixture) -> None:
    """A settings error: a ValueError (not a transport error), with no trace of the key."""
    assert isinstance(error, ValueError)
    assert not isinstance(error, ModelsLabError)
    assert_no_key(exception_texts(error), "the settings error")
    assert_no_key([logs.text], "DEBUG logs")


def refused_by(driver: Driver, base_url: str, **fields: Any) -> ValueError:
    """Run ``driver`` expecting the model to be refused when it is built."""
    with pytest.raises(ValueError, match=r"api_key|base_url|default_headers") as caught:
        driver.run(base_url, **fields)
    return caught.value


# ------------------------------------------------------------ keys and headers

KEY_WITH_SURROUNDINGS = {
    "newline from a file": FAKE_KEY + "\n",
    "spaces, tab and CRLF": f" \t {FAKE_KEY}  \r\n",
}

_CUT = 14  # inside the key's random part: both halves still hold key fragments
BAD_KEYS = {
    "CRLF inside": FAKE_KEY[:_CUT] + "\r\n" + FAKE_KEY[_CUT:],
    "NUL inside": FAKE_KEY[:_CUT] + "\x00" + FAKE_KEY[_CUT:],
    "typographic quote": FAKE_KEY[:_CUT] + "\u2019" + FAKE_KEY[_CUT:],
    "a space inside (cut by a line wrap)": FAKE_KEY[:_CUT] + " " + FAKE_KEY[_CUT:],
    "two values pasted together": f"{FAKE_KEY} {FAKE_KEY}",
}


@each_driver
@pytest.mark.parametrize("key", KEY_WITH_SURROUNDINGS.values(), ids=KEY_WITH_SURROUNDINGS.keys())
def test_surrounding_whitespace_around_the_key_is_stripped(
    driver: Driver, key: str, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(answer_for(driver)) as server:
        outcome = driver.run(server.base_url, api_key=key)
    succeeded(driver, outcome)
    assert server.requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert server.request_count == 1
    assert retry_delays == []
    check_clean(outcome, debug_logs)


@pytest.mark.parametrize(
    ("fields", "header", "sent"),
    [
        ({"api": "messages"}, "x-api-key", FAKE_KEY),
        ({"legacy_auth": True}, "authorization", f"Bearer {FAKE_KEY}"),
    ],
    ids=["messages x-api-key", "legacy_auth"],
)
@FRAMEWORK_CLASSES
def test_the_stripped_key_is_what_every_auth_mode_sends(
    cls: type[Any], fields: dict[str, Any], header: str, sent: str
) -> None:
    framework = "langchain" if cls is ChatModelsLab else "llama_index"
    reply = (
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "fault-model",
            "content": [{"type": "text", "text": ANSWER}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 2},
        }
        if fields.get("api") == "messages"
        else completion_body(ANSWER)
    )
    with FaultServer(json_reply(reply)) as server:
        llm = make_model(framework, server.base_url, api_key=FAKE_KEY + "\n", **fields)
        text = llm.invoke("hi").content if framework == "langchain" else llm.complete("hi").text
        llm.close()
    assert text == ANSWER
    assert server.requests[0].headers[header] == sent
    if fields.get("legacy_auth"):
        assert f'"key":"{FAKE_KEY}"' in server.requests[0].body.decode()


@each_driver
@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_key_no_header_can_carry_is_refused_when_the_model_is_built(
    driver: Driver, key: str, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(answer_for(driver)) as server:
        error = refused_by(driver, server.base_url, api_key=key)
    assert "api_key contains" in str(error)
    assert "copy it again" in str(error)  # what to change
    assert "could not reach" not in str(error)
    assert server.request_count == 0
    assert retry_delays == []
    check_refused(error, debug_logs)


@each_driver
@pytest.mark.parametrize(
    "headers",
    [
        {"X-Trace": "abc\r\nX-Injected: 1"},
        {"X-Token\r\nX-Injected": "v"},
        {"Content-Length": "5"},
        {"transfer-encoding": "chunked"},
    ],
    ids=["CRLF in a value", "CRLF in a name", "Content-Length", "Transfer-Encoding"],
)
def test_default_headers_no_request_can_carry_are_refused(
    driver: Driver,
    headers: dict[str, str],
    retry_delays: list[float],
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    with FaultServer(answer_for(driver)) as server:
        error = refused_by(driver, server.base_url, default_headers=headers)
    assert "default_headers" in str(error)
    assert "header" in str(error)
    assert server.request_count == 0
    assert retry_delays == []
    check_refused(error, debug_logs)


def client_fields(driver: Driver, **options: Any) -> tuple[dict[str, Any], Any]:
    """The model fields that inject a fresh httpx client of the driver's kind."""
    if driver.is_async:
        # No kept-alive connection: the client is closed after the driver's event loop.
        limits = httpx2.Limits(max_keepalive_connections=0)
        client: Any = httpx2.AsyncClient(limits=limits, **options)
        name = "http_async_client" if driver.framework == "langchain" else "async_http_client"
    else:
        client = httpx2.Client(**options)
        name = "http_client"
    return {name: client}, client


def close_client(client: Any) -> None:
    if isinstance(client, httpx2.AsyncClient):
        asyncio.run(client.aclose())
    else:
        client.close()


@each_driver
def test_a_header_the_http_stack_refuses_is_a_local_error_not_a_connection_error(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    # A header our settings never produce, set on the caller's own client.
    fields, client = client_fields(driver, headers={"x-caller": "a\r\nb"})
    try:
        with FaultServer(answer_for(driver)) as server:
            outcome = driver.run(server.base_url, **fields)
    finally:
        close_client(client)
    error = assert_typed_error(driver, outcome, LocalRequestError)
    assert "could not reach" not in str(error)
    assert "nothing reached the server" in str(error)
    assert not error.retryable
    assert server.request_count == 0
    assert retry_delays == []  # never retried
    check_clean(outcome, debug_logs)


# ------------------------------------------------------------------ redirects


def redirect_to(target: str, status: int) -> Behaviour:
    """Answer every request with a redirect to ``target`` + the request's path."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        conn.sock.sendall(
            (
                f"HTTP/1.1 {status} Redirect\r\nlocation: {target}{request.path}\r\n"
                "content-length: 0\r\n\r\n"
            ).encode()
        )
        return True

    return behaviour


AUTH_MODES = {
    "Bearer": {},
    "x-api-key (messages)": {"api": "messages"},
    "body key (legacy_auth)": {"legacy_auth": True},
}


@contextmanager
def redirecting_pair(driver: Driver, status: int) -> Iterator[tuple[FaultServer, FaultServer]]:
    """Origin A redirects everything to origin B; B would answer correctly."""
    with FaultServer(answer_for(driver)) as b, FaultServer(redirect_to(b.base_url, status)) as a:
        yield a, b


@each_driver
@pytest.mark.parametrize(
    ("status", "mode", "follow"),
    [
        (307, AUTH_MODES["Bearer"], True),
        (308, AUTH_MODES["x-api-key (messages)"], True),
        (307, AUTH_MODES["body key (legacy_auth)"], True),
        (308, AUTH_MODES["Bearer"], False),
    ],
    ids=[
        "307 Bearer, caller's client follows",
        "308 x-api-key, caller's client follows",
        "307 legacy_auth body key, caller's client follows",
        "308 Bearer, own client",
    ],
)
def test_a_redirect_to_another_origin_is_never_followed_with_the_key(
    driver: Driver,
    status: int,
    mode: dict[str, Any],
    follow: bool,
    retry_delays: list[float],
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    fields, client = client_fields(driver, follow_redirects=True) if follow else ({}, None)
    try:
        with redirecting_pair(driver, status) as (a, b):
            target = b.base_url
            outcome = driver.run(a.base_url, **mode, **fields)
    finally:
        if client is not None:
            close_client(client)
    error = assert_typed_error(driver, outcome, RedirectError)
    assert isinstance(error, RedirectError)
    assert b.requests == []  # B received nothing: no header, no body, no key
    assert a.request_count == 1  # and it is not retried
    assert retry_delays == []
    assert error.status_code == status
    path = a.requests[0].path
    assert error.location == target + path
    assert f"base_url={target!r}" in str(error)  # what to change
    assert outcome.pieces == []
    check_clean(outcome, debug_logs)


# ------------------------------------------------------------ Retry-After edges


def rate_limited(retry_after: str) -> Behaviour:
    return json_reply(
        {"status": "error", "message": "Rate limit exceeded"}, 429, {"retry-after": retry_after}
    )


@each_driver
@pytest.mark.parametrize("value", ["nan", "inf", "-1e400", "1_0"])
def test_a_retry_after_that_is_no_finite_number_is_ignored_and_the_backoff_applies(
    driver: Driver, value: str, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(rate_limited(value), answer_for(driver)) as server:
        outcome = driver.run(server.base_url)
    succeeded(driver, outcome)
    assert server.request_count == 2
    assert len(retry_delays) == 1
    assert 0.375 <= retry_delays[0] <= 0.5  # the initial backoff, less up to 25 % jitter
    check_clean(outcome, debug_logs)


@each_driver
def test_a_non_finite_retry_after_never_reaches_the_error(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(rate_limited("nan")) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, RateLimitError)
    assert isinstance(error, RateLimitError)
    assert error.retry_after is None
    assert "nan" not in str(error).lower().replace("than", "")
    assert server.request_count == 3
    assert len(retry_delays) == 2
    check_clean(outcome, debug_logs)


@each_driver
def test_a_negative_retry_after_retries_at_once(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(rate_limited("-5"), answer_for(driver)) as server:
        outcome = driver.run(server.base_url)
    succeeded(driver, outcome)
    assert retry_delays == [0.0]
    check_clean(outcome, debug_logs)


@each_driver
@pytest.mark.parametrize("value", ["1e30"])
def test_a_huge_retry_after_is_capped_and_handed_to_the_caller(
    driver: Driver, value: str, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(rate_limited(value)) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, RateLimitError)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == MAX_RETRY_AFTER  # over max_wait: not slept, not retried
    assert server.request_count == 1
    assert retry_delays == []
    check_clean(outcome, debug_logs)


# ------------------------------------------------- a byte order mark before JSON

_BOM = "\ufeff"  # sent as EF BB BF: text_reply encodes as UTF-8


@each_driver
@pytest.mark.parametrize("content_type", ["application/json", "text/plain; charset=utf-8"])
def test_a_byte_order_mark_before_a_json_reply_is_ignored(
    driver: Driver, content_type: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    """A BOM before a whole JSON reply (a plain one to a stream request too) is skipped."""
    body = _BOM + json.dumps(completion_body(ANSWER))
    with FaultServer(text_reply(body, 200, content_type, echo_key=False)) as server:
        outcome = driver.run(server.base_url)
    assert outcome.error is None, f"{type(outcome.error).__name__}: {outcome.error}"
    assert outcome.text == ANSWER
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


@each_driver
def test_a_byte_order_mark_before_an_error_body_keeps_its_message_and_hint(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    body = _BOM + json.dumps({"status": "error", "message": "Too many requests", "retry_after": 90})
    with FaultServer(text_reply(body, 429, "application/json")) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, RateLimitError)
    assert isinstance(error, RateLimitError)
    assert str(error).startswith("Too many requests")
    assert error.retry_after == 90  # over max_wait: handed back, not waited for
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


# ------------------------------------------- the key echoed into a malformed reply


@each_driver
@pytest.mark.parametrize(
    "body",
    [{"id": "x", "choices": "{auth}"}, {"id": "x", "choices": [{"index": 0, "message": "{auth}"}]}],
    ids=["choices is the key", "a message is the key"],
)
def test_a_malformed_reply_echoing_the_key_leaves_it_nowhere_in_the_error_chain(
    driver: Driver, body: dict[str, Any], debug_logs: pytest.LogCaptureFixture
) -> None:
    """The validation error that found the bad shape quotes its input: it must not stay
    reachable from the error raised (``__context__`` included)."""
    with FaultServer(json_reply(body, echo_key=True)) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert "unexpected shape" in str(error)
    assert error.__context__ is None or not isinstance(error.__context__, ValueError)
    check_clean(outcome, debug_logs)


# ------------------------------------------------------- deeply nested JSON

_DEEP_ARRAYS = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError on it
_DEEP_OBJECT = '{"a":' * 900 + "1" + "}" * 900  # parses, then any recursive reader fails


@each_driver
@pytest.mark.parametrize(
    "body", [_DEEP_ARRAYS, _DEEP_OBJECT], ids=["100,000 arrays", "900 objects"]
)
def test_deeply_nested_json_is_an_invalid_response(
    driver: Driver, body: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(text_reply(body, 200, "application/json")) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert "not valid JSON" in str(error)
    assert server.request_count == 1
    check_clean(outcome, debug_logs)


@each_driver
def test_a_deeply_nested_error_body_keeps_its_status(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    body = '{"status": "error", "message": ' + _DEEP_OBJECT + "}"
    with FaultServer(text_reply(body, 429, "application/json")) as server:
        outcome = driver.run(server.base_url, max_retries=0)
    error = assert_typed_error(driver, outcome, RateLimitError)
    assert "HTTP 429 with a non-JSON body" in str(error)
    check_clean(outcome, debug_logs)


@pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
def test_a_deeply_nested_stream_event_is_an_invalid_response(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    stream = sse_reply(chunk("Hel"), "data: " + _DEEP_OBJECT + "\n\n")
    with FaultServer(stream) as server:
        outcome = driver.run(server.base_url)
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert "not valid JSON" in str(error)
    assert outcome.pieces == ["Hel"]
    check_clean(outcome, debug_logs)


# --------------------------------------------------------------- base URL shapes


@each_driver
@pytest.mark.parametrize("suffix", [f"?key={FAKE_KEY}", f"/#{FAKE_KEY}"])
def test_a_base_url_with_a_query_or_fragment_is_refused(
    driver: Driver, suffix: str, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(answer_for(driver)) as server:
        root = server.base_url
        error = refused_by(driver, root + suffix)
    assert "base_url must not have" in str(error)
    assert repr(root) in str(error)  # the root to use instead
    assert server.request_count == 0
    check_refused(error, debug_logs)


@each_driver
@pytest.mark.parametrize("pasted", ["/v1/chat/completions", "/v1/messages"])
def test_a_pasted_endpoint_url_is_refused_naming_the_root(
    driver: Driver, pasted: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(answer_for(driver)) as server:
        root = server.base_url + "/api"
        error = refused_by(driver, root + pasted)
    if pasted == "/v1/chat/completions":
        root += "/v1"  # the chat path is then added to .../v1, as the user meant
    assert f"use {root!r}" in str(error)
    assert server.request_count == 0
    check_refused(error, debug_logs)


@each_driver
@pytest.mark.parametrize("ending", ["/v1", "/v1//"])
def test_a_base_url_ending_in_v1_reaches_the_chat_endpoint_once_prefixed(
    driver: Driver, ending: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(answer_for(driver)) as server:
        outcome = driver.run(" " + server.base_url + ending.strip() + " ")
    succeeded(driver, outcome)
    assert [r.path for r in server.requests] == ["/v1/chat/completions"]
    check_clean(outcome, debug_logs)


MESSAGE_REPLY = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "fault-model",
    "content": [{"type": "text", "text": ANSWER}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 2},
}


@FRAMEWORK_CLASSES
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_base_url_ending_in_v1_does_not_double_it_for_messages(cls: type[Any], mode: str) -> None:
    framework = "langchain" if cls is ChatModelsLab else "llama_index"
    with FaultServer(json_reply(MESSAGE_REPLY)) as server:
        llm = make_model(framework, server.base_url + "/v1", api="messages")
        if framework == "langchain":
            reply = call_once(llm, mode, lambda m: m.invoke("hi"), lambda m: m.ainvoke("hi"))
            text = reply.content
        else:
            reply = call_once(llm, mode, lambda m: m.complete("hi"), lambda m: m.acomplete("hi"))
            text = reply.text
    assert text == ANSWER
    assert [r.path for r in server.requests] == ["/v1/messages"]


@FRAMEWORK_CLASSES
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_token_counting_under_a_v1_base_url_reaches_the_server(
    cls: type[Any], mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    from langchain_core.messages import HumanMessage
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    framework = "langchain" if cls is ChatModelsLab else "llama_index"
    with FaultServer(json_reply({"input_tokens": 4242})) as server:
        llm = make_model(framework, server.base_url + "/v1/")
        if framework == "langchain":
            messages: Any = [HumanMessage("hi")]
            counted = call_once(
                llm,
                mode,
                lambda m: m.get_num_tokens_from_messages(messages),
                lambda m: m.aget_num_tokens_from_messages(messages),
            )
        else:
            messages = [ChatMessage(role=MessageRole.USER, content="hi")]
            counted = call_once(
                llm, mode, lambda m: m.count_tokens(messages), lambda m: m.acount_tokens(messages)
            )
    assert counted == 4242  # the server's count, not an estimate
    assert [r.path for r in server.requests] == ["/v1/messages/count_tokens"]
    assert "approximate" not in caplog.text


# ---------------------------------------------------------- text UTF-8 cannot carry


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_a_prompt_with_a_lone_surrogate_is_refused_naming_where(driver: Driver) -> None:
    # As text decoded with errors="surrogateescape", or an emoji cut in half, carries.
    with FaultServer(answer_for(driver)) as server:
        outcome = driver.run(server.base_url, prompt="smile \ud83d here")
        assert server.request_count == 0  # refused before sending
    assert isinstance(outcome.error, ValueError)
    assert not isinstance(outcome.error, ModelsLabError)
    assert str(outcome.error) == (
        "messages[0].content has a lone UTF-16 surrogate (U+D83D at index 6), which UTF-8 "
        "cannot carry: remove it, or decode the text with errors='replace'"
    )


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_a_surrogate_pair_written_as_two_code_points_is_sent_as_its_character(
    driver: Driver,
) -> None:
    with FaultServer(answer_for(driver)) as server:
        outcome = driver.run(server.base_url, prompt="smile \ud83d\ude00")
        (request,) = server.requests
    assert outcome.error is None
    sent = json.loads(request.body)["messages"][0]["content"]
    assert sent == "smile \U0001f600"
