"""The transport clients against a real server, replayed from cassettes.

Every endpoint and mode the clients speak (chat completions plain and streamed,
forced tool calls plain and streamed, ``response_format``, ``/v1/messages`` plain,
streamed and with tools, ``count_tokens``, ``/v1/models``, and the
``api="messages"`` bridge) is exercised once against llama-server running
SmolLM2-135M (``python -m tools.recording record tests/recorded/test_transport.py``).

Forced tool calls go to the tools server (``tools_base_url``): its chat template
makes ``tool_choice: "required"`` (Messages ``{"type": "any"}``) produce a real,
grammar-constrained call; everything else goes to the chat server. Requests use
temperature 0, a fixed seed where the protocol has one, and few tokens. The model
is tiny, so the assertions check the shape of what comes back, not its wisdom.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelslab_transport import (
    AsyncModelsLabClient,
    ChatStreamAccumulator,
    ClientSettings,
    ModelsLabClient,
)
from modelslab_transport.wire.catalog import ModelInfo
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    FunctionDefinition,
    StreamOptions,
    Tool,
)
from modelslab_transport.wire.messages import (
    CountTokensRequest,
    MessageParam,
    MessagesRequest,
    MessagesTool,
    MessageStreamEvent,
)

pytestmark = pytest.mark.vcr

MODEL = "smollm2-135m-instruct"
"""The model name sent (the recording server's ``--alias``; llama-server serves one model)."""
SEED = 42
MAX_TOKENS = 48

WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city, e.g. Paris."}},
    "required": ["city"],
}
WEATHER_TOOL = Tool(
    function=FunctionDefinition(
        name="get_weather",
        description="Get the current weather in a city.",
        parameters=WEATHER_PARAMETERS,
    )
)
MESSAGES_WEATHER_TOOL = MessagesTool(
    name="get_weather",
    description="Get the current weather in a city.",
    input_schema=WEATHER_PARAMETERS,
)
WEATHER_QUESTION = "What is the weather like in Paris today?"

PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture
def chat_settings(server_base_url: str, server_api_key: str) -> ClientSettings:
    """Settings for the chat server (plain chat, streams, response_format, Messages)."""
    return ClientSettings(api_key=server_api_key, base_url=server_base_url, max_retries=0)


@pytest.fixture
def tools_settings(tools_base_url: str, server_api_key: str) -> ClientSettings:
    """Settings for the tools server (forced tool calls)."""
    return ClientSettings(api_key=server_api_key, base_url=tools_base_url, max_retries=0)


def chat_request(prompt: str, **params: Any) -> ChatCompletionRequest:
    params.setdefault("seed", SEED)
    return ChatCompletionRequest(
        model=MODEL,
        messages=[ChatMessage(role="user", content=prompt)],
        max_tokens=params.pop("max_tokens", MAX_TOKENS),
        temperature=0,
        **params,
    )


def messages_request(prompt: str, **params: Any) -> MessagesRequest:
    return MessagesRequest(
        model=MODEL,
        max_tokens=params.pop("max_tokens", MAX_TOKENS),
        messages=[MessageParam(role="user", content=prompt)],
        temperature=0,
        **params,
    )


def assert_answered(completion: ChatCompletion) -> None:
    assert completion.choices, completion
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.text.strip()
    assert choice.finish_reason in ("stop", "length")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0


def assert_weather_call(name: str | None, arguments: str | None) -> dict[str, Any]:
    assert name == "get_weather"
    assert arguments is not None
    parsed = json.loads(arguments)
    assert isinstance(parsed, dict), arguments
    return parsed


def assert_usage_chunk_last(chunks: list[ChatCompletionChunk]) -> None:
    """The stream ended with a usage-only chunk (``choices == []``), and only it has usage."""
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens > 0
    assert last.usage.completion_tokens > 0
    assert all(chunk.choices for chunk in chunks[:-1])


# -------------------------------------------------------------- chat completions


def test_chat_completion(chat_settings: ClientSettings) -> None:
    with ModelsLabClient(chat_settings) as client:
        completion = client.chat_completions(chat_request("Say hello in one short sentence."))
    assert_answered(completion)
    assert completion.object == "chat.completion"
    assert completion.id
    assert completion.model


async def test_chat_completion_async(chat_settings: ClientSettings) -> None:
    async with AsyncModelsLabClient(chat_settings) as client:
        completion = await client.chat_completions(chat_request("Name a colour of the sky."))
    assert_answered(completion)


