"""Thousands of concurrent calls complete over a bounded pool (no collapse, no storm).

The server (:class:`tests.support.scale_server.ScaleServer`) is an asyncio HTTP/1.1
server on 127.0.0.1 in a process of its own (one coroutine per connection, not one
thread), so thousands of queued requests cost the test little. It answers each request
with the text of its last message, so every reply can be matched to its own call.
Nothing here is timed: every call must succeed with its own answer, and the server must
never see more connections open at once than the client's pool allows. (Where the test
sets the limits, it also checks that no connection was reopened; with the classes' own
pools, a CPU starved for seconds may let a kept-alive connection pass its 5 s expiry,
which is correct, so only the bound is checked.)
"""

from __future__ import annotations

import asyncio

import httpx2
import pytest
from llama_index.core.llms import ChatMessage as LlamaMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import AsyncModelsLabClient, ClientSettings
from modelslab_transport.http.clients import new_async_client
from modelslab_transport.http.sharded_pool import DEFAULT_LIMITS, ShardedAsyncTransport
from modelslab_transport.wire import ChatMessage
from tests.support.clients import API_KEY
from tests.support.scale_server import ScaleServer
from tests.support.wire_requests import chat_request

CALLS = 5000
"""Concurrent ``ChatModelsLab.ainvoke`` calls on the class's own pool."""
LLAMA_INDEX_CALLS = 2000
"""Concurrent ``ModelsLabLLM.achat`` calls: beyond the 1,000 at which one large pool
collapsed (the same sharded pool as ``ChatModelsLab``'s, so 5,000 would add run time,
not coverage)."""
TRANSPORT_CALLS = 2000
"""Concurrent calls through the transport on a 64-connection pool (31 calls a
connection; the 5,000 of ``CALLS`` go through the same transport code)."""
POOL = 64


def settings(base_url: str) -> ClientSettings:
    # No connect timeout: on a starved CPU thousands of ready tasks can delay the loop's
    # next look at a finished TCP handshake by seconds; that is not what is tested here.
    return ClientSettings(
        api_key=API_KEY,
        base_url=base_url,
        max_retries=0,
        timeout=httpx2.Timeout(300, connect=None),
    )


def asks(count: int) -> list[str]:
    return [f"question {number}" for number in range(count)]


async def test_2000_concurrent_chats_share_a_bounded_pool() -> None:
    with ScaleServer().running() as server:
        client = AsyncModelsLabClient(
            settings(server.base_url),
            limits=httpx2.Limits(max_connections=POOL, max_keepalive_connections=POOL),
        )
        questions = asks(TRANSPORT_CALLS)
        replies = await asyncio.gather(
            *(
                client.chat(chat_request(messages=[ChatMessage(role="user", content=q)]))
                for q in questions
            )
        )
        await client.aclose()
    assert [r.choices[0].message.text for r in replies] == questions
    assert server.requests == TRANSPORT_CALLS
    assert 1 <= server.connections <= POOL  # every connection kept alive, none reopened


async def test_5000_concurrent_ainvokes_of_chat_models_lab_on_its_own_pool() -> None:
    with ScaleServer().running() as server:
        llm = ChatModelsLab(
            api_key=API_KEY,
            base_url=server.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(300, connect=None),
        )
        questions = asks(CALLS)
        replies = await asyncio.gather(*(llm.ainvoke(q) for q in questions))
        await llm.aclose()
    assert [r.content for r in replies] == questions
    assert server.requests == CALLS
    assert DEFAULT_LIMITS.max_connections is not None
    assert 1 <= server.most_open_connections <= DEFAULT_LIMITS.max_connections


async def test_2000_concurrent_achats_of_models_lab_llm_on_its_own_pool() -> None:
    with ScaleServer().running() as server:
        llm = ModelsLabLLM(
            api_key=API_KEY,
            base_url=server.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(300, connect=None),
        )
        questions = asks(LLAMA_INDEX_CALLS)
        replies = await asyncio.gather(
            *(llm.achat([LlamaMessage(role="user", content=q)]) for q in questions)
        )
        await llm.aclose()
    assert [r.message.content for r in replies] == questions
    assert server.requests == LLAMA_INDEX_CALLS
    assert DEFAULT_LIMITS.max_connections is not None
    assert 1 <= server.most_open_connections <= DEFAULT_LIMITS.max_connections


