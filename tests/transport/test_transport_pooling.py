"""The connection pools the clients build for themselves (``modelslab_transport.pooling``).

Bursts of concurrent requests reuse the connections of the previous burst; a pooled
connection the server closed, or one that is closed, is never handed to a request;
a full pool still makes room. Clients injected by the caller are used as given.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpcore
import httpx

from modelslab_transport import AsyncModelsLabClient, ClientSettings, ModelsLabClient
from modelslab_transport.pooling import DEFAULT_LIMITS, _make_lean
from tests.transport.transport_support import (
    API_KEY,
    LoopbackConnection,
    LoopbackRequest,
    LoopbackServer,
    chat_request,
)

COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-pool",
    "object": "chat.completion",
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
}


def keep_alive(connection: LoopbackConnection, request: LoopbackRequest) -> bool:
    connection.send_json(COMPLETION)
    return True


def close_after_reply(connection: LoopbackConnection, request: LoopbackRequest) -> bool:
    connection.send_json(COMPLETION)
    return False  # the server closes the connection once the reply is out


def announce_close(connection: LoopbackConnection, request: LoopbackRequest) -> bool:
    data = json.dumps(COMPLETION).encode()
    connection.sock.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
        + f"content-length: {len(data)}\r\n\r\n".encode()
        + data
    )
    return False


def settings(base_url: str) -> ClientSettings:
    return ClientSettings(api_key=API_KEY, base_url=base_url, max_retries=0)


def pool_of(client: httpx.Client | httpx.AsyncClient) -> Any:
    return client._transport._pool  # type: ignore[union-attr]


def test_owned_clients_keep_alive_as_many_connections_as_they_open() -> None:
    sync_client = ModelsLabClient(settings("http://127.0.0.1:9"))
    async_client = AsyncModelsLabClient(settings("http://127.0.0.1:9"))
    for pool in (pool_of(sync_client.http_client), pool_of(async_client.http_client)):
        assert pool._max_connections == DEFAULT_LIMITS.max_connections
        assert pool._max_keepalive_connections == DEFAULT_LIMITS.max_connections
        assert type(pool).__name__.startswith("_Lean")
    sync_client.close()


def test_injected_clients_are_used_as_given() -> None:
    injected = httpx.Client()
    client = ModelsLabClient(settings("http://127.0.0.1:9"), http_client=injected)
    assert client.http_client is injected
    assert type(pool_of(injected)) is httpcore.ConnectionPool
    injected.close()


async def test_concurrent_bursts_reuse_the_previous_bursts_connections() -> None:
    with LoopbackServer(keep_alive) as server:
        client = AsyncModelsLabClient(settings(server.base_url))
        for _ in range(3):
            replies = await asyncio.gather(
                *(client.chat_completions(chat_request()) for _ in range(30))
            )
            assert [reply.choices[0].message.text for reply in replies] == ["ok"] * 30
        await client.aclose()
    assert 1 <= server.total_connections <= 30
    assert len(server.requests) == 90


def test_threaded_bursts_reuse_the_previous_bursts_connections() -> None:
    with LoopbackServer(keep_alive) as server:
        client = ModelsLabClient(settings(server.base_url))
        with ThreadPoolExecutor(max_workers=10) as threads:
            for _ in range(3):
                replies = list(
                    threads.map(lambda _: client.chat_completions(chat_request()), range(10))
                )
                assert [reply.choices[0].message.text for reply in replies] == ["ok"] * 10
        client.close()
    assert 1 <= server.total_connections <= 10


def test_a_connection_the_server_closed_is_not_reused() -> None:
    with LoopbackServer(close_after_reply) as server:
        client = ModelsLabClient(settings(server.base_url))
        for _ in range(4):
            assert client.chat_completions(chat_request()).choices[0].message.text == "ok"
            assert server.wait_until_no_open_connections() == 0
        client.close()
    assert server.total_connections == 4


async def test_a_full_pool_makes_room_for_new_requests() -> None:
    with LoopbackServer(announce_close) as server:
        http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=2)
        )
        _make_lean(http)
        assert type(pool_of(http)).__name__ == "_LeanAsyncConnectionPool"
        client = AsyncModelsLabClient(settings(server.base_url), http_client=http)
        for _ in range(3):
            replies = await asyncio.gather(
                *(client.chat_completions(chat_request()) for _ in range(5))
            )
            assert [reply.choices[0].message.text for reply in replies] == ["ok"] * 5
        assert len(pool_of(http)._connections) <= 2
        await http.aclose()
    assert server.total_connections == 15
