"""Transport clients wired to a :class:`~tests.support.mock_api.ScriptedServer`, with a
recognisable fake key and a retry policy whose sleeps are recorded, never waited."""

from __future__ import annotations

from typing import Any

import httpx2

from modelslab_transport import (
    DEFAULT_BASE_URL,
    AsyncModelsLabClient,
    ClientSettings,
    ModelsLabClient,
    RetryPolicy,
)
from tests.support.mock_api import ScriptedServer

API_KEY = "sk-live-Zq8XfK2pW9mNs4Tt7Yb3"
"""A recognisable fake key: tests assert it never leaks."""


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
