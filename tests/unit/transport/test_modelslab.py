"""``ModelsLab``: options, request building, the protocol table and client swapping."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import pickle
from typing import Any

import httpx2
import pytest

from modelslab_transport import CHAT_PROTOCOLS, ModelsLab, ModelsLabOptions
from modelslab_transport.config.defaults import DEFAULT_MAX_TOKENS
from modelslab_transport.config.model_profiles import default_max_tokens
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.wire.chat import ChatMessage
from tests.support.clients import API_KEY
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body

HI = [ChatMessage(role="user", content="Hi")]


def _core(server: ScriptedServer | None = None, **options: Any) -> ModelsLab:
    http = httpx2.Client(transport=httpx2.MockTransport(server)) if server else None
    return ModelsLab(ModelsLabOptions(api_key=API_KEY, **options), http_client=http)


def test_defaults_then_extra_params_then_call_params() -> None:
    core = _core(temperature=0.5, stop=["x"], extra_params={"top_k": 3, "seed": 1})
    request = core.build_request(HI, stream=False, params={"seed": 2, "top_p": 0.9})
    body = request.to_payload()
    assert (body["temperature"], body["top_k"], body["seed"], body["top_p"]) == (0.5, 3, 2, 0.9)
    assert body["stop"] == ["x"]
    assert core.build_request(HI, stream=False, stop=[]).to_payload().get("stop") is None


def test_max_tokens_default_is_capped_by_the_profile_of_the_requests_model() -> None:
    core = _core(model="google-gemma-3-1b-it")
    assert core.build_request(HI, stream=False).max_tokens == default_max_tokens(
        "google-gemma-3-1b-it"
    )
    other = "meta-llama-Llama-3.2-1B"
    request = core.build_request(HI, stream=False, params={"model": other})
    assert request.max_tokens == default_max_tokens(other) == core.max_tokens_for(other)
    assert _core(max_tokens=12).build_request(HI, stream=False).max_tokens == 12
    assert core.max_tokens_for("an-unknown-model") == DEFAULT_MAX_TOKENS


@pytest.mark.parametrize(("api", "on_the_wire"), [("chat_completions", True), ("messages", False)])
def test_usage_is_asked_for_on_streams_and_sent_where_the_protocol_has_stream_options(
    api: str, on_the_wire: bool
) -> None:
    core = _core(api=api)
    request = core.build_request(HI, stream=True)
    # The internal request always says whether usage is wanted (the Messages stream
    # decoder reads it); only chat completions carries stream_options on the wire.
    assert request.stream_options is not None
    assert request.stream_options.include_usage is True
    settings = ClientSettings.of(core.options)
    body = CHAT_PROTOCOLS[api].build_body(request, settings, True)
    assert ("stream_options" in body) is on_the_wire
    assert _core(api=api, stream_usage=False).build_request(HI, stream=True).stream_options is None
    assert _core(api=api).build_request(HI, stream=False).stream_options is None


def test_the_call_decides_streaming_and_n_above_one_is_not_streamed() -> None:
    core = _core()
    assert core.build_request(HI, stream=False, params={"stream": True}).stream is None
    with pytest.raises(ValueError, match="n > 1 cannot be streamed"):
        core.build_request(HI, stream=True, params={"n": 2})


def test_tool_choice_is_mapped_onto_the_wire() -> None:
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    core = _core()
    params = {"tools": [tool], "tool_choice": "any"}
    assert core.build_request(HI, stream=False, params=params).tool_choice == "required"
    params["tool_choice"] = "lookup"
    assert core.build_request(HI, stream=False, params=params).tool_choice == {
        "type": "function",
        "function": {"name": "lookup"},
    }
    with pytest.raises(ValueError, match="neither 'auto'"):
        core.build_request(HI, stream=False, params={**params, "tool_choice": "nope"})


def test_options_are_checked_once_with_one_message() -> None:
    with pytest.raises(ValueError, match=r"top_p must be 0 to 1, got 1\.5"):
        ModelsLabOptions.checked(top_p=1.5)
    with pytest.raises(ValueError, match="seed cannot be sent with api='messages'"):
        ModelsLabOptions.checked(api="messages", extra_params={"seed": 1})
    with pytest.raises(ValueError, match="api must be one of"):
        ModelsLab(ModelsLabOptions.model_construct(api="nope"))  # type: ignore[arg-type]


def test_a_connection_change_swaps_clients_and_closes_nothing_in_use() -> None:
    core = _core(timeout=10.0)
    first = core.sync_client
    first_pool = first.http_client
    core.configure(ModelsLabOptions(api_key=API_KEY, timeout=10.0, temperature=1.0))
    assert core.sync_client is first  # only a request default changed
    core.configure(ModelsLabOptions(api_key=API_KEY, timeout=20.0))
    second = core.sync_client
    second_pool = second.http_client
    assert second is not first
    assert second.settings.timeout == 20.0
    assert not first_pool.is_closed  # a call may still be running on it
    core.close()
    assert first_pool.is_closed
    assert second_pool.is_closed


def test_pickle_and_deepcopy_leave_clients_behind() -> None:
    core = _core(model="m")
    core.sync_client.http_client  # noqa: B018 - a pool with its lock now exists
    for copied in (pickle.loads(pickle.dumps(core)), copy.deepcopy(core)):
        assert copied.options == core.options
        assert copied.sync_client is not core.sync_client


@dataclasses.dataclass
class _Fields:
    model: str = "m1"


@dataclasses.dataclass(slots=True)
class _SlottedFields:  # no weak references to it
    model: str = "m1"


@pytest.mark.parametrize("source_type", [_Fields, _SlottedFields])
def test_a_following_object_follows_only_its_own_source(source_type: type[Any]) -> None:
    source = source_type()

    def options() -> ModelsLabOptions:
        return ModelsLabOptions(api_key=API_KEY, model=source.model)

    core = ModelsLab.following(source, ["model"], options)
    assert core.follows(source)
    assert not core.follows(copy.copy(source))
    assert not ModelsLab(ModelsLabOptions(api_key=API_KEY)).follows(source)
    source.model = "m2"
    assert core.follow(source, ["model"], options).options.model == "m2"
    assert not copy.deepcopy(core).follows(source)  # a copy follows nothing until told


def test_a_third_protocol_is_one_table_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ScriptedServer([httpx2.Response(200, json=completion_body("via echo"))])
    echo = dataclasses.replace(
        CHAT_PROTOCOLS["chat_completions"], name="echo", path="/echo/chat", auth="x-api-key"
    )  # type: ignore[call-arg]
    monkeypatch.setitem(CHAT_PROTOCOLS, "echo", echo)  # type: ignore[arg-type]
    options = ModelsLabOptions.model_construct(
        **{**ModelsLabOptions(api_key=API_KEY).model_dump(), "api": "echo"}
    )
    core = ModelsLab(options, http_client=httpx2.Client(transport=httpx2.MockTransport(server)))
    reply = core.chat(core.build_request(HI, stream=False))
    assert reply.choices[0].message.content == "via echo"
    (request,) = server.requests
    assert request.url.path.endswith("/echo/chat")
    assert request.headers["x-api-key"] == API_KEY
    assert "authorization" not in request.headers


def test_the_four_calls_sync_and_async() -> None:
    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/v1/models"):
            return httpx2.Response(200, json={"object": "list", "data": [{"id": "m"}]})
        if request.url.path.endswith("/count_tokens"):
            return httpx2.Response(200, json={"input_tokens": 4})
        return httpx2.Response(200, json=completion_body("hello"))

    server = ScriptedServer([answer])
    transport = httpx2.MockTransport(server)
    core = ModelsLab(
        ModelsLabOptions(api_key=API_KEY),
        http_client=httpx2.Client(transport=transport),
        async_http_client=httpx2.AsyncClient(transport=transport),
    )
    request = core.build_request(HI, stream=False)
    assert core.chat(request).choices[0].message.content == "hello"
    assert core.count_tokens(HI) == 4
    assert core.count_tokens([]) == 0
    assert [model.id for model in core.list_models()] == ["m"]

    async def run() -> tuple[str | None, int, list[str]]:
        reply = await core.achat(request)
        counted = await core.acount_tokens(HI)
        models = await core.alist_models()
        return reply.choices[0].message.content, counted, [m.id for m in models]

    assert asyncio.run(run()) == ("hello", 4, ["m"])
    assert len(server.requests) == 6
