"""ChatModelsLab: inline think tags, logprobs, Messages strict/stream_usage, signed reasoning."""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx2
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from pydantic import BaseModel

from langchain_modelslab.conversions import message_to_wire, messages_to_wire
from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
    usage_chunk,
)

THINK_TEXT = "<think>\nSix sevens: 42.\n</think>\n\nThe answer is 42, not <think>."
REASONING = "Six sevens: 42."
ANSWER = "The answer is 42, not <think>."


async def _run(model: Any, use_async: bool, stream: bool) -> AIMessage | AIMessageChunk:
    if stream:
        total: AIMessageChunk | None = None
        if use_async:
            async for piece in model.astream("q"):
                total = piece if total is None else total + piece
        else:
            for piece in model.stream("q"):
                total = piece if total is None else total + piece
        assert total is not None
        return total
    return await model.ainvoke("q") if use_async else model.invoke("q")


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_invoke_splits_leading_think_tags(use_async: bool) -> None:
    api = ScriptedServer([json_response(completion_body(THINK_TEXT))])
    message = await _run(chat_model(api), use_async, stream=False)
    assert message.content == ANSWER
    assert message.additional_kwargs["reasoning_content"] == REASONING
    assert message.content_blocks[0] == {"type": "reasoning", "reasoning": REASONING}


@pytest.mark.parametrize("cut", range(len(THINK_TEXT) + 1))
def test_stream_splits_think_tags_cut_at_every_offset(cut: int) -> None:
    pieces = [THINK_TEXT[:cut], THINK_TEXT[cut:]]
    api = ScriptedServer(
        [
            sse_response(
                *[chunk(content=p) for p in pieces],
                chunk(finish_reason="stop"),
                usage_chunk(1, 2),
            )
        ]
    )
    total = None
    for piece in chat_model(api).stream("q"):
        total = piece if total is None else total + piece
    assert total is not None
    assert (total.content, total.additional_kwargs.get("reasoning_content")) == (ANSWER, REASONING)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_split_think_tags_false_keeps_the_text(use_async: bool, stream: bool) -> None:
    reply = (
        sse_response(
            chunk(content=THINK_TEXT[:9]),
            chunk(content=THINK_TEXT[9:]),
            chunk(finish_reason="stop"),
        )
        if stream
        else json_response(completion_body(THINK_TEXT))
    )
    api = ScriptedServer([reply])
    message = await _run(chat_model(api, split_think_tags=False), use_async, stream)
    assert message.content == THINK_TEXT
    assert "reasoning_content" not in message.additional_kwargs


def _logprob(token: str) -> dict[str, Any]:
    return {
        "token": token,
        "logprob": -0.25,
        "bytes": list(token.encode()),
        "top_logprobs": [{"token": token, "logprob": -0.25, "bytes": list(token.encode())}],
    }


def test_logprobs_are_fields_and_are_sent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api = ScriptedServer([json_response(completion_body("Hi"))])
        model = chat_model(api, logprobs=True, top_logprobs=2)
    model.invoke("q")
    assert api.last_body["logprobs"] is True
    assert api.last_body["top_logprobs"] == 2


def test_logprobs_are_refused_on_messages() -> None:
    with pytest.raises(ValueError, match="top_logprobs"):
        chat_model(
            ScriptedServer([json_response(completion_body())]), api="messages", top_logprobs=2
        )


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_streamed_logprobs_add_up_on_the_message(use_async: bool) -> None:
    chunks = []
    for token in ("Hi", " there"):
        body = chunk(content=token)
        body["choices"][0]["logprobs"] = {"content": [_logprob(token)], "refusal": None}
        chunks.append(body)
    api = ScriptedServer([sse_response(*chunks, chunk(finish_reason="stop"))])
    total = await _run(chat_model(api, logprobs=True), use_async, stream=True)
    tokens = [entry["token"] for entry in total.response_metadata["logprobs"]["content"]]
    assert tokens == ["Hi", " there"]
    assert total.response_metadata["finish_reason"] == "stop"


def test_invoke_logprobs_on_response_metadata() -> None:
    body = completion_body("Hi")
    body["choices"][0]["logprobs"] = {"content": [_logprob("Hi")]}
    api = ScriptedServer([json_response(body)])
    message = chat_model(api, logprobs=True).invoke("q")
    assert message.response_metadata["logprobs"]["content"][0]["token"] == "Hi"


# ------------------------------------------------------------- api="messages"


def _message_reply(request: httpx2.Request) -> httpx2.Response:
    body = json.loads(request.content)
    tool = body["tools"][0]["name"]
    return httpx2.Response(
        200,
        json={
            "id": "msg_1",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": tool, "input": {"city": "Paris"}}
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 3, "output_tokens": 4},
        },
    )


class Weather(BaseModel):
    """Weather in a city."""

    city: str


def test_messages_strict_reaches_the_request() -> None:
    api = ScriptedServer([_message_reply])
    model = chat_model(api, api="messages")
    model.bind_tools([Weather], strict=True).invoke("q")
    assert api.last_body["tools"][0]["strict"] is True
    parsed = model.with_structured_output(Weather, strict=True).invoke("q")
    assert parsed == Weather(city="Paris")
    assert api.last_body["tools"][0]["strict"] is True


def _events(*events: dict[str, Any]) -> httpx2.Response:
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return httpx2.Response(200, text=text, headers={"content-type": "text/event-stream"})