def test_stream_with_usage(chat_settings: ClientSettings) -> None:
    request = chat_request(
        "Write one sentence about the sea.", stream_options=StreamOptions(include_usage=True)
    )
    accumulator = ChatStreamAccumulator()
    with (
        ModelsLabClient(chat_settings) as client,
        client.stream_chat_completions(request) as stream,
    ):
        chunks = list(stream)
    for chunk in chunks:
        accumulator.add(chunk)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.text]) > 1
    assert_usage_chunk_last(chunks)
    assert accumulator.text().strip()
    assert accumulator.finish_reason() in ("stop", "length")
    assert accumulator.usage == chunks[-1].usage


async def test_stream_with_usage_async(chat_settings: ClientSettings) -> None:
    request = chat_request(
        "Write one sentence about the moon.", stream_options=StreamOptions(include_usage=True)
    )
    async with AsyncModelsLabClient(chat_settings) as client:
        stream = await client.stream_chat_completions(request)
        async with stream:
            chunks = [chunk async for chunk in stream]
    assert_usage_chunk_last(chunks)
    assert "".join(c.choices[0].delta.text for c in chunks if c.choices).strip()


# ------------------------------------------------------------------- tool calls


def test_forced_tool_call(tools_settings: ClientSettings) -> None:
    request = chat_request(WEATHER_QUESTION, tools=[WEATHER_TOOL], tool_choice="required")
    with ModelsLabClient(tools_settings) as client:
        completion = client.chat_completions(request)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None
    assert len(calls) >= 1
    assert calls[0].id
    assert calls[0].type == "function"
    assert_weather_call(calls[0].function.name, calls[0].function.arguments)


async def test_forced_tool_call_streamed(tools_settings: ClientSettings) -> None:
    request = chat_request(WEATHER_QUESTION, tools=[WEATHER_TOOL], tool_choice="required")
    accumulator = ChatStreamAccumulator()
    fragments = 0
    async with AsyncModelsLabClient(tools_settings) as client:
        stream = await client.stream_chat_completions(request)
        async with stream:
            async for chunk in stream:
                accumulator.add(chunk)
                fragments += sum(
                    1
                    for choice in chunk.choices
                    for call in choice.delta.tool_calls or []
                    if call.function.arguments
                )
    assert fragments > 1, "the arguments should arrive in several chunks"
    assert accumulator.finish_reason() == "tool_calls"
    calls = accumulator.tool_calls()
    assert len(calls) >= 1
    assert calls[0].id
    assert_weather_call(calls[0].function.name, calls[0].function.arguments)
    assembled = accumulator.completion().choices[0].message.tool_calls
    assert assembled == calls


# -------------------------------------------------------------- response_format


def test_response_format_json_object(chat_settings: ClientSettings) -> None:
    request = chat_request(
        "Describe a cat as a JSON object with the keys name and colour.",
        response_format={"type": "json_object"},
        max_tokens=64,
    )
    with ModelsLabClient(chat_settings) as client:
        completion = client.chat_completions(request)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop", "the JSON must be complete to parse"
    assert isinstance(json.loads(choice.message.text), dict)


def test_response_format_json_schema(chat_settings: ClientSettings) -> None:
    request = chat_request(
        "Invent a person. Reply with their name and age.",
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON_SCHEMA, "strict": True},
        },
        max_tokens=64,
    )
    with ModelsLabClient(chat_settings) as client:
        completion = client.chat_completions(request)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop", "the JSON must be complete to parse"
    person = json.loads(choice.message.text)
    assert isinstance(person, dict)
    assert set(PERSON_SCHEMA["required"]) <= set(person)
    assert isinstance(person["name"], str)
    assert isinstance(person["age"], int)


# ------------------------------------------------------------------ /v1/messages


def test_messages(chat_settings: ClientSettings) -> None:
    request = messages_request("Say hello in one short sentence.", system="You are brief.")
    with ModelsLabClient(chat_settings) as client:
        message = client.messages(request)
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.id
    assert [block.type for block in message.content] == ["text"]
    assert message.text.strip()
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage is not None
    assert (message.usage.input_tokens or 0) > 0
    assert (message.usage.output_tokens or 0) > 0


def _event_types(events: list[MessageStreamEvent]) -> list[str]:
    return [event.type for event in events if event.type != "ping"]


async def test_messages_stream(chat_settings: ClientSettings) -> None:
    request = messages_request("Write one sentence about the sea.")
    async with AsyncModelsLabClient(chat_settings) as client:
        stream = await client.stream_messages(request)
        async with stream:
            events = [event async for event in stream]
    types = _event_types(events)
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    assert "content_block_start" in types
    assert "content_block_stop" in types
    deltas = [e.delta for e in events if e.type == "content_block_delta" and e.delta is not None]
    assert len(deltas) > 1
    assert all(delta.type == "text_delta" for delta in deltas)
    assert "".join(delta.text or "" for delta in deltas).strip()
    final = next(e for e in events if e.type == "message_delta")
    assert final.delta is not None
    assert final.delta.stop_reason in ("end_turn", "max_tokens")
    assert final.usage is not None
    assert (final.usage.output_tokens or 0) > 0


