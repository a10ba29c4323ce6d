"""Chat-completions <-> Messages conversions (the groundwork of api='messages')."""

from __future__ import annotations

import json

import httpx2
import pytest

from modelslab_transport import (
    AsyncModelsLabClient,
    ChatStreamAccumulator,
    ClientSettings,
    ModelsLabClient,
)
from modelslab_transport.protocols.encode_messages import (
    chat_request_to_count_tokens,
    chat_request_to_messages,
)
from modelslab_transport.protocols.messages import MessageEventTranslator, message_to_completion
from modelslab_transport.wire import (
    ChatCompletionRequest,
    ChatMessage,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    Message,
    MessageStreamEvent,
    StreamOptions,
    TextPart,
    Tool,
    ToolCall,
)

TOOL = Tool(
    function=FunctionDefinition(
        name="get_weather",
        description="Weather for a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
)


def _request(**kwargs: object) -> ChatCompletionRequest:
    base: dict[str, object] = {
        "model": "m",
        "max_tokens": 32,
        "messages": [
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Weather in Paris?"),
            ChatMessage(
                role="assistant",
                tool_calls=[
                    ToolCall(
                        id="call_1",
                        function=FunctionCall(name="get_weather", arguments='{"city": "Paris"}'),
                    )
                ],
            ),
            ChatMessage(role="tool", tool_call_id="call_1", content="18C, sunny"),
        ],
    }
    base.update(kwargs)
    return ChatCompletionRequest.model_validate(base)


def test_request_conversion_moves_system_tools_and_results() -> None:
    payload = chat_request_to_messages(
        _request(tools=[TOOL], tool_choice="required", stop="END", top_k=5)
    ).to_payload()
    assert payload["system"] == "Be brief."
    assert [m["role"] for m in payload["messages"]] == ["user", "assistant", "user"]
    assert payload["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert payload["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "18C, sunny"}
    ]
    assert payload["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert payload["tool_choice"] == {"type": "any"}
    assert payload["stop_sequences"] == ["END"]
    assert payload["top_k"] == 5
    assert payload["max_tokens"] == 32


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "tool", "name": "get_weather"},
        ),
    ],
)
def test_tool_choice_mapping(choice: object, expected: dict[str, str]) -> None:
    assert chat_request_to_messages(_request(tools=[TOOL], tool_choice=choice)).tool_choice == (
        expected
    )


def test_parallel_tool_calls_false_disables_parallel_use() -> None:
    converted = chat_request_to_messages(_request(tools=[TOOL], parallel_tool_calls=False))
    assert converted.tool_choice == {"type": "auto", "disable_parallel_tool_use": True}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", 1),
        ("frequency_penalty", 0.5),
        ("presence_penalty", 0.5),
        ("n", 2),
        ("response_format", {"type": "json_object"}),
    ],
)
def test_chat_only_parameters_are_refused_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field.split("_")[0]):
        chat_request_to_messages(_request(**{field: value}))


def test_temperature_above_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"temperature 1.5 is above 1"):
        chat_request_to_messages(_request(temperature=1.5))


def test_images_become_base64_or_url_sources() -> None:
    request = _request(
        messages=[
            ChatMessage(
                role="user",
                content=[
                    TextPart(text="What is this?"),
                    ImagePart(image_url=ImageURL(url="data:image/jpeg;base64,QUJD")),
                    ImagePart(image_url=ImageURL(url="https://example.com/a.png")),
                ],
            )
        ]
    )
    blocks = chat_request_to_messages(request).to_payload()["messages"][0]["content"]
    assert blocks[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": "QUJD"},
    }
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/a.png"},
    }


def test_count_tokens_request_keeps_tools() -> None:
    counted = chat_request_to_count_tokens(_request(tools=[TOOL])).to_payload()
    assert counted["system"] == "Be brief."
    assert counted["tools"][0]["name"] == "get_weather"
    assert "max_tokens" not in counted


