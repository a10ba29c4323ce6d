"""What ChatModelsLab sends, checked on an in-process fake API (no sockets)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_modelslab import ChatModelsLab
from modelslab_transport import DEFAULT_MAX_TOKENS
from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
    tool_call,
    usage_chunk,
)


class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str = Field(description="the city")


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: first factor
        b: second factor
    """
    return a * b


class Joke(TypedDict):
    """A joke."""

    setup: str
    punchline: str


def test_construction_needs_no_key_and_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELSLAB_API_KEY", raising=False)
    monkeypatch.delenv("MODELSLAB_BASE_URL", raising=False)
    llm = ChatModelsLab()
    assert llm.api_key is None
    assert llm.model == "google-gemma-3-1b-it"
    assert llm.base_url == "https://modelslab.com/api/v7/llm"
    # No transport client is built before the first call.
    assert llm.client._clients.sync is None
    assert llm.client._clients.async_ is None


def test_environment_supplies_key_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", "from-env")
    monkeypatch.setenv("MODELSLAB_BASE_URL", "http://127.0.0.1:9999")
    llm = ChatModelsLab()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "from-env"
    assert llm.base_url == "http://127.0.0.1:9999"


def test_default_request_always_sends_max_tokens() -> None:
    api = ScriptedServer([json_response(completion_body())])
    chat_model(api).invoke("hi")
    assert api.last_body == {
        "model": "google-gemma-3-1b-it",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": DEFAULT_MAX_TOKENS,
    }
    assert api.requests[0].url.path == "/api/v7/llm/chat/completions"
    assert api.requests[0].headers["authorization"].startswith("Bearer ")


def test_constructor_parameters_are_sent() -> None:
    api = ScriptedServer([json_response(completion_body())])
    llm = chat_model(
        api,
        model="meta-llama-3-8B-instruct",
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop=["END"],
        n=2,
        seed=7,
        frequency_penalty=0.1,
        presence_penalty=-0.1,
        model_kwargs={"top_k": 40},
    )
    llm.invoke("hi")
    assert api.last_body == {
        "model": "meta-llama-3-8B-instruct",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END"],
        "n": 2,
        "seed": 7,
        "frequency_penalty": 0.1,
        "presence_penalty": -0.1,
        "top_k": 40,
    }


def test_unknown_constructor_arguments_go_to_model_kwargs() -> None:
    with pytest.warns(UserWarning, match="repetition_penalty"):
        llm = ChatModelsLab(repetition_penalty=1.1)
    assert llm.model_kwargs == {"repetition_penalty": 1.1}
    with pytest.raises(ValueError, match="not in model_kwargs"):
        ChatModelsLab(model_kwargs={"temperature": 1})


def test_per_call_arguments_override_defaults() -> None:
    api = ScriptedServer([json_response(completion_body())])
    llm = chat_model(api, stop=["a"], temperature=0.5)
    llm.invoke("hi", stop=["b"], temperature=0.0, model="other-model")
    body = api.last_body
    assert (body["stop"], body["temperature"], body["model"]) == (["b"], 0.0, "other-model")


def test_empty_stop_list_is_not_sent() -> None:
    api = ScriptedServer([json_response(completion_body())])
    chat_model(api, stop=[]).invoke("hi")
    assert "stop" not in api.last_body


def test_stream_requests_usage_by_default() -> None:
    api = ScriptedServer([sse_response(chunk(content="x", finish_reason="stop"))])
    list(chat_model(api).stream("hi"))
    assert api.last_body["stream"] is True
    assert api.last_body["stream_options"] == {"include_usage": True}
    assert api.requests[-1].headers["accept"] == "text/event-stream"


def test_stream_usage_can_be_turned_off() -> None:
    api = ScriptedServer([sse_response(chunk(content="x", finish_reason="stop"))])
    list(chat_model(api, stream_usage=False).stream("hi"))
    assert "stream_options" not in api.last_body
    list(chat_model(api).stream("hi", stream_usage=False))
    assert "stream_options" not in api.last_body


