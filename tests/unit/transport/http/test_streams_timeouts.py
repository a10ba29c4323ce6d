"""The per-chunk stream timeout, against a real socket on 127.0.0.1."""

from __future__ import annotations

import httpx2
import pytest

from modelslab_transport import (
    APITimeoutError,
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLabClient,
)
from tests.support.clients import SleepRecorder
from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.replies import chunk, sse
from tests.support.wire_requests import chat_request

CHUNK_TIMEOUT = 0.3
TRICKLE = 10  # chunks 0.1 s apart: 1 s in all, longer than the per-chunk timeout
TRICKLE_TIMEOUT = 0.6


def _stall_after_first_chunk(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    conn.send_sse_headers()
    conn.send_chunk(sse(chunk("first"), done=False))
    conn.wait_for_client_to_leave()
    return False


def _trickle(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    conn.send_sse_headers()
    for i in range(TRICKLE):
        conn.send_chunk(sse(chunk(str(i)), done=False))
        if not conn.wait(0.1):
            return False
    conn.send_chunk(sse(chunk(finish_reason="stop")))
    conn.end_chunks()
    return True


def _read_into(seen: list[str], client: ModelsLabClient) -> None:
    for item in client.stream_chat_completions(chat_request()):
        seen.append(item.choices[0].delta.text)


async def _aread_into(seen: list[str], client: AsyncModelsLabClient) -> None:
    async for item in await client.stream_chat_completions(chat_request()):
        seen.append(item.choices[0].delta.text)


def _settings(server: LoopbackServer, chunk_timeout: float) -> ClientSettings:
    return ClientSettings(
        base_url=server.base_url,
        timeout=httpx2.Timeout(10.0),
        stream_chunk_timeout=chunk_timeout,
        max_retries=2,
    )


def test_a_stalled_stream_raises_a_timeout() -> None:
    recorder = SleepRecorder()
    with LoopbackServer(_stall_after_first_chunk) as server:
        with ModelsLabClient(
            _settings(server, CHUNK_TIMEOUT), retry_policy=recorder.policy()
        ) as client:
            seen: list[str] = []
            with pytest.raises(APITimeoutError) as caught:
                _read_into(seen, client)
        assert seen == ["first"]
        assert "stream_chunk_timeout" in str(caught.value)
        assert isinstance(caught.value.__cause__, httpx2.ReadTimeout)
        assert len(server.requests) == 1
        assert recorder.delays == []


async def test_a_stalled_async_stream_raises_a_timeout() -> None:
    with LoopbackServer(_stall_after_first_chunk) as server:
        async with AsyncModelsLabClient(_settings(server, CHUNK_TIMEOUT)) as client:
            seen: list[str] = []
            with pytest.raises(APITimeoutError):
                await _aread_into(seen, client)
        assert seen == ["first"]
        assert len(server.requests) == 1


def test_a_slow_trickle_under_the_timeout_succeeds() -> None:
    with LoopbackServer(_trickle) as server:
        with (
            ModelsLabClient(_settings(server, TRICKLE_TIMEOUT)) as client,
            client.stream_chat_completions(chat_request()) as stream,
        ):
            texts = [c.choices[0].delta.text for c in stream]
        assert texts == [str(i) for i in range(TRICKLE)] + [""]


async def test_a_slow_async_trickle_under_the_timeout_succeeds() -> None:
    with LoopbackServer(_trickle) as server:
        async with AsyncModelsLabClient(_settings(server, TRICKLE_TIMEOUT)) as client:
            stream = await client.stream_chat_completions(chat_request())
            texts = [c.choices[0].delta.text async for c in stream]
        assert texts == [str(i) for i in range(TRICKLE)] + [""]