def test_message_reply_becomes_completion() -> None:
    message = Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 12, "output_tokens": 7},
        }
    )
    completion = message_to_completion(message)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.text == "Let me check."
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name) == ("toolu_1", "get_weather")
    assert json.loads(call.function.arguments or "") == {"city": "Paris"}
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 7)
    assert completion.usage.total == 19


def test_event_stream_translates_to_chunks_that_accumulate() -> None:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "model": "m",
                "content": [],
                "usage": {"input_tokens": 9, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 11},
        },
        {"type": "message_stop"},
    ]
    translator = MessageEventTranslator()
    translated = [translator.translate(MessageStreamEvent.model_validate(e)) for e in events]
    chunks = [chunk for chunk in translated if chunk is not None]
    accumulator = ChatStreamAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    assert accumulator.text() == "Hi"
    calls = accumulator.tool_calls()
    assert len(calls) == 1
    assert calls[0].index == 0
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments or "") == {"city": "Paris"}
    assert accumulator.finish_reason() == "tool_calls"
    assert chunks[-1].choices == []
    assert accumulator.usage is not None
    assert (accumulator.usage.prompt_tokens, accumulator.usage.completion_tokens) == (9, 11)
    assert sum(1 for c in chunks if c.usage is not None) == 1


def _messages_server(captured: list[httpx2.Request]) -> httpx2.MockTransport:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_9",
                "model": "m",
                "content": [],
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        },
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Bonjour"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 3},
        },
        {"type": "message_stop"},
    ]
    stream_body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)

    def handler(request: httpx2.Request) -> httpx2.Response:
        captured.append(request)
        body = json.loads(request.content)
        if body.get("stream"):
            return httpx2.Response(
                200, headers={"content-type": "text/event-stream"}, text=stream_body
            )
        return httpx2.Response(
            200,
            json={
                "id": "msg_8",
                "type": "message",
                "role": "assistant",
                "model": "m",
                "content": [{"type": "text", "text": "Bonjour"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 5, "output_tokens": 3},
            },
        )

    return httpx2.MockTransport(handler)


def _settings() -> ClientSettings:
    return ClientSettings(api_key="sk-test-bridge", base_url="https://modelslab.com/api/v7/llm")


def test_client_chat_over_messages_protocol() -> None:
    captured: list[httpx2.Request] = []
    client = ModelsLabClient(
        _settings(), http_client=httpx2.Client(transport=_messages_server(captured))
    )
    request = _request(messages=[ChatMessage(role="user", content="Say hello in French")])
    completion = client.chat(request, api="messages")
    assert completion.choices[0].message.text == "Bonjour"
    assert completion.choices[0].finish_reason == "stop"
    assert captured[0].url.path == "/api/v7/llm/v1/messages"
    assert captured[0].headers["x-api-key"] == "sk-test-bridge"

    # Usage is asked for as on chat completions (stream_options.include_usage).
    request = request.model_copy(update={"stream_options": StreamOptions(include_usage=True)})
    accumulator = ChatStreamAccumulator()
    with client.stream_chat(request, api="messages") as stream:
        for chunk in stream:
            accumulator.add(chunk)
    assert accumulator.text() == "Bonjour"
    assert accumulator.finish_reason() == "stop"
    assert accumulator.usage is not None
    assert (accumulator.usage.prompt_tokens, accumulator.usage.completion_tokens) == (5, 3)
    assert json.loads(captured[1].content)["stream"] is True


async def test_async_client_stream_over_messages_protocol() -> None:
    captured: list[httpx2.Request] = []
    client = AsyncModelsLabClient(
        _settings(), http_client=httpx2.AsyncClient(transport=_messages_server(captured))
    )
    request = _request(messages=[ChatMessage(role="user", content="Say hello in French")])
    texts = []
    async with await client.stream_chat(request, api="messages") as stream:
        async for chunk in stream:
            texts.extend(c.delta.text for c in chunk.choices)
    assert "".join(texts) == "Bonjour"
    completion = await client.chat(request, api="messages")
    assert completion.usage is not None
    assert completion.usage.total == 8
