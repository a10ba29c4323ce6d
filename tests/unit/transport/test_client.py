"""What goes on the wire (auth, headers, body shape) and how plain replies decode."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest

from modelslab_transport import (
    CHAT_COMPLETIONS_PATH,
    COUNT_TOKENS_PATH,
    DEFAULT_BASE_URL,
    MESSAGES_PATH,
    MODELS_PATH,
    AsyncModelsLabClient,
    AuthenticationError,
    ClientSettings,
    ModelsLabClient,
    RedirectError,
)
from modelslab_transport.wire import (
    ChatCompletion,
    CountTokensRequest,
    CountTokensResponse,
    FunctionDefinition,
    Message,
    ModelInfo,
    StreamOptions,
    Tool,
)
from tests.support.clients import API_KEY, async_client, sync_client
from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.mock_api import ScriptedServer
from tests.support.replies import SSE_HEADERS, chunk, completion_body, json_response, sse
from tests.support.wire_requests import chat_request, messages_request

MESSAGE_BODY = {
    "id": "msg_abc123",
    "type": "message",
    "role": "assistant",
    "content": [{"type": "text", "text": "The capital of France is Paris."}],
    "model": "Qwen/Qwen2.5-VL-72B-Instruct-together",
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 15, "output_tokens": 8},
}
MODELS_BODY = {
    "object": "list",
    "data": [
        {
            "id": "Qwen/Qwen2.5-VL-72B-Instruct-together",
            "object": "model",
            "created": 1712345678,
            "owned_by": "Qwen",
        },
        {"id": "meta-llama/Llama-3.1-70B-Instruct", "owned_by": "Meta", "context": 8192},
    ],
}


def _every_endpoint(client: ModelsLabClient) -> None:
    client.chat_completions(chat_request())
    client.messages(messages_request())
    client.count_tokens(CountTokensRequest(model="m", messages=[{"role": "user", "content": "Hi"}]))
    client.list_models()


def _endpoint_server() -> ScriptedServer:
    def reply(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path.endswith(CHAT_COMPLETIONS_PATH):
            return json_response(completion_body())
        if path.endswith(COUNT_TOKENS_PATH):
            return json_response({"input_tokens": 15})
        if path.endswith(MESSAGES_PATH):
            return json_response(MESSAGE_BODY)
        if path.endswith(MODELS_PATH):
            return json_response(MODELS_BODY)
        return json_response({"error": "no such path"}, 404)

    return ScriptedServer([reply])


# ------------------------------------------------------------------------ auth


def test_default_headers_replace_ours_whatever_their_case() -> None:
    server = _endpoint_server()
    extra = {"Anthropic-Version": "2024-01-01", "Authorization": "Bearer sk-gateway", "X-A": "b"}
    _every_endpoint(sync_client(server, default_headers=extra))
    for request in server.requests:  # each header once, with the caller's value
        assert request.headers.get_list("authorization") == ["Bearer sk-gateway"]
        assert request.headers.get_list("x-a") == ["b"]
    for request in server.requests[1:]:  # the Anthropic-style endpoints
        assert request.headers.get_list("anthropic-version") == ["2024-01-01"]


def test_each_endpoint_uses_its_documented_path_method_and_auth() -> None:
    server = _endpoint_server()
    _every_endpoint(sync_client(server))
    seen = {(r.method, r.url.path): r.headers for r in server.requests}
    assert list(seen) == [
        ("POST", "/api/v7/llm/chat/completions"),
        ("POST", "/api/v7/llm/v1/messages"),
        ("POST", "/api/v7/llm/v1/messages/count_tokens"),
        ("GET", "/api/v7/llm/v1/models"),
    ]
    chat = seen[("POST", "/api/v7/llm/chat/completions")]
    assert chat["authorization"] == f"Bearer {API_KEY}"
    assert "x-api-key" not in chat
    assert "anthropic-version" not in chat
    for path in ("/api/v7/llm/v1/messages", "/api/v7/llm/v1/messages/count_tokens"):
        headers = seen[("POST", path)]
        assert headers["x-api-key"] == API_KEY
        assert headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in headers
    models = seen[("GET", "/api/v7/llm/v1/models")]
    assert models["x-api-key"] == API_KEY
    assert models["anthropic-version"] == "2023-06-01"
    assert "authorization" not in models
    assert server.requests[3].content == b""


def test_anthropic_version_is_configurable() -> None:
    server = _endpoint_server()
    client = sync_client(server, anthropic_version="2099-01-01")
    client.messages(messages_request())
    assert server.requests[0].headers["anthropic-version"] == "2099-01-01"


async def test_async_client_uses_the_same_auth() -> None:
    server = _endpoint_server()
    client = async_client(server)
    await client.chat_completions(chat_request())
    await client.messages(messages_request())
    await client.count_tokens(
        CountTokensRequest(model="m", messages=[{"role": "user", "content": "Hi"}])
    )
    await client.list_models()
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    for request in server.requests[1:]:
        assert request.headers["x-api-key"] == API_KEY
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in request.headers


def test_legacy_auth_adds_key_and_model_id_to_the_chat_body() -> None:
    server = ScriptedServer([json_response(completion_body())])
    client = sync_client(server, legacy_auth=True)
    client.chat_completions(chat_request(model="meta-llama-3-8B-instruct"))
    body = server.bodies[0]
    assert body["key"] == API_KEY
    assert body["model_id"] == "meta-llama-3-8B-instruct"
    assert body["model"] == "meta-llama-3-8B-instruct"
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_legacy_auth_keeps_an_explicit_model_id() -> None:
    server = ScriptedServer([json_response(completion_body())])
    client = sync_client(server, legacy_auth=True)
    client.chat_completions(chat_request(model_id="other-id"))
    assert server.bodies[0]["model_id"] == "other-id"


def test_legacy_auth_applies_to_streams_too() -> None:
    server = ScriptedServer(
        [httpx2.Response(200, headers=SSE_HEADERS, content=sse(chunk("a", finish_reason="stop")))]
    )
    client = sync_client(server, legacy_auth=True)
    with client.stream_chat_completions(chat_request()) as stream:
        assert [c.choices[0].delta.text for c in stream] == ["a"]
    assert server.bodies[0]["key"] == API_KEY
    assert server.bodies[0]["stream"] is True


def test_without_legacy_auth_the_body_has_no_key() -> None:
    server = ScriptedServer([json_response(completion_body())])
    sync_client(server).chat_completions(chat_request())
    assert "key" not in server.bodies[0]
    assert "model_id" not in server.bodies[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.chat_completions(chat_request()),
        lambda c: c.stream_chat_completions(chat_request()),
        lambda c: c.messages(messages_request()),
        lambda c: c.list_models(),
    ],
    ids=["chat", "stream", "messages", "models"],
)
def test_no_key_with_the_modelslab_url_fails_before_sending(call: Any) -> None:
    server = ScriptedServer([json_response(completion_body())])
    client = ModelsLabClient(
        ClientSettings(api_key=None, base_url=DEFAULT_BASE_URL),
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
    )
    with pytest.raises(AuthenticationError) as caught:
        call(client)
    assert "MODELSLAB_API_KEY" in str(caught.value)
    assert server.requests == []


async def test_async_no_key_with_the_modelslab_url_fails_before_sending() -> None:
    server = ScriptedServer([json_response(completion_body())])
    client = AsyncModelsLabClient(
        ClientSettings(api_key="   ", base_url="https://eu.modelslab.com/api/v7/llm"),
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
    )
    with pytest.raises(AuthenticationError):
        await client.chat_completions(chat_request())
    assert server.requests == []


def test_no_key_with_a_local_url_sends_no_auth_header() -> None:
    server = _endpoint_server()
    client = ModelsLabClient(
        ClientSettings(api_key=None, base_url="http://127.0.0.1:8080/v1"),
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
    )
    _every_endpoint(client)
    assert len(server.requests) == 4
    assert str(server.requests[0].url) == "http://127.0.0.1:8080/v1/chat/completions"
    for request in server.requests:
        assert "authorization" not in request.headers
        assert "x-api-key" not in request.headers
    assert "key" not in server.bodies[0]


def test_default_headers_are_sent_on_every_endpoint() -> None:
    server = _endpoint_server()
    client = sync_client(server, default_headers={"X-Trace": "t-1", "x-team": "core"})
    _every_endpoint(client)
    for request in server.requests:
        assert request.headers["x-trace"] == "t-1"
        assert request.headers["x-team"] == "core"
        assert request.headers["user-agent"].startswith("modelslab-llm/")


def test_accept_and_content_type_headers() -> None:
    server = ScriptedServer(
        [
            json_response(completion_body()),
            httpx2.Response(
                200, headers=SSE_HEADERS, content=sse(chunk("x", finish_reason="stop"))
            ),
        ]
    )
    client = sync_client(server)
    client.chat_completions(chat_request())
    list(client.stream_chat_completions(chat_request()))
    assert server.requests[0].headers["accept"] == "application/json"
    assert server.requests[0].headers["content-type"] == "application/json"
    assert server.requests[1].headers["accept"] == "text/event-stream"


# ---------------------------------------------------------------- request body


def test_only_set_fields_are_sent_and_max_tokens_always() -> None:
    server = ScriptedServer([json_response(completion_body())])
    sync_client(server).chat_completions(chat_request(max_tokens=4096))
    assert server.bodies[0] == {
        "model": "meta-llama-3-8B-instruct",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 4096,
    }


def test_set_sampling_fields_are_sent_verbatim() -> None:
    server = ScriptedServer([json_response(completion_body())])
    request = chat_request(temperature=0.0, top_p=0.5, stop=["\n"], seed=7, n=1)
    sync_client(server).chat_completions(request)
    body = server.bodies[0]
    assert body["temperature"] == 0.0
    assert body["top_p"] == 0.5
    assert body["stop"] == ["\n"]
    assert body["seed"] == 7
    assert body["n"] == 1
    assert "frequency_penalty" not in body
    assert "tools" not in body


def test_stream_options_dropped_from_non_stream_calls() -> None:
    server = ScriptedServer([json_response(completion_body())])
    request = chat_request(stream=True, stream_options=StreamOptions(include_usage=True))
    sync_client(server).chat_completions(request)
    body = server.bodies[0]
    assert "stream_options" not in body
    assert "stream" not in body


def test_stream_call_sends_stream_true_and_keeps_stream_options() -> None:
    server = ScriptedServer(
        [httpx2.Response(200, headers=SSE_HEADERS, content=sse(chunk("x", finish_reason="stop")))]
    )
    request = chat_request(stream=True, stream_options=StreamOptions(include_usage=True))
    list(sync_client(server).stream_chat_completions(request))
    body = server.bodies[0]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_stream_call_sets_stream_even_when_the_request_did_not() -> None:
    server = ScriptedServer(
        [httpx2.Response(200, headers=SSE_HEADERS, content=sse(chunk("x", finish_reason="stop")))]
    )
    list(sync_client(server).stream_chat_completions(chat_request()))
    assert server.bodies[0]["stream"] is True
    assert "stream_options" not in server.bodies[0]


def test_parallel_tool_calls_false_is_sent_and_unset_is_not() -> None:
    tool = Tool(function=FunctionDefinition(name="get_weather"))
    server = ScriptedServer([json_response(completion_body())])
    client = sync_client(server)
    client.chat_completions(chat_request(tools=[tool], parallel_tool_calls=False))
    client.chat_completions(chat_request(tools=[tool], tool_choice="required"))
    first, second = server.bodies
    assert first["parallel_tool_calls"] is False
    assert first["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    assert "parallel_tool_calls" not in second
    assert second["tool_choice"] == "required"


def test_extra_kwargs_pass_through() -> None:
    server = ScriptedServer([json_response(completion_body())])
    request = chat_request(top_k=40, repetition_penalty=1.1, min_p=None)
    sync_client(server).chat_completions(request)
    body = server.bodies[0]
    assert body["top_k"] == 40
    assert body["repetition_penalty"] == 1.1
    assert "min_p" not in body


def test_messages_body_and_stream_flag() -> None:
    server = ScriptedServer([json_response(MESSAGE_BODY)])
    client = sync_client(server)
    client.messages(messages_request(system="Be brief.", temperature=0.5))
    assert server.bodies[0] == {
        "model": "claude-like",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}],
        "system": "Be brief.",
        "temperature": 0.5,
    }


def test_body_is_compact_utf8_json() -> None:
    server = ScriptedServer([json_response(completion_body())])
    request = chat_request(messages=[{"role": "user", "content": "héllo ✓"}])
    sync_client(server).chat_completions(request)
    raw = server.requests[0].content
    assert "héllo ✓".encode() in raw
    assert b": " not in raw
    assert json.loads(raw)["messages"][0]["content"] == "héllo ✓"


# ------------------------------------------------------------- reply decoding


def test_chat_completion_decodes() -> None:
    server = ScriptedServer([json_response(completion_body("Hi there"))])
    completion = sync_client(server).chat_completions(chat_request())
    assert isinstance(completion, ChatCompletion)
    assert completion.id == "chatcmpl-1"
    assert completion.choices[0].message.text == "Hi there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total == 12


def test_chat_completion_tolerates_missing_ids_and_keeps_unknown_fields() -> None:
    body = {
        "choices": [{"message": {"content": "x"}}],
        "provider": "OpenRouter",
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    completion = sync_client(ScriptedServer([json_response(body)])).chat_completions(chat_request())
    assert completion.id is None
    assert completion.model is None
    assert completion.created is None
    assert completion.choices[0].index == 0
    assert completion.choices[0].message.role == "assistant"
    assert completion.model_extra == {"provider": "OpenRouter"}
    assert completion.usage is not None
    assert completion.usage.total == 7


def test_content_as_text_blocks_and_reasoning_content() -> None:
    body = completion_body()
    body["choices"][0]["message"] = {
        "role": "assistant",
        "content": [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}],
        "reasoning_content": "thinking...",
    }
    completion = sync_client(ScriptedServer([json_response(body)])).chat_completions(chat_request())
    message = completion.choices[0].message
    assert message.text == "Hello, world"
    assert message.reasoning_content == "thinking..."


def test_null_content_with_tool_calls() -> None:
    body = completion_body()
    body["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    body["choices"][0]["finish_reason"] = "tool_calls"
    completion = sync_client(ScriptedServer([json_response(body)])).chat_completions(chat_request())
    message = completion.choices[0].message
    assert message.text == ""
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.tool_calls[0].function.arguments or "") == {"city": "Paris"}


def test_messages_reply_decodes() -> None:
    message = sync_client(ScriptedServer([json_response(MESSAGE_BODY)])).messages(
        messages_request()
    )
    assert isinstance(message, Message)
    assert message.text == "The capital of France is Paris."
    assert message.stop_reason == "end_turn"
    assert message.usage is not None
    assert message.usage.input_tokens == 15
    assert message.usage.output_tokens == 8


def test_count_tokens_decodes() -> None:
    server = ScriptedServer([json_response({"input_tokens": 15})])
    counted = sync_client(server).count_tokens(
        CountTokensRequest(
            model="m", system="Be brief.", messages=[{"role": "user", "content": "Hi"}]
        )
    )
    assert isinstance(counted, CountTokensResponse)
    assert counted.input_tokens == 15
    assert server.bodies[0] == {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "system": "Be brief.",
    }


async def test_async_count_tokens_and_list_models_decode() -> None:
    server = ScriptedServer([json_response({"input_tokens": 3}), json_response(MODELS_BODY)])
    client = async_client(server)
    counted = await client.count_tokens(
        CountTokensRequest(model="m", messages=[{"role": "user", "content": "Hi"}])
    )
    models = await client.list_models()
    assert counted.input_tokens == 3
    assert [m.id for m in models] == [
        "Qwen/Qwen2.5-VL-72B-Instruct-together",
        "meta-llama/Llama-3.1-70B-Instruct",
    ]


def test_list_models_decodes() -> None:
    models = sync_client(ScriptedServer([json_response(MODELS_BODY)])).list_models()
    assert all(isinstance(m, ModelInfo) for m in models)
    assert [m.id for m in models] == [
        "Qwen/Qwen2.5-VL-72B-Instruct-together",
        "meta-llama/Llama-3.1-70B-Instruct",
    ]
    assert models[0].owned_by == "Qwen"
    assert models[0].created == 1712345678
    assert models[1].object is None
    assert models[1].model_extra == {"context": 8192}


def test_count_tokens_error_body_raises() -> None:
    from modelslab_transport import NotFoundError

    server = ScriptedServer([json_response({"status": "error", "message": "Model not found: m"})])
    with pytest.raises(NotFoundError):
        sync_client(server).count_tokens(
            CountTokensRequest(model="m", messages=[{"role": "user", "content": "Hi"}])
        )


# ---------------------------------------------------------- client lifecycle


def test_client_builds_one_pooled_http_client_lazily_and_closes_it() -> None:
    client = ModelsLabClient(ClientSettings(api_key=API_KEY))
    first = client.http_client
    assert client.http_client is first
    assert isinstance(first, httpx2.Client)
    client.close()
    assert first.is_closed
    second = client.http_client
    assert second is not first
    assert not second.is_closed
    client.close()


def test_injected_http_client_is_used_and_not_closed() -> None:
    injected = httpx2.Client(transport=httpx2.MockTransport(lambda r: json_response({})))
    with ModelsLabClient(ClientSettings(api_key=API_KEY), http_client=injected) as client:
        assert client.http_client is injected
    assert not injected.is_closed
    injected.close()


async def test_async_client_context_manager_closes_its_own_client() -> None:
    async with AsyncModelsLabClient(ClientSettings(api_key=API_KEY)) as client:
        owned = client.http_client
        assert isinstance(owned, httpx2.AsyncClient)
        assert client.http_client is owned
    assert owned.is_closed


def test_async_client_survives_a_second_event_loop() -> None:
    def script(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        conn.send_json(completion_body("loop"))
        return True

    with LoopbackServer(script) as server:
        client = AsyncModelsLabClient(ClientSettings(base_url=server.base_url))
        built: list[httpx2.AsyncClient] = []

        async def call() -> str:
            completion = await client.chat_completions(chat_request())
            built.append(client.http_client)
            return completion.choices[0].message.text

        assert asyncio.run(call()) == "loop"
        assert asyncio.run(call()) == "loop"
        assert len(server.requests) == 2
        assert built[0] is not built[1]
        # Each pool was closed as its loop shut down; aclose from a third loop does not fail.
        assert built[0].is_closed
        assert built[1].is_closed
        asyncio.run(client.aclose())


async def test_aclose_in_the_loop_that_built_the_pool_closes_it() -> None:
    client = AsyncModelsLabClient(ClientSettings(api_key=API_KEY))
    owned = client.http_client
    await client.aclose()
    assert owned.is_closed
    assert client.http_client is not owned
    await client.aclose()
    await client.aclose()  # idempotent


KEY = "sk-transport-3Jd8Kq0Zp7Lw2Nx5Vb9Hc4Ty6"


class _Recorder(LoopbackServer):
    """Origin B: records every request, answers 200."""

    def __init__(self) -> None:
        super().__init__(self._answer)

    def _answer(self, conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
        conn.sock.sendall(b"content-length: 2\r\n\r\n{}")
        return True


def _redirector(target: str, status: int) -> LoopbackServer:
    def answer(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        conn.sock.sendall(
            f"HTTP/1.1 {status} Moved\r\nlocation: {target}{request.path}?token=t0k3n\r\n"
            "content-length: 0\r\n\r\n".encode()
        )
        return True

    return LoopbackServer(answer)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("api", ["chat", "messages", "legacy"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_transport_never_follows_a_redirect(status: int, api: str, mode: str) -> None:
    with _Recorder() as b, _redirector(b.base_url, status) as a:
        target = b.base_url
        settings = ClientSettings(api_key=KEY, base_url=a.base_url, legacy_auth=api == "legacy")
        if mode == "sync":
            with httpx2.Client(follow_redirects=True) as http:
                client = ModelsLabClient(settings, http_client=http)
                send = (
                    (lambda: client.messages(messages_request()))
                    if api == "messages"
                    else (lambda: client.chat_completions(chat_request()))
                )
                with pytest.raises(RedirectError) as caught:
                    send()
        else:

            async def run() -> None:
                async with httpx2.AsyncClient(follow_redirects=True) as http:
                    client = AsyncModelsLabClient(settings, http_client=http)
                    if api == "messages":
                        await client.messages(messages_request())
                    else:
                        await client.chat_completions(chat_request())

            with pytest.raises(RedirectError) as caught:
                asyncio.run(run())
        assert b.requests == []
        assert len(a.requests) == 1
    error = caught.value
    path = "/v1/messages" if api == "messages" else "/chat/completions"
    assert error.status_code == status
    assert error.location == target + path  # the query string (a token) left out
    assert "t0k3n" not in str(error)
    assert f"base_url={target!r}" in str(error)
    assert not error.retryable
    assert KEY not in str(error) + repr(error)
