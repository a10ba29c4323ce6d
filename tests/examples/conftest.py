"""Examples under pytest: their cassettes are ``cassettes/examples/<example>.yaml``.

pytest-recording replays (or, under the record command, records) the example's own
cassette, so the example's built-in replay is switched off here. While recording from
the two local llama-servers, the examples get httpx clients that route requests forcing
a tool call to the tools server (see ``tests/langchain/server_routing.py``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from examples import _runtime
from tests.conftest import CASSETTES
from tests.langchain.server_routing import AsyncRoutingTransport, RoutingTransport


@pytest.fixture
def vcr_cassette_dir() -> str:
    return str(CASSETTES / "examples")


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["name"])


@pytest.fixture(autouse=True)
def _harness(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextlib.contextmanager
    def no_own_replay(name: str, where: Any) -> Iterator[None]:
        yield

    monkeypatch.setattr(_runtime, "replaying", no_own_replay)
    chat = os.environ.get("MODELSLAB_BASE_URL")
    tools = os.environ.get("MODELSLAB_TOOLS_BASE_URL")
    if chat and tools and chat != tools:

        def clients() -> tuple[httpx2.Client, httpx2.AsyncClient]:
            return (
                httpx2.Client(transport=RoutingTransport(chat, tools)),
                httpx2.AsyncClient(transport=AsyncRoutingTransport(chat, tools)),
            )

        monkeypatch.setattr(_runtime, "HTTP_CLIENTS", clients)