MESSAGE_STREAM = (
    {
        "type": "message_start",
        "message": {"id": "msg_2", "content": [], "usage": {"input_tokens": 5}},
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("stream_usage", [True, False])
async def test_messages_stream_usage_is_respected(use_async: bool, stream_usage: bool) -> None:
    api = ScriptedServer([_events(*MESSAGE_STREAM)])
    total = await _run(chat_model(api, api="messages", stream_usage=stream_usage), use_async, True)
    assert total.content == "Hi"
    if stream_usage:
        assert total.usage_metadata is not None
        assert total.usage_metadata["input_tokens"] == 5
    else:
        assert total.usage_metadata is None


SIGNED_STREAM = (
    {
        "type": "message_start",
        "message": {"id": "msg_3", "content": [], "usage": {"input_tokens": 5}},
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "Hmm, "},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "weather."},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "signature_delta", "signature": "sig-X"},
    },
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "redacted_thinking", "data": "enc-Y"},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {"type": "tool_use", "id": "toolu_9", "name": "Weather", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": '{"city": "Oslo"}'},
    },
    {"type": "content_block_stop", "index": 2},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
    {"type": "message_stop"},
)

EXPECTED_THINKING = [
    {"type": "thinking", "thinking": "Hmm, weather.", "signature": "sig-X"},
    {"type": "redacted_thinking", "data": "enc-Y"},
]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_streamed_signed_thinking_is_kept_and_sent_back(use_async: bool) -> None:
    api = ScriptedServer([_events(*SIGNED_STREAM)])
    total = await _run(chat_model(api, api="messages").bind_tools([Weather]), use_async, True)
    assert total.additional_kwargs["reasoning_content"] == "Hmm, weather."
    assert total.additional_kwargs["thinking_blocks"] == EXPECTED_THINKING
    blocks = total.content_blocks
    assert blocks[0] == {
        "type": "reasoning",
        "reasoning": "Hmm, weather.",
        "extras": {"signature": "sig-X"},
    }
    assert blocks[1]["type"] == "non_standard"
    message = AIMessage(
        content=total.content,
        additional_kwargs=total.additional_kwargs,
        tool_calls=total.tool_calls,
    )
    wire = messages_to_wire(
        [HumanMessage("q"), message, ToolMessage("cold", tool_call_id="toolu_9")]
    )[1]
    assert [
        b.model_dump(exclude_none=True) for b in wire.signed_reasoning or []
    ] == EXPECTED_THINKING


def test_chat_anthropic_style_content_blocks_are_read_back() -> None:
    message = AIMessage(
        content=[
            {"type": "thinking", "thinking": "plan", "signature": "s1"},
            {"type": "redacted_thinking", "data": "d1"},
            {"type": "text", "text": "ok"},
        ],
        tool_calls=[{"name": "f", "args": {}, "id": "t1"}],
    )
    wire = message_to_wire(message)
    assert wire.content == "ok"
    assert wire.reasoning_content == "plan"
    assert [b.type for b in wire.signed_reasoning or []] == ["thinking", "redacted_thinking"]


def test_v1_reasoning_blocks_are_read_back() -> None:
    message = AIMessage(
        content=[
            {"type": "reasoning", "reasoning": "plan", "extras": {"signature": "s1"}},
            {"type": "text", "text": "ok"},
        ],
        tool_calls=[{"name": "f", "args": {}, "id": "t1"}],
    )
    wire = message_to_wire(message)
    assert wire.reasoning_content == "plan"
    assert wire.signed_reasoning is not None
    assert wire.signed_reasoning[0].signature == "s1"


def test_tool_call_provider_fields_round_trip_in_invoke() -> None:
    extra = {"google": {"thought_signature": "gsig"}}
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "Weather", "arguments": '{"city": "Rome"}'},
        "extra_content": extra,
    }
    api = ScriptedServer(
        [json_response(completion_body(None, tool_calls=[call], finish_reason="tool_calls"))]
    )
    message = chat_model(api).bind_tools([Weather]).invoke("q")
    assert message.additional_kwargs["tool_call_provider_fields"] == {
        "call_1": {"extra_content": extra}
    }
    wire = message_to_wire(message)
    assert wire.tool_calls is not None
    assert wire.model_dump(exclude_none=True)["tool_calls"][0]["extra_content"] == extra


def test_catalog_limits_reach_the_profile_after_list_models() -> None:
    """llama-server reports the context it serves (meta.n_ctx); it wins over the table."""
    entry = {"id": "google-gemma-3-1b-it", "object": "model", "meta": {"n_ctx": 4096}}
    api = ScriptedServer([json_response({"object": "list", "data": [entry]})])
    assert chat_model(api).profile is not None
    assert chat_model(api).profile["max_input_tokens"] == 32768  # the table's value
    chat_model(api).list_models()
    assert chat_model(api).profile["max_input_tokens"] == 4096


def _text_events(*pieces: str) -> httpx2.Response:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {"id": "m", "content": [], "usage": {"input_tokens": 1}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
        for p in pieces
    ]
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    return _events(*events)


@pytest.mark.parametrize("cut", range(0, len(THINK_TEXT) + 1, 3))
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_messages_stream_splits_think_tags(cut: int, use_async: bool) -> None:
    api = ScriptedServer([_text_events(THINK_TEXT[:cut], THINK_TEXT[cut:])])
    total = await _run(chat_model(api, api="messages"), use_async, stream=True)
    assert (total.content, total.additional_kwargs["reasoning_content"]) == (ANSWER, REASONING)


def test_messages_invoke_splits_think_tags() -> None:
    reply = httpx2.Response(
        200,
        json={
            "id": "m",
            "content": [{"type": "text", "text": THINK_TEXT}],
            "stop_reason": "end_turn",
        },
    )
    message = chat_model(ScriptedServer([reply]), api="messages").invoke("q")
    assert (message.content, message.additional_kwargs["reasoning_content"]) == (ANSWER, REASONING)
