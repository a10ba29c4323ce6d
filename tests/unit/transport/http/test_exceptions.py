"""httpx2 exceptions as the transport's errors: each phase's timeout names its limit and the
setting that changes it; connection errors and the rest."""

from __future__ import annotations

import httpx2
import pytest

from modelslab_transport import ClientSettings
from modelslab_transport.errors import APIConnectionError, APITimeoutError, LocalRequestError
from modelslab_transport.http.exceptions import transport_error
from tests.support.clients import async_client, sync_client
from tests.support.mock_api import PiecesStream, ScriptedServer
from tests.support.wire_requests import chat_request

URL = "https://modelslab.com/api/v7/llm/chat/completions"


def _timeout(kind: type[httpx2.TimeoutException], text: str) -> httpx2.TimeoutException:
    limits = {"connect": 2.0, "read": 30.0, "write": 4.0, "pool": 5.0}
    request = httpx2.Request("POST", URL, extensions={"timeout": limits})
    return kind(text, request=request)


@pytest.mark.parametrize("said", ["timed out", ""], ids=["sync's text", "async's (none)"])
@pytest.mark.parametrize(
    ("kind", "text", "retryable"),
    [
        (
            httpx2.ConnectTimeout,
            f"could not connect to {URL} within 2 s (connect_timeout=2; raise connect_timeout=)"
            ": timed out",
            True,
        ),
        (
            httpx2.PoolTimeout,
            f"no free connection to {URL} within 5 s (timeout=5; fewer calls at once, or "
            "raise timeout=): timed out",
            True,
        ),
        (
            httpx2.WriteTimeout,
            f"could not send the request to {URL} within 4 s (timeout=4; raise timeout=)"
            ": timed out",
            False,
        ),
        (
            httpx2.ReadTimeout,
            f"no reply from {URL} within 30 s (timeout=30; raise timeout=): timed out",
            False,
        ),
    ],
)
def test_each_phase_timeout_names_its_limit_and_setting(
    kind: type[httpx2.TimeoutException], text: str, retryable: bool, said: str
) -> None:
    # The same words whether httpx2 raised it with the socket's text (sync) or none.
    error = transport_error(_timeout(kind, said), ClientSettings(api_key="sk-test-shared"))
    assert isinstance(error, APITimeoutError)
    assert str(error) == text
    assert error.retryable is retryable


KEY = "sk-exceptions-0123456789"
SETTINGS = ClientSettings(api_key=KEY, base_url="https://h.example/v1")


def _request(url: str = "https://h.example/v1/chat/completions", **headers: str) -> httpx2.Request:
    extensions = {"timeout": {"connect": 2.0, "read": 7.5, "write": None, "pool": None}}
    return httpx2.Request("POST", url, headers=headers, extensions=extensions)


def test_a_read_timeout_of_a_stream_names_stream_chunk_timeout() -> None:
    for error in (
        transport_error(httpx2.ReadTimeout("", request=_request()), SETTINGS, streaming=True),
        transport_error(
            httpx2.ReadTimeout("", request=_request(accept="text/event-stream")), SETTINGS
        ),
    ):
        assert isinstance(error, APITimeoutError)
        assert str(error) == (
            "the stream from https://h.example/v1/chat/completions sent nothing for 7.5 s "
            "(stream_chunk_timeout=7.5; raise stream_chunk_timeout=, or set it to None to wait "
            "without a limit): timed out"
        )


def test_a_phase_without_a_limit_says_no_limit() -> None:
    error = transport_error(httpx2.WriteTimeout("", request=_request()), SETTINGS)
    assert "within no limit s (timeout=no limit" in str(error)


def test_an_error_without_a_request_names_the_base_url() -> None:
    error = transport_error(httpx2.ReadTimeout("slow"), SETTINGS)
    assert str(error) == (
        "no reply from https://h.example/v1 within no limit s (timeout=no limit; raise "
        "timeout=): slow"
    )


def test_a_refused_write_is_a_local_request_error_without_the_bytes() -> None:
    exc = httpx2.LocalProtocolError(f"Illegal header value b'Bearer {KEY}\\n'")
    error = transport_error(exc, SETTINGS)
    assert isinstance(error, LocalRequestError)
    assert str(error) == (
        "the HTTP library refused to send the request (Illegal header value); nothing reached "
        "the server. Check default_headers and the headers of the http_client you gave"
    )
    assert not error.retryable


def test_a_failed_connection_names_the_os_error_and_is_retryable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    exc = httpx2.ConnectError("connection failed", request=_request())
    exc.__cause__ = ConnectionRefusedError(111, "Connection refused")
    error = transport_error(exc, SETTINGS)
    assert isinstance(error, APIConnectionError)
    assert not isinstance(error, APITimeoutError)
    assert str(error) == (
        "could not reach https://h.example/v1/chat/completions: [Errno 111] Connection refused"
    )
    assert error.retryable


def test_a_failed_connection_names_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:secret@proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    error = transport_error(
        httpx2.ConnectError("[Errno 111] refused", request=_request()), SETTINGS
    )
    text = str(error)
    assert "(the environment names the proxy http://***@proxy.example:3128 for this URL" in text
    assert "in HTTPS_PROXY: check that it is running, or add the host to NO_PROXY" in text
    assert "secret" not in text


def test_a_refusing_proxy_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    error = transport_error(httpx2.ProxyError("407 Proxy Authentication Required"), SETTINGS)
    assert str(error) == (
        "the proxy refused to carry the request to https://h.example/v1: 407 Proxy "
        "Authentication Required; check the proxy's address and credentials"
    )
    assert error.retryable is False


def test_a_broken_stream_and_other_transport_errors() -> None:
    broken = transport_error(
        httpx2.ReadError("reset", request=_request()), SETTINGS, streaming=True
    )
    assert str(broken) == (
        "the connection to https://h.example/v1/chat/completions broke during the stream: reset"
    )
    before = transport_error(httpx2.RemoteProtocolError("eof", request=_request()), SETTINGS)
    assert str(before) == (
        "the connection to https://h.example/v1/chat/completions broke before the whole reply "
        "arrived: eof"
    )
    assert before.retryable
    other = transport_error(httpx2.DecodingError("bad gzip", request=_request()), SETTINGS)
    assert str(other) == "HTTP failure at https://h.example/v1/chat/completions: bad gzip"


def test_the_key_is_redacted_from_the_url_and_the_text() -> None:
    url = f"https://h.example/v1/chat/completions?key={KEY}"
    error = transport_error(httpx2.ReadError(f"failed with {KEY}", request=_request(url)), SETTINGS)
    assert KEY not in str(error)
    assert "***" in str(error)


CUT_BODY = b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hel'


def _cut_reply() -> httpx2.Response:
    reset = httpx2.RemoteProtocolError("peer closed connection (incomplete chunked read)")
    return httpx2.Response(
        200, headers={"content-type": "application/json"}, stream=PiecesStream([CUT_BODY], reset)
    )


async def _complete(mode: str, server: ScriptedServer) -> object:
    if mode == "sync":
        return sync_client(server, max_retries=0).chat_completions(chat_request())
    return await async_client(server, max_retries=0).chat_completions(chat_request())


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_body_cut_by_the_connection_says_the_reply_did_not_arrive_whole(
    mode: str,
) -> None:
    with pytest.raises(APIConnectionError, match="broke before the whole reply arrived") as caught:
        await _complete(mode, ScriptedServer([_cut_reply()]))
    assert caught.value.retryable
