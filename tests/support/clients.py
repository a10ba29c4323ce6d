"""Clients wired to a :class:`~tests.support.mock_api.ScriptedServer`: the transport's
sync and async clients (with a retry policy whose sleeps are recorded, never waited),
a LangChain ``ChatModelsLab`` (:func:`chat_model`) and a LlamaIndex ``ModelsLabLLM``
(:func:`scripted_llm`), all with one recognisable fake key."""

from __future__ import annotations

from typing import Any

import httpx2

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import (
    DEFAULT_BASE_URL,
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLabClient,
    RetryPolicy,
)
from tests.support.mock_api import Reply, ScriptedServer

API_KEY = "sk-live-Zq8XfK2pW9mNs4Tt7Yb3"
"""A recognisable fake key: tests assert it never leaks."""
MOCK_BASE_URL = "http://127.0.0.1:9"
"""A base URL at the root of the host (never contacted: the mock transport answers)."""


def settings(**overrides: Any) -> ClientSettings:
    """Settings with the fake key and the real default base URL (never contacted)."""
    fields: dict[str, Any] = {"api_key": API_KEY, "base_url": DEFAULT_BASE_URL}
    fields.update(overrides)
    return ClientSettings(**fields)


class SleepRecorder:
    """Stands in for ``time.sleep`` / ``anyio.sleep``: records delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def policy(self, **overrides: Any) -> RetryPolicy:
        """A retry policy that sleeps through this recorder."""
        return RetryPolicy(sleep=self, async_sleep=self.asleep, **overrides)


def sync_client(
    server: ScriptedServer,
    recorder: SleepRecorder | None = None,
    **setting_overrides: Any,
) -> ModelsLabClient:
    """A sync client whose requests go to ``server``."""
    return ModelsLabClient(
        settings(**setting_overrides),
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        retry_policy=(recorder or SleepRecorder()).policy(),
    )


def async_client(
    server: ScriptedServer,
    recorder: SleepRecorder | None = None,
    **setting_overrides: Any,
) -> AsyncModelsLabClient:
    """An async client whose requests go to ``server``."""
    return AsyncModelsLabClient(
        settings(**setting_overrides),
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
        retry_policy=(recorder or SleepRecorder()).policy(),
    )


def chat_model(server: ScriptedServer, **params: Any) -> ChatModelsLab:
    """A ChatModelsLab whose sync and async requests go to ``server`` (no retries)."""
    params.setdefault("api_key", API_KEY)
    params.setdefault("base_url", DEFAULT_BASE_URL)
    params.setdefault("max_retries", 0)
    return ChatModelsLab(
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        http_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
        **params,
    )


def scripted_llm(*replies: Reply, **fields: Any) -> tuple[ModelsLabLLM, ScriptedServer]:
    """A ModelsLabLLM whose sync and async clients both talk to one new server that
    answers ``replies`` in order and fails the test on one request more."""
    server = ScriptedServer(list(replies), repeat_last=False)
    transport = httpx2.MockTransport(server)
    fields.setdefault("api_key", API_KEY)
    fields.setdefault("base_url", MOCK_BASE_URL)
    fields.setdefault("model", "test-model")
    llm = ModelsLabLLM(
        http_client=httpx2.Client(transport=transport),
        async_http_client=httpx2.AsyncClient(transport=transport),
        **fields,
    )
    return llm, server