def test_messages_forced_tool_use(tools_settings: ClientSettings) -> None:
    request = messages_request(
        WEATHER_QUESTION, tools=[MESSAGES_WEATHER_TOOL], tool_choice={"type": "any"}
    )
    with ModelsLabClient(tools_settings) as client:
        message = client.messages(request)
    assert message.stop_reason == "tool_use"
    uses = [block for block in message.content if block.type == "tool_use"]
    assert len(uses) >= 1
    assert uses[0].id
    assert uses[0].name == "get_weather"
    assert isinstance(uses[0].input, dict)


def test_messages_forced_tool_use_streamed(tools_settings: ClientSettings) -> None:
    request = messages_request(
        WEATHER_QUESTION, tools=[MESSAGES_WEATHER_TOOL], tool_choice={"type": "any"}
    )
    with ModelsLabClient(tools_settings) as client, client.stream_messages(request) as stream:
        events = list(stream)
    starts = [
        e.content_block
        for e in events
        if e.type == "content_block_start"
        and e.content_block is not None
        and e.content_block.type == "tool_use"
    ]
    assert len(starts) >= 1
    assert starts[0].name == "get_weather"
    assert starts[0].id
    parts = [
        e.delta.partial_json or ""
        for e in events
        if e.type == "content_block_delta"
        and e.delta is not None
        and e.delta.type == "input_json_delta"
    ]
    assert len(parts) > 1
    assert isinstance(json.loads("".join(parts)), dict)
    final = next(e for e in events if e.type == "message_delta")
    assert final.delta is not None
    assert final.delta.stop_reason == "tool_use"


# ---------------------------------------------------------- count_tokens, models


def test_count_tokens(chat_settings: ClientSettings) -> None:
    messages = [MessageParam(role="user", content=WEATHER_QUESTION)]
    with ModelsLabClient(chat_settings) as client:
        plain = client.count_tokens(CountTokensRequest(model=MODEL, messages=messages))
        with_tool = client.count_tokens(
            CountTokensRequest(model=MODEL, messages=messages, tools=[MESSAGES_WEATHER_TOOL])
        )
    assert isinstance(plain.input_tokens, int)
    assert plain.input_tokens > 0
    assert with_tool.input_tokens > plain.input_tokens


async def test_count_chat_tokens_async(chat_settings: ClientSettings) -> None:
    request = chat_request(WEATHER_QUESTION, seed=None)
    async with AsyncModelsLabClient(chat_settings) as client:
        plain = await client.count_chat_tokens(request)
        with_tool = await client.count_chat_tokens(
            request.model_copy(update={"tools": [WEATHER_TOOL]})
        )
    assert plain > 0
    assert with_tool > plain


def test_list_models(chat_settings: ClientSettings) -> None:
    with ModelsLabClient(chat_settings) as client:
        models = client.list_models()
    assert len(models) >= 1
    assert all(isinstance(model, ModelInfo) for model in models)
    assert all(model.id for model in models)


# ------------------------------------------------- the api="messages" bridge


def test_chat_over_messages(chat_settings: ClientSettings) -> None:
    request = ChatCompletionRequest(
        model=MODEL,
        messages=[
            ChatMessage(role="system", content="You are brief."),
            ChatMessage(role="user", content="Name a fruit."),
        ],
        max_tokens=MAX_TOKENS,
        temperature=0,
    )
    with ModelsLabClient(chat_settings) as client:
        completion = client.chat(request, api="messages")
    assert_answered(completion)
    assert completion.object == "chat.completion"


def test_forced_tool_call_over_messages(tools_settings: ClientSettings) -> None:
    request = chat_request(
        WEATHER_QUESTION, tools=[WEATHER_TOOL], tool_choice="required", seed=None
    )
    with ModelsLabClient(tools_settings) as client:
        completion = client.chat(request, api="messages")
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.id
    assert_weather_call(call.function.name, call.function.arguments)


async def test_stream_chat_over_messages(chat_settings: ClientSettings) -> None:
    # Usage is asked for as on chat completions; the Messages body is the same either way.
    request = chat_request(
        "Write one sentence about rain.", seed=None, stream_options={"include_usage": True}
    )
    accumulator = ChatStreamAccumulator()
    async with AsyncModelsLabClient(chat_settings) as client:
        stream = await client.stream_chat(request, api="messages")
        async with stream:
            chunks = [chunk async for chunk in stream]
    for chunk in chunks:
        accumulator.add(chunk)
    assert_usage_chunk_last(chunks)
    assert accumulator.text().strip()
    assert accumulator.finish_reason() in ("stop", "length")
