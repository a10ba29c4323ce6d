"""The transport clients for one set of connection options: built once, on first use."""

from __future__ import annotations

import asyncio
import threading

import httpx2

from modelslab_transport.client import AsyncModelsLabClient, ModelsLabClient
from modelslab_transport.client_set import ClientSet
from modelslab_transport.config.options import ModelsLabOptions
from modelslab_transport.limits.retry import RetryPolicy

OPTIONS = ModelsLabOptions(
    api_key="sk-client-set-0123456789", base_url="http://127.0.0.1:9/v1", timeout=7
)


def test_nothing_is_built_until_asked_for() -> None:
    clients = ClientSet(OPTIONS, None, None, None)
    assert (clients.sync, clients.async_) == (None, None)
    assert clients.refused == set()
    assert clients.counts_tokens


def test_the_settings_are_the_connection_part_of_the_options() -> None:
    settings = ClientSet(OPTIONS, None, None, None).settings()
    assert settings.base_url == "http://127.0.0.1:9/v1"
    assert settings.timeout == 7
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "sk-client-set-0123456789"


def test_each_client_is_built_once_with_the_injected_client_and_policy() -> None:
    policy = RetryPolicy(initial_backoff=0.1)
    given = httpx2.Client()
    clients = ClientSet(OPTIONS, given, None, policy)
    sync = clients.get_sync()
    assert isinstance(sync, ModelsLabClient)
    assert clients.get_sync() is sync
    assert sync.retry_policy is policy
    assert sync.settings is clients.settings()
    async_client = clients.get_async()
    assert isinstance(async_client, AsyncModelsLabClient)
    assert clients.get_async() is async_client
    sync.close()
    asyncio.run(async_client.aclose())


def test_concurrent_first_callers_get_one_client() -> None:
    clients = ClientSet(OPTIONS, None, None, None)
    got: list[ModelsLabClient] = []
    threads = [threading.Thread(target=lambda: got.append(clients.get_sync())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in got}) == 1
    got[0].close()


def test_the_connection_key_names_the_options_and_the_injected_clients() -> None:
    given = httpx2.Client()
    first = ClientSet(OPTIONS, given, None, None)
    assert first.connection == (OPTIONS.connection(), id(given), id(None))
    assert ClientSet(OPTIONS, given, None, None).connection == first.connection
    assert ClientSet(OPTIONS, None, None, None).connection != first.connection


def test_a_forked_child_gets_a_new_lock() -> None:
    clients = ClientSet(OPTIONS, None, None, None)
    before = clients._lock
    clients.after_fork()
    assert clients._lock is not before
