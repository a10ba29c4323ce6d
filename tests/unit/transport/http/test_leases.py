"""Closing the transport's clients (and ``ModelsLab``) while a stream is read.

The pool a call leased is retired by ``close()`` / ``aclose()``: the call finishes on its
connection, which is closed as the call ends; the next call gets a new pool.
"""

from __future__ import annotations

import asyncio
import threading

from modelslab_transport import (
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLab,
    ModelsLabClient,
    ModelsLabOptions,
)
from modelslab_transport.http.leases import Held
from modelslab_transport.wire.chat import ChatCompletionRequest, ChatMessage
from tests.support.phase_server import HOLD_LIMIT, REPLY_TEXT, PhaseServer

REQUEST = ChatCompletionRequest(
    model="m", messages=[ChatMessage(role="user", content="hi")], max_tokens=8
)


def _settings(base_url: str) -> ClientSettings:
    return ClientSettings(api_key="sk-lease-test-key", base_url=base_url, max_retries=0)


def _text(chunks: list[object]) -> str:
    return "".join(
        choice.delta.content or ""
        for chunk in chunks
        for choice in chunk.choices  # type: ignore[attr-defined]
    )


def test_held_closes_when_its_last_user_leaves_after_retirement() -> None:
    closed: list[bool] = []
    held = Held(object(), lambda: closed.append(True))
    held.enter()
    held.enter()
    assert held.retire() is False  # two calls in flight: not now
    assert held.retire() is False  # once only
    assert held.leave() is False
    assert held.leave() is True  # the last one closes it
    idle = Held(object(), lambda: None)
    assert idle.retire() is True  # none in flight: at once


def test_a_sync_client_closed_mid_stream_lets_the_stream_finish() -> None:
    with PhaseServer("mid-stream") as server:
        client = ModelsLabClient(_settings(server.base_url))
        stream = client.stream_chat(REQUEST)
        first = next(stream)
        assert server.reached["mid-stream"].wait(HOLD_LIMIT)
        client.close()
        server.release.set()
        rest = list(stream)
        assert _text([first, *rest]) == REPLY_TEXT
        assert server.wait_until_no_open_connections() == 0
        # The next call builds a new pool.
        with client.stream_chat(REQUEST) as again:
            assert _text(list(again)) == REPLY_TEXT
        client.close()
        assert server.wait_until_no_open_connections() == 0


def test_an_async_client_closed_mid_stream_lets_the_stream_finish() -> None:
    with PhaseServer("mid-stream") as server:

        async def run() -> str:
            client = AsyncModelsLabClient(_settings(server.base_url))
            stream = await client.stream_chat(REQUEST)
            chunks = [await anext(stream)]
            await asyncio.to_thread(server.reached["mid-stream"].wait, HOLD_LIMIT)
            await client.aclose()
            server.release.set()
            chunks += [chunk async for chunk in stream]
            return _text(chunks)

        assert asyncio.run(asyncio.wait_for(run(), 20)) == REPLY_TEXT
        assert server.wait_until_no_open_connections() == 0


def test_modelslab_closed_while_a_thread_streams_strands_nothing() -> None:
    with PhaseServer("headers") as server:
        core = ModelsLab(
            ModelsLabOptions(model="m", api_key="sk-lease-test-key", base_url=server.base_url)
        )
        texts: list[str] = []

        def stream() -> None:
            with core.stream_chat(REQUEST) as events:
                texts.append(_text(list(events)))

        thread = threading.Thread(target=stream, daemon=True)
        thread.start()
        assert server.reached["headers"].wait(HOLD_LIMIT)
        core.close()
        server.release.set()
        thread.join(20)
        assert not thread.is_alive()
        assert texts == [REPLY_TEXT]
        assert server.wait_until_no_open_connections() == 0