async def test_an_injected_pool_bounds_concurrent_ainvokes() -> None:
    with ScaleServer().running() as server:
        pool = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=POOL))
        llm = ChatModelsLab(
            api_key=API_KEY,
            base_url=server.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(300, connect=None),
            http_async_client=pool,
        )
        questions = asks(500)
        replies = await asyncio.gather(*(llm.ainvoke(q) for q in questions))
        await pool.aclose()
    assert [r.content for r in replies] == questions
    assert 1 <= server.connections <= POOL


# -- the sharded pool itself ---------------------------------------------------------


async def test_sequential_calls_reuse_one_connection_of_the_first_shard() -> None:
    with ScaleServer().running() as server:
        client = AsyncModelsLabClient(settings(server.base_url))
        for q in asks(20):
            reply = await client.chat(chat_request(messages=[ChatMessage(role="user", content=q)]))
            assert reply.choices[0].message.text == q
        await client.aclose()
    assert server.connections == 1


async def test_a_burst_opens_no_more_connections_than_the_limit_at_once() -> None:
    with ScaleServer().running() as server:
        limits = httpx2.Limits(max_connections=20, max_keepalive_connections=20)
        async with httpx2.AsyncClient(
            transport=ShardedAsyncTransport(limits, shard_size=3)
        ) as http:
            url = f"{server.base_url}/chat/completions"
            for _ in range(2):  # the second burst reuses the first one's connections
                questions = asks(300)
                replies = await asyncio.gather(
                    *(
                        http.post(url, json={"messages": [{"role": "user", "content": q}]})
                        for q in questions
                    )
                )
                assert [r.json()["choices"][0]["message"]["content"] for r in replies] == questions
    assert server.most_open_connections <= 20
    assert server.connections <= 20


async def test_a_request_waiting_past_its_pool_timeout_raises_pool_timeout() -> None:
    with ScaleServer().running() as server:
        limits = httpx2.Limits(max_connections=1)
        transport = ShardedAsyncTransport(limits)
        async with httpx2.AsyncClient(transport=transport) as http:
            url = f"{server.base_url}/chat/completions"
            body = {"messages": [{"role": "user", "content": "held"}]}
            async with http.stream("POST", url, json=body) as held:  # holds the only slot
                assert held.status_code == 200
                with pytest.raises(httpx2.PoolTimeout, match="pool timeout"):
                    await http.post(url, json=body, timeout=httpx2.Timeout(5, pool=0.05))
            # Closing the held response gave its slot back.
            after = await http.post(url, json={"messages": [{"role": "user", "content": "next"}]})
            assert after.json()["choices"][0]["message"]["content"] == "next"


async def test_a_failed_request_gives_its_slot_back() -> None:
    limits = httpx2.Limits(max_connections=1)
    async with httpx2.AsyncClient(transport=ShardedAsyncTransport(limits)) as http:
        for _ in range(3):  # each refused connection frees the only slot again
            with pytest.raises(httpx2.ConnectError):
                await http.post("http://127.0.0.1:9/chat/completions", json={})


async def test_a_response_closed_after_its_client_gives_its_slot_back_quietly() -> None:
    with ScaleServer().running() as server:
        transport = ShardedAsyncTransport(httpx2.Limits(max_connections=1))
        http = httpx2.AsyncClient(transport=transport)
        url = f"{server.base_url}/chat/completions"
        body = {"messages": [{"role": "user", "content": "late"}]}
        response = await http.send(http.build_request("POST", url, json=body), stream=True)
        await http.aclose()  # closes the shards under the open response
        await response.aclose()  # must not fail on the dropped shard
        assert response.is_closed


@pytest.mark.parametrize("variable", ["ALL_PROXY", "HTTP_PROXY"])
async def test_a_proxy_named_in_the_environment_still_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ScaleServer().running() as proxy:  # answers whatever it is sent
        monkeypatch.setenv(variable, proxy.base_url)
        async with new_async_client(limits=DEFAULT_LIMITS) as http:
            body = {"messages": [{"role": "user", "content": "via the proxy"}]}
            reply = await http.post("http://api.example.invalid/chat/completions", json=body)
    assert reply.json()["choices"][0]["message"]["content"] == "via the proxy"
    assert proxy.requests == 1


def test_a_shard_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="shard_size must be at least 1, got 0"):
        ShardedAsyncTransport(shard_size=0)