def test_streaming_flag_makes_invoke_stream() -> None:
    api = ScriptedServer(
        [sse_response(chunk(content="ok", finish_reason="stop"), usage_chunk(3, 1))]
    )
    result = chat_model(api, streaming=True).invoke("hi")
    assert api.last_body["stream"] is True
    assert result.content == "ok"
    assert result.usage_metadata == {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}


def _two_choices() -> dict[str, Any]:
    body = completion_body("one")
    body["choices"].append(
        {"index": 1, "message": {"role": "assistant", "content": "two"}, "finish_reason": "stop"}
    )
    return body


def test_n_greater_than_one_is_not_streamed() -> None:
    with pytest.raises(ValueError, match="n > 1"):
        ChatModelsLab(n=2, streaming=True)
    api = ScriptedServer([json_response(_two_choices()), json_response(_two_choices())])
    # Sent whole; the stream is the first choice in one chunk, as invoke returns it.
    (only,) = list(chat_model(api).stream("hi", n=2))
    assert (only.content, api.last_body["n"], "stream" in api.last_body) == ("one", 2, False)
    (only,) = list(chat_model(api, n=2).stream("hi"))
    assert only.content == "one"


async def test_n_greater_than_one_under_a_streaming_callback_is_sent_whole() -> None:
    """astream_events (and LangGraph's stream_mode="messages") would stream every invoke;
    a call for n > 1 choices cannot stream, so it goes out whole instead of failing."""
    api = ScriptedServer([json_response(_two_choices()), json_response(_two_choices())])
    llm = chat_model(api, n=2)
    events = [event async for event in llm.astream_events("hi", version="v2")]
    assert [event["event"] for event in events] == ["on_chat_model_start", "on_chat_model_end"]
    assert events[-1]["data"]["output"].content == "one"
    assert "stream" not in api.last_body
    assert api.last_body["n"] == 2
    result = llm.generate([[HumanMessage("hi")]])  # every choice, as before
    assert [g.text for g in result.generations[0]] == ["one", "two"]


async def test_async_invoke_and_stream() -> None:
    api = ScriptedServer([json_response(completion_body("async!"))])
    llm = chat_model(api)
    assert (await llm.ainvoke("hi")).content == "async!"
    api.replies[:] = [sse_response(chunk(content="a"), chunk(content="b", finish_reason="stop"))]
    text = "".join([c.text async for c in llm.astream("hi")])
    assert text == "ab"
    assert api.last_body["stream"] is True


def test_batch_uses_one_pooled_client() -> None:
    api = ScriptedServer([json_response(completion_body())])
    llm = chat_model(api)
    assert [m.content for m in llm.batch(["a", "b", "c"])] == ["Hello!"] * 3
    client = llm.client
    llm.invoke("d")
    assert llm.client is client
    assert len(api.requests) == 4


# ------------------------------------------------------------------ tool calling


def test_bind_tools_accepts_every_tool_kind() -> None:
    api = ScriptedServer([json_response(completion_body())])
    raw = {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a word up.",
            "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
        },
    }
    anthropic_style = {
        "name": "color_picker",
        "description": "Pick a colour.",
        "input_schema": {"type": "object", "properties": {"c": {"type": "string"}}},
    }
    chat_model(api).bind_tools([GetWeather, add, multiply, raw, anthropic_style]).invoke("hi")
    tools = api.last_body["tools"]
    assert [t["function"]["name"] for t in tools] == [
        "GetWeather",
        "add",
        "multiply",
        "lookup",
        "color_picker",
    ]
    assert all(t["type"] == "function" for t in tools)
    assert tools[0]["function"]["parameters"]["required"] == ["city"]
    assert "tool_choice" not in api.last_body
    assert "parallel_tool_calls" not in api.last_body


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        ("add", {"type": "function", "function": {"name": "add"}}),
        (
            {"type": "function", "function": {"name": "GetWeather"}},
            {"type": "function", "function": {"name": "GetWeather"}},
        ),
    ],
)
def test_tool_choice_mapping(choice: Any, sent: Any) -> None:
    api = ScriptedServer([json_response(completion_body())])
    chat_model(api).bind_tools([GetWeather, add], tool_choice=choice).invoke("hi")
    assert api.last_body["tool_choice"] == sent


