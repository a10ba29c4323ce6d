"""Hostile input at the transport: key and header checks, base URL shapes, redirects,
Retry-After edges. The end-to-end scenarios are in tests/faults."""

from __future__ import annotations

import asyncio
import math

import httpx2
import pytest
from pydantic import SecretStr, ValidationError

from modelslab_transport import (
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLabClient,
    RateLimitError,
    RedirectError,
)
from modelslab_transport.config.credentials import check_header, clean_api_key
from modelslab_transport.config.defaults import MAX_RETRY_AFTER
from modelslab_transport.config.urls import check_base_url, endpoint_url
from modelslab_transport.decoding.error_bodies import parse_retry_after
from modelslab_transport.limits.retry import RetryPolicy
from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.wire_requests import chat_request, messages_request

KEY = "sk-transport-3Jd8Kq0Zp7Lw2Nx5Vb9Hc4Ty6"


@pytest.mark.parametrize("given", [KEY + "\n", f"  {KEY}  ", f"\t{KEY}\r\n"])
def test_surrounding_whitespace_is_stripped_from_str_and_secret_keys(given: str) -> None:
    for value in (given, SecretStr(given)):
        settings = ClientSettings(api_key=value)
        assert settings.api_key is not None
        assert settings.api_key.get_secret_value() == KEY


@pytest.mark.parametrize(
    ("inside", "named"),
    [
        ("\r\n", "line break"),
        ("\n", "line break"),
        ("\t", "tab"),
        ("\x00", "control character"),
        ("\x7f", "control character"),
        ("\u2019", "non-ASCII"),
        ("\u00a0", "non-ASCII"),
    ],
)
def test_a_key_with_a_character_no_header_carries_is_refused(inside: str, named: str) -> None:
    key = KEY[:10] + inside + KEY[10:]
    with pytest.raises(ValidationError) as caught:
        ClientSettings(api_key=key)
    text = str(caught.value) + repr(caught.value)
    assert named in text
    assert "position 11" in text
    assert KEY[10:18] not in text  # no part of the key
    assert KEY[:10] not in text
    with pytest.raises(ValueError, match=named):
        clean_api_key(key)


