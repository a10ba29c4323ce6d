"""Hostile input at the transport: a non-finite Retry-After and redirects. The unit checks of
keys, headers, base URLs and Retry-After values are in tests/unit/transport."""

from __future__ import annotations

import asyncio
import math

import httpx2
import pytest

from modelslab_transport import (
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLabClient,
    RateLimitError,
    RedirectError,
)
from modelslab_transport.limits.retry import RetryPolicy
from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.wire_requests import chat_request, messages_request

KEY = "sk-transport-3Jd8Kq0Zp7Lw2Nx5Vb9Hc4Ty6"


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
