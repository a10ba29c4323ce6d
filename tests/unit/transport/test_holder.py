"""``ModelsLabHolder``: each call resolves the framework model's configuration once.

Every entry point of both framework classes, sync and async, is counted: the fields are
fingerprinted (compared with the last configuration) exactly once per call, and a change
made between calls (an assignment, or an in-place edit of a dict field) still reaches the
next request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx2
import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

import modelslab_transport.modelslab as modelslab_module
from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.holder import ModelsLabHolder, modelslab_held_by
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body, json_response, text_stream

_MESSAGES = [ChatMessage(role=MessageRole.USER, content="Hi")]


def _server(stream: bool) -> ScriptedServer:
    reply = text_stream("Hello") if stream else json_response(completion_body("Hi"))
    return ScriptedServer([reply])


def _langchain(server: ScriptedServer) -> ChatModelsLab:
    return ChatModelsLab(
        api_key="test-key",
        base_url="http://127.0.0.1:1/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        http_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
    )


def _llama_index(server: ScriptedServer) -> ModelsLabLLM:
    return ModelsLabLLM(
        api_key="test-key",
        base_url="http://127.0.0.1:1/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        async_http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
    )


async def _drain(events: AsyncIterator[Any]) -> list[Any]:
    return [event async for event in events]


async def _drain_awaited(awaitable: Any) -> list[Any]:
    return [event async for event in await awaitable]


def _run(result: Any) -> Any:
    if isinstance(result, Iterator):
        return list(result)
    if asyncio.iscoroutine(result):
        return asyncio.run(result)
    return result


Call = Callable[[Any], Any]
ENTRY_POINTS: list[tuple[str, Callable[[ScriptedServer], ModelsLabHolder], bool, Call]] = [
    ("ChatModelsLab.invoke", _langchain, False, lambda m: m.invoke("Hi")),
    ("ChatModelsLab.ainvoke", _langchain, False, lambda m: m.ainvoke("Hi")),
    ("ChatModelsLab.stream", _langchain, True, lambda m: m.stream("Hi")),
    ("ChatModelsLab.astream", _langchain, True, lambda m: _drain(m.astream("Hi"))),
    ("ModelsLabLLM.chat", _llama_index, False, lambda m: m.chat(_MESSAGES)),
    ("ModelsLabLLM.achat", _llama_index, False, lambda m: m.achat(_MESSAGES)),
    ("ModelsLabLLM.stream_chat", _llama_index, True, lambda m: m.stream_chat(_MESSAGES)),
    (
        "ModelsLabLLM.astream_chat",
        _llama_index,
        True,
        lambda m: _drain_awaited(m.astream_chat(_MESSAGES)),
    ),
    ("ModelsLabLLM.complete", _llama_index, False, lambda m: m.complete("Hi")),
    ("ModelsLabLLM.acomplete", _llama_index, False, lambda m: m.acomplete("Hi")),
    ("ModelsLabLLM.stream_complete", _llama_index, True, lambda m: m.stream_complete("Hi")),
    (
        "ModelsLabLLM.astream_complete",
        _llama_index,
        True,
        lambda m: _drain_awaited(m.astream_complete("Hi")),
    ),
]


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the fingerprints taken of a framework model's fields (one entry each)."""
    taken: list[int] = []
    fingerprint = modelslab_module._fingerprint

    def counting(*args: Any) -> tuple[Any, ...]:
        taken.append(1)
        return fingerprint(*args)

    monkeypatch.setattr(modelslab_module, "_fingerprint", counting)
    return taken


@pytest.mark.parametrize(
    ("make", "stream", "call"),
    [entry[1:] for entry in ENTRY_POINTS],
    ids=[entry[0] for entry in ENTRY_POINTS],
)
def test_each_call_resolves_the_configuration_once(
    make: Callable[[ScriptedServer], ModelsLabHolder],
    stream: bool,
    call: Call,
    resolutions: list[int],
) -> None:
    server = _server(stream)
    model = make(server)
    resolutions.clear()  # construction checks the fields too
    for expected in (1, 2):  # a second call resolves once more, not more
        _run(call(model))
        assert len(resolutions) == expected
    assert len(server.requests) == 2


@pytest.mark.parametrize("make", [_langchain, _llama_index], ids=["langchain", "llama_index"])
def test_a_change_between_calls_reaches_the_next_request(
    make: Callable[[ScriptedServer], ModelsLabHolder],
) -> None:
    server = _server(stream=False)
    model = make(server)

    def ask() -> None:
        if isinstance(model, ChatModelsLab):
            model.invoke("Hi")
        else:
            assert isinstance(model, ModelsLabLLM)
            model.chat(_MESSAGES)

    model.default_headers = {"X-Trace": "1"}
    ask()
    assert server.requests[-1].headers["X-Trace"] == "1"
    assert model.default_headers is not None
    model.default_headers["X-Trace"] = "2"  # an in-place edit
    ask()
    assert server.requests[-1].headers["X-Trace"] == "2"
    model.temperature = 0.5
    ask()
    assert server.last_body["temperature"] == 0.5


@pytest.mark.parametrize("make", [_langchain, _llama_index], ids=["langchain", "llama_index"])
def test_what_a_call_began_with_is_used_once(
    make: Callable[[ScriptedServer], ModelsLabHolder], resolutions: list[int]
) -> None:
    model = make(_server(stream=False))
    core = model._start_call()
    resolutions.clear()
    assert model._client_for_call() is core
    assert resolutions == []  # taken from where the call began
    model.temperature = 0.25
    assert model._client_for_call() is core  # the same object, reconfigured
    assert resolutions == [1]  # forgotten once used: resolved again
    assert core.options.temperature == 0.25


def test_what_another_model_began_with_is_not_used(resolutions: list[int]) -> None:
    first, second = _llama_index(_server(False)), _llama_index(_server(False))
    first._start_call()
    resolutions.clear()
    assert second._client_for_call() is modelslab_held_by(second)
    assert resolutions == [1]
