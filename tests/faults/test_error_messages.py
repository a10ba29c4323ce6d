"""Errors that say what happened and what to change, through both framework classes.

Error bodies in any JSON shape, and the transport's own messages:
a connection failure names the URL it tried, a timeout names its limit and the setting,
an error that was never sent does not claim an HTTP status, an error inside a stream
does not read "HTTP 200", and a placeholder key for a local server neither gets starred
out of error text nor breaks reading an error body. Each test asserts the message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelslab_transport import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    LocalRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from tests.faults.drivers import (
    ALL_DRIVERS,
    STREAM_CHUNK_TIMEOUT,
    STREAM_DRIVERS,
    Driver,
    assert_typed_error,
)
from tests.support.fault_server import (
    LIMIT,
    FaultServer,
    json_reply,
    sse_reply,
    stall_after,
    text_reply,
)
from tests.support.loopback import LoopbackConnection, LoopbackRequest, refused_base_url
from tests.support.replies import chunk

each_driver = pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
each_stream_driver = pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
both_protocols = pytest.mark.parametrize(
    ("api", "path"), [("chat_completions", "/chat/completions"), ("messages", "/v1/messages")]
)


def _status_error(driver: Driver, error: Exception | None, expected: type[APIStatusError]) -> Any:
    """The error, checked to be ``expected`` (LangChain's dual class counts as it)."""
    assert error is not None, f"{driver.name}: no error"
    assert isinstance(error, expected), f"{driver.name}: {type(error).__name__}: {error}"
    if driver.framework == "llama_index":
        assert type(error) is expected
    return error


# ------------------------------------------------------------ error body shapes


ERROR_BODIES = [
    pytest.param(
        429,
        [
            {
                "error": {
                    "code": 429,
                    "message": "Resource has been exhausted",
                    "status": "RESOURCE_EXHAUSTED",
                }
            }
        ],
        RateLimitError,
        "Resource has been exhausted",
        id="array-of-error-objects",
    ),
    pytest.param(
        422,
        {
            "detail": [
                {
                    "loc": ["body", "stream_options"],
                    "msg": "Extra inputs are not permitted",
                    "type": "extra_forbidden",
                },
                {
                    "loc": ["body", "top_k"],
                    "msg": "Input should be a valid integer",
                    "type": "int_parsing",
                },
            ]
        },
        BadRequestError,
        "body.stream_options: Extra inputs are not permitted (extra_forbidden); "
        "body.top_k: Input should be a valid integer (int_parsing)",
        id="fastapi-detail-list",
    ),
    pytest.param(
        400,
        {"error": {"message": "stream_options: extra_forbidden", "type": "BadRequestError"}},
        BadRequestError,
        "stream_options: extra_forbidden",
        id="400-extra-forbidden-is-not-permission",
    ),
    pytest.param(
        400,
        {"detail": {"error": {"message": "tool_choice must name a tool"}}},
        BadRequestError,
        "tool_choice must name a tool",
        id="nested-detail-object",
    ),
    pytest.param(
        503, "Upstream is overloaded", ServerError, "Upstream is overloaded", id="json-string"
    ),
    pytest.param(
        400,
        {"status": "error", "messege": "prompt is required"},
        BadRequestError,
        "prompt is required",
        id="messege",
    ),
    pytest.param(
        401,
        {"error": {"message": "rate limit reached for this key"}},
        AuthenticationError,
        "rate limit reached for this key",
        id="401-status-beats-wording",
    ),
    pytest.param(
        400,
        {"status": "error", "message": "Model not found: x"},
        NotFoundError,
        "Model not found: x",
        id="400-model-not-found-documented",
    ),
]


@each_driver
@pytest.mark.parametrize(("status", "body", "expected", "message"), ERROR_BODIES)
def test_error_bodies_in_any_json_shape(
    driver: Driver, status: int, body: Any, expected: type[APIStatusError], message: str
) -> None:
    with FaultServer(json_reply(body, status)) as server:
        outcome = driver.run(server.base_url, max_retries=0)
    error = _status_error(driver, outcome.error, expected)
    assert error.status_code == status
    assert error.message == message
    assert str(error).startswith(message)  # a not-found adds the URL and the cause
    assert str(error).endswith(f" (HTTP {status})")
    assert error.body == body


@each_driver
def test_error_body_on_the_messages_protocol(driver: Driver) -> None:
    body = [{"error": {"code": 429, "message": "slow down"}}]
    with FaultServer(json_reply(body, 429)) as server:
        outcome = driver.run(server.base_url, max_retries=0, api="messages")
    error = _status_error(driver, outcome.error, RateLimitError)
    assert error.message == "slow down"


@each_stream_driver
def test_array_error_event_inside_a_stream(driver: Driver) -> None:
    behaviour = sse_reply(chunk("Hel"), [{"error": {"code": 429, "message": "quota exceeded"}}])
    with FaultServer(behaviour) as server:
        outcome = driver.run(server.base_url)
    error = _status_error(driver, outcome.error, RateLimitError)
    assert outcome.pieces == ["Hel"]
    assert error.message == "quota exceeded"


# --------------------------------------------------------- transport messages


@each_driver
@both_protocols
def test_connection_failure_names_the_url(driver: Driver, api: str, path: str) -> None:
    with refused_base_url() as base_url:
        outcome = driver.run(base_url, max_retries=0, api=api)
        error = assert_typed_error(driver, outcome, APIConnectionError)
        assert str(error).startswith(f"could not reach {base_url}{path}: ")
        assert "Connection refused" in str(error) or "Errno" in str(error)


@each_driver
@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "ALL_PROXY", "https_proxy"])
def test_a_dead_proxy_from_the_environment_is_named_without_its_password(
    driver: Driver, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with refused_base_url() as proxy:
        host = proxy.removeprefix("http://")
        monkeypatch.setenv(variable, f"http://proxyuser:proxy-secret-9@{host}")
        # The API's host is never resolved: the client only ever talks to the proxy.
        outcome = driver.run("https://api.example.invalid/v1", max_retries=0)
    error = assert_typed_error(driver, outcome, APIConnectionError)
    text = str(error)
    assert text.startswith("could not reach https://api.example.invalid/v1/chat/completions: ")
    expected_variable = variable.upper()
    assert f"the environment names the proxy http://***@{host} for this URL in " in text
    assert f"in {expected_variable}: check that it is running" in text
    assert "proxy-secret-9" not in text
    assert "proxyuser" not in text


@each_driver
@pytest.mark.parametrize(
    ("variable", "proxy", "shown", "reason"),
    [
        (
            "ALL_PROXY",
            "socks5://user:socks-secret-3@127.0.0.1:9",
            "'socks5://***@127.0.0.1:9'",
            "SOCKS proxies need the socksio package: pip install 'httpx2[socks]'",
        ),
        (
            "HTTPS_PROXY",
            "ftp://user:ftp-secret-4@127.0.0.1:9",
            "'ftp://***@127.0.0.1:9'",
            "httpx2 sends through http://, https://, socks5:// and socks5h:// proxies only",
        ),
        (
            "HTTPS_PROXY",
            "http://user:port-secret-5@127.0.0.1:abc",
            "'http://***@127.0.0.1:abc'",
            "a proxy's port must be a number from 0 to 65535",
        ),
        (
            "HTTPS_PROXY",
            "http://user:port-secret-6@127.0.0.1:99999",
            "'http://***@127.0.0.1:99999'",
            "a proxy's port must be a number from 0 to 65535",
        ),
        (
            "ALL_PROXY",
            "http://user:url-secret-7@[::1",
            "'http://***@[::1'",
            "httpx2 cannot read it as a proxy URL",
        ),
        (
            "HTTPS_PROXY",
            " http://user:blank-secret-8@127.0.0.1:9",
            "' http://***@127.0.0.1:9'",
            "a proxy URL must not have blanks around it",
        ),
    ],
    ids=["socks without socksio", "unknown scheme", "port abc", "port 99999", "not a URL", "blank"],
)
def test_a_proxy_httpx2_cannot_use_is_named_and_nothing_is_sent(
    driver: Driver,
    variable: str,
    proxy: str,
    shown: str,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, proxy)
    # max_concurrency=1: the call gives its slot back, so the second one fails alike
    # instead of waiting for the first's.
    for _ in range(2):
        outcome = driver.run("https://api.example.invalid/v1", max_concurrency=1, queue_timeout=0.5)
        error = assert_typed_error(driver, outcome, LocalRequestError)
        text = str(error)
        assert text.startswith(
            f"the environment names a proxy that cannot be used ({variable}={shown}): {reason}"
        )
        assert "trust_env=False" in text
        assert "secret" not in text
        assert "user:" not in text
        assert error.__cause__ is None or "secret" not in str(error.__cause__)


def _proxy_refuses(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    """A proxy that wants credentials it was not given (it answers the CONNECT with 407)."""
    conn.sock.sendall(
        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
        b'proxy-authenticate: Basic realm="proxy"\r\ncontent-length: 0\r\n\r\n'
    )
    return False


@each_driver
def test_a_proxy_that_refuses_is_named_and_not_retried(
    driver: Driver, monkeypatch: pytest.MonkeyPatch, retry_delays: list[float]
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FaultServer(_proxy_refuses) as proxy:
        host = proxy.base_url.removeprefix("http://")
        monkeypatch.setenv("HTTPS_PROXY", f"http://proxyuser:wrong-pass-7@{host}")
        outcome = driver.run("https://api.example.invalid/v1")  # max_retries=2
    error = assert_typed_error(driver, outcome, APIConnectionError)
    text = str(error)
    assert text.startswith(
        f"the proxy http://***@{host} (from HTTPS_PROXY in the environment) refused to carry "
        "the request to https://api.example.invalid/v1/chat/completions: "
    )
    assert "407" in text
    assert "wrong-pass-7" not in text
    assert "proxyuser" not in text
    assert proxy.request_count == 1  # the same proxy would refuse again: not retried
    assert retry_delays == []


def test_no_proxy_note_when_no_proxy_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # The URL is plain http to loopback: a proxy named for https URLs does not apply.
    with refused_base_url() as base_url:
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # for https URLs only
        driver = ALL_DRIVERS[0]
        outcome = driver.run(base_url, max_retries=0)
    error = assert_typed_error(driver, outcome, APIConnectionError)
    assert "proxy" not in str(error)


def _silent(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    """Read the request and never answer (until the client gives up)."""
    conn.wait_for_client_to_leave(LIMIT)
    return False


@each_driver
def test_timeout_names_the_limit_and_the_setting(driver: Driver) -> None:
    with FaultServer(_silent) as server:
        base_url = server.base_url
        outcome = driver.run(base_url, timeout=0.3, stream_chunk_timeout=0.4)
    error = assert_typed_error(driver, outcome, APITimeoutError)
    text = str(error)
    if driver.streaming:
        # A stream gets ``timeout`` to begin; stream_chunk_timeout counts between events.
        assert text.startswith(
            f"the stream from {base_url}/chat/completions did not begin within 0.3 s "
            "(timeout=0.3, the limit for a stream to begin, retries included; raise timeout="
        )
    else:
        assert text.startswith(
            f"no complete reply from {base_url}/chat/completions within 0.3 s (timeout=0.3, "
            "the limit for a whole call: connecting, every attempt and the whole body; "
            "raise timeout=, or set it to None to wait without a limit)"
        )


@each_stream_driver
def test_stream_chunk_timeout_names_its_setting(driver: Driver) -> None:
    with FaultServer(stall_after(chunk("Hel"))) as server:
        base_url = server.base_url
        outcome = driver.run(base_url, stream_chunk_timeout=STREAM_CHUNK_TIMEOUT)
        server.gate.set()
    error = assert_typed_error(driver, outcome, APITimeoutError)
    limit = f"{STREAM_CHUNK_TIMEOUT:g}"
    assert str(error).startswith(
        f"the stream from {base_url}/chat/completions sent nothing for {limit} s "
        f"(stream_chunk_timeout={limit}; raise stream_chunk_timeout=, or set it to None"
    )
    assert outcome.pieces == ["Hel"]


@each_driver
@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_missing_key_says_nothing_was_sent(
    driver: Driver, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELSLAB_API_KEY", raising=False)
    outcome = driver.run("https://modelslab.com/api/v7/llm", api_key=None, api=api)
    error = assert_typed_error(driver, outcome, AuthenticationError)
    assert error.status_code is None
    assert "HTTP" not in str(error)
    assert str(error) == (
        "no ModelsLab API key: pass api_key=... or set MODELSLAB_API_KEY (request not sent)"
    )


@each_stream_driver
@both_protocols
def test_error_inside_a_stream_does_not_read_http_200(driver: Driver, api: str, path: str) -> None:
    failure = {"type": "error", "error": {"type": "overloaded_error", "message": "upstream failed"}}
    if api == "messages":
        start = {"id": "m", "type": "message", "role": "assistant", "content": [], "model": "m"}
        events: list[Any] = [
            {"type": "message_start", "message": start},
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hel"},
            },
            "event: error\ndata: " + json.dumps(failure) + "\n\n",
        ]
    else:
        events = [chunk("Hel"), failure]
    with FaultServer(sse_reply(*events)) as server:
        outcome = driver.run(server.base_url, api=api)
    error = _status_error(driver, outcome.error, ServerError)
    assert outcome.pieces == ["Hel"]
    assert error.status_code == 200
    assert error.in_stream is True
    assert "HTTP 200" not in str(error)
    assert str(error) == "upstream failed (an error event inside the stream)"


@each_driver
@pytest.mark.parametrize("key", ["1", "x", "EMPTY"])
def test_placeholder_keys_neither_get_starred_out_nor_break_error_bodies(
    driver: Driver, key: str
) -> None:
    message = "model 'mixtral-8x7b-EMPTY-1' is not served here; code 1"
    body = {"error": {"message": message, "code": 1, "type": "invalid_request_error"}}
    with FaultServer(json_reply(body, 400)) as server:
        outcome = driver.run(server.base_url, api_key=key, max_retries=0)
    error = _status_error(driver, outcome.error, BadRequestError)
    assert error.message == message
    assert error.body == body
    assert error.code == "1"


@each_driver
def test_a_real_key_echoed_in_an_error_body_is_still_redacted(driver: Driver) -> None:
    key = "sk-echo-9f8e7d6c5b4a"
    body = {"error": {"message": f"bad key {key}", "code": 1}, key: [key, 1]}
    with FaultServer(json_reply(body, 400)) as server:
        outcome = driver.run(server.base_url, api_key=key, max_retries=0)
    error = _status_error(driver, outcome.error, BadRequestError)
    assert error.message == "bad key ***"
    assert error.body == {"error": {"message": "bad key ***", "code": 1}, "***": ["***", 1]}


@each_driver
def test_html_error_page_still_reads_as_before(driver: Driver) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    with FaultServer(text_reply(page, 502)) as server:
        outcome = driver.run(server.base_url, max_retries=0)
    error = _status_error(driver, outcome.error, ServerError)
    assert error.message == "HTTP 502 with a non-JSON body: 502 Bad Gateway"