def test_tool_choice_naming_an_unbound_tool_fails_at_bind_time() -> None:
    with pytest.raises(ValueError, match="not_a_tool"):
        ChatModelsLab().bind_tools([add], tool_choice="not_a_tool")


@pytest.mark.parametrize("parallel", [True, False])
def test_parallel_tool_calls_sent_only_when_set(parallel: bool) -> None:
    api = ScriptedServer([json_response(completion_body())])
    chat_model(api).bind_tools([add], parallel_tool_calls=parallel).invoke("hi")
    assert api.last_body["parallel_tool_calls"] is parallel


def test_strict_tools() -> None:
    api = ScriptedServer([json_response(completion_body())])
    chat_model(api).bind_tools([GetWeather], strict=True).invoke("hi")
    function = api.last_body["tools"][0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["additionalProperties"] is False


def test_tool_call_reply_and_history_round_trip() -> None:
    api = ScriptedServer(
        [
            json_response(
                completion_body(
                    None,
                    tool_calls=[tool_call("add", '{"a": 1, "b": 2}', "call_7")],
                    finish_reason="tool_calls",
                )
            ),
            json_response(completion_body("It is 3.")),
        ]
    )
    llm = chat_model(api).bind_tools([add])
    first = llm.invoke("What is 1 + 2?")
    assert isinstance(first, AIMessage)
    assert first.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "call_7", "type": "tool_call"}
    ]
    result = add.invoke(first.tool_calls[0])
    llm.invoke([HumanMessage("What is 1 + 2?"), first, result])
    assert api.last_body["messages"][1:] == [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_7",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                }
            ],
        },
        {"role": "tool", "content": "3", "tool_call_id": "call_7"},
    ]


def test_streamed_tool_call_chunks_carry_index() -> None:
    api = ScriptedServer(
        [
            sse_response(
                chunk(
                    tool_calls=[
                        {"index": 0, "id": "c1", "type": "function", "function": {"name": "add"}}
                    ]
                ),
                chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"a": 1, '}}]),
                chunk(tool_calls=[{"index": 0, "function": {"arguments": '"b": 2}'}}]),
                chunk(finish_reason="tool_calls"),
            )
        ]
    )
    chunks = [
        c
        for c in chat_model(api).bind_tools([add], tool_choice="any").stream("1+2?")
        if isinstance(c, AIMessageChunk)
    ]
    indexed = [tc for c in chunks for tc in c.tool_call_chunks]
    assert [tc["index"] for tc in indexed] == [0, 0, 0]
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert full.tool_calls == [
        {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}
    ]


# ------------------------------------------------------------- structured output


def test_structured_output_function_calling_forces_the_schema_tool() -> None:
    api = ScriptedServer(
        [
            json_response(
                completion_body(
                    None,
                    tool_calls=[tool_call("GetWeather", '{"city": "Paris"}')],
                    finish_reason="tool_calls",
                )
            )
        ]
    )
    result = chat_model(api).with_structured_output(GetWeather).invoke("weather in Paris?")
    assert result == GetWeather(city="Paris")
    assert api.last_body["tool_choice"] == "required"
    assert [t["function"]["name"] for t in api.last_body["tools"]] == ["GetWeather"]


def test_structured_output_json_mode() -> None:
    api = ScriptedServer([json_response(completion_body('{"setup": "s", "punchline": "p"}'))])
    result = chat_model(api).with_structured_output(Joke, method="json_mode").invoke("joke")
    assert result == {"setup": "s", "punchline": "p"}
    assert api.last_body["response_format"] == {"type": "json_object"}
    assert "tools" not in api.last_body


@pytest.mark.parametrize("strict", [None, True])
def test_structured_output_json_schema(strict: bool | None) -> None:
    api = ScriptedServer([json_response(completion_body('{"city": "Oslo"}'))])
    chain = chat_model(api).with_structured_output(GetWeather, method="json_schema", strict=strict)
    assert chain.invoke("weather?") == GetWeather(city="Oslo")
    response_format = api.last_body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "GetWeather"
    assert response_format["json_schema"]["schema"]["properties"]["city"]["type"] == "string"
    assert response_format["json_schema"].get("strict") is strict


