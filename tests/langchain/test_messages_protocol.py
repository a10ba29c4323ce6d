"""ChatModelsLab with ``api="messages"``, token counting, catalog and profiles.

Checked on the in-process fake API (no sockets): what goes over the wire to
``/v1/messages`` and how Anthropic-style replies and SSE events come back as
LangChain messages.
"""

from __future__ import annotations

import json
from typing import Any, cast

import httpx2
import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from langchain_modelslab import ChatModelsLab, ModelsLabRateLimitError
from langchain_modelslab.conversions import messages_to_wire
from modelslab_transport import DEFAULT_MAX_TOKENS
from modelslab_transport.chat.token_estimate import TokenCountEstimateWarning, estimate_tokens
from modelslab_transport.config.model_profiles import DEFAULT_CONTEXT_WINDOW
from modelslab_transport.wire.catalog import ModelInfo
from modelslab_transport.wire.chat import Tool
from tests.support.clients import API_KEY, chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import (
    completion_body,
    json_response,
)


class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str = Field(description="the city")


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def message(
    *blocks: dict[str, Any], stop_reason: str = "end_turn", usage: tuple[int, int] = (12, 4)
) -> httpx2.Response:
    """A non-streamed Messages reply."""
    return json_response(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": list(blocks) or [{"type": "text", "text": "Hello!"}],
            "model": "google-gemma-3-1b-it",
            "stop_reason": stop_reason,
            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
        }
    )


def events(*items: dict[str, Any]) -> httpx2.Response:
    """A streamed Messages reply: each item as an ``event:``/``data:`` pair."""
    text = "".join(f"event: {item['type']}\ndata: {json.dumps(item)}\n\n" for item in items)
    return httpx2.Response(200, text=text, headers={"content-type": "text/event-stream"})


def start(input_tokens: int = 10) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_s",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "google-gemma-3-1b-it",
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        },
    }


def text_block(index: int, *pieces: str) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_start", "index": index, "content_block": {"type": "text"}},
        *(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": p},
            }
            for p in pieces
        ),
        {"type": "content_block_stop", "index": index},
    ]


def tool_block(index: int, name: str, *fragments: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {
                "type": "tool_use",
                "id": f"toolu_{index}",
                "name": name,
                "input": {},
            },
        },
        *(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": f},
            }
            for f in fragments
        ),
        {"type": "content_block_stop", "index": index},
    ]


def finish(stop_reason: str, output_tokens: int = 7) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


# ------------------------------------------------------------------ plain and streamed


def test_invoke_goes_to_the_messages_endpoint() -> None:
    api = ScriptedServer([message({"type": "text", "text": "Bonjour."})])
    llm = chat_model(api, api="messages", temperature=0.5, stop=["\n"])
    reply = llm.invoke([SystemMessage("Be brief."), HumanMessage("Say hello in French.")])
    request = api.requests[-1]
    assert request.url.path == "/api/v7/llm/v1/messages"
    assert request.headers["x-api-key"] == API_KEY
    assert "authorization" not in request.headers
    assert api.last_body == {
        "model": "google-gemma-3-1b-it",
        "max_tokens": DEFAULT_MAX_TOKENS,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Say hello in French."}]}
        ],
        "temperature": 0.5,
        "stop_sequences": ["\n"],
    }
    assert isinstance(reply, AIMessage)
    assert reply.content == "Bonjour."
    assert reply.usage_metadata == {"input_tokens": 12, "output_tokens": 4, "total_tokens": 16}
    assert reply.response_metadata["finish_reason"] == "stop"
    assert reply.response_metadata["model_provider"] == "modelslab"


async def test_ainvoke_goes_to_the_messages_endpoint() -> None:
    api = ScriptedServer([message()])
    reply = await chat_model(api, api="messages").ainvoke("hi")
    assert api.requests[-1].url.path.endswith("/v1/messages")
    assert reply.content == "Hello!"