@pytest.mark.parametrize(
    ("key", "position"), [(KEY[:12] + " " + KEY[12:], 13), ("Bearerish key", 10), ("ab cd", 3)]
)
def test_a_key_with_an_inner_space_is_refused_without_showing_it(key: str, position: int) -> None:
    # No API key has a space (a Bearer token cannot): it is a key cut by a line wrap or two
    # values pasted together, and error redaction would not recognise it as a key.
    for build in (clean_api_key, lambda value: ClientSettings(api_key=value)):
        with pytest.raises(
            ValueError, match=f"api_key contains a space at position {position}"
        ) as caught:
            build(f" {key}\n")
        text = str(caught.value)
        assert "an API key has none" in text
        assert key not in text
        assert KEY[:10] not in text


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BASIC", "Token"])
def test_a_key_pasted_with_its_authorization_scheme_is_refused(scheme: str) -> None:
    for build in (clean_api_key, lambda key: ClientSettings(api_key=key)):
        with pytest.raises(ValueError, match="authorization scheme") as caught:
            build(f"  {scheme} {KEY}\n")
        text = str(caught.value)
        assert f"starts with the authorization scheme {scheme!r}: pass the key alone" in text
        assert KEY[:10] not in text
        assert KEY[10:18] not in text


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("X-A", "v\r\nX-B: 1", "line break"),
        ("X-A", "caf\u00e9", "non-ASCII"),
        ("X-A", "v\x00", "control character"),
        ("X A", "v", "a space"),
        ("X:A", "v", "a colon"),
        ("", "v", "is empty"),
        ("X-A\n", "v", "line break"),
    ],
)
def test_default_headers_that_cannot_be_sent_are_refused(
    name: str, value: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        ClientSettings(default_headers={name: value})
    assert value not in str(caught.value) or value == "v"


def test_default_header_values_are_stripped_and_may_hold_tabs() -> None:
    settings = ClientSettings(default_headers={"X-A": "  a\tb \n"})
    assert settings.default_headers == {"X-A": "a\tb"}
    assert check_header("anthropic-version", " 2023-06-01\n") == ("anthropic-version", "2023-06-01")
    with pytest.raises(ValidationError, match="anthropic_version"):
        ClientSettings(anthropic_version="2023\r\n06")


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("https://h.example/llm", "https://h.example/llm"),
        ("  https://h.example/llm//  ", "https://h.example/llm"),
        ("https://h.example/llm/v1/", "https://h.example/llm/v1"),
        ("HTTPS://h.example/llm", "HTTPS://h.example/llm"),
        ("https://h.example/models", "https://h.example/models"),  # Azure AI's root shape
    ],
)
def test_accepted_base_urls(given: str, root: str) -> None:
    assert check_base_url(given) == root


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("https://h.example/llm?key=sk-123", "query string"),
        ("https://h.example/llm?", "query string"),
        ("https://h.example/llm#top", "fragment"),
        ("https://user:sk-123@h.example/llm", "user name or password"),
        ("https://h.example/l lm", "whitespace"),
        ("https://h.example:99999/llm", "port"),
        ("https://h.example:abc/llm", "port"),
        ("ftp://h.example/llm", "scheme 'ftp'"),
        ("h.example/llm", "without a scheme"),
        ("https://h.example/llm/chat/completions", "use 'https://h.example/llm'"),
        ("https://h.example/llm/v1/chat/completions", "use 'https://h.example/llm/v1'"),
        ("https://h.example/llm/v1/messages", "use 'https://h.example/llm'"),
        ("https://h.example/llm/v1/messages/count_tokens", "use 'https://h.example/llm'"),
        ("https://h.example/llm/v1/models/", "use 'https://h.example/llm'"),
        ("https://h.example/v1/completions", "use 'https://h.example/v1'"),
    ],
)
def test_refused_base_urls_say_what_to_change(given: str, message: str) -> None:
    with pytest.raises(ValueError, match="base_url") as caught:
        check_base_url(given)
    assert message in str(caught.value)
    assert "sk-123" not in str(caught.value)


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("https://h/llm", "/chat/completions", "https://h/llm/chat/completions"),
        ("https://h/llm", "/v1/messages", "https://h/llm/v1/messages"),
        ("https://h/v1", "/chat/completions", "https://h/v1/chat/completions"),
        ("https://h/v1", "/v1/messages", "https://h/v1/messages"),
        ("https://h/v1", "/v1/messages/count_tokens", "https://h/v1/messages/count_tokens"),
        ("https://h/v1", "/v1/models", "https://h/v1/models"),
        ("https://h/api/v10", "/v1/models", "https://h/api/v10/v1/models"),
    ],
)
def test_endpoint_urls_never_double_v1(base: str, path: str, url: str) -> None:
    assert endpoint_url(base, path) == url


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-inf"}, None),
        ({"retry-after": "1e400"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after": "1e30"}, MAX_RETRY_AFTER),
        ({"retry-after-ms": "1e30"}, MAX_RETRY_AFTER),
        ({"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}, MAX_RETRY_AFTER),
    ],
)
def test_retry_after_edges(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


@pytest.mark.parametrize(
    ("body_value", "expected"),
    [("nan", None), (math.inf, None), (-3, 0.0), (1e30, MAX_RETRY_AFTER), ("2.5", 2.5)],
)
def test_body_retry_after_edges(body_value: object, expected: float | None) -> None:
    assert parse_retry_after({}, {"status": "error", "retry_after": body_value}) == expected


def test_a_non_finite_retry_after_on_an_error_falls_back_to_the_backoff() -> None:
    policy = RetryPolicy(initial_backoff=1.0, jitter=0.0)
    for hint in (math.nan, math.inf):
        error = RateLimitError("slow down", status_code=429, retry_after=hint)
        assert policy.delay(0, error, 2) == 1.0


# ------------------------------------------------------------------ redirects


class _Recorder(LoopbackServer):
    """Origin B: records every request, answers 200."""

    def __init__(self) -> None:
        super().__init__(self._answer)

    def _answer(self, conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
        conn.sock.sendall(b"content-length: 2\r\n\r\n{}")
        return True


def _redirector(target: str, status: int) -> LoopbackServer:
    def answer(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        conn.sock.sendall(
            f"HTTP/1.1 {status} Moved\r\nlocation: {target}{request.path}?token=t0k3n\r\n"
            "content-length: 0\r\n\r\n".encode()
        )
        return True

    return LoopbackServer(answer)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("api", ["chat", "messages", "legacy"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_transport_never_follows_a_redirect(status: int, api: str, mode: str) -> None:
    with _Recorder() as b, _redirector(b.base_url, status) as a:
        target = b.base_url
        settings = ClientSettings(api_key=KEY, base_url=a.base_url, legacy_auth=api == "legacy")
        if mode == "sync":
            with httpx2.Client(follow_redirects=True) as http:
                client = ModelsLabClient(settings, http_client=http)
                send = (
                    (lambda: client.messages(messages_request()))
                    if api == "messages"
                    else (lambda: client.chat_completions(chat_request()))
                )
                with pytest.raises(RedirectError) as caught:
                    send()
        else:

            async def run() -> None:
                async with httpx2.AsyncClient(follow_redirects=True) as http:
                    client = AsyncModelsLabClient(settings, http_client=http)
                    if api == "messages":
                        await client.messages(messages_request())
                    else:
                        await client.chat_completions(chat_request())

            with pytest.raises(RedirectError) as caught:
                asyncio.run(run())
        assert b.requests == []
        assert len(a.requests) == 1
    error = caught.value
    path = "/v1/messages" if api == "messages" else "/chat/completions"
    assert error.status_code == status
    assert error.location == target + path  # the query string (a token) left out
    assert "t0k3n" not in str(error)
    assert f"base_url={target!r}" in str(error)
    assert not error.retryable
    assert KEY not in str(error) + repr(error)