def test_structured_output_json_schema_dict_input() -> None:
    schema = {
        "title": "Answer",
        "type": "object",
        "properties": {"value": {"type": "integer"}},
        "required": ["value"],
    }
    api = ScriptedServer([json_response(completion_body('{"value": 4}'))])
    assert chat_model(api).with_structured_output(schema, method="json_schema").invoke("2+2") == {
        "value": 4
    }


def test_structured_output_include_raw_keeps_parse_errors() -> None:
    api = ScriptedServer([json_response(completion_body("not json at all"))])
    out = chat_model(api).with_structured_output(GetWeather, method="json_mode", include_raw=True)
    result = out.invoke("weather?")
    assert isinstance(result, dict)
    assert isinstance(result["raw"], AIMessage)
    assert result["parsed"] is None
    assert result["parsing_error"] is not None


def test_structured_output_rejects_unknown_options() -> None:
    with pytest.raises(ValueError, match="method must be"):
        ChatModelsLab().with_structured_output(GetWeather, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported"):
        ChatModelsLab().with_structured_output(GetWeather, tools=[])


@pytest.mark.parametrize("api_name", ["chat_completions", "messages"])
def test_structured_output_refuses_what_it_cannot_carry_out(api_name: str) -> None:
    """Each once accepted and then ignored (strict) or failed with an unrelated message."""
    llm = ChatModelsLab(api=api_name)
    with pytest.raises(ValueError, match="strict applies to method='function_calling' and"):
        llm.with_structured_output(GetWeather, method="json_mode", strict=True)
    for method in ("function_calling", "json_schema"):
        with pytest.raises(ValueError, match=f"needs a schema with method='{method}'"):
            llm.with_structured_output(None, method=method)  # type: ignore[arg-type]
    if api_name == "messages":
        with pytest.raises(ValueError, match="api='messages' has no JSON mode"):
            llm.with_structured_output(None, method="json_mode")
    else:
        llm.with_structured_output(None, method="json_mode")  # any JSON object


def test_ls_params_honour_per_call_model() -> None:
    llm = ChatModelsLab(temperature=0.3, max_tokens=20, stop="x")
    assert llm._get_ls_params() == {
        "ls_provider": "modelslab",
        "ls_model_name": "google-gemma-3-1b-it",
        "ls_model_type": "chat",
        "ls_temperature": 0.3,
        "ls_max_tokens": 20,
        "ls_stop": ["x"],
    }
    assert llm._get_ls_params(model="other")["ls_model_name"] == "other"


def test_streaming_invoke_reports_every_token_to_callbacks() -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[Any] = []

        def on_llm_new_token(self, token: Any, **kwargs: Any) -> Any:
            self.tokens.append(token)

    api = ScriptedServer(
        [sse_response(chunk(content="a"), chunk(content="b", finish_reason="stop"))]
    )
    handler = Tokens()
    result = chat_model(api, streaming=True).invoke("hi", config={"callbacks": [handler]})
    assert result.content == "ab"
    assert [t for t in handler.tokens if t] == ["a", "b"]


def test_close_releases_owned_connections() -> None:
    llm = ChatModelsLab(api_key="k")
    http = llm.client.sync_client.http_client
    llm.close()
    assert http.is_closed
    assert llm.client.sync_client.http_client is not http


async def test_aclose_releases_owned_connections() -> None:
    llm = ChatModelsLab(api_key="k")
    http = llm.client.async_client.http_client
    await llm.aclose()
    assert http.is_closed


def test_injected_clients_are_used_and_left_open() -> None:
    api = ScriptedServer([json_response(completion_body())])
    llm = chat_model(api)
    injected = llm.http_client
    llm.invoke("hi")
    llm.close()
    assert not injected.is_closed
    assert llm.client.sync_client.http_client is injected
