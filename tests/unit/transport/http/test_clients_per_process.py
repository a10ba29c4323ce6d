"""The pooled httpx2 clients the transport builds: one sync client per process, one async
client per event loop, proxies from the environment, and what closes them."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from modelslab_transport.errors import LocalRequestError
from modelslab_transport.http.clients import (
    AsyncClientPerLoop,
    SyncClientPerProcess,
    new_async_client,
    new_sync_client,
)
from modelslab_transport.http.sharded_pool import ShardedAsyncTransport
from modelslab_transport.http.timed_transport import TimedHTTPTransport

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_proxy_environment")
def test_new_clients_send_through_the_projects_transports() -> None:
    with new_sync_client(sends_to="https://h.example/v1") as sync:
        assert isinstance(sync._transport, TimedHTTPTransport)
    shared = new_async_client(sends_to="https://h.example/v1")
    assert isinstance(shared._transport, ShardedAsyncTransport)
    asyncio.run(shared.aclose())


def test_a_proxied_url_gets_httpx2s_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with new_sync_client(sends_to="https://h.example/v1") as sync:
        assert not isinstance(sync._transport, TimedHTTPTransport)
    with new_sync_client(sends_to="https://h.example/v1", trust_env=False) as ignoring:
        assert isinstance(ignoring._transport, TimedHTTPTransport)


def test_a_proxy_httpx2_cannot_use_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "ftp://proxy.example:21")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(LocalRequestError) as caught:
        new_sync_client(sends_to="https://h.example/v1")
    text = str(caught.value)
    assert text.startswith("the environment names a proxy that cannot be used (")
    assert "HTTPS_PROXY='ftp://proxy.example:21'" in text
    assert "trust_env=False" in text


def test_one_sync_client_per_process_built_on_first_use() -> None:
    built: list[httpx2.Client] = []

    def build() -> httpx2.Client:
        built.append(httpx2.Client())
        return built[-1]

    clients = SyncClientPerProcess(build)
    assert built == []
    first = clients.get()
    assert clients.get() is first
    lease = clients.lease()
    assert lease.client is first
    clients.close()  # in use by the lease: stays open until it is released
    assert not first.is_closed
    lease.release()
    assert first.is_closed
    assert clients.get() is not first  # the next call builds a new one
    clients.after_fork()
    assert clients._held is None
    assert len(built) == 2
    built[-1].close()


def test_one_async_client_per_loop_closed_with_it() -> None:
    built: list[httpx2.AsyncClient] = []

    def build() -> httpx2.AsyncClient:
        built.append(httpx2.AsyncClient())
        return built[-1]

    clients = AsyncClientPerLoop(build)
    outside = clients.get()  # built outside a loop: adopted by the first loop

    async def in_loop() -> httpx2.AsyncClient:
        client = clients.get()
        assert clients.get() is client
        return client

    first = asyncio.run(in_loop())
    assert first is outside
    assert first.is_closed  # closed when its loop shut down
    second = asyncio.run(in_loop())
    assert second is not first
    assert len(built) == 2


def test_async_aclose_closes_the_running_loops_client() -> None:
    clients = AsyncClientPerLoop(httpx2.AsyncClient)

    async def run() -> httpx2.AsyncClient:
        client = clients.get()
        await clients.aclose()
        return client

    assert asyncio.run(run()).is_closed
