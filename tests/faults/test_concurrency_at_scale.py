"""Thousands of concurrent calls complete over a bounded pool (no collapse, no storm).

The server is an asyncio HTTP/1.1 server on 127.0.0.1 in its own thread (one coroutine
per connection, not one thread), so thousands of queued requests cost the test little.
Nothing here is timed: every call must succeed, and the server must never see more
connections than the client's pool allows.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
from llama_index.core.llms import ChatMessage as LlamaMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import AsyncModelsLabClient, ClientSettings
from tests.support.clients import API_KEY
from tests.support.replies import completion_body
from tests.support.wire_requests import chat_request

CALLS = 5000
FRAMEWORK_CALLS = 2000
"""Through the framework classes: beyond the 1,000 at which the old pool collapsed."""
POOL = 64
_REPLY = json.dumps(completion_body("ok")).encode()
_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    + f"content-length: {len(_REPLY)}\r\n\r\n".encode()
)


class AsyncLoopbackServer:
    """Answers every request with one chat completion; counts connections and requests."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._handlers: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                self.requests += 1
                writer.write(_HEAD + _REPLY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        host, port = server.sockets[0].getsockname()[:2]
        self.base_url = f"http://{host}:{port}"
        self._ready.set()
        async with server:
            await asyncio.wait_for(self._stop.wait(), timeout=600)
            handlers = list(self._handlers)  # connections a client left open
            for handler in handlers:
                handler.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._main())
        except TimeoutError:
            pass
        finally:
            self._loop.close()

    @contextmanager
    def running(self) -> Iterator[AsyncLoopbackServer]:
        self._thread.start()
        assert self._ready.wait(10)
        try:
            yield self
        finally:
            assert self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=10)


def settings(base_url: str) -> ClientSettings:
    # No connect timeout: on a starved CPU thousands of ready tasks can delay the loop's
    # next look at a finished TCP handshake by seconds; that is not what is tested here.
    return ClientSettings(
        api_key=API_KEY,
        base_url=base_url,
        max_retries=0,
        timeout=httpx2.Timeout(300, connect=None),
    )


async def test_5000_concurrent_chats_share_a_bounded_pool() -> None:
    with AsyncLoopbackServer().running() as server:
        client = AsyncModelsLabClient(
            settings(server.base_url),
            limits=httpx2.Limits(max_connections=POOL, max_keepalive_connections=POOL),
        )
        replies = await asyncio.gather(*(client.chat(chat_request()) for _ in range(CALLS)))
        await client.aclose()
    assert [r.choices[0].message.text for r in replies] == ["ok"] * CALLS
    assert server.requests == CALLS
    assert 1 <= server.connections <= POOL


async def test_concurrent_ainvokes_of_chat_models_lab() -> None:
    with AsyncLoopbackServer().running() as server:
        pool = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=POOL))
        llm = ChatModelsLab(
            api_key=API_KEY,
            base_url=server.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(300, connect=None),
            http_async_client=pool,
        )
        replies = await asyncio.gather(*(llm.ainvoke("Hi") for _ in range(FRAMEWORK_CALLS)))
        await pool.aclose()
    assert [r.content for r in replies] == ["ok"] * FRAMEWORK_CALLS
    assert 1 <= server.connections <= POOL


async def test_concurrent_achats_of_models_lab_llm() -> None:
    ask = [LlamaMessage(role="user", content="Hi")]
    with AsyncLoopbackServer().running() as server:
        pool = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=POOL))
        llm = ModelsLabLLM(
            api_key=API_KEY,
            base_url=server.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(300, connect=None),
            async_http_client=pool,
        )
        replies = await asyncio.gather(*(llm.achat(ask) for _ in range(FRAMEWORK_CALLS)))
        await pool.aclose()
    assert [r.message.content for r in replies] == ["ok"] * FRAMEWORK_CALLS
    assert 1 <= server.connections <= POOL