def test_stream_text_and_tool_input_over_messages() -> None:
    api = ScriptedServer(
        [
            events(
                start(),
                {"type": "ping"},
                *text_block(0, "Let me ", "check."),
                *tool_block(1, "GetWeather", '{"ci', 'ty": "Paris"}'),
                *finish("tool_use"),
            )
        ]
    )
    llm = chat_model(api, api="messages").bind_tools([GetWeather])
    chunks = [cast(AIMessageChunk, piece) for piece in llm.stream("Weather in Paris?")]
    assert "stream_options" not in api.last_body
    assert api.last_body["stream"] is True
    merged = chunks[0]
    for piece in chunks[1:]:
        merged = merged + piece
    assert merged.content == "Let me check."
    assert merged.tool_calls == [
        {"name": "GetWeather", "args": {"city": "Paris"}, "id": "toolu_1", "type": "tool_call"}
    ]
    indexes = {c["index"] for piece in chunks for c in piece.tool_call_chunks}
    assert indexes == {0}
    assert merged.usage_metadata == {"input_tokens": 10, "output_tokens": 7, "total_tokens": 17}
    assert merged.response_metadata["finish_reason"] == "tool_calls"
    assert sum(1 for piece in chunks if piece.usage_metadata) == 1


async def test_astream_over_messages() -> None:
    api = ScriptedServer([events(start(), *text_block(0, "a", "b"), *finish("end_turn"))])
    pieces = [piece async for piece in chat_model(api, api="messages").astream("hi")]
    assert "".join(str(piece.content) for piece in pieces) == "ab"
    assert pieces[-1].usage_metadata is not None


def test_error_event_in_a_stream_raises() -> None:
    api = ScriptedServer(
        [
            events(
                start(),
                {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
            )
        ]
    )
    with pytest.raises(ModelsLabRateLimitError, match="slow down"):
        list(chat_model(api, api="messages").stream("hi"))


def test_stream_usage_flag_sends_no_stream_options_on_messages() -> None:
    api = ScriptedServer([events(start(), *text_block(0, "x"), *finish("end_turn"))])
    list(chat_model(api, api="messages", stream_usage=True).stream("hi"))
    assert "stream_options" not in api.last_body


# ---------------------------------------------------------------------- tool calling


@pytest.mark.parametrize(
    ("tool_choice", "sent"),
    [
        ("auto", {"type": "auto"}),
        ("any", {"type": "any"}),
        (True, {"type": "any"}),
        ("none", {"type": "none"}),
        ("add", {"type": "tool", "name": "add"}),
    ],
)
def test_tool_choice_over_messages(tool_choice: Any, sent: dict[str, Any]) -> None:
    api = ScriptedServer(
        [message({"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1}})]
    )
    llm = chat_model(api, api="messages").bind_tools([add, GetWeather], tool_choice=tool_choice)
    reply = llm.invoke("add one")
    assert api.last_body["tool_choice"] == sent
    assert [t["name"] for t in api.last_body["tools"]] == ["add", "GetWeather"]
    assert api.last_body["tools"][0]["input_schema"]["required"] == ["a", "b"]
    assert reply.tool_calls == [{"name": "add", "args": {"a": 1}, "id": "t1", "type": "tool_call"}]


def test_tool_results_travel_as_tool_result_blocks() -> None:
    api = ScriptedServer([message()])
    history: list[Any] = [
        HumanMessage("add 1 and 2"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "t1"}]),
        {"role": "tool", "content": "3", "tool_call_id": "t1"},
    ]
    chat_model(api, api="messages").invoke(history)
    turns = api.last_body["messages"]
    assert turns[1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1, "b": 2}}],
    }
    assert turns[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "3"}],
    }


@pytest.mark.parametrize("api_name", ["messages", "chat_completions"])
def test_a_failed_tool_call_is_flagged_where_the_protocol_can_say_so(api_name: str) -> None:
    """LangChain's agents answer a tool that raised with ToolMessage(status="error")."""
    api = ScriptedServer(
        [message() if api_name == "messages" else json_response(completion_body())]
    )
    history: list[Any] = [
        HumanMessage("add 1 and 2, then 3 and 4"),
        AIMessage(
            "",
            tool_calls=[
                {"name": "add", "args": {"a": 1, "b": 2}, "id": "t1"},
                {"name": "add", "args": {"a": 3, "b": 4}, "id": "t2"},
            ],
        ),
        ToolMessage("Error: ValueError('no')", tool_call_id="t1", status="error"),
        ToolMessage("7", tool_call_id="t2"),
    ]
    chat_model(api, api=api_name).invoke(history)
    turns = api.last_body["messages"]
    if api_name == "messages":
        assert turns[2] == {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": "Error: ValueError('no')",
                    "is_error": True,
                },
                {"type": "tool_result", "tool_use_id": "t2", "content": "7"},
            ],
        }
    else:  # no such field on /chat/completions: the content says it
        assert turns[2:] == [
            {"role": "tool", "content": "Error: ValueError('no')", "tool_call_id": "t1"},
            {"role": "tool", "content": "7", "tool_call_id": "t2"},
        ]


def test_cache_reads_and_writes_both_reach_usage_metadata() -> None:
    """Anthropic counts the tokens written to the prompt cache apart from those read."""
    reply = message()
    body = json.loads(reply.read())
    body["usage"] = {
        "input_tokens": 10,
        "output_tokens": 3,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
    }
    api = ScriptedServer([json_response(body)])
    usage = chat_model(api, api="messages").invoke("hi").usage_metadata
    assert usage == {
        "input_tokens": 130,
        "output_tokens": 3,
        "total_tokens": 133,
        "input_token_details": {"cache_read": 100, "cache_creation": 20},
    }


def test_parallel_tool_calls_false_is_sent_as_disable_parallel_tool_use() -> None:
    api = ScriptedServer([message()])
    chat_model(api, api="messages").bind_tools([add], parallel_tool_calls=False).invoke("hi")
    assert api.last_body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


# ----------------------------------------------------------------- structured output


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_structured_output_over_messages_is_a_forced_tool_call(method: Any) -> None:
    api = ScriptedServer(
        [message({"type": "tool_use", "id": "t1", "name": "GetWeather", "input": {"city": "Oslo"}})]
    )
    structured = chat_model(api, api="messages").with_structured_output(GetWeather, method=method)
    assert structured.invoke("Weather in Oslo?") == GetWeather(city="Oslo")
    body = api.last_body
    assert "response_format" not in body
    assert body["tool_choice"] == {"type": "any"}
    assert body["tools"][0]["name"] == "GetWeather"


def test_json_schema_still_uses_response_format_on_chat_completions() -> None:
    api = ScriptedServer(
        [json_response({"choices": [{"message": {"content": '{"city": "Oslo"}'}}]})]
    )
    structured = chat_model(api).with_structured_output(GetWeather, method="json_schema")
    assert structured.invoke("Weather in Oslo?") == GetWeather(city="Oslo")
    assert api.last_body["response_format"]["type"] == "json_schema"


# --------------------------------------------------------- parameters the protocol lacks


@pytest.mark.parametrize(
    ("params", "message_text"),
    [
        ({"temperature": 1.5}, "temperature 1.5 is above 1"),
        ({"seed": 7}, "seed cannot be sent with api='messages'"),
        ({"presence_penalty": 0.5}, "presence_penalty cannot be sent"),
        ({"frequency_penalty": 0.5}, "frequency_penalty cannot be sent"),
        ({"n": 2}, "n > 1 cannot be sent"),
        ({"model_kwargs": {"response_format": {"type": "json_object"}}}, "response_format"),
    ],
)
def test_messages_refuses_chat_only_parameters_at_construction(
    params: dict[str, Any], message_text: str
) -> None:
    with pytest.raises(ValueError, match=message_text):
        ChatModelsLab(api="messages", api_key="k", **params)


def test_chat_completions_keeps_its_wider_range() -> None:
    assert ChatModelsLab(temperature=1.5, seed=7, api_key="k").temperature == 1.5


def test_per_call_temperature_above_one_is_refused_before_sending() -> None:
    api = ScriptedServer([message()])
    with pytest.raises(ValueError, match=r"temperature 1\.8 is above 1"):
        chat_model(api, api="messages").invoke("hi", temperature=1.8)
    assert api.requests == []


def test_unknown_api_is_refused() -> None:
    with pytest.raises(ValueError, match="api"):
        ChatModelsLab(api="responses", api_key="k")


# ---------------------------------------------------------------------- token counts


async def test_async_token_count_is_exact_and_counts_tools() -> None:
    api = ScriptedServer([json_response({"input_tokens": 57})])
    llm = chat_model(api, api="messages")
    assert await llm.aget_num_tokens_from_messages([HumanMessage("hi")], tools=[add]) == 57
    assert api.requests[-1].url.path.endswith("/v1/messages/count_tokens")
    assert api.last_body["tools"][0]["name"] == "add"


async def test_async_token_count_is_estimated_when_the_endpoint_is_missing() -> None:
    api = ScriptedServer([json_response({"error": {"message": "no such route"}}, 404)])
    messages: list[BaseMessage] = [HumanMessage("hello there, how are you today?")]
    with pytest.warns(TokenCountEstimateWarning):
        count = await chat_model(api).aget_num_tokens_from_messages(messages, tools=[add])
    tools = [Tool.model_validate(convert_to_openai_tool(add))]
    assert count == estimate_tokens(messages_to_wire(messages), tools)


# ---------------------------------------------------------------------------- catalog


def test_list_models_returns_typed_entries() -> None:
    catalog = {
        "object": "list",
        "data": [
            {"id": "google-gemma-3-1b-it", "object": "model", "owned_by": "google"},
            {"id": "meta-llama-Llama-3.2-1B", "object": "model", "created": 1712345678},
        ],
    }
    api = ScriptedServer([json_response(catalog)])
    models = chat_model(api).list_models()
    assert [type(m) for m in models] == [ModelInfo, ModelInfo]
    assert [m.id for m in models] == ["google-gemma-3-1b-it", "meta-llama-Llama-3.2-1B"]
    assert models[0].owned_by == "google"
    request = api.requests[-1]
    assert request.method == "GET"
    assert request.url.path == "/api/v7/llm/v1/models"
    assert request.headers["x-api-key"] == API_KEY


async def test_alist_models() -> None:
    api = ScriptedServer([json_response({"data": [{"id": "m"}]})])
    assert [m.id for m in await chat_model(api).alist_models()] == ["m"]


# --------------------------------------------------------------------------- profiles


def test_profile_of_a_seed_model() -> None:
    profile = ChatModelsLab(model="google-gemma-3-1b-it", api_key="k").profile
    assert profile is not None
    assert profile["max_input_tokens"] == 32768
    assert profile["max_output_tokens"] == 32768
    assert profile["image_inputs"] is False
    assert "tool_calling" not in profile  # unknown for Gemma 3 1B: left out, not guessed


def test_profile_of_a_model_named_in_the_docs_either_spelling() -> None:
    for model in ("meta-llama/Llama-3.1-70B-Instruct", "meta-llama-llama-3.1-70b-instruct"):
        profile = ChatModelsLab(model=model, api_key="k").profile
        assert profile is not None
        assert profile["max_input_tokens"] == 131072
        assert profile["tool_calling"] is True


def test_unknown_model_gets_the_conservative_default() -> None:
    profile = ChatModelsLab(model="someone/new-model", api_key="k").profile
    assert profile is not None
    assert profile["max_input_tokens"] == DEFAULT_CONTEXT_WINDOW
    assert "max_output_tokens" not in profile


def test_user_profile_overrides_the_table() -> None:
    llm = ChatModelsLab(model="someone/new-model", profile={"max_input_tokens": 200_000})
    assert llm.profile == {"max_input_tokens": 200_000}


def test_langsmith_reports_the_max_tokens_that_is_sent() -> None:
    llm = ChatModelsLab(model="gemini-2.0-flash-001", api_key="k")
    assert llm._get_ls_params()["ls_max_tokens"] == DEFAULT_MAX_TOKENS
    assert llm._default_params["max_tokens"] == DEFAULT_MAX_TOKENS
